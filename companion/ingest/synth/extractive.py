"""The extractive synthesizer: offline and deterministic (same source and pages, same result).

Nothing is written or paraphrased: every fact is a unit of the source (`units.units`: a sentence,
list item or table row, with its exact span), and every subject is a name the source itself
uses. What it decides is which units are facts, which names deserve a page, and which facts are
about which page.

Facts: every unit, less the plain non-facts: questions, greetings and thanks, and TODO lines.
A table row's fact is its cells labelled with their headers (`units.py`), but everything below
reads a row as its cells alone, joined with ` | `: a header repeated on every row is no name,
no concept and no mention.

Subjects, conservatively (a page nobody needs is noise):

1. What the vault already knows. Every `KnownPage` title and alias found in the text (whole words,
   case-insensitive, longest first) is that page: `Subject.name` is its title, `existing` its
   path. Eligible: wiki pages other than `source` and `answer` pages, and people's notes outside
   `wiki/` — those only by their title, written exactly, and only when the title looks like a
   name (several words, or a capital or digit inside: `Architecture Overview`, not `Overview`), so
   the writer links to the note instead of creating a duplicate. One mention is enough.
2. Names the text uses, found in the facts (headings, e-mail headers and signatures are not facts):
   runs of capitalised words (`Alice Chen`, `Infrastructure & Hosting`; a sentence's first word
   is dropped when it is a stop word or an imperative — `If PayHub`, `Ask Northwind` — or an
   ordinary word of this document before a name that also stands alone — `Outside Help
   Desk` — but kept in `Payments Platform`, whose second word never starts a name by
   itself; honorifics and legal suffixes trimmed: `Dr Tobias Fairweather` -> `Tobias
   Fairweather`, `Harbourline Payments Ltd` -> `Harbourline Payments`), CamelCase words
   (`PayHub`, `vSphere`), acronyms of three or more capitals or two with digits (`PSP`,
   `DC2`; not generic ones such as `UTC`, `HTTP`, `MUST`, not one used as a common noun: `per
   MID`, `VMs`, or one defined by a lower-case phrase, `recovery time objective (RTO)`), single
   capitalised words never written in lower case (`Kafka`, `Marketly`; one seen only at sentence
   starts, `Sofia reported`, counts only as a mention of a longer name), kebab-case
   identifiers (`pg-ledger-2`, `tw-node-a`: with a digit, in backticks, or standing where a name
   stands — before punctuation, after a bracket, at a sentence start — and not an ordinary
   compound such as `on-call`, `sign-off`), dotted identifiers in backticks (`payments.events`),
   and lower-case names that start a sentence (`webhook-dispatcher sends ...`) and are never capitalised.
   Such a name needs two mentions.
3. Table subjects: the first column of a table whose rows name things (its header says `System`,
   `Team`, `Service`..., or most of its first cells are names) is a subject with one mention; a
   cell holding a known name (`Kestrel message broker`) is about that name instead.

Variants merge into one subject: case (`ledger service` / `Ledger Service`), an explicit short
form (`CardNet Gateway (CardNet)`, `Clinical Digital Services (CDS)`: an alias), and a shorter
name that is the start or end of exactly one longer one (`Ravi` / `Ravi Menon`, `PayHub` /
`Acme PayHub`). The page is named after the longer form unless the short one is written at
least twice as often and the long one is no person's full name (`PayHub`, alias `Acme
PayHub`; but `Sofia Lindqvist`, however often `Sofia` is written); a defined short form names
its definition (`Clinical Digital Services`, alias `CDS`); a bare first name is a mention, not an
alias. The vault's own title always wins.

Concepts: recurring noun phrases of two or three words (no stop words, not inside an entity's
name) seen at least three times in at least two units (`site duty manager`, `service credit`),
at most six per source, named singular in title case (`Service Credit`, `Double-Entry
Bookkeeping` keeps its hyphen); known `concept` pages always match by title or alias.

`Fact.about`: every subject whose name, alias or mention form the fact contains (whole words),
in order of first appearance.

Summary: 3 to 7 facts (about one in eight; all of them when the source has fewer than 3), in
source order, table rows only when there are too few sentences. With an embedder: the facts
nearest the centroid of all facts, picked by maximal marginal relevance (0.7 relevance, 0.3
diversity) so they are not five versions of one point (a long source: `MAX_EMBEDDED` evenly
spaced facts). Without one: a fixed score — the first fact of a section, numbers, named
subjects, a readable length; less for field lines (`Owner: ...`) and lower-case list
fragments — at most two per section.
Ties always go to the earlier fact, so the result is deterministic either way.
"""

from __future__ import annotations

import functools
import math
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from itertools import pairwise
from typing import TYPE_CHECKING

from companion.ingest.result import Converted, Fact, KnownPage, Subject, SubjectKind, Synthesis
from companion.ingest.units import TableRow, Unit, table_rows, units

if TYPE_CHECKING:
    from companion.embed.base import Embedder

MIN_MENTIONS = 2
MAX_CONCEPTS = 6
SUMMARY_MIN = 3
SUMMARY_MAX = 7
MAX_EMBEDDED = 400  # facts embedded for the summary of a long source
_MMR_RELEVANCE = 0.7


_WORD = re.compile(r"\w+")


@functools.lru_cache(maxsize=1 << 17)
def _name_words(name: str) -> tuple[str, ...]:
    """A page name's words, case-folded (cached: a big vault's names are read for every source)."""
    return tuple(_WORD.findall(name.casefold()))


def _wordset(words: str) -> frozenset[str]:
    return frozenset(words.split())


