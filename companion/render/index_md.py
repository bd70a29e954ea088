"""index.md: a catalog a person wants to open, rendered as pure text from catalog rows.

Notes are grouped by page type for managed pages (`Entities`, `Concepts`, ... from SYSTEM.md) and
by top-level folder for everything else, one line each: a link and a one-line summary. Sections
that would make index.md long move to a sub-index note under `index/` that index.md links to, so
the catalog stays readable at 10k notes. Links use full vault paths because generated notes share
names with each other and with the user's notes.

Every generated note carries `generated_by: companion` in its frontmatter: that is how the
companion recognises its own files and refuses to overwrite a human's `index.md`.

Names are data, not markup. A file name may hold a newline, a `|`, `]]`, a backtick (Obsidian
refuses to create some of these, other tools do not), and every title, path, folder name and link
target is written so that it stays on its line and inside its link:

- `one_line`: control characters (newline, tab, ...) and Unicode line separators become visible
  pictures (`␊`, `␉`, U+2400 block) or U+FFFD, in every piece of text a line is built from.
- `link_to`: a wikilink only when neither path nor title holds anything that can end or split it
  (`|`, `#`, `^`, brackets, a backslash or backtick, `<`, `>`, `$`, `%%`, control characters);
  otherwise a markdown link whose label is backslash-escaped and whose target is percent-encoded
  (`%0A`, `%5D`, ...: Obsidian and `markdown/scan` decode it), so the link still opens the file.
- `code`: an unresolved target as a code span fenced longer than any backtick run inside it.
- folder names become headings and sub-index file names only through `one_line`/`_UNSAFE_NAME`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import quote

from companion.config import Schema
from companion.store.rows import CatalogRow

GENERATED_KEY = "generated_by"
GENERATED_HEADER = f"---\n{GENERATED_KEY}: companion\n---\n"
INDEX_PATH = "index.md"
SUBINDEX_FOLDER = "index"
LOG_NOTE = "log.md"  # render/log_md.py's LOG_PATH (that module imports this one's helpers)


def is_generated_path(path: str) -> bool:
    """Whether `path` is where companion writes a generated note (the catalog or the log)."""
    return path in (INDEX_PATH, LOG_NOTE) or path.startswith(SUBINDEX_FOLDER + "/")


INLINE_LIMIT = 50
# What ends or splits a wikilink, or opens markup around it (a code span, HTML, math, a comment).
_LINK_BREAKERS = re.compile(r"[|#^\[\]`<>$\\\x00-\x1f\x7f-\x9f\u2028\u2029]|%%")
# What could end a line: C0/C1 controls (CR, LF, VT, FF, NEL, ...) and the Unicode separators.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
# Escaped in a markdown link's label: ASCII punctuation that could close it or start markup.
_LABEL_ESCAPE = re.compile(r"[\\\[\]`<>*_$%|~=#^]")
# Percent-encoded in a markdown link's target (with every control character).
_TARGET_ENCODE = frozenset(" %()<>[]#^$|\\`\u2028\u2029")
_UNSAFE_NAME = re.compile(r'[*"\\/<>:|?#^\[\]\x00-\x1f\x7f-\x9f\u2028\u2029]+')


@dataclass(frozen=True, slots=True)
class Section:
    name: str
    lines: list[str]


def one_line(text: str) -> str:
    """`text` with every character that could end a line made visible (a line feed is `␊`)."""
    return _CONTROL.sub(_picture, text) if _CONTROL.search(text) else text


def _picture(match: re.Match[str]) -> str:
    code = ord(match.group())
    if code < 0x20:
        return chr(0x2400 + code)  # ␀ … ␟: the Control Pictures block
    return "\u2421" if code == 0x7F else "\ufffd"  # ␡ for DEL; C1 controls and separators: �


def _encode_target(path: str) -> str:
    return "".join(
        quote(ch, safe="") if ch in _TARGET_ENCODE or _CONTROL.match(ch) else ch for ch in path
    )


def link_to(path: str, title: str) -> str:
    """A link by full vault path that stays on its line: a wikilink when nothing in the path or
    title can break one, else a markdown link with an escaped label and a percent-encoded target."""
    target = path[:-3] if path.endswith(".md") else path
    if _LINK_BREAKERS.search(path) or _LINK_BREAKERS.search(title):
        label = _LABEL_ESCAPE.sub(lambda m: "\\" + m.group(), one_line(title))
        return f"[{label}]({_encode_target(path)})"
    return (
        f"[[{target}|{title}]]"
        if target.rsplit("/", 1)[-1] != title or "/" in target
        else f"[[{target}]]"
    )


def code(text: str) -> str:
    """`text` as an inline code span, on one line, whatever backticks it holds."""
    text = one_line(text)
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") or not text.strip(" ") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def section_title(type_name: str) -> str:
    """`entity` -> `Entities`, `source` -> `Sources`: the heading for a page type."""
    word = type_name.strip().capitalize() or "Pages"
    if word.endswith("y") and word[-2:-1] not in "aeiou":
        return word[:-1] + "ies"
    return word + ("es" if word.endswith(("s", "x", "ch", "sh")) else "s")


RAW_SOURCES = "Raw sources"  # the section of the notes under the sources folder


def _typed(row: CatalogRow, schema: Schema) -> str | None:
    """The section of a raw source or a managed page (by its type), None for a person's note."""
    if row.path.startswith(schema.sources_folder.rstrip("/") + "/"):
        # Dropped files, not wiki pages — whatever `type` their own frontmatter gives — and
        # never confused with the `Sources` section of their summary pages.
        return RAW_SOURCES
    for page_type in schema.page_types:
        folder = page_type.folder
        if row.path.startswith(folder + "/") or (
            row.type == page_type.name and schema.is_managed(row.path)
        ):
            return section_title(page_type.name)
    return None


