"""Judging a pair of claims: a conflict, a supersedes, or nothing to say.

`judge(old, new)` takes two claims on one page (`claims.claims`) from different sources and says
whether they cannot both be true (`conflict`), whether the newer one states a change from the
older one's value (`supersedes`), or neither (None). It is pure: the sources' dates come in as
arguments, and the same pair gives the same `Finding`, with the same id, in either order.

**About the same thing.** Both on one page (their subject) and:
- the same scope (`p95` never meets `median`, `production` never meets `test`);
- their other names meet: when both clauses name something besides the page, some name of one
  shares a word with some name of the other (`Harbour Street` and `Harbour Street Depot`
  meet; two teams' sizes on a department's page do not);
- their attributes overlap: the shared stems are at least half of the smaller attribute, and at
  least two when both have four or more (two long sentences sharing one word are not about one
  thing). Two empty attributes overlap (a bare `Version: 11.2` row against `running 10.4`).

**Values.** For each kind of value (a quantity's dimension, a count's noun, money's currency, a
date, a time, a product's version, a label's class) that *each side states exactly once*, the
pair is compared; a kind stated twice on a side (`12 servers in DC1, 6 in DC2`) is not, since
which of the two is meant cannot be told. Then, in this order:
1. any pair is the same value (`14 days` = `a fortnight`, `GBP 0.62` = `62p`) → nothing: a
   restatement, or an update that also states the old value;
2. every differing pair can still be true together (bounds: `at least 95%` and `98.6%`) → nothing;
3. a differing label of a class that is not exclusive (platforms, regions, suppliers) counts only
   when a side says it is the only one (`only ever`, `always`, `every`);
4. a side states a change (`upgraded from 7.0 to 8.0`, `reduced from 20 to 8 minutes`, `up from
   84`) → a `supersedes` when that side is the newer source (by the sources' dates; undated or
   same-day: the new fact is the newer); when the change is stated by the older side, nothing —
   the newer fact repeats an older value the change had left behind, or is about another moment;
5. the older side tells of one past event (`the report was run against db-2`) and the newer
   states how things are (`analytics traffic is fully on db-analytics`), not that they always
   were (`still`, `remains`) → a `supersedes`: an event back then does not dispute a later
   state (dates excepted: a past event's date is a fact of its own);
6. otherwise → a `conflict`.

**Booleans.** Two clauses with no comparable value but opposite polarity (`is replicated` / `is
not replicated`, `has no offline mode` / `recorded observations offline`) conflict when their
attributes overlap by at least two thirds, with at least one shared word that is not the
predicate's auxiliary. When a side states a change (`will be gated on it from Q1 2025`) the
pair is a `supersedes` if that side is the newer source, and nothing if it is the older.

**Ids.** `conflict-` plus six hex characters of a SHA-1 over the entity (a row's thing, else
the page's name), the kind of value and the two normalised values, sorted: a rebuild re-derives
the same id, and a third source restating either value gives the same id again (so a rejected
value is not raised a second time). A `superseded-` id also covers the replaced fact's text:
each fact a change replaces gets its own mark.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date
from typing import Literal

from companion.conflicts.categories import Label, same_option
from companion.conflicts.claims import Claim
from companion.conflicts.values import Value, compatible, same_value

Verdict = Literal["conflict", "supersedes"]


@dataclass(frozen=True, slots=True)
class Finding:
    """What `judge` found: `old` the stored claim, `new` the incoming one; for a `supersedes`,
    `replaced` says which of the two the change replaces ("old" or "new": a newer source read
    first can hold the change)."""

    verdict: Verdict
    id: str
    title: str
    old: Claim
    new: Claim
    category: str  # numeric, version, date, boolean, ownership, categorical
    replaced: Literal["old", "new"] = "old"


def _initials(short: str, long: str) -> bool:
    """Whether `short` (one word, maybe plural) is the initials of `long`'s words."""
    words = long.split()
    word = short.removesuffix("s") if len(short) > 2 else short
    return " " not in short and len(words) >= 2 and word == "".join(w[0] for w in words)


