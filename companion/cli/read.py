"""The reading commands: search, graph, backlinks, status. None of them takes the writer lock."""

from __future__ import annotations

import json
import re
import sys
import time
from pathlib import Path
from typing import Any

import click

from companion.cli.common import (
    ask_daemon,
    json_option,
    model_option,
    open_app,
    settings_for,
    state_option,
    vault_option,
)
from companion.cli.output import (
    echo,
    fallback_note,
    nothing_matched,
    render_hits,
    render_status,
    search_footer,
)
from companion.cli.status import status_info
from companion.search.modes import MODES, partial_note


@click.command()
@click.argument("query")
@vault_option
@state_option
@model_option
@click.option(
    "--mode",
    type=click.Choice(MODES),
    default="hybrid",
    show_default=True,
    help="hybrid = BM25 over notes and vectors over their sections, their scores combined "
    "(a quarter BM25 scaled by the best, three quarters cosine); notes linked with the top three "
    "hits are nudged up, and a note the query names comes first.",
)
@click.option(
    "--limit",
    "-n",
    type=click.IntRange(1, 1000),
    default=10,
    show_default=True,
    help="How many notes to show (1-1000).",
)
@click.option(
    "--min-score",
    type=click.FloatRange(0.0, 1.0),
    default=None,
    metavar="COSINE",
    help="Hide notes that only the vector channel found with a cosine below COSINE (default: "
    "the model's floor, 0.3 for the bundled one, measured in docs/benchmarks.md; 0 shows the "
    "nearest notes however far).",
)
@click.option("--folder", metavar="PATH", help="Only notes under this vault folder.")
@click.option("--tag", metavar="TAG", help="Only notes with this tag (#project holds #project/x).")
@click.option("--files", is_flag=True, help="Print the notes' paths only, one per line.")
@click.option("--json", "as_json", is_flag=True, help="Print hits as JSON.")
@click.option(
    "--explain",
    is_flag=True,
    help="Show each channel's rank and own score (BM25; cosine), in hybrid the rank of the top "
    "hit a note is linked with, and the fused score.",
)
def search(
    query: str,
    vault_opt: str | None,
    state_dir: str | None,
    model: str | None,
    mode: str,
    limit: int,
    min_score: float | None,
    folder: str | None,
    tag: str | None,
    files: bool,
    as_json: bool,
    explain: bool,
) -> None:
    """Search the vault for QUERY (any text: quotes, *, -, AND are searched as words).

    \b
    Examples:
      companion search "how are card payments retried"
      companion search ledger --mode bm25 --limit 3 --explain
      companion search -- "-ledger kafka"     (a query that starts with "-" comes after --)
      companion search retries --folder services --tag policy --files

    A running daemon (`companion watch`) answers at once with its warm model; otherwise the
    search runs in this process (loading the model takes a few seconds; --mode bm25 needs none).
    When no note holds the query's words and none is close in meaning, nothing is listed and
    stderr says so (exit 0).
    """
    started = time.perf_counter()
    from companion.config import resolve_state_dir
    from companion.daemon import client
    from companion.vault.locate import find_vault

    # The fast path: find the daemon's socket without reading SYSTEM.md or importing the index.
    state = resolve_state_dir(find_vault(vault_opt, Path.cwd()), state_dir)
    remote = client.request(
        state,
        "search",
        query=query,
        mode=mode,
        limit=limit,
        min_score=min_score,
        folder=folder,
        tag=tag,
    )
    partial = None
    if remote is not None:
        hits: list[dict[str, Any]] = remote
        used, where = mode, "daemon"
        if mode != "bm25":
            try:
                state_now = client.request(state, "progress") or {}
            except client.DaemonError:
                state_now = {}  # a daemon from before `progress`: no note, the hits stand
            partial = partial_note(state_now.get("embedded", 0), state_now.get("embeddable", 0))
    else:
        with open_app(vault_opt, state_dir, model) as app:
            found, used = app.search_best_effort(
                query,
                mode=mode,  # type: ignore[arg-type]
                limit=limit,
                min_score=min_score,
                folder=folder,
                tag=tag,
            )
            hits = [h.as_dict() for h in found]
            where = "in process"
            if used != "bm25":
                progress = app.embedding_progress()
                partial = partial_note(progress.embedded, progress.embeddable)
    if used != mode:
        echo(fallback_note(used), err=True)
    elif partial:
        echo(partial, err=True)
    footer = search_footer(used, where, started)
    if not hits:
        echo(nothing_matched(query, used, min_score, in_process=remote is None), err=True)
    if files and not as_json:
        for hit in hits:
            echo(hit["path"])
    elif hits or as_json:
        echo(render_hits(hits, as_json=as_json, explain=explain, footer=footer))


