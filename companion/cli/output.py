"""What the CLI prints: search hits, status, index and update results, graph summaries.

Rendering lives apart from the commands (as llm's `cli_output.py`), so the fast entry point and the
click commands print through the same functions. Standard library only: the fast path imports it.
"""

from __future__ import annotations

import json
import sys
import time
from typing import Any


def echo(text: str, err: bool = False) -> None:
    """Print a line; a terminal that cannot show a character never fails a command on it."""
    stream = sys.stderr if err else sys.stdout
    try:
        stream.write(text + "\n")
    except UnicodeEncodeError:
        stream.flush()
        stream.buffer.write((text + "\n").encode("utf-8", "replace"))
    stream.flush()


def as_json(value: Any, indent: int | None = 2) -> str:
    return json.dumps(value, indent=indent, ensure_ascii=False)


def render_hits(
    hits: list[dict[str, Any]], *, as_json: bool, explain: bool, footer: str = ""
) -> str:
    """What `companion search` prints."""
    if as_json:
        return json.dumps(hits, indent=2, ensure_ascii=False)
    lines = []
    for hit in hits:
        lines.append(f"{hit['rank']:>2}. {hit['title']}  ({hit['path']})")
        if explain:
            own = hit.get("scores") or {}
            ranks = ", ".join(
                (f"{c} #{r}" + (f" ({own[c]:.4g})" if own.get(c) is not None else ""))
                if r
                else f"{c} -"
                for c, r in hit["ranks"].items()
            )
            lines.append(f"    score {hit['score']:.5f}: {ranks}")
            if hit.get("line"):
                where = f" § {hit['heading']}" if hit.get("heading") else ""
                lines.append(f"    at line {hit['line']}{where}")
        if hit["snippet"]:
            lines.append(f"    {hit['snippet']}")
    if explain and footer:
        lines.append(footer)
    return "\n".join(lines)


def nothing_matched(
    query: str, mode: str, min_score: float | None, *, in_process: bool = False
) -> str:
    """What stderr says when a search lists nothing (it still exits 0). `in_process`: no daemon
    keeps the index current, so edits since the last index run are not in it — said too."""
    shown = query if len(query) <= 60 else query[:59] + "…"
    stale = (
        "; no daemon is running, so edits since the last `companion index` are not searched"
        if in_process
        else ""
    )
    if mode == "bm25":
        return f"nothing matched {shown!r}: no note holds its words{stale}"
    floor = "the model's floor" if min_score is None else f"{min_score:g}"
    return (
        f"nothing matched {shown!r}: no note holds its words and none is close in meaning "
        f"(cosine below {floor}; --min-score 0 lists the nearest anyway){stale}"
    )


def search_footer(mode: str, where: str, started: float) -> str:
    return f"({mode} search {where}, {(time.perf_counter() - started) * 1000:.0f} ms)"


def fallback_note(used: str) -> str:
    return (
        f"note: no vectors yet for this model; showing {used} results "
        "(run `companion index` to embed)"
    )


