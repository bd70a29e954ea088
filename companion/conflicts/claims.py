"""Claims: a fact reduced to statements about the page, each with its attribute, scope and values.

`claims(text, page, title, aliases, entities)` reads one fact (a bullet's or a sentence's text,
with or without its `- `, citation and block id) on the page `page` (vault path) named `title`
or one of `aliases` into a list of `Claim`, one per clause. `linked_names(page_text)` gives the
names of the wiki pages a page links to, the `entities` argument. Both are pure functions of
their arguments: no I/O, no clock, no model. `judge` decides which two claims are about the same
thing and whether they conflict; `detect` indexes them.

**Text.** The citation (`CITATION` of `companion.write.wiki`, SYSTEM.md §6) is cut out and its
source pages kept in `sources`; a trailing block id (`^i-1a2b3c4d`) and a leading `- ` are cut;
the space the citation leaves before a stop is closed up. That is the claim's `fact`; its
`text` is the clause.

**Clauses.** A fact is split where a new statement starts: a sentence end before a capital,
`;`, a dash between words (` — `, ` – `, ` - `), `, and <Capitalised>` (`, and Billing Engine
holds 2`; not `, and billing holds 2`), and a comma before `so`, `but`, `while`, `whereas`,
`although`, `though`, `with`, `as it`/`as they`, `and it`/`and they`/`and we`/`and the`/`and a`.
A colon splits only after a statement — an auxiliary or modal before it, or seven words or
more: `The ledger is replicated: the standby lags` is two, `Recovery time objective: 4 hours`
one. Every clause gives a claim.

**Table rows.** A labelled row as ingest writes it, `Label: cell; Label: cell` (two cells or
more; text after a `; ` that is no `Label:` continues the cell before), gives one clause per
labelled cell after the first, `Label: cell`, and one of the first cell too when it states
something (three words or more with an auxiliary, a modal or a denial: a risk register's
`Payouts do not wait for reconciliation`). The first cell names the row's thing: `row` is
it, lower-cased, and it heads `names` and `entities` — unless it names the page (the page's
name itself, or that name followed by words like `service`, `API`, `integration engine`:
`Ledger service` on the page `Ledger`, not `Ledger backups`), where `row` is `""` and adds no
name. Outside a row `row` is None. A two-column row `key — Header: value` is read as the one
clause `key (Header): value`.

**Subject and names.** Every claim's `subject` is the page: two claims are compared on one
page only. What tells two things on one page apart are the clause's `names`: runs of
capitalised words (joined by `of`, `and`, `for`, `&`) outside values and labels, lower-cased,
without a possessive (`VMs` -> `vm`); not the page's own names, month or weekday names, a label
before its colon (`Hosting:`), a version value's product, or a part of the page's name
(`PayHub` on `Acme PayHub`). A clause's first word starts a name only when it is no ordinary
word (stop words, `during`, `note`, ...) and has an inner capital or the next word is
capitalised (`PostgreSQL`, `Payments API`; not a sentence-initial `Nightly`). A classification
label (`Priority 2`, `Tier 1`: a version value whose product is a class word) is a name, not a
version. `entities` are the names that are linked pages: with `entities` given, the names whose
words are within one's (or one's within theirs) and the linked names the clause writes in lower
case (`webhook-dispatcher`, added to `names` too); without it, all names. So `Always On` in "a
SQL Server 2022 Always On availability group" is a name but, where only `sql server` is linked,
no entity. `lead` is what the clause starts with (after a determiner): `""` the page's name,
an entity's name, else None.

**Values.** `values` come from `companion.conflicts.values.values`, less: a time stamp that
opens the clause (a log's `06:05 Stopped ...`), a duration that is the first word of a
compound (`a month-end report`), a duration taken `at a time`, a year before a noun (`the 2024
budget`: a count from 1900 to 2099 whose written form does not end in `s`; `2023 records` is a
count), and a value inside a label (`max_delay = 30s` is the setting's). Money in a clause that
says `annual`, `yearly`, `per annum` or `p.a.` is a yearly rate (`per_year`). `polarity` is
`values.polarity` of the clause. A clause with neither a value nor a label gets one `boolean`
value, its truth the clause's polarity, on its predicate word when it is a *boolean statement*:
a copula or auxiliary before a participle or adjective (`is replicated`, `are not stored`), a
modal before a verb (`can refund`, `cannot retry`), or else the first denial cue (`never`, `no
longer`, `no failed payouts`); otherwise on no word.

**Labels.** `labels` are the clause's named values (`companion.conflicts.categories.labels`:
categories, role names, settings); `exclusive` says the clause gives its value as the only one
(`exclusive_cue`: `the only system of record`).

**Attribute.** What the clause states a value of: its content words, stemmed (a light suffix
stripper — plural `s`/`es`/`ies`, `ed`, `ing`, `ly`, a final `e` — and a table of irregular
verbs: `kept` -> `keep`), lower-cased, de-duplicated and sorted, after reading phrasal verbs and
their nouns as one word (`fails over` -> `failover`, `backed up` -> `backup`, `runs in` ->
`hosted`, `the move`/`the migration` -> `cutover`) and synonyms as one (`fee`, `cost`, `charge`
-> `price`; `owner` -> `own`; `vendor`, `supplier` -> `provid`). Left out: the spans of values
(not a boolean's word) and labels, the scope words, stop words, units of time, month and
weekday names, *light and change verbs* (`run`, `use`, `have`, `upgrade`, `reduce`, `move`,
`now`, `since`, ...), the page's own words and the names' words, so that "the database was
upgraded to PostgreSQL 16" has the attribute of "the ledger runs PostgreSQL 15". Added:
`version` for a version value (its product's word stays: `("postgresql", "version")`), the
counted noun for a count (`two replicas` -> `replica`), `enabled` for `enabled`/`disabled` and
`supported` for `supported`/`unsupported` (both truths of one attribute), and `limit` for an
upper bound (`up to 1,000 a second`, `within 2 days`). `surface` pairs each attribute word with
the word as written.

**Scope.** Words that make two claims about different things, from one generic vocabulary
(`_SCOPE`): statistics (`median`, `mean`/`average`, `peak`, `p50`.. `p999`, `95th percentile`
-> `p95`), environments (`production`/`prod`, `staging`, `test`, `sandbox`, `dev`, `dr`),
populations (`adult`, `child`/`paediatric`, `infant`, `elderly`), commitments (`contractual`,
`internal`, `target`, `sla`, `slo`), periods (`weekday`, `weekend`, `business hours`,
`off-peak`, `overnight`), inbound/outbound, and `per <noun>` / `each <noun>` for any noun that
is not a unit of time (`per merchant` -> `per:merchant`; `a <noun>` for the nouns prices and
limits are stated for: `£2 a study`). Synonyms share one token (`prod` and `production` are
`env:production`). Scope is a sorted tuple; `judge` compares claims within one scope (a claim
naming no environment counts as production's).

**Change.** `change` is True when the clause states a change over time: a change verb before
`from`/`to` (`upgraded from 14 to 15`, `reduced to 8 minutes`; not the bound `up to` of `fell up
to 14 minutes behind`), `up from`/`down from`, `no longer`, `used to`, `previously`,
`formerly`, `replaced`, `superseded`, `instead of`, `will be`/`will become`, a clause that
opens with `Set` and a code span, or `was ..., now`. Not `since`: "has used PostgreSQL 15
since October" pins a value to a period, it states no change.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, replace

from companion.conflicts.categories import Label, exclusive_cue, labels
from companion.conflicts.values import Value, per_year, polarity, values
from companion.write.wiki import CITATION, cited_sources


@dataclass(frozen=True, slots=True)
class Claim:
    """One clause of a fact, read as a claim (the module docstring says how each field is)."""

    page: str
    subject: str
    attribute: tuple[str, ...]
    scope: tuple[str, ...]
    values: tuple[Value, ...]
    polarity: bool
    text: str
    sources: tuple[str, ...]
    change: bool
    names: tuple[str, ...] = ()  # other names the clause is about (qualifiers), lower-cased
    labels: tuple[Label, ...] = ()  # named values: categories and role names
    exclusive: bool = False  # the clause says its value is the only one
    fact: str = ""  # the whole fact the clause was read from, cleaned
    surface: tuple[tuple[str, str], ...] = ()  # (stem, word as written) of the attribute
    row: str | None = None  # a table row's thing (its first cell), lower-cased; "" the page's
    entities: tuple[str, ...] = ()  # the names among `names` that are linked pages (or all)
    lead: str | None = None  # what the clause starts with: "" the page's name, or an entity's


# ---- vocabularies (generic English, no corpus words) -----------------------------------------


def _set(words: str) -> frozenset[str]:
    """A vocabulary written as whitespace-separated words."""
    return frozenset(words.split())


_STOP = _set(
    """a an the this that these those it its it's they them their there here of for to in on at
    by with from into onto out as and or but nor so if then than which who whom whose what when
    where while how why all any both each every either neither some such own same other another
    is are was were be been being am has have had having do does did doing can could may might
    must shall should will would not no never none nothing n't cannot also only just very more
    most less least few many much up down over under about around approximately roughly nearly
    circa within above below exceeding maximum minimum max min once again via per
    after before during between through until till whether even still already yet currently
    ever always usually typically generally one we us our you your i""",
)
_LIGHT_VERB_WORDS = _set(
    """run use have get make do go become take give set hold now since previously
    formerly upgrade downgrade migrate move change switch reduce increase raise lower cut bump
    drop extend shorten replace supersede longer used start begin occur happen execute
    perform operate"""
)  # stemmed below, once `_stem` is defined
_IRREGULAR = {
    "kept": "keep", "ran": "run", "running": "run", "held": "hold", "built": "build",
    "sent": "send", "spent": "spend", "paid": "pay", "made": "make", "took": "take",
    "taken": "take", "gave": "give", "given": "give", "went": "go", "gone": "go", "got": "get",
    "had": "have", "has": "have", "read": "read", "written": "write", "wrote": "write",
    "rose": "rise", "risen": "rise", "fell": "fall", "fallen": "fall", "cut": "cut",
    "set": "set", "lost": "lose", "left": "leave", "became": "become", "shown": "show",
    "grew": "grow", "grown": "grow", "began": "begin", "begun": "begin", "data": "data",
}  # fmt: skip
_AUX = _set(
    """is are was were be been being has have had does do did can cannot could may might must
    shall should will would isn't aren't wasn't weren't doesn't don't didn't can't won't""",
)
_COPULA = _set("is are was were be been being isn't aren't wasn't weren't")
_MODAL = _set("can cannot could may might must shall should will would can't won't mustn't")
_ADVERBS_SKIPPED = _set("not never no longer always also only still now fully")
_ADJECTIVE_END = ("ed", "en", "able", "ible", "ive", "ous", "ful", "ic", "al", "ent", "ant")
_TIME_NOUNS = _set(
    """second seconds sec secs minute minutes min mins hour hours hr hrs day days week weeks
    month months year years quarter quarters night nights""",
)
_CALENDAR = _set(
    """january february march april may june july august september october november december
    jan feb mar apr jun jul aug sep sept oct nov dec monday tuesday wednesday thursday friday
    saturday sunday""",
)  # what is left of a date `values` skips ("April 2024"): when, not what

