"""The checks of `companion lint`: pure functions from what the index and the wiki pages hold
to findings. Nothing here reads a file or writes one: `Companion.lint` gathers the input (the
index's rows, the text of every managed page) and applies the fixes.

Each `Finding` has a path, a 1-based line (0: the whole file), a kind, a message that says what
is wrong and what to do, and, where one exists, the fix (the text to write). `fixable` marks
the fixes `lint --fix` applies: only those that cannot change what a page says — the `sources`
property set to the page's citations, a citation rewritten to the §6 form when the parentheses
hold nothing but source links. Every check reads one page type by its own rule (SYSTEM.md §2-§6).

The kinds, in the order they are reported:
- `broken-link`: a link that resolves to no file, with the likeliest meant note (a title or
  alias within a small edit, `difflib`) as its fix;
- `missing-page`: a name linked from three or more notes that has no note: one finding per
  name, at its first link (its links are not reported again as broken);
- `ambiguous-link`: a link two or more files answer to (Obsidian picks one; a path decides);
- `orphan`: a note no other note links to — the index's one definition (`Links.orphans`), the
  one index.md lists;
- `schema`: a managed page without `type`, with a type its folder does not hold, outside any
  page type's folder, or missing a property its type requires (SYSTEM.md frontmatter);
- `citation-format`: a citation of a source page not written as `([[wiki/sources/a]],
  [[wiki/sources/b]])` (display text, a heading, another separator);
- `uncited-fact`: a list item on a managed page (not a source page, not under `## Notes`, not a
  list of links) that cites no source;
- `sources-mismatch`: a managed page whose `sources` property is not the set of pages it cites;
- `stale`: a fact that a newer source superseded on one page, still stated on another;
- `duplicate`: a wiki page with the title or an alias of another note (one page per thing);
- `open-conflict`: an open `[!conflict]` callout;
- `bad-name`: a file or folder name with a character Obsidian refuses (`* " \\ / < > : | ? # ^ [ ]`)
  or that starts with a dot.
"""

from __future__ import annotations

import difflib
import json
import re
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from companion.config import Schema
from companion.conflicts.callouts import callouts
from companion.store.rows import LinkLine
from companion.write.wiki import CITATION, cited_sources

KINDS = (
    "broken-link",
    "missing-page",
    "ambiguous-link",
    "orphan",
    "schema",
    "citation-format",
    "uncited-fact",
    "sources-mismatch",
    "stale",
    "duplicate",
    "open-conflict",
    "bad-name",
)
MISSING_PAGE_MIN = 3  # notes linking one absent name before it is a page to write


@dataclass(frozen=True, slots=True)
class Finding:
    path: str
    line: int
    kind: str
    message: str
    fix: str | None = None
    fixable: bool = False

    def as_json(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "line": self.line,
            "kind": self.kind,
            "message": self.message,
            "fix": self.fix,
            "fixable": self.fixable,
        }


@dataclass(frozen=True, slots=True)
class Note:
    path: str
    kind: str  # note | canvas | attachment
    title: str
    type: str | None
    version: int | None
    properties: dict[str, Any]
    aliases: tuple[str, ...]


Link = LinkLine  # a link as the index holds it: where it is written, where it resolves


@dataclass(slots=True)
class LintInput:
    schema: Schema
    notes: list[Note]
    links: list[Link]
    texts: dict[str, str]  # managed page -> its text
    orphans: list[str] = field(default_factory=list)  # the index's (store.Links.orphans)
    sources_page_prefix: str = "wiki/sources/"


def lint(given: LintInput) -> list[Finding]:
    """Every finding, by kind (in `KINDS` order), then path and line."""
    found = [
        *_links(given),
        *_orphans(given),
        *_schema(given),
        *_pages(given),
        *_stale(given),
        *_duplicates(given),
        *_bad_names(given),
    ]
    order = {k: i for i, k in enumerate(KINDS)}
    return sorted(found, key=lambda f: (order[f.kind], f.path, f.line, f.message))


