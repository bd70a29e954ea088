"""What `bench.ingest` checks on a vault after `Companion.ingest()`: pure functions over the files
on disk (and the ingest report's lists of created pages), no timing and no product state.

The checks read the vault the way a person (or Obsidian) would, and depend on the product only
for what defines ingest's own bytes:

- `companion.write.wiki.region_lines` / `Line.owned`: which bullets are ingest's (an `^i-xxxxxxxx`
  block id matching the bullet's text) — the definition lives there and nowhere else;
- `companion.write.regions.find_regions`: where the `%% companion:begin NAME %%` regions are;
- `companion.markdown.resolve.Resolver`: Obsidian's link resolution over the vault's file paths;
- `companion.convert.convert`: the raw source's text (what a citation claims to quote).

Everything else is written here on purpose, so a product bug cannot hide behind a check that
shares its code: the citation pattern (SYSTEM.md §6), frontmatter parsing (PyYAML), wikilink
extraction, and above all the text normaliser that decides whether a fact's words are the source's
words (`normalise`): markdown emphasis (`*`, `_`), backslash escapes and whitespace folded, link
syntax reduced to its shown text, HTML tags dropped, list/quote/heading markers at a line's start
and a table row's outer pipes removed, and the spacing around `|` made one space either side. The
same function is applied to both sides. Two things are tried both ways on a source (`VARIANTS`), and a fact passes when either
holds it: a markdown link with an `http(s)` target as its text alone and as "text (url)" (the
product keeps a URL as words after the link text rather than lose it), and the markers at a
line's start stripped or kept (a wrapped line of a .txt or PDF may start with "2023. ", which is
no list marker there).

A table row's fact is not the row's words in a row: ingest labels its cells with their column
headers (`System: ledger-sync; Team: Payments Platform`, `ledger-sync — Owner: Clinical
Applications`, `Retry budget: 3 attempts`; companion/ingest/units.py). So a fact not
found as it stands is also tried as a row (`SourceText.row_of`): it holds when it is, once
normalised, exactly the non-empty cells of one table row of the source in order, each
optionally after its own column's header and a colon, with only separators (`;`, `|`, `:`,
`—`, white space) between them and a cell's final punctuation optional. That rule is written
here, not imported: it accepts no word that is not the row's or its header's, without copying
the product's choice of form. A fact matched so is then looked at as that row's source line
(its page, the evaluation quotes it must hold).

A fact from a paged source (a PDF) ends with a page locator, `(p. 3)`, before its citation
(companion/ingest/plan.py `paged`): it is taken off before the words are looked up, and the words
must then start on that page of the converted text (`Converted.pages`).
"""

from __future__ import annotations

import html
import itertools
import posixpath
import re
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from companion.markdown.resolve import Resolver
from companion.write.regions import find_regions
from companion.write.wiki import region_lines

SOURCE_PAGES = "wiki/sources"
INGEST_REGIONS = ("facts", "related", "mentions", "summary")

# SYSTEM.md §6, written out again here (not imported): `(` + `[[wiki/sources/<name>]]`, several
# separated by ", ", + `)`; no display text, no subpath. Ingest puts it before the final stop.
_CITE_LINK = r"\[\[wiki/sources/[^\]\[|#^]+\]\]"
CITATION_AT_END = re.compile(
    rf"^(?P<body>.*?\S) \((?P<links>{_CITE_LINK}(?:, {_CITE_LINK})*)\)(?P<end>[.!?])$"
)
CITATION_ANYWHERE = re.compile(r"\(\[\[wiki/sources/")
CITED_NAME = re.compile(r"\[\[(wiki/sources/[^\]\[|#^]+)\]\]")
WIKILINK = re.compile(r"!?\[\[([^\[\]\n]*?)\]\]")
MDLINK = re.compile(r"!?\[([^\[\]\n]*)\]\(([^()\s]*)\)")
_HTML_COMMENT = re.compile(r"<!--.*?(?:-->|$)", re.S)
_HTML_TAG = re.compile(r"</?[A-Za-z][A-Za-z0-9-]*(?:\s[^<>]*)?/?>")
_HTML_CELL_BREAK = re.compile(r"</t[dh]>\s*<t[dh][^>]*>", re.I)
_LEAD = re.compile(
    r"^\s*(?:(?:>\s*)+|#{1,6}\s+|[-*+]\s+|\d{1,9}[.)]\s+|\[![^\]]*\][+-]?\s*|\[[ xX]\]\s+)*"
)
_ESCAPE = re.compile(r"\\([!-/:-@\[-`{-~])")
_PIPE = re.compile(r"\s*\|\s*")
_SPACE = re.compile(r"\s+")
_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_COMMENT = re.compile(r"%%.*?%%", re.S)
_CODE_SPAN = re.compile(r"`[^`\n]*`")
_TABLE_LINE = re.compile(r"^\s*\|")
_TABLE_SEP = re.compile(r"^\s*\|?\s*:?-+:?\s*(?:\|\s*:?-+:?\s*)*\|?\s*$")
_CELL_SPLIT = re.compile(r"(?<!\\)\|")
_ROW_GAP = r"(?:\s*[;|:—]\s*|\s+)"  # what may stand between two cells of a row's fact
_CELL_END = ".,;:!?"


