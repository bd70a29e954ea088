"""Detection: the conflicts and supersedes a page's new facts make with the facts it already holds.

`detect(page, title, aliases, before, after, new_sources, date_of, known)` compares the cited
lines `after` adds to a page (the facts an ingest is about to write, citing one of
`new_sources`) with the cited lines `before` held (every cited fact on the page: ingest's bullets
and a person's lines alike; callout lines are not facts). Candidates come from an index of the
page's stored claims by attribute word, shared name, value kind and label class (`_keys`): a new
claim meets only the stored claims it shares a key with, never every claim of the vault, and
every pair `judge` can call a conflict shares one (a shared attribute word, or an empty attribute
and a value kind or label class in common). Claims are read once per distinct line
(`_claims_of`, cached): a page's thousand stored facts are parsed once per process.

A pair is judged once (`judge.judge`); a finding whose id is in `known` (a callout already on some
page, or a resolved conflict) is not raised again. Pure: the caller reads the pages and the
sources' dates.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass
from datetime import date
from functools import lru_cache

from companion.conflicts.claims import Claim, claims
from companion.conflicts.judge import Finding, _group, judge
from companion.write.wiki import CITATION


@dataclass(frozen=True, slots=True)
class Found:
    """A finding on `page`: `anchor` the stored claim's line as the page holds it, `line` the
    new fact's line."""

    finding: Finding
    page: str
    anchor: str
    line: str


@lru_cache(maxsize=65536)
def _claims_of(line: str, page: str, title: str, aliases: tuple[str, ...]) -> tuple[Claim, ...]:
    return tuple(claims(line, page, title, aliases))


def _cited(text: str) -> list[str]:
    return [
        line
        for line in text.splitlines()
        if "[[wiki/sources/" in line
        and not line.lstrip().startswith(">")
        and CITATION.search(line) is not None
    ]


def _keys(c: Claim) -> Iterable[str]:
    yield from ("w:" + w for w in c.attribute)
    yield from ("n:" + w for n in c.names for w in n.split())
    if not c.attribute:
        yield from ("v:" + _group(v) for v in c.values)
        yield from ("l:" + x.klass for x in c.labels)


def _probe(c: Claim) -> Iterable[str]:
    """The keys a new claim looks up: its own, and for a claim with an attribute also the
    value kinds and label classes a stored claim with an empty attribute is filed under."""
    yield from _keys(c)
    if c.attribute:
        yield from ("v:" + _group(v) for v in c.values)
        yield from ("l:" + x.klass for x in c.labels)


def detect(
    page: str,
    title: str,
    aliases: tuple[str, ...],
    before: str,
    after: str,
    new_sources: Collection[str],
    date_of: Callable[[str], date | None],
    known: Collection[str] = (),
) -> list[Found]:
    """The findings the facts `after` adds make against those `before` held (module docstring)."""
    old_lines = _cited(before)
    held = set(old_lines)
    new_lines = [
        line
        for line in _cited(after)
        if line not in held and any(f"[[{s}]]" in line for s in new_sources)
    ]
    if not old_lines or not new_lines:
        return []
    index: dict[str, list[tuple[Claim, str]]] = {}
    for line in old_lines:
        for c in _claims_of(line, page, title, aliases):
            for key in set(_keys(c)):
                index.setdefault(key, []).append((c, line))
    found: list[Found] = []
    seen: set[tuple[str, str]] = set()
    for line in new_lines:
        for new in _claims_of(line, page, title, aliases):
            candidates: dict[int, tuple[Claim, str]] = {}
            for key in _probe(new):
                for c, anchor in index.get(key, ()):
                    candidates.setdefault(id(c), (c, anchor))
            for old, anchor in candidates.values():
                if set(old.sources) & set(new.sources) or not old.sources:
                    continue
                if (anchor, line) in seen:
                    continue
                finding = judge(old, new, date_of(old.sources[0]), date_of(new.sources[0]))
                if finding is None or finding.id in known:
                    continue
                seen.add((anchor, line))
                found.append(Found(finding, page, anchor, line))
    return found
