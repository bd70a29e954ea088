"""The date of a source — the day it speaks for — and where that date was found.

`source_date` tries four places, in order, and the first that gives a real calendar date wins:

1. `frontmatter`: the source's own metadata (markdown frontmatter, HTML `<meta>`, PDF info),
   by key, in this order: `date`, `created`, `published`, `issued`, `written`, `effective`,
   `approved`, then `updated`, `modified`, `last_updated`, `last_modified` (and the Dublin Core /
   Open Graph spellings of these). Keys match case-insensitively, `-` and spaces read as `_`. A
   value may be a `date`/`datetime` (as YAML gives them: the day as written, no time-zone shift),
   or text holding a date in any form below (`2024-10-08T09:30:00Z`, `8 October 2024`);
2. `text`: the title, then the first `TEXT_LINES` non-empty lines of the text; the first date
   found wins (`Date: 9 July 2025`, `effective 2024-09-01`);
3. `name`: the file's name (not its folders): `ledger-sync-2024-10-08.md`, `scan_20241008.pdf`;
4. `mtime`: the UTC day of the file's modification time — always a date.

The written forms are a few exact patterns, English month names in full or abbreviated:
`2024-10-08` (also with `/` or `.`), `8 October 2024`, `8th of Oct. 2024`, `October 8, 2024`,
`Oct 8 2024`. A date must name its day: `October 2024` or `2025-Q2` is no date (a made-up
first of the month would be a wrong date, not a vague one), and neither is `08/10/2024` (day or
month first? a guess is worse than the next rule), nor a dotted version number like
`2024.10.08.1`. An impossible date (`2024-13-45`, 30 February) is passed over silently and the
search goes on.

Why not `dateparser`: measured, its import and first parse take ~130 ms, and its search finds
dates in ordinary prose ("may", "a day", "Tuesday evening") relative to *today* — a different
answer on another day. These patterns are exact, deterministic and cost microseconds.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from datetime import UTC, date, datetime
from pathlib import PurePosixPath
from typing import Any, Literal

from companion.ingest.result import Converted

DateOrigin = Literal["frontmatter", "text", "name", "mtime"]
TEXT_LINES = 15

DATE_KEYS: tuple[str, ...] = (
    "date",
    "dc.date",
    "dcterms.date",
    "created",
    "dcterms.created",
    "published",
    "article:published_time",
    "datepublished",
    "issued",
    "dcterms.issued",
    "written",
    "effective",
    "approved",
    "updated",
    "modified",
    "last_updated",
    "last_modified",
    "article:modified_time",
    "dcterms.modified",
    "datemodified",
)

_MONTHS = {
    name: number
    for number, names in enumerate(
        (
            ("january", "jan"),
            ("february", "feb"),
            ("march", "mar"),
            ("april", "apr"),
            ("may",),
            ("june", "jun"),
            ("july", "jul"),
            ("august", "aug"),
            ("september", "sept", "sep"),
            ("october", "oct"),
            ("november", "nov"),
            ("december", "dec"),
        ),
        start=1,
    )
    for name in names
}
_MONTH = "(?:" + "|".join(sorted(_MONTHS, key=len, reverse=True)) + r")\b\.?"
_ORD = r"(?:st|nd|rd|th)?"
_DATE = re.compile(
    rf"(?<![\d.])(?P<iy>\d{{4}})(?P<sep>[-/.])(?P<im>\d{{1,2}})(?P=sep)(?P<id>\d{{1,2}})(?!\d|(?P=sep)\d)"
    rf"|(?<!\d)(?P<dd>\d{{1,2}}){_ORD}\s+(?:of\s+)?(?P<dm>{_MONTH}),?\s+(?P<dy>\d{{4}})(?!\d)"
    rf"|\b(?P<mm>{_MONTH})\s+(?P<md>\d{{1,2}}){_ORD},?\s+(?P<my>\d{{4}})(?!\d)",
    re.I,
)
# In file names: `_` separates too, and a compact 8-digit day (scan_20241008) is common.
_NAME_ISO = re.compile(r"(?<!\d)(\d{4})[-_.](\d{1,2})[-_.](\d{1,2})(?!\d)")
_NAME_COMPACT = re.compile(r"(?<!\d)((?:19|20)\d{2})(\d{2})(\d{2})(?!\d)")


def _valid(year: str, month: str | int, day: str) -> date | None:
    try:
        return date(int(year), int(month), int(day))
    except ValueError:
        return None


def _month(word: str) -> int:
    return _MONTHS[word.rstrip(".").lower()]


def dates_in(text: str) -> Iterator[date]:
    """Every real date written in `text` in one of the module's forms, in the order written."""
    for m in _DATE.finditer(text):
        if m.group("iy"):
            found = _valid(m.group("iy"), m.group("im"), m.group("id"))
        elif m.group("dd"):
            found = _valid(m.group("dy"), _month(m.group("dm")), m.group("dd"))
        else:
            found = _valid(m.group("my"), _month(m.group("mm")), m.group("md"))
        if found is not None:
            yield found


def _first(text: str) -> date | None:
    return next(dates_in(text), None)


def _from_value(value: Any) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        return _first(value)
    return None


def _from_metadata(metadata: Mapping[str, Any]) -> date | None:
    by_key: dict[str, Any] = {}
    for key, value in metadata.items():
        if isinstance(key, str):
            by_key.setdefault(re.sub(r"[-\s]+", "_", key.strip().lower()), value)
    for key in DATE_KEYS:
        if key in by_key:
            found = _from_value(by_key[key])
            if found is not None:
                return found
    return None


def _from_text(converted: Converted) -> date | None:
    if converted.title:
        found = _first(converted.title)
        if found is not None:
            return found
    lines = 0
    for line in converted.text.split("\n"):
        if not line.strip():
            continue
        found = _first(line)
        if found is not None:
            return found
        lines += 1
        if lines >= TEXT_LINES:
            break
    return None


def _from_name(name: str) -> date | None:
    base = PurePosixPath(name).name
    for pattern in (_NAME_ISO, _NAME_COMPACT):
        for m in pattern.finditer(base):
            found = _valid(m.group(1), m.group(2), m.group(3))
            if found is not None:
                return found
    return _first(base)


def source_date(converted: Converted, name: str, mtime: float) -> tuple[str, DateOrigin]:
    """The source's date as `YYYY-MM-DD` and where it came from (see the module docstring).
    `name` is the source's path (its last part is read), `mtime` its modification time."""
    found = _from_metadata(converted.metadata)
    if found is not None:
        return found.isoformat(), "frontmatter"
    found = _from_text(converted)
    if found is not None:
        return found.isoformat(), "text"
    found = _from_name(name)
    if found is not None:
        return found.isoformat(), "name"
    try:
        day = datetime.fromtimestamp(mtime, UTC).date()
    except (OverflowError, OSError, ValueError):  # a timestamp no calendar holds
        day = date(1970, 1, 1)
    return day.isoformat(), "mtime"
