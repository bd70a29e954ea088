"""A converted source cut into the units a fact can be: sentences, list items and table rows.

Both synthesizers stand on this: the extractive one keeps units as candidate facts, the LLM one
maps each quote it is given back to the unit that holds it (`unit_at`), so a fact always carries
the exact span (`start`, `end` into `Converted.text`) of the sentence, item or row it came from.

How the text is read, line by line (one pass, no backtracking):

- Skipped: blank lines, headings (`#` lines, setext underlines, and in `.txt`/PDF an ALL-CAPS line
  such as `2. THROUGHPUT LIMITS`), code fences and everything inside them, thematic breaks and
  separator lines (`-----`), a markdown source's frontmatter, table separator rows and header rows;
  in a plain-text e-mail thread also quoted lines (`> ...`), `On ... wrote:` lines, the header block
  of each message (`From:`/`To:`/`Subject:`...; the subject becomes the heading of its body), and
  signatures (a `-- ` line up to the next message, or a sign-off such as `Best,` up to the next
  blank line).
- A paragraph's lines are joined, then split into sentences. Markdown joins every line of a
  paragraph (a soft break); a `.txt` (and PDF text) joins a line to the previous one only when the
  break is a wrap: the next line's first word would not have fitted on the previous line at the
  document's wrap width (estimated from its longest lines). A short line followed by another
  (a title, `Best,` then a name) is therefore a hard break, and an unwrapped `.txt` whose every
  paragraph is one long line keeps each line apart.
- A line that starts a new unit even without a blank line before it: a list item (`- `, `* `, `+ `,
  `1. `, `1) `), a numbered clause (`2.1 Each merchant account...`: a number with a dot inside,
  then a capital), a field line (`Owner: Payments Platform`, a short capitalised label and a
  colon, when the line before it ended a sentence or was a field itself), and a timeline line
  (`06:05  Stopped the ...`). Indented lines after an item continue it.
- Sentences split after `.`, `?` or `!` (closing quotes, brackets and emphasis marks allowed after
  it) followed by white space and a capital letter or digit (an opening quote or emphasis mark may
  come first). Not after an abbreviation (`e.g.`, `i.e.`, `approx.`, `Dr.`, `No. 5`, a month
  `Sep.`, an initial `J. Smith`), and never inside a token (`v4.2`, `2.3M`, `03:00`, `2.1`), since
  white space must follow. A fragment too short to be a fact (`Yes.`, `**Database version.**`)
  is joined to the sentence after it when it leads, else to the one before: its words stay with
  their context instead of being lost.

Kinds: a table data row is `row`; a list item, numbered clause or field line that is one sentence
is `item`; when such an item holds several sentences, each is a `sentence` (as is every sentence of
a paragraph): `item` means "the unit is the whole list entry". An item's span starts after its
marker (`- `, `2.1 `), so a unit's text is its content.

`text` is `neutralise(Converted.text[start:end])` for sentences and items: one safe line, the same
function the page writer's check applies. For a row it is the row's cells, each neutralised, put
with their column headers, so the fact reads on its own on a wiki page (and a reader, or the
conflict detector, can tell which column a value is in); its span still covers the whole row line:

- a header row and three or more columns: `Header: cell` for each non-empty cell, joined with
  `; ` (`System: ledger-sync; Team: Payments Platform; Purpose: Nightly settlement`); a cell
  under an empty (or missing) header cell is its bare text;
- a header row and two columns (a key/value table, or a list of things and one attribute): the
  first cell is the row's key and the first header only names what kind of thing it is
  (`System`, `Setting`), so it is left out. When the second header is generic (`Value`,
  `Details`, `Description`, `Notes`, ...: `_GENERIC_VALUE_HEADERS`) or empty the row is
  `key: value` (`Retry budget: 3 attempts`); when it names an attribute it is kept as
  that value's label: `key — Header: value` (`ledger-sync — Owner: Payments Platform`). An
  empty key leaves `Header: value` (or the bare value), an empty value the bare key;
- no header row: two columns are `key: value`; more stay the cells joined with ` | `, empty
  ones included (without headers a cell is known only by its place).

A label or key that already ends with `:` is not given a second one (`Owner: x`, never
`Owner:: x`). Which rows are units does not depend on this text: a row is dropped when its cells
(joined with ` | `) hold no letter, fewer than 2 words or more than `4 * MAX_CHARS` characters.
`TableRow.cells` and `header` stay the plain neutralised cells. Other units are dropped when they
hold no letter, fewer than `MIN_WORDS` words, or more than `MAX_WORDS` words (a paragraph that
failed to split is no fact).
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from companion.ingest.neutral import neutralise
from companion.ingest.result import Converted, FactKind

MIN_WORDS = 4
MAX_WORDS = 90
MAX_CHARS = 1000
_ROW_MIN_WORDS = 2


def _wordset(words: str) -> frozenset[str]:
    return frozenset(words.split())


_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_HEADING = re.compile(r"^ {0,3}#{1,6}(?:\s|$)")
_SETEXT = re.compile(r"^ {0,3}(?:=+|-+)\s*$")
_BREAK = re.compile(
    r"^\s*(?:([-=_*~+#])\s*(?:\1\s*){2,}|-{2,}\s*(?:original message|forwarded message)\s*-{2,})$",
    re.I,
)
_TABLE = re.compile(r"^\s*\|.*\|\s*$|^\s*\|(?:[^|\n]*\|){1,}[^|\n]*$")
_TABLE_SEP = re.compile(r"^\s*\|?\s*:?-{1,}:?\s*(?:\|\s*:?-{1,}:?\s*)*\|?\s*$")
_ITEM = re.compile(r"^(\s*)(?:[-*+]|\d{1,3}[.)])(?:\s+\[[ xX]\])?\s+(?=\S)")
_CLAUSE = re.compile(r"^(\s*)\d{1,3}(?:\.\d{1,3})+\.?\s+(?=[^\W\d_])")
_FIELD = re.compile(r"^\s*([^\W\d_][^:\n.!?]{0,40}?):\s+\S")
_TIMELINE = re.compile(r"^\s*\d{1,2}:\d{2}(?:\s|$)")
_CAPS_LEAD = re.compile(r"^\s*(?:\d{1,3}(?:\.\d{1,3})*\.?\s+)?")
_MAIL_HEADER = re.compile(r"^(from|to|cc|bcc|date|sent|subject|reply-to):\s", re.I)
_MAIL_HEADER_CONT = re.compile(r"^\s+\S")
_WROTE = re.compile(r"^\s*on\s.+\bwrote:\s*$", re.I)
_WROTE_TAIL = re.compile(r"^\s*.*\bwrote:\s*$", re.I)
_SIG_DASH = re.compile(r"^--\s?$")
_SIGN_OFF = re.compile(
    r"^\s*(?:best|best regards|best wishes|kind regards|warm regards|warmest regards|regards|"
    r"many thanks|thanks|thank you|thanks again|cheers|sincerely|yours sincerely|yours|"
    r"all the best|br|rgds|ta)\s*[,.!]?\s*$",
    re.I,
)
_HARD_BREAK = re.compile(r"(?: {2,}|\\)$")
_SPACE = re.compile(r"\s+")
_WORD = re.compile(r"\w", re.UNICODE)
_LETTER = re.compile(r"[^\W\d_]")
_CELL_SPLIT = re.compile(r"(?<!\\)\|")

# A candidate sentence end: terminal punctuation, then closers, then white space.
_END = re.compile(r"[.!?]+[\"'”’)\]*_`]*(?=\s)")
_OPENERS = "\"'“‘*_`["
_TOKEN_BEFORE = re.compile(r"[\w.'’-]+$")
# Never a sentence end after these (compared lower-cased, without the final dot).
_ABBREVIATIONS = _wordset(
    """e.g eg i.e ie viz cf vs approx appx ca incl excl esp resp dept est ref refs fig figs
    sec sect ch vol pp p ed eds al mr mrs ms dr prof st sr jr mt rev gen col lt sgt capt
    jan feb mar apr jun jul aug sep sept oct nov dec mon tue tues wed thu thur thurs fri sat sun
    nr nos"""
)
_NUMBER_ABBREVIATIONS = frozenset({"no", "nos", "nr", "art", "para", "no(s"})
_DOTTED_LOWER = re.compile(r"^(?:[a-z]{1,2}\.)+[a-z]{1,2}$")
_MERIDIEM = frozenset({"a.m", "p.m"})
_FIRST_WORD = re.compile(r"[a-z][\w-]*")
_FUNCTION_WORDS = _wordset(
    """a an the and or nor but of to in on at by for with from as per than then so if via vs
    plus minus about over under into onto up down out off is are was were be been being it its
    this that these those which who whom whose what when where while etc"""
)
_LEAD_LABEL = re.compile(r"^(\*\*|__)[^*_\n]{1,60}?\1\W*$")
# A two-column table's second header that names no attribute: its rows read `key: value`.
_GENERIC_VALUE_HEADERS = _wordset(
    """value values detail details setting settings description descriptions note notes answer
    answers info information comment comments"""
)


@dataclass(frozen=True, slots=True)
class Unit:
    """One sentence, list item or table row: `start`/`end` its exact span in `Converted.text`,
    `text` its neutralised text (a row: its neutralised cells with their column headers, see the
    module docstring), `heading` the
    nearest heading above it, neutralised (`""` when none)."""

    start: int
    end: int
    kind: FactKind
    text: str
    heading: str


@dataclass(frozen=True, slots=True)
class TableRow:
    """A `row` unit with its table's structure: `cells` its cells and `header` the table's header
    cells (`()` for a table without a header row), each neutralised."""

    unit: Unit
    cells: tuple[str, ...]
    header: tuple[str, ...]


@dataclass(slots=True)
class _Line:
    start: int  # offset of the line's first character
    end: int  # offset after its last non-space character
    raw: str  # the line without its newline


@dataclass(slots=True)
class _Group:
    """Lines that make one paragraph, list item or field, to be split into sentences."""

    start: int
    end: int
    item: bool  # a list item, clause or field: one sentence of it is an `item`
    last: _Line
    heading: str
    field: bool = False  # it started as a field line (`Owner: ...`)


@dataclass(slots=True)
class _Table:
    pending: _Line | None = None  # the first row, until the next line says if it is a header
    header: tuple[str, ...] = ()
    rows: list[_Line] = field(default_factory=list)


def units(source: Converted) -> list[Unit]:
    """Every unit of `source`, in source order (see the module docstring)."""
    return _Reader(source).read()[0]


def table_rows(source: Converted) -> list[TableRow]:
    """The `row` units of `source` with their cells and header, in source order."""
    return _Reader(source).read()[1]


def unit_at(units: Sequence[Unit], start: int, end: int) -> Unit | None:
    """The unit whose span contains `[start, end)`, or None (a span across two units, or outside
    every unit). `units` must be in source order, as `units()` returns them."""
    index = bisect_right([unit.start for unit in units], start) - 1
    if index < 0:
        return None
    unit = units[index]
    if unit.start <= start and end <= unit.end and start <= end:
        return unit
    return None


def _lines(text: str) -> Iterator[_Line]:
    offset = 0
    for raw in text.split("\n"):
        body = raw.rstrip()
        yield _Line(offset, offset + len(body), raw.rstrip("\r"))
        offset += len(raw) + 1


def _frontmatter_end(text: str) -> int:
    """The offset after a markdown frontmatter block (`---` ... `---`), 0 when there is none."""
    if not text.startswith("---\n") and not text.startswith("---\r\n"):
        return 0
    match = re.search(r"^(?:---|\.\.\.)\s*$", text[4:], re.M)
    if match is None:
        return 0
    return 4 + match.end()


def _wrap_width(lines: Sequence[_Line]) -> int:
    """The width the text was wrapped at: its third-longest line (the longest in a text of a few
    lines), so one long URL or table line does not make every break look intentional."""
    lengths = sorted((len(line.raw.rstrip()) for line in lines if line.raw.strip()), reverse=True)
    if not lengths:
        return 0
    return lengths[min(2, len(lengths) // 5)]


def _is_caps_heading(raw: str) -> bool:
    body = _CAPS_LEAD.sub("", raw, count=1).strip()
    if not body[:1].isalnum():
        return False
    letters = [c for c in body if c.isalpha()]
    if len(letters) < 2 or len(body) > 80 or len(body.split()) > 10:
        return False
    return all(c.isupper() for c in letters)


def _cells(raw: str) -> list[str]:
    body = raw.strip()
    if body.startswith("|"):
        body = body[1:]
    if body.endswith("|") and not body.endswith("\\|"):
        body = body[:-1]
    return [_SPACE.sub(" ", neutralise(cell)).strip() for cell in _CELL_SPLIT.split(body)]


def _is_field_line(raw: str) -> bool:
    """`Owner: Payments Platform`: a short capitalised label, a colon, a value."""
    match = _FIELD.match(raw)
    if match is None:
        return False
    label = match.group(1)
    return label[0].isupper() and len(label.split()) <= 5


def _words(text: str) -> int:
    return sum(1 for token in text.split() if _WORD.search(token))


def _is_abbreviation(before: str, after: str) -> bool:
    """Whether the dot that ends `before` belongs to an abbreviation, given the text `after`."""
    match = _TOKEN_BEFORE.search(before)
    if match is None:
        return False
    token = match.group(0).rstrip(".").lstrip("'’-")
    lower = token.lower()
    next_char = after.lstrip()[:1]
    if lower in _NUMBER_ABBREVIATIONS:
        return next_char.isdigit()
    if lower in _ABBREVIATIONS:
        return True
    if len(token) == 1 and token.isupper() and next_char.isupper():
        return True  # an initial: J. Smith
    return bool(_DOTTED_LOWER.match(lower)) and lower not in _MERIDIEM


def _lower_start(rest: str) -> bool:
    """A sentence may start lower-case with a name written so (`webhook-dispatcher sends ...`,
    `risk-scorer keeps ...`), never with a word that follows an abbreviation's dot (`etc. and`)."""
    match = _FIRST_WORD.match(rest)
    return match is not None and match.group(0) not in _FUNCTION_WORDS


