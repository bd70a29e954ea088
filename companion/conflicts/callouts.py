"""Reading conflict and supersedes callouts back from a page (SYSTEM.md §9).

The vault is the record: a `[!conflict]` callout on a page *is* an open conflict, a
`[!resolved]` one (the person's one-word change, or the companion's rewrite of it) a resolved
one, a `[!superseded]` one a fact the companion replaced with a newer one. `callouts(text)`
reads them all, so a sync (and a `--rebuild` from an empty state folder) knows every conflict
from the pages alone, and `resolved_ids(text)` reads the resolved ids `CONFLICT.md` keeps for the
callouts a person deleted.

The form (written by `companion.write.conflicts`):

    > [!conflict] Ledger: recovery time objective
    > [[CONFLICT]] — opened 2026-11-21
    > - Recovery time objective (RTO): 4 hours ([[wiki/sources/runbook]]).
    > - ... has been two hours ever since go-live ... ([[wiki/sources/relocation-notes]]).

    ^conflict-3fa91c

A callout is recognised by its first line (`> [!conflict]`, `> [!resolved]`, `> [!superseded]`,
any case, an optional fold sign `+`/`-`) and its id by the first `^conflict-xxxxxx` (or
`^superseded-xxxxxx`) block id within the three lines after the callout; one with no id is not
the companion's and is ignored. Its claims are its `> - ` lines, their sources their citations.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from companion.write.wiki import cited_sources

_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_HEAD = re.compile(r"^>\s*\[!(conflict|resolved|superseded)\][+-]?\s*(.*?)\s*$", re.IGNORECASE)
_ID = re.compile(r"^\^((?:conflict|superseded)-[0-9a-f]{6})\s*$")
_OPENED = re.compile(r"\bopened (\d{4}-\d{2}-\d{2})\b")
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
    lines = text.splitlines()
    found: list[Callout] = []
    i = 0
    fence: str | None = None
    while i < len(lines):
        opening = _FENCE.match(lines[i])
        if opening is not None:  # an example in a code block is not a callout
            if fence is None:
                fence = opening.group(1)
            elif opening.group(1).startswith(fence):
                fence = None
            i += 1
            continue
        if fence is not None:
            i += 1
            continue
        head = _HEAD.match(lines[i])
        if head is None:
            i += 1
            continue
        start = i
        body: list[str] = []
        i += 1
        while i < len(lines) and lines[i].startswith(">"):
            body.append(lines[i])
            i += 1
        ident = None
        for j in range(i, min(i + 3, len(lines))):
            m = _ID.match(lines[j].strip())
            if m is not None:
                ident = m.group(1)
                break
            if lines[j].strip():
                break
        if ident is None:
            continue
        kind = head.group(1).lower()
        joined = "\n".join(body)
        opened = _OPENED.search(joined)
        resolved = _RESOLVED_ON.search(joined)
        claims = tuple(m.group(1) for line in body if (m := _CLAIM.match(line)))
        if kind == "conflict" and "[[CONFLICT]]" not in joined:
            kind = "resolved"  # the link taken out: the person's other one-word change
        found.append(
            Callout(
                id=ident,
                status={"conflict": "open"}.get(kind, kind),
                title=head.group(2),
                opened=opened.group(1) if opened else "",
                resolved=resolved.group(1) if resolved else "",
                claims=claims,
                sources=tuple(tuple(cited_sources(c)) for c in claims),
                line=start + 1,
            )
        )
    return found


_RESOLVED_ROW = re.compile(
    r"^\|\s*(?P<title>.*?)\s*\|\s*(?P<page>.*?)\s*\|\s*`(?P<id>conflict-[0-9a-f]{6})`\s*\|"
    r"\s*(?P<closed>\d{4}-\d{2}-\d{2})?",
    re.MULTILINE,
)


def resolved_rows(text: str) -> dict[str, tuple[str, str, str]]:
    """{id: (title, page title, date closed)} of the `Resolved` section of a `CONFLICT.md` the
    companion wrote: the vault's record of conflicts closed by deleting their callout."""
    _, sep, rest = text.partition("\n## Resolved")
    if not sep:
        return {}
    return {
        m.group("id"): (m.group("title"), m.group("page"), m.group("closed") or "")
        for m in _RESOLVED_ROW.finditer(rest)
    }