def counts(findings: Iterable[Finding]) -> dict[str, int]:
    out = dict.fromkeys(KINDS, 0)
    for f in findings:
        out[f.kind] += 1
    return out


# -- links --------------------------------------------------------------------------------------


def _names(notes: Sequence[Note]) -> dict[str, str]:
    """Every name a link could mean, case-folded -> the note's path (titles, then aliases)."""
    out: dict[str, str] = {}
    for n in notes:
        if n.kind != "attachment":
            out.setdefault(n.title.casefold(), n.path)
    for n in notes:
        for alias in n.aliases:
            out.setdefault(alias.casefold(), n.path)
    return out


def _link_name(path: str) -> str:
    name = path.rstrip("/").rpartition("/")[2]
    return name[:-3] if name.lower().endswith(".md") else name


class _Spellings:
    """The names a broken link could have meant, looked up by exact name, then by a close
    spelling (`difflib`, ratio ≥ 0.85) among names of about its length with its first letter:
    a typo keeps both, and 10,000 names are not compared with every broken link. Before
    `difflib`, a bound it cannot beat: its ratio counts matching characters, never more than
    the two names' characters in common, so a name sharing too few (counted in a small array per
    name, all of a bucket at once) is left out — the same answers, a fraction of the work."""

    CUTOFF = 0.85

    def __init__(self, names: dict[str, str]) -> None:
        self.names = names
        self.buckets: dict[tuple[str, int], list[str]] = defaultdict(list)
        for name in names:
            if name:
                self.buckets[(name[0], len(name))].append(name)
        self.counts: dict[tuple[str, int], np.ndarray] = {}  # a bucket's names' characters
        self.seen: dict[str, str | None] = {}

    def _close(self, wanted: str, key: tuple[str, int]) -> list[str]:
        """The names of bucket `key` whose characters in common with `wanted` leave room for
        the cutoff."""
        pool = self.buckets.get(key, [])
        if not pool:
            return []
        if key not in self.counts:
            self.counts[key] = np.stack([_characters(n) for n in pool])
        common = np.minimum(self.counts[key], _characters(wanted)).sum(axis=1)
        room = 2.0 * common >= self.CUTOFF * (len(wanted) + key[1]) - 1e-9
        return [n for n, ok in zip(pool, room.tolist(), strict=True) if ok]

    def find(self, wanted: str) -> str | None:
        if wanted in self.names:
            return self.names[wanted]
        if wanted not in self.seen:
            pool = [
                n
                for size in range(len(wanted) - 3, len(wanted) + 4)
                for n in self._close(wanted, (wanted[:1], size))
            ]
            close = difflib.get_close_matches(wanted, pool, n=1, cutoff=self.CUTOFF)
            self.seen[wanted] = self.names[close[0]] if close else None
        return self.seen[wanted]


_SLOTS = 64  # characters counted modulo this: two sharing a slot only raise the bound


def _characters(name: str) -> np.ndarray:
    codes = np.frombuffer(name.encode("utf-32-le"), dtype=np.uint32) % _SLOTS
    return np.bincount(codes, minlength=_SLOTS).astype(np.int32)


def _likely(link: str, spellings: _Spellings, notes_by_path: dict[str, Note]) -> str | None:
    """The note a broken link most likely meant: its name, an alias, or a close spelling."""
    wanted = _link_name(link).casefold()
    path = spellings.find(wanted) if wanted else None
    if path is None:
        return None
    note = notes_by_path[path]
    shown = _link_name(link)
    target = path[:-3] if path.endswith(".md") else path
    return f"[[{target}|{shown}]]" if note.title.casefold() != wanted else f"[[{target}]]"


