"""The `companion` command: parse arguments -> one library call -> render output.

Exit codes (design.md): 0 success, 1 user error (message on stderr), 2 usage error,
3 conflict, 70 internal failure. Library errors are `CompanionError`s; only this module turns them
into exit codes. Nothing here imports torch: the model loads only when a command needs vectors.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from companion import __version__, client
from companion.errors import CompanionError
from companion.quick import MODES, render_hits

if TYPE_CHECKING:
    from companion.api import Companion
    from companion.config import Settings

INTERNAL_ERROR = 70

vault_option = click.option(
    "--vault",
    "vault_opt",
    metavar="PATH",
    envvar="COMPANION_VAULT",
    show_envvar=True,
    help="Vault folder (default: nearest folder with .obsidian/ or SYSTEM.md, else ./vault).",
)
state_option = click.option(
    "--state-dir",
    metavar="PATH",
    envvar="COMPANION_STATE_DIR",
    show_envvar=True,
    help="Where the index lives (default: a per-vault folder under ~/.local/state/companion).",
)
model_option = click.option(
    "--model",
    metavar="NAME|PATH",
    envvar="COMPANION_MODEL",
    show_envvar=True,
    help="sentence-transformers model folder (default: the bundled all-MiniLM-L6-v2). "
    "It runs in int8 on ONNX Runtime; COMPANION_EMBED_BACKEND=torch runs it in fp32.",
)


def _open(vault: str | None, state_dir: str | None, model: str | None = None) -> Companion:
    from companion.api import Companion  # heavy (numpy, SQLite, networkx): only when needed

    return Companion.open(vault, state_dir=state_dir, model=model)


def _settings(vault: str | None, state_dir: str | None, model: str | None = None) -> Settings:
    """Where the vault and its state are, without importing the index or the model."""
    from companion.config import load_settings
    from companion.vault import find_vault

    return load_settings(find_vault(vault, Path.cwd()), state_dir=state_dir, model=model)


def _daemon(settings: Settings, op: str, **params: Any) -> Any | None:
    """Ask the vault's daemon, if one runs; None means "work in process"."""
    try:
        return client.request(settings.state_dir, op, **params)
    except client.DaemonError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(exc.exit_code)


@contextmanager
def _bar(desc: str, unit: str, enabled: bool = True) -> Iterator[Callable[[int, int], None]]:
    """A tqdm progress bar on stderr (rate and ETA) fed by (done, total) callbacks."""
    from tqdm import tqdm

    bar: Any = None

    def update(done: int, total: int) -> None:
        nonlocal bar
        if bar is None:
            bar = tqdm(
                total=total,
                desc=desc,
                unit=unit,
                file=sys.stderr,
                disable=not enabled or None,
                dynamic_ncols=True,
                smoothing=0.1,
            )
        bar.update(done - bar.n)

    try:
        yield update
    finally:
        if bar is not None:
            bar.close()


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="companion")
def cli() -> None:
    """Keep an Obsidian vault indexed, linked and searchable. The markdown is the truth.

    Exit codes: 0 success, 1 user error (the message says what to do), 2 usage error,
    3 conflict (the page's version moved on), 70 internal error.

    \b
    Quick start:
      companion init ~/notes            scaffold a vault (folders, SYSTEM.md, templates)
      companion index ~/notes           index it: text search at once, then embeddings
      companion search "retry policy"   hybrid (BM25 + vector) search
      companion status                  what is indexed, embedded, and any problems
    """


@cli.command()
@click.argument("path", type=click.Path(path_type=Path), default=Path("vault"))
def init(path: Path) -> None:
    """Scaffold a vault at PATH: wiki/ folders, sources/, SYSTEM.md, templates. Never overwrites."""
    from companion.api import init_vault

    created = init_vault(path)
    for item in created:
        click.echo(f"created {path / item}")
    if created:
        click.echo(f"vault ready at {path}; next: companion index {path}  (or open it in Obsidian)")
    else:
        click.echo(f"{path} already has everything; nothing changed")


