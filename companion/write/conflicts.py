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

**Resolution.** A person resolves with one word (`[!conflict]` -> `[!resolved]`); the companion
then rewrites that callout without its `[[CONFLICT]]` link (`resolve_callout`), so the pages that
link to CONFLICT.md are exactly those with an open conflict (its backlinks mean "open"):

    > [!resolved] Ledger: recovery time objective
    > resolved 2026-11-24 — opened 2026-11-21
    > - ...

Only the head's `[!conflict]` and the callout's own `[[CONFLICT]]` links change; the claims, any
line a person added inside the callout, the line endings and every byte outside it stay.
`write_resolved` is that rewrite as one page write (compare-and-swap on the indexed bytes, the
version bumped, `updated` stamped). `callout_blocks` is the one reading of where a callout is,
shared with `companion.conflicts.callouts` (which reads what it says).
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from companion.errors import ChangedOnDisk, MalformedFrontmatter, RegionError, UnreadableFile
from companion.markdown.parse import parse_note
from companion.render.index_md import GENERATED_HEADER, link_to, one_line
from companion.vault.walk import content_hash
from companion.write.atomic import atomic_write, read_regular
from companion.write.fmedit import FrontmatterEditError, duplicate_keys, set_value
from companion.write.pages import VersionWrite
from companion.write.regions import find_regions, set_region
from companion.write.wiki import stamp

CONFLICT_PATH = "CONFLICT.md"
CONFLICTS_REGION = "conflicts"
_BLOCK_ID = re.compile(r"[ \t]+\^[A-Za-z0-9-]+[ \t]*$")
_BULLET = re.compile(r"^[ \t]*[-*+][ \t]+")
_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
HEAD = re.compile(r"^>\s*\[!(conflict|resolved|superseded)\][+-]?\s*(.*?)\s*$", re.IGNORECASE)
_ID = re.compile(r"^\^((?:conflict|superseded)-[0-9a-f]{6})\s*$")
_OPEN_MARK = re.compile(r"\[!conflict\]", re.IGNORECASE)
QUEUE_LINK = "[[CONFLICT]]"  # a callout's link to CONFLICT.md: present while it is open
_BOM = b"\xef\xbb\xbf"


def split_lines(text: str) -> list[str]:
    """`text`'s lines with their endings, broken at `\n` only, as markdown breaks them (not at
    U+2028, NEL or a form feed, where `str.splitlines` would)."""
    return re.findall(r"[^\n]*\n|[^\n]+$", text)


def quoted_claim(line: str) -> str:
    """A page's fact line as a callout's claim: no bullet, no block id, one line."""
    text = one_line(_BLOCK_ID.sub("", _BULLET.sub("", line.strip(), count=1)).strip())
    # A `%%` would open an Obsidian comment that hides the rest of the callout and its block id.
    return text.replace("%%", "%\u200b%")


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


@dataclass(frozen=True, slots=True)
class CalloutBlock:
    """Where one companion callout sits in a page's lines (`split_lines` numbering, 0-based):
    its first line `head`, its `> ` lines up to `end` (exclusive), its block id `ident`."""

    kind: str  # conflict, resolved or superseded, lowercase
    head: int
    end: int
    ident: str


def callout_blocks(lines: Sequence[str]) -> list[CalloutBlock]:
    """Every companion callout among `lines`: a first line `> [!conflict]`, `> [!resolved]` or
    `> [!superseded]` (any case, an optional fold sign) outside a fenced code block, its `>` lines,
    then within the three lines after them a first non-blank line that is its block id
    (`^conflict-xxxxxx` or `^superseded-xxxxxx`); one with no id is not the companion's."""
    found: list[CalloutBlock] = []
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
        head = HEAD.match(lines[i])
        if head is None:
            i += 1
            continue
        start = i
        i += 1
        while i < len(lines) and lines[i].startswith(">"):
            i += 1
        for j in range(i, min(i + 3, len(lines))):
            m = _ID.match(lines[j].strip())
            if m is not None:
                found.append(CalloutBlock(head.group(1).lower(), start, i, m.group(1)))
                break
            if lines[j].strip():
                break
    return found