# A markdown link's target that is a web address written without `https://`: `www.` and a
# domain, or a domain with a common top-level part followed by a path (`github.com/x/y`). A bare
# `plan.org` may be a file (an org-mode note), so it is not taken for one.
_WEB_ADDRESS = re.compile(
    r"^(?:www\.[\w-]+(?:\.[\w-]+)+(?:/\S*)?"
    r"|[\w-]+(?:\.[\w-]+)*\.(?:com|org|net|io|dev|edu|gov)/\S*)$",
    re.I,
)


def _links(given: LintInput) -> Iterator[Finding]:
    notes_by_path = {n.path: n for n in given.notes}
    names = _names(given.notes)
    spellings = _Spellings(names)
    unresolved: dict[str, list[Link]] = defaultdict(list)
    for link in given.links:
        if link.target is None and link.path.strip():
            unresolved[_link_name(link.path).casefold()].append(link)
        elif link.ambiguous:
            yield Finding(
                link.source,
                link.line,
                "ambiguous-link",
                f"{link.raw} matches more than one file; Obsidian opens {link.target}. "
                "Write the folder too to choose",
                f"[[{(link.target or '').removesuffix('.md')}]]",
            )
    for key, links in unresolved.items():
        sources = sorted({x.source for x in links})
        if len(sources) >= MISSING_PAGE_MIN and names.get(key) is None:
            first = links[0]
            likely = _likely(first.path, spellings, notes_by_path)
            todo = f"did you mean {likely}?" if likely else "write it (or correct the links)"
            # A link by name says the name; one with a folder (`[Psychic](../Traits/Psychic.md)`)
            # is shown as written: only a note at that path would answer it.
            same = len({x.path for x in links}) == 1
            shown = first.raw if "/" in first.path and same else f"[[{_link_name(first.path)}]]"
            yield Finding(
                first.source,
                first.line,
                "missing-page",
                f"{len(sources)} notes link {shown}, which has no note: {todo}",
                likely,
            )
            continue
        for link in links:
            if link.path.startswith(given.sources_page_prefix):
                stem = _link_name(link.path)
                yield Finding(
                    link.source,
                    link.line,
                    "broken-link",
                    f"{link.raw} cites a source page that does not exist; if sources/ holds "
                    f"`{stem}`, `companion ingest` writes it",
                )
                continue
            if link.kind == "markdown" and _WEB_ADDRESS.match(link.path):
                # `[site](www.example.com)`: Obsidian opens a link without a scheme as a file
                url = f"https://{link.path}"
                yield Finding(
                    link.source,
                    link.line,
                    "broken-link",
                    f"{link.raw} resolves to no file: a web address needs its scheme "
                    f"(Obsidian reads it as a file in the vault); write {url}",
                    url,
                )
                continue
            likely = _likely(link.path, spellings, notes_by_path)
            hint = f"; did you mean {likely}?" if likely else ""
            what = "no file" if link.kind == "embed" or "." in _link_name(link.path) else "no note"
            yield Finding(
                link.source,
                link.line,
                "broken-link",
                f"{link.raw} resolves to {what}{hint}",
                likely,
            )


def _orphans(given: LintInput) -> Iterator[Finding]:
    for path in given.orphans:
        yield Finding(path, 0, "orphan", "no other note links to it (an orphan, as in index.md)")


# -- managed pages ------------------------------------------------------------------------------


def _schema(given: LintInput) -> Iterator[Finding]:
    schema = given.schema
    folders = {t.folder: t for t in schema.page_types}
    by_name = {t.name: t for t in schema.page_types}
    for n in given.notes:
        if n.kind != "note" or not schema.is_managed(n.path):
            continue
        folder = n.path.rpartition("/")[0]
        home = folders.get(folder)
        if home is None:
            known = ", ".join(f"{t.folder}/" for t in schema.page_types)
            yield Finding(n.path, 0, "schema", f"not in a page type's folder ({known})")
            continue
        if n.type is None:
            yield Finding(
                n.path,
                1,
                "schema",
                f"no `type` property; pages in {folder}/ are `{home.name}`",
                f"type: {home.name}",
            )
        elif n.type != home.name:
            where = (
                by_name[n.type].folder + "/" if n.type in by_name else "no folder (unknown type)"
            )
            yield Finding(
                n.path,
                1,
                "schema",
                f"`type: {n.type}` but the page is in {folder}/, which holds `{home.name}` "
                f"pages ({n.type} pages go in {where})",
            )
        missing = [k for k in home.required if k not in n.properties and k != "type"]
        if missing:
            listed = ", ".join(f"`{k}`" for k in missing)
            yield Finding(
                n.path, 1, "schema", f"missing required {listed} (SYSTEM.md, `{home.name}` pages)"
            )


