"""log.md: an append-only record of operations, one entry per operation.

Entry format: `## [YYYY-MM-DD HH:MM] op | headline` followed by a short bullet list, newest last,
so the file reads as a diary and `grep '^## \\[' log.md` lists every operation.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from companion.render.index_md import GENERATED_HEADER

LOG_PATH = "log.md"
LOG_HEADER = GENERATED_HEADER + "# Log\n\n%% Appended by companion, one entry per operation. %%\n"


def log_entry(op: str, headline: str, bullets: Sequence[str], when: datetime) -> str:
    lines = [f"\n## [{when:%Y-%m-%d %H:%M}] {op} | {headline}\n"]
    if bullets:
        lines.append("\n")
        lines.extend(f"- {b}\n" for b in bullets)
    return "".join(lines)


def counts_line(added: int, changed: int | None, removed: int, seconds: float | None = None) -> str:
    """`3 added, 1 changed, 0 removed in 0.12s`: how every sync is summed up, in the log and on the
    terminal (`changed=None` leaves that count out)."""
    parts = [f"{added} added"]
    if changed is not None:
        parts.append(f"{changed} changed")
    parts.append(f"{removed} removed")
    line = ", ".join(parts)
    return line if seconds is None else f"{line} in {seconds:.2f}s"


def rebuild_line(notes: int) -> str:
    """The one entry an index built from nothing gets (a rebuild, a new state folder, a second
    machine): the log records what changed in the vault, never what the cache forgot."""
    return f"{notes} notes, nothing changed in the vault"


def _listed(label: str, paths: Sequence[str], limit: int) -> str:
    shown = ", ".join(f"`{p}`" for p in paths[:limit])
    more = f" and {len(paths) - limit} more" if len(paths) > limit else ""
    return f"{label}: {shown}{more}"


def index_bullets(
    added: Sequence[str],
    changed: Sequence[str],
    removed: Sequence[str],
    bumped: Sequence[tuple[str, int, int]],
    relinked: int,
    rewrote: Sequence[str],
    refused: Sequence[tuple[str, str]],
    problems: Sequence[tuple[str, str]],
    limit: int = 10,
) -> list[str]:
    """The bullets of an `index` entry: what changed, what was bumped, written or refused."""
    bullets = [
        _listed(label, paths, limit)
        for label, paths in (("added", added), ("changed", changed), ("removed", removed))
        if paths
    ]
    for path, old, new in bumped:
        bullets.append(f"bumped `{path}` version {old} → {new} (edited without a bump)")
    if relinked:
        bullets.append(f"{relinked} links resolved differently after files appeared or went")
    if rewrote:
        bullets.append("rewrote " + ", ".join(f"[[{p.removesuffix('.md')}]]" for p in rewrote))
    for path, why in refused:
        bullets.append(f"did not write `{path}`: {why}")
    for path, message in problems[:limit]:
        bullets.append(f"problem in `{path}`: {message}")
    if len(problems) > limit:
        bullets.append(f"{len(problems) - limit} more problems: see `companion status`")
    return bullets


def change_bullets(
    added: Sequence[str],
    removed: Sequence[str],
    renamed: Sequence[tuple[str, str]],
    limit: int = 20,
) -> list[str]:
    """The bullets of a daemon entry: renames, then files added and removed (renames aside)."""
    bullets = [f"renamed `{a}` → `{b}`" for a, b in renamed]
    moved = {a for a, _ in renamed} | {b for _, b in renamed}
    bullets += [f"added `{p}`" for p in added if p not in moved][:limit]
    bullets += [f"removed `{p}`" for p in removed if p not in moved][:limit]
    return bullets
