"""The values a fact states, typed and normalised so that two facts' values can be compared.

`values(text)` reads every value in a fact's text, in order and without overlaps, as a `Value`:
its kind, its span, the text as written, and a normalised form — a magnitude in base units, a
date, a version tuple or a truth — with the bound it is stated with. `polarity(text)` says whether
the sentence asserts or denies. `same_value(a, b)` and `compatible(a, b)` compare two values:
True, False, or None when they cannot be compared (different kinds, dimensions, products, counted
things). Everything is a pure function of the text: no clock, no locale, no network, no model.

**Conservative by rule.** A value that is not understood is skipped, never guessed: an
ambiguous unit (`5m`: metres, minutes or millions? `bps`: basis points or bits? `Gb`, `cents`,
`pounds`) skips its number, and so do `08/10/2024` (day or month first?), a month without a
day, a quarter, a fiscal year, ordinals, fractions and ratios, IP addresses, document labels
(`section 4.2`, `step 3`, `#123`), and numbers glued to letters (`3DS2`, `SHA-256`, `p99`, `2x`).
A false "different" makes a false conflict, which costs a person's attention; a missed value
only misses one. The same preference decides every case below.

**Kinds and their normal forms** (`unit` is the key two values must share to be compared):

- `quantity`: a magnitude in base units — seconds (`unit="s"`), bytes (`"B"`, decimal `KB`/`kB`
  = 1000 and binary `KiB` = 1024 kept distinct, bits are 1/8 B), metres, watts, watt-hours,
  grams (`kg`, `tonnes`; a bare `t` is not read, nor the ambiguous `ton`), degrees Celsius
  (°F converted), hertz (kept apart from event rates), and business/working days
  (`"business day"`, never mixed with calendar days). A rate divides by seconds: `"B/s"` for data
  rates (`50 MB/s`, `1 Gbps`), `"1/s"` for events (`500 requests per second`, `500 req/s`,
  `10,000 transactions a day`, `twice a day`, `TPS`), `"s/s"` for time per time. A calendar month
  is 365.25/12 = 30.4375 days and a year 365.25 days, with a `margin` (± base units) that covers
  a real month's 28 to 31 days and a year's 365 or 366, so `1 month` is the same as `30 days`
  and `12 months` the same as `1 year`, but not `45 days`. Compound durations add up
  (`1 hour 30 minutes`, `1h30`, `an hour and a half`); written ones are read (`a fortnight`,
  `half an hour`, `a quarter of an hour`, `one and a half hours`).
- `count`: a number of things: the counted noun, singularised, is the unit (`three replicas` and
  `3 replica` share `"replica"`; `5 brokers` and `5 replicas` are not comparable). The noun is
  the first plural word within three words before a function word (`three synchronous
  replicas`, `two availability zones`), or, for one thing, the first word after an adjective
  (`one primary database`). A bare number written in digits is a count with `unit=None`,
  comparable only with another bare number (`2,000` and `2000`). A bare number written in words
  is skipped (`one of`, `the two`), and so is one joined by a hyphen to a word that is not a unit
  (`two-factor`, `one-time`; `3-node` and `30-day` are read), as is a bare 4-digit number from
  1900 to 2099 (a year) unless a bound is written before it (`up to 2000`). Written numbers: `zero` to `nineteen`, the tens,
  `hundred`/`thousand`/`million`/`billion`, `a dozen`, `half a million`, `twenty-four`, `one
  hundred and five`. Scales: `4.1 million`, `2.3M`, `10k`, `1.5bn`.
- `percent`: 0 to 100 with `unit="%"` (`99.95%`, `95 percent`, `25 basis points` = 0.25%), or
  `"pp"` for percentage points. A "per month" after a percentage qualifies it and is not a rate.
- `money`: minor units of an ISO currency (`£0.62` = `62p` = 62 GBP minor units; `€2.3M`;
  `USD 12`; `12 EUR`; `78 pence`). `$` alone is USD (`A$`, `C$`, `NZ$`, `HK$`, `S$` are theirs).
  Per time, money is a rate (`"GBP/s"`: `£5 a month` equals `£60 a year`).
- `date`: a calendar day, in the forms of `companion.ingest.dates` (`2024-10-08` or with `/`,
  `8 October 2024`, `8th of Oct. 2024`, `October 8, 2024`; a dotted `2024.10.08` is skipped, a
  date or a calendar version), optionally after a weekday, which must agree (`Saturday 11 October 2025`; a wrong weekday skips the date: which half is the typo?). A
  date must name its day: `October 2024`, `Q1 2025`, `FY2025`, `2024-25`, `8 October` and
  `mid-2025` are skipped, not made into a first of the month or a range (the same rule as the
  source date's).
- `time`: a time of day in seconds after midnight (`03:00`, `06:05:30`, `3 pm`, `0300 UTC` —
  four digits only before a zone or "hours" —, `noon`, `midnight`; `1:30 hours` is skipped). A fixed zone converts to UTC and sets `unit="UTC"` (`UTC`, `GMT`, `Z`,
  `UTC+2`, `+01:00`, and zones of one fixed offset: `BST`, `CET`, `CEST`, `EST`, `PDT`, …), so
  `04:00 BST` is the same as `03:00 UTC`. A zone whose offset depends on the date (`ET`, `PT`,
  `UK time`) is kept as its label and compares only with the same label; no zone at all is
  `unit=None`, comparable only with another time written without one. Midnight wrap-around in
  bounds is not modelled.
- `version`: a tuple of integers, its `unit` the product it is a version of, lower-cased
  (`PostgreSQL 15` -> `"postgresql"`, `(15,)`; `vSphere 8.0 U2` -> `(8, 0, 2)`; `SQL Server
  2019` -> `"sql server"`, `(2019,)`; `TLS 1.2+` -> bound `ge`). The rule: a number right after
  one to four product words — words with a capital letter that are not function words, months,
  weekdays, units or number words (`Windows 11`, `PCI DSS 4.0`, `Node.js 20`) — or after `v`
  (`v4.2`), or after `version`/`release`, is a version, **even a 4-digit year**; a year after a
  lower-case or function word (`in 2019`, `since 2024`) is not. A number followed by a unit is
  a quantity whatever precedes it (`Retention 30 days`). Classification labels are products
  even in lower case (`tier 1`, `level 2`, `priority 1`, `phase 2`). Products compare when their
  words are equal or one ends the other (`Microsoft SQL Server` and `SQL Server`). A dotted
  number of three or more parts with no product (`1.25.3`) is skipped. `14 to 15` after a
  product continues its versions. `15` is compatible with `15.7` (a 15.x), and `4.2` is the same
  as `4.2.0`.
- `boolean`: `enabled`/`disabled`, `supported`/`unsupported` anywhere; `yes`/`no`/`true`/`false`/
  `on`/`off` as a whole table cell, a whole text, or after a final colon (`Replication: yes`).
  `truth` is the word's truth, turned over when the sentence denies (`is not enabled` is False).

**Bounds** are read from the words just before the value (the longest phrase wins, so `no more
than` is `le`, not `gt`) or just after it: `le` (at most, up to, no more than, maximum of,
within, capped at, not exceeding, never exceeds, `≤`, or less, or earlier, at the latest), `lt`
(less than, fewer than, under, below, `<`), `ge` (at least, no less than, minimum of, `≥`, or
more, or later, `15+`), `gt` (more than, over, above, exceeding, in excess of, `>`), `approx`
(about, around, approximately, roughly, nearly, circa, `~`). For dates and times also `by`,
`until`, `no later than` (`le`), `before`, `prior to` (`lt`), `on or after`, `not before`
(`ge`), `after` (`gt`). A range gives two values, the first `ge` and the second `le`
(`2–4 hours`, `between 01:00 and 03:00 UTC`, `£5–£10`, `3 to 5 nodes`): each half is true of
the range, so comparing halves can only miss a conflict, never invent one. The span of a value
is the value itself (`4.1 million`), not its bound words.

**Comparing.** `same_value` is True when both say the same thing: the same kind and unit, equal
normal forms (within a margin's reach, floats to a relative 1e-9), and the same bound (`approx`
counts as `eq`). `compatible` asks whether both can be true: each value is an interval (`eq` a
point, or its margin; `le` everything up to it; `approx` ±10% of a magnitude, ±7 days of a date,
±30 minutes of a time; a version `15` is [15, 16)), and they are compatible when the intervals
meet. Booleans compare truths.

**Markup** is not read: wikilinks (a citation's `[[wiki/sources/ledger-2024-10-08]]` holds no
date of the fact), a markdown link's destination, URLs, `%% comments %%`, block ids and footnote
marks are blanked before scanning (offsets are kept); links are found with
`companion.markdown.scan`, the vault's own link rules.

**Why our own tables and patterns, not a library** — measured on this machine (Python 3.11,
a scratch virtualenv; the thirteen sentences are of the kinds above):

- `pint` 0.25: import and `UnitRegistry()` 193 ms; 0.09 ms a conversion; it knows no
  "requests", reads `a fortnight` as second² (the "a" is a unit, the year), has no currencies,
  and parses only a bare quantity, not a sentence.
- `quantulum3` 0.10: import 16 ms but 1,438 ms for the first parse (it loads its classifier),
  then 1.5 ms a sentence; it reads `90 minutes` as an angle ("minute of arc"), `500 requests
  per second` as a plain 500, `PostgreSQL 15 since 8 October 2024` as three numbers, and
  `03:00` as 3 and 0.
- `dateparser` 1.5: `dateparser.search` import 94 ms, first search 93 ms, 0.8 ms a sentence; it
  finds `may` (the verb) as this May, `95%` as 1995 and `14 days before` as a day relative to
  today: a different answer on another day.
- `python-dateutil` 4.0 (`parse(fuzzy=True)`, 24 ms import): `PostgreSQL 15 since 8 October
  2024` -> 2015-10-08 20:24; `may submit at most 500` -> the year 500.
- `word2number` 1.1 (0.6 ms): reads `three` and `two hundred and five`, fails on `a dozen`,
  `a fortnight`, and cannot say where in a sentence the number was.

So: the standard library only — `re`, and `decimal` for exact scaling (`1.2 PB` is exactly
`1,200 TB`, never 1.2000000000000002e15). Its own cost, measured the same way (`-X importtime`,
bytecode cached): importing it takes 13.5 ms, 3.5 ms of it its own and the rest `dataclasses`
and the `companion` package, because no pattern is compiled at import (`_Lazy`: the ~90
patterns would add ~15 ms) and `companion.markdown.scan` is imported only by the first text that
holds a `[`, `%` or `^`. The first call pays ~20 ms for both, once; then `values` takes 0.14 ms
for a fact sentence (3,450 calls over 69 sentences of the kinds above) and grows linearly (73 KB
of text in 187 ms, 292 KB in 774 ms).
"""

from __future__ import annotations

import datetime
import math
import re
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from itertools import pairwise
from typing import Literal