_STOPWORDS = _wordset(
    """a an the and or nor but if then else when while where which who whom whose what why how
    that this these those there here it its it's he she they we you i me my our your their his
    her them us of to in on at by for with from as into onto over under about above below after
    before between through during since until till via per than so such not no nor only also just
    very too even ever never still yet again once both each every all any some many much more most
    few less least other another same own is are was were be been being am has have had having
    do does did doing done can could will would should shall may might must need needs needed get
    gets got make makes made take takes took keep keeps kept use uses used let lets say says said
    see sees saw new old first last next previous current following up down out off one two three
    four five six seven eight nine ten eleven twelve twenty hundred thousand million billion half
    day days week weeks month months year years hour hours minute minutes second seconds time
    times today tomorrow yesterday morning evening night weekend weekends tonight now soon later
    early late often always sometimes usually around almost about approx approximately etc
    e.g i.e vs against within without across along among toward towards upon because although
    though whether either neither whatever however therefore thus hence instead rather already
    well back away yes ok okay please thanks thank hi hello dear regards best cheers
    mr mrs ms dr prof sir dame st lot lots thing things way ways part parts kind sort type""",
)
_MONTHS_DAYS = _wordset(
    """january february march april may june july august september october november december
    jan feb mar apr jun jul aug sep sept oct nov dec monday tuesday wednesday thursday friday
    saturday sunday mon tue tues wed thu thur thurs fri sat sun""",
)
_GENERIC_NAMES = _wordset(
    """internet web email e-mail wi-fi wifi cloud online offline priority severity status decision
    action actions note notes summary version phase step stage section table figure appendix
    chapter part item items page level tier type category class grade option options risk risks
    issue issues impact owner owners date time period term fee total update draft final review
    approved rejected chosen done yes no attendees present chair place agenda subject from to cc
    re fw fwd incident postmortem contract policy report meeting board team""",
)
# Never part of a name: `the Harbour Point Wi-Fi outage` names Harbour Point.
_NOT_IN_NAMES = _wordset("wi-fi wifi internet email e-mail web online offline")
# Imperatives that start action items (`Ask Northwind for ...`): not the first word of a name.
_IMPERATIVES = _wordset(
    """ask add agree alert allow apply approve arrange assign book bring build buy call cancel
    change check choose clarify clean clear close collect complete confirm consider contact
    continue create decide define delete deliver deploy describe design document draft drop
    email enable encode ensure enter escalate establish estimate evaluate explain find finish fix
    follow gather get give go hold identify implement improve include inform install investigate
    keep let list log look make mark measure meet merge migrate monitor move note notify obtain
    open order organise organize pick place plan prepare present print produce provide publish
    put raise read record reduce refresh register release remind remove rename renew replace
    report request resend reset resolve restart restore retire return review revoke rewrite roll
    run schedule see send set share ship show sign speak spend start stop submit suggest supply
    switch take talk tell test track train transfer try tune turn update upgrade upload use
    validate verify visit wait warn watch write""",
)
# Verb forms and predicative adjectives that end a noun phrase (`went live` is no concept).
_NOT_IN_CONCEPTS = _wordset(
    """went gone came come ran run took taken gave given made held kept left lost met paid said
    sent shown stood told won wrote written began begun brought bought built caught chose chosen
    fell felt found grew grown heard knew known led meant rose saw seen sold spent spoke struck
    taught thought threw understood became become did done got gotten had put cut hit let shut
    live available late due ready able likely unable possible""",
)
# Second words of an organisation's name: `Kestrel Systems` is not Kestrel's full name.
_ORG_WORDS = _wordset(
    """software systems system imaging networks network telecom technologies technology
    solutions labs lab group data health services service partners consulting cloud digital bank
    capital acquiring payments gateway hospital infirmary university council trust foundation
    inc ltd limited corp corporation company co media energy medical clinical""",
)
_HONORIFICS = _wordset("dr mr mrs ms mx prof sir dame lord lady rev")
_LEGAL_SUFFIXES = _wordset(
    "ltd ltd. limited inc inc. llc plc corp corp. gmbh ag sa llp b.v. bv n.v. nv"
)
_CONNECTORS = _wordset("& van von de der da du la le del di")
_ACRONYM_STOP = _wordset(
    """UTC GMT CET CEST BST EST EDT PST PDT HTTP HTTPS API APIS URL URI CSV PDF JSON XML YAML HTML
    SQL EUR GBP USD CHF JPY TB GB MB KB PB GHZ MHZ CPU GPU RAM SSD HDD OK ID IDS IT TBD TODO FYI
    ASAP CEO CTO CFO COO CIO CISO CCIO VP VPN DNS TCP UDP SSH SFTP FTP TLS SSL UI UX QA KPI SLA
    SLO ETA EOD EOW NB PS RE FW FWD MUST SHALL SHOULD MAY NOT REQUIRED OPTIONAL RECOMMENDED AND OR
    NOTE WARNING IMPORTANT NO YES ISO RFC USA EU UK US UN AI ML FAQ HQ HR RFP RFQ SOW NDA ADR AM
    PM THE FOR ALL NEW""",
)
_ACRONYM_CODE = re.compile(r"^(?:SEV|P|Q|H|V|R|S|T)\d+$")
# Tokens before an acronym that make it a common noun: `per MID`, `an API`, `one PC`.
_COUNTING = _wordset("a an per each every one another additional any no two three several multiple")
_NAME_HEADERS = _wordset(
    """system systems service services team teams name names application applications app apps
    vendor vendors supplier suppliers product products component components site sites
    organisation organization company companies person people database databases tool tools
    platform platforms department departments hospital hospitals server servers host hosts
    environment environments module modules repository repositories library libraries""",
)
_NOT_NAME_HEADERS = _wordset(
    """item items measure measures metric metrics field fields key keys property properties
    attribute parameter parameters setting settings step steps time date priority risk risks
    action actions option options question questions issue issues event events stage phase
    category type value values""",
)
_KEBAB_STOP = _wordset(
    """re pre non co sub self e x anti multi post semi inter intra ex ad mid over under out up off
    on in to of by and the per one two three first second third last end day week month year
    time long short high low well half all full real part follow go live back down through away
    like based wide free side level line facing term run drop sign set check roll cut switch
    meet me cross counter top bottom left right so much""",
)

_TOKEN = re.compile(r"[^\W_]+(?:[-'’.][^\W_]+)*|&")
_BACKTICKS = re.compile(r"`([^`\n]+)`")
_KEBAB = re.compile(r"^[a-z][a-z0-9]*(?:-[a-z0-9]+)+$")
_DOTTED = re.compile(r"^[a-z][a-z0-9]*(?:[.-][a-z0-9]+)+$")
_POSSESSIVE = re.compile(r"['’]s$")
_VERSION_TAIL = re.compile(r"\s+v?\d+(?:\.\d+)*[a-z]?$")
_PAREN_TAIL = re.compile(r"\s*\([^()]*\)$")
_UNSAFE_NAME = re.compile(r"[\[\]|#^:*\"\\/<>?]")
_SPACE = re.compile(r"\s+")
_DIGIT = re.compile(r"\d")
_QUESTION = re.compile(r"\?\s*[\"'”’)*_]*$")
_GREETING = re.compile(
    r"^(?:hi|hello|hey|dear|good (?:morning|afternoon|evening)|thanks|thank you|many thanks|"
    r"cheers|best|regards|kind regards|welcome)\b",
    re.I,
)
_TODO = re.compile(r"^\W*(?:todo|tbd|fixme|xxx)\b", re.I)
_SENTENCE_GAP = re.compile(r"[.!?|]")
_FIELD_LINE = re.compile(r"^[^\W\d_][^:.!?]{0,40}:\s")


# -- facts ---------------------------------------------------------------------------------------