# -- the normaliser --------------------------------------------------------------------------------


def _shown(match: re.Match[str]) -> str:
    inner = match.group(1).replace("\\|", "|")
    target, bar, shown = inner.partition("|")
    if bar and shown.strip():
        return shown
    return target.partition("#")[0] or target.lstrip("#^")


def normalise(text: str, *, keep_urls: bool = False, markers: bool = True) -> str:
    """Text as compared: see the module docstring. `keep_urls`: a markdown link to an http(s)
    address becomes "text (url)" instead of "text". `markers`: strip a list, quote or heading
    marker at the start of each line (a wrapped line may start with "2023. " too: both ways are
    tried on a source, `SourceText`)."""

    def md(match: re.Match[str]) -> str:
        label, target = match.group(1), match.group(2)
        if keep_urls and re.match(r"https?://", target):
            return f"{label} ({target})" if label.strip() else target
        return label

    out = _HTML_COMMENT.sub(" ", text)
    out = _HTML_TAG.sub(" ", out)
    lines = []
    for line in out.split("\n"):
        line = (_LEAD.sub("", line) if markers else line).strip()
        if line.startswith("|"):
            line = line[1:]
        if line.endswith("|") and not line.endswith("\\|"):
            line = line[:-1]
        lines.append(line)
    out = " ".join(lines)
    out = WIKILINK.sub(_shown, out)
    out = MDLINK.sub(md, out)
    out = _ESCAPE.sub(r"\1", out)
    out = out.replace("*", "").replace("_", "")
    out = _PIPE.sub(" | ", out)
    return _SPACE.sub(" ", out).strip()


def normalise_quote(quote: str) -> str:
    """An evaluation quote (an HTML quote is the raw source line, tags included): table cells
    joined with " | " as a converted HTML table reads, entities decoded, then `normalise`."""
    out = _HTML_CELL_BREAK.sub(" | ", quote)
    return normalise(html.unescape(out))


# -- reading the vault -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Bullet:
    page: str  # vault path of the page
    region: str
    text: str  # without `- ` and the block id
    raw: str

    def cites(self) -> list[str]:
        """Source pages named in a citation (`wiki/sources/x`)."""
        return CITED_NAME.findall(self.text)


@dataclass(slots=True)
class Page:
    rel: str
    text: str
    props: dict[str, Any]
    body: str
    problem: str | None = None  # unreadable frontmatter or regions
    regions: dict[str, str] = field(default_factory=dict)  # name -> content
    owned: dict[str, list[Bullet]] = field(default_factory=dict)  # name -> ingest's bullets

    @property
    def name(self) -> str:
        return posixpath.basename(self.rel).removesuffix(".md")

    @property
    def generated(self) -> bool:
        return self.props.get("generated_by") == "companion"

    def list_prop(self, key: str) -> list[str]:
        value = self.props.get(key)
        items = value if isinstance(value, list) else [value] if value is not None else []
        return [str(i) for i in items if i is not None]


