"""Claims as text: `dumps(claims)` and `loads(text)`, so the index can keep a page's claims.

The claims of a page's cited facts are computed once, at sync (`companion.sync.page`), stored
with the page (`claims` and `claim_keys` tables) and read back only for the candidates a new
fact's keys select (`companion.store.conflicts.Conflicts.candidates`): an ingest never parses a
page's thousand stored facts again.

**Generic over the dataclasses.** Nothing here names a field. A `Claim` is written as a JSON
list of its fields' values in `dataclasses.fields` order, nested dataclasses (`Value`, `Label`)
the same way, tuples as lists and dates as ISO strings; `loads` reads them back by the fields'
type hints (`typing.get_type_hints`), so tuples come back as tuples, dates as dates and floats
as floats, and `loads(dumps(c)) == c` for every claim. A field added to `Claim` or `Value` is
followed without a change here; a hint this module cannot read (a type other than str, int,
float, bool, None, Literal, date, tuple or a dataclass) fails when the decoder is built, with
the hint named.

**Stale on change.** The stored claims are a cache of `claims()` as the code is now. `parser()`
is a fingerprint of the code that computes them (the sources of `values`, `categories`,
`claims`, `detect` — its index keys — and this module): it is stored with every row, and a row
of another fingerprint is not used (detection parses the page's text instead) until the page is
synced again. A new field, a changed stemmer, a new key: all change it.
"""

from __future__ import annotations

import dataclasses
import datetime
import hashlib
import json
import types
import typing
from collections.abc import Callable, Sequence
from functools import cache
from importlib import import_module
from pathlib import Path
from typing import Any

from companion.conflicts.claims import Claim

Decoder = Callable[[Any], Any]

_PARSER_MODULES = (
    "companion.conflicts.values",
    "companion.conflicts.categories",
    "companion.conflicts.claims",
    "companion.conflicts.detect",
    "companion.conflicts.serial",
)


def _encode(x: Any) -> Any:
    if dataclasses.is_dataclass(x) and not isinstance(x, type):
        return [_encode(getattr(x, f.name)) for f in dataclasses.fields(x)]
    if isinstance(x, tuple | list):
        return [_encode(v) for v in x]
    if isinstance(x, datetime.date):
        return x.isoformat()
    if x is None or isinstance(x, str | int | float | bool):
        return x
    raise TypeError(f"claims cannot be serialised: {type(x).__name__} value {x!r}")


def dumps(claims: Sequence[Claim]) -> str:
    """The claims as compact JSON (see the module docstring)."""
    return json.dumps(
        [_encode(c) for c in claims], ensure_ascii=False, separators=(",", ":"), allow_nan=True
    )


def loads(text: str) -> tuple[Claim, ...]:
    """The claims `dumps` wrote, equal to those it was given."""
    data = json.loads(text)
    if not isinstance(data, list):
        raise ValueError(f"stored claims are not a list: {text[:80]!r}")
    decode = _decoder(Claim)
    return tuple(decode(item) for item in data)


def _identity(v: Any) -> Any:
    return v


def _float(v: Any) -> Any:
    return float(v)


def _date(v: Any) -> Any:
    return datetime.date.fromisoformat(v)


@cache
def _decoder(hint: Any) -> Decoder:
    """A function reading a JSON value back into the type `hint` names (built once per hint)."""
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if hint in (str, int, bool) or hint is type(None) or origin is typing.Literal:
        return _identity
    if hint is float:
        return _float
    if hint is datetime.date:
        return _date
    if origin is typing.Union or origin is types.UnionType:
        inner = [a for a in args if a is not type(None)]
        if len(inner) != 1:
            raise TypeError(f"claims cannot be read back: union {hint!r} of several types")
        one = _decoder(inner[0])
        return lambda v: None if v is None else one(v)
    if origin is tuple:
        if len(args) == 2 and args[1] is Ellipsis:
            each = _decoder(args[0])
            return lambda v: tuple(each(x) for x in v)
        parts = [_decoder(a) for a in args]
        return lambda v: tuple(d(x) for d, x in zip(parts, v, strict=True))
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        cls = hint
        hints = typing.get_type_hints(cls)
        names = [f.name for f in dataclasses.fields(cls)]
        fields = [(n, _decoder(hints[n])) for n in names]

        def build(v: Any) -> Any:
            if len(v) != len(fields):
                raise ValueError(
                    f"stored {cls.__name__} has {len(v)} fields, the code {len(fields)}"
                )
            return cls(**{n: d(x) for (n, d), x in zip(fields, v, strict=True)})

        return build
    raise TypeError(f"claims cannot be read back: a field of type {hint!r}")


@cache
def parser() -> str:
    """The fingerprint of the code that computes stored claims and their keys (16 hex digits)."""
    h = hashlib.sha256()
    for name in _PARSER_MODULES:
        module = import_module(name)
        h.update(name.encode())
        h.update(Path(str(module.__file__)).read_bytes())
    return h.hexdigest()[:16]