# A document's own bookkeeping, not a fact about its subjects: who attended or wrote it, when the
# page was updated, how it is classified; and a line that only introduces what follows (`The
# service covers:`).
_BOOKKEEPING = re.compile(
    r"(?i)^(?:\\?\**)?(?:(?:prepared|written|compiled|authored|minuted|taken) by\b|"
    r"(?:present|attendees|attending|participants|apologies|absent|in attendance|written|"
    r"author|authors|minutes|chair|note-taker|distribution|circulation|classification|"
    r"(?:page )?last (?:updated|reviewed|edited)|document (?:owner|history|control)|subject|"
    r"cc|bcc)\b[^.]{0,12}?(?::|\bby\b|\bon\b))"
)
_CONFIDENTIAL = re.compile(r"(?i)\b(?:confidential|internal use only|do not distribute)\b\.?$")


def _is_fact(unit: Unit) -> bool:
    """Plain non-facts are dropped: questions, greetings and thanks, TODO lines, a document's
    bookkeeping (attendees, authors, last-updated lines) and lines ending in a colon."""
    if unit.kind == "row":
        return True
    text = unit.text
    if _QUESTION.search(text) or _TODO.match(text):
        return False
    if _BOOKKEEPING.match(text) or _CONFIDENTIAL.search(text):
        return False
    if text.rstrip().endswith(":") and ". " not in text:
        return False  # one lead-in sentence ("The service covers:"); joined to a fact, it stays
    return not (_GREETING.match(text) and len(text.split()) <= 8)


# -- tokens --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Tok:
    text: str  # possessive `'s` removed
    initial: bool  # starts a sentence or a table cell
    joinable: bool  # only a space separates it from the token before
    ends: bool  # a possessive or punctuation follows: nothing joins after it
    ticked: bool  # inside backticks
    after_paren: bool
    before_stop: bool  # followed by , . ; : ) or the end


def _tokens(text: str) -> list[_Tok]:
    ticked = [(m.start(), m.end()) for m in _BACKTICKS.finditer(text)]
    out: list[_Tok] = []
    previous_end = 0
    matches = list(_TOKEN.finditer(text))
    for index, match in enumerate(matches):
        gap = text[previous_end : match.start()]
        word = match.group(0)
        possessive = bool(_POSSESSIVE.search(word))
        if possessive:
            word = _POSSESSIVE.sub("", word)
        following = text[match.end() : match.end() + 1]
        after = text[match.end() :].lstrip()[:1]
        out.append(
            _Tok(
                text=word,
                initial=index == 0 or bool(_SENTENCE_GAP.search(gap)),
                joinable=index > 0 and gap.strip(" ") == "",
                ends=possessive or (following not in (" ", "") and following != "&"),
                ticked=any(a <= match.start() < b for a, b in ticked),
                after_paren=gap.rstrip().endswith("("),
                before_stop=after in ("", ",", ".", ";", ":", ")") or index == len(matches) - 1,
            )
        )
        previous_end = match.end()
    return out


def _shape(word: str) -> str:
    """`acronym`, `camel`, `title`, `lower` or `number`."""
    first = word[0]
    if first.isdigit():
        return "number"
    letters = [c for c in word if c.isalpha()]
    if len(letters) >= 2 and all(c.isupper() for c in letters):
        return "acronym"
    if any(a.islower() and b.isupper() for a, b in pairwise(word)):
        return "camel"
    return "title" if first.isupper() else "lower"


def _words_of(text: str) -> list[str]:
    return [m.group(0) for m in _TOKEN.finditer(text)]


def _key(surface: str) -> str:
    return _SPACE.sub(" ", surface).strip().casefold()


def _clean(name: str) -> str:
    out = _UNSAFE_NAME.sub("", name)
    return _SPACE.sub(" ", out).strip(" .-")


def _singular(word: str) -> str:
    lower = word.lower()
    if len(lower) <= 3 or lower.endswith(("ss", "us", "is", "ics")):
        return word
    if lower.endswith("ies") and len(lower) > 4:
        return word[:-3] + "y"
    if lower.endswith(("ches", "shes", "xes", "sses", "zes")):
        return word[:-2]
    if lower.endswith("s"):
        return word[:-1]
    return word


def _plural_pattern(word: str) -> str:
    """A regex for `word` (singular) and its plural."""
    escaped = re.escape(word)
    lower = word.lower()
    if lower.endswith("y") and len(lower) > 2 and lower[-2] not in "aeiou":
        return re.escape(word[:-1]) + "(?:y|ies)"
    if lower.endswith(("ch", "sh", "x", "ss", "z")):
        return escaped + "(?:es)?"
    return escaped + "s?"


# -- the mention matcher ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Form:
    pattern: str  # regex source, no groups
    key: str  # the subject (group) it names
    length: int  # for longest-first ordering


class _Matcher:
    """All mention forms as one regex, longest first, whole words (a hyphen or a dot followed by a
    word character continues a word: `ledger` is not found in `pg-ledger`)."""

    def __init__(self, forms: Iterable[_Form]) -> None:
        ordered = sorted(set(forms), key=lambda f: (-f.length, f.pattern, f.key))
        self.keys: list[str] = []
        parts: list[str] = []
        for form in ordered:
            parts.append(f"(?P<g{len(self.keys)}>{form.pattern})")
            self.keys.append(form.key)
        body = "|".join(parts)
        self.regex = re.compile(rf"(?<![\w-])(?:{body})(?![\w-]|\.\w)") if parts else None

    def find(self, text: str) -> list[str]:
        """The keys mentioned in `text`, one per mention, in order."""
        if self.regex is None:
            return []
        out: list[str] = []
        for match in self.regex.finditer(text):
            name = match.lastgroup
            if name is not None:
                out.append(self.keys[int(name[1:])])
        return out


def _literal(surface: str, *, case_sensitive: bool) -> str:
    words = [re.escape(w) for w in surface.split()]
    body = r"\s+".join(words)
    return body if case_sensitive else f"(?i:{body})"


# -- subjects --------------------------------------------------------------------------------------


@dataclass(slots=True)
class _Candidate:
    key: str
    kind: SubjectKind = "entity"
    surfaces: Counter[str] = field(default_factory=Counter)  # how it is written -> discoveries
    case_sensitive: bool = False
    known: KnownPage | None = None
    table: bool = False  # a table subject: one mention is enough
    mention_only: set[str] = field(default_factory=set)  # merged forms that are no alias
    defined: str | None = None  # the full name an explicit short form was defined by
    absorbed: list[_Candidate] = field(default_factory=list)

    @property
    def tokens(self) -> int:
        return max(len(s.split()) for s in self.surfaces) if self.surfaces else 0


def _eligible(page: KnownPage) -> bool:
    if page.type in ("source", "answer"):
        return False
    if page.path.startswith("wiki/"):
        return not page.path.startswith(("wiki/sources/", "wiki/answers/"))
    return not page.path.startswith("sources/")


def _note_title_ok(title: str) -> bool:
    """A person's note matches only by a title that looks like a name, not `Overview`."""
    words = title.split()
    if len(words) >= 2:
        return True
    return bool(re.search(r"\d|-|[a-z][A-Z]|^[A-Z]{2,}$", title))