def duration(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m" if hours else f"{minutes}m{secs:02d}s"


def merge_daemon_status(info: dict[str, Any], daemon: dict[str, Any] | None) -> dict[str, Any]:
    """`status --json`: the index's status with a running daemon's part (its embedding counts are
    the live ones)."""
    info["daemon"] = daemon
    if daemon is not None:
        info.update({k: daemon[k] for k in ("embedded", "embeddable", "embedded_pct")})
    return info


def render_status(info: dict[str, Any]) -> str:
    last = info["last_index"]
    when = time.strftime("%Y-%m-%d %H:%M", time.localtime(last["at"])) if last else "never"
    lines = [
        f"vault:      {info['vault']}",
        f"notes:      {info['notes']:,} ({info['attachments']:,} attachments, "
        f"{info.get('orphans', 0):,} orphan{'' if info.get('orphans', 0) == 1 else 's'})",
        f"chunks:     {info['chunks']:,}",
        f"links:      {info['links']:,} ({info['unresolved']:,} unresolved)",
        f"embedded:   {info['embedded_pct']}% ({info['embedded']:,}/{info['embeddable']:,}) "
        f"with {info['model']}",
        f"database:   {info['database']} ({info['database_bytes'] / 1e6:.1f} MB)",
        f"last index: {when}",
    ]
    daemon = info["daemon"]
    writer = info.get("vault_writer")
    if daemon is None and writer:
        lines.append("daemon:     none on this state folder; the vault is written by " + writer)
    elif daemon is None:
        lines.append("daemon:     not running (start one with `companion watch`)")
    else:
        d, q = daemon["daemon"], daemon["queue"]
        lines.append(f"daemon:     pid {d['pid']}, up {duration(d['uptime'])}")
        if d.get("read_only"):
            lines.append(f"            read-only: {d['read_only']}")
        lines.append(
            f"queue:      {q['embedding']} chunks to embed ({q['waiting_to_settle']} pages settling), "
            f"{q['events']} event batches, {q['bumps']} version bumps due, {q['retries']} retries"
        )
        for event in daemon["last_events"][:5]:
            at = time.strftime("%H:%M:%S", time.localtime(event["at"]))
            lines.append(f"  {at} {event['what']} {event['path']}")
        for failed in daemon["failed"][:20]:
            lines.append(f"  embedding failed: {failed['path']}: {failed['reason']}")
    sources = info.get("sources") or {}
    waiting = sources.get("pending", [])
    lines.append(f"sources:    {sources.get('ingested', 0)} ingested, {len(waiting)} not ingested")
    lines.append(f"conflicts:  {info.get('conflicts_open', 0)} open (CONFLICT.md)")
    last = info.get("lint")
    if last:
        shown = ", ".join(f"{n} {k}" for k, n in last["counts"].items() if n) or "nothing found"
        lines.append(
            f"lint:       {shown} (last run {last['at']}, {last['seconds'] * 1000:.0f} ms)"
        )
    else:
        lines.append("lint:       not run yet (`companion lint`)")
    if info.get("conflict_queue"):
        lines.append(f"            {info['conflict_queue']}")
    lines.extend(f"  {s['state']}: {s['problem'] or s['path']}" for s in waiting[:50])
    problems = info["problems"]
    lines.append(f"problems:   {len(problems)}")
    lines.extend(f"  {p['path']}: {p['message']}" for p in problems[:50])
    return "\n".join(lines)


def render_update(result: dict[str, Any], as_json: bool) -> str:
    if as_json:
        return json.dumps(result)
    if result.get("changed") is False:
        return (
            f"nothing to change: {result['path']} already says that (version "
            f"{result['new_version']}); nothing written"
        )
    if result["old_version"] == 0 and result.get("created"):
        return f"created {result['path']}: version {result['new_version']}"
    return f"updated {result['path']}: version {result['old_version']} -> {result['new_version']}"


def render_lint(result: dict[str, Any]) -> str:
    """What `companion lint` prints: each finding as `path:line: kind: message`, then the counts."""
    lines = []
    for f in result["findings"]:
        where = f"{f['path']}:{f['line']}" if f["line"] else f["path"]
        fix = (
            f" [fix: {f['fix']}]"
            if f.get("fix")
            and not f.get("fixable")
            and f["kind"] in ("broken-link", "ambiguous-link", "schema")
            else ""
        )
        lines.append(f"{where}: {f['kind']}: {f['message']}{fix}")
    if result.get("fixed"):
        lines.append(f"fixed {len(result['fixed'])} pages: " + ", ".join(result["fixed"]))
    for why in result.get("not_fixed", []):
        lines.append(f"not fixed: {why}")
    shown = [f"{n} {k}" for k, n in result["counts"].items() if n]
    total = sum(result["counts"].values())
    lines.append(
        f"{total} findings"
        + (f": {', '.join(shown)}" if shown else "")
        + f" ({result['seconds'] * 1000:.0f} ms)"
    )
    fixable = sum(1 for f in result["findings"] if f.get("fixable"))
    if fixable and not result.get("fix_run"):
        lines.append(f"{fixable} can be fixed safely: run `companion lint --fix`")
    if result.get("note"):
        lines.append(f"note: {result['note']}")
    return "\n".join(lines)