SHARE = 0.9  # a folder holding this share of a level's notes is descended into


def common_folder(paths: Sequence[str]) -> str:
    """The folder the catalog's folder sections start from: "" (the vault's top level), or the
    folder that holds nearly all notes (SHARE), descended as long as one folder does
    (13th-age-srd: `Compendium/13A/`, whose Bestiary, Classes, Spells ... are the sections)."""
    prefix = ""
    while True:
        under = [p[len(prefix) :] for p in paths if p.startswith(prefix)]
        folders: dict[str, int] = {}
        for rest in under:
            if "/" in rest:
                head = rest.split("/", 1)[0]
                folders[head] = folders.get(head, 0) + 1
        if not folders:
            return prefix
        head, count = max(folders.items(), key=lambda kv: (kv[1], kv[0]))
        inner = [r.split("/", 1)[1] for r in under if r.startswith(head + "/")]
        if count < SHARE * len(under) or not any("/" in r for r in inner):
            return prefix
        prefix += head + "/"


def _section_of(row: CatalogRow, schema: Schema, prefix: str = "") -> str:
    typed = _typed(row, schema)
    if typed is not None:
        return typed
    rest = row.path[len(prefix) :] if row.path.startswith(prefix) else row.path
    if "/" in rest:
        return one_line(rest.split("/", 1)[0])
    return (
        one_line(prefix.rstrip("/").rsplit("/", 1)[-1]) if prefix and rest != row.path else "Notes"
    )


def _labels(rows: Sequence[CatalogRow]) -> dict[str, str]:
    """Each note's label in the catalog: its title, and where two or more notes share one, the
    folder too (`Overview (services/ledger)`)."""
    seen: dict[str, int] = {}
    for row in rows:
        seen[row.title.casefold()] = seen.get(row.title.casefold(), 0) + 1
    out = {}
    for row in rows:
        folder = row.path.rsplit("/", 1)[0] if "/" in row.path else "vault root"
        shared = seen[row.title.casefold()] > 1
        out[row.path] = f"{row.title} ({folder})" if shared else row.title
    return out


def folder_prefix(rows: Sequence[CatalogRow], schema: Schema) -> str:
    """`common_folder` of the people's notes (wiki pages and raw sources are grouped by type)."""
    return common_folder([r.path for r in rows if _typed(r, schema) is None])