class _Subjects:
    """Finds the subjects of one source's facts (see the module docstring)."""

    def __init__(
        self, facts: Sequence[Unit], rows: Sequence[TableRow], known: Sequence[KnownPage]
    ) -> None:
        self.facts = facts
        self.rows = [row for row in rows if any(row.unit.start == f.start for f in facts)]
        self.known = known
        self.candidates: dict[str, _Candidate] = {}
        self.alias_of: dict[str, str] = {}  # a known page's other names -> its candidate
        self.lower_words: set[str] = set()
        self.capital_words: set[str] = set()
        self.common_acronyms: set[str] = set()
        self.standalone: set[str] = set()  # capitalised words that start a name mid-sentence
        self.weak: set[str] = set()  # keys only ever seen at a sentence start
        for unit in facts:
            for word in _words_of(unit.text):
                (self.lower_words if word[0].islower() else self.capital_words).add(word)
            tokens = _tokens(unit.text)
            for before, tok in zip([None, *tokens], tokens, strict=False):
                starts_run = (
                    before is None
                    or not tok.joinable
                    or before.ends
                    or not before.text[0].isupper()
                )
                if not tok.initial and tok.text[0].isupper() and starts_run:
                    self.standalone.add(tok.text)

    # -- discovery --

    def _add(
        self, surface: str, *, case_sensitive: bool = False, table: bool = False, weak: bool = False
    ) -> None:
        surface = _SPACE.sub(" ", surface).strip()
        if not surface or not re.search(r"[^\W\d_]", surface):
            return
        key = self._resolve(_key(surface))
        if weak and key not in self.candidates:
            self.weak.add(key)
        elif not weak:
            self.weak.discard(key)
        candidate = self.candidates.get(key)
        if candidate is None:
            candidate = self.candidates[key] = _Candidate(key, case_sensitive=case_sensitive)
        candidate.surfaces[surface] += 1
        candidate.table = candidate.table or table

    def _resolve(self, key: str) -> str:
        """The candidate a name's key belongs to: a known page's alias leads to its page."""
        return self.alias_of.get(key, key)

    def _known(self) -> None:
        """One candidate per eligible page, its title and aliases its surfaces; a name two pages
        share goes to the first (wiki pages before notes, then by path)."""
        # Only names whose every word occurs in the source can match: a vault of 10,000 pages
        # must not become a 10,000-way regex (and a quadratic pairing of its names) per source.
        present: set[str] = set()
        for unit in self.facts:
            present.update(_WORD.findall(unit.text.casefold()))

        def mentioned(name: str) -> bool:
            words = _name_words(name)
            return bool(words) and all(word in present for word in words)

        tails = _known_tails([page for page in self.known if _eligible(page)])
        tailed = {id(page) for tail, page in tails.items() if mentioned(tail)}
        ordered = sorted(
            (
                page
                for page in self.known
                if _eligible(page)
                and (id(page) in tailed or any(mentioned(n) for n in (page.title, *page.aliases)))
            ),
            key=lambda p: (not p.path.startswith("wiki/"), p.path),
        )
        for page in ordered:
            in_wiki = page.path.startswith("wiki/")
            names = [
                _SPACE.sub(" ", n).strip()
                for n in ([page.title, *page.aliases] if in_wiki else [page.title])
            ]
            names += [tail for tail, owner in tails.items() if owner is page]
            free = [
                name
                for name in dict.fromkeys(names)
                if len(name) >= 2
                and mentioned(name)
                and re.search(r"[^\W\d_]", name)
                and (in_wiki or _note_title_ok(name))
                and _key(name) not in self.candidates
                and _key(name) not in self.alias_of
            ]
            if not free:
                continue
            key = _key(free[0])
            kind: SubjectKind = "concept" if page.type == "concept" else "entity"
            self.candidates[key] = _Candidate(
                key, kind, Counter(dict.fromkeys(free, 1)), case_sensitive=not in_wiki, known=page
            )
            for name in free[1:]:
                self.alias_of.setdefault(_key(name), key)

    def _discover(self) -> None:
        for unit in self.facts:
            tokens = _tokens(unit.text)
            self._sequences(tokens)
            self._identifiers(tokens, unit)
            self._common_acronyms(tokens)

    def _sequences(self, tokens: Sequence[_Tok]) -> None:
        run: list[_Tok] = []
        for tok in tokens:
            if run and (not tok.joinable or run[-1].ends):
                self._run(run)
                run = []
            if self._in_name(tok, first=not run):
                run.append(tok)
            else:
                self._run(run)
                run = []
        self._run(run)

    def _in_name(self, tok: _Tok, *, first: bool) -> bool:
        word = tok.text
        if word.lower() in _CONNECTORS:
            return not first
        if word.lower() in _MONTHS_DAYS or word.lower() in _NOT_IN_NAMES or tok.ticked:
            return False
        shape = _shape(word)
        if shape == "acronym":  # `DC2` stands alone; `CN-THROTTLE` is a code, not a name
            return not _DIGIT.search(word) and "-" not in word
        return shape in ("camel", "title") and word[0].isupper()

    def _run(self, run: list[_Tok]) -> None:
        while run and (
            run[-1].text.lower() in _CONNECTORS or run[-1].text.lower() in _LEGAL_SUFFIXES
        ):
            run = run[:-1]
        while run and run[0].text.lower() in _HONORIFICS:
            run = run[1:]
        if run and run[0].initial and self._drops_first(run):
            run = run[1:]
        while run and run[0].text.lower() in _CONNECTORS:
            run = run[1:]
        if len(run) >= 2 and all(_shape(t.text) == "acronym" for t in run):
            for tok in run:  # `MUST NOT`, `HL7 ADT`: acronyms side by side are no one name
                self._single(tok)
        elif len(run) >= 2:
            self._add(" ".join(t.text for t in run))
        elif len(run) == 1:
            self._single(run[0])

    def _drops_first(self, run: Sequence[_Tok]) -> bool:
        """Whether a run's sentence-initial first word is no part of the name: a stop word or an
        imperative (`If PayHub`, `Ask Northwind`), or an ordinary word of this document
        before a name that also stands alone (`Outside Help Desk`); `Payments Platform`
        keeps `Clinical`, since `Applications` never starts a name by itself."""
        lower = run[0].text.lower()
        if lower in _STOPWORDS or lower in _IMPERATIVES or lower in _MONTHS_DAYS:
            return True
        if not self._ordinary(run[0].text):
            return False
        return len(run) == 1 or run[1].text in self.standalone

    def _ordinary(self, word: str) -> bool:
        """A capitalised sentence-initial word that is an ordinary word of this document."""
        if _shape(word) in ("camel", "acronym"):
            return False
        lower = word.lower()
        return lower in _STOPWORDS or lower in self.lower_words or lower in _GENERIC_NAMES

    def _single(self, tok: _Tok) -> None:
        word = tok.text
        shape = _shape(word)
        lower = word.lower()
        if shape == "camel":
            self._add(word, case_sensitive=True)
        elif shape == "acronym":
            self._acronym(word)
        elif shape == "title":
            if lower in _STOPWORDS or lower in _GENERIC_NAMES or lower in _MONTHS_DAYS:
                return
            if lower in _IMPERATIVES or re.fullmatch(r"[A-Z]{2,}s", word):
                return  # `PCs`, `VMs`: acronyms in the plural are common nouns
            if lower not in self.lower_words and len(word) > 2:
                # at a sentence start only a mention of a longer name (`Sofia reported`)
                self._add(word, case_sensitive=True, weak=tok.initial)

    def _acronym(self, word: str) -> None:
        if "-" in word or "." in word:
            return  # `CN-THROTTLE`, `INC-2025-0412`: codes
        letters = sum(1 for c in word if c.isalpha())
        if word.upper() in _ACRONYM_STOP or _ACRONYM_CODE.match(word):
            return
        if letters >= 3 or (letters >= 2 and _DIGIT.search(word)):
            self._add(word, case_sensitive=True)

    def _identifiers(self, tokens: Sequence[_Tok], unit: Unit) -> None:
        for tok in tokens:
            word = tok.text
            if _shape(word) == "acronym" and _DIGIT.search(word) and not word[0].isdigit():
                self._acronym(word)
            if word[0].isupper() or word[0].isdigit():
                continue
            if (_KEBAB.match(word) and self._identifier_like(tok)) or (
                tok.ticked and _DOTTED.match(word) and "." in word
            ):
                self._add(word, case_sensitive=True)
            elif tok.initial and "-" not in word:
                self._lower_name(word, unit)

    def _identifier_like(self, tok: _Tok) -> bool:
        word = tok.text
        if tok.ticked or _DIGIT.search(word):
            return True
        if any(part in _KEBAB_STOP for part in word.split("-")):
            return False
        return tok.initial or tok.before_stop or tok.after_paren

    def _lower_name(self, word: str, unit: Unit) -> None:
        """`webhook-dispatcher sends ...`: a sentence may start lower-case only with a name."""
        if unit.kind == "item" or word in _STOPWORDS or len(word) < 3:
            return
        if word.capitalize() in self.capital_words or not word.isalpha():
            return
        self._add(word, case_sensitive=True)

    def _common_acronyms(self, tokens: Sequence[_Tok]) -> None:
        """`per MID`, `additional MIDs`: an acronym used as a common noun is not a name."""
        for before, tok in pairwise(tokens):
            word = tok.text
            if re.fullmatch(r"[A-Z]{2,}s", word):
                self.common_acronyms.add(word[:-1].casefold())
            elif _shape(word) == "acronym" and before.text.lower() in _COUNTING:
                self.common_acronyms.add(word.casefold())

    def _defined_lower(self) -> None:
        """`recovery time objective (RTO)`: an acronym defined by a common noun is none."""
        for unit in self.facts:
            for match in re.finditer(r"([^\W\d_]+)\s*\(([A-Z][A-Z0-9]{1,9})\)", unit.text):
                if match.group(1)[0].islower():
                    self.common_acronyms.add(match.group(2).casefold())
        for key in list(self.candidates):
            candidate = self.candidates[key]
            if candidate.known is None and key in self.common_acronyms:
                del self.candidates[key]

    # -- tables --

    def _tables(self) -> None:
        for rows in _group_tables(self.rows):
            if not self._subject_table(rows):
                continue
            for row in rows:
                cell = _subject_cell(row.cells[0]) if row.cells else ""
                if cell and not self._holds_candidate(cell):
                    self._add(cell, table=True)

    def _subject_table(self, rows: Sequence[TableRow]) -> bool:
        header = rows[0].header[0].strip().lower() if rows[0].header else ""
        if header in _NOT_NAME_HEADERS or len(rows) < 2:
            return False
        if header in _NAME_HEADERS:
            return True
        names = sum(
            1 for row in rows if row.cells and self._strict_name(_subject_cell(row.cells[0]))
        )
        return names * 2 >= len(rows)

    def _strict_name(self, cell: str) -> bool:
        words = cell.split()
        if not words:
            return False
        if len(words) == 1:
            word = words[0]
            return (
                _shape(word) in ("camel", "acronym")
                or bool(_KEBAB.match(word))
                or self._resolve(_key(word)) in self.candidates
            )
        return all(
            self._in_name(_Tok(w, False, True, False, False, False, False), first=i == 0)
            for i, w in enumerate(words)
        )

    def _holds_candidate(self, cell: str) -> bool:
        """A cell naming a known thing (`Kestrel message broker`) marks that thing."""
        words = cell.split()
        for size in range(len(words), 0, -1):
            for start in range(len(words) - size + 1):
                key = self._resolve(_key(" ".join(words[start : start + size])))
                candidate = self.candidates.get(key)
                if candidate is not None and (
                    size > 1 or candidate.case_sensitive or candidate.known
                ):
                    candidate.table = True
                    return True
        return False

    # -- counting and merging --

    def forms(self, keys: Iterable[str]) -> list[_Form]:
        """The mention forms of the candidates `keys`: wiki pages in any case, notes exactly as
        titled, a discovered single word exactly as written, a phrase in any case."""
        forms: list[_Form] = []
        for key in keys:
            candidate = self.candidates[key]
            known = candidate.known
            for surface in candidate.surfaces:
                if known is not None:  # wiki pages by any case, notes exactly as titled
                    sensitive = not known.path.startswith("wiki/")
                else:  # a single word exactly as written (`Teams`, not `teams`), phrases by any case
                    sensitive = len(surface.split()) == 1
                forms.append(_Form(_literal(surface, case_sensitive=sensitive), key, len(surface)))
        return forms

    def _count(self, keys: Iterable[str]) -> Counter[str]:
        matcher = _Matcher(self.forms(keys))
        counts: Counter[str] = Counter()
        for unit in self.facts:
            counts.update(matcher.find(unit.text))
        return counts

    def _partners(self, keys: Sequence[str]) -> dict[str, str]:
        """short key -> the one longer key it starts or ends (`ravi` -> `ravi menon`)."""
        longer: dict[str, list[str]] = defaultdict(list)
        split = {key: key.split() for key in keys}
        for short in keys:
            if self.candidates[short].known is not None:
                continue
            words = split[short]
            for long in keys:
                other = split[long]
                if len(other) > len(words) and (
                    other[: len(words)] == words or other[-len(words) :] == words
                ):
                    longer[short].append(long)
        return {short: longs[0] for short, longs in longer.items() if len(longs) == 1}

    def _settle(self) -> Counter[str]:
        """Drop names mentioned too rarely, longest first (a dropped long name may hide a short
        one inside it), counting a short form with the long one it will merge into."""
        while True:
            keys = sorted(self.candidates)
            counts = self._count(keys)
            partners = self._partners(keys)
            merged = Counter(counts)
            for short, long in partners.items():
                merged[long] += counts[short]
                merged[short] += counts[long]
            below = [key for key in keys if not self._enough(key, merged[key])]
            if not below:
                return counts
            unseen = [key for key in below if self.candidates[key].known is not None]
            if unseen:  # a known page the source never names competes with nothing
                for key in unseen:
                    del self.candidates[key]
                continue
            longest = max(self.candidates[key].tokens for key in below)
            for key in below:
                if self.candidates[key].tokens == longest:
                    del self.candidates[key]

    def _enough(self, key: str, count: int) -> bool:
        candidate = self.candidates[key]
        if candidate.known is not None or candidate.table:
            return count >= 1 or candidate.table
        return count >= MIN_MENTIONS

    def _explicit_aliases(self) -> None:
        """`CardNet Gateway (CardNet)`, `Clinical Digital Services (CDS)`: a short form in
        brackets right after a name, spelling its initials or one of its words, is an alias."""
        for unit in self.facts:
            for match in re.finditer(r"\(([^\W_][\w-]{1,20})\)", unit.text):
                short = self._resolve(_key(match.group(1)))
                before = unit.text[: match.start()].rstrip()
                if short not in self.candidates or self.candidates[short].known is not None:
                    continue
                long = self._candidate_ending(before)
                if long is not None and long != short and _abbreviates(match.group(1), long):
                    self._merge(short, long, alias=True)
                    target = self.candidates.get(long)
                    if target is not None and target.defined is None:
                        target.defined = before.split()[-1] and _tail(before, len(long.split()))

    def _candidate_ending(self, text: str) -> str | None:
        words = text.split()
        for size in range(min(6, len(words)), 1, -1):
            key = self._resolve(_key(" ".join(words[-size:])))
            if key in self.candidates:
                return key
        return None

    def _merge(self, short: str, long: str, *, alias: bool) -> None:
        source = self.candidates.pop(short, None)
        target = self.candidates.get(long)
        if source is None or target is None:
            return
        target.surfaces.update(source.surfaces)
        target.table = target.table or source.table
        target.absorbed.append(source)
        if not alias:
            target.mention_only.update(source.surfaces)
        target.mention_only.update(source.mention_only)

    def _merge_known_tails(self) -> None:
        """A new name that is a known page's name with words before it (`Acme PayHub` when the
        vault has `PayHub`) is that page: the vault's title wins, as for an exact match. Only for
        a known name of two or more words or one CamelCase word, so `Payments API` does not
        become the page `API`."""
        keys = sorted(self.candidates)
        for short in keys:
            known = self.candidates.get(short)
            if known is None or known.known is None:
                continue
            words = short.split()
            if len(words) == 1 and not _camel(known.known.title):
                continue
            longer = [
                k
                for k in keys
                if k in self.candidates
                and self.candidates[k].known is None
                and len(k.split()) > len(words)
                and k.split()[-len(words) :] == words
            ]
            if len(longer) == 1:
                self._merge(longer[0], short, alias=True)

    def _merge_partners(self, counts: Counter[str]) -> None:
        self._merge_known_tails()
        partners = self._partners(sorted(self.candidates))
        for short, long in sorted(partners.items(), key=lambda item: (-len(item[0]), item[0])):
            if short not in self.candidates or long not in self.candidates:
                continue
            plain_word = len(short.split()) == 1 and all(
                _shape(s) == "title" for s in self.candidates[short].surfaces
            )
            self._merge(short, long, alias=not plain_word)

    # -- results --

    def find(self) -> tuple[list[Subject], _Matcher, dict[str, str]]:
        self._known()
        self._discover()
        self._defined_lower()
        self._tables()
        self._explicit_aliases()
        counts = self._settle()
        self._merge_partners(counts)
        counts = self._count(sorted(self.candidates))
        subjects: list[Subject] = []
        names: dict[str, str] = {}
        for key in sorted(self.candidates):
            candidate = self.candidates[key]
            if not self._enough(key, counts[key]) or (key in self.weak and not candidate.absorbed):
                continue  # a word seen only at sentence starts names nothing by itself
            subject = self._subject(candidate, counts)
            if subject is not None:
                subjects.append(subject)
                names[key] = subject.name
        matcher = _Matcher(f for f in self.forms(names) if f.key in names)
        return subjects, matcher, names

    def _subject(self, candidate: _Candidate, counts: Counter[str]) -> Subject | None:
        if candidate.known is not None:
            page = candidate.known
            seen = self._seen_aliases(page)
            return Subject(page.title, candidate.kind, seen, page.path)  # its file's own name
        written = self._written(candidate)
        name = _clean(candidate.defined or _choose_name(written))
        if not name:
            return None
        aliases = sorted(
            {_clean(s) for s in written if s not in candidate.mention_only} - {name, ""},
            key=lambda s: (s.casefold(), s),
        )
        unique = [a for a in aliases if a.casefold() != name.casefold()]
        return Subject(name, candidate.kind, tuple(dict.fromkeys(unique)))

    def _written(self, candidate: _Candidate) -> Counter[str]:
        """Each surface with how often the facts write it (case variants folded into the best
        capitalised spelling)."""
        matcher = _Matcher(
            _Form(_literal(s, case_sensitive=True), s, len(s)) for s in candidate.surfaces
        )
        seen: Counter[str] = Counter()
        for unit in self.facts:
            seen.update(matcher.find(unit.text))
        by_key: dict[str, Counter[str]] = defaultdict(Counter)
        for surface in candidate.surfaces:
            by_key[_key(surface)][surface] += seen[surface]
        out: Counter[str] = Counter()
        for variants in by_key.values():
            best = max(variants, key=lambda s: (sum(c.isupper() for c in s), variants[s], s))
            out[best] = max(1, sum(variants.values()))
        return out

    def _seen_aliases(self, page: KnownPage) -> tuple[str, ...]:
        matcher = _Matcher(
            _Form(_literal(a, case_sensitive=False), a, len(a)) for a in page.aliases if a.strip()
        )
        seen: list[str] = []
        for unit in self.facts:
            for alias in matcher.find(unit.text):
                if alias not in seen:
                    seen.append(alias)
        return tuple(sorted(seen, key=lambda s: (s.casefold(), s)))