@click.command()
@click.argument("vault", required=False)
@vault_option
@state_option
@click.option("--json", "as_json", is_flag=True, help='Print {"nodes": [...], "edges": [...]}.')
def graph(vault: str | None, vault_opt: str | None, state_dir: str | None, as_json: bool) -> None:
    """The link graph of VAULT: every wikilink, embed, markdown and frontmatter link.

    \b
    Examples:
      companion graph ~/notes
      companion graph --json | jq '.edges | length'

    Edges carry source, target (null when unresolved), raw, subpath, kind and resolved. Run
    `companion index` first; the graph is read from the index.
    """
    with open_app(vault or vault_opt, state_dir) as app:
        g = app.graph()
        counts = app.counts()  # the one set of counts (docs/architecture.md, "Counts")
        if as_json:
            echo(json.dumps({**g.to_json(), "counts": counts}, ensure_ascii=False))
            return
        edges = g.own_edges()
        links, unresolved = counts["links"], counts["unresolved"]
        echo(
            f"{counts['notes']:,} notes, {counts['attachments']:,} attachments, {links:,} links "
            f"({unresolved:,} unresolved, {sum(1 for e in edges if e.ambiguous)} ambiguous); "
            f"graph: {g.node_count} nodes with generated notes and unresolved names"
        )
        echo("hubs: " + ", ".join(f"{p} ({n})" for p, n in g.hubs(5)))
        orphans = g.orphans()
        echo(f"orphans: {len(orphans)}" + (": " + ", ".join(orphans[:10]) if orphans else ""))


@click.command()
@click.argument("question")
@vault_option
@state_option
@model_option
@click.option(
    "--save", is_flag=True, help="File the answer as a page under wiki/answers/ (version 1)."
)
@click.option(
    "--json", "as_json", is_flag=True, help="Print the answer, its passages and citations as JSON."
)
def ask(
    question: str,
    vault_opt: str | None,
    state_dir: str | None,
    model: str | None,
    save: bool,
    as_json: bool,
) -> None:
    """Answer QUESTION from the vault: its best sentences, each cited [[note#heading]].

    \b
    Examples:
      companion ask "how are card payments retried"
      companion ask "when do sellers get paid" --json
      companion ask "why do services publish events" --save

    Offline by default: the question's hybrid search hits, then the sentences in them that best
    answer it (the embedding model and the question's words), each with the note and heading it
    came from — nothing is made up. With COMPANION_LLM_URL and COMPANION_LLM_MODEL set, a local
    LLM writes prose from the same passages; every sentence must cite one (checked: an uncited
    sentence is dropped). --save writes wiki/answers/<question>.md with a `question` property
    and `sources` listing the cited notes; it is indexed and linked like any other page.
    """
    from companion.ask.answer import markdown

    result: dict[str, Any] | None = None
    if save:  # a write: the running daemon is the vault's writer, when there is one
        result = ask_daemon(settings_for(vault_opt, state_dir), "ask", question=question, save=True)
    if result is None:
        with open_app(vault_opt, state_dir, model) as app:
            result = app.ask(question, save=save).as_json()
    if as_json:
        echo(json.dumps(result, indent=2, ensure_ascii=False))
        return
    if not result["passages"]:
        echo("nothing in the vault answers this; try other words, or `companion search`", err=True)
        return
    echo(markdown(result["answer"]))
    if result.get("note"):
        echo(f"note: {result['note']}", err=True)
    if result.get("dropped"):
        echo(
            f"note: {result['dropped']} sentences of the LLM's answer cited no passage: dropped",
            err=True,
        )
    if result.get("saved"):
        echo(f"saved {result['saved']}", err=True)


@click.command()
@click.argument("note")
@vault_option
@state_option
@json_option
def backlinks(note: str, vault_opt: str | None, state_dir: str | None, as_json: bool) -> None:
    """Notes linking to NOTE (a vault path or a name as you would write it in a link).

    \b
    Examples:
      companion backlinks "Ledger Service"
      companion backlinks wiki/concepts/Idempotency.md --json
    """
    with open_app(vault_opt, state_dir) as app:
        path, edges = app.backlinks(note)
        if as_json:
            rows = [
                {"source": e.source, "raw": e.raw, "subpath": e.subpath, "kind": e.kind}
                for e in edges
            ]
            echo(json.dumps(rows, indent=2, ensure_ascii=False))
            return
        echo(f"{len(edges)} links to {path}")
        for e in edges:
            echo(f"  {e.source}: {e.raw}")


