"""The bytes ingest writes on wiki pages: owned bullets, page skeletons, safe titles.

**A bullet is ingest's only while it is byte-identical to what ingest wrote.** Every bullet ingest
writes into a region ends with a short block id derived from what it wrote:

```markdown
- The ledger runs PostgreSQL 15 ([[wiki/sources/q3-architecture-review]]). ^i-3fa91c2d
```

`i-` + 8 hex of a hash of (page name, region, bullet text). Reading a region, a bullet whose id
matches its own text is ingest's; one whose id no longer matches was edited by a person and is
theirs (its id still names the fact, so a person's correction is never re-added beside it); a
bullet without an id is a person's. The record lives in the vault itself, so it survives
`index --rebuild`, a second machine and a restored backup. A bullet moved to another page or
region no longer matches either (the page name and region are in the hash). Obsidian hides
block ids in reading view, and they make every fact linkable (`[[page#^i-3fa91c2d]]`).

`merge_bullets` is the one rule every region edit follows: a person's bullets stay, byte for byte
and in place; ingest's bullets that the change is about (`mine`: e.g. those citing the source
being re-ingested) are kept when still wanted and dropped when not; wanted bullets not yet there
are appended. Everything outside the regions is left alone, except the single frontmatter values
ingest sets (`version`, `updated`, `sources`, and the source page's own properties).

Pure text in, text out: `Companion.ingest` reads pages, calls these, and writes every page of one
source as one journaled transaction.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from companion.errors import MalformedFrontmatter, RegionError
from companion.markdown.parse import parse_note
from companion.write.fmedit import FrontmatterEditError, add_items, remove_items, set_value
from companion.write.pages import PLACEHOLDER, STAMP_FORMAT
from companion.write.regions import find_regions, region_text, set_region

_ID = re.compile(r"^- (?P<text>.*?)[ \t]+\^(?P<id>i-[0-9a-f]{8})[ \t]*$")
# SYSTEM.md §6: the one citation style, and the pages it names.
CITATION = re.compile(
    r"\(\[\[wiki/sources/[^\]\[|#^]+\]\](?:, \[\[wiki/sources/[^\]\[|#^]+\]\])*\)"
)
_CITED = re.compile(r"\[\[(wiki/sources/[^\]\[|#^]+)\]\]")
_REFUSED_CHARS = re.compile(r'[*"<>|?#^\[\]\x00-\x1f\x7f]')
_SPACES = re.compile(r"\s+")
_RESERVED = re.compile(r"(?i)(?:con|prn|aux|nul|com[0-9]|lpt[0-9])(?:\..*)?")
MAX_TITLE = 96  # SYSTEM.md §4: under 100 characters, with room for a " (concept)" suffix


def bullet_id(page: str, region: str, text: str) -> str:
    """The block id ingest gives the bullet `text` in `region` of the page named `page`."""
    key = f"{page.casefold()}\n{region}\n{text}".encode()
    return "i-" + hashlib.sha256(key).hexdigest()[:8]


@dataclass(frozen=True, slots=True)
class Line:
    raw: str  # the line as it is, without its newline
    text: str | None  # a bullet's text without `- ` and its id; None for any other line
    id: str | None  # the ingest id it carries, if any
    owned: bool  # ingest's: the id matches the text

    def cites(self) -> list[str]:
        """The source pages this bullet's citation names (`wiki/sources/x`)."""
        return _CITED.findall(self.text or "")


def region_lines(content: str, page: str, region: str) -> list[Line]:
    out = []
    for raw in content.split("\n"):
        raw = raw.removesuffix("\r")
        match = _ID.match(raw)
        if match is None:
            out.append(Line(raw, None, None, False))
            continue
        text, ident = match.group("text"), match.group("id")
        out.append(Line(raw, text, ident, ident == bullet_id(page, region, text)))
    if out and out[-1].raw == "":
        out.pop()  # the region's last newline, not a line
    return out