def _tail(text: str, words: int) -> str:
    return " ".join(text.split()[-words:])


def _abbreviates(short: str, long_key: str) -> bool:
    words = long_key.split()
    s = short.casefold()
    if s in words:
        return True
    initials = "".join(w[0] for w in words if w not in _CONNECTORS)
    return s == initials or (len(s) >= 2 and s == initials[: len(s)])


def _choose_name(written: Counter[str]) -> str:
    """The longest form (`Ravi Menon`, not `Ravi`), unless a shorter one is written at least
    twice as often and the longer one is not just it with a surname: `PayHub` over `Acme
    PayHub`, `Kestrel` over `Kestrel Systems`, `Harbour Point` over `Harbour Point General
    Hospital`."""
    longest = max(written, key=lambda s: (len(s.split()), written[s], s))
    commonest = max(written, key=lambda s: (written[s], len(s.split()), s))
    if commonest == longest or written[commonest] < 2 * written[longest]:
        return longest
    if _person_like(commonest, longest):
        return longest
    return commonest


def _person_like(short: str, long: str) -> bool:
    """`Sofia` and `Sofia Lindqvist`: a first name (or surname) and a two- or three-word name of
    capitalised words none of which says organisation (`Software`, `Hospital`, ...)."""
    words = long.split()
    if len(short.split()) != 1 or not 2 <= len(words) <= 3 or short not in (words[0], words[-1]):
        return False
    return all(_shape(w) == "title" and w.lower() not in _ORG_WORDS for w in words)