def _meet(a: Sequence[str], b: Sequence[str]) -> bool:
    """Whether two clauses' names can be of one thing: either has none, one's initials are the
    other (`TVM` and `ticket vending machines`), or one name is within the other."""
    from companion.conflicts.claims import _stem

    if not a or not b:
        return True
    if any(_initials(x, y) or _initials(y, x) for x in a for y in b):
        return True
    sa = [{_stem(w) for w in n.split()} for n in a]
    sb = [{_stem(w) for w in n.split()} for n in b]
    # One name within the other (`Harbour Street` and `Harbour Street Depot`), not one word in
    # common (`North Telescope` and `South Telescope` are two telescopes).
    return any(x <= y or y <= x for x in sa for y in sb)


def _same_scope(a: tuple[str, ...], b: tuple[str, ...]) -> bool:
    """Equal scopes; or scopes that differ only by one side saying `production`, where the
    other names no environment: a plain statement about a system is about its production."""
    if a == b:
        return True
    diff = set(a) ^ set(b)
    envs = {t for t in (*a, *b) if t.startswith("env:")}
    return diff == {"env:production"} and envs == {"env:production"}


def related(a: Claim, b: Claim) -> tuple[str, ...] | None:
    """The attribute stems `a` and `b` share when they are about the same thing (see the module
    docstring), else None."""
    if a.subject != b.subject or not _same_scope(a.scope, b.scope):
        return None
    if not _meet(a.entities, b.entities):
        return None
    if not _same_row_thing(a, b) or not _same_row_thing(b, a):
        return None
    leads = {a.lead, b.lead}
    if "" in leads and len(leads - {"", None}) > 0:
        return None  # one starts with the page's name, the other with another thing's
    sa, sb = set(a.attribute), set(b.attribute)
    if not sa or not sb:
        return ()  # a bare label (`Hosting: Azure UK South`): its values decide
    shared = sa & sb
    # A name both clauses use is part of what they are about (`FHIR` in "the FHIR interface
    # supports STU3" and "a FHIR R4 API").
    na = {w for n in a.names for w in n.split()}
    nb = {w for n in b.names for w in n.split()}
    shared |= {"name:" + w for w in na & nb}
    # Two role names (`owned by X`, `Owning team: Y`) state the same attribute: who holds it.
    roles = {x.klass for x in a.labels} & {x.klass for x in b.labels}
    roles &= {"owner", "provider", "on-call"}
    shared |= {"role:" + r for r in roles}
    if not shared:
        return None
    return tuple(sorted(shared))


def _same_row_thing(a: Claim, b: Claim) -> bool:
    """A table row is about its first cell: about the page (`""`), or about a thing `b` must be
    about too (another row about it, or a clause that names it)."""
    if a.row is None:
        return True
    if b.row is not None:
        return a.row == b.row
    if not a.row:
        return True
    fact = b.fact.lower()
    if a.row in fact:
        return True
    # "farepoint nightly backups" is named by "farepoint backups" (its last word, the thing),
    # "ticket vending machines" by "TVMs" (its initials).
    from companion.conflicts.claims import _stem, _words

    words = [w.lower() for w in _words(a.row)]
    said = {_stem(w.lower()) for w in _words(b.fact)}
    initials = "".join(w[0] for w in words if w)
    return (bool(words) and _stem(words[-1]) in said) or (
        len(initials) >= 2 and _stem(initials) in said
    )


def _strong(a: Claim, b: Claim, shared: tuple[str, ...]) -> bool:
    """Enough shared words for two values of one kind to be of one attribute: two, unless a
    side's attribute has fewer than three words, or one when both state the same scope."""
    if len(shared) >= 2 or min(len(a.attribute), len(b.attribute)) < 3:
        return True
    # One word and the same stated scope (`per merchant` on both sides) is as much.
    return bool(shared) and bool(a.scope) and a.scope == b.scope


def _group(v: Value) -> str:
    if v.kind in ("date", "boolean"):
        return v.kind
    if v.kind == "version":
        return "version:" + (v.unit or "").split()[-1] if v.unit else "version:"
    return f"{v.kind}:{v.unit}"