class _Lazy:
    """A regular expression compiled on its first use. This module's ~90 patterns take ~15 ms to
    compile; importing it compiles none of them."""

    __slots__ = ("_compiled", "_flags", "_source")

    def __init__(self, source: str, flags: int = 0) -> None:
        self._source = source
        self._flags = flags
        self._compiled: re.Pattern[str] | None = None

    @property
    def compiled(self) -> re.Pattern[str]:
        if self._compiled is None:  # two threads may both compile: the same pattern either way
            self._compiled = re.compile(self._source, self._flags)
        return self._compiled

    def match(self, string: str, pos: int = 0, endpos: int = sys.maxsize) -> re.Match[str] | None:
        return self.compiled.match(string, pos, endpos)

    def search(self, string: str, pos: int = 0, endpos: int = sys.maxsize) -> re.Match[str] | None:
        return self.compiled.search(string, pos, endpos)

    def finditer(self, string: str) -> Iterator[re.Match[str]]:
        return self.compiled.finditer(string)

    def sub(self, repl: Callable[[re.Match[str]], str], string: str) -> str:
        return self.compiled.sub(repl, string)


Kind = Literal["quantity", "date", "version", "boolean", "count", "percent", "money", "time"]
Bound = Literal["eq", "le", "lt", "ge", "gt", "approx"]


@dataclass(frozen=True, slots=True)
class Value:
    """One value as a fact states it (see the module docstring for each kind's normal form).

    `start`/`end` are offsets into the text it was read from, so `text[start:end] == raw`.
    `magnitude` is in base units (seconds, bytes, requests/second, metres, minor units of money,
    0-100 for percents, a count, seconds after midnight for a time); `margin` says how far the
    true magnitude may be from it (calendar months and years), in the same units.
    """

    kind: Kind
    start: int
    end: int
    raw: str
    magnitude: float | None = None
    unit: str | None = None
    date: datetime.date | None = None
    version: tuple[int, ...] | None = None
    truth: bool | None = None
    bound: Bound = "eq"
    margin: float = 0.0


_ZERO = Decimal(0)
_ONE = Decimal(1)
_DAY = Decimal(86400)
_MONTH = Decimal("30.4375") * _DAY  # 365.25 / 12 days
_MONTH_MARGIN = Decimal("2.4375") * _DAY  # reaches down to 28 days (and up to 32.9)
_YEAR = Decimal("365.25") * _DAY
_YEAR_MARGIN = Decimal("0.75") * _DAY  # 364.5 to 366 days
_REL = 1e-9  # float noise: two magnitudes this close (relatively) are equal
_APPROX = 0.10  # "about 4.1 million" reaches ±10%


@dataclass(frozen=True, slots=True)
class _Unit:
    kind: Kind
    key: str
    factor: Decimal
    margin: Decimal = _ZERO  # ± base units per unit: calendar months and years
    offset: Decimal = _ZERO  # added after the factor: °F to °C
    duration: bool = False  # a unit of time: compounds, "and a half", "a/an" for one


def _table() -> tuple[dict[str, _Unit], dict[str, _Unit]]:
    """Words (matched case-insensitively) and symbols (case-sensitively) -> unit."""
    words: dict[str, _Unit] = {}
    symbols: dict[str, _Unit] = {}

    def add(into: dict[str, _Unit], forms: str, unit: _Unit) -> None:
        for form in forms.split("|"):
            into[form] = unit

    def dur(factor: Decimal | int, margin: Decimal = _ZERO) -> _Unit:
        return _Unit("quantity", "s", Decimal(factor), margin, duration=True)

    add(words, "nanosecond|nanoseconds", dur(Decimal("1e-9")))
    add(words, "microsecond|microseconds", dur(Decimal("1e-6")))
    add(words, "millisecond|milliseconds|msec|msecs", dur(Decimal("0.001")))
    add(words, "second|seconds|sec|secs", dur(1))
    add(words, "minute|minutes|min|mins", dur(60))
    add(words, "hour|hours|hr|hrs", dur(3600))
    add(words, "day|days", dur(_DAY))
    add(words, "week|weeks|wk|wks", dur(7 * _DAY))
    add(words, "fortnight|fortnights", dur(14 * _DAY))
    add(words, "month|months", dur(_MONTH, _MONTH_MARGIN))
    add(words, "year|years|yr|yrs", dur(_YEAR, _YEAR_MARGIN))
    add(symbols, "ns", dur(Decimal("1e-9")))
    add(symbols, "µs|μs", dur(Decimal("1e-6")))
    add(symbols, "ms", dur(Decimal("0.001")))
    add(symbols, "s", dur(1))
    add(symbols, "h", dur(3600))
    add(symbols, "d", dur(_DAY))
    business = _Unit("quantity", "business day", _ONE)
    add(words, "business day|business days|working day|working days", business)

    byte = Decimal(1)
    for prefix, power in (("k", 1), ("m", 2), ("g", 3), ("t", 4), ("p", 5), ("e", 6)):
        dec = Decimal(1000) ** power
        binary = Decimal(1024) ** power
        name = {"k": "kilo", "m": "mega", "g": "giga", "t": "tera", "p": "peta", "e": "exa"}[prefix]
        bname = {"k": "kibi", "m": "mebi", "g": "gibi", "t": "tebi", "p": "pebi", "e": "exbi"}[
            prefix
        ]
        up = prefix.upper()
        add(words, f"{name}byte|{name}bytes", _Unit("quantity", "B", dec))
        add(words, f"{bname}byte|{bname}bytes", _Unit("quantity", "B", binary))
        add(words, f"{name}bit|{name}bits", _Unit("quantity", "B", dec / 8))
        add(symbols, f"{up}B", _Unit("quantity", "B", dec))
        add(symbols, f"{up}iB", _Unit("quantity", "B", binary))
        add(symbols, f"{up}bit", _Unit("quantity", "B", dec / 8))
        add(symbols, f"{up}bps|{up}bit/s", _Unit("quantity", "B/s", dec / 8))
        add(symbols, f"{up}Bps", _Unit("quantity", "B/s", dec))
    add(symbols, "kB", _Unit("quantity", "B", Decimal(1000)))
    add(symbols, "kbit", _Unit("quantity", "B", Decimal(125)))
    add(symbols, "kbps|kbit/s", _Unit("quantity", "B/s", Decimal(125)))
    add(symbols, "kBps", _Unit("quantity", "B/s", Decimal(1000)))
    add(words, "byte|bytes", _Unit("quantity", "B", byte))
    add(words, "bit|bits", _Unit("quantity", "B", byte / 8))
    add(symbols, "B", _Unit("quantity", "B", byte))

    add(symbols, "tps|TPS|rps|RPS|qps|QPS", _Unit("quantity", "1/s", _ONE))
    add(symbols, "Hz", _Unit("quantity", "Hz", _ONE))
    add(symbols, "kHz", _Unit("quantity", "Hz", Decimal(1000)))
    add(symbols, "MHz", _Unit("quantity", "Hz", Decimal(10) ** 6))
    add(symbols, "GHz", _Unit("quantity", "Hz", Decimal(10) ** 9))
    add(words, "hertz", _Unit("quantity", "Hz", _ONE))

    add(words, "metre|metres|meter|meters", _Unit("quantity", "m", _ONE))
    add(words, "kilometre|kilometres|kilometer|kilometers", _Unit("quantity", "m", Decimal(1000)))
    add(
        words,
        "centimetre|centimetres|centimeter|centimeters",
        _Unit("quantity", "m", Decimal("0.01")),
    )
    add(
        words,
        "millimetre|millimetres|millimeter|millimeters",
        _Unit("quantity", "m", Decimal("0.001")),
    )
    add(words, "mile|miles", _Unit("quantity", "m", Decimal("1609.344")))
    add(words, "gram|grams|gramme|grammes", _Unit("quantity", "g", _ONE))
    add(words, "kilogram|kilograms|kilo|kilos", _Unit("quantity", "g", Decimal(1000)))
    add(words, "tonne|tonnes|metric ton|metric tons", _Unit("quantity", "g", Decimal(10) ** 6))
    add(symbols, "kg", _Unit("quantity", "g", Decimal(1000)))
    add(symbols, "g", _Unit("quantity", "g", _ONE))
    add(symbols, "mg", _Unit("quantity", "g", Decimal("0.001")))
    add(symbols, "km", _Unit("quantity", "m", Decimal(1000)))
    add(symbols, "cm", _Unit("quantity", "m", Decimal("0.01")))
    add(symbols, "mm", _Unit("quantity", "m", Decimal("0.001")))

    for prefix, factor in (
        ("", _ONE),
        ("k", Decimal(10) ** 3),
        ("M", Decimal(10) ** 6),
        ("G", Decimal(10) ** 9),
    ):
        add(symbols, f"{prefix}W", _Unit("quantity", "W", factor))
        add(symbols, f"{prefix}Wh", _Unit("quantity", "Wh", factor))
    add(words, "watt|watts", _Unit("quantity", "W", _ONE))
    add(words, "kilowatt|kilowatts", _Unit("quantity", "W", Decimal(1000)))
    add(words, "megawatt|megawatts", _Unit("quantity", "W", Decimal(10) ** 6))
    add(
        words,
        "kilowatt-hour|kilowatt-hours|kilowatt hour|kilowatt hours",
        _Unit("quantity", "Wh", Decimal(1000)),
    )

    celsius = _Unit("quantity", "°C", _ONE)
    fahrenheit = _Unit("quantity", "°C", Decimal(5) / Decimal(9), offset=Decimal(-160) / Decimal(9))
    add(symbols, "°C|ºC|° C", celsius)
    add(symbols, "°F|ºF|° F", fahrenheit)
    add(words, "degrees celsius|degrees centigrade|degrees c", celsius)
    add(words, "degrees fahrenheit|degrees f", fahrenheit)

    add(symbols, "%", _Unit("percent", "%", _ONE))
    add(words, "percent|per cent|pct", _Unit("percent", "%", _ONE))
    add(words, "basis point|basis points", _Unit("percent", "%", Decimal("0.01")))
    add(symbols, "bp", _Unit("percent", "%", Decimal("0.01")))
    add(words, "percentage point|percentage points", _Unit("percent", "pp", _ONE))
    add(symbols, "pp", _Unit("percent", "pp", _ONE))

    for code, minor in _CURRENCIES.items():
        add(symbols, code, _Unit("money", code, Decimal(10) ** minor))
    add(words, "pence|penny", _Unit("money", "GBP", _ONE))
    add(symbols, "p", _Unit("money", "GBP", _ONE))
    add(words, "pounds sterling|sterling", _Unit("money", "GBP", Decimal(100)))
    add(words, "euro|euros", _Unit("money", "EUR", Decimal(100)))
    add(words, "us dollars|us dollar|dollars|dollar", _Unit("money", "USD", Decimal(100)))
    return words, symbols