def _subject_cell(cell: str) -> str:
    cell = _PAREN_TAIL.sub("", cell).strip()
    cell = _VERSION_TAIL.sub("", cell).strip()
    cell = cell.strip("`*_ ")
    if not cell or len(cell.split()) > 4 or re.search(r"[,;.:!?]\s|[,;:!?]$", cell):
        return ""
    if cell[0].isdigit() or not re.search(r"[^\W\d_]", cell):
        return ""
    return cell


def _known_tails(pages: Sequence[KnownPage]) -> dict[str, KnownPage]:
    """The CamelCase last word of a known wiki page's several-word title (`PayHub` of `Acme
    PayHub`), when exactly one page ends so and no page is named by it: written alone, it is
    that page (the vault made `Acme PayHub` first; a later source says `PayHub`)."""
    names = {_key(n) for p in pages for n in (p.title, *p.aliases)}
    owners: dict[str, list[KnownPage]] = defaultdict(list)
    for page in pages:
        words = page.title.split()
        if page.path.startswith("wiki/") and len(words) > 1 and _camel(words[-1]):
            owners[words[-1]].append(page)
    return {
        tail: found[0]
        for tail, found in owners.items()
        if len(found) == 1 and _key(tail) not in names
    }


def _camel(word: str) -> bool:
    """One word of mixed case with a capital after its first letter (`PayHub`, `vSphere`)."""
    return " " not in word and any(c.islower() for c in word) and any(c.isupper() for c in word[1:])


