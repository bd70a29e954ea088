"""The bytes of a conflict: its callout on a page, and `CONFLICT.md` (SYSTEM.md §9).

`callout(...)` renders the callout lines; `place(text, anchor, lines)` puts them on a page right
after the stored claim's line when that line is inside a companion region (the callout then sits
in the region, next to the claim it disputes), or else in the page's `conflicts` region at its
end (a person's line is never touched, nor are lines written next to it). `conflict_md(...)`
renders the generated review queue. Nothing here reads or writes files: `companion.app` writes
the texts in the ingest's journaled transaction.

**Stable bytes.** The callout's text is a function of its id, its title, the date it was opened
and the two claims as the pages cite them, so a re-ingest that finds the same conflict writes
nothing: the callout's id is already on the page (`has_block`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from companion.render.index_md import GENERATED_HEADER, link_to, one_line
from companion.write.regions import find_regions, set_region

CONFLICT_PATH = "CONFLICT.md"
CONFLICTS_REGION = "conflicts"
_BLOCK_ID = re.compile(r"[ \t]+\^[A-Za-z0-9-]+[ \t]*$")
_BULLET = re.compile(r"^[ \t]*[-*+][ \t]+")


def quoted_claim(line: str) -> str:
    """A page's fact line as a callout's claim: no bullet, no block id, one line."""
    return one_line(_BLOCK_ID.sub("", _BULLET.sub("", line.strip(), count=1)).strip())


def callout(kind: str, ident: str, title: str, day: str, claims: Sequence[str]) -> list[str]:
    """The lines of a `conflict` (open) or `superseded` callout, its block id last."""
    head = one_line(title).replace("]", ")")
    if kind == "conflict":
        lines = [f"> [!conflict] {head}", f"> [[CONFLICT]] — opened {day}"]
    else:
        lines = [
            f"> [!superseded] {head}",
            f"> superseded {day}: the second fact replaces the first",
        ]
    lines += [f"> - {quoted_claim(c)}" for c in claims]
    return [*lines, "", f"^{ident}"]


def has_block(text: str, ident: str) -> bool:
    return re.search(rf"(?m)^\^{re.escape(ident)}[ \t]*$", text) is not None


def place(text: str, anchor: str, lines: Sequence[str]) -> str:
    """`text` with the callout `lines` after the line `anchor` when it is inside a companion
    region; otherwise (a person's line, or the line is gone) in the `conflicts` region."""
    newline = "\r\n" if "\r\n" in text[:4096] else "\n"
    block = newline.join(lines)
    offset = _line_offset(text, anchor)
    if offset is not None and _in_region(text, offset):
        end = text.find("\n", offset)
        end = len(text) if end == -1 else end + 1
        insert = newline + block + newline + newline
        if end == len(text) and not text.endswith("\n"):
            insert = newline + insert
        return text[:end] + insert + text[end:]
    current = ""
    for region in find_regions(text):
        if region.name == CONFLICTS_REGION:
            current = text[region.body_start : region.body_end]
    body = (current.rstrip("\r\n") + newline + newline if current.strip() else "") + block
    return set_region(text, CONFLICTS_REGION, body + newline)


def _line_offset(text: str, anchor: str) -> int | None:
    pos = 0
    for line in text.splitlines(keepends=True):
        if line.rstrip("\r\n") == anchor:
            return pos
        pos += len(line)
    return None


def _in_region(text: str, offset: int) -> bool:
    return any(
        r.body_start <= offset < r.body_end and r.name != CONFLICTS_REGION
        for r in find_regions(text)
    )


@dataclass(frozen=True, slots=True)
class ConflictEntry:
    """One line of CONFLICT.md."""

    id: str
    title: str
    page: str  # vault path with .md
    page_title: str
    a_source: str
    b_source: str
    opened: str
    closed: str = ""


def conflict_md(open_: Sequence[ConflictEntry], resolved: Sequence[ConflictEntry]) -> str:
    """The generated review queue: every open conflict with its page, a link to its block, its
    two sources and the date opened; then the resolved ones (the vault's record of closures, read
    back by a rebuild)."""
    out = [GENERATED_HEADER, "# Conflicts\n\n"]
    out.append(
        "Facts on wiki pages that cannot both be true. Open one, correct the claim(s), then "
        "delete the callout (or change `[!conflict]` to `[!resolved]`); it leaves this list on "
        "the next sync (SYSTEM.md §9).\n\n"
    )
    if not open_:
        out.append("No open conflicts.\n")
    else:
        out.append("| Conflict | Page | Sources | Opened |\n|---|---|---|---|\n")
        for e in open_:
            out.append(_row(e, e.opened))
    if resolved:
        out.append("\n## Resolved\n\n| Conflict | Page | Id | Closed |\n|---|---|---|---|\n")
        for e in resolved:
            out.append(
                f"| {_cell(e.title)} | {_cell(e.page_title)} | `{e.id}` | {e.closed or '—'} |\n"
            )
    return "".join(out)


def _row(e: ConflictEntry, day: str) -> str:
    target = e.page[:-3] if e.page.endswith(".md") else e.page
    block = f"[[{target}#^{e.id}\\|{_cell(e.title)}]]"
    page = link_to(e.page, e.page_title).replace("|", "\\|")
    sources = f"{_cell(e.a_source)}, {_cell(e.b_source)}"
    return f"| {block} | {page} | {sources} | {day} |\n"


def _cell(text: str) -> str:
    return one_line(text).replace("|", "\\|").replace("[[", "[\u200b[")