def split_frontmatter(text: str) -> tuple[dict[str, Any], str, str | None]:
    """(properties, body, problem) — YAML between a first `---` line and the next `---`/`...`."""
    if not text.startswith("---\n") and not text.startswith("---\r\n"):
        return {}, text, None
    lines = text.split("\n")
    for i in range(1, len(lines)):
        if lines[i].rstrip("\r") in ("---", "..."):
            head = "\n".join(lines[1:i])
            body = "\n".join(lines[i + 1 :])
            try:
                data = yaml.safe_load(head)
            except yaml.YAMLError as exc:
                return {}, body, f"frontmatter is not YAML: {str(exc).splitlines()[0]}"
            if data is None:
                return {}, body, None
            if not isinstance(data, dict):
                return {}, body, "frontmatter is not a mapping"
            return {str(k): v for k, v in data.items()}, body, None
    return {}, text, "frontmatter has no closing ---"


def read_page(vault: Path, rel: str) -> Page:
    text = (vault / rel).read_text(encoding="utf-8", errors="replace").removeprefix("\ufeff")
    props, body, problem = split_frontmatter(text)
    page = Page(rel, text, props, body, problem)
    try:
        regions = find_regions(text, rel)
    except Exception as exc:  # a RegionError names where; reported, never raised
        page.problem = f"regions unreadable: {exc}"
        return page
    for region in regions:
        content = text[region.body_start : region.body_end]
        page.regions[region.name] = content
        page.owned[region.name] = [
            Bullet(rel, region.name, line.text or "", line.raw)
            for line in region_lines(content, page.name, region.name)
            if line.owned
        ]
    return page


@dataclass(slots=True)
class Vault:
    root: Path
    files: list[str]  # every vault-relative file path, dot-folders excluded
    pages: dict[str, Page]
    resolver: Resolver

    def facts(self) -> list[Bullet]:
        return [b for p in self.pages.values() for b in p.owned.get("facts", [])]

    def resolve(self, link: str, source: str) -> str | None:
        """The file a wikilink's inner text (`target#sub|shown`) resolves to, or None."""
        path = link.replace("\\|", "|").split("|")[0].split("#")[0].strip()
        if not path:
            return source  # `[[#Heading]]`: the page itself
        return self.resolver.resolve(path, source).target


def scan(root: Path) -> Vault:
    files = []
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root).as_posix()
        if any(part.startswith(".") for part in rel.split("/")) or not path.is_file():
            continue
        files.append(rel)
    pages = {rel: read_page(root, rel) for rel in files if rel.endswith(".md")}
    return Vault(root, files, pages, Resolver(files))


def links_in(text: str) -> list[str]:
    """Inner texts of every wikilink in `text` (embeds included)."""
    return [m.group(1) for m in WIKILINK.finditer(text)]


def visible_links(page: Page) -> list[str]:
    """The wikilinks of a page as Obsidian counts them: frontmatter values and the body, less
    fenced code, inline code and `%% comments %%`."""
    out: list[str] = []
    for key, value in page.props.items():
        del key
        items = value if isinstance(value, list) else [value]
        for item in items:
            if isinstance(item, str):
                out.extend(links_in(item))
    kept, fence = [], None
    for line in page.body.split("\n"):
        if fence is not None:
            if line.strip().startswith(fence):
                fence = None
            continue
        m = _FENCE.match(line)
        if m:
            fence = m.group(1)[:3]
            continue
        kept.append(line)
    body = _COMMENT.sub(" ", "\n".join(kept))
    body = _CODE_SPAN.sub(" ", body)
    out.extend(links_in(body))
    return out


# -- 1. pages and facts ----------------------------------------------------------------------------


def pages_and_facts(
    vault: Vault, created: Sequence[str], summary_of: Mapping[str, str]
) -> dict[str, Any]:
    """Pages created by type; ingest's fact bullets; facts per source (citing its summary)."""
    by_type: Counter[str] = Counter()
    for rel in created:
        page = vault.pages.get(rel)
        by_type[str(page.props.get("type", "?")) if page else "missing"] += 1
    facts = vault.facts()
    per_summary: Counter[str] = Counter()
    for bullet in facts:
        for cited in dict.fromkeys(bullet.cites()):
            per_summary[cited + ".md"] += 1
    per_source = {raw: per_summary.get(summary, 0) for raw, summary in summary_of.items()}
    counts = sorted(per_source.values())
    return {
        "created": len(created),
        "created_by_type": dict(sorted(by_type.items())),
        "facts": len(facts),
        "fact_pages": len({b.page for b in facts}),
        "facts_per_source": per_source,
        "facts_per_source_median": _median(counts),
        "facts_per_source_min": counts[0] if counts else 0,
        "facts_per_source_max": counts[-1] if counts else 0,
    }


