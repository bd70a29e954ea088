"""Companion-owned regions of a page (SYSTEM.md §7): the only body text companion rewrites.

```markdown
%% companion:begin facts %%
- Runs on PostgreSQL 15 ([[wiki/sources/q3-architecture-review]]).
%% companion:end facts %%
```

The rules, each enforced here:

- a marker is a line of its own (surrounding spaces allowed); `NAME` is `[a-z0-9-]+`;
- regions never nest and a name occurs once per page; a `begin` without its `end` (or the reverse)
  makes the page's regions unreadable: `RegionError`, and nothing is written;
- markers inside fenced code blocks are text, not markers (SYSTEM.md itself shows one);
- everything outside the markers is the person's and comes back byte for byte; a region's content
  is replaced wholesale, its marker lines kept exactly as they were;
- a region whose markers a person deleted is theirs: `set_region` recreates it only when asked to
  write content, and then appends it at the end of the page.

Pure text in, text out: the caller reads the page, edits, and writes through `atomic`/`journal`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from companion.errors import RegionError

NAME = re.compile(r"[a-z0-9-]+")
_MARKER = re.compile(r"^[ \t]*%%[ \t]*companion:(begin|end)[ \t]+(\S+)[ \t]*%%[ \t]*$")
_FENCE = re.compile(r"^[ \t]{0,3}(`{3,}|~{3,})")
_CLOSING_FENCE = re.compile(r"^[ \t]{0,3}(`{3,}|~{3,})[ \t]*$")  # no info string (CommonMark)


@dataclass(frozen=True, slots=True)
class Region:
    name: str
    start: int  # offset of the begin marker line
    body_start: int  # offset just after the begin marker line (its newline included)
    body_end: int  # offset of the end marker line
    end: int  # offset just after the end marker line (its newline, if any, included)


def _lines(text: str) -> list[tuple[int, str, int]]:
    """(offset, line without its newline, offset of the next line) for every line. Only `\n`
    (and `\r\n`) end a line, as in an editor: not the other characters `str.splitlines` breaks at."""
    out = []
    pos = 0
    while pos < len(text):
        end = text.find("\n", pos)
        following = len(text) if end == -1 else end + 1
        line = text[pos : len(text) if end == -1 else end]
        out.append((pos, line.removesuffix("\r"), following))
        pos = following
    return out


def find_regions(text: str, where: str = "the page") -> list[Region]:
    """Every region of `text`, in order; `RegionError` (saying where) when the markers are
    unmatched, nested, repeated or badly named."""
    regions: list[Region] = []
    open_name: str | None = None
    open_at = body_at = 0
    fence: str | None = None
    for number, (offset, line, following) in enumerate(_lines(text), start=1):
        if fence is not None:
            closing = _CLOSING_FENCE.match(line)
            if closing and closing.group(1)[0] == fence[0] and len(closing.group(1)) >= len(fence):
                fence = None
            continue
        fenced = _FENCE.match(line)
        if fenced:
            fence = fenced.group(1)
            continue
        marker = _MARKER.match(line)
        if marker is None:
            continue
        kind, name = marker.groups()
        if not NAME.fullmatch(name):
            raise RegionError(f"{where}, line {number}: region name {name!r} must be [a-z0-9-]+")
        if kind == "begin":
            if open_name is not None:
                raise RegionError(
                    f"{where}, line {number}: region {name!r} begins inside {open_name!r}; "
                    "regions never nest"
                )
            if any(r.name == name for r in regions):
                raise RegionError(f"{where}, line {number}: a second region named {name!r}")
            open_name, open_at, body_at = name, offset, following
        else:
            if open_name != name:
                raise RegionError(
                    f"{where}, line {number}: `end {name}` without its `begin {name}`"
                )
            regions.append(Region(name, open_at, body_at, offset, following))
            open_name = None
    if open_name is not None:
        raise RegionError(f"{where}: region {open_name!r} has no `end` marker")
    return regions


def region_text(text: str, name: str, where: str = "the page") -> str | None:
    """The content of region `name` (between its marker lines), or None when there is none."""
    for region in find_regions(text, where):
        if region.name == name:
            return text[region.body_start : region.body_end]
    return None


def _newline(text: str) -> str:
    return "\r\n" if "\r\n" in text[:4096] else "\n"


def set_region(text: str, name: str, content: str, where: str = "the page") -> str:
    """`text` with region `name` holding `content`; every byte outside the region unchanged.

    An existing region keeps its marker lines; a missing one is appended at the end of the page
    (after a blank line), in the page's newline style. Empty `content` empties an existing region
    and creates none."""
    if not NAME.fullmatch(name):
        raise RegionError(f"region name {name!r} must be [a-z0-9-]+")
    newline = _newline(text)
    body = content.replace("\r\n", "\n").replace("\n", newline)
    if body and not body.endswith(newline):
        body += newline
    result = None
    for region in find_regions(text, where):
        if region.name == name:
            result = text[: region.body_start] + body + text[region.body_end :]
            break
    else:
        if not body:
            return text
        head = text
        if head and not head.endswith(("\n", "\r")):
            head += newline
        if head and not head.endswith(newline * 2):
            head += newline
        begin = f"%% companion:begin {name} %%"
        end = f"%% companion:end {name} %%"
        result = f"{head}{begin}{newline}{body}{end}{newline}"
    # Content holding a marker line or an unclosed fence would leave a page whose regions can no
    # longer be read: refuse it rather than write it.
    try:
        written = region_text(result, name, where)
    except RegionError as exc:
        raise RegionError(
            f"{where}: the new content of region {name!r} breaks the page's regions ({exc})"
        ) from exc
    if written != body:
        raise RegionError(
            f"{where}: the new content of region {name!r} would not read back as written"
        )
    return result