def resolve_callout(text: str, ident: str, day: str) -> str | None:
    """`text` with the conflict callout `ident` rewritten as resolved on `day`: its first line's
    `[!conflict]` made `[!resolved]` (title and fold sign kept), its first `[[CONFLICT]]` link
    made `resolved DAY` (so `> [[CONFLICT]] — opened D` reads `> resolved DAY — opened D`) and any
    further one plain `CONFLICT`; every other byte, line endings included, unchanged. None when
    there is nothing to rewrite: no such conflict callout, or no `[[CONFLICT]]` left in it."""
    lines = split_lines(text)
    bare = [line.rstrip("\r\n") for line in lines]
    for block in callout_blocks(bare):
        if block.ident != ident or block.kind == "superseded":
            continue
        if not any(QUEUE_LINK in line for line in lines[block.head : block.end]):
            return None
        out = list(lines)
        out[block.head] = _OPEN_MARK.sub("[!resolved]", lines[block.head], count=1)
        marked = False
        for n in range(block.head, block.end):
            while QUEUE_LINK in out[n]:
                out[n] = out[n].replace(QUEUE_LINK, "CONFLICT" if marked else f"resolved {day}", 1)
                marked = True
        return "".join(out)
    return None


def write_resolved(
    vault: Path,
    rel: str,
    indexed_hash: str,
    days: Mapping[str, str],
    now: datetime,
    *,
    floor: int = 0,
    limit: int,
) -> VersionWrite | None:
    """Rewrite the resolved callouts `days` names on the managed page `rel` (`resolve_callout`,
    each id with the day it was closed) as one
    companion write: the page's `version` goes up by one (above `floor` too, the highest it has
    had: SYSTEM.md §8) and `updated` is stamped, as ingest and `companion update` do, and the file
    is replaced only while it still holds the bytes the index saw (`indexed_hash`).

    None when nothing is written: the page is gone or unreadable, it holds bytes the index has
    not seen (a person saved since the sync: that edit is bumped first and the rewrite retried on
    a later sync), it changed while being written (`ChangedOnDisk`: likewise), or no callout needs
    the rewrite. `MalformedFrontmatter` when the page cannot be versioned safely."""
    try:
        data = read_regular(vault, rel, limit)
    except OSError as exc:
        raise UnreadableFile(f"cannot read {rel}: {exc.strerror or exc}; nothing written") from exc
    if data is None or content_hash(data) != indexed_hash:
        return None
    bom = _BOM if data.startswith(_BOM) else b""
    try:
        text = data[len(bom) :].decode("utf-8")
    except UnicodeDecodeError:
        return None  # not text the index could have read a callout from
    original = text
    for ident, day in days.items():
        text = resolve_callout(text, ident, day) or text
    if text == original:
        return None
    note = parse_note(data, rel)
    twice = duplicate_keys(original)
    if any(p.code in ("yaml", "version") for p in note.problems) or twice:
        raise MalformedFrontmatter(
            f"{rel}: its frontmatter cannot be versioned (fix it to have the resolved callout "
            "rewritten); nothing written"
        )
    old = note.version or 0
    new = max(old, floor) + 1
    try:
        text = set_value(set_value(text, "version", new), "updated", stamp(now))
    except FrontmatterEditError as exc:
        raise MalformedFrontmatter(f"{rel}: {exc}; nothing written") from exc
    try:
        written = atomic_write(vault / rel, bom + text.encode("utf-8"), indexed_hash, vault=vault)
    except ChangedOnDisk:
        return None
    return VersionWrite(rel, old, new, written)


def drop_withdrawn(
    text: str, source: str, stated_elsewhere: Collection[str] = ()
) -> tuple[str, list[str]]:
    """`text` without the companion's open and superseded callouts that quote a claim citing
    the summary page `source` (`wiki/sources/<name>`) that the page no longer states — the
    source withdrew it (its raw file deleted, or a new version that no longer says it). With
    the claim gone there is nothing left to dispute. `stated_elsewhere`: the source's claims
    (`quoted_claim` form) another page still states — a callout across summary pages quotes a
    fact its source's own page holds. Also returns the removed callouts' ids.

    Only a callout exactly as `callout` renders it, inside a companion region, is taken off: a
    head, its status line (`[[CONFLICT]] — opened …` or `superseded …`) and two claim lines,
    nothing else. One a person touched — a line added, the `[[CONFLICT]]` link taken out (a
    resolution), `[!resolved]` — stays whole. Of the blank lines around it, one stays between
    two paragraphs; between two list items (or a list item and a region marker) neither does."""
    cite = f"[[{source}]]"
    if cite not in text:
        return text, []
    lines = split_lines(text)
    blocks = callout_blocks(lines)
    if not blocks:
        return text, []
    inside = {i for b in blocks for i in range(b.head, b.end)}
    stated = {
        quoted_claim(line.rstrip("\r\n"))
        for i, line in enumerate(lines)
        if i not in inside and cite in line
    } | set(stated_elsewhere)
    starts = [0]
    for line in lines:
        starts.append(starts[-1] + len(line))
    try:
        regions = find_regions(text)  # any of companion's, the `conflicts` region included
    except RegionError:
        return text, []  # unreadable regions: nothing of companion's can be told apart
    drop: set[int] = set()
    gone: list[str] = []
    for b in blocks:
        body = [line.rstrip("\r\n") for line in lines[b.head : b.end]]
        offset = starts[b.head]
        if not _as_rendered(b.kind, body) or not any(
            r.body_start <= offset < r.body_end for r in regions
        ):
            continue  # a person's callout, or one a person moved out of companion's regions
        claims = [line[len("> - ") :] for line in body[2:]]
        if not any(cite in c and c not in stated for c in claims):
            continue
        last = next(j for j in range(b.end, len(lines)) if lines[j].strip())  # its id
        drop.update(range(b.head, last + 1))
        gone.append(b.ident)
        before, after = b.head - 1, last + 1
        blank_before = before >= 0 and not lines[before].strip()
        blank_after = after < len(lines) and not lines[after].strip()
        if blank_before and blank_after:
            # `place` put one blank line on each side; the neighbours decide what is left.
            prev = lines[before - 1] if before >= 1 else ""
            nxt = lines[after + 1] if after + 1 < len(lines) else ""
            drop.add(before)
            if _listed(prev) and _listed(nxt):
                drop.add(after)
    if not drop:
        return text, []
    return "".join(line for i, line in enumerate(lines) if i not in drop), gone