def _median(values: Sequence[float]) -> float:
    if not values:
        return 0.0
    s = sorted(values)
    mid = len(s) // 2
    return float(s[mid]) if len(s) % 2 else (s[mid - 1] + s[mid]) / 2


# -- 2. citations ----------------------------------------------------------------------------------


# The ways a source's text is normalised for comparison: (keep_urls, markers), see `normalise`.
VARIANTS = ((False, True), (True, True), (False, False), (True, False))


@dataclass(frozen=True, slots=True)
class SourceText:
    """One raw source as compared: its converted text normalised each way of `VARIANTS`, and for
    a paged source (a PDF) each page's text likewise. A fact's words are normalised the same way
    as the variant they are looked up in."""

    whole: tuple[str, ...]  # one per variant
    pages: tuple[tuple[str, ...], ...] = ()  # per variant: each page's text; () without pages
    rows: tuple[SourceRow, ...] = ()  # the table data rows of the converted text

    @property
    def plain(self) -> str:
        return self.whole[0]

    def holds(self, words: str) -> bool:
        return any(
            normalise(words, keep_urls=u, markers=m) in text
            for (u, m), text in zip(VARIANTS, self.whole, strict=True)
        )

    def row_of(self, words: str) -> str | None:
        """The source line of the table row whose cells `words` state, labelled with their
        headers or not (see the module docstring); None when they are no row's."""
        for variant, (u, m) in enumerate(VARIANTS):
            said = normalise(words, keep_urls=u, markers=m).rstrip(_CELL_END + " ")
            for row in self.rows:
                if row.stated(said, variant):
                    return row.line
        return None

    def on_page(self, words: str, page: int) -> bool:
        """Do `words` start on page `page` (1-based)? A sentence may run on to the next page."""
        for (u, m), pages in zip(VARIANTS, self.pages, strict=True):
            if not 1 <= page <= len(pages):
                return False
            joined = " ".join(pages[page - 1 : page + 1])
            at = joined.find(normalise(words, keep_urls=u, markers=m))
            if 0 <= at < len(pages[page - 1]):
                return True
        return False


@dataclass(frozen=True, slots=True)
class SourceRow:
    """One table data row of a converted source: its line as the source has it, and per variant
    of `VARIANTS` its header and cells normalised (the header `()` for a table without one)."""

    line: str
    header: tuple[tuple[str, ...], ...]
    cells: tuple[tuple[str, ...], ...]

    def stated(self, said: str, variant: int) -> bool:
        """Is `said` (normalised) exactly this row's non-empty cells in order, each optionally
        after its own header and a colon, with only separators between?"""
        header, cells = self.header[variant], self.cells[variant]
        present = [(i, c.rstrip(_CELL_END + " ")) for i, c in enumerate(cells)]
        present = [(i, c) for i, c in present if c]
        if not present or not all(c in said for _, c in present):
            return False  # cheap: most facts are no row's
        parts = []
        for i, cell in present:
            label = header[i].rstrip(": ") if i < len(header) else ""
            lead = rf"(?:{re.escape(label)}\s*:\s*)?" if label else ""
            parts.append(f"{lead}{re.escape(cell)}[{re.escape(_CELL_END)}]*")
        return re.fullmatch(_ROW_GAP.join(parts), said) is not None


def _split_cells(line: str) -> list[str]:
    body = line.strip()
    if body.startswith("|"):
        body = body[1:]
    if body.endswith("|") and not body.endswith("\\|"):
        body = body[:-1]
    return _CELL_SPLIT.split(body)