# A boolean value's word, as `values` reads it, -> the attribute word both truths share
# (`enabled` and `disabled` state one attribute; `yes`/`no` state none).
_FLAG_WORDS = {"enabled": "enabled", "disabled": "enabled", "supported": "supported",
               "unsupported": "supported"}  # fmt: skip

# What "a <noun>" makes a rate of, like "per <noun>" ("£2 a study"): the nouns prices and
# limits are stated for. Others ("a backup", "a day") are things, or times (rates of time).
_RATE_NOUNS = _set(
    """study studies user users seat seats licence license transaction transactions message
    messages record records request requests call calls device devices patient patients
    customer customers account accounts item items unit units order orders test tests""",
)

# Scope words: a token, or a two-word phrase, -> its canonical scope token.
_SCOPE: dict[str, str] = {}


def _scope_add(token: str, forms: str) -> None:
    for form in forms.split("|"):
        _SCOPE[form] = token


_scope_add("stat:median", "median|p50|50th percentile")
_scope_add("stat:mean", "mean|average|avg|averaged")
_scope_add("stat:peak", "peak|peaks|peaked")
_scope_add("stat:p75", "p75|75th percentile")
_scope_add("stat:p90", "p90|90th percentile")
_scope_add("stat:p95", "p95|95th percentile")
_scope_add("stat:p99", "p99|99th percentile")
_scope_add("stat:p999", "p999|p99.9|99.9th percentile")
_scope_add("stat:tail", "tail")
_scope_add("env:production", "production|prod")
_scope_add("env:staging", "staging|stage|pre-production|preprod")
_scope_add("env:test", "test|tests|testing|qa|uat")
_scope_add("env:sandbox", "sandbox")
_scope_add("env:development", "development|dev")
_scope_add("env:dr", "dr|disaster recovery")
_scope_add("pop:adult", "adult|adults")
_scope_add("pop:child", "child|children|paediatric|pediatric|kids")
_scope_add("pop:infant", "infant|infants|neonatal")
_scope_add("pop:elderly", "elderly|senior|seniors")
_scope_add("commit:contractual", "contractual|contractually|sla|slas")
_scope_add("commit:internal", "internal|internally")
_scope_add("commit:target", "target|targets|targeted|goal|objective|slo|slos")
_scope_add("period:weekday", "weekday|weekdays")
_scope_add("period:weekend", "weekend|weekends")
_scope_add("period:business-hours", "business hours|office hours|working hours")
_scope_add("period:off-peak", "off-peak|offpeak")
_scope_add("period:overnight", "overnight")
_scope_add("dir:inbound", "inbound|incoming|ingress")
_scope_add("dir:outbound", "outbound|outgoing|egress")