@click.command()
@click.argument("note")
@vault_option
@state_option
@json_option
def links(note: str, vault_opt: str | None, state_dir: str | None, as_json: bool) -> None:
    """Links written in NOTE, in order, each with the note it resolves to (beside `backlinks`,
    the links to it). NOTE: a vault path, a name as a link would write it, or an alias.

    \b
    Examples:
      companion links "Ledger Service"
      companion links "runbooks/Ledger Failover.md" --json
    """
    with open_app(vault_opt, state_dir) as app:
        path, edges = app.links(note)
        if as_json:
            rows = [
                {
                    "raw": e.raw,
                    "target": e.target,
                    "subpath": e.subpath,
                    "kind": e.kind,
                    "ambiguous": e.ambiguous,
                }
                for e in edges
            ]
            echo(json.dumps(rows, indent=2, ensure_ascii=False))
            return
        unresolved = sum(1 for e in edges if e.target is None)
        echo(
            f"{len(edges)} links from {path}"
            + (f" ({unresolved} unresolved)" if unresolved else "")
        )
        for e in edges:
            echo(f"  {e.raw} -> {e.target or '(unresolved)'}")


@click.command()
@click.argument("note")
@vault_option
@state_option
@click.option("--heading", metavar="HEADING", help="Print only this heading's section.")
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="Print path, frontmatter, version, text, links, backlinks and open conflicts as JSON.",
)
def read(
    note: str, vault_opt: str | None, state_dir: str | None, heading: str | None, as_json: bool
) -> None:
    """Print NOTE: a vault path, a name as a wikilink would resolve it, or an alias only one
    note has.

    \b
    Examples:
      companion read "Ledger Service"
      companion read wiki/concepts/Idempotency.md --json
      companion read Payouts            (an alias: the note that has it)
      companion read "Retry Policy" --heading "Backoff schedule"

    An ambiguous name lists the notes it could mean and exits 1: give the path. A heading the
    note does not have lists the ones it has.
    """
    with open_app(vault_opt, state_dir) as app:
        info = app.read_note(note, heading=heading)
    if as_json:
        echo(json.dumps(info, indent=2, ensure_ascii=False))
        return
    echo(info["text"].rstrip("\n"))
    conflicts = info["conflicts"]
    echo(
        f"\n-- {info['path']}: version {info['version'] if info['version'] is not None else '-'}, "
        f"{len(info['links'])} links out, {len(info['backlinks'])} backlinks"
        + (f", {len(conflicts)} open conflicts" if conflicts else ""),
        err=True,
    )


@click.command()
@click.argument("vault", required=False)
@vault_option
@state_option
@model_option
@json_option
@click.option(
    "--wait",
    is_flag=True,
    help="First wait until the running daemon has nothing left to do (events, settling edits, "
    "embedding), reporting what remains every few seconds; then print the status.",
)
@click.option(
    "--timeout",
    type=click.FloatRange(min=0.0),
    default=None,
    metavar="SECONDS",
    help="With --wait: give up after this long (exit 1). Default: wait as long as it takes.",
)
def status(
    vault: str | None,
    vault_opt: str | None,
    state_dir: str | None,
    model: str | None,
    as_json: bool,
    wait: bool,
    timeout: float | None,
) -> None:
    """Pages, chunks, embedded %, model, database size, last index and per-file problems; with a
    running daemon also its pid, uptime, queue and last events.

    \b
    Examples:
      companion status ~/notes
      companion status --json | jq .embedded_pct
      companion status --wait --timeout 600     (until the daemon's index is current)

    Without a daemon nothing brings the index up to date by itself: --wait then says so and
    exits 1 when embedding is incomplete (run `companion index`).
    """
    if wait:
        _wait_until_current(vault or vault_opt, state_dir, timeout)
    info = status_info(vault or vault_opt, state_dir, model)
    echo(json.dumps(info, indent=2, ensure_ascii=False) if as_json else render_status(info))