def sections(
    rows: Sequence[CatalogRow], schema: Schema, prefix: str | None = None
) -> list[Section]:
    grouped: dict[str, list[str]] = {}
    prefix = folder_prefix(rows, schema) if prefix is None else prefix
    labels = _labels(rows)
    for row in rows:
        summary = f" — {one_line(row.summary)}" if row.summary else ""
        line = f"- {link_to(row.path, labels[row.path])}{summary}"
        grouped.setdefault(_section_of(row, schema, prefix), []).append(line)
    type_order = [section_title(p.name) for p in schema.page_types]
    names = sorted(
        grouped,
        key=lambda n: (
            n not in type_order,
            type_order.index(n) if n in type_order else 0,
            n.casefold(),
        ),
    )
    return [Section(n, grouped[n]) for n in names]


def subindex_path(name: str) -> str:
    return f"{SUBINDEX_FOLDER}/{_UNSAFE_NAME.sub('-', name).strip(' .-') or 'section'}.md"


def _plural(n: int, word: str) -> str:
    return f"{n:,} {word}" + ("" if n == 1 else "s")


def render_index(
    rows: Sequence[CatalogRow],
    orphans: Sequence[str],
    unresolved: Sequence[tuple[str, str]],
    schema: Schema,
    titles: dict[str, str],
    unresolved_links: int | None = None,
) -> dict[str, str]:
    """All generated catalog notes: {vault path: text}, index.md first. `unresolved_links` is
    the count status shows (every unresolved link written); the section lists each note and the
    name it links once."""
    prefix = folder_prefix(rows, schema)
    parts = sections(rows, schema, prefix)
    names = len({t.casefold() for _, t in unresolved})
    out: dict[str, str] = {}
    body = [
        GENERATED_HEADER,
        "# Index\n\n",
        "> [!info] Generated by companion\n"
        "> Built from the vault's notes and rebuilt as they change: edits here are overwritten.\n\n",
        f"{_plural(len(rows), 'note')} · {_plural(len(orphans), 'orphan')} · "
        f"{_plural(unresolved_links if unresolved_links is not None else len(unresolved), 'unresolved link')}"
        f" ({_plural(names, 'name')})\n",
    ]
    if prefix:
        body.append(
            f"\nFolder sections are the folders of {code(prefix)}, which holds nearly every note.\n"
        )
    for section in parts:
        count = len(section.lines)
        body.append(f"\n## {section.name} ({count:,})\n\n")
        if count <= INLINE_LIMIT:
            body.append("\n".join(section.lines) + "\n")
            continue
        sub = subindex_path(section.name)
        body.append(
            f"All {count:,} in {link_to(sub, section.name)}. First {INLINE_LIMIT // 5}:\n\n"
        )
        body.append("\n".join(section.lines[: INLINE_LIMIT // 5]) + "\n")
        out[sub] = "".join(
            [
                GENERATED_HEADER,
                f"# {section.name}\n\n",
                f"{count:,} entries · back to [[index]]\n\n",
                "\n".join(section.lines),
                "\n",
            ]
        )
    if schema.index_orphans and orphans:
        _listed(
            body,
            out,
            "Orphans",
            len(orphans),
            "notes no other note links to, named as text (a link here would make them linked "
            "notes in Obsidian's graph)",
            [f"- {code(p)}" for p in orphans],
        )
    if schema.index_unresolved and unresolved:
        _listed(
            body,
            out,
            "Unresolved links",
            len(unresolved),
            "links to notes that do not exist, each with the note that writes it",
            [
                f"- {code(target)} ← {link_to(src, titles.get(src, src))}"
                for src, target in unresolved
            ],
        )
    return {INDEX_PATH: "".join(body), **out}


LIST_CAP = 1000  # entries an orphans or unresolved-links sub-index lists at most


def _listed(
    body: list[str], out: dict[str, str], name: str, count: int, what: str, lines: list[str]
) -> None:
    """A count in index.md with a link to the sub-index that lists them (at most LIST_CAP):
    never a list of almost the whole vault in the catalog itself. Switched off in SYSTEM.md with
    `index: {orphans: false}` or `{unresolved: false}`."""
    sub = subindex_path(name)
    body.append(f"\n## {name} ({count:,})\n\n{count:,} {what}: {link_to(sub, name)}.\n")
    shown = lines[:LIST_CAP]
    more = f"\n… and {count - len(shown):,} more\n" if count > len(shown) else ""
    out[sub] = "".join(
        [
            GENERATED_HEADER,
            f"# {name}\n\n",
            f"{count:,} {what} · back to [[index]]\n\n",
            "\n".join(shown),
            "\n",
            more,
        ]
    )