def source_rows(text: str) -> tuple[SourceRow, ...]:
    """The table data rows of converted text: runs of lines starting with `|`; the first line of
    a run is the header when a separator line (`|---|---|`) follows it."""

    def each(cells: Sequence[str]) -> tuple[tuple[str, ...], ...]:
        return tuple(
            tuple(normalise(cell, keep_urls=u, markers=m) for cell in cells) for u, m in VARIANTS
        )

    out: list[SourceRow] = []
    lines = text.split("\n")
    i = 0
    while i < len(lines):
        if not _TABLE_LINE.match(lines[i]) or _TABLE_SEP.match(lines[i]):
            i += 1
            continue
        header: tuple[tuple[str, ...], ...] = tuple(() for _ in VARIANTS)
        if i + 1 < len(lines) and _TABLE_SEP.match(lines[i + 1]):
            header = each(_split_cells(lines[i]))
            i += 2
        while i < len(lines) and _TABLE_LINE.match(lines[i]):
            if not _TABLE_SEP.match(lines[i]):
                out.append(SourceRow(lines[i], header, each(_split_cells(lines[i]))))
            i += 1
    return tuple(out)


# (text, page start offsets) of a raw file converted: `companion.convert.convert`'s.
Convert = Callable[[str, bytes], tuple[str, Sequence[int]]]


@dataclass(slots=True)
class Sources:
    """Raw sources as compared, converted once each."""

    vault: Path
    convert: Convert
    _cache: dict[str, SourceText | None] = field(default_factory=dict)

    def text(self, raw: str) -> SourceText | None:
        if raw not in self._cache:
            path = self.vault / raw
            if not path.is_file():
                self._cache[raw] = None
            else:
                text, starts = self.convert(raw, path.read_bytes())
                bounds = list(itertools.pairwise([*starts, len(text)])) if starts else []
                self._cache[raw] = SourceText(
                    tuple(normalise(text, keep_urls=u, markers=m) for u, m in VARIANTS),
                    tuple(
                        tuple(normalise(text[a:b], keep_urls=u, markers=m) for a, b in bounds)
                        for u, m in VARIANTS
                    )
                    if starts
                    else (),
                    source_rows(text),
                )
        return self._cache[raw]


def raw_files(page: Page, vault: Vault) -> list[str]:
    """The raw files a summary page's `sources` property names (resolved paths)."""
    out = []
    for item in page.list_prop("sources"):
        for link in links_in(item):
            target = vault.resolve(link, page.rel)
            if target is not None:
                out.append(target)
    return out


_PAGE_LOCATOR = re.compile(r"^(?P<body>.*\S) \(p\. (?P<page>[1-9][0-9]*)\)$")


def fact_body(text: str) -> str | None:
    """A fact bullet's words: the citation and the final stop removed; None without one."""
    m = CITATION_AT_END.match(text)
    return m.group("body") if m else None


def split_page(body: str) -> tuple[str, int | None]:
    """A fact from a paged source ends with a page locator, ` (p. 3)`, before its citation."""
    m = _PAGE_LOCATOR.match(body)
    return (m.group("body"), int(m.group("page"))) if m else (body, None)


def _on_page(text: SourceText, body: str, page: int) -> bool:
    """Does the fact start on `page`: its words, or the source line of the row it states?"""
    if text.on_page(body, page):
        return True
    row = None if text.holds(body) else text.row_of(body)
    return row is not None and text.on_page(row, page)