# ---- patterns --------------------------------------------------------------------------------

_BLOCK_ID = re.compile(r"[ \t]+\^[A-Za-z0-9-]+[ \t]*$")
_BULLET = re.compile(r"^[ \t]*[-*+][ \t]+")
_SPACE_STOP = re.compile(r"[ \t]+([.!?;:,])")
_SPACES = re.compile(r"[ \t]{2,}")
_WORD = re.compile(r"[^\W\d_]\w*(?:['’][^\W\d_]+)?(?:[-.][^\W_]+)*")
_PER = re.compile(
    r"\b(?:per|each|for every|for each|an?)\s+((?:[A-Za-z][A-Za-z-]*\s+){0,2}?"
    r"[A-Za-z][A-Za-z-]*)(?=\s*(?:[,.;:)]|$|\s+(?:archived|stored|processed|sent|handled|created)\b))",
    re.IGNORECASE,
)
# `per`/`each` + one word, where the phrase does not end at a stop: "each merchant send".
_PER_WORD = re.compile(r"\b(?:per|each)\s+([A-Za-z][A-Za-z-]*)", re.IGNORECASE)
_PERCENTILE = re.compile(r"\b(?:p\d{2,3}(?:\.\d)?|\d{2}(?:\.\d)?th percentile)\b", re.IGNORECASE)
_CHANGE_VERB = (
    r"(?:upgrad|downgrad|migrat|mov|chang|switch|reduc|increas|rais|lower|cut|bump|drop|"
    r"extend|shorten|replac|rais|grew|grow|fell|fall|rose|ris)\w*"
)
_NEGATION = re.compile(
    r"\b(?:not|never|no longer|cannot|no|none|nothing|without)\b|n't\b", re.IGNORECASE
)


