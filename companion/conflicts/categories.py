"""Named values: the categories and names a fact states, where `values` reads numbers.

`labels(text)` finds, in a clause's text, the words that name one of a closed set of mutually
exclusive options — a *category* — and the names that fill a *role* (who owns, runs, provides
or hosts the subject). Each is a `Label`: its span, its class (`replication`, `requirement`,
`platform` … or a role such as `owner`), its normalised option, and whether the class is
*exclusive*. All of it is a pure function of the text; the vocabularies are generic English and
generic technology words, never a corpus's own names.

**Exclusive or not.** Some options cannot hold together by their meaning: a link replicates
synchronously or asynchronously, a step is mandatory or optional. Those classes are exclusive:
two different options on the same subject and attribute contradict. Others can: a fleet may run
Android and iOS, a service may sit in two regions, a system may have two suppliers. Two different
options of such a class contradict only when a side says it is the only one (`only`, `only ever`,
`always`, `exclusively`, `all`, `every`, `entirely`, `solely`): see `exclusive_cue`.

**Categories** (`_CATEGORY`), each option with its written forms:
- `replication`: synchronous (`sync`, `synchronously`) / asynchronous (`async`, ...);
- `requirement`: mandatory (`required`, `compulsory`, `obligatory`, `enforced`) / optional
  (`voluntary`, `not required`: a denial turns `required` into optional);
- `platform` (not exclusive): android, ios (`iphone`, `ipad`), windows, macos, linux, chromeos;
- `cloud` (not exclusive): aws, azure, google cloud;
- `region` (not exclusive): a cloud region written `<area> <direction>` (`UK South`,
  `West Europe`, `East US`, `Australia Central`) or `us-east-1`;
- `hosting` (exclusive): on-premises (`on-prem`, `self-hosted`) / SaaS;
- `deployment` (exclusive): blue-green / canary / rolling / big-bang;
- `lifecycle` (exclusive): retired (`decommissioned`, `shut down`, `end-of-life`) / active
  (`still on`, `still running`, `still in use`): "the old cluster has been decommissioned"
  against "the primary is still on it".

**Roles.** A name fills a role after `owned by`, `run by`, `managed by`, `maintained by`,
`operated by`, `supported by`, `covered by`, `provided by`, `supplied by`, `hosted by` (and
`owner`, `owning team`, `provider`, `supplier`, `vendor`, `operator`, `host` followed by `:` or
`is`), or before `owns`, `runs`, `manages`, `maintains`, `operates`, `provides`, `supplies`,
`hosts`. A name is a run of capitalised words, `&` and inner `of`/`and`/`for` allowed
(`Infrastructure & Hosting`, `Department of Health`), or a single lower-case word with a
hyphen or digit (`ops-team`). The roles group as `owner` (own, run, manage, maintain, operate,
support, cover) and `provider` (provide, supply, host, vendor): one subject has one owner of
an attribute at a time, so two owners neither of whose names holds the other's contradict
(`same_option`); providers need a cue, and `on-call` (who answers out of hours) is a role of its
own.

**Placement.** Where a workload runs or is read from, when the place is an identifier (a host,
a replica, a cluster, written in code or as a hyphenated name): "the report was run against
replica `db-2`", "analytics traffic is fully on db-analytics", "reads go to db-3". The class is
`placement`, not exclusive (a workload may span two hosts) unless a side says it is the only one.

The cues that a value is the only one are `_EXCLUSIVE_CUE`'s: `only`, `always`, `never`,
`every`, `all`, `exclusively`, `no other`, `any other`, `ever since`, `since go-live`, `since it
was first`, `from the start`, `has not changed`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Label:
    """One named value: `klass` its class, `option` its normal form, `start`/`end` its span."""

    klass: str
    option: str
    start: int
    end: int
    exclusive: bool


def _forms(mapping: dict[str, str], option: str, forms: str) -> None:
    for form in forms.split("|"):
        mapping[form] = option


_CATEGORY: dict[str, tuple[str, dict[str, str], bool]] = {}


def _category(klass: str, exclusive: bool, options: dict[str, str]) -> None:
    forms: dict[str, str] = {}
    for option, written in options.items():
        _forms(forms, option, written)
    _CATEGORY[klass] = (klass, forms, exclusive)


_category(
    "replication",
    True,
    {
        "synchronous": "synchronous|synchronously|sync|synchronised|synchronized",
        "asynchronous": "asynchronous|asynchronously|async",
    },
)
_category(
    "requirement",
    True,
    {
        "mandatory": "mandatory|compulsory|obligatory|required|enforced",
        "optional": "optional|voluntary",
    },
)
_category(
    "platform",
    False,
    {
        "android": "android",
        "ios": "ios|iphone|iphones|ipad|ipads|ipados",
        "windows": "windows",
        "macos": "macos|mac os|os x",
        "linux": "linux",
        "chromeos": "chromeos|chrome os|chromebook|chromebooks",
    },
)
_category(
    "cloud",
    False,
    {
        "aws": "aws|amazon web services",
        "azure": "azure|microsoft azure",
        "gcp": "gcp|google cloud|google cloud platform",
    },
)
_category(
    "lifecycle",
    True,
    {
        "retired": "decommissioned|retired|shut down|switched off|turned off|end-of-life|"
        "end of life|sunset|sunsetted|removed from service|taken out of service",
        "active": "still on|still running|still in use|still in service|still live|"
        "still runs|still uses",
    },
)
_category(
    "hosting",
    True,
    {
        "on-premises": "on-premises|on-premise|on premises|on-prem|self-hosted|in-house hosted",
        "saas": "saas|software as a service|software-as-a-service",
    },
)
_category(
    "deployment",
    True,
    {
        "blue-green": "blue-green|blue/green",
        "canary": "canary",
        "rolling": "rolling",
        "big-bang": "big-bang|big bang",
    },
)

_WORDS: dict[str, tuple[str, str, bool]] = {
    form: (klass, option, exclusive)
    for klass, forms, exclusive in _CATEGORY.values()
    for form, option in forms.items()
}
_CATEGORY_RE = re.compile(
    r"(?<![\w-])("
    + "|".join(re.escape(f) for f in sorted(_WORDS, key=len, reverse=True))
    + r")(?![\w-])",
    re.IGNORECASE,
)
_AREAS = (
    r"UK|US|EU|Europe|Asia|Australia|Canada|Japan|India|Brazil|France|Germany|Korea|"
    r"Switzerland|Norway|Sweden|Africa|America|Pacific|Atlantic|Ireland|Scotland"
)
_DIRECTIONS = r"North|South|East|West|Central|Northeast|Northwest|Southeast|Southwest"
_REGION = re.compile(
    rf"\b(?:(?:{_AREAS})\s+(?:{_DIRECTIONS})|(?:{_DIRECTIONS})\s+(?:{_AREAS}))\b"
    r"|\b[a-z]{2}-(?:north|south|east|west|central|northeast|northwest|southeast|southwest)-\d\b"
)
# A configuration setting written in code: `name = value`, or `name` was/is/set to `value`.
_SETTING = re.compile(
    r"`(?P<k>[A-Za-z_][\w.-]{2,})\s*[=:]\s*(?P<v>[^`\s][^`]*)`"
    r"|`(?P<k2>[A-Za-z_][\w.-]{2,})`\s+(?:was|is|=|set to|stays at|of)\s+`(?P<v2>[^`]+)`"
)
# A standard's release label after its name: `FHIR R4`, `FHIR STU3`, `HL7 v2` is a version.
_RELEASE = re.compile(r"\b(?P<p>[A-Z][A-Za-z0-9]+)\s+(?:release\s+)?(?P<r>R\d{1,2}|STU\d|DSTU\d)\b")
_RELEASE_ALONE = re.compile(r"\b(?P<r>STU\d|DSTU\d)\b")
_NOT_BEFORE = re.compile(r"\b(?:not|never|no longer)\s+(?:\w+\s+)?$", re.IGNORECASE)

_OWNER_VERBS = "own|run|manag|maintain|operat|support|cover|carri(?:es|ed)? out|perform"
_PROVIDER_VERBS = "provid|suppl|host"
_NAME = (
    r"(?P<name>(?:[A-Z][\w&'’.-]*|&)(?:\s+(?:[A-Z][\w&'’.-]*|&|of|and|for)(?=[\s,.;:)]|$))*"
    r"|[a-z][a-z0-9]*[-0-9][a-z0-9-]*)"
)
_BY = re.compile(
    rf"\b(?P<verb>{_OWNER_VERBS}|{_PROVIDER_VERBS}|maintenance|support|hosting)\w*\s+by\s+"
    rf"(?:the\s+)?{_NAME}",
)
_LABELLED = re.compile(
    r"\b(?P<verb>owner|owning team|owned by|provider|supplier|vendor|operator|host|run by|"
    r"managed by|supported by|carrier|on-call|out-of-hours on-call|out of hours)\)?\s*(?::|\bis\b)\s*(?:the\s+)?"
    + _NAME,
    re.IGNORECASE,
)
_APPOSITION = re.compile(
    r"\b(?P<verb>carrier|supplier|provider|vendor|owner|operator)s?,\s+(?:the\s+)?" + _NAME + r","
)
_FROM = re.compile(
    r"\b(?P<verb>on-call)(?:\s+(?:engineer|team|rota|cover))?\s+(?:from|in|at)\s+"
    r"(?:the\s+)?" + _NAME
)
_WHICH = re.compile(
    _NAME + r",?\s+(?:which|who)\s+(?:has|have|had)\s+(?:always\s+|also\s+)?"
    rf"(?P<verb>(?:{_OWNER_VERBS}|{_PROVIDER_VERBS})\w*)\b"
)
_AGENT = re.compile(
    rf"(?:^|[.;:]\s+){_NAME}(?:\s+team)?\s+(?:now\s+|still\s+|also\s+)?"
    rf"(?P<verb>owns|runs|manages|maintains|operates|provides|supplies|hosts)\b",
)
# Where a workload runs: a verb of running or reading, then (a few words on) an identifier; or
# "is (now/fully) on" an identifier. An identifier is code (`db-2`) or a hyphenated lower-case
# name with a digit or two hyphens (`pg-main-2`, `db-analytics`), never an ordinary word.
_IDENT = r"(?:`(?P<code>[A-Za-z][\w.-]*)`|(?P<host>[a-z][a-z0-9]*(?:-[a-z0-9]+)+))(?![\w-])"
_PLACEMENT = re.compile(
    r"\b(?:(?:run|runs|ran|running|served|serve|serves|read|reads|queried|query|queries|"
    r"point(?:s|ed)?|go(?:es)?|went|sent|routed|moved)\s+(?:directly\s+|only\s+)?"
    r"(?:against|on|from|to)|(?:is|are|was|were)\s+(?:now\s+|fully\s+|all\s+|entirely\s+)*on)"
    r"\s+(?:the\s+)?(?:[a-z]+\s+){0,2}?" + _IDENT
)
_EXCLUSIVE_CUE = re.compile(
    r"\b(?:only|only ever|always|exclusively|solely|entirely|fully|all|every|never|no other|any other"
    r"|ever since|since (?:it|they|we) (?:was|were|first)|since go-live|since launch"
    r"|from the start|has not changed|have not changed)\b",
    re.IGNORECASE,
)
_TRIM = re.compile(r"(?:\s+(?:of|and|for|&))+$")


def _role(verb: str) -> str:
    v = verb.lower()
    if v.startswith(("provid", "suppl", "host", "vendor", "carrier")):
        return "provider"
    if "on-call" in v or "out of hours" in v:
        return "on-call"  # who answers out of hours is not who owns it
    return "owner"


class _Found:
    """Labels found so far, without overlaps: the first reader to claim a span keeps it."""

    def __init__(self) -> None:
        self.labels: list[Label] = []
        self.taken: list[tuple[int, int]] = []

    def add(self, label: Label) -> None:
        a, b = label.start, label.end
        if all(b <= x or a >= y for x, y in self.taken):
            self.taken.append((a, b))
            self.labels.append(label)


def labels(text: str) -> list[Label]:
    """Every named value in `text`, in order, without overlaps (see the module docstring)."""
    found = _Found()
    _roles(text, found)
    for m in _SETTING.finditer(text):
        # `key = value` or `key` was `value`: a setting has one value at a time.
        group = "v" if m.group("v") is not None else "v2"
        key = m.group("k") or m.group("k2") or ""
        value = m.group(group).strip().lower()
        found.add(Label("setting:" + key.lower(), value, m.start(group), m.end(group), True))
    for pattern in (_RELEASE, _RELEASE_ALONE):
        for m in pattern.finditer(text):
            found.add(Label("release", m.group("r").upper(), m.start("r"), m.end("r"), False))
    for m in _REGION.finditer(text):
        found.add(Label("region", m.group().lower(), m.start(), m.end(), False))
    for m in _PLACEMENT.finditer(text):
        group = "code" if m.group("code") is not None else "host"
        ident = m.group(group)
        if group == "host" and not re.search(r"\d|-.*-", ident):
            continue  # `read-only`, `on-call`: a hyphenated word, not a host
        found.add(Label("placement", ident.lower(), m.start(group), m.end(group), False))
    for m in _CATEGORY_RE.finditer(text):
        klass, option, exclusive = _WORDS[m.group(1).lower()]
        if klass == "requirement" and _NOT_BEFORE.search(text, 0, m.start()):
            option = "optional" if option == "mandatory" else "mandatory"
        found.add(Label(klass, option, m.start(), m.end(), exclusive))
    return sorted(found.labels, key=lambda x: x.start)


def _roles(text: str, found: _Found) -> None:
    for pattern in (_LABELLED, _BY, _APPOSITION, _FROM, _WHICH, _AGENT):
        for m in pattern.finditer(text):
            name = _TRIM.sub("", m.group("name"))
            if not name or name.lower() in _NOT_NAMES:
                continue
            role = _role(m.group("verb"))
            a = m.start("name")
            found.add(Label(role, _norm_name(name), a, a + len(name), role != "provider"))


_NOT_NAMES = frozenset(
    ("the", "a", "an", "it", "they", "we", "this", "that", "each", "every", "all", "our")
)


def _norm_name(name: str) -> str:
    words = (re.sub(r"[’']s$", "", w.strip(".,;:()")).lower() for w in name.split())
    return " ".join(w for w in words if w)


def exclusive_cue(text: str) -> bool:
    """Whether `text` says its value is the only one (`only`, `always`, `never`, `all` ...)."""
    return _EXCLUSIVE_CUE.search(text) is not None


def same_option(a: Label, b: Label) -> bool:
    """Two labels name the same option: equal, or (names) one's words within the other's."""
    if a.option == b.option:
        return True
    if a.klass in ("owner", "provider", "on-call"):
        wa, wb = set(a.option.split()) - {"team"}, set(b.option.split()) - {"team"}
        return bool(wa) and bool(wb) and (wa <= wb or wb <= wa)
    return False