def check_citations(vault: Vault, sources: Sources) -> dict[str, Any]:
    """Every ingest fact bullet: one citation, at the end, naming existing summary pages whose
    `sources` name raw files that hold the fact's words."""
    facts = vault.facts()
    failures: list[dict[str, str]] = []
    reasons: Counter[str] = Counter()

    def fail(bullet: Bullet, why: str) -> None:
        reasons[why.split(":")[0]] += 1
        failures.append({"page": bullet.page, "bullet": bullet.text, "why": why})

    valid = 0
    for bullet in facts:
        m = CITATION_AT_END.match(bullet.text)
        if m is None:
            fail(bullet, "no citation in SYSTEM.md §6 form at the end")
            continue
        if len(CITATION_ANYWHERE.findall(bullet.text)) != 1:
            fail(bullet, "not exactly one citation")
            continue
        if "[[" in m.group("body"):
            fail(bullet, "a wikilink in the fact's text besides the citation")
            continue
        body, page = split_page(m.group("body"))
        ok = True
        for name in CITED_NAME.findall(m.group("links")):
            summary = vault.pages.get(name + ".md")
            if summary is None:
                fail(bullet, f"cited page missing: {name}.md")
                ok = False
                break
            raws = raw_files(summary, vault)
            if not raws:
                fail(bullet, f"cited page names no raw file: {name}.md")
                ok = False
                break
            texts = [t for t in (sources.text(r) for r in raws) if t is not None]
            if not texts:
                fail(bullet, f"raw file missing: {', '.join(raws)}")
                ok = False
                break
            if not any(t.holds(body) or t.row_of(body) is not None for t in texts):
                fail(bullet, f"text not in the cited source: {', '.join(raws)}")
                ok = False
                break
            if page is not None and not any(_on_page(t, body, page) for t in texts):
                paged = any(t.pages for t in texts)
                fail(
                    bullet,
                    f"page locator (p. {page}) names the wrong page"
                    if paged
                    else "page locator on a source without pages",
                )
                ok = False
                break
        valid += ok
    return {
        "facts": len(facts),
        "valid": valid,
        "pct": round(100.0 * valid / len(facts), 2) if facts else 100.0,
        "failures": len(failures),
        "reasons": dict(reasons),
        "first_failures": failures[:10],
    }


# -- 3. phantom links ------------------------------------------------------------------------------


def phantom_links(vault: Vault, created: Iterable[str]) -> dict[str, Any]:
    """Links ingest wrote that resolve to nothing: in its owned bullets of the facts, related,
    mentions and summary regions of every page, and anywhere (frontmatter included) on the
    pages it created."""
    created = set(created)
    seen, phantoms = 0, []
    for page in vault.pages.values():
        places: list[tuple[str, str]] = []
        if page.rel in created:
            places.append(("frontmatter sources", " ".join(page.list_prop("sources"))))
            places.append(("created page body", page.body))
        else:
            for region in INGEST_REGIONS:
                for bullet in page.owned.get(region, []):
                    places.append((f"{region} bullet", bullet.text))
        for where, text in places:
            for link in links_in(text):
                seen += 1
                if vault.resolve(link, page.rel) is None:
                    phantoms.append({"page": page.rel, "where": where, "link": f"[[{link}]]"})
    return {"links": seen, "phantoms": len(phantoms), "list": phantoms[:20]}


# -- 4. linkage ------------------------------------------------------------------------------------


def linkage(vault: Vault) -> dict[str, Any]:
    """A summary page's `mentions` links every page its facts feed; a fed page's `sources`
    property lists every summary page it cites, and its citations resolve to those pages."""
    fed: dict[str, set[str]] = {}  # summary page -> pages holding a fact citing it
    violations: list[dict[str, str]] = []
    for bullet in vault.facts():
        for name in dict.fromkeys(bullet.cites()):
            fed.setdefault(name + ".md", set()).add(bullet.page)
            target = vault.resolve(name, bullet.page)
            if target != name + ".md":
                violations.append(
                    {
                        "kind": "citation does not reach its summary page",
                        "page": bullet.page,
                        "detail": f"[[{name}]] -> {target}",
                    }
                )
    for summary, pages in sorted(fed.items()):
        page = vault.pages.get(summary)
        if page is None:
            continue  # counted by the citation check
        mentioned = {
            vault.resolve(link, summary) for link in links_in(page.regions.get("mentions", ""))
        }
        for fed_page in sorted(pages - mentioned):
            violations.append(
                {
                    "kind": "summary page does not mention a page it feeds",
                    "page": summary,
                    "detail": fed_page,
                }
            )
    for rel in sorted({b.page for b in vault.facts()}):
        page = vault.pages[rel]
        cited = {n + ".md" for b in page.owned.get("facts", []) for n in b.cites()} | {
            n + ".md" for n in CITED_NAME.findall(page.body)
        }
        listed = set()
        for item in page.list_prop("sources"):
            for link in links_in(item):
                target = vault.resolve(link, rel)
                if target is not None and target.startswith(SOURCE_PAGES + "/"):
                    listed.add(target)
        for missing in sorted(cited - listed):
            violations.append(
                {"kind": "cited but not in `sources`", "page": rel, "detail": missing}
            )
        for extra in sorted(listed - cited):
            violations.append({"kind": "in `sources` but not cited", "page": rel, "detail": extra})
    kinds = Counter(v["kind"] for v in violations)
    return {
        "summaries": len(fed),
        "violations": len(violations),
        "by_kind": dict(kinds),
        "list": violations[:20],
    }