def _sentence_ends(raw: str) -> list[int]:
    """Offsets in `raw` where a sentence ends (exclusive), the final one included."""
    ends: list[int] = []
    for match in _END.finditer(raw):
        rest = raw[match.end() :].lstrip()
        first = rest.lstrip(_OPENERS)[:1]
        if not first or not (first.isupper() or first.isdigit() or _lower_start(rest)):
            continue
        if match.group(0)[0] == "." and _is_abbreviation(raw[: match.start() + 1], rest):
            continue
        ends.append(match.end())
    ends.append(len(raw.rstrip()))
    return ends


def _pieces(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """The sentences of `text[start:end]` as spans, short fragments joined to a neighbour."""
    raw = text[start:end]
    spans: list[tuple[int, int]] = []
    begin = 0
    for stop in _sentence_ends(raw):
        while begin < stop and raw[begin].isspace():
            begin += 1
        if begin < stop:
            spans.append((start + begin, start + stop))
        begin = stop
    if len(spans) > 1 and _LEAD_LABEL.match(text[spans[0][0] : spans[0][1]]):
        spans = spans[1:]  # `**Database version.** Correction ...`: the label is an inline heading
    while len(spans) > 1:
        short = next(
            (i for i, (a, b) in enumerate(spans) if _words(neutralise(text[a:b])) < MIN_WORDS),
            None,
        )
        if short is None:
            break
        if short == 0:
            spans[0:2] = [(spans[0][0], spans[1][1])]
        else:
            spans[short - 1 : short + 1] = [(spans[short - 1][0], spans[short][1])]
    return spans


class _Reader:
    """One pass over the lines of a source; `read` returns its units and its table rows."""

    def __init__(self, source: Converted) -> None:
        self.source = source
        self.text = source.text
        self.plain = source.format in ("text", "pdf")  # .txt rules: wraps, e-mail, CAPS headings
        self.units: list[Unit] = []
        self.rows: list[TableRow] = []
        self.heading = ""
        self.group: _Group | None = None
        self.table: _Table | None = None
        self.fence: str | None = None
        self.skip_to_blank = False  # after a sign-off: the name and title under it
        self.skip_signature = False  # after `-- `: up to the next message
        self.mail_header = False  # inside a message's From:/To:/Subject: block
        self.width = 0

    def read(self) -> tuple[list[Unit], list[TableRow]]:
        skip_to = _frontmatter_end(self.text) if self.source.format == "markdown" else 0
        lines = [line for line in _lines(self.text) if line.start >= skip_to]
        self.width = _wrap_width(lines) if self.plain else 0
        previous: _Line | None = None
        for index, line in enumerate(lines):
            following = lines[index + 1] if index + 1 < len(lines) else None
            if self.plain and self._title_line(line, previous, following):
                previous = line
                continue
            self._line(line, previous)
            previous = line
        self._close()
        return self.units, self.rows

    def _title_line(self, line: _Line, previous: _Line | None, following: _Line | None) -> bool:
        """In plain text, a short line alone between blank lines, without a sentence's final
        punctuation (`1. Actions from April`, `Why we moved`), is a heading."""
        raw = line.raw
        if self.fence is not None or self.group is not None or self.table is not None:
            return False
        if raw[:1].isspace() or not raw.strip() or self.skip_signature or self.skip_to_blank:
            return False
        if previous is not None and previous.raw.strip():
            return False
        if following is not None and following.raw.strip() and not _ITEM.match(following.raw):
            return False
        body = _CAPS_LEAD.sub("", raw, count=1).strip()
        if not body[:1].isupper() or body[-1:] in ".!?:;,)" or len(body) > 60:
            return False
        if (
            len(body.split()) > 8
            or _MAIL_HEADER.match(raw)
            or _SIGN_OFF.match(raw)
            or _TABLE.match(raw)
        ):
            return False
        self.heading = neutralise(raw)
        return True

    # -- one line -------------------------------------------------------------------------------

    def _line(self, line: _Line, previous: _Line | None) -> None:
        raw = line.raw
        if self._fenced(raw):
            return
        if not raw.strip():
            self._close()
            self.skip_to_blank = False
            self.mail_header = False
            return
        if self.plain and self._mail(line, previous):
            return
        if self._structure(line):
            return
        if _TABLE.match(raw):
            self._table_line(line)
            return
        if self.table is not None:
            self._close()
        self._text_line(line)

    def _fenced(self, raw: str) -> bool:
        match = _FENCE.match(raw)
        if self.fence is not None:
            if (
                match
                and match.group(1)[0] == self.fence[0]
                and len(match.group(1)) >= len(self.fence)
            ):
                self.fence = None
            return True
        if match:
            self._close()
            self.fence = match.group(1)
            return True
        return False

    def _mail(self, line: _Line, previous: _Line | None) -> bool:
        """E-mail structure in a plain-text source: True when the line is skipped."""
        raw = line.raw
        header = _MAIL_HEADER.match(raw)
        if header and (self.mail_header or header.group(1).lower() == "from"):
            self._close()
            self.mail_header = True
            self.skip_signature = False
            if header.group(1).lower() == "subject":
                self.heading = neutralise(raw[header.end() :])
            return True
        if self.mail_header and _MAIL_HEADER_CONT.match(raw):
            return True
        self.mail_header = False
        if self.skip_signature or self.skip_to_blank:
            if _BREAK.match(raw) or _WROTE.match(raw):
                self.skip_signature = False
            return True
        if raw.lstrip().startswith(">") or _WROTE.match(raw):
            self._close()
            return True
        if (
            previous is not None
            and previous.raw.lstrip().lower().startswith("on ")
            and _WROTE_TAIL.match(raw)
        ):
            self._drop_open_wrote(previous)
            return True
        if _SIG_DASH.match(raw):
            self._close()
            self.skip_signature = True
            return True
        if _SIGN_OFF.match(raw):
            self._close()
            self.skip_to_blank = True
            return True
        return False

    def _drop_open_wrote(self, previous: _Line) -> None:
        """`On <date>, <name>` wrapped before `wrote:`: the first half is no text either."""
        group = self.group
        if group is None or group.end < previous.start:
            return
        end = previous.start
        while end > group.start and self.text[end - 1].isspace():
            end -= 1
        if end <= group.start:
            self.group = None
            return
        group.end = end
        self._close()

    def _structure(self, line: _Line) -> bool:
        """Headings and breaks: True when the line is one (nothing of it is a unit)."""
        raw = line.raw
        if _HEADING.match(raw):
            self._close()
            self.heading = neutralise(raw)
            return True
        if _SETEXT.match(raw) and self._setext():
            return True
        if _BREAK.match(raw) or (_TABLE_SEP.match(raw) and self.table is not None):
            if self.table is not None and self.table.pending is not None:
                self.table.header = tuple(_cells(self.table.pending.raw))
                self.table.pending = None
                return True
            if self.table is None:
                self._close()
            return True
        if self.plain and self.group is None and not raw[:1].isspace() and _is_caps_heading(raw):
            self._close()
            self.heading = neutralise(raw)
            return True
        return False

    def _setext(self) -> bool:
        """An underline under a one-line paragraph makes that line a heading."""
        group = self.group
        if group is None or group.item or group.start != group.last.start:
            return False
        self.heading = neutralise(self.text[group.start : group.end])
        self.group = None
        return True

    def _table_line(self, line: _Line) -> None:
        if self.table is None:
            self._close()
            self.table = _Table(pending=line)
            return
        if self.table.pending is not None:
            self.table.rows.append(self.table.pending)
            self.table.pending = None
        self.table.rows.append(line)

    def _text_line(self, line: _Line) -> None:
        raw = line.raw
        item = _ITEM.match(raw) or _CLAUSE.match(raw)
        if item:
            self._close()
            content = line.start + item.end()
            self.group = _Group(content, line.end, True, line, self.heading)
            return
        group = self.group
        if group is not None and self._continues(group, line):
            group.end = line.end
            group.last = line
            return
        self._close()
        starts = line.start + (len(raw) - len(raw.lstrip()))
        field = _is_field_line(raw)
        self.group = _Group(starts, line.end, field, line, self.heading, field)

    def _continues(self, group: _Group, line: _Line) -> bool:
        raw = line.raw
        prev = group.last.raw.rstrip()
        if _TIMELINE.match(raw) or (_is_field_line(raw) and (prev[-1:] in ".!?:;" or group.field)):
            return False
        if not self.plain:
            return not _HARD_BREAK.search(group.last.raw)
        if group.item and raw[:1].isspace():
            return True
        first_word = raw.split()[0]
        return len(prev) + 1 + len(first_word) > self.width

    # -- closing a block ------------------------------------------------------------------------

    def _close(self) -> None:
        if self.group is not None:
            self._emit_group(self.group)
            self.group = None
        if self.table is not None:
            table = self.table
            self.table = None
            if table.pending is not None:
                table.rows.append(table.pending)
            for row in table.rows:
                self._emit_row(row, table.header)

    def _emit_group(self, group: _Group) -> None:
        pieces = _pieces(self.text, group.start, group.end)
        kind: FactKind = "item" if group.item and len(pieces) == 1 else "sentence"
        for start, end in pieces:
            text = neutralise(self.text[start:end])
            words = _words(text)
            if words < MIN_WORDS or words > MAX_WORDS or len(text) > MAX_CHARS:
                continue
            if not _LETTER.search(text):
                continue
            self.units.append(Unit(start, end, kind, text, group.heading))

    def _emit_row(self, line: _Line, header: tuple[str, ...]) -> None:
        if _TABLE_SEP.match(line.raw):
            return
        cells = tuple(_cells(line.raw))
        plain = _SPACE.sub(" ", " | ".join(cells)).strip()
        if (
            _words(plain) < _ROW_MIN_WORDS
            or not _LETTER.search(plain)
            or len(plain) > 4 * MAX_CHARS
        ):
            return
        start = line.start + (len(line.raw) - len(line.raw.lstrip()))
        unit = Unit(start, line.end, "row", _row_text(cells, header, plain), self.heading)
        self.units.append(unit)
        self.rows.append(TableRow(unit, cells, header))


# -- a row's text ------------------------------------------------------------------------------


def _labelled(label: str, value: str) -> str:
    """`label: value`, without a second colon when the label already ends with one (emphasis
    around it included: `**Owner:**`)."""
    label = label.rstrip()
    if not label:
        return value
    return f"{label} {value}" if label.rstrip("*_").endswith(":") else f"{label}: {value}"


def _generic_value_header(cell: str) -> bool:
    """`Value`, `**Details**`, `Notes:`: a second column's header that names no attribute."""
    bare = cell.strip().rstrip(":").strip("*_ ").strip().casefold()
    return not bare or bare in _GENERIC_VALUE_HEADERS


def _row_text(cells: tuple[str, ...], header: tuple[str, ...], plain: str) -> str:
    """A row's unit text from its neutralised cells and header (see the module docstring);
    `plain` is the cells joined with ` | `, the headerless form of three or more columns."""
    has_header = any(header)
    columns = max(len(cells), len(header))
    if columns == 2 and len(cells) <= 2:
        key = cells[0] if cells else ""
        value = cells[1] if len(cells) > 1 else ""
        attribute = header[1] if has_header and len(header) > 1 else ""
        if _generic_value_header(attribute):
            attribute = ""
        if not value:
            return key
        shown = _labelled(attribute, value)
        if not key:
            return shown
        return f"{key} — {shown}" if attribute else _labelled(key, value)
    if not has_header:
        return plain
    parts = [
        _labelled(header[i] if i < len(header) else "", cell)
        for i, cell in enumerate(cells)
        if cell
    ]
    return _SPACE.sub(" ", "; ".join(parts)).strip()