_FENCE = re.compile(r"^\s*(```|~~~)")
_ITEM = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s+(?!\[[ xX]\]\s*$)(.*)$")
_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
# A parenthesised group holding a link to a source page: a citation, in §6 form or not.
_CITE_GROUP = re.compile(r"\((?:[^()\n]*?)\[\[wiki/sources/[^\n]*?\]\](?:[^()\n]*?)\)")
_SOURCE_LINK = re.compile(r"\[\[(wiki/sources/[^\]|#^\n]+)(?:[#^][^\]|\n]*)?(?:\|[^\]\n]*)?\]\]")
_ONLY_LINKS = re.compile(r"^\(\s*(?:\[\[[^\]\n]+\]\]\s*(?:[,;]|and|&)?\s*)+\)$")
_LINK_ITEM = re.compile(r"^\s*(?:!?\[\[[^\]]+\]\]|\[[^\]]*\]\([^)]*\))[\s,;.]*(?:\^[\w-]+)?\s*$")
_WORD = re.compile(r"[^\W\d_]{2,}")


def body_start(text: str) -> int:
    """Where the body starts in `text`: after the frontmatter's closing line (0: none)."""
    lines = text.split("\n")
    if lines and lines[0].strip() == "---":
        offset = len(lines[0]) + 1
        for line in lines[1:]:
            offset += len(line) + 1
            if line.strip() in ("---", "..."):
                return min(offset, len(text))
    return 0


def _body(text: str) -> str:
    """The text after the frontmatter."""
    return text[body_start(text) :]


def _body_lines(text: str) -> Iterator[tuple[int, str, str]]:
    """(line number, line, the heading it sits under) of a page's body, frontmatter, code
    blocks, callouts and region markers left out."""
    lines = text.split("\n")
    start = 0
    if lines and lines[0].strip() == "---":
        for i in range(1, len(lines)):
            if lines[i].strip() in ("---", "..."):
                start = i + 1
                break
    fenced = False
    comment = ""  # the end of an open `%%` or `<!--` comment block
    heading = ""
    for i in range(start, len(lines)):
        line = lines[i].removesuffix("\r")
        if comment:
            if comment in line:
                comment = ""
            continue
        if _FENCE.match(line):
            fenced = not fenced
            continue
        stripped = line.strip()
        if not fenced and stripped.startswith("%%") and stripped.count("%%") == 1:
            comment = "%%"  # a comment block opening (a region marker closes on its own line)
            continue
        if not fenced and "<!--" in line and "-->" not in line.split("<!--", 1)[1]:
            comment = "-->"
            continue
        if fenced or line.lstrip().startswith((">", "%%")):
            continue
        m = _HEADING.match(line)
        if m:
            heading = m.group(2)
            continue
        yield i + 1, line, heading


def _pages(given: LintInput) -> Iterator[Finding]:
    by_path = {n.path: n for n in given.notes}
    answers = given.schema.folder_of("answer")
    for path, text in sorted(given.texts.items()):
        if path.startswith(given.sources_page_prefix):
            continue  # a source page summarises one source: its facts cite nothing
        note = by_path.get(path)
        if answers is not None and path.rpartition("/")[0] == answers:
            yield from _answer_page(path, text, note)  # SYSTEM.md §6: answers cite notes
        else:
            yield from _citations(path, text)
            yield from _sources_property(path, text, note)
        for c in callouts(text):
            if c.status == "open":
                yield Finding(
                    path,
                    c.line,
                    "open-conflict",
                    f"open conflict {c.id}: {c.title} — correct the claim and delete the callout "
                    "(or resolve it with one word, SYSTEM.md §9)",
                )