def merge_bullets(
    content: str | None,
    page: str,
    region: str,
    wanted: Sequence[str],
    mine: Callable[[Line], bool],
    context: Sequence[str] = (),
    refused: Collection[str] = (),
) -> str:
    """The region's new content (see the module docstring). `wanted`: bullet texts in order;
    `mine`: which of ingest's bullets this change decides (others are kept as they are).
    `context`: the page's lines outside the region — a bullet already there (moved out of the
    region, or left when a person removed the markers) is not added again. `refused`: ids of
    bullets a person deleted, not added again either."""
    lines = region_lines(content or "", page, region)
    want = {bullet_id(page, region, w): w for w in dict.fromkeys(wanted)}
    corrected = {line.id for line in lines if line.id and not line.owned}
    corrected.update(m.group(1) for raw in context if (m := _ANY_ID.search(raw)))
    corrected.update(refused)
    others = [line.raw for line in lines if not line.owned] + list(context)
    theirs = [_gist(raw) for raw in others if raw.lstrip().startswith("- ")]
    for ident, text in want.items():
        if any(_restates(_gist(f"- {text}"), other) for other in theirs):
            corrected.add(ident)  # a person already says this (in their words): theirs stands
    present: set[str] = set()
    out: list[str] = []
    for number, line in enumerate(lines):
        if line.owned and line.id is not None:
            if line.id in present:
                continue  # a duplicate of a bullet already kept
            if mine(line) and line.id not in want:
                if not _has_children(lines, number):
                    continue  # withdrawn or replaced
                # A person wrote under it (an indented note): dropping it would hang their
                # lines under another fact. It stays, without its id — theirs now.
                out.append(_ID_TAIL.sub("", line.raw))
                continue
            present.add(line.id)
        out.append(line.raw)
    for ident, text in want.items():
        if ident not in present and ident not in corrected:
            out.append(f"- {text} ^{ident}")
    return "".join(f"{line}\n" for line in out)


def _has_children(lines: Sequence[Line], number: int) -> bool:
    """Whether the bullet at `number` has indented lines under it that are not ingest's."""
    for line in lines[number + 1 :]:
        if not line.raw.strip():
            return False
        if not line.raw[:1].isspace():
            return False
        if not line.owned:
            return True
    return False


_WORDS = re.compile(r"\w+")


def _gist(bullet: str) -> tuple[frozenset[str], tuple[str, ...]]:
    """A bullet's words (lowercased, its citation and block id left out) and the sources it cites:
    what `_restates` compares."""
    bare = _ID_TAIL.sub("", bullet).strip().removeprefix("- ").strip()
    link = re.fullmatch(r"\[\[([^\]|#]+)(?:[|#][^\]]*)?\]\]", bare)
    if link:  # a link bullet (`related`, `mentions`) restates only a link to the same page
        return frozenset({"[[" + link.group(1).casefold()}), ()
    cites = tuple(sorted(_CITED.findall(bullet)))
    text = CITATION.sub(" ", _ID_TAIL.sub("", bullet))
    text = re.sub(r"\[\[([^\]|#]*)[^\]]*\]\]", r"\1", text)
    return frozenset(w.casefold() for w in _WORDS.findall(text)), cites


_ID_TAIL = re.compile(r"[ \t]+\^i-[0-9a-f]{8}[ \t]*$")
_ANY_ID = re.compile(r"[ \t]\^(i-[0-9a-f]{8})[ \t]*$")


def _restates(
    new: tuple[frozenset[str], tuple[str, ...]], old: tuple[frozenset[str], tuple[str, ...]]
) -> bool:
    """A person's bullet citing the same sources with nearly the same words (the smaller word set
    at least 70% inside the other, half of all words shared) and no number the other contradicts
    (one's numbers all among the other's) says what ingest would add."""
    (a, cites_a), (b, cites_b) = new, old
    if cites_a != cites_b or not a or not b:
        return False
    numbers_a = {w for w in a if w[:1].isdigit()}
    numbers_b = {w for w in b if w[:1].isdigit()}
    if not (numbers_a <= numbers_b or numbers_b <= numbers_a):
        return False  # another number is another claim (a changed value, a conflict), not a copy
    shared = len(a & b)
    return shared >= 0.7 * min(len(a), len(b)) and shared >= 0.5 * len(a | b)


def owned_bullets(content: str, page: str, region: str) -> list[Line]:
    return [line for line in region_lines(content, page, region) if line.owned]


def cited_sources(text: str) -> list[str]:
    """Every source page a citation in `text` names, in order of first appearance."""
    seen: dict[str, None] = {}
    for group in CITATION.finditer(text):
        for name in _CITED.findall(group.group(0)):
            seen.setdefault(name, None)
    return list(seen)


def cite(text: str, source_pages: Sequence[str]) -> str:
    """A fact as a cited bullet text: the citation before the final full stop (SYSTEM.md §6)."""
    body = text.rstrip()
    end = "."
    if body.endswith((".", "!", "?")) and not body.endswith(("..", "...")):
        end = body[-1] if body[-1] != "." else "."
        body = body[:-1].rstrip()
    body = body.rstrip(" ,;:")  # `covers:` or `departments;` then the citation reads as a sentence
    links = ", ".join(f"[[{p}]]" for p in source_pages)
    return f"{body} ({links}){end}"


# -- titles ---------------------------------------------------------------------------------------