def _once(c: Claim) -> dict[str, Value]:
    """Each value kind the claim states exactly once, with its value; for a claim that states a
    change, the value it changes *to* when it states several (`upgraded from 4.2 to 5.0`)."""
    seen: dict[str, list[Value]] = {}
    counts = 0
    for v in c.values:
        if v.kind == "boolean" or (v.kind == "count" and v.unit is None):
            continue  # a bare number says nothing of what it counts
        counts += v.kind == "count"
        seen.setdefault(_group(v), []).append(v)
    out: dict[str, Value] = {}
    for k, vs in seen.items():
        if len(vs) > 1 and c.change:
            to = [v for v in vs if _TO_VALUE.search(c.text[: v.start])]
            vs = to[-1:] if len(to) == 1 else vs
        if len(vs) == 1 and not (vs[0].kind == "count" and counts > 1 and not c.change):
            out[k] = vs[0]
    return out


def _once_labels(items: Iterable[Label]) -> dict[str, Label]:
    seen: dict[str, list[Label]] = {}
    for x in items:
        seen.setdefault(x.klass, []).append(x)
    return {k: xs[0] for k, xs in seen.items() if len({y.option for y in xs}) == 1}


def _norm(v: Value) -> str:
    if v.kind == "date":
        return f"date:{v.date}"
    if v.kind == "version":
        return f"version:{v.unit}:{'.'.join(map(str, v.version or ()))}"
    if v.kind == "boolean":
        return f"boolean:{v.truth}"
    return f"{v.kind}:{v.unit}:{v.magnitude:g}:{v.bound}" if v.magnitude is not None else v.raw


def _category(kind: str) -> str:
    if kind.startswith("version"):
        return "version"
    if kind == "date":
        return "date"
    if kind in ("owner", "provider", "on-call"):
        return "ownership"
    if kind.startswith(("quantity", "count", "percent", "money", "time")):
        return "numeric"
    if kind == "boolean":
        return "boolean"
    return "categorical"


_TO_VALUE = re.compile(r"\b(?:to|now|will be|will become)\s+(?:[^\s.;,]+\s+){0,2}[*_`]*$", re.I)
_Diff = tuple[str, str, str, int, int]  # group, old normalised, new normalised, their starts
_CHANGED_VALUE = re.compile(
    r"(?:\b(?:from|to|now|instead of|into|will be|will become)\s+"
    r"(?:(?!(?:on|in|at|by|since|during)\b)[^\s.;,]+\s+){0,3}[*_`]*"
    r"|^\s*set\s+`[^`=]*=\s*)$",
    re.IGNORECASE,
)


# The new value before its cue: "93 live interfaces, up from 88".
_CHANGED_AFTER = re.compile(
    r"[^.;,]{0,40}?,?\s*(?:(?:up|down|rising|falling|increased|decreased|reduced|raised)\s+from"
    r"|instead\s+of)\b",
    re.IGNORECASE,
)


_CONTINUES = re.compile(
    r"\b(?:still|remains?|remained|continues? to|has always|have always|as before)\b", re.I
)


def _continues(c: Claim) -> bool:
    """Whether `c` says its value holds on ("still on 14", "remains at 1,000")."""
    return _CONTINUES.search(c.text) is not None


def _takes_effect_after(c: Claim, day: date | None) -> bool:
    """Whether the change `c` states takes effect after `day`: a date in the clause after it
    (a change announced ahead, "from 2024-10-15 the limit will be 500")."""
    return day is not None and any(v.kind == "date" and v.date and v.date > day for v in c.values)


def _changes(c: Claim, start: int) -> bool:
    """Whether `c` states a change of the value at `start`: a change cue, and the value inside
    its `from ... to ...` ("upgraded from 7.0 to 8.0", "up from 84", "moved to PostgreSQL 16";
    not the date of "since the move to the new site on 4 October")."""
    if not c.change:
        return False
    return (
        _CHANGED_VALUE.search(c.text[:start]) is not None
        or _CHANGED_AFTER.match(c.text, start) is not None
    )


def _entity(a: Claim, b: Claim) -> str:
    """What a pair is about, for its id: a row's thing (either side's: the id is the same in
    either order), else the page's name."""
    return a.row or b.row or a.page.rpartition("/")[2].removesuffix(".md").lower()


def ident(prefix: str, entity: str, what: str, a: str, b: str) -> str:
    """A stable block id for the finding (see the module docstring)."""
    key = "\x1f".join((entity, what, *sorted((a, b))))
    return f"{prefix}-" + hashlib.sha1(key.encode("utf-8")).hexdigest()[:6]