# ISO code -> digits of its minor unit.
_CURRENCIES = {
    "GBP": 2, "EUR": 2, "USD": 2, "CHF": 2, "JPY": 0, "CAD": 2, "AUD": 2, "NZD": 2,
    "SEK": 2, "NOK": 2, "DKK": 2, "PLN": 2, "CZK": 2, "HUF": 2, "INR": 2, "SGD": 2, "HKD": 2,
}  # fmt: skip
_SYMBOLS = {"£": "GBP", "€": "EUR", "$": "USD", "US$": "USD", "A$": "AUD", "AU$": "AUD",
            "C$": "CAD", "CA$": "CAD", "NZ$": "NZD", "HK$": "HKD", "S$": "SGD"}  # fmt: skip
_WORD_UNITS, _SYMBOL_UNITS = _table()
# Units that only count glued to their number ("78p", never "78 p").
_ATTACHED_ONLY = frozenset({"p", "d"})
# After a number these make it unreadable: skip the number, do not guess.
_AMBIGUOUS = frozenset({"m", "c", "bps", "Gb", "Mb", "Kb", "kb", "gb", "mb", "x", "X"})
_AMBIGUOUS_WORDS = frozenset({"cent", "cents", "pound", "pounds", "lb", "lbs", "point", "points"})


def _alternation(forms: list[str]) -> str:
    """One alternation of literal forms, longest first (a space matches any run of blanks)."""
    return "|".join(
        re.escape(f).replace(r"\ ", r"[ \t]+") for f in sorted(forms, key=len, reverse=True)
    )


_WORD_UNIT_RE = _Lazy(rf"(?:{_alternation(list(_WORD_UNITS))})(?![\w])", re.I)
_SYMBOL_UNIT_RE = _Lazy(rf"(?:{_alternation(list(_SYMBOL_UNITS) + list(_AMBIGUOUS))})(?![\w])")
_AMBIGUOUS_WORD_RE = _Lazy(rf"(?:{'|'.join(_AMBIGUOUS_WORDS)})(?![\w])", re.I)

_ONES = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13,
    "fourteen": 14, "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18,
    "nineteen": 19,
}  # fmt: skip
_TENS = {"twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70,
         "eighty": 80, "ninety": 90}  # fmt: skip
_BIG = {"thousand": 10**3, "million": 10**6, "billion": 10**9, "trillion": 10**12}
_TIMES_WORDS = {"once": 1, "twice": 2, "thrice": 3}
_NUMBER_WORDS = frozenset(
    [*_ONES, *_TENS, *_BIG, *_TIMES_WORDS, "hundred", "dozen", "half", "quarter", "quarters"]
)
_SCALES_ATTACHED = {"k": 10**3, "K": 10**3, "M": 10**6, "mn": 10**6, "bn": 10**9, "tn": 10**12}
_SCALES_SPACED = {"thousand": 10**3, "million": 10**6, "mn": 10**6, "billion": 10**9,
                  "bn": 10**9, "trillion": 10**12, "tn": 10**12}  # fmt: skip
_SCALES_MONEY = {"m": 10**6, "b": 10**9, "B": 10**9}  # only after a currency: "£2.3m", "$1B"

_MONTHS = {
    name: number
    for number, names in enumerate(
        (
            ("january", "jan"), ("february", "feb"), ("march", "mar"), ("april", "apr"),
            ("may",), ("june", "jun"), ("july", "jul"), ("august", "aug"),
            ("september", "sept", "sep"), ("october", "oct"), ("november", "nov"),
            ("december", "dec"),
        ),
        start=1,
    )
    for name in names
}  # fmt: skip
_WEEKDAYS = {
    name: number
    for number, names in enumerate(
        (
            ("monday", "mon"), ("tuesday", "tue", "tues"), ("wednesday", "wed"),
            ("thursday", "thu", "thur", "thurs"), ("friday", "fri"), ("saturday", "sat"),
            ("sunday", "sun"),
        )
    )
    for name in names
}  # fmt: skip

# Words that end a counted noun phrase, and that are never a product's name or a counted thing.
_STOP = frozenset(
    """a an the and or nor but of to in on at by for from with within without into onto over under
    above below up down out off via per each every all any some both either neither no not this
    that these those which who whom whose what when where while whereas if then than as so such
    is are was were be been being am has have had having do does did will would shall should can
    could may might must it its they them their there here we our you your he she his her i me my
    more less fewer most least much many few several other others another same only also just
    even still yet already again about around approximately roughly nearly almost circa some
    after before since until till during through across between among against toward towards
    max min maximum minimum total overall respectively ago later earlier older newer higher lower
    or more per cent percent plus minus vs versus etc ie eg""".split()  # noqa: SIM905 - a word list reads best as words
)
_ADJECTIVES = frozenset(
    """single additional extra new dedicated separate shared active passive standby synchronous
    asynchronous hot warm cold read write physical virtual regional global local remote primary
    secondary spare redundant independent internal external public private""".split()  # noqa: SIM905 - a word list reads best as words
)
# Document parts and references: the number names a place in a document, not a value.
_LABEL_RE = _Lazy(
    r"(?<![\w])(?:section|sect\.|§|table|figure|fig\.|page|pages|p\.|pp\.|chapter|ch\.|appendix"
    r"|annex|step|item|article|art\.|clause|paragraph|para\.|line|slide|exhibit|ticket"
    r"|incident|no\.|nr\.|number|ref\.?|rev\.?)[ \t]*#?\d+(?:\.\d+)*[a-z]?(?![\w])",
    re.I,
)
# Classification labels read as products even in lower case: "tier 1" is a version of "tier".
_CLASS_LABELS = frozenset(
    "tier level priority severity sev phase stage class grade category cat".split()  # noqa: SIM905
)
_VERSION_WORDS = frozenset({"version", "versions", "release", "releases", "ver", "ver."})
_EXCLUDED_PRODUCT = (
    _STOP | frozenset(_MONTHS) | frozenset(_WEEKDAYS) | _NUMBER_WORDS | frozenset(_WORD_UNITS)
    | frozenset({"q1", "q2", "q3", "q4", "h1", "h2", "fy", "cy", "no", "yes", "true", "false",
                 "limit", "limits", "retention", "timeout", "ttl", "sla", "rto", "rpo", "up",
                 "from", "since", "version", "versions", "release", "releases", "ver", "ver."})
)  # fmt: skip

_MONTH_ALT = "(?:" + "|".join(sorted(_MONTHS, key=len, reverse=True)) + r")\b\.?"
_MONTH_CAP = (
    "(?-i:" + "|".join(sorted((m.capitalize() for m in _MONTHS), key=len, reverse=True)) + r")\b\.?"
)
_WEEKDAY_ALT = "(?:" + "|".join(sorted(_WEEKDAYS, key=len, reverse=True)) + r")\b\.?"
_ORD = r"(?:st|nd|rd|th)?"
_DATE_RE = _Lazy(
    rf"(?<![\w.-])(?P<iy>\d{{4}})(?P<sep>[-/])(?P<im>\d{{1,2}})(?P=sep)(?P<id>\d{{1,2}})(?![\d]|(?P=sep)\d|\.\d)"
    rf"|(?:(?P<w1>{_WEEKDAY_ALT}),?[ \t]+(?:the[ \t]+)?)?(?<![\w.,])(?P<dd>\d{{1,2}}){_ORD}[ \t]+(?:of[ \t]+)?(?P<dm>{_MONTH_ALT}),?[ \t]+(?P<dy>\d{{4}})(?![\w])"
    rf"|(?:(?P<w2>{_WEEKDAY_ALT}),?[ \t]+)?\b(?P<mm>{_MONTH_ALT})[ \t]+(?P<md>\d{{1,2}}){_ORD},?[ \t]+(?P<my>\d{{4}})(?![\w])",
    re.I,
)
_YEARLIKE = r"(?:19|20)\d{2}"
# Date-like forms that name no single day: claimed so their numbers are read as nothing.
_NO_DAY = [
    _Lazy(p, re.I)
    for p in (
        rf"(?<![\w.])(?:{_WEEKDAY_ALT},?[ \t]+)?(?:the[ \t]+)?\d{{1,2}}{_ORD}[ \t]*(?:-|–|—|to|and)[ \t]*\d{{1,2}}{_ORD}[ \t]+(?:of[ \t]+)?{_MONTH_ALT}(?:,?[ \t]+\d{{4}})?",
        rf"\b{_MONTH_ALT}[ \t]+\d{{1,2}}{_ORD}[ \t]*(?:-|–|—|to|and)[ \t]*\d{{1,2}}{_ORD}(?:,?[ \t]+\d{{4}})?(?![\w])",
        r"(?<![\w.,/-])\d{1,2}[/.-]\d{1,2}[/.-](?:\d{4}|\d{2})(?![\w/-]|\.\d)",
        r"(?<![\w.])\d{4}\.\d{1,2}\.\d{1,2}(?![\d.])",
        rf"(?<![\w.-]){_YEARLIKE}[ \t]*[-–—/][ \t]*(?:{_YEARLIKE}|\d{{2}})(?![\w.-])",
        rf"(?<![\w.]){_YEARLIKE}[ \t]*[-/ ]?[ \t]*[QH][1-4](?![\w])",
        rf"(?<![\w.-]){_YEARLIKE}-(?:0[1-9]|1[0-2])(?![\w-])",
        rf"(?<![\w.])(?:{_WEEKDAY_ALT},?[ \t]+)?(?:the[ \t]+)?\d{{1,2}}{_ORD}[ \t]+(?:of[ \t]+)?{_MONTH_CAP}",
        rf"\b{_MONTH_CAP}[ \t]+\d{{1,2}}{_ORD}(?![\w.,]|\.\d|,?[ \t]*\d)",
        rf"\b{_MONTH_CAP},?[ \t]+(?:of[ \t]+)?\d{{4}}(?![\w])",
        r"\b(?:[QH][1-4]|FY|CY)[ \t]*[-/]?[ \t]*'?(?:\d{4}|\d{2})(?![\w])",
        r"\b[QH][1-4](?![\w])",
        rf"\b(?:early|mid|late|end[ \t]+of|start[ \t]+of|beginning[ \t]+of)[- \t]+{_YEARLIKE}(?![\w])",
        r"(?<![\w])(?:19|20)\d0s\b|'\d0s\b",
    )
]

