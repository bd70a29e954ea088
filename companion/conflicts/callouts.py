"""Reading conflict and supersedes callouts back from a page (SYSTEM.md §9).

The vault is the record: a `[!conflict]` callout on a page *is* an open conflict, a
`[!resolved]` one (the person's one-word change, or the companion's rewrite of it) a resolved
one, a `[!superseded]` one a fact the companion replaced with a newer one. `callouts(text)`
reads them all, so a sync (and a `--rebuild` from an empty state folder) knows every conflict
from the pages alone; `resolved_rows(text)` and `open_rows(text)` read back what a `CONFLICT.md`
the companion wrote lists (the record of callouts a person deleted).

The form (written by `companion.write.conflicts`):

    > [!conflict] Ledger: recovery time objective
    > [[CONFLICT]] — opened 2026-11-21
    > - Recovery time objective (RTO): 4 hours ([[wiki/sources/runbook]]).
    > - ... has been two hours ever since go-live ... ([[wiki/sources/relocation-notes]]).

    ^conflict-3fa91c

and, once resolved and rewritten by the companion (`resolve_callout`), `> [!resolved] ...` with
the second line `> resolved 2026-11-24 — opened 2026-11-21` (read into `resolved` and `opened`).

A callout is recognised (`companion.write.conflicts.callout_blocks`, shared with that rewrite) by
its first line (`> [!conflict]`, `> [!resolved]`, `> [!superseded]`, any case, an optional fold
sign `+`/`-`) and its id by the first `^conflict-xxxxxx` (or
`^superseded-xxxxxx`) block id within the three lines after the callout; one with no id is not
the companion's and is ignored. Its claims are its `> - ` lines, their sources their citations.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from companion.write.conflicts import HEAD as _HEAD
from companion.write.conflicts import QUEUE_LINK, callout_blocks, split_lines
from companion.write.wiki import cited_sources

_OPENED = re.compile(r"\b(?:opened|superseded) (\d{4}-\d{2}-\d{2})\b")
_RESOLVED_ON = re.compile(r"\bresolved (\d{4}-\d{2}-\d{2})\b")
_CLAIM = re.compile(r"^>\s*[-*+]\s+(.*\S)\s*$")


@dataclass(frozen=True, slots=True)
class Callout:
    """One callout as the page holds it. `status`: open, resolved or superseded."""

    id: str
    status: str
    title: str
    opened: str  # ISO date, "" when the line is gone
    resolved: str  # ISO date of a resolution, "" when none
    claims: tuple[str, ...]
    sources: tuple[tuple[str, ...], ...]  # each claim's cited source pages
    line: int  # 1-based line of the callout's first line


def callouts(text: str) -> list[Callout]:
    """Every companion conflict/supersedes callout in `text`, in page order."""
    lines = [line.rstrip("\r\n") for line in split_lines(text)]
    found: list[Callout] = []
    for block in callout_blocks(lines):
        kind = block.kind
        body = lines[block.head + 1 : block.end]
        title = _HEAD.match(lines[block.head])
        joined = "\n".join(body)
        opened = _OPENED.search(joined)
        resolved = _RESOLVED_ON.search(joined)  # the companion's rewrite: `resolved DATE — ...`
        claims = tuple(m.group(1) for line in body if (m := _CLAIM.match(line)))
        if kind == "conflict" and QUEUE_LINK not in joined:
            kind = "resolved"  # the link taken out: the person's other one-word change
        found.append(
            Callout(
                id=block.ident,
                status={"conflict": "open"}.get(kind, kind),
                title=title.group(2) if title else "",
                opened=opened.group(1) if opened else "",
                resolved=resolved.group(1) if resolved else "",
                claims=claims,
                sources=tuple(tuple(cited_sources(c)) for c in claims),
                line=block.head + 1,
            )
        )
    return found


_CELL_SPLIT = re.compile(r"(?<!\\)\|")
_ROW_ID = re.compile(r"^`(conflict-[0-9a-f]{6})`$")
_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _unescape(cell: str) -> str:
    """A CONFLICT.md cell as the text it was rendered from (`write.conflicts._cell`)."""
    return cell.strip().replace("\\|", "|").replace("[\u200b[", "[[")


def resolved_rows(text: str) -> dict[str, tuple[str, str, str]]:
    """{id: (title, page title, date closed)} of the `Resolved` table of a `CONFLICT.md` the
    companion wrote: the vault's record of conflicts closed by deleting their callout. Read line
    by line, a row being exactly four cells whose third is a conflict id in backticks: the
    header, the separator and anything a person added are not rows."""
    _, sep, rest = text.partition("\n## Resolved")
    if not sep:
        return {}
    found: dict[str, tuple[str, str, str]] = {}
    for line in rest.split("\n"):
        line = line.strip()
        if line.startswith("## "):
            break  # the next section
        if not (line.startswith("|") and line.endswith("|")):
            continue
        cells = _CELL_SPLIT.split(line[1:-1])
        if len(cells) != 4:
            continue
        ident = _ROW_ID.match(cells[2].strip())
        if ident is None:
            continue
        closed = cells[3].strip()
        found[ident.group(1)] = (
            _unescape(cells[0]),
            _unescape(cells[1]),
            closed if _DAY.match(closed) else "",
        )
    return found


_OPEN_LINK = re.compile(r"\[\[([^\]#|]+)#\^(conflict-[0-9a-f]{6})\\?\|([^\]]*)\]\]")


def open_rows(text: str) -> dict[str, tuple[str, str]]:
    """{id: (title, page)} of the open table of a `CONFLICT.md` the companion wrote: after a
    rebuild, a conflict listed open whose callout is on no page was closed while the index was
    away (its callout deleted), and is recorded so."""
    head, _, _ = text.partition("\n## Resolved")
    return {
        m.group(2): (_unescape(m.group(3)), m.group(1) + ".md") for m in _OPEN_LINK.finditer(head)
    }