_CODE_SPAN = re.compile(r"`[^`\n]*`|<!--.*?-->|%%.*?%%")


def _citations(path: str, text: str) -> Iterator[Finding]:
    for number, line, heading in _body_lines(text):
        # Inline code and inline comments hold no citation: masked, the offsets kept.
        seen = _CODE_SPAN.sub(lambda m: " " * len(m.group()), line)
        for m in _CITE_GROUP.finditer(seen):
            group = line[m.start() : m.end()]
            if CITATION.fullmatch(group):
                continue
            targets = list(dict.fromkeys(t.strip() for t in _SOURCE_LINK.findall(group)))
            good = "(" + ", ".join(f"[[{t}]]" for t in targets) + ")"
            links_only = _ONLY_LINKS.match(group) is not None and all(
                t.startswith("wiki/sources/") for t in re.findall(r"\[\[([^\]|#^]+)", group)
            )
            yield Finding(
                path,
                number,
                "citation-format",
                f"citation {group} is not in the §6 form {good}",
                line.replace(group, good, 1) if links_only else None,
                links_only,
            )
        item = _ITEM.match(line)
        if item is None or heading.strip().lower() == "notes":
            continue
        body = item.group(1)
        if "[[wiki/sources/" in body or _LINK_ITEM.match(body) or not body.strip():
            continue
        words = _WORD.findall(re.sub(r"\[\[[^\]]*\]\]", " ", body))
        if len(words) >= 4:
            yield Finding(
                path,
                number,
                "uncited-fact",
                f"a fact without a citation: add its source as ([[wiki/sources/…]]) or move it "
                f"under ## Notes — {body[:80]}",
            )


def _sources_property(path: str, text: str, note: Note | None) -> Iterator[Finding]:
    if note is None:
        return
    listed = _listed_sources(note)
    cited = cited_sources(_body(text))  # as ingest keeps `sources`: every citation in the body
    if set(listed) == set(cited):
        return
    yield Finding(
        path,
        1,
        "sources-mismatch",
        f"`sources` differs from the citations: {_mismatch(listed, cited)}",
        json.dumps(cited),
        True,
    )


# An answer page's citation: the notes its sentences came from, headings allowed (§6).
_NOTE_CITATION = re.compile(r"\((\[\[[^\]\[|^]+\]\](?:, \[\[[^\]\[|^]+\]\])*)\)")


def _answer_page(path: str, text: str, note: Note | None) -> Iterator[Finding]:
    cited: list[str] = []
    for number, line, heading in _body_lines(text):
        if heading.strip().lower() in ("notes", "follow-up"):
            continue
        groups = _NOTE_CITATION.findall(line)
        for group in groups:
            for target in re.findall(r"\[\[([^\]#]+)", group):
                cited.append(target.strip())
        body = _ITEM.match(line)
        words = _WORD.findall(re.sub(r"\[\[[^\]]*\]\]", " ", line))
        if not groups and (body is not None or len(words) >= 6) and not _LINK_ITEM.match(line):
            yield Finding(
                path,
                number,
                "uncited-fact",
                "an answer's sentence without a citation: end it with the note it came from, "
                "([[path#Heading]])",
            )
    if note is None:
        return
    listed = {x.split("#")[0] for x in _listed_sources(note)}
    if listed != set(cited):
        yield Finding(
            path,
            1,
            "sources-mismatch",
            f"`sources` differs from the notes this answer cites: {_mismatch(listed, cited)}",
        )