_TZ_FIXED = {
    "UTC": 0, "GMT": 0, "Z": 0, "WET": 0, "BST": 60, "WEST": 60, "CET": 60, "CEST": 120,
    "EET": 120, "EEST": 180, "MSK": 180, "GST": 240, "SGT": 480, "HKT": 480, "JST": 540,
    "AEST": 600, "AEDT": 660, "NZST": 720, "NZDT": 780, "EST": -300, "EDT": -240,
    "CDT": -300, "MST": -420, "MDT": -360, "PST": -480, "PDT": -420,
}  # fmt: skip
_TZ_LABELS = ("ET", "PT", "CT", "MT", "UK time", "London time", "local time", "IST", "CST")
_TIME_RE = _Lazy(
    r"(?:(?<=\dT)|(?<![\w:.]))(?:"
    r"(?P<h>[01]?\d|2[0-3]):(?P<m>[0-5]\d)(?::(?P<s>[0-5]\d))?(?:[ \t]?(?P<ap1>[apAP]\.?[mM]\.?)(?![\w]))?"
    r"|(?P<h2>1[0-2]|0?[1-9])(?::(?P<m2>[0-5]\d))?[ \t]?(?P<ap2>[apAP]\.?[mM]\.?)(?![\w])"
    r"|(?P<h3>[01]\d|2[0-3])(?P<m3>[0-5]\d)(?=[ \t]?(?:UTC|GMT|Z|hours|hrs)(?![\w]))"
    r"|(?P<word>noon|midday|midnight)(?![\w])"
    r")(?:(?P<zsp>[ \t]?)(?P<tz>UTC|GMT|Z)(?:[ \t]?(?P<off>[+\-−][ \t]?\d{1,2}(?::?\d{2})?))?(?![\w])"
    r"|(?<=:\d\d:\d\d)(?P<off2>[+\-−]\d{2}:?\d{2})(?![\w])"
    rf"|[ \t](?P<named>{'|'.join(sorted(_TZ_FIXED, key=len, reverse=True))})(?![\w])"
    rf"|[ \t](?P<label>{'|'.join(re.escape(z) for z in _TZ_LABELS)})(?![\w]))?",
)
_TIME_RANGE_SEP = _Lazy(r"[ \t]*(?:-|–|—|to|until|till)[ \t]*")
_TIME_AS_DURATION = _Lazy(r"[ \t]*(?:hours?|hrs?|h|minutes?|mins?)(?![\w])", re.I)

_SKIP_IDS = [
    _Lazy(r"(?<![\w.])\d{1,3}(?:\.\d{1,3}){3}(?:/\d{1,2})?(?![\w.]|\.\d)"),  # IP address
    _LABEL_RE,
    _Lazy(r"(?<![\w.])\d+(?:st|nd|rd|th)(?![\w])", re.I),  # ordinal
    _Lazy(r"(?<![\w./:])\d+(?:\.\d+)?(?:[/:]\d+(?:\.\d+)?)+(?![\w/:]|\.\d)"),  # 24/7, 3:1
    _Lazy(r"#\d+(?![\w])"),
    _Lazy(r"\b[Tt][ \t]?\+[ \t]?\d+(?![\w])"),  # settlement T+1
]

_START = _Lazy(
    r"(?<![\w$])(?:US|AU|CA|NZ|HK|A|C|S)?\$(?=[ \t]?\d)|[£€](?=[ \t]?\d)"
    rf"|\b(?:{'|'.join(_CURRENCIES)})(?=[ \t]?\d)"
    r"|(?<![\w.,/#§^+\-–:$£€])\d"
    r"|(?<![\w.])[vV](?=\d)"
    rf"|\b(?i:{'|'.join(sorted([*_ONES, *_TENS, *_TIMES_WORDS, 'a', 'an', 'half', 'quarter'], key=len, reverse=True))})\b"
)
_CURRENCY_PREFIX = _Lazy(
    rf"(?P<sym>(?:US|AU|CA|NZ|HK|A|C|S)?\$|[£€]|{'|'.join(_CURRENCIES)})[ \t]?(?=\d)"
)
_DIGITS = _Lazy(r"\d{1,3}(?:,\d{3})+(?:\.\d+)?(?![\d]|,\d)|\d+(?:\.\d+)*(?![\d]|,\d|:\d)")
_WORD = _Lazy(r"[A-Za-z]+")
_WORD_SEP = _Lazy(r"[ \t]+|-(?=[A-Za-z])")
_SPACES = _Lazy(r"[ \t]+")
_SPACE_OR_HYPHEN = _Lazy(r"[ \t]+|-(?=[A-Za-zµμ°%])|(?=[A-Za-zµμ°%])")
_SCALE_SPACED_RE = _Lazy(rf"[ \t]+(?:{'|'.join(_SCALES_SPACED)})(?![\w])", re.I)
_SCALE_ATTACHED_RE = _Lazy(
    rf"(?:{'|'.join(sorted(_SCALES_ATTACHED, key=len, reverse=True))})(?![\w])"
)
_SCALE_MONEY_RE = _Lazy(r"[ \t]?(?:m|b|B)(?![\w])")
_RANGE_SEP = _Lazy(r"[ \t]*(?:-|–|—)[ \t]*|[ \t]+to[ \t]+")
_BETWEEN_BEFORE = _Lazy(r"(?<![\w])between[ \t]+$", re.I)
_AND_SEP = _Lazy(r"[ \t]+and[ \t]+")
_AND_A_HALF = _Lazy(r"[ \t]+and[ \t]+a[ \t]+half(?![\w])", re.I)
_OF_ARTICLE = _Lazy(r"[ \t]+(?:of[ \t]+)?an?[ \t]+", re.I)
_COMPOUND_SEP = _Lazy(r",?[ \t]+(?:and[ \t]+)?|(?=\d)")
_PER_TIME = _Lazy(
    r"(?:[ \t]*/[ \t]?(?P<sym>s|sec|second|min|minute|h|hr|hour|d|day|wk|week|mo|month|yr|year)"
    r"|[ \t]+(?:per|an?|each|every)[ \t]+(?P<word>second|sec|minute|min|hour|hr|day|week|month|year|annum)"
    r"|[ \t]+(?P<pa>p\.a\.|per[ \t]+annum))"
    r"(?![\w])(?![ \t]+(?:ago|later|earlier|before|after|late|early|old)\b)",
    re.I,
)
_PER_SECONDS = {
    "s": (_ONE, _ZERO), "sec": (_ONE, _ZERO), "second": (_ONE, _ZERO),
    "min": (Decimal(60), _ZERO), "minute": (Decimal(60), _ZERO),
    "h": (Decimal(3600), _ZERO), "hr": (Decimal(3600), _ZERO), "hour": (Decimal(3600), _ZERO),
    "d": (_DAY, _ZERO), "day": (_DAY, _ZERO), "wk": (7 * _DAY, _ZERO), "week": (7 * _DAY, _ZERO),
    "mo": (_MONTH, _MONTH_MARGIN), "month": (_MONTH, _MONTH_MARGIN),
    "yr": (_YEAR, _YEAR_MARGIN), "year": (_YEAR, _YEAR_MARGIN), "annum": (_YEAR, _YEAR_MARGIN),
}  # fmt: skip
_NOUN_WORD = _Lazy(r"[A-Za-z][A-Za-z0-9'’]*(?:-[A-Za-z0-9]+)*")
_VERSION_SUFFIX = _Lazy(r"[ \t]+(?:U|Update[ \t]?|R)(\d+)(?![\w])")
_VERSION_CONT = _Lazy(
    r"[ \t]*(?:,|/|->|→|–|-)[ \t]*[vV]?(?=\d)|[ \t]+(?:or|and|to)[ \t]+[vV]?(?=\d)"
)
_PREV_WORD = _Lazy(r"([A-Za-z][\w.+#-]*[\w+#]|[A-Za-z])[ \t]+$")
_VERSION_PLUS = _Lazy(r"\+(?![\w+])")

# Bounds written before a value (the longest match wins) or after it.


def _bound_re(words: str, symbols: str = "") -> _Lazy:
    """Phrases (a space is any run of blanks) or symbols ending right where a value starts."""
    alts = "|".join(w.strip().replace(" ", r"[ \t]+") for w in words.split("|") if w.strip())
    sym = f"|(?:{symbols})" if symbols else ""
    return _Lazy(rf"(?:(?<![\w])(?:{alts}){sym})[ \t]*$", re.I)


_PREFIX_ANY: list[tuple[Bound, _Lazy]] = [
    ("le", _bound_re(
        "at most|up to|no more than|not more than|no greater than|not greater than|no higher than"
        "|no longer than|not longer than|a maximum of|maximum of|max of|maximum|max\\.?|capped at"
        "|(?:a |the )?(?:cap|limit|ceiling) of"
        "|limited to|not exceeding|not to exceed|(?:does|do|did|must|may|shall|will|should|can"
        "|could|would)\\s*(?:not|n['’]t) exceed|cannot exceed|never exceeds?|within|or less than",
        "≤|<=|=<")),
    ("lt", _bound_re("less than|fewer than|under|below|lower than|shorter than|smaller than"
                     "|younger than", "<(?!=)")),
    ("ge", _bound_re(
        "at least|no less than|not less than|no fewer than|not fewer than|a minimum of"
        "|minimum of|min of|minimum|min\\.?|no shorter than|no lower than|no smaller than",
        "≥|>=|=>")),
    ("gt", _bound_re(
        "more than|over|above|greater than|higher than|longer than|larger than|exceeds|exceeding"
        "|in excess of|upwards of|north of|older than", "(?<![=-])>(?!=)")),
    ("approx", _bound_re(
        "about|around|approximately|approx\\.?|roughly|nearly|almost|circa|ca\\.|c\\.|close to"
        "|an estimated|estimated|some", "~|≈|∼")),
]  # fmt: skip
_PREFIX_WHEN: list[tuple[Bound, _Lazy]] = [
    ("le", _bound_re("by|until|till|through|no later than|not later than|on or before"
                     "|at or before|not after|at the latest by")),
    ("lt", _bound_re("before|prior to|earlier than|ahead of")),
    ("ge", _bound_re("on or after|at or after|no earlier than|not earlier than|not before"
                     "|no sooner than|not sooner than")),
    ("gt", _bound_re("after|later than")),
]  # fmt: skip
_SUFFIX: list[tuple[Bound, _Lazy]] = [
    ("ge", _Lazy(
        r"^[ \t]*(?:or[ \t]+(?:more|greater|above|higher|over|later|newer|after|longer|up)"
        r"|and[ \t]+(?:above|up|over|later|newer|higher)|at[ \t]+(?:the[ \t]+)?(?:least|earliest)"
        r"|minimum)(?![\w])", re.I)),
    ("le", _Lazy(
        r"^[ \t]*(?:or[ \t]+(?:less|fewer|below|under|lower|earlier|older|before|shorter|sooner)"
        r"|and[ \t]+(?:below|under|earlier|older|lower)|at[ \t]+(?:the[ \t]+)?(?:most|latest)"
        r"|maximum|max)(?![\w])", re.I)),
]  # fmt: skip