# ---- words, predicates, scope ----------------------------------------------------------------


def _clean(text: str) -> str:
    body = _BULLET.sub("", text.strip(), count=1)
    body = _BLOCK_ID.sub("", body)
    body = CITATION.sub("", body)
    body = _SPACE_STOP.sub(r"\1", body)
    return _SPACES.sub(" ", body).strip()


def _title(title: str) -> str:
    """A page title without a disambiguating suffix (`Idempotency (concept)`)."""
    return re.sub(r"\s*\([^)]*\)\s*$", "", title.strip()) or title.strip()


def _words(text: str) -> list[str]:
    return [m.group().replace("’", "'") for m in _WORD.finditer(text)]


def _stem(word: str) -> str:
    """A light, deterministic suffix stripper: enough to meet `keys`/`key`, `stored`/`stores`,
    `synchronously`/`synchronous`; not a linguistic stemmer."""
    w = word.lower().replace("’", "'")
    w = re.sub(r"'s$|s'$", "", w)
    if w in _IRREGULAR:
        return _IRREGULAR[w]
    if len(w) <= 3 or not w.isalpha():
        return w
    if w.endswith("ically"):
        return w[:-4]
    if w.endswith("ies") and len(w) > 4:
        w = w[:-3] + "y"
    elif w.endswith(("sses", "shes", "ches", "xes")):
        w = w[:-2]
    elif w.endswith("s") and not w.endswith(("ss", "us", "is")):
        w = w[:-1]
    if w.endswith("ly") and len(w) > 5:
        w = w[:-2]
    if w.endswith("ing") and len(w) > 5:
        w = _undouble(w[:-3])
    elif w.endswith("ed") and len(w) > 4:
        w = _undouble(w[:-2])
    if w.endswith("e") and len(w) > 3:
        w = w[:-1]
    return _IRREGULAR.get(w, w)


_LIGHT_VERBS = frozenset(_stem(w) for w in _LIGHT_VERB_WORDS)


def _undouble(w: str) -> str:
    if len(w) > 2 and w[-1] == w[-2] and w[-1] not in "lsz":
        return w[:-1]
    return w


def _boolean_statement(body: str) -> tuple[int, int] | None:
    """The predicate word of a boolean statement (see the module docstring), or None."""
    tokens = [(m.group().lower(), m.start(), m.end()) for m in _WORD.finditer(body)]
    for i, (w, _, _) in enumerate(tokens):
        if w not in _COPULA and w not in _MODAL:
            continue
        j = i + 1
        while j < len(tokens) and tokens[j][0] in _ADVERBS_SKIPPED:
            j += 1
        if j >= len(tokens):
            break
        nxt, s, e = tokens[j]
        if nxt in _STOP:
            continue
        if w in _MODAL or nxt.endswith(_ADJECTIVE_END) or nxt in _IRREGULAR:
            return s, e
    if polarity(body):
        return None
    m = _NEGATION.search(body)  # a denial `polarity` found: its first cue is the predicate
    if m is not None:
        return m.start(), m.end()
    return None