@click.command()
@click.argument("vault", required=False)
@vault_option
@state_option
@click.option("--all", "include_resolved", is_flag=True, help="Resolved conflicts too.")
@click.option(
    "--superseded", is_flag=True, help="Facts a newer source replaced (no conflict), instead."
)
@json_option
def conflicts(
    vault: str | None,
    vault_opt: str | None,
    state_dir: str | None,
    include_resolved: bool,
    superseded: bool,
    as_json: bool,
) -> None:
    """Open conflicts: facts on wiki pages that cannot both be true (SYSTEM.md §9).

    \b
    Examples:
      companion conflicts ~/notes
      companion conflicts --all --json | jq '.[] | .title'
      companion conflicts --superseded     facts a later source replaced

    Each is a `[!conflict]` callout on a page, listed in CONFLICT.md. To resolve one, correct
    the claim(s) on the page and delete the callout, or change `[!conflict]` to `[!resolved]`;
    it is never raised again. Read from the index: the daemon keeps it current, else run
    `companion index` after editing. --json prints a list of objects with a, b (the two claims),
    a_source, b_source (the source files), page, title, id and status.
    """
    if include_resolved and superseded:
        raise click.UsageError("--all lists resolved conflicts; --superseded has none to add")
    with open_app(vault or vault_opt, state_dir) as app:
        app.require_index()
        rows = app.conflicts(include_resolved, superseded)
        note = app.conflict_queue_note()
        if note and not as_json:
            echo(f"note: {note}", err=True)
        if as_json:
            echo(json.dumps(rows, indent=2, ensure_ascii=False))
            return
        if not rows:
            what = "superseded facts" if superseded else "conflicts" if include_resolved else None
            echo(f"no {what}" if what else "no open conflicts")
            return
        for r in rows:
            since = "superseded" if r["status"] == "superseded" else "opened"
            dates = f"{since} {r['opened'] or '—'}" + (
                f", closed {r['closed']}" if r.get("closed") else ""
            )
            echo(f"{r['id']}  [{r['status']}] {r['title']}  ({r['page']}, {dates})")
            echo(f"    a ({r['a_source']}): {r['a']}")
            echo(f"    b ({r['b_source']}): {r['b']}")
        if superseded:
            echo(f"{len(rows)} superseded")
            return
        open_count = sum(1 for r in rows if r["status"] == "open")
        echo(
            f"{open_count} open"
            + (f", {len(rows) - open_count} resolved" if include_resolved else "")
        )


def _remaining(daemon: dict[str, Any]) -> list[str]:
    """What a daemon's status says is left before its index is current, as phrases ("1,204
    chunks to embed"). A person's edit waiting for its version bump is not: the index holds its
    text already, and the bump waits by design until the page has been quiet for minutes (when
    it is due, it is a write under way)."""
    queue = daemon.get("queue") or {}
    out = []
    for key, what in (
        ("events", "events to read"),
        ("writing", "write under way"),
        ("waiting_to_settle", "edits settling"),
        ("embedding", "chunks to embed"),
    ):
        if queue.get(key):
            out.append(f"{queue[key]:,} {what}")
    return out


def _wait_until_current(vault: str | None, state_dir: str | None, timeout: float | None) -> None:
    """Block until the running daemon's queue is empty (`status --wait`); exit 1 on timeout or
    when no daemon runs and embedding is incomplete."""
    from companion.config import resolve_state_dir
    from companion.daemon import client
    from companion.vault.locate import find_vault

    state = resolve_state_dir(find_vault(vault, Path.cwd()), state_dir)
    started = last = time.monotonic()
    said: list[str] = []
    while True:
        daemon = client.request(state, "status")
        if daemon is None:
            info = status_info(vault, state_dir)
            if info.get("embedded", 0) < info.get("embeddable", 0):
                echo(
                    "no daemon is running, so nothing is bringing the index up to date: "
                    "run `companion index` (or `companion watch`)",
                    err=True,
                )
                sys.exit(1)
            return
        left = _remaining(daemon)
        if not left:
            return
        now = time.monotonic()
        if timeout is not None and now - started >= timeout:
            echo(f"still not current after {timeout:g}s: {', '.join(left)}", err=True)
            sys.exit(1)
        # Say what it waits for when that changes (the numbers aside), else every 10 s.
        shape = [re.sub(r"[\d,]+ ", "", phrase) for phrase in left]
        if shape != said or now - last >= 10.0:
            echo(f"waiting: {', '.join(left)}", err=True)
            said, last = shape, now
        time.sleep(0.25)