# Negation, and the phrases that hold a negation word without denying anything.
_NEG_CUE = _Lazy(
    r"(?<![\w])(?:not|never|no[ \t]+longer|without|none|cannot|neither|nor|nobody|nothing"
    r"|nowhere|unable[ \t]+to|lacks?|lacking)(?![\w])"
    r"|[A-Za-z]n['’]t(?![\w])"
    r"|(?<![\w])no(?![\w-]|\.[ \t]*\d)",
    re.I,
)
_NOT_DENIAL = _Lazy(
    r"(?<![\w])(?:no|not)[ \t]+(?:more|less|fewer|later|earlier|sooner|greater|longer|higher"
    r"|lower|shorter|smaller|larger)[ \t]+than(?![\w])"
    r"|(?<![\w])not[ \t]+(?:exceeding|to[ \t]+exceed|before|after|only|just|merely)(?![\w])"
    r"|(?<![\w])(?:does|do|did|must|may|shall|will|should|can|could|would)[ \t]*(?:not|n['’]t)"
    r"[ \t]+(?:exceed|go[ \t]+over|go[ \t]+beyond|surpass)(?![\w])"
    r"|(?<![\w])(?:cannot|never)[ \t]+(?:exceeds?|surpass(?:es)?)(?![\w])"
    r"|(?<![\w])whether[ \t]+or[ \t]+not(?![\w])",
    re.I,
)
_BOOL_ANYWHERE = _Lazy(r"(?<![\w-])(?P<w>enabled|disabled|supported|unsupported)(?![\w-])", re.I)
_BOOL_WORDS = {
    "yes": True, "no": False, "true": True, "false": False, "on": True, "off": False,
    "enabled": True, "disabled": False, "supported": True, "unsupported": False,
}  # fmt: skip
_BOOL_FINAL = _Lazy(
    r":[ \t]*(?P<w>yes|no|true|false|on|off|enabled|disabled)[ \t]*[.;]?[\s().]*$", re.I
)
_URL = _Lazy(r"\b(?:https?|ftp)://\S+|\bwww\.\S+", re.I)
_FOOTNOTE = _Lazy(r"\[\^[^\]\s]+\]")


class _Scan:
    """One text being read: the text with markup blanked (same offsets), what is claimed, and
    the values found."""

    __slots__ = ("out", "taken", "text", "view")

    def __init__(self, text: str) -> None:
        self.text = text
        self.view = _blank_markup(text)
        self.taken = bytearray(len(text))
        self.out: list[tuple[Value, bool]] = []  # (value, bound already decided)

    def free(self, start: int, end: int) -> bool:
        return self.taken.find(1, start, end) < 0

    def claim(self, start: int, end: int) -> None:
        self.taken[start:end] = b"\x01" * (end - start)

    def emit(self, value: Value, bound_set: bool = False) -> None:
        if self.free(value.start, value.end):
            self.claim(value.start, value.end)
            self.out.append((value, bound_set))

    def skip_all(self, pattern: _Lazy) -> None:
        for m in pattern.finditer(self.view):
            if m.end() > m.start() and self.free(m.start(), m.end()):
                self.claim(m.start(), m.end())


def _blank_markup(text: str) -> str:
    """The text with links, comments, URLs, block ids and footnote marks turned to spaces."""
    spans: list[tuple[int, int]] = []
    if "[" in text or "%" in text or "^" in text:
        # Here, not at the top: the scanner's patterns cost ~10 ms to import, and a text
        # without brackets never needs them.
        from companion.markdown.scan import scan_body

        found = scan_body(text, 0, 1)
        for link in found.links:
            if link.kind == "wikilink" or link.raw.startswith(("[[", "![[")):
                spans.append((link.start, link.end))
            else:
                cut = link.raw.rfind("](")
                spans.append((link.start + cut if cut >= 0 else link.start, link.end))
        c = found.comments
        spans.extend((c[i], c[i + 1]) for i in range(0, len(c) - 1, 2))
        for block, at in found.block_ids:
            spans.append((max(0, at - 1), at + len(block)))
        spans.extend((m.start(), m.end()) for m in _FOOTNOTE.finditer(text))
    spans.extend((m.start(), m.end()) for m in _URL.finditer(text))
    spans += [(m.start(), m.end()) for m in re.finditer(r"<!--.*?(?:-->|$)", text, re.S)]
    if not spans:
        return text
    chars = list(text)
    for a, b in spans:
        for i in range(a, min(b, len(chars))):
            if chars[i] != "\n":
                chars[i] = " "
    return "".join(chars)


# ---- numbers ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Num:
    value: Decimal
    end: int
    written: bool = False  # in words ("three")
    article: bool = False  # "a"/"an": one, but only before a unit
    times: bool = False  # "once", "twice": only before "a day", "per week"
    fraction: bool = False  # "half", "a quarter": may take "an hour" after
    dotted: str | None = None  # "1.25.3": three parts or more, a version or nothing
    digits: str = ""  # the digits as written, separators included


def _decimal(digits: str) -> Decimal | None:
    try:
        return Decimal(digits.replace(",", ""))
    except InvalidOperation:
        return None


def _digits_at(t: str, pos: int) -> _Num | None:
    m = _DIGITS.match(t, pos)
    if m is None:
        return None
    s = m.group()
    if s.count(".") >= 2:
        return _Num(_ZERO, m.end(), dotted=s, digits=s)
    value = _decimal(s)
    return None if value is None else _Num(value, m.end(), digits=s)


def _words_at(t: str, pos: int) -> _Num | None:  # noqa: C901 - one small grammar, one pass
    """A number written in words at `pos` ("three", "twenty-four", "one hundred and five",
    "a dozen", "half a million", "one and a half", "a quarter"), or "a"/"an" as a bare one."""
    words: list[tuple[str, int]] = []  # (lower-cased word, its end)
    i = pos
    while len(words) < 12:
        m = _WORD.match(t, i)
        if m is None:
            break
        words.append((m.group().lower(), m.end()))
        sep = _WORD_SEP.match(t, m.end())
        if sep is None:
            break
        i = sep.end()
    if not words:
        return None
    first = words[0][0]
    nxt = words[1][0] if len(words) > 1 else ""
    if first in _TIMES_WORDS:
        return _Num(Decimal(_TIMES_WORDS[first]), words[0][1], written=True, times=True)
    if first in ("a", "an"):
        if nxt == "half":
            return _Num(Decimal("0.5"), words[1][1], written=True, fraction=True)
        if nxt == "quarter":
            return _Num(Decimal("0.25"), words[1][1], written=True, fraction=True)
        if nxt not in ("hundred", "dozen") and nxt not in _BIG:
            return _Num(_ONE, words[0][1], written=True, article=True)
        words = [("one", words[0][1]), *words[1:]]
    if first == "half":
        if (
            nxt in ("a", "an")
            and len(words) > 2
            and (words[2][0] in _BIG or words[2][0] == "dozen")
        ):
            scale = 12 if words[2][0] == "dozen" else _BIG[words[2][0]]
            return _Num(Decimal(scale) / 2, words[2][1], written=True)
        return _Num(Decimal("0.5"), words[0][1], written=True, fraction=True)
    if first == "quarter":
        return _Num(Decimal("0.25"), words[0][1], written=True, fraction=True)
    total = 0
    cur = 0
    small: str | None = None  # None, "tens" (a tens word waits for its ones), "done"
    end = -1
    k = 0
    while k < len(words):
        w, w_end = words[k]
        if w in _ONES:
            if small == "done" or (small == "tens" and (_ONES[w] >= 10 or _ONES[w] == 0)):
                break
            cur += _ONES[w]
            small = "done"
        elif w in _TENS:
            if small is not None:
                break
            cur += _TENS[w]
            small = "tens"
        elif w == "hundred" and end >= 0 and 0 < cur < 100:
            cur *= 100
            small = None
        elif w == "dozen" and end >= 0 and 0 < cur < 100:
            cur *= 12
            small = "done"
        elif w in _BIG and end >= 0 and cur > 0:
            total += cur * _BIG[w]
            cur = 0
            small = None
        elif w in ("quarters",) and end >= 0 and cur in (1, 2, 3) and total == 0:
            return _Num(Decimal(cur) / 4, w_end, written=True, fraction=True)
        elif w == "and" and end >= 0:
            rest = [x for x, _ in words[k + 1 : k + 3]]
            if rest == ["a", "half"] and total == 0 and cur < 100:
                return _Num(Decimal(cur) + Decimal("0.5"), words[k + 2][1], written=True)
            if rest and (rest[0] in _ONES or rest[0] in _TENS) and (total > 0 or cur >= 100):
                k += 1
                continue
            break
        else:
            break
        end = w_end
        k += 1
    if end < 0:
        return None
    return _Num(Decimal(total + cur), end, written=True)


def _singular(word: str) -> str:
    w = word.lower().replace("’", "'")
    if w.endswith("'s") or w.endswith("s'"):
        w = w[:-2] if w.endswith("'s") else w[:-1]
    if len(w) > 4 and w.endswith("ies"):
        return w[:-3] + "y"
    if len(w) > 4 and w.endswith(("sses", "shes", "ches", "xes", "zes")):
        return w[:-2]
    if len(w) > 2 and w.endswith("s") and not w.endswith(("ss", "us", "is")):
        return w[:-1]
    return w


def _plural(word: str) -> bool:
    w = word.lower()
    return len(w) > 2 and w.endswith("s") and not w.endswith(("ss", "us", "is", "'s", "’s"))


# ---- the scan --------------------------------------------------------------------------------


def values(text: str) -> list[Value]:
    """Every value in `text`, in order, non-overlapping (the module docstring has the rules)."""
    sc = _Scan(text)
    _read_dates(sc)
    for pattern in _NO_DAY:
        sc.skip_all(pattern)
    _read_times(sc)
    _read_clock_durations(sc)
    for pattern in _SKIP_IDS:
        sc.skip_all(pattern)
    _read_numbers(sc)
    _read_booleans(sc)
    sc.out.sort(key=lambda pair: pair[0].start)
    result: list[Value] = []
    for value, bound_set in sc.out:
        if not bound_set and value.kind != "boolean":
            bound = _bound_of(sc.view, value)
            if bound != "eq":
                value = _replace_bound(value, bound)
        result.append(value)
    return result


def _replace_bound(value: Value, bound: Bound) -> Value:
    return Value(
        kind=value.kind, start=value.start, end=value.end, raw=value.raw,
        magnitude=value.magnitude, unit=value.unit, date=value.date, version=value.version,
        truth=value.truth, bound=bound, margin=value.margin,
    )  # fmt: skip


def _read_dates(sc: _Scan) -> None:
    for m in _DATE_RE.finditer(sc.view):
        if not sc.free(m.start(), m.end()):
            continue
        weekday = None
        try:
            if m.group("iy"):
                day = datetime.date(int(m.group("iy")), int(m.group("im")), int(m.group("id")))
            elif m.group("dd"):
                month = _MONTHS[m.group("dm").rstrip(".").lower()]
                day = datetime.date(int(m.group("dy")), month, int(m.group("dd")))
                weekday = m.group("w1")
            else:
                month = _MONTHS[m.group("mm").rstrip(".").lower()]
                day = datetime.date(int(m.group("my")), month, int(m.group("md")))
                weekday = m.group("w2")
        except ValueError:  # 30 February, month 13: no date, and nothing else either
            sc.claim(m.start(), m.end())
            continue
        if weekday is not None and _WEEKDAYS[weekday.rstrip(".").lower()] != day.weekday():
            sc.claim(m.start(), m.end())  # the weekday and the date disagree: which is wrong?
            continue
        sc.emit(Value("date", m.start(), m.end(), sc.text[m.start() : m.end()], date=day))