def _scope(view: str) -> tuple[tuple[str, ...], str]:
    """The scope tokens in `view`, and `view` with their words blanked."""
    found: set[str] = set()
    chars = list(view)

    def blank(a: int, b: int) -> None:
        chars[a:b] = " " * (b - a)

    low = view.lower()
    for m in _PERCENTILE.finditer(low):
        token = _SCOPE.get(m.group())
        if token is not None:
            found.add(token)
        blank(m.start(), m.end())
    for m in _PER.finditer(view):
        noun = m.group(1).lower().split()[-1]
        if m.group().lower().startswith(("a ", "an ")) and noun not in _RATE_NOUNS:
            continue
        if noun in _TIME_NOUNS or noun in _STOP:
            continue
        found.add("per:" + _stem(noun))
        blank(m.start(), m.end())
    for m in _PER_WORD.finditer("".join(chars)):
        noun = m.group(1).lower()
        if noun in _TIME_NOUNS or noun in _STOP:
            continue
        found.add("per:" + _stem(noun))
        blank(m.start(), m.end())
    for form, token in _SCOPE.items():
        if " " not in form and "-" not in form:
            continue
        for m in re.finditer(rf"\b{re.escape(form)}\b", "".join(chars).lower()):
            found.add(token)
            blank(m.start(), m.end())
    for m in _WORD.finditer("".join(chars)):
        token = _SCOPE.get(m.group().lower())
        if token is not None:
            found.add(token)
            blank(m.start(), m.end())
    return tuple(sorted(found)), "".join(chars)


# ---- clauses ---------------------------------------------------------------------------------

# Where one fact holds several statements: a sentence end, `;`, a dash between words, and the
# conjunctions that start a new statement. A colon splits only after a statement (a verb before
# it): `Recovery time objective: 4 hours` is one statement, `X has no offline mode: when ...` two.
_CLAUSE_BREAK = re.compile(
    r"(?<=[.!?])\s+(?=[A-Z])|;\s+|\s+[—–]\s+|\s+-{1,2}\s+"
    r"|,\s+(?=and\s+[A-Z][a-z])"
    r"|,\s+(?=(?:so|but|while|whereas|although|though|as it|as they|and it|and they|with|"
    r"and we|and the|and a)\b)"
)
_COLON = re.compile(r":\s+")
_KEYED_ROW = re.compile(r"^([^:;—]{1,80}?) — ([^:;]{1,60}?):\s+(.+?)\s*$")
_ROW_CELL = re.compile(r"^\s*([^:;]{1,60}?):\s+(.+?)\s*$")
_NAME_WORD = re.compile(r"[A-Z][\w&'’.-]*|[A-Za-z]*[a-z][A-Z][\w-]*")
_NAME_GLUE = frozenset({"&", "of", "and", "for"})
_ORDINARY_FIRST = _STOP | _set(
    """during because since after before when while if although though once until unless
    we our you your i he she they their its my nobody everyone each every all no
    note decision action owner""",
)


_LINKED = re.compile(r"\[\[wiki/(?!sources/)[^\]\[|#^]*/([^\]\[|#^/]+?)(?:[|#][^\]\[]*)?\]\]")


def linked_names(page_text: str) -> frozenset[str]:
    """The names of the wiki pages a page links to (its Related region, its facts' links),
    lower-cased: the entities a clause's names are checked against (`claims(entities=...)`)."""
    return frozenset(
        " ".join(_name_word(w) for w in m.group(1).split()) for m in _LINKED.finditer(page_text)
    )


def claims(
    text: str,
    page: str,
    title: str,
    aliases: tuple[str, ...] = (),
    entities: frozenset[str] | None = None,
) -> list[Claim]:
    """The claims one fact makes, one per statement (clause; see the module docstring):
    `text` a bullet's or sentence's text, `page` the vault path of the
    page it sits on, `title`/`aliases` that page's names. The subject of every claim is the page
    (two claims are compared only on one page); the names in a clause other than the page's
    are its `names`, which tell two entities on one page apart. With `entities` (the names of
    the pages the page links to, `linked_names`), only names of those count: `Always On` in
    "a SQL Server 2022 Always On availability group" is a feature, not another thing."""
    sources = tuple(cited_sources(text))
    body = _clean(text)
    own = {_stem(w) for name in (title, *aliases) for w in _words(_title(name))}
    own_names = {" ".join(_words(_title(n))).lower() for n in (title, *aliases)}
    keyed = _KEYED_ROW.match(body)
    if keyed is not None:  # a two-column row: `key — Header: value`, the key its attribute
        body = f"{keyed.group(1)} ({keyed.group(2)}): {keyed.group(3)}"
    row = _row_cells(body)
    clauses: list[tuple[str, tuple[str, ...]]] = []
    thing: str | None = None
    if row is not None:
        thing = " ".join(_words(row[0][1])).lower()
        if any(_is_page(thing, n) for n in own_names if n):
            thing = ""  # `Ledger service` on the page `Ledger`; not `Ledger backups`
        extra: tuple[str, ...] = (thing,) if thing else ()
        first = row[0][1].strip()
        if (
            _STATEMENT.search(first)
            and len(_words(first)) >= 3
            and not first.endswith("?")
            and not re.search(r"(?i)\b(?:must|should|shall)\b", " ".join(first.split()[:4]))
        ):
            # A first cell that states something (a risk register's "Payouts do not wait for
            # reconciliation") is a claim as well as the row's name.
            clauses.append((row[0][1], ()))
        for label, cell in row[1:]:
            clauses.append((f"{label}: {cell}", extra))
    else:
        for part in _split(body):
            clauses.append((part, ()))
    out: list[Claim] = []
    for part, qualifiers in clauses:
        c = _clause_claim(part, body, page, own, own_names, sources, qualifiers, entities)
        out.append(c if thing is None else replace(c, row=thing))
    return out


