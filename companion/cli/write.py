"""The writing commands: init, index, update. Each is one `Companion` operation (which takes the
vault's writer lock itself) or, when a daemon watches the vault, one request to it."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from companion.cli.common import (
    ask_daemon,
    daemon_running,
    json_option,
    model_option,
    open_app,
    progress_bar,
    settings_for,
    state_option,
    vault_option,
)
from companion.cli.output import echo, render_update
from companion.errors import DaemonRunning


@click.command()
@click.argument("path", type=click.Path(path_type=Path), required=False)
@click.option(
    "--dry-run", is_flag=True, help="Print what init would create and leave alone; write nothing."
)
def init(path: Path | None, dry_run: bool) -> None:
    """Scaffold a vault at PATH, or add what an existing vault is missing. Never overwrites.

    \b
    Examples:
      companion init ~/notes
      companion init            (inside a vault: adds what it lacks; elsewhere: creates ./vault)
      companion init --dry-run ~/notes

    A vault gets sources/, the wiki/ folders, SYSTEM.md and page templates. In an existing vault
    (a folder with .obsidian/) only what is missing is added, and templates go to the vault's
    own template folder (Settings → Templates, or the Templater plugin's). A PATH inside a vault
    is refused: companion never creates a vault inside a vault. Every file is listed: created,
    kept (already there) or skipped.
    """
    from companion.write.scaffold import Step, apply_init, init_target, plan_init

    # The scaffold is the whole operation (no index, no lock): planned and applied here, not
    # through `Companion.init`, which has no plan to show for --dry-run.
    root = init_target(path, Path.cwd())
    plan = plan_init(root)
    what = "the existing vault" if plan.existing else "a vault at"
    if plan.templates is None:
        where = plan.templates_from
    elif not plan.templates_from:
        where = f"templates go to {plan.templates}/"
    else:
        where = f"templates go to {plan.templates}/ (from {plan.templates_from})"
    done: list[Step] = []
    try:
        # Every write first, then the report: a closed stdout must not stop the scaffold halfway.
        # If a write fails, what was done is still listed before the error.
        done.extend(plan.steps if dry_run else apply_init(plan))
    finally:
        echo(f"{'dry run: ' if dry_run else ''}{what} {root}; {where}")
        for step in done:
            target = root / step.rel
            shown = f"{target}/" if step.rel.endswith("/") else str(target)
            if step.action == "create":
                echo(f"{'would create' if dry_run else 'created'} {shown}")
            elif step.action == "keep":
                why = step.why or "already there"
                echo(f"{'would keep' if dry_run else 'kept'} {shown} ({why})")
            else:
                echo(f"{'would skip' if dry_run else 'skipped'} {shown} ({step.why})")
    created = sum(step.action == "create" for step in done)
    if dry_run:
        echo(f"dry run: nothing written ({created} to create); run without --dry-run to create")
    elif created:
        echo(f"vault ready at {root}; next: companion index {root}  (or open it in Obsidian)")
    else:
        echo(f"{root} already has everything; nothing changed")


def _say_text_ready(app: Any, quiet: bool) -> None:
    """Between the text pass and embedding: search works now (BM25 fully, vectors as they come)."""
    pending = app.embedding_progress()
    if not quiet and pending.embedded < pending.embeddable:
        echo(
            f"text search ready ({pending.embeddable - pending.embedded:,} chunks to embed "
            "next; `companion search` works meanwhile, --mode bm25 at full strength)",
            err=True,
        )


@click.command()
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

    \b
    Examples:
      companion index ~/notes
      companion index --no-embed --json
      companion index --rebuild ~/notes     (after a crash or a model change; the vault is untouched)

    Only files whose size or mtime changed are read again, and only chunks without a vector are
    embedded, so re-running is cheap. Ctrl-C during embedding keeps what is done; run again to
    resume. Text search works before embedding finishes. When a daemon watches the vault, it does
    the work (it is the vault's only writer) and embeds in the background.
    """
    settings = settings_for(vault or vault_opt, state_dir, model)
    if daemon_running(settings):
        if rebuild:
            raise DaemonRunning("a daemon is watching this vault; stop it before --rebuild")
        done: dict[str, Any] = ask_daemon(settings, "index") or {
            "added": [],
            "changed": [],
            "removed": [],
        }
        if as_json:
            echo(json.dumps(done, indent=2))
        else:
            echo(
                f"the daemon re-scanned {settings.vault}: {len(done['added'])} added, "
                f"{len(done['changed'])} changed, {len(done['removed'])} removed; "
                "it embeds in the background (see `companion status`)"
            )
        return
    # One hold of the index's lock for both bars (one writer); the vault's lease only while the
    # text pass writes the vault (index.md, log.md, bumps), not through embedding.
    with (
        open_app(vault or vault_opt, state_dir, model) as app,
        app.writing("companion index", vault=False),
    ):
        interactive = sys.stderr.isatty() and not as_json
        # Text first, then embedding, under one hold of the writer lock: two bars, one writer.
        with progress_bar("indexing", "file", interactive) as text_bar:
            result = app.index(embed=False, rebuild=rebuild, progress=text_bar)
        if app.recovered:  # a damaged database, or another vault folder's index: rebuilt
            echo(app.recovered, err=True)
        if not no_embed:
            _say_text_ready(app, as_json)
            try:
                with progress_bar("embedding", "chunk", not as_json) as embed_bar:
                    app.embed_pending(result, embed_bar)
            except KeyboardInterrupt:
                result.interrupted = True
        s = result.sync
        refused = result.not_bumped + result.catalog.refused + result.log.refused
        if as_json:
            echo(
                json.dumps(
                    {
                        "added": s.added,
                        "changed": s.changed,
                        "removed": s.removed,
                        "unchanged": s.unchanged,
                        "relinked": s.relinked,
                        "seconds": round(s.seconds, 3),
                        "written": result.written,
                        "bumped": [
                            {"path": p, "old_version": a, "new_version": b}
                            for p, a, b in result.bumped
                        ],
                        "refused": refused,
                        "embedded": result.embedded,
                        "embed_seconds": round(result.embed_seconds, 3),
                        "problems": [{"path": p, "message": m} for p, m in s.problems],
                    },
                    indent=2,
                )
            )
            return
        rate = f" ({s.parsed / s.seconds:,.0f} files/s)" if s.parsed and s.seconds else ""
        echo(
            f"indexed {app.settings.vault}: {len(s.added)} added, {len(s.changed)} changed, "
            f"{len(s.removed)} removed, {s.unchanged} unchanged in {s.seconds:.2f}s{rate}"
        )
        for path in result.written:
            echo(f"wrote {path}")
        for path, old, new in result.bumped:
            echo(f"bumped {path}: version {old} -> {new} (edited without a bump)")
        for path, why in refused:
            echo(f"did not write {path}: {why}", err=True)
        for path, message in s.problems:
            echo(f"problem: {path}: {message}", err=True)
        if result.embedded:
            echo(
                f"embedded {result.embedded} chunks in {result.embed_seconds:.1f}s "
                f"({result.embedded / max(result.embed_seconds, 1e-9):,.0f} chunks/s)"
            )
        if result.interrupted:
            echo(f"interrupted after {result.embedded} chunks; run again to resume", err=True)
            sys.exit(130)


def _pairs(option: str, items: tuple[str, ...]) -> list[tuple[str, str]]:
    pairs = []
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise click.UsageError(f"{option} takes KEY=VALUE, not {item!r}")
        pairs.append((key.strip(), value))
    return pairs


def _lists(option: str, items: tuple[str, ...]) -> dict[str, list[str]]:
    grouped: dict[str, list[str]] = {}
    for key, value in _pairs(option, items):
        grouped.setdefault(key, []).append(value)
    return grouped


@click.command()
@click.argument("page")
@click.option(
    "--expect-version",
    type=int,
    help="The version you read; the write is refused (exit 3) if the page moved on. "
    "Required unless --create.",
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
    help="Set a frontmatter property to the text VALUE (repeatable).",
)
@click.option(
    "--add",
    "adds",
    multiple=True,
    metavar="KEY=ITEM",
    help="Add ITEM to a list property: tags, aliases, sources, related (repeatable).",
)
@click.option(
    "--remove",
    "removes",
    multiple=True,
    metavar="KEY=ITEM",
    help="Remove ITEM from a list property (repeatable).",
)
@click.option(
    "--create",
    is_flag=True,
    help="Create PAGE (version 1) from its type's template; refused if it exists.",
)
@vault_option
@state_option
@json_option
def update(
    page: str,
    expect_version: int | None,
    body: str | None,
    body_file: Any,
    sets: tuple[str, ...],
    adds: tuple[str, ...],
    removes: tuple[str, ...],
    create: bool,
    vault_opt: str | None,
    state_dir: str | None,
    as_json: bool,
) -> None:
    """Write PAGE (a managed wiki page: its vault path, or a name as a wikilink would write it,
    or an alias only one note has) if its version is still --expect-version.

    \b
    Examples:
      companion update wiki/concepts/Idempotency --expect-version 2 --set status=reviewed
      companion update "Ledger Service" --expect-version 5 --set status=reviewed
      companion update wiki/entities/Ledger\\ Service.md --expect-version 3 --body-file new.md
      companion update wiki/concepts/Retries --expect-version 4 --add tags=payments
      companion update wiki/concepts/Backoff --create --body "Waiting longer after each failure."

    The version goes up by one (a page without one is at version 0) and `updated` is stamped;
    an update that would change nothing writes nothing and says so. --set always writes text
    (`--set code=012` stays "012"); list properties change with --add/--remove, never --set.
    --create makes a new page at version 1, shaped by its type's template (the type comes
    from the folder: wiki/concepts/ is a concept).

    Exit code 3 means the page changed since you read it (a person's edit is versioned first,
    so re-read it): nothing was written, read it again and retry. Exit code 75 means another
    process is writing the vault: try again. `version` is companion's to set.
    """
    if body is not None and body_file is not None:
        raise click.UsageError("give --body or --body-file, not both")
    if create and expect_version not in (None, 0):
        raise click.UsageError("--create makes a new page: leave out --expect-version (or give 0)")
    if not create and expect_version is None:
        raise click.UsageError(
            "--expect-version is required: the version you read (the page's `version` property)"
        )
    if body_file is not None:
        try:
            body = body_file.read()
        except UnicodeDecodeError as exc:
            raise click.BadParameter(
                f"{body_file.name} is not UTF-8 text ({exc.reason} at byte {exc.start}); "
                "a page's body is text. Nothing written",
                param_hint="--body-file",
            ) from None
    properties: dict[str, Any] = dict(_pairs("--set", sets))
    add, remove = _lists("--add", adds), _lists("--remove", removes)
    settings = settings_for(vault_opt, state_dir)
    request = {
        "page": page,
        "expect_version": expect_version,
        "body": body,
        "properties": properties,
        "add": add,
        "remove": remove,
        "create": create,
    }
    result = ask_daemon(settings, "update", **request)
    if result is None:
        from companion.write.pages import PageChange

        change = PageChange(body, properties, add, remove)
        with open_app(vault_opt, state_dir) as app:
            done = app.update(page, expect_version, change, create=create)
            result = done.as_json()
    echo(render_update(result, as_json))


@click.command()
@click.argument("paths", nargs=-1)
@vault_option
@state_option
@click.option(
    "--dry-run", is_flag=True, help="Print the pages and regions it would write; write nothing."
)
@click.option(
    "--force",
    is_flag=True,
    help="Ingest again even sources already ingested (after changing the synthesizer).",
)
@click.option(
    "--copy", is_flag=True, help="Copy each PATH outside sources/ into it first (never overwrites)."
)
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def ingest(
    paths: tuple[str, ...],
    vault_opt: str | None,
    state_dir: str | None,
    dry_run: bool,
    force: bool,
    copy: bool,
    as_json: bool,
) -> None:
    """Turn files in sources/ into cited wiki pages (all new or changed ones, or PATH...).

    \b
    Examples:
      companion ingest                       (the vault around the working folder)
      companion ingest --vault ~/notes --dry-run
      companion ingest sources/vendor-spec.pdf --json
      companion ingest --copy ~/Downloads/contract.pdf --vault ~/notes

    Each source gets a summary page in wiki/sources/ and its facts go, cited, onto entity and
    concept pages (wiki/entities/, wiki/concepts/), inside companion's regions only: what you
    wrote on a page is never changed. The same content is ingested once, whatever its name; a
    changed source replaces its own facts; a deleted one has them withdrawn. Sources are only
    read. Formats: .md .txt .html .htm .pdf (SYSTEM.md `ingest.formats`). Offline by default;
    set COMPANION_LLM_URL and COMPANION_LLM_MODEL to use a local LLM instead.
    """
    settings = settings_for(vault_opt, state_dir)
    daemon = daemon_running(settings)
    with open_app(vault_opt, state_dir) as app:
        if app.recovered:
            echo(app.recovered, err=True)
        rels = [_source(app, p, copy and not dry_run, daemon) for p in paths] if paths else None
        # A running daemon is the vault's one writer: it does the run (and says the same).
        done = ask_daemon(settings, "ingest", paths=rels, force=force, dry_run=dry_run)
        if done is None:
            done = app.ingest(rels, force=force, dry_run=dry_run).as_json()
    if as_json:
        echo(json.dumps(done, indent=2))
    else:
        render_ingest(done)
    if any(o["status"] in ("failed", "skipped", "pending") for o in done["sources"]):
        sys.exit(1)


def _source(app: Any, path: str, copy: bool, daemon: bool) -> str:
    from companion.errors import OutsideVault

    try:
        rel: str = app.source_path(path)
    except OutsideVault:
        if not copy:
            raise
        if daemon:
            folder = app.settings.vault / app.settings.schema.sources_folder
            raise DaemonRunning(
                f"a daemon is watching this vault: copy {path} into {folder}/ yourself, and it "
                "is ingested once quiet (or stop the daemon to use --copy)"
            ) from None
        rel = app.copy_source(path)
        echo(f"copied {path} to {rel}", err=True)
    return rel


def render_ingest(report: dict[str, Any]) -> None:
    """What an ingest did, one line per source that changed anything (or could not be read)."""
    dry = report["dry_run"]
    verb = "would be " if dry else ""
    sources = report["sources"]
    shown = 0
    for o in sources:
        if o["status"] == "unchanged" and not (o["created"] or o["updated"]):
            continue
        shown += 1
        if o["status"] in ("skipped", "failed", "retrying", "pending"):
            echo(f"{o['status']}: {o['problem']}", err=True)
            continue
        took = f" in {o['seconds']:.2f}s" if o["seconds"] else ""
        dropped = f", {o['dropped']} dropped (quote not found)" if o["dropped"] else ""
        created, updated = len(o["created"]), len(o["updated"])
        status = _WOULD.get(o["status"], o["status"]) if dry else o["status"]
        echo(
            f"{status} {o['path']} -> {o['summary']}: {_n(created, 'page')} {verb}created, "
            f"{updated} {verb}updated, {_n(o['facts'], 'fact')}{dropped}{took}"
        )
        for change in o.get("changes", []):
            echo(f"  would {change}")
        if not dry:
            for rel in o["created"]:
                echo(f"  created {rel}")
            for rel in o["updated"]:
                echo(f"  updated {rel}")
    waiting = [o for o in sources if o["status"] == "unchanged" and o.get("problem")]
    if not shown:
        echo(f"nothing to ingest: {_n(len(sources), 'source')} unchanged")
    elif len(sources) > shown:
        echo(f"{_n(len(sources) - shown, 'other source')} unchanged")
    if waiting:
        echo(
            f"{_n(len(waiting), 'source')} not ingested, as before (see `companion status`): "
            + ", ".join(o["path"] for o in waiting[:5])
            + (" ..." if len(waiting) > 5 else "")
        )
    for note in report.get("notes", []):
        echo(f"note: {note}", err=True)
    if dry:
        echo("dry run: nothing written")


_WOULD = {
    "ingested": "would ingest",
    "reingested": "would re-ingest",
    "duplicate": "would list",
    "updated": "would update for",
    "withdrawn": "would withdraw",
}


def _n(count: int, noun: str) -> str:
    return f"{count} {noun}" + ("" if count == 1 else "s")


@click.command()
@vault_option
@state_option
@click.option(
    "--fix", is_flag=True, help="Apply the safe fixes (managed pages only), then check again."
)
@click.option(
    "--json", "as_json", is_flag=True, help="Print {counts, findings: [...], fixed} as JSON."
)
def lint(vault_opt: str | None, state_dir: str | None, fix: bool, as_json: bool) -> None:
    """Check the vault's health: links, orphans, schema, citations, stale facts, names.

    \b
    Examples:
      companion lint
      companion lint --json
      companion lint --fix        (sources properties and citation formats on wiki pages)

    Each finding gives the file, the line, its kind and what to do, and the fix where one is
    known. --fix applies only fixes that cannot change what a page says: a wiki page's `sources`
    set to the pages it cites, and a citation rewritten to SYSTEM.md's form when it holds
    nothing but source links — each page one versioned write, the run one log.md entry. A
    person's notes outside wiki/ are never touched. Kinds: broken-link, missing-page,
    ambiguous-link, orphan, schema, citation-format, uncited-fact, sources-mismatch, stale,
    duplicate, open-conflict, bad-name. Exit code 0 whatever it finds.
    """
    from companion.cli.output import render_lint

    settings = settings_for(vault_opt, state_dir)
    result = ask_daemon(settings, "lint", fix=fix)
    if result is None:
        with open_app(vault_opt, state_dir) as app:
            result = app.lint(fix=fix).as_json()
    echo(json.dumps(result, indent=2, ensure_ascii=False) if as_json else render_lint(result))
