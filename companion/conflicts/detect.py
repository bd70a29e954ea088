"""Detection: the conflicts and supersedes a page's new facts make with the facts it already holds.

`detect(page, title, aliases, before, after, new_sources, date_of, known, stored)` compares the
cited lines `after` adds to a page (the facts an ingest is about to write, citing one of
`new_sources`) with the cited lines `before` held (every cited fact on the page: ingest's bullets
and a person's lines alike; callout lines are not facts: `cited_lines`). Candidates come from an
index of the page's stored claims by attribute word, shared name, value kind and label class
(`_keys`; `claim_keys` for a line's claims): a new claim meets only the stored claims it shares a
key with, never every claim of the vault, and every pair `judge` can call a conflict shares one
(a shared attribute word, or an empty attribute and a value kind or label class in common).

That index is either the store's (`stored`: the claims sync computed for the page, looked up by
key, `companion.store.conflicts.Conflicts.candidates`), so an ingest parses only the new facts,
or, when the caller has none it can trust (the index is behind the page), one built here from
`before`, its claims read once per distinct line (`claims_of`, cached). Both give the same
candidates in the same order — by the first probe key they are filed under, then by their place
on the page — so the findings are the same either way.

A pair is judged once (`judge.judge`); a finding whose id is in `known` (a callout already on some
page, or a resolved conflict) is not raised again. Pure: the caller reads the pages, the index and
the sources' dates.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass
from datetime import date
from functools import lru_cache

from companion.conflicts.claims import Claim, claims, linked_names
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
def claims_of(
    line: str,
    page: str,
    title: str,
    aliases: tuple[str, ...],
    entities: frozenset[str] | None = None,
) -> tuple[Claim, ...]:
    """`claims.claims`, remembered per line: a page's unchanged lines are read once per
    process, however often the page is synced or checked."""
    return tuple(claims(line, page, title, aliases, entities))


def cited_lines(text: str) -> list[str]:
    """The lines of `text` that are facts: citing a source page, not inside a callout."""
    return [
        line.removesuffix("\r")
        for line in text.split("\n")  # markdown breaks lines at \n only, not at U+2028
        if "[[wiki/sources/" in line
        and not line.lstrip().startswith(">")
        and CITATION.search(line) is not None
    ]


def claim_keys(found: Iterable[Claim]) -> tuple[str, ...]:
    """The index keys of a line's claims, each once: what the stored index files the line under."""
    return tuple(dict.fromkeys(k for c in found for k in _keys(c)))


_ROLES = frozenset({"owner", "provider", "on-call"})


def _keys(c: Claim) -> Iterable[str]:
    """A stored claim's keys: its attribute words and name words; its value kinds and label
    classes too, as `v:`/`l:` when its attribute is empty (a bare `Hosting: Azure UK South`,
    which `judge` compares with any claim of that kind) and as `av:`/`al:` when it has one."""
    yield from ("w:" + w for w in c.attribute)
    yield from ("n:" + w for n in c.names for w in n.split())
    kind, klass = ("v:", "l:") if not c.attribute else ("av:", "al:")
    yield from (kind + _group(v) for v in c.values)
    yield from (klass + x.klass for x in c.labels)
    yield from ("r:" + x.klass for x in c.labels if x.klass in _ROLES)


def _probe(c: Claim) -> Iterable[str]:
    """The keys a new claim looks up: its attribute and name words, the kinds and classes of
    bare stored claims (`v:`/`l:`), and, when it is bare itself, those of every stored claim
    (`av:`/`al:`): a bare claim meets whatever states its kind of value, in either order."""
    yield from ("w:" + w for w in c.attribute)
    yield from ("n:" + w for n in c.names for w in n.split())
    yield from ("v:" + _group(v) for v in c.values)
    yield from ("l:" + x.klass for x in c.labels)
    yield from ("r:" + x.klass for x in c.labels if x.klass in _ROLES)  # who holds a role
    if not c.attribute:
        yield from ("av:" + _group(v) for v in c.values)
        yield from ("al:" + x.klass for x in c.labels)


Stored = Callable[[Collection[str]], list[tuple[Claim, str]]]