def _listed_sources(note: Note) -> list[str]:
    """The link targets a page's `sources` property lists (`"[[a|b]]"` -> `a`)."""
    raw = note.properties.get("sources")
    return [
        str(x).strip().removeprefix("[[").removesuffix("]]").split("|")[0]
        for x in (raw if isinstance(raw, list) else [])
    ]


def _mismatch(listed: Iterable[str], cited: Sequence[str]) -> str:
    """What a `sources` property lacks and has too many of, in words."""
    held, wanted = list(dict.fromkeys(listed)), list(dict.fromkeys(cited))
    absent = [x for x in wanted if x not in held]
    extra = [x for x in held if x not in wanted]
    said = []
    if absent:
        said.append("cites but does not list " + ", ".join(f"[[{x}]]" for x in absent))
    if extra:
        said.append("lists but does not cite " + ", ".join(f"[[{x}]]" for x in extra))
    return "; ".join(said)


def _fact_text(line: str) -> str:
    body = re.sub(r"^\s*(?:[-*+]|\d+[.)])\s+", "", line)
    body = CITATION.sub("", body)
    body = re.sub(r"\s\^[\w-]+\s*$", "", body)
    return re.sub(r"\s+", " ", body).strip(" .").casefold()


def _stale(given: LintInput) -> Iterator[Finding]:
    replaced: dict[str, tuple[str, str]] = {}  # fact text -> (page, superseded id)
    marked: dict[str, set[str]] = defaultdict(set)  # page -> fact texts it marks superseded
    for path, text in given.texts.items():
        for c in callouts(text):
            if c.status == "superseded" and c.claims:
                fact = _fact_text(c.claims[0])
                replaced.setdefault(fact, (path, c.id))
                marked[path].add(fact)
    if not replaced:
        return
    for path, text in sorted(given.texts.items()):
        if path.startswith(given.sources_page_prefix):
            continue
        for number, line, _ in _body_lines(text):
            if not _ITEM.match(line):
                continue
            fact = _fact_text(line)
            if fact in replaced and fact not in marked[path]:
                page, ident = replaced[fact]
                yield Finding(
                    path,
                    number,
                    "stale",
                    f"states a fact a newer source superseded on [[{page.removesuffix('.md')}"
                    f"#^{ident}]]: update it here too",
                )


# -- names --------------------------------------------------------------------------------------


def _duplicates(given: LintInput) -> Iterator[Finding]:
    schema = given.schema
    owners: dict[str, list[str]] = defaultdict(list)
    for n in given.notes:
        if n.kind == "note" and not n.path.startswith(schema.sources_folder.strip("/") + "/"):
            for name in dict.fromkeys(x.casefold() for x in (n.title, *n.aliases) if x.strip()):
                owners[name].append(n.path)
    for n in given.notes:
        if n.kind != "note" or not schema.is_managed(n.path):
            continue
        if n.path.startswith(given.sources_page_prefix):
            continue
        for name in dict.fromkeys(x for x in (n.title, *n.aliases) if x.strip()):
            others = [p for p in owners[name.casefold()] if p != n.path]
            if others:
                yield Finding(
                    n.path,
                    0,
                    "duplicate",
                    f"`{name}` also names {', '.join(others)}: one page per thing — merge them, "
                    "or drop the alias",
                )


_REFUSED = re.compile(r'[*"\\<>:|?#^\[\]]')


def _bad_names(given: LintInput) -> Iterator[Finding]:
    seen: set[str] = set()
    for n in given.notes:
        parts = n.path.split("/")
        for depth, part in enumerate(parts):
            where = "/".join(parts[: depth + 1])
            if where in seen:
                continue
            bad = sorted(set(_REFUSED.findall(part)))
            if bad or part.startswith("."):
                seen.add(where)
                why = (
                    "holds " + " ".join(f"`{c}`" for c in bad) + ", which Obsidian refuses in names"
                    if bad
                    else "starts with a dot: Obsidian does not show it"
                )
                yield Finding(where, 0, "bad-name", f"the name {part!r} {why}")