# A verb that makes a table cell a statement, not a name: an auxiliary, a modal or a denial.
# A question (`Is the ledger replicated?`) or a requirement (`must`, `should`) states nothing.
_STATEMENT = re.compile(
    r"(?i)\b(?:is|are|was|were|do|does|did|has|have|had|can|cannot|will|not|never|no longer)\b"
    r"|n't\b"
)

# Words that, after a page's name, still name the page (`Ledger service`, `Ledger API`).
_HEADS = _set(
    """system systems service services platform engine application app server servers
    database api tool suite software product integration module cluster instance"""
)


def _is_page(thing: str, name: str) -> bool:
    """Whether a row's first cell `thing` names the page called `name`: the name itself, or
    the name followed by words like `service` or `integration engine`."""
    if thing == name:
        return True
    if not thing.startswith(name + " "):
        return False
    rest = re.sub(r"\([^)]*\)", " ", thing[len(name) :]).split()
    return bool(rest) and all(w in _HEADS for w in rest)


def _row_cells(body: str) -> list[tuple[str, str]] | None:
    """A labelled table row (`Label: cell; Label: cell`, as ingest writes rows with a header)
    as (label, cell) pairs, or None when `body` is not one."""
    if ";" not in body:
        return None
    cells: list[tuple[str, str]] = []
    for part in body.split("; "):
        m = _ROW_CELL.match(part)
        if m is None:
            if not cells:
                return None
            label, cell = cells[-1]  # a cell holding "; " itself: the text goes on
            cells[-1] = (label, f"{cell}; {part.rstrip('.')}")
            continue
        cells.append((m.group(1), m.group(2).rstrip(".")))
    return cells if len(cells) >= 2 else None


def _split(body: str) -> list[str]:
    parts = [p.strip() for p in _CLAUSE_BREAK.split(body) if p and p.strip()]
    out: list[str] = []
    for part in parts:
        m = _COLON.search(part)
        if m is not None:
            left = part[: m.start()]
            left_words = {w.lower() for w in _words(left)}
            if left_words & _AUX or len(left_words) >= 7:
                out.extend(p for p in (left, part[m.end() :]) if p.strip())
                continue
        out.append(part)
    return out


def _name_word(w: str) -> str:
    """A name's word, lower-cased: without a possessive, and `PCs`/`VMs` as `pc`/`vm`."""
    w = re.sub(r"['’]s$", "", w)
    if len(w) >= 3 and w.endswith("s") and w[:-1].isupper():
        w = w[:-1]
    return w.lower()


def _names(clause: str, spans: list[tuple[int, int]], own_names: set[str]) -> list[str]:
    """Runs of capitalised words in `clause` outside `spans` (values and labels), without the
    page's own names, month and weekday names, or an ordinary sentence-initial word."""
    found: list[str] = []
    run: list[str] = []
    tokens = list(re.finditer(r"[\w&'’.-]+", clause))

    def close() -> None:
        while run and run[-1].lower() in _NAME_GLUE:
            run.pop()
        if run:
            name = " ".join(_name_word(w) for w in run)
            if name not in own_names and not all(w.lower() in _CALENDAR for w in run):
                found.append(name)
        run.clear()

    for n, m in enumerate(tokens):
        w = m.group().strip(".")
        inside = any(a <= m.start() < b for a, b in spans)
        capital = bool(w) and _NAME_WORD.fullmatch(w) is not None
        if n == 0 and capital and w.lower() in _ORDINARY_FIRST:
            capital = False
        if capital and clause[m.end() : m.end() + 1] == ":" and not run:
            capital = False  # a label (`Hosting: ...`), not a name
        if n == 0 and capital and not any(c.isupper() for c in w[1:]):
            nxt = tokens[1].group() if len(tokens) > 1 else ""
            capital = nxt[:1].isupper()
        if inside or not (capital or (run and w.lower() in _NAME_GLUE)):
            close()
            continue
        run.append(w)
    close()
    return found


# Words that name one attribute: a price is a fee is a cost; an owner owns.
_SYNONYMS = {
    "fee": "price", "pric": "price", "cost": "price", "charg": "price", "pay": "price",
    "tariff": "price", "owner": "own", "owning": "own", "supplier": "provid",
    "licenc": "licens", "defenc": "defens", "practic": "practis",
    "suppl": "provid", "vendor": "provid", "carrier": "provid", "host": "hosted",
    "report": "analytic",  # reporting is analytics traffic
}  # fmt: skip
# The products of `values` that are classification labels, not versions: `Priority 1` and
# `Priority 2` are two things (names), not one thing's two versions.
_CLASSES = _set(
    """tier level priority phase severity sev category class grade band stage step zone
    wave type"""
)