def _time_match(m: re.Match[str]) -> tuple[int, str | None] | None:
    """Seconds after midnight (in UTC when the zone has a fixed offset) and the zone key."""
    if m.group("word"):
        seconds = 12 * 3600 if m.group("word").lower() in ("noon", "midday") else 0
    else:
        if m.group("h") is not None:
            h, mi, s = int(m.group("h")), int(m.group("m")), int(m.group("s") or 0)
            ap = m.group("ap1")
        elif m.group("h2") is not None:
            h, mi, s = int(m.group("h2")), int(m.group("m2") or 0), 0
            ap = m.group("ap2")
        else:
            h, mi, s = int(m.group("h3")), int(m.group("m3")), 0
            ap = None
        if ap:
            if not 1 <= h <= 12:
                return None
            pm = ap.lower().startswith("p")
            h = (h % 12) + (12 if pm else 0)
        seconds = h * 3600 + mi * 60 + s
    offset: int | None = None  # minutes east of UTC
    zone: str | None = None
    if m.group("tz"):
        if m.group("tz") == "Z" and m.group("zsp"):
            return None  # "03:00 Z" is rarely a zone; "03:00Z" is
        offset = 0
        if m.group("off"):
            offset = _offset_minutes(m.group("off"))
    elif m.group("off2"):
        offset = _offset_minutes(m.group("off2"))
    elif m.group("named"):
        offset = _TZ_FIXED[m.group("named")]
    elif m.group("label"):
        zone = m.group("label")
    if offset is not None:
        seconds = (seconds - offset * 60) % 86400
        zone = "UTC"
    return seconds, zone


def _offset_minutes(text: str) -> int:
    sign = -1 if text[0] in "-−" else 1
    digits = re.sub(r"[^\d]", "", text)
    hours, minutes = (int(digits[:-2]), int(digits[-2:])) if len(digits) > 2 else (int(digits), 0)
    return sign * (hours * 60 + minutes)


def _read_times(sc: _Scan) -> None:
    t = sc.view
    pos = 0
    while True:
        m = _TIME_RE.search(t, pos)
        if m is None:
            return
        pos = m.end()
        if m.end() == m.start() or not sc.free(m.start(), m.end()):
            pos = m.start() + 1
            continue
        as_duration = _TIME_AS_DURATION.match(t, m.end())
        if as_duration is not None and m.group("h") is not None and not m.group("ap1"):
            sc.claim(m.start(), as_duration.end())  # "1:30 hours": a duration we do not read
            continue
        first = _time_match(m)
        if first is None:
            sc.claim(m.start(), m.end())
            continue
        between = _BETWEEN_BEFORE.search(t, max(0, m.start() - 16), m.start())
        sep = (_AND_SEP if between else _TIME_RANGE_SEP).match(t, m.end())
        second_m = _TIME_RE.match(t, sep.end()) if sep else None
        second = _time_match(second_m) if second_m and second_m.end() > second_m.start() else None
        if (
            second_m is not None
            and second is not None
            and sc.free(second_m.start(), second_m.end())
        ):
            s1, z1 = first
            s2, z2 = second
            if z1 is None and z2 is not None:  # "01:00–03:00 UTC": the zone is both ends'
                recomputed = _time_match(_with_zone(t, m, second_m))
                if recomputed is not None:
                    s1, z1 = recomputed
            sc.emit(Value("time", m.start(), m.end(), sc.text[m.start() : m.end()],
                          magnitude=float(s1), unit=z1, bound="ge"), bound_set=True)  # fmt: skip
            sc.emit(Value("time", second_m.start(), second_m.end(),
                          sc.text[second_m.start() : second_m.end()], magnitude=float(s2),
                          unit=z2, bound="le"), bound_set=True)  # fmt: skip
            pos = second_m.end()
            continue
        sc.emit(Value("time", m.start(), m.end(), sc.text[m.start() : m.end()],
                      magnitude=float(first[0]), unit=first[1]))  # fmt: skip
        if as_duration is not None:  # "0300 hours": the word belongs to the time
            sc.claim(m.end(), as_duration.end())


_CLOCK_DURATION = _Lazy(
    r"(?<![\w.])(?:(?P<h>\d+)h(?:(?P<hm>[0-5]\d)(?:min|m)?|[ \t]?(?P<hm2>[0-5]?\d)(?:min|m))"
    r"|(?P<m>\d+)m[ \t]?(?P<ms>[0-5]?\d)s)(?![\w])"
)


def _read_clock_durations(sc: _Scan) -> None:
    """ "1h30", "1h 30m", "2m30s": read whole, since "30m" alone is ambiguous."""
    for m in _CLOCK_DURATION.finditer(sc.view):
        if m.group("h"):
            seconds = int(m.group("h")) * 3600 + int(m.group("hm") or m.group("hm2")) * 60
        else:
            seconds = int(m.group("m")) * 60 + int(m.group("ms"))
        sc.emit(Value("quantity", m.start(), m.end(), sc.text[m.start() : m.end()],
                      magnitude=float(seconds), unit="s"))  # fmt: skip


def _with_zone(t: str, first: re.Match[str], second: re.Match[str]) -> re.Match[str]:
    """The first time of a range re-read with the second's zone after it."""
    zone_at = second.end()
    for name in ("tz", "off2", "named", "label"):
        if second.group(name):
            zone_at = second.start(name)
            break
    core = t[first.start() : first.end()].rstrip()
    glued = core + (" " if t[zone_at - 1 : zone_at].isspace() else "") + t[zone_at : second.end()]
    again = _TIME_RE.match(glued)
    return again if again is not None else first


# ---- numbers, money, quantities, counts, versions ---------------------------------------------


def _read_numbers(sc: _Scan) -> None:
    t = sc.view
    pos = 0
    while True:
        m = _START.search(t, pos)
        if m is None:
            return
        start = m.start()
        if not sc.free(start, start + 1):
            pos = start + 1
            continue
        end = _number_value(sc, start)
        pos = max(end, start + 1)


def _unit_at(t: str, pos: int, words_only: bool = False) -> tuple[_Unit | None, int] | None:
    """The unit right after a number at `pos` (a space, a hyphen or nothing between): the unit
    and where it ends; (None, end) for an ambiguous unit; None when there is no unit. After a
    number in words only a unit in words counts ("a B-tree" holds no byte)."""
    sep = _SPACE_OR_HYPHEN.match(t, pos)
    if sep is None:
        return None
    at = sep.end()
    glued = at == pos
    hyphen = t[pos:at] == "-"
    m = _WORD_UNIT_RE.match(t, at)
    best: tuple[_Unit | None, int] | None = None
    if m is not None:
        best = (_WORD_UNITS[_norm_space(m.group().lower())], m.end())
    s = _SYMBOL_UNIT_RE.match(t, at)
    if s is not None and not hyphen and not words_only and (best is None or s.end() > best[1]):
        form = _norm_space(s.group())
        if form in _AMBIGUOUS:
            best = (None, s.end())
        elif form in _ATTACHED_ONLY and not glued:
            pass
        elif form in _SYMBOL_UNITS:
            best = (_SYMBOL_UNITS[form], s.end())
    if best is None and not hyphen:
        a = _AMBIGUOUS_WORD_RE.match(t, at)
        if a is not None:
            best = (None, a.end())
    return best


def _norm_space(form: str) -> str:
    return re.sub(r"[ \t]+", " ", form)


def _per_time(t: str, pos: int) -> tuple[Decimal, Decimal, int] | None:
    """A "per second", "/s", "a day", "p.a." right after `pos`: seconds, their margin, end."""
    m = _PER_TIME.match(t, pos)
    if m is None:
        return None
    name = (m.group("sym") or m.group("word") or "annum").lower()
    if m.group("pa"):
        name = "annum"
    seconds, margin = _PER_SECONDS[name]
    return seconds, margin, m.end()


def _number_value(sc: _Scan, start: int) -> int:  # noqa: C901 - one reader, one branch per shape
    """Read the value starting at `start`; emit it (or claim what must not be read); return the
    position to go on from."""
    t = sc.view
    cur = _CURRENCY_PREFIX.match(t, start)
    if cur is not None:
        return _money(sc, start, cur)
    if t[start] in "vV":
        num = _digits_at(t, start + 1)
        if num is None:
            return start + 1
        return _version(sc, start, num, _product_before(t, start)[0] or None)
    num = _digits_at(t, start) if t[start].isdigit() else _words_at(t, start)
    if num is None:
        return start + 1
    end = num.end
    if num.dotted is not None:
        product, keyword = _product_before(t, start)
        if product or keyword:
            return _version(sc, start, num, product or None)
        sc.claim(start, end)
        return end
    plus = False
    if not num.written and _VERSION_PLUS.match(t, end):
        plus = True
        end += 1
    value = num.value
    scale_end = end
    if not num.written and not plus:
        value, scale_end = _scaled(t, num)
    unit = _unit_at(t, scale_end, words_only=num.written)
    if unit is None and num.fraction:
        art = _OF_ARTICLE.match(t, scale_end)
        if art is not None:
            u = _unit_at(t, art.end(), words_only=True)
            if u is not None and u[0] is not None and u[0].duration:
                unit = u
    if unit is None and t[start].isdigit() and scale_end < len(t) and t[scale_end].isalpha():
        glued = _WORD.match(t, scale_end)
        sc.claim(start, glued.end() if glued else scale_end)  # "3DS2", "2FA", "5G": not ours
        return glued.end() if glued else scale_end
    if unit is None and not num.written and not plus:
        rng = _range(sc, start, num, scale_end)
        if rng is not None:
            return rng
    if unit is not None:
        return _quantity(sc, start, num, value, unit, plus)
    return _count_or_version(sc, start, num, value, scale_end, plus)


def _money(sc: _Scan, start: int, cur: re.Match[str]) -> int:
    t = sc.view
    code = _SYMBOLS.get(cur.group("sym"), cur.group("sym"))
    num = _digits_at(t, cur.end())
    if num is None or num.dotted is not None:
        return cur.end()
    value, end = _money_scale(t, num)
    rate = _per_time(t, end)
    between = _BETWEEN_BEFORE.search(t, max(0, start - 16), start)
    sep = (_AND_SEP if between else _RANGE_SEP).match(t, end) if rate is None else None
    if sep is not None:  # a range: "£5–£10", "€2–3M", "between $5 and $10 a month"
        cur2 = _CURRENCY_PREFIX.match(t, sep.end())
        same = cur2 is None or _SYMBOLS.get(cur2.group("sym"), cur2.group("sym")) == code
        num2 = _digits_at(t, cur2.end() if cur2 else sep.end()) if same else None
        if num2 is not None and num2.dotted is None and sc.free(sep.end(), num2.end):
            value2, end2 = _money_scale(t, num2)
            if end == num.end and end2 > num2.end and num2.value:  # "€2–3M": both ends'
                value = value * (value2 / num2.value)
            rate2 = _per_time(t, end2)
            first = _money_value(sc, start, end, code, value, rate2)
            second = _money_value(sc, sep.end(), end2, code, value2, rate2)
            sc.emit(_replace_bound(first, "ge"), bound_set=True)
            sc.emit(_replace_bound(second, "le"), bound_set=True)
            return second.end
    money = _money_value(sc, start, end, code, value, rate)
    sc.emit(money)
    return money.end