def _group_tables(rows: Sequence[TableRow]) -> list[list[TableRow]]:
    tables: list[list[TableRow]] = []
    for row in rows:
        last = tables[-1][-1] if tables else None
        if last is not None and last.header == row.header and last.unit.heading == row.unit.heading:
            tables[-1].append(row)
        else:
            tables.append([row])
    return tables


# -- concepts --------------------------------------------------------------------------------------

_CONCEPT_WORD = re.compile(r"[^\W\d_]+(?:-[^\W\d_]+)*")


def _concepts(
    facts: Sequence[Unit], entity_regex: re.Pattern[str] | None
) -> list[tuple[str, list[str]]]:
    """Recurring two- and three-word noun phrases: (name, written forms), most frequent first."""
    counts: Counter[str] = Counter()
    in_units: dict[str, set[int]] = defaultdict(set)
    written: dict[str, Counter[str]] = defaultdict(Counter)
    for index, unit in enumerate(facts):
        text = _BACKTICKS.sub(" | ", unit.text)  # code is no phrase, an entity's name neither
        if entity_regex is not None:
            text = entity_regex.sub(" | ", text)
        for run in _concept_runs(text):
            for size in (2, 3):
                for start in range(len(run) - size + 1):
                    gram = [*run[start : start + size - 1], _singular(run[start + size - 1])]
                    form = " ".join(gram).lower()
                    key = _SPACE.sub(" ", form.replace("-", " "))  # `replica-lag` is `replica lag`
                    counts[key] += 1
                    in_units[key].add(index)
                    written[key][form] += 1
    chosen = [k for k, n in counts.items() if n >= 3 and len(in_units[k]) >= 2]
    chosen.sort(key=lambda k: (-len(k.split()), -counts[k], k))
    kept: list[str] = []
    for key in chosen:  # a phrase seen mostly inside a longer one is that one
        if any(f" {key} " in f" {o} " and counts[o] * 5 >= counts[key] * 3 for o in kept):
            continue
        kept.append(key)
    kept.sort(key=lambda k: (-counts[k], k))
    out: list[tuple[str, list[str]]] = []
    for key in kept[:MAX_CONCEPTS]:
        form = max(written[key], key=lambda f: (written[key][f], f))
        out.append((_title_case(form), sorted(written[key])))
    return out


def _content_word(word: str) -> bool:
    lower = word.lower()
    if lower in _STOPWORDS or lower in _MONTHS_DAYS or lower in _NOT_IN_CONCEPTS:
        return False
    return len(word) >= 3 and not lower.endswith(("ly", "ed")) and not word.isupper()


def _concept_runs(text: str) -> list[list[str]]:
    """Runs of content words: punctuation, stop words, adverbs and participles end a run, and so
    does a capital inside one (it belongs to a name)."""
    runs: list[list[str]] = []
    run: list[str] = []
    last_end = 0
    for match in _CONCEPT_WORD.finditer(text):
        word = match.group(0)
        joined = text[last_end : match.start()].strip() == ""
        if run and joined and _content_word(word) and not word[0].isupper():
            run.append(word)
        else:
            if len(run) >= 2:
                runs.append(run)
            run = [word] if _content_word(word) else []
        last_end = match.end()
    if len(run) >= 2:
        runs.append(run)
    return runs


def _title_case(phrase: str) -> str:
    return " ".join(
        "-".join(part[:1].upper() + part[1:] for part in word.split("-")) for word in phrase.split()
    )


def _concept_pattern(form: str) -> str:
    words = form.split()
    head = words[-1]
    parts = [re.escape(w).replace(r"\-", "[-\\s]") for w in words[:-1]]
    parts.append(_plural_pattern(head).replace(r"\-", "[-\\s]"))
    return "(?i:" + r"[-\s]+".join(parts) + ")"


# -- summary ---------------------------------------------------------------------------------------


def _summary_size(n: int) -> int:
    return min(n, max(SUMMARY_MIN, min(SUMMARY_MAX, math.ceil(n / 8))))