# Phrasal verbs and their nouns, read as one word: "fails over" is "failover".
_COMPOUNDS = [
    (re.compile(r"\bfail(?:s|ed|ing)?[ -]over\b", re.I), "failover"),
    (re.compile(r"\b(?:log|logs|logged|logging)[ -](?:in|on)\b", re.I), "login"),
    (re.compile(r"\b(?:sign|signs|signed|signing)[ -](?:in|on)\b", re.I), "signin"),
    (re.compile(r"\b(?:back|backs|backed|backing)[ -]up\b", re.I), "backup"),
    (re.compile(r"\b(?:cut|cuts|cutting)[ -]over\b", re.I), "cutover"),
    (re.compile(r"\b(?:go|goes|went|gone|going)[ -]live\b", re.I), "golive"),
    # To wait for a step is to be gated on it ("payouts do not wait for reconciliation").
    (re.compile(r"\b(?:wait|waits|waited|waiting)\s+(?:for|on)\b", re.I), "gated"),
    (re.compile(r"\b(?:gate|gates|gated|gating)\s+on\b", re.I), "gated"),
    # Where a system runs is where it is hosted.
    (re.compile(r"\b(?:run|runs|ran|running|hosted|hosts?)\s+(?:in|on)\b", re.I), "hosted"),
    # The day a system moves is its cutover, however it is called.
    (re.compile(r"\b(?<=the )(?:move|migration|relocation|switchover|switch-over)\b", re.I),
     "cutover"),
]  # fmt: skip


def _same_length(word: str) -> Callable[[re.Match[str]], str]:
    return lambda m: word.ljust(len(m.group()))


_ANNUAL = re.compile(r"\b(?:annual|annually|yearly|per annum|p\.a\.)(?![\w-])", re.IGNORECASE)


def _read_values(part: str) -> tuple[list[Value], list[str]]:
    """The values of a clause that state something, and its classification labels (`Priority
    2`: a name, not a version): a log's time stamp and "a week at a time" are left out."""
    found: list[Value] = []
    classes: list[str] = []
    for v in values(part):
        if v.kind == "version" and v.unit in _CLASSES:
            classes.append(f"{v.unit} {'.'.join(map(str, v.version or ()))}")
        elif v.kind == "time" and not part[: v.start].strip(" |"):
            continue  # a log's time stamp (`06:05 Stopped ...`): when, not what
        elif re.match(r"-[^\W\d_]", part[v.end :]):
            continue  # "a month-end report": a word of a compound, not a duration
        elif re.match(r"\s+at a time\b", part[v.end :]):
            continue  # "a week at a time": how work is taken in turns, not a measure
        elif v.kind == "money" and v.unit and "/" not in v.unit and _ANNUAL.search(part):
            found.append(per_year(v))  # "Annual support charge: GBP 184,000" is a rate
        elif (
            v.kind == "count"
            and v.magnitude is not None
            and 1900 <= v.magnitude <= 2099
            and float(v.magnitude).is_integer()
            and not v.raw.rstrip().lower().endswith("s")
        ):
            continue  # "the 2023 agreement": a year before a noun, not 2,023 agreements
        else:
            found.append(v)
    return found, classes


_DETERMINER = re.compile(r"^(?:the|our|its|their|a|an)\s+", re.IGNORECASE)


def _lead(part: str, own_names: set[str], entities: frozenset[str] | None) -> str | None:
    """What a clause names first: `""` when it starts with the page's own name, an entity's
    name (of `entities`) when it starts with that, else None ("Harbour depot has 14 roads" on
    the page of another depot starts with another entity)."""
    head = " ".join(_name_word(w) for w in _words(_DETERMINER.sub("", part.strip()))[:4])
    for name in sorted(own_names, key=len, reverse=True):
        if name and (head == name or head.startswith(name + " ")):
            return ""
    for name in sorted(entities or (), key=len, reverse=True):
        if name and (head == name or head.startswith(name + " ")):
            return name
    return None


def _linked_in(
    part: str, spans: list[tuple[int, int]], entities: frozenset[str], own_names: set[str]
) -> list[str]:
    """The linked pages' names a clause writes in lower case (whole words, outside values):
    capitalised ones are found as names already."""
    low = part.lower()
    out = []
    for name in entities:
        if not name or name in own_names or any(c.isupper() for c in name):
            continue
        for m in re.finditer(rf"(?<![\w-]){re.escape(name)}(?![\w-])", low):
            if part[m.start() : m.end()] == name and not any(a <= m.start() < b for a, b in spans):
                out.append(name)
                break
    return sorted(out)