# What a label class disputes, in words, for a title.
_DISPUTED = {
    "lifecycle": "in service or retired", "replication": "replication mode",
    "requirement": "mandatory or optional", "platform": "platform", "cloud": "cloud",
    "region": "region", "release": "release", "hosting": "hosting model",
    "deployment": "deployment strategy", "owner": "owner", "provider": "provider",
    "on-call": "on-call", "placement": "where it runs",
}  # fmt: skip


def _title(claim: Claim, shared: tuple[str, ...], category: str, group: str = "") -> str:
    """What is disputed, in the claim's own words: the page's name, then the shared attribute
    words as the claim writes them, then, for a named value, what kind it is ("PostgreSQL:
    version, in service or retired"); the kind of value alone when nothing is shared."""
    page = claim.page.rpartition("/")[2].removesuffix(".md")
    words = " ".join([w for stem, w in claim.surface if stem in shared][:6])
    kind = _DISPUTED.get(group, "")
    if words and kind and kind not in words:
        return f"{page}: {words}, {kind}"
    what = words or kind or {"version": "version", "date": "date"}.get(category, category)
    return f"{page}: {what}"


def judge(
    old: Claim, new: Claim, old_date: date | None = None, new_date: date | None = None
) -> Finding | None:
    """The finding on `new` (the incoming claim) against `old` (a stored one), or None."""
    shared = related(old, new)
    if shared is None:
        return None
    values_compared, differing = _value_diffs(old, new, shared)
    labels_compared, label_diffs = _label_diffs(old, new, shared)
    differing += label_diffs
    compared = values_compared or labels_compared
    if not differing:
        if compared or old.polarity == new.polarity or not (_pure(old) and _pure(new)):
            return None
        return _boolean(old, new, shared, old_date, new_date)
    group, a, b, xs, ys = differing[0]
    category = _category(group)
    old_changes, new_changes = _changes(old, xs), _changes(new, ys)
    if old_changes or new_changes:
        newer_is_new = old_date is None or new_date is None or new_date >= old_date
        if old_changes and newer_is_new and _takes_effect_after(old, new_date):
            newer_is_new = (
                False  # "from 15 October it will be 500", said before a 1 October "1,000"
            )
        if (old_changes and newer_is_new and _continues(new)) or (
            new_changes and not newer_is_new and _continues(old)
        ):
            pass  # "upgraded to 15", then later "still on 14": the change is disputed
        elif (new_changes and newer_is_new) or (old_changes and not newer_is_new):
            return Finding(
                "supersedes",
                # One mark per replaced fact: two facts of a page stating the old value are
                # both superseded, each marked (a conflict is one id however shown).
                ident(
                    "superseded",
                    _entity(old, new),
                    group + "\x1f" + (old if new_changes and newer_is_new else new).fact,
                    a,
                    b,
                ),
                _title(new, shared, category, group),
                old,
                new,
                category,
                "old" if new_changes and newer_is_new else "new",
            )
        else:
            return None
    older_is_old = old_date is None or new_date is None or new_date >= old_date
    older, newer = (old, new) if older_is_old else (new, old)
    if (
        group != "date"
        and _past_event(older)
        and _present_state(newer)
        and not _continues(newer)  # "still on 14" says it held all along: that disputes
    ):
        # "The report was run against db-2" (once, in August), then "analytics traffic is on
        # db-analytics" (October): a past event does not dispute a later state; the state
        # is the fact from then on.
        return Finding(
            "supersedes",
            ident("superseded", _entity(old, new), group + "\x1f" + older.fact, a, b),
            _title(newer, shared, category, group),
            old,
            new,
            category,
            "old" if older_is_old else "new",
        )
    return Finding(
        "conflict",
        ident("conflict", _entity(old, new), group, a, b),
        _title(old, shared, category, group),
        old,
        new,
        category,
    )


# A clause telling of one past event: `was`/`were` and a participle ("was run", "were moved"),
# or a simple past ("ran"). A state now: `is`/`are`/`now`, with no past in the clause.
_PAST_EVENT = re.compile(
    r"\b(?:was|were)\s+(?:\w+ly\s+)?(?:\w+ed|run|done|made|sent|held|taken|written|read|"
    r"built|set|put|seen|given|kept|brought|shut|cut)\b|\bran\b",
    re.IGNORECASE,
)
_PRESENT = re.compile(r"\b(?:is|are|now)\b", re.IGNORECASE)
_PAST = re.compile(r"\b(?:was|were|had|did|used to)\b", re.IGNORECASE)