def _summary_heuristic(facts: Sequence[Fact], units_: Sequence[Unit]) -> list[int]:
    pool = [i for i, f in enumerate(facts) if f.kind != "row"]
    if len(pool) < SUMMARY_MIN:
        pool = list(range(len(facts)))
    size = _summary_size(len(pool))
    seen_headings: set[str] = set()
    scores: dict[int, int] = {}
    for i in pool:
        fact, unit = facts[i], units_[i]
        words = len(fact.text.split())
        score = 0
        if unit.heading not in seen_headings:
            score += 2
            seen_headings.add(unit.heading)
        score += 1 if _DIGIT.search(fact.text) else 0
        score += min(2, len(fact.about))
        score += 1 if 8 <= words <= 40 else (-1 if words < 6 else 0)
        if _FIELD_LINE.match(fact.text):
            score -= 3  # `Owner: ...`, `Date: ...`: metadata, not what the source says
        elif fact.kind == "item" and fact.text[:1].islower() and not fact.about:
            score -= 2  # `storage of all new studies;`: a fragment of a list
        scores[i] = score
    ranked = sorted(pool, key=lambda i: (-scores[i], i))
    chosen: list[int] = []
    per_heading: Counter[str] = Counter()
    for i in ranked:
        if per_heading[units_[i].heading] >= 2:
            continue
        chosen.append(i)
        per_heading[units_[i].heading] += 1
        if len(chosen) == size:
            break
    for i in ranked:  # sections too few: fill up regardless
        if len(chosen) == size:
            break
        if i not in chosen:
            chosen.append(i)
    return sorted(chosen)


def _summary_embedded(facts: Sequence[Fact], embedder: Embedder) -> list[int]:
    import numpy as np  # only when an embedder is given: the heuristic path needs no NumPy

    pool = [i for i, f in enumerate(facts) if f.kind != "row"]
    if len(pool) < SUMMARY_MIN:
        pool = list(range(len(facts)))
    size = _summary_size(len(pool))
    if len(pool) > MAX_EMBEDDED:  # a long source: evenly spaced facts stand for the rest
        step = len(pool) / MAX_EMBEDDED
        pool = [pool[int(k * step)] for k in range(MAX_EMBEDDED)]
    vectors = np.asarray(embedder.embed([facts[i].text for i in pool]), dtype=np.float64)
    centroid = vectors.mean(axis=0)
    norm = float(np.linalg.norm(centroid))
    if norm > 0:
        centroid = centroid / norm
    relevance = vectors @ centroid
    chosen: list[int] = []
    while len(chosen) < size:
        best: tuple[float, int] | None = None
        for j in range(len(pool)):
            if j in chosen:
                continue
            redundancy = max((float(vectors[j] @ vectors[k]) for k in chosen), default=0.0)
            score = _MMR_RELEVANCE * float(relevance[j]) - (1 - _MMR_RELEVANCE) * redundancy
            score = round(score, 9)  # ties to the earlier fact, whatever the float noise
            if best is None or score > best[0]:
                best = (score, j)
        if best is None:
            break
        chosen.append(best[1])
    return sorted(pool[j] for j in chosen)


# -- the synthesizer -------------------------------------------------------------------------------


class ExtractiveSynthesizer:
    """Facts are the source's own sentences, items and rows; see the module docstring."""

    name = "extractive-2"  # 2: a table row's fact is its cells with their headers (units.py)

    def __init__(self, embedder: Embedder | None = None) -> None:
        self.embedder = embedder

    def synthesize(self, source: Converted, known: Sequence[KnownPage]) -> Synthesis:
        found = units(source)
        rows = table_rows(source)
        # A row's fact text labels its cells with their headers (`System: ledger-sync; Team:
        # ...`), but names, concepts and mentions are read in its cells alone, joined with ` | `
        # (a `|` starts a cell as `.` starts a sentence, `_SENTENCE_GAP`): a header repeated on
        # every row is no name (`Support`), no recurring phrase and no mention of a page.
        cells_of = {
            row.unit: replace(row.unit, text=_SPACE.sub(" ", " | ".join(row.cells)).strip())
            for row in rows
        }
        kept = [unit for unit in found if _is_fact(unit)]
        read = [cells_of.get(unit, unit) for unit in kept]
        # Names are discovered in the document's bookkeeping too ("Attendees: Ravi Menon, ..."):
        # it is where a first name used later ("Ravi to write the ADR") finds its full name. It
        # gives no facts.
        named = [cells_of.get(u, u) for u in found if u in kept or _BOOKKEEPING.match(u.text)]
        finder = _Subjects(named, rows, known)
        subjects, matcher, names = finder.find()
        entity_regex = matcher.regex
        concept_forms: list[_Form] = []
        known_names = {s.name.casefold() for s in subjects}
        for name, forms in _concepts(read, entity_regex):
            if name.casefold() in known_names:
                continue
            subjects.append(Subject(name, "concept"))
            known_names.add(name.casefold())
            key = "concept:" + name.casefold()
            names[key] = name
            for form in forms:
                concept_forms.append(_Form(_concept_pattern(form), key, len(form)))
        about = _Matcher(
            [*finder.forms(k for k in names if not k.startswith("concept:")), *concept_forms]
        )
        facts: list[Fact] = []
        # A fact that names no subject is about its section's subject, else the document's: the
        # `RTO | 4 hours` row of a runbook titled "PayHub outage runbook" is about PayHub.
        title = source.title or next((u.heading for u in found if u.heading), "")
        document = tuple(dict.fromkeys(names[key] for key in about.find(title)))
        sections: dict[str, tuple[str, ...]] = {}
        entities = {s.name for s in subjects if s.kind == "entity"}
        for unit, as_read in zip(kept, read, strict=True):
            mentioned = tuple(dict.fromkeys(names[key] for key in about.find(as_read.text)))
            if entities.isdisjoint(
                mentioned
            ):  # no entity named: the section's, else the document's
                if unit.heading and unit.heading not in sections:
                    sections[unit.heading] = tuple(
                        dict.fromkeys(names[key] for key in about.find(unit.heading))
                    )
                fallback = (sections.get(unit.heading, ()) if unit.heading else ()) or document
                mentioned = tuple(dict.fromkeys((*mentioned, *fallback)))
            facts.append(
                Fact(
                    unit.text,
                    unit.start,
                    unit.end,
                    unit.kind,
                    mentioned,
                    source.page_at(unit.start),
                )
            )
        if self.embedder is not None and facts:
            picked = _summary_embedded(facts, self.embedder)
        else:
            picked = _summary_heuristic(facts, kept) if facts else []
        ordered = sorted(subjects, key=lambda s: (s.kind != "entity", s.name.casefold(), s.name))
        return Synthesis(
            summary=tuple(facts[i] for i in picked),
            subjects=tuple(ordered),
            facts=tuple(facts),
            synthesizer=self.name,
            dropped=0,
        )