@cli.command()
@click.argument("vault", required=False)
@vault_option
@state_option
@model_option
@click.option("--rebuild", is_flag=True, help="Drop the index and rebuild it from the markdown.")
@click.option(
    "--no-embed", is_flag=True, help="Index text, links and the catalog only; embed later."
)
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def index(
    vault: str | None,
    vault_opt: str | None,
    state_dir: str | None,
    model: str | None,
    rebuild: bool,
    no_embed: bool,
    as_json: bool,
) -> None:
    """Index VAULT: text, links, tags and index.md now; then embed new chunks.

    Only files whose size or mtime changed are read again, and only chunks without a vector are
    embedded, so re-running is cheap. Ctrl-C during embedding keeps what is done; run again to
    resume. Text search works before embedding finishes. When a daemon watches the vault, it does
    the work (it is the vault's only writer) and embeds in the background.
    """
    settings = _settings(vault or vault_opt, state_dir, model)
    if client.request(settings.state_dir, "ping", timeout=5) is not None:
        if rebuild:
            raise CompanionError("a daemon is watching this vault; stop it before --rebuild")
        done: dict[str, Any] = _daemon(settings, "index") or {
            "added": [],
            "changed": [],
            "removed": [],
        }
        if as_json:
            click.echo(json.dumps(done, indent=2))
        else:
            click.echo(
                f"the daemon re-scanned {settings.vault}: {len(done['added'])} added, "
                f"{len(done['changed'])} changed, {len(done['removed'])} removed; "
                "it embeds in the background (see `companion status`)"
            )
        return
    from companion.lock import WriterLock

    with (
        _open(vault or vault_opt, state_dir, model) as app,
        WriterLock(settings.state_dir / "writer.lock") as lock,
    ):
        lock.acquire("companion index")
        if app.recovered:
            click.echo(app.recovered, err=True)
        if rebuild:
            app.rebuild()
        interactive = sys.stderr.isatty() and not as_json
        with _bar("indexing", "file", interactive) as text_bar:
            result = app.index(embed=False, progress=text_bar)
        s = result.sync
        embedded_note = ""
        if not no_embed:
            try:
                with _bar("embedding", "chunk", not as_json) as embed_bar:
                    app.embed_pending(result, embed_bar)
            except KeyboardInterrupt:
                embedded_note = f"interrupted after {result.embedded} chunks; run again to resume"
        if as_json:
            click.echo(
                json.dumps(
                    {
                        "added": s.added,
                        "changed": s.changed,
                        "removed": s.removed,
                        "unchanged": s.unchanged,
                        "relinked": s.relinked,
                        "seconds": round(s.seconds, 3),
                        "written": result.written,
                        "refused": result.catalog.refused + result.log.refused,
                        "embedded": result.embedded,
                        "embed_seconds": round(result.embed_seconds, 3),
                        "problems": [{"path": p, "message": m} for p, m in s.problems],
                    },
                    indent=2,
                )
            )
            return
        rate = f" ({s.parsed / s.seconds:,.0f} files/s)" if s.parsed and s.seconds else ""
        click.echo(
            f"indexed {app.settings.vault}: {len(s.added)} added, {len(s.changed)} changed, "
            f"{len(s.removed)} removed, {s.unchanged} unchanged in {s.seconds:.2f}s{rate}"
        )
        for path in result.written:
            click.echo(f"wrote {path}")
        for path, why in result.catalog.refused + result.log.refused:
            click.echo(f"did not write {path}: {why}", err=True)
        for path, message in s.problems:
            click.echo(f"problem: {path}: {message}", err=True)
        if result.embedded:
            click.echo(
                f"embedded {result.embedded} chunks in {result.embed_seconds:.1f}s "
                f"({result.embedded / max(result.embed_seconds, 1e-9):,.0f} chunks/s)"
            )
        if embedded_note:
            click.echo(embedded_note, err=True)
            sys.exit(130)