def _an_entity(name: str, entities: frozenset[str]) -> bool:
    """Whether `name` names one of `entities`: one's words within the other's."""
    words = set(name.split())
    return any(words <= set(e.split()) or set(e.split()) <= words for e in entities if e)


def _clause_claim(
    part: str,
    fact: str,
    page: str,
    own: set[str],
    own_names: set[str],
    sources: tuple[str, ...],
    extra: tuple[str, ...],
    entities: frozenset[str] | None = None,
) -> Claim:
    found, classes = _read_values(part)
    named = labels(part)
    # A value inside a named one is that one's (`max_delay = 30s` is a setting's value).
    found = [v for v in found if not any(x.start <= v.start < x.end for x in named)]
    asserts = polarity(part)
    if not found and not named:
        # A statement with no value asserts or denies its predicate: a boolean claim, true
        # or false with the clause (its word, when a copula or modal shows one).
        predicate = _boolean_statement(part) or (0, 0)
        start, end = predicate
        found.append(Value("boolean", start, end, part[start:end], truth=asserts))
    spans = [(v.start, v.end) for v in found if v.kind != "boolean"]
    spans += [(x.start, x.end) for x in named]
    products = {w for v in found if v.kind == "version" and v.unit for w in v.unit.split()}
    names = [
        n
        for n in _names(part, spans, own_names)
        if not set(n.split()) <= products and not {_stem(w) for w in n.split()} <= own
    ]  # a part of the page's own name (`PayHub` on `Acme PayHub`) qualifies nothing
    # The names that tell entities apart: those of linked pages when the page's links are known
    # (`Always On` in "a SQL Server 2022 Always On availability group" is a feature).
    distinct = names if entities is None else [n for n in names if _an_entity(n, entities)]
    for linked in _linked_in(part, spans, entities or frozenset(), own_names):
        if linked not in names:  # a linked page written in lower case (`webhook-dispatcher`)
            names.append(linked)
            distinct.append(linked)
    names += [c for c in classes if c not in names]

    view = list(part)
    for a, b in spans:
        view[a:b] = " " * (b - a)
    scope, rest = _scope("".join(view))
    for pattern, word in _COMPOUNDS:
        rest = pattern.sub(word, rest)
    name_words = {_stem(w) for n in names for w in n.split()}
    words: dict[str, str] = {}
    for raw in _words(rest):
        lw = raw.lower()
        if lw in _STOP or lw in _TIME_NOUNS or lw in _CALENDAR:
            continue
        stem = _stem(lw)
        if stem in _LIGHT_VERBS or stem in own or stem in name_words or len(stem) < 2:
            continue
        words.setdefault(_SYNONYMS.get(stem, stem), raw)
    for v in found:
        if v.kind == "version":
            words.setdefault("version", "version")
        elif v.kind == "boolean" and v.raw.lower() in _FLAG_WORDS:
            words.setdefault(_FLAG_WORDS[v.raw.lower()], v.raw.lower())
        elif v.kind == "count" and v.unit:
            words.setdefault(_stem(v.unit.lower()), v.unit.lower())
        if v.kind in ("quantity", "count", "money", "percent") and v.bound in ("le", "lt"):
            words.setdefault("limit", "limit")  # "send up to 1,000 a second" states a limit
    return Claim(
        page=page,
        subject=page,
        attribute=tuple(sorted(words)),
        scope=scope,
        values=tuple(found),
        polarity=asserts,
        text=part,
        sources=sources,
        change=_CHANGE_ONLY.search(part) is not None,
        names=tuple(dict.fromkeys((*extra, *names))),
        labels=tuple(named),
        exclusive=exclusive_cue(part),
        fact=fact,
        surface=tuple(words.items()),
        entities=tuple(dict.fromkeys((*extra, *distinct))),
        lead=_lead(part, own_names, entities),
    )


# A change over time, stated: a change verb before from/to, `up from`/`down from`, `no longer`,
# `used to`, `previously`/`formerly`, `replaced`, `was ... now`. Not `since`: "has been two hours
# ever since go-live" pins a value to a period, it states no change.
_CHANGE_ONLY = re.compile(
    rf"\b{_CHANGE_VERB}\s+(?:[^\s.;]+\s+){{0,4}}?(?:from|(?<!\bup )to)\b"
    r"|\b(?:up|down)\s+from\b|\bno longer\b|\bused to\b|\bpreviously\b|\bformerly\b"
    r"|\breplaced\b|\bsuperseded\b|\binstead of\b|\bwill (?:be|become)\b|^\s*set\s+`"
    r"|\b(?:was|were)\b[^.;]{0,40}?,\s*(?:and\s+)?(?:it\s+|they\s+)?(?:is\s+|are\s+)?now\b",
    re.IGNORECASE,
)