def safe_title(name: str) -> str | None:
    """A page title from a proposed name, per SYSTEM.md §4; None when nothing usable is left.
    `/`, `\\` and `:` become `-`; the characters Obsidian refuses are dropped; spaces collapse;
    spaces and dots are trimmed at both ends; a device name (`CON`, `lpt1`) gets a suffix; long
    names are cut at a word boundary. The result never contains a path separator."""
    title = name.replace("/", "-").replace("\\", "-").replace(":", "-")
    title = _REFUSED_CHARS.sub("", title)
    title = _SPACES.sub(" ", title).strip(" .")
    if len(title) > MAX_TITLE:
        cut = title[:MAX_TITLE]
        title = (cut.rsplit(" ", 1)[0] if " " in cut[MAX_TITLE // 2 :] else cut).strip(" .-")
    title = title.lstrip(".")
    if not title or not any(ch.isalnum() for ch in title):
        return None
    if _RESERVED.fullmatch(title):
        title = f"{title} (page)"
    return title


# -- pages ----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RegionPlan:
    """What one change wants in one region: bullet texts, and which of ingest's bullets it owns."""

    wanted: tuple[str, ...]
    mine: Callable[[Line], bool]
    # Ids of bullets ingest wrote here before that a person has since deleted: not re-added.
    refused: frozenset[str] = frozenset()


def stamp(now: datetime) -> str:
    return now.astimezone(UTC).strftime(STAMP_FORMAT)


def _frontmatter(rel: str, text: str) -> tuple[dict[str, Any], int]:
    note = parse_note(text.encode("utf-8"), rel)
    if any(p.code == "yaml" for p in note.problems):
        raise MalformedFrontmatter(
            f"{rel} has malformed frontmatter; fix it before ingest can write it"
        )
    version = note.properties.get("version")
    if version is None:
        return note.properties, 0
    if isinstance(version, str) and version.strip().isdigit():
        version = int(version.strip())  # `version: "3"`: the number a person meant
    if isinstance(version, bool) or not isinstance(version, int) or version < 0:
        # Counting from 0 again would hand out versions the page has had (SYSTEM.md §8).
        raise MalformedFrontmatter(
            f"{rel}: `version` is {version!r}, not a whole number; fix it before ingest can write it"
        )
    return note.properties, version


def _items(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _set_list(text: str, key: str, have: list[Any], want: Sequence[str]) -> str:
    """Make list property `key` hold `want`: missing items appended, others removed, the rest of
    the list (order, style, a person's other items when `want` names only links) kept."""
    gone = [i for i in have if isinstance(i, str) and i not in want]
    new = [i for i in want if i not in have]
    if gone:
        text = remove_items(text, key, gone)
    if new:
        text = add_items(text, key, new)
    return text


def edit_page(
    rel: str,
    text: str,
    regions: Mapping[str, RegionPlan],
    *,
    properties: Mapping[str, Any] | None = None,
    lists: Mapping[str, Sequence[str]] | None = None,
    sync_sources: bool = True,
    now: datetime,
) -> str | None:
    """`text` with the regions merged and the properties set, `version` bumped and `updated`
    stamped; None when nothing would change. `sync_sources`: keep `sources` equal to the source
    pages the body cites (the `[[wiki/sources/...]]` items only: anything else a person listed is
    theirs). `MalformedFrontmatter`/`RegionError` when the page cannot be edited safely."""
    page = rel.rsplit("/", 1)[-1].removesuffix(".md")
    props, version = _frontmatter(rel, text)
    original = text
    find_regions(text, rel)  # unreadable regions: refused before anything is planned
    for name, plan in regions.items():
        old = region_text(text, name, rel)
        context = _outside(text, name, rel)
        new = merge_bullets(old, page, name, plan.wanted, plan.mine, context, plan.refused)
        if new != (old or ""):
            text = set_region(text, name, new, rel)
    try:
        if sync_sources:
            want = [f"[[{p}]]" for p in cited_sources(_body(rel, text))]
            have = _items(props.get("sources"))
            others = [i for i in have if not (isinstance(i, str) and _CITED.fullmatch(i))]
            text = _set_list(text, "sources", [i for i in have if i not in others], want)
        for key, values in (lists or {}).items():
            text = _set_list(text, key, _items(props.get(key)), list(values))
        for key, value in (properties or {}).items():
            if props.get(key) != value:
                text = set_value(text, key, value)
        if text == original:
            return None
        text = set_value(text, "version", version + 1)
        return set_value(text, "updated", stamp(now))
    except FrontmatterEditError as exc:
        raise MalformedFrontmatter(f"{rel}: {exc}; nothing written") from exc


def bumped(rel: str, text: str, now: datetime) -> str:
    """`text` (a page a writer changed outside `edit_page`: a callout added or taken off) with
    `version` bumped and `updated` stamped (SYSTEM.md §8). `MalformedFrontmatter` when the page
    cannot be edited safely."""
    _, version = _frontmatter(rel, text)
    try:
        return set_value(set_value(text, "version", version + 1), "updated", stamp(now))
    except FrontmatterEditError as exc:
        raise MalformedFrontmatter(f"{rel}: {exc}; nothing written") from exc


def _outside(text: str, name: str, rel: str) -> list[str]:
    """The page's lines outside region `name` (the whole page when it has no such region)."""
    for region in find_regions(text, rel):
        if region.name == name:
            return (text[: region.body_start] + text[region.body_end :]).splitlines()
    return text.splitlines()


def _body(rel: str, text: str) -> str:
    note = parse_note(text.encode("utf-8"), rel)
    return text[note.body_start :]


_COMMENT_LINE = re.compile(r"^[ \t]*%%(?![ \t]*companion:).*%%[ \t]*$")


def _split_template(template: str) -> tuple[str, str]:
    """(frontmatter block with its `---` lines, the rest)."""
    match = re.match(r"\A(?:\ufeff)?---\r?\n.*?\r?\n---\r?\n", template, re.S)
    head = match.group(0) if match else ""
    return head, template[len(head) :]


def _without_prompts(template: str) -> str:
    """The template's body without what is there to prompt a person writing by hand: a prose line
    naming `{{title}}` ("One or two sentences saying what {{title}} is") and a line that is only a
    `%% ... %%` comment. On a page ingest creates they would be placeholder text, and the first
    would become the page's description in index.md."""
    head, body = _split_template(template)
    kept = [
        line
        for line in body.splitlines(keepends=True)
        if not _COMMENT_LINE.match(line)
        and not (re.search(r"\{\{\s*title\s*\}\}", line) and "[[" not in line)
    ]
    return head + "".join(kept)


def new_page(
    rel: str,
    template: str,
    regions: Mapping[str, Sequence[str]],
    *,
    properties: Mapping[str, Any],
    lists: Mapping[str, Sequence[str]],
    now: datetime,
    replace: Mapping[str, str] | None = None,
) -> str:
    """A new page at `rel`, version 1, shaped by its type's `template`: placeholders filled, every
    region of the template emptied of its example bullets and given `regions`' bullets (regions
    the template lacks are appended), list properties set to exactly `lists` (the template's
    example items removed), `properties` set. `replace`: literal template text swapped first (a
    source page's link to its raw file)."""
    title = rel.rsplit("/", 1)[-1].removesuffix(".md")
    head, body = _split_template(template)
    for old, new in (replace or {}).items():
        body = body.replace(old, new)  # the body only: frontmatter values are set as YAML below
    template = _without_prompts(head + body)
    head, body = _split_template(template)

    def fill(match: re.Match[str]) -> str:
        return title if match.group(1) == "title" else stamp(now)

    # In the frontmatter a placeholder that is a whole value becomes a YAML string (a title like
    # `@home` or `a: b` is not plain YAML); elsewhere the text as it is.
    head = re.sub(
        r"(?m)^([ \t]*[^\s:#][^:\n]*:[ \t]*)(\{\{\s*title\s*\}\})[ \t]*$",
        lambda m: m.group(1) + json.dumps(title, ensure_ascii=False),
        head,
    )
    text = PLACEHOLDER.sub(fill, head) + PLACEHOLDER.sub(fill, body)
    if not text.endswith("\n"):
        text += "\n"
    # An empty flow list in the template (`aliases: []`) becomes a block list when items go in:
    # the style SYSTEM.md §3 asks for (an empty one stays `[]`).
    for key, values in lists.items():
        if values:
            text = re.sub(rf"(?m)^({re.escape(key)}):[ \t]*\[\][ \t]*$", r"\1:", text, count=1)
    props, _ = _frontmatter(rel, text)
    try:
        for region in find_regions(text, rel):
            if region.name not in regions:
                text = set_region(text, region.name, "", rel)
        for name, wanted in regions.items():
            content = merge_bullets(None, title, name, wanted, lambda _line: True)
            text = set_region(text, name, content, rel)
        for key, values in lists.items():
            text = _set_list(text, key, _items(props.get(key)), list(values))
        for key, value in properties.items():
            text = set_value(text, key, value)
        text = set_value(text, "version", 1)
        return set_value(text, "updated", stamp(now))
    except (FrontmatterEditError, RegionError) as exc:
        raise MalformedFrontmatter(
            f"the template for {rel} cannot be filled in ({exc}); nothing written"
        ) from exc


def ids_citing(text: str, page: str, region: str, source: str) -> set[str]:
    """The ids of ingest's own bullets in `region` that cite exactly `source` (`wiki/sources/x`)."""
    content = region_text(text, region) or ""
    return {
        line.id
        for line in region_lines(content, page, region)
        if line.owned and line.id and line.cites() == [source]
    }


def all_ids(text: str) -> set[str]:
    """Every ingest id anywhere on the page (kept, edited or moved)."""
    return set(re.findall(r"\^(i-[0-9a-f]{8})\b", text))