def detect(
    page: str,
    title: str,
    aliases: tuple[str, ...],
    before: str,
    after: str,
    new_sources: Collection[str],
    date_of: Callable[[str], date | None],
    known: Collection[str] = (),
    stored: Stored | None = None,
) -> list[Found]:
    """The findings the facts `after` adds make against those `before` held (module docstring).
    `stored`, when given, answers for `before`'s claims: (claim, its line) of every stored claim
    filed under any of the given keys, in the page's order, each once."""
    old_lines = cited_lines(before)
    held = set(old_lines)
    new_lines = [
        line
        for line in cited_lines(after)
        if line not in held and any(f"[[{s}]]" in line for s in new_sources)
    ]
    if not new_lines:
        return []
    held_names = linked_names(before)
    new_names = linked_names(after)
    found: list[Found] = []
    seen: set[tuple[str, str]] = set()
    if old_lines:
        lookup = (
            _from_text(old_lines, page, title, aliases, held_names)
            if stored is None
            else _ranked(stored)
        )
        for line in new_lines:
            for new in claims_of(line, page, title, aliases, new_names):
                for old, anchor in lookup(new):
                    if set(old.sources) & set(new.sources) or not old.sources:
                        continue
                    if old.fact == new.fact:
                        continue  # two sources in the same words agree, whatever their clauses
                    if (anchor, line) in seen:
                        continue
                    finding = judge(old, new, date_of(old.sources[0]), date_of(new.sources[0]))
                    if finding is None or finding.id in known:
                        continue
                    seen.add((anchor, line))
                    found.append(Found(finding, page, anchor, line))
    found += _within(new_lines, page, title, aliases, new_names, known)
    return found


def _within(
    lines: list[str],
    page: str,
    title: str,
    aliases: tuple[str, ...],
    entities: frozenset[str],
    known: Collection[str],
) -> list[Found]:
    """Supersedes inside one source: a later fact of it stating a change of an earlier one's
    value ("the alert threshold was 15 minutes" ... "lower the alert to 60 seconds"). Only
    supersedes: a source is not set against itself as a conflict (a misreading is likelier)."""
    order = {line: n for n, line in enumerate(lines)}
    lookup = _from_text(lines, page, title, aliases, entities)
    found: list[Found] = []
    for line in lines:
        for new in claims_of(line, page, title, aliases, entities):
            for old, anchor in lookup(new):
                if order[anchor] >= order[line] or old.sources != new.sources:
                    continue
                finding = judge(old, new)
                if finding is None or finding.verdict != "supersedes" or finding.id in known:
                    continue
                found.append(Found(finding, page, anchor, line))
    return found


Lookup = Callable[[Claim], list[tuple[Claim, str]]]


def _from_text(
    old_lines: list[str],
    page: str,
    title: str,
    aliases: tuple[str, ...],
    entities: frozenset[str] | None = None,
) -> Lookup:
    """Candidates from the page's text: its claims parsed (cached) and indexed by key here."""
    index: dict[str, list[tuple[Claim, str]]] = {}
    for line in old_lines:
        for c in claims_of(line, page, title, aliases, entities):
            for key in set(_keys(c)):
                index.setdefault(key, []).append((c, line))

    def lookup(new: Claim) -> list[tuple[Claim, str]]:
        candidates: dict[int, tuple[Claim, str]] = {}
        for key in _probe(new):
            for c, anchor in index.get(key, ()):
                candidates.setdefault(id(c), (c, anchor))
        return list(candidates.values())

    return lookup


def _ranked(stored: Stored) -> Lookup:
    """Candidates from the stored index, in the order `_from_text` gives them: by the first of
    the new claim's probe keys a candidate is filed under, then by its place on the page."""

    def lookup(new: Claim) -> list[tuple[Claim, str]]:
        probe = list(dict.fromkeys(_probe(new)))
        rank = {k: i for i, k in enumerate(probe)}
        found = stored(probe)
        first = [min(rank.get(k, len(rank)) for k in _keys(c)) for c, _ in found]
        order = sorted(range(len(found)), key=lambda i: first[i])  # stable: page order kept
        return [found[i] for i in order]

    return lookup