def _past_event(c: Claim) -> bool:
    return _PAST_EVENT.search(c.text) is not None and _PRESENT.search(c.text) is None


def _present_state(c: Claim) -> bool:
    return _PRESENT.search(c.text) is not None and _PAST.search(c.text) is None


def _denied_words(c: Claim) -> list[str]:
    """The attribute stems within three words after each denial cue of `c`'s text."""
    from companion.conflicts.claims import _COMPOUNDS, _NEGATION, _STOP, _WORD, _same_length, _stem

    text = c.text
    for pattern, word in _COMPOUNDS:
        text = pattern.sub(_same_length(word), text)
    out: list[str] = []
    for m in _NEGATION.finditer(text):
        after = [w for w in _WORD.finditer(text, m.end()) if w.group().lower() not in _STOP]
        out += [_stem(w.group().lower()) for w in after[:3]]
    return out


def _pure(c: Claim) -> bool:
    """A boolean statement only: no other value, no label."""
    return not c.labels and all(v.kind == "boolean" for v in c.values)


_NEAR = 6  # words (not counting stop words): how close to a value an attribute word must be


def _near_words(c: Claim, start: int, end: int) -> set[str]:
    """The attribute stems (and `name:` words) within `_NEAR` words of `start`..`end`."""
    from companion.conflicts.claims import (
        _COMPOUNDS,
        _STOP,
        _SYNONYMS,
        _WORD,
        _same_length,
        _stem,
    )

    text = c.text
    for pattern, word in _COMPOUNDS:  # the same length keeps the offsets
        text = pattern.sub(_same_length(word), text)
    words = [m for m in _WORD.finditer(text) if m.group().lower() not in _STOP]
    before = [m for m in words if m.end() <= start][-_NEAR:]
    after = [m for m in words if m.start() >= end][:_NEAR]
    near = set()
    if "limit" in c.attribute and "limit" not in text.lower():
        near.add("limit")  # the word a bound adds ("up to 1,000 a second") is the value's own
    for m in before + after:
        stem = _stem(m.group().lower())
        near.add(_SYNONYMS.get(stem, stem))
        near.add("name:" + m.group().lower())
    return near


def _near(
    a: Claim,
    x: tuple[int, int],
    b: Claim,
    y: tuple[int, int],
    shared: tuple[str, ...],
    labels: bool = False,
) -> bool:
    """Whether one shared attribute word stands near both values (`x` in `a`, `y` in `b`), so
    that both values are of it; always true when nothing is shared (both attributes empty, or
    only the words a value adds, like `version`). A shared name counts for labels only (`FHIR`
    near `R4` and near `STU3`), not for numbers (a supplier's name near two durations)."""
    if not shared or "version" in shared or any(w.startswith("role:") for w in shared):
        return True  # nothing to look for, or what the values are of is the value's own kind
    common = _near_words(a, *x) & _near_words(b, *y) & set(shared)
    words = {w for w in common if not w.startswith("name:")}
    return bool(words or (common and labels))


def _value_diffs(old: Claim, new: Claim, shared: tuple[str, ...]) -> tuple[bool, list[_Diff]]:
    """Whether any typed value pair was compared, and the pairs that differ: (group, old
    normalised, new normalised)."""
    va, vb = _once(old), _once(new)
    differing: list[_Diff] = []
    compared = False
    for group in sorted(va.keys() & vb.keys()):
        x, y = va[group], vb[group]
        same = same_value(x, y)
        if same is None:
            continue
        compared = True
        if same or not _strong(old, new, shared):
            continue  # restated (another value may still differ), or too little in common
        words = [w for w in shared if not w.startswith("name:")]
        if not words and (old.attribute or new.attribute):
            continue  # a bare value, or only a name in common: what the value is of is unknown
        limits = "limit" in shared and {x.bound, y.bound} <= {"le", "lt", "eq"}
        if limits and same_value(replace(x, bound="eq"), replace(y, bound="eq")):
            continue  # "up to 1,000 a second" and "the limit stays at 1,000": one limit
        if compatible(x, y) and not (x.bound == y.bound and x.bound != "eq") and not limits:
            continue  # a bound and a value inside it; two different limits do conflict
            # (and "the limit is 500" against "up to 1,000" are two limits)
        if not _near(old, (x.start, x.end), new, (y.start, y.end), shared):
            continue
        differing.append((group, _norm(x), _norm(y), x.start, y.start))
    return compared, differing