# -- 5. orphans ------------------------------------------------------------------------------------


def orphans(vault: Vault, created: Iterable[str]) -> dict[str, Any]:
    """Created pages no other non-generated page links to (index.md, index/*, log.md and
    CONFLICT.md carry `generated_by: companion` and do not count; nor does a self-link)."""
    inbound: dict[str, set[str]] = {}
    for page in vault.pages.values():
        if page.generated:
            continue
        for link in visible_links(page):
            target = vault.resolve(link, page.rel)
            if target is not None and target != page.rel:
                inbound.setdefault(target, set()).add(page.rel)
    created = sorted(created)
    lonely = [rel for rel in created if not inbound.get(rel)]
    return {"created": len(created), "orphans": len(lonely), "list": lonely[:20]}


# -- 6. co-location --------------------------------------------------------------------------------


def _overlaps(hay: str, needle_a: str, needle_b: str) -> bool:
    """Do the first occurrences of two normalised strings in `hay` overlap by at least half of
    the shorter one (or does one contain the other)?"""
    if needle_a in needle_b or needle_b in needle_a:
        return True
    i, j = hay.find(needle_a), hay.find(needle_b)
    if i < 0 or j < 0:
        return False
    overlap = min(i + len(needle_a), j + len(needle_b)) - max(i, j)
    return overlap >= min(len(needle_a), len(needle_b)) / 2


def side_facts(
    vault: Vault,
    facts: Sequence[Bullet],
    side: Mapping[str, str],
    summary_of: Mapping[str, str],
    sources: Sources,
) -> list[Bullet]:
    """Fact bullets that state one side of an item: they cite the summary page of its file,
    and their words contain the quote or overlap it in the source (a fact may be the whole
    sentence around the quote, or one sentence of a longer quote)."""
    summary = summary_of.get(side["file"])
    if summary is None:
        return []
    name = summary.removesuffix(".md")
    quote = normalise_quote(side["quote"])
    texts = sources.text(side["file"])
    hay = texts.plain if texts else ""
    out = []
    for bullet in facts:
        if name not in bullet.cites():
            continue
        body = fact_body(bullet.text)
        if body is None:
            continue
        said = split_page(body)[0]
        row = texts.row_of(said) if texts is not None and not texts.holds(said) else None
        words = normalise(row if row is not None else said)  # a labelled row: as its source line
        if quote in words or (len(words.split()) >= 4 and _overlaps(hay, quote, words)):
            out.append(bullet)
    return out


def colocation(
    vault: Vault,
    truth: Sequence[Mapping[str, Any]],
    summary_of: Mapping[str, str],
    sources: Sources,
    kind: str,
) -> dict[str, Any]:
    """For each truth item of `kind`: is some page holding a fact of side a and one of side b?"""
    facts = vault.facts()
    items = [t for t in truth if t.get("kind") == kind]
    hit, misses = 0, []
    for item in items:
        a = side_facts(vault, facts, item["a"], summary_of, sources)
        b = side_facts(vault, facts, item["b"], summary_of, sources)
        shared = sorted({f.page for f in a} & {f.page for f in b})
        if shared:
            hit += 1
            continue
        misses.append(
            {
                "id": item["id"],
                "subject": item.get("subject", ""),
                "a_pages": sorted({f.page for f in a}),
                "b_pages": sorted({f.page for f in b}),
                "why": _why_missed(a, b),
            }
        )
    return {"items": len(items), "colocated": hit, "misses": misses}


def _why_missed(a: Sequence[Bullet], b: Sequence[Bullet]) -> str:
    if not a and not b:
        return "neither side became a fact"
    if not a:
        return "side a became no fact"
    if not b:
        return "side b became no fact"
    return "both sides are facts, on different pages"