_CLAIM_LINE = re.compile(r"^> - \S")
_REGION_MARK = re.compile(r"^[ \t]*%%[ \t]*companion:(?:begin|end)\b")


_RENDERED_HEAD = re.compile(r"^> \[!(conflict|superseded)\] [^\]]*$")
_RENDERED_STATUS = {
    "conflict": re.compile(r"^> \[\[CONFLICT\]\] — opened \d{4}-\d{2}-\d{2}$"),
    "superseded": re.compile(
        r"^> superseded \d{4}-\d{2}-\d{2}: the second fact replaces the first$"
    ),
}


def _as_rendered(kind: str, body: Sequence[str]) -> bool:
    """Whether a callout's `>` lines are exactly what `callout` writes for `kind` (a title is
    one line without `]`; a person's words appended to a line make it theirs)."""
    if len(body) != 4 or not all(_CLAIM_LINE.match(line) for line in body[2:]):
        return False
    head = _RENDERED_HEAD.match(body[0])
    status = _RENDERED_STATUS.get(kind)
    return (
        head is not None
        and head.group(1) == kind
        and status is not None
        and bool(status.match(body[1]))
    )


def _listed(line: str) -> bool:
    """A list item, a region marker or nothing: where no blank line belongs."""
    return not line.strip() or bool(_BULLET.match(line)) or bool(_REGION_MARK.match(line))


def has_block(text: str, ident: str) -> bool:
    return re.search(rf"(?m)^\^{re.escape(ident)}[ \t]*\r?$", text) is not None


def place(text: str, anchor: str, lines: Sequence[str]) -> str:
    """`text` with the callout `lines` after the line `anchor` when it is inside a companion
    region; otherwise (a person's line, or the line is gone) in the `conflicts` region."""
    newline = "\r\n" if "\r\n" in text[:4096] else "\n"
    block = newline.join(lines)
    anchor = anchor.rstrip("\r")
    offset = _line_offset(text, anchor)
    if offset is not None and _OWNED_ID.search(anchor) and _in_region(text, offset):
        end = _item_end(text, offset)
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


# An ingest bullet's block id (`write.wiki`): only after one of those does a callout go inline.
# After a person's line (no such id) it goes to the `conflicts` region: their list item, and any
# lines they indented under it, stay as they wrote them.
_OWNED_ID = re.compile(r"[ \t]\^i-[0-9a-f]{8}[ \t]*$")


def _line_offset(text: str, anchor: str) -> int | None:
    """Where the line `anchor` starts: its first copy inside a companion region, else its first
    copy anywhere (a person may have pasted the same bullet above the region)."""
    first = None
    pos = 0
    for line in split_lines(text):
        if line.rstrip("\r\n") == anchor:
            if _in_region(text, pos):
                return pos
            first = pos if first is None else first
        pos += len(line)
    return first


def _item_end(text: str, offset: int) -> int:
    """The end of the list item starting at `offset`: its line and the indented lines under
    it (a callout never goes between a bullet and its sub-bullets)."""
    lines = split_lines(text[offset:])
    end = offset + (len(lines[0]) if lines else 0)
    for line in lines[1:]:
        if not line.strip() or not line[:1].isspace():
            break
        end += len(line)
    if end == len(text) and not text.endswith("\n"):
        return end
    return end


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