def _label_diffs(old: Claim, new: Claim, shared: tuple[str, ...]) -> tuple[bool, list[_Diff]]:
    """As `_value_diffs`, for named values (categories and role names)."""
    la, lb = _once_labels(old.labels), _once_labels(new.labels)
    differing: list[_Diff] = []
    compared = False
    for klass in sorted(la.keys() & lb.keys()):
        x, y = la[klass], lb[klass]
        compared = True
        if same_option(x, y):
            continue
        if not x.exclusive and not (old.exclusive or new.exclusive):
            continue
        roles = klass in ("owner", "provider", "on-call") and set(old.attribute) != set(
            new.attribute
        )
        if roles and not _strong(old, new, shared):
            continue  # "Owning team: X" and "Owner: a person" name two roles
        if not _near(old, (x.start, x.end), new, (y.start, y.end), shared, labels=True):
            continue
        differing.append((klass, f"{klass}:{x.option}", f"{klass}:{y.option}", x.start, y.start))
    return compared, differing


def _same_predicate(a: Claim, b: Claim) -> bool:
    """Both clauses hang their truth on one predicate word (`have been encrypted` / `have never
    been encrypted`): then the attribute overlap need not be large."""
    from companion.conflicts.claims import _LIGHT_VERBS, _stem

    pa = {_stem(v.raw.lower()) for v in a.values if v.kind == "boolean" and v.raw.strip()}
    pb = {_stem(v.raw.lower()) for v in b.values if v.kind == "boolean" and v.raw.strip()}
    return bool(pa & pb - {"no", "not", "never", "us"} - _LIGHT_VERBS)  # `us`: use, using


# A change told of the past ("used to wait", "previously replicated"): what held before, which
# the older yes/no may well agree with; not a new state that replaces it.
_BEFORE = re.compile(r"\b(?:used to|previously|formerly)\b", re.I)
_NEW_STATE = re.compile(r"\b(?:no longer|will|now|from|as of|since)\b", re.I)


def _boolean(
    old: Claim,
    new: Claim,
    shared: tuple[str, ...],
    old_date: date | None = None,
    new_date: date | None = None,
) -> Finding | None:
    sa, sb = set(old.attribute), set(new.attribute)
    small = min(len(sa), len(sb))
    words = [w for w in shared if not w.startswith("name:")]
    if len(words) < 2 or (len(words) * 3 < small * 2 and not _same_predicate(old, new)):
        return None
    denied = old if not old.polarity else new
    if not set(_denied_words(denied)) & set(words):
        return None  # what is denied is not what the other asserts ("never by a supplier")
    a, b = f"polarity:{old.polarity}", f"polarity:{new.polarity}"
    if old.change or new.change:
        # "Payouts do not wait for reconciliation", then later "payouts will be gated on it
        # from Q1 2025": a stated change, by the newer side, supersedes; by the older, nothing.
        newer_is_new = old_date is None or new_date is None or new_date >= old_date
        changing = new if newer_is_new else old
        past_only = _BEFORE.search(changing.text) and not _NEW_STATE.search(changing.text)
        if changing.change and not _continues(changing) and not past_only:
            replaced: Literal["old", "new"] = "old" if newer_is_new else "new"
            gone = old if newer_is_new else new
            key = " ".join(sorted(words))
            return Finding(
                "supersedes",
                ident("superseded", _entity(old, new), key + "\x1f" + gone.fact, a, b),
                _title(new if newer_is_new else old, shared, "boolean"),
                old,
                new,
                "boolean",
                replaced,
            )
        return None
    return Finding(
        "conflict",
        ident("conflict", _entity(old, new), " ".join(sorted(words)), a, b),
        _title(old, shared, "boolean"),
        old,
        new,
        "boolean",
    )