def _money_scale(t: str, num: _Num) -> tuple[Decimal, int]:
    value, end = num.value, num.end
    sa = _SCALE_ATTACHED_RE.match(t, end)
    if sa is not None:
        return value * _SCALES_ATTACHED[sa.group()], sa.end()
    sm = _SCALE_MONEY_RE.match(t, end)
    if sm is not None:
        return value * _SCALES_MONEY[sm.group().strip()], sm.end()
    ss = _SCALE_SPACED_RE.match(t, end)
    if ss is not None:
        return value * _SCALES_SPACED[ss.group().strip().lower()], ss.end()
    return value, end


def _money_value(
    sc: _Scan, start: int, end: int, code: str, value: Decimal,
    rate: tuple[Decimal, Decimal, int] | None,
) -> Value:  # fmt: skip
    """Money from `start`; a rate when `rate` is given (the span reaches it if it follows)."""
    minor = value * Decimal(10) ** _CURRENCIES.get(code, 2)
    if rate is None:
        return Value("money", start, end, sc.text[start:end], magnitude=float(minor), unit=code)
    magnitude, margin = _divide(minor, _ZERO, rate[0], rate[1])
    stop = rate[2] if _PER_TIME.match(sc.view, end) else end
    return Value("money", start, stop, sc.text[start:stop], magnitude=magnitude,
                 unit=f"{code}/s", margin=margin)  # fmt: skip


def _divide(
    value: Decimal, margin: Decimal, seconds: Decimal, den_margin: Decimal
) -> tuple[float, float]:
    """value/seconds, and the margin that covers a denominator anywhere in seconds ± den_margin."""
    rate = value / seconds
    if den_margin == 0:
        return float(rate), float(margin / seconds)
    widest = (value + margin) / (seconds - den_margin)
    return float(rate), float(widest - rate)


def _quantity(
    sc: _Scan, start: int, num: _Num, value: Decimal, unit: tuple[_Unit | None, int], plus: bool
) -> int:
    t = sc.view
    spec, end = unit
    if spec is None:  # an ambiguous unit: the number is not ours to read
        sc.claim(start, end)
        return end
    if num.article and not spec.duration and spec.kind != "quantity":
        return num.end
    if num.article and spec.factor == 1 and spec.key == "s":
        return num.end  # "a second replica" is no duration
    if num.times:
        return num.end
    if spec.kind == "money":
        minor = value * spec.factor
        rate = _per_time(t, end)
        if rate is not None:
            mag, spread = _divide(minor, _ZERO, rate[0], rate[1])
            sc.emit(Value("money", start, rate[2], sc.text[start : rate[2]], magnitude=mag,
                          unit=f"{spec.key}/s", margin=spread))  # fmt: skip
            return rate[2]
        sc.emit(
            Value("money", start, end, sc.text[start:end], magnitude=float(minor), unit=spec.key)
        )
        return end
    if spec.kind == "percent":
        sc.emit(
            Value("percent", start, end, sc.text[start:end], magnitude=float(value * spec.factor),
                  unit=spec.key, bound="ge" if plus else "eq"),
            bound_set=plus,
        )  # fmt: skip
        return end
    magnitude = value * spec.factor + spec.offset
    margin = value * spec.margin
    if spec.duration:
        half = _AND_A_HALF.match(t, end)
        if half is not None and value == int(value):
            magnitude += spec.factor / 2
            margin += spec.margin / 2
            end = half.end()
        else:
            magnitude, margin, end = _compound(t, end, spec, magnitude, margin)
    key = spec.key
    rate = _per_time(t, end) if spec.key != "1/s" and spec.key != "B/s" else None
    if rate is not None:
        mag_f, margin_f = _divide(magnitude, margin, rate[0], rate[1])
        key = f"{spec.key}/s" if spec.key != "1/s" else spec.key
        end = rate[2]
    else:
        mag_f, margin_f = float(magnitude), float(margin)
    sc.emit(
        Value("quantity", start, end, sc.text[start:end], magnitude=mag_f, unit=key,
              margin=margin_f, bound="ge" if plus else "eq"),
        bound_set=plus,
    )  # fmt: skip
    return end


def _compound(
    t: str, end: int, spec: _Unit, magnitude: Decimal, margin: Decimal
) -> tuple[Decimal, Decimal, int]:
    """ "1 hour 30 minutes", "2 days and 4 hours", "1h30": add smaller units of time."""
    last = spec.factor
    while True:
        sep = _COMPOUND_SEP.match(t, end)
        if sep is None:
            return magnitude, margin, end
        at = sep.end()
        num = _digits_at(t, at) if at < len(t) and t[at].isdigit() else _words_at(t, at)
        if num is None or num.dotted is not None or num.article or num.times or num.fraction:
            return magnitude, margin, end
        unit = _unit_at(t, num.end)
        if unit is None or unit[0] is None or not unit[0].duration or unit[0].factor >= last:
            return magnitude, margin, end
        magnitude += num.value * unit[0].factor
        margin += num.value * unit[0].margin
        last = unit[0].factor
        end = unit[1]


def _range(sc: _Scan, start: int, num: _Num, end: int) -> int | None:
    """ "2–4 hours", "between 3 and 5 nodes", "95-99%": two values, `ge` and `le`. The second
    is read as any value is; the first is read again with the second's unit after it."""
    t = sc.view
    sep = (_AND_SEP if _BETWEEN_BEFORE.search(t, max(0, start - 16), start) else _RANGE_SEP).match(
        t, end
    )
    if sep is None:
        return None
    at = sep.end()
    if at >= len(t) or not t[at].isdigit() or not sc.free(at, at + 1):
        return None
    product, keyword = _product_before(t, start)
    if product or keyword:
        return None  # "PostgreSQL 14-15" is versions
    num2 = _digits_at(t, at)
    if num2 is None or num2.dotted is not None:
        return None
    before = len(sc.out)
    _number_value(sc, at)
    new = sc.out[before:]
    second = new[0][0] if len(new) == 1 else None
    first: Value | None = None
    if second is not None and second.start == at and second.kind in _RANGE_KINDS:
        tail_from = _scaled(t, num2)[1] if end > num.end else num2.end
        sub = _Scan(t[start:end] + t[tail_from : second.end])
        _number_value(sub, 0)
        if len(sub.out) == 1:
            f = sub.out[0][0]
            if f.kind == second.kind and f.unit == second.unit and f.end == len(sub.text):
                first = Value(f.kind, start, end, sc.text[start:end], magnitude=f.magnitude,
                              unit=f.unit, margin=f.margin, bound="ge")  # fmt: skip
    if second is None or first is None:
        for v, _ in new:
            sc.taken[v.start : v.end] = bytes(v.end - v.start)
        del sc.out[before:]
        return None
    sc.out[before] = (_replace_bound(second, "le"), True)
    sc.emit(first, bound_set=True)
    return second.end


_RANGE_KINDS = frozenset({"quantity", "count", "percent"})


def _scaled(t: str, num: _Num) -> tuple[Decimal, int]:
    """A number in digits with its scale ("2.3M", "4.1 million", "10k") and where it ends."""
    sa = _SCALE_ATTACHED_RE.match(t, num.end)
    if sa is not None:
        glued = _unit_at(t, num.end)
        if glued is None or glued[1] <= sa.end():
            return num.value * _SCALES_ATTACHED[sa.group()], sa.end()
    ss = _SCALE_SPACED_RE.match(t, num.end)
    if ss is not None:
        return num.value * _SCALES_SPACED[ss.group().strip().lower()], ss.end()
    return num.value, num.end


def _count_or_version(
    sc: _Scan, start: int, num: _Num, value: Decimal, end: int, plus: bool
) -> int:
    t = sc.view
    if not num.written and "," not in num.digits:
        product, keyword = _product_before(t, start)
        if product or keyword:
            return _version(sc, start, num, product or None)
    if num.article:
        return num.end
    noun = _noun(t, end, value == 1 and not num.fraction)
    if noun is not None and num.written and t[end : end + 1] == "-":
        return noun[1]  # "two-factor", "one-time", "three-way": a compound word, not a count
    if noun is not None:
        word, noun_end = noun
        rate = _per_time(t, noun_end)
        if rate is not None:
            mag, margin = _divide(value, _ZERO, rate[0], rate[1])
            sc.emit(Value("quantity", start, rate[2], sc.text[start : rate[2]], magnitude=mag,
                          unit="1/s", margin=margin))  # fmt: skip
            return rate[2]
        if num.times or num.fraction:
            return num.end
        sc.emit(
            Value("count", start, noun_end, sc.text[start:noun_end], magnitude=float(value),
                  unit=_singular(word), bound="ge" if plus else "eq"),
            bound_set=plus,
        )  # fmt: skip
        return noun_end
    rate = _per_time(t, end)
    if rate is not None and not num.fraction:
        mag, margin = _divide(value, _ZERO, rate[0], rate[1])
        sc.emit(Value("quantity", start, rate[2], sc.text[start : rate[2]], magnitude=mag,
                      unit="1/s", margin=margin))  # fmt: skip
        return rate[2]
    if num.written:
        return num.end  # "one of", "the two": a word is a number only before what it counts
    if (
        re.fullmatch(_YEARLIKE, num.digits)
        and end == num.end
        and not plus
        and not any(p.search(t, max(0, start - 48), start) for _, p in _PREFIX_ANY)
    ):
        sc.claim(start, end)  # a year, most likely; "up to 2000" is not
        return end
    sc.emit(
        Value("count", start, end, sc.text[start:end], magnitude=float(value),
              bound="ge" if plus else "eq"),
        bound_set=plus,
    )  # fmt: skip
    return end


def _noun(t: str, end: int, one: bool) -> tuple[str, int] | None:
    """The counted thing after a number: its word and where it ends (see the module docstring)."""
    words: list[tuple[str, int]] = []
    i = end
    for k in range(3):
        sep = (_WORD_SEP if k == 0 else _SPACES).match(t, i)
        if sep is None:
            break
        m = _NOUN_WORD.match(t, sep.end())
        if m is None:
            break
        w = m.group()
        lw = w.lower()
        if lw in _STOP or lw in _NUMBER_WORDS or len(lw) < 2 or lw in _WORD_UNITS:
            break
        if lw in _MONTHS or lw in _WEEKDAYS:
            break
        words.append((w, m.end()))
        if sep.group() == "-":
            break
        i = m.end()
    if not words:
        return None
    if one:
        if len(words) > 1 and words[0][0].lower() in _ADJECTIVES:
            return words[1]
        return words[0]
    for w, w_end in words:
        if _plural(w):
            return w, w_end
    return words[0]


