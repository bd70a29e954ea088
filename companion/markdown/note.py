"""The parsed form of one vault file: plain, immutable data shared by every layer.

`parse.parse_note(data, path)` builds a `Note` from a file's bytes; nothing here touches disk,
SQLite or the network. Positions are character offsets into the decoded text of the whole file
(frontmatter included) plus 1-based line numbers, so a later surgical edit can find its bytes again.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Literal

LinkKind = Literal["wikilink", "embed", "markdown", "frontmatter"]

# SQLite stores integers in 64 signed bits; a `version` outside them cannot be stored or bumped.
VERSION_MIN, VERSION_MAX = -(2**63), 2**63 - 1


def version_of(value: Any) -> int | None:
    """A `version` property as an integer: an int (not a bool) or decimal digits as text, within
    SQLite's signed 64-bit range; None for anything else."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        digits = value.strip()
        # At most 19 digits: int() of a huge digit string is refused (and slow) anyway.
        if not (digits.isdecimal() and len(digits) <= 19):
            return None
        value = int(digits)
    if isinstance(value, int) and VERSION_MIN <= value <= VERSION_MAX:
        return value
    return None


def version_problem(value: Any) -> str | None:
    """Why a `version` property is not usable (for a Problem), or None when it is, or absent."""
    if value is None or version_of(value) is not None:
        return None
    if isinstance(value, bool):
        return f"is {str(value).lower()}, a boolean, not a whole number; read as no version"
    if isinstance(value, int) or (isinstance(value, str) and value.strip().isdecimal()):
        shown = (
            str(value).strip() if len(str(value).strip()) <= 40 else str(value).strip()[:40] + "…"
        )
        return f"is {shown}, outside the range SQLite can store (-2**63 to 2**63-1); read as no version"
    shown = repr(value) if len(repr(value)) <= 40 else repr(value)[:40] + "…"
    return f"is {shown}, not a whole number; read as no version"


@dataclass(frozen=True, slots=True)
class Link:
    """One outgoing link as written in the note.

    `raw` is the whole link as it appears in the source (`[[Note#H|shown]]`, `![[img.png|100]]`,
    `[text](My%20Note.md)`, or the property value `[[Note]]`). `path` is the link path to resolve
    (trimmed; percent-decoded for markdown links; "" for a link to the note itself such as
    `[[#Heading]]`). `subpath` is everything after the first `#` without that `#` (`H1#H2`,
    `^block-id`, `page=3`) or None. `display` is the text after the first unescaped `|` (or the
    markdown link text), or None.
    """

    raw: str
    path: str
    subpath: str | None
    display: str | None
    kind: LinkKind
    start: int
    end: int
    line: int
    property: str | None = None  # frontmatter key the link sits under (kind == "frontmatter")


@dataclass(frozen=True, slots=True)
class Heading:
    level: int
    text: str
    line: int
    start: int  # offset of the first `#`


@dataclass(frozen=True, slots=True)
class Callout:
    type: str  # lower-cased as written (`warning`, `tldr`, `custom-type`)
    title: str  # "" when absent
    fold: str  # "", "+" or "-"
    metadata: str  # text after `|` inside `[!type|meta]`, "" when absent
    line: int
    depth: int  # 1 for `> [!x]`, 2 for `> > [!x]`


@dataclass(frozen=True, slots=True)
class Problem:
    """Something wrong with the file that did not stop it from being indexed."""

    code: str  # short machine name: "yaml", "utf8", "frontmatter-type", ...
    message: str  # says what and where, e.g. "malformed YAML in frontmatter (line 3): ..."
    line: int | None = None


@dataclass(frozen=True, slots=True)
class Note:
    path: str  # vault-relative POSIX path, as on disk
    text: str  # the decoded file (BOM stripped), frontmatter included
    body_start: int  # offset where the body starts (0 when there is no frontmatter)
    body_start_line: int  # 1-based line of the first body line
    properties: dict[str, Any]
    aliases: tuple[str, ...]
    tags: tuple[str, ...]  # without `#`, first spelling kept, de-duplicated case-insensitively
    links: tuple[Link, ...]
    headings: tuple[Heading, ...]
    block_ids: tuple[str, ...]
    callouts: tuple[Callout, ...]
    problems: tuple[Problem, ...] = field(default=())

    @property
    def body(self) -> str:
        return self.text[self.body_start :]

    @property
    def version(self) -> int | None:
        """The frontmatter `version`: an integer (or digits written as text) that SQLite can
        store, else None (`version_problem` says why)."""
        return version_of(self.properties.get("version"))

    @property
    def title(self) -> str:
        """Obsidian's title is the file name without its extension."""
        name = self.path.rsplit("/", 1)[-1]
        return name[:-3] if name.lower().endswith(".md") else name


def section(note: Note, heading: str) -> str | None:
    """The text of `note`'s section under `heading` — the heading line to the next heading of
    its level or above, as Obsidian's `[[Note#Heading]]` shows it; `heading` matched as Obsidian
    matches a link's subpath (case and spacing aside; `A#B` or `A > B` names B under A)."""

    def norm(text: str) -> str:
        return " ".join(text.casefold().split())

    wanted = [norm(p) for p in re.split(r"#|>", heading.strip().lstrip("#")) if p.strip()]
    if not wanted:
        return None
    heads = [h for h in note.headings if h.start >= note.body_start]
    trail: list[Heading] = []
    for i, h in enumerate(heads):
        while trail and trail[-1].level >= h.level:
            trail.pop()
        trail.append(h)
        names = [norm(t.text) for t in trail]
        if names[-1] == wanted[-1] and all(w in names[:-1] for w in wanted[:-1]):
            end = next((x.start for x in heads[i + 1 :] if x.level <= h.level), len(note.text))
            return str(note.text[h.start : end]).rstrip() + "\n"
    return None