@cli.command()
@click.argument("query")
@vault_option
@state_option
@model_option
@click.option(
    "--mode",
    type=click.Choice(MODES),
    default="hybrid",
    show_default=True,
    help="hybrid = BM25 over notes and vectors over their sections, fused by Reciprocal Rank "
    "Fusion; notes linked with the top three hits are nudged up.",
)
@click.option("--limit", "-n", type=click.IntRange(1, 1000), default=10, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print hits as JSON.")
@click.option(
    "--explain",
    is_flag=True,
    help="Show each channel's rank, in hybrid the rank of the top hit a note is linked with, "
    "and the fused score.",
)
def search(
    query: str,
    vault_opt: str | None,
    state_dir: str | None,
    model: str | None,
    mode: str,
    limit: int,
    as_json: bool,
    explain: bool,
) -> None:
    """Search the vault for QUERY (any text: quotes, *, -, AND are searched as words).

    \b
    Examples:
      companion search "how are card payments retried"
      companion search ledger --mode bm25 --limit 3 --explain
      companion search -- "-ledger kafka"     (a query that starts with "-" comes after --)

    A running daemon (`companion watch`) answers at once with its warm model; otherwise the
    search runs in this process (loading the model takes a few seconds).
    """
    started = time.perf_counter()
    from companion.config import resolve_state_dir
    from companion.vault import find_vault

    # The fast path: find the daemon's socket without reading SYSTEM.md or importing the index.
    state = resolve_state_dir(find_vault(vault_opt, Path.cwd()), state_dir)
    try:
        remote = client.request(state, "search", query=query, mode=mode, limit=limit)
    except client.DaemonError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(exc.exit_code)
    if remote is not None:
        hits: list[dict[str, Any]] = remote
        used, where = mode, "daemon"
    else:
        with _open(vault_opt, state_dir, model) as app:
            found, used = app.search_best_effort(query, mode=mode, limit=limit)  # type: ignore[arg-type]
            hits = [h.as_dict() for h in found]
            where = "in process"
    elapsed = time.perf_counter() - started
    if used != mode:
        click.echo(
            f"note: no vectors yet for this model; showing {used} results "
            "(run `companion index` to embed)",
            err=True,
        )
    footer = f"({used} search {where}, {elapsed * 1000:.0f} ms)"
    click.echo(render_hits(hits, as_json=as_json, explain=explain, footer=footer))


@cli.command()
@click.argument("vault", required=False)
@vault_option
@state_option
@click.option("--json", "as_json", is_flag=True, help='Print {"nodes": [...], "edges": [...]}.')
def graph(vault: str | None, vault_opt: str | None, state_dir: str | None, as_json: bool) -> None:
    """The link graph of VAULT: every wikilink, embed, markdown and frontmatter link.

    Edges carry source, target (null when unresolved), raw, subpath, kind and resolved. Run
    `companion index` first; the graph is read from the index.
    """
    with _open(vault or vault_opt, state_dir) as app:
        g = app.graph()
        if as_json:
            click.echo(json.dumps(g.to_json(), ensure_ascii=False))
            return
        # The catalog notes link every note; count the vault's own links only.
        edges = [e for e in g.edges if not g.graph.nodes[e.source].get("generated")]
        resolved = sum(1 for e in edges if e.target is not None)
        click.echo(
            f"{g.graph.number_of_nodes()} nodes, {len(edges)} edges, "
            f"{resolved} resolved ({100 * resolved / max(len(edges), 1):.1f}%), "
            f"{sum(1 for e in edges if e.ambiguous)} ambiguous"
        )
        click.echo("hubs: " + ", ".join(f"{p} ({n})" for p, n in g.hubs(5)))
        orphans = g.orphans()
        click.echo(f"orphans: {len(orphans)}" + (": " + ", ".join(orphans[:10]) if orphans else ""))


@cli.command()
@click.argument("note")
@vault_option
@state_option
@click.option(
    "--json", "as_json", is_flag=True, help="Print the result as JSON (for scripts and agents)."
)
def backlinks(note: str, vault_opt: str | None, state_dir: str | None, as_json: bool) -> None:
    """Notes linking to NOTE (a vault path or a name as you would write it in a link)."""
    with _open(vault_opt, state_dir) as app:
        path, edges = app.backlinks(note)
        if as_json:
            click.echo(
                json.dumps(
                    [
                        {"source": e.source, "raw": e.raw, "subpath": e.subpath, "kind": e.kind}
                        for e in edges
                    ],
                    indent=2,
                    ensure_ascii=False,
                )
            )
            return
        click.echo(f"{len(edges)} links to {path}")
        for e in edges:
            click.echo(f"  {e.source}: {e.raw}")


@cli.command()
@click.argument("vault", required=False)
@vault_option
@state_option
@model_option
@click.option(
    "--json", "as_json", is_flag=True, help="Print the result as JSON (for scripts and agents)."
)
def status(
    vault: str | None,
    vault_opt: str | None,
    state_dir: str | None,
    model: str | None,
    as_json: bool,
) -> None:
    """Pages, chunks, embedded %, model, database size, last index and per-file problems; with a
    running daemon also its pid, uptime, queue and last events."""
    settings = _settings(vault or vault_opt, state_dir, model)
    daemon = _daemon(settings, "status")
    with _open(vault or vault_opt, state_dir, model) as app:
        info = app.status()
        info["daemon"] = daemon
        if daemon is not None:
            info.update({k: daemon[k] for k in ("embedded", "embeddable", "embedded_pct")})
        if as_json:
            click.echo(json.dumps(info, indent=2, ensure_ascii=False))
            return
        last = info["last_index"]
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(last["at"])) if last else "never"
        click.echo(f"vault:      {info['vault']}")
        click.echo(f"notes:      {info['notes']:,} ({info['attachments']:,} attachments)")
        click.echo(f"chunks:     {info['chunks']:,}")
        click.echo(f"links:      {info['links']:,} ({info['unresolved']:,} unresolved)")
        click.echo(
            f"embedded:   {info['embedded_pct']}% ({info['embedded']:,}/{info['embeddable']:,}) "
            f"with {info['model']}"
        )
        click.echo(f"database:   {info['database']} ({info['database_bytes'] / 1e6:.1f} MB)")
        click.echo(f"last index: {when}")
        if daemon is None:
            click.echo("daemon:     not running (start one with `companion watch`)")
        else:
            d, q = daemon["daemon"], daemon["queue"]
            click.echo(f"daemon:     pid {d['pid']}, up {_duration(d['uptime'])}")
            click.echo(
                f"queue:      {q['embedding']} chunks to embed ({q['waiting_to_settle']} pages settling), "
                f"{q['events']} event batches, {q['bumps']} version bumps due, {q['retries']} retries"
            )
            for event in daemon["last_events"][:5]:
                at = time.strftime("%H:%M:%S", time.localtime(event["at"]))
                click.echo(f"  {at} {event['what']} {event['path']}")
            for failed in daemon["failed"][:20]:
                click.echo(f"  embedding failed: {failed['path']}: {failed['reason']}")
        problems = info["problems"]
        click.echo(f"problems:   {len(problems)}")
        for p in problems[:50]:
            click.echo(f"  {p['path']}: {p['message']}")