def _product_before(t: str, start: int) -> tuple[str, bool]:
    """The product words right before `start` ("PostgreSQL", "sql server"), lower-cased, and
    whether "version"/"release" stood between them and the number."""
    j = start
    names: list[str] = []
    keyword = False
    first = True
    while len(names) < 4:
        lo = max(0, j - 64)
        m = _PREV_WORD.search(t, lo, j)
        if m is None or m.end() != j:
            break
        w = m.group(1)
        lw = w.lower()
        if first and lw in _VERSION_WORDS:
            keyword = True
            first = False
            j = m.start()
            continue
        first = False
        if lw in _CLASS_LABELS and not names and not keyword:
            names.append(lw)
            j = m.start()
            break
        product_like = (w[0].isupper() or any(c.isupper() for c in w[1:])) and not w.isdigit()
        if not product_like or lw in _EXCLUDED_PRODUCT or lw.rstrip(".") in _EXCLUDED_PRODUCT:
            break
        names.append(lw)
        j = m.start()
    return " ".join(reversed(names)), keyword


def _version(sc: _Scan, start: int, num: _Num, product: str | None) -> int:
    """A version of `product` from `start` ("PostgreSQL 15", "v4.2", "8.0 U2"), and those that
    continue it ("14 and 15")."""
    t = sc.view
    text = num.dotted or num.digits
    if "," in text:
        return num.end
    parts = [int(p) for p in text.split(".")]
    end = num.end
    suffix = _VERSION_SUFFIX.match(t, end)
    if suffix is not None:
        parts.append(int(suffix.group(1)))
        end = suffix.end()
    bound: Bound = "eq"
    if _VERSION_PLUS.match(t, end):
        bound = "ge"
        end += 1
    sc.emit(Value("version", start, end, sc.text[start:end], unit=product, version=tuple(parts),
                  bound=bound), bound_set=bound != "eq")  # fmt: skip
    # "PostgreSQL 14 and 15", "v1.2 to v1.3": more versions of the same product.
    while True:
        cont = _VERSION_CONT.match(t, end)
        if cont is None:
            return end
        at = cont.end()
        v_at = at - 1 if t[at - 1] in "vV" else at
        nxt = _digits_at(t, at)
        if nxt is None or "," in nxt.digits or not sc.free(v_at, nxt.end):
            return end
        if _unit_at(t, nxt.end) is not None:
            return end
        joined_by_to = cont.group().strip(" \tvV") in ("to", "->", "→", "–", "-")
        if not joined_by_to and _noun(t, nxt.end, False) is not None:
            return end  # "PostgreSQL 15 and 3 replicas": a count; "14 to 15 upgrade": versions
        n_end = nxt.end
        parts2 = [int(p) for p in (nxt.dotted or nxt.digits).split(".")]
        suffix = _VERSION_SUFFIX.match(t, n_end)
        if suffix is not None:
            parts2.append(int(suffix.group(1)))
            n_end = suffix.end()
        sc.emit(Value("version", v_at, n_end, sc.text[v_at:n_end], unit=product,
                      version=tuple(parts2)))  # fmt: skip
        end = n_end


# ---- booleans --------------------------------------------------------------------------------


def _read_booleans(sc: _Scan) -> None:
    t = sc.view
    found: list[tuple[int, int, bool]] = []
    for m in _BOOL_ANYWHERE.finditer(t):
        found.append((m.start("w"), m.end("w"), _BOOL_WORDS[m.group("w").lower()]))
    stripped = t.strip()
    if stripped.startswith("|") or " | " in t:
        for a, b in _cells(t):
            cell = t[a:b]
            word = cell.strip().rstrip(".").lower()
            if word in _BOOL_WORDS:
                s = a + len(cell) - len(cell.lstrip())
                found.append((s, s + len(word), _BOOL_WORDS[word]))
    else:
        whole = stripped.rstrip(".").lower()
        if whole in _BOOL_WORDS:
            s = t.index(stripped)
            found.append((s, s + len(whole), _BOOL_WORDS[whole]))
        else:
            m2 = _BOOL_FINAL.search(t)
            if m2 is not None:
                found.append((m2.start("w"), m2.end("w"), _BOOL_WORDS[m2.group("w").lower()]))
    if not found:
        return
    masked = list(t)
    for a, b, _ in found:
        masked[a:b] = " " * (b - a)
    asserts = polarity("".join(masked))
    seen: set[int] = set()
    for a, b, truth in sorted(found):
        if a in seen or not sc.free(a, b):
            continue
        seen.add(a)
        sc.emit(Value("boolean", a, b, sc.text[a:b], truth=truth if asserts else not truth))


def _cells(t: str) -> Iterator[tuple[int, int]]:
    """The cells of a table row: offsets between unescaped pipes."""
    bars = [m.start() for m in re.finditer(r"(?<!\\)\|", t)]
    for a, b in pairwise(bars):
        yield a + 1, b
    if bars and t[: bars[0]].strip():
        yield 0, bars[0]
    if bars and t[bars[-1] + 1 :].strip():
        yield bars[-1] + 1, len(t)


# ---- polarity and bounds ---------------------------------------------------------------------


def polarity(text: str) -> bool:
    """False when the sentence denies (not, never, no longer, without, none, cannot, n't, a
    determiner "no" ...), True otherwise. Bound phrases ("no more than", "does not exceed"),
    "not only" and "whether or not" deny nothing; "No. 5" is a number. Any denial counts: a
    sentence that denies twice ("is not replicated and has no standby") still denies."""
    view = _blank_markup(text)
    view = _NOT_DENIAL.sub(lambda m: " " * len(m.group()), view)
    return _NEG_CUE.search(view) is None


def _bound_of(t: str, value: Value) -> Bound:
    lo = max(0, value.start - 48)
    best: tuple[int, Bound] | None = None
    patterns = list(_PREFIX_ANY)
    if value.kind in ("date", "time", "version"):
        patterns += _PREFIX_WHEN
    for bound, pattern in patterns:
        m = pattern.search(t, lo, value.start)
        if m is not None and (best is None or len(m.group()) > best[0]):
            best = (len(m.group()), bound)
    if best is not None:
        return best[1]
    after = t[value.end : value.end + 40]
    for bound, pattern in _SUFFIX:
        if pattern.match(after):
            return bound
    return "eq"


# ---- comparing -------------------------------------------------------------------------------


def _comparable(a: Value, b: Value) -> bool:
    if a.kind != b.kind:
        return False
    if a.kind in ("date", "boolean"):
        return True
    if a.kind == "version" and a.unit is not None and b.unit is not None and a.unit != b.unit:
        wa, wb = a.unit.split(), b.unit.split()
        short, long_ = (wa, wb) if len(wa) <= len(wb) else (wb, wa)
        return long_[len(long_) - len(short) :] == short
    return a.unit == b.unit


def _same_bound(a: Bound, b: Bound) -> bool:
    def group(x: Bound) -> Bound:
        return "eq" if x == "approx" else x

    return group(a) == group(b)


def per_year(v: Value) -> Value:
    """An amount stated as yearly ("annual charge: GBP 184,000") as the rate `£184,000 a
    year` reads to: per second, with a year's margin."""
    if v.magnitude is None or not v.unit:
        return v
    year = float(_YEAR)
    return Value(
        v.kind, v.start, v.end, v.raw, v.magnitude / year, f"{v.unit}/s", bound=v.bound,
        margin=v.magnitude / year * float(_YEAR_MARGIN / _YEAR),
    )  # fmt: skip


def same_value(a: Value, b: Value) -> bool | None:
    """True when `a` and `b` state the same value (equal after normalisation, the same bound;
    `approx` counts as `eq`), False when they differ, None when they cannot be compared."""
    if not _comparable(a, b):
        return None
    if a.kind == "boolean":
        return a.truth == b.truth
    if not _same_bound(a.bound, b.bound):
        return False
    if a.kind == "version":
        return _strip_zeros(a.version or ()) == _strip_zeros(b.version or ())
    if a.kind == "date":
        return a.date == b.date
    if a.magnitude is None or b.magnitude is None:
        return None
    reach = a.margin + b.margin
    return abs(a.magnitude - b.magnitude) <= reach or _close(a.magnitude, b.magnitude)


def compatible(a: Value, b: Value) -> bool | None:
    """Whether `a` and `b` can both be true (bounds and margins as intervals); None when they
    cannot be compared."""
    if not _comparable(a, b):
        return None
    if a.kind == "boolean":
        return a.truth == b.truth
    if a.kind == "version":
        return _versions_meet(a, b)
    ia, ib = _interval(a), _interval(b)
    if ia is None or ib is None:
        return None
    return _meet(ia, ib)


def _strip_zeros(v: tuple[int, ...]) -> tuple[int, ...]:
    n = len(v)
    while n > 1 and v[n - 1] == 0:
        n -= 1
    return v[:n]


def _close(x: float, y: float) -> bool:
    return math.isclose(x, y, rel_tol=_REL, abs_tol=1e-12)


# An interval: (low, low included, high, high included); infinities for open ends.
_Interval = tuple[float, bool, float, bool]


def _interval(v: Value) -> _Interval | None:
    if v.kind == "date":
        if v.date is None:
            return None
        x = float(v.date.toordinal())
        spread = 7.0 if v.bound == "approx" else 0.0
    else:
        if v.magnitude is None:
            return None
        x = v.magnitude
        spread = 0.0
        if v.bound == "approx":
            spread = 1800.0 if v.kind == "time" else abs(x) * _APPROX
    lo, hi = x - v.margin - spread, x + v.margin + spread
    inf = math.inf
    return {
        "eq": (lo, True, hi, True),
        "approx": (lo, True, hi, True),
        "le": (-inf, False, hi, True),
        "lt": (-inf, False, hi if v.margin else x, False),
        "ge": (lo, True, inf, False),
        "gt": (x if not v.margin else lo, False, inf, False),
    }[v.bound]


def _meet(a: _Interval, b: _Interval) -> bool:
    lo, lo_in = max((a[0], a[1]), (b[0], b[1]), key=lambda e: (e[0], not e[1]))
    hi, hi_in = min((a[2], a[3]), (b[2], b[3]), key=lambda e: (e[0], e[1]))
    if math.isinf(lo) or math.isinf(hi):
        return lo < hi
    if _close(lo, hi):
        return lo_in and hi_in
    return lo < hi


def _versions_meet(a: Value, b: Value) -> bool | None:
    if a.version is None or b.version is None:
        return None
    ra, rb = _version_range(a.version, a.bound), _version_range(b.version, b.bound)
    lo = max(ra[0], rb[0])
    hi = min(ra[1], rb[1])
    return lo < hi


_VMAX = (10**18,)


def _version_range(v: tuple[int, ...], bound: Bound) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """[low, high) in version order: `15` is everything from 15 up to 16."""
    width = 8
    low = _pad(v, width)
    high = _pad((*v[:-1], v[-1] + 1), width)
    bottom: tuple[int, ...] = (-1,)
    if bound == "ge":
        return low, _VMAX
    if bound == "gt":
        return high, _VMAX
    if bound == "le":
        return bottom, high
    if bound == "lt":
        return bottom, low
    return low, high


def _pad(v: tuple[int, ...], width: int) -> tuple[int, ...]:
    return v + (0,) * (width - len(v))