def _duration(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m" if hours else f"{minutes}m{secs:02d}s"


@cli.command()
@click.argument("vault", required=False)
@vault_option
@state_option
@model_option
@click.option(
    "--settle",
    type=float,
    default=3.0,
    show_default=True,
    help="Seconds a page must be quiet before it is embedded or its version bumped.",
)
def watch(
    vault: str | None,
    vault_opt: str | None,
    state_dir: str | None,
    model: str | None,
    settle: float,
) -> None:
    """Watch VAULT and keep everything in step with every edit (the daemon; Ctrl-C stops it).

    It reconciles what changed while it was down, then follows every save: text search within
    a second, embeddings once a page settles, version bumps for edited wiki pages, index.md and
    log.md kept current. `companion search`, `status` and `update` talk to it over a private
    socket in the state folder.
    """
    from companion.daemon import Daemon, DaemonOptions

    settings = _settings(vault or vault_opt, state_dir, model)
    daemon = Daemon(settings, DaemonOptions(settle=settle))

    def started() -> None:
        click.echo(f"watching {settings.vault} (pid {os.getpid()}); state in {settings.state_dir}")
        click.echo(f"catalog: {settings.vault / 'index.md'}")
        click.echo(f"search:  companion search QUERY --vault {settings.vault}")

    daemon.run(on_started=started)
    click.echo("stopped")


@cli.command()
@click.argument("page")
@click.option(
    "--expect-version",
    type=int,
    required=True,
    help="The version you read; the write is refused (exit 3) if the page moved on.",
)
@click.option("--body", help="New body text (everything after the frontmatter).")
@click.option(
    "--body-file",
    type=click.File("r", encoding="utf-8"),
    help="Read the new body from a file ('-' for stdin).",
)
@click.option(
    "--set",
    "sets",
    multiple=True,
    metavar="KEY=VALUE",
    help="Set a frontmatter property (repeatable).",
)
@vault_option
@state_option
@click.option(
    "--json", "as_json", is_flag=True, help="Print the result as JSON (for scripts and agents)."
)
def update(
    page: str,
    expect_version: int,
    body: str | None,
    body_file: Any,
    sets: tuple[str, ...],
    vault_opt: str | None,
    state_dir: str | None,
    as_json: bool,
) -> None:
    """Write PAGE (a managed wiki page) if its version is still --expect-version.

    \b
    Examples:
      companion update wiki/concepts/Idempotency --expect-version 2 --set status=reviewed
      companion update wiki/entities/Ledger\\ Service.md --expect-version 3 --body-file new.md

    The version goes up by one (a page without one is at version 0) and the page is re-embedded.
    Exit code 3 means the page changed since you read it (or a person's edit is still settling):
    nothing was written. The current version is the page's `version` property. --set values that
    are digits become numbers; `version` is companion's to set.
    """
    if body is not None and body_file is not None:
        raise click.UsageError("give --body or --body-file, not both")
    if body_file is not None:
        body = body_file.read()
    properties: dict[str, Any] = {}
    for item in sets:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise click.UsageError(f"--set takes KEY=VALUE, not {item!r}")
        properties[key.strip()] = int(value) if value.strip().isdigit() else value
    settings = _settings(vault_opt, state_dir)
    params = {
        "page": page,
        "expect_version": expect_version,
        "body": body,
        "properties": properties,
    }
    result = _daemon(settings, "update", **params)
    if result is None:
        from datetime import datetime

        from companion.generated import append_log
        from companion.lock import WriterLock
        from companion.update import apply_update, vault_path

        with (
            _open(vault_opt, state_dir) as app,
            WriterLock(settings.state_dir / "writer.lock") as lock,
        ):
            lock.acquire("companion update")
            app.index(embed=False)  # pick up (and version) edits made since the last index
            rel = vault_path(settings, page)
            known = app.store.file_states([rel]).get(rel)
            done = apply_update(
                settings,
                page,
                expect_version,
                body=body,
                properties=properties,
                indexed_hash=known.hash if known else None,
            )
            headline = f"`{done.path}` version {done.old_version} → {done.new_version}"
            append_log(settings.vault, "update", headline, [], datetime.now())
            app.index()
            result = {
                "path": done.path,
                "old_version": done.old_version,
                "new_version": done.new_version,
            }
    if as_json:
        click.echo(json.dumps(result))
    else:
        click.echo(
            f"updated {result['path']}: version {result['old_version']} -> {result['new_version']}"
        )


def main() -> None:
    try:
        cli.main(standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except CompanionError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        sys.exit(130)
    except Exception as exc:  # an internal failure: say so plainly, keep the traceback available
        if type(exc).__module__ == "apsw" and type(exc).__name__ in ("CorruptError", "NotADBError"):
            click.echo(
                f"error: the index database is damaged ({exc}); nothing in the vault is affected. "
                "Run `companion index --rebuild VAULT` to rebuild it from the markdown.",
                err=True,
            )
            sys.exit(1)
        import traceback

        traceback.print_exc()
        click.echo(f"internal error: {exc!r}; please report it", err=True)
        sys.exit(INTERNAL_ERROR)
