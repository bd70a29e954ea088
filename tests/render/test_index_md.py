"""index.md is built from names nobody controls: a file name can never add a line or break a link.

Each rendered link is read back with companion's own parser and resolver (`markdown.parse`,
`markdown.resolve`), which follow Obsidian's link grammar: it must lead to exactly the file it was
rendered for.
"""

from __future__ import annotations

import pytest

from companion.config import default_system_md, parse_schema
from companion.markdown.parse import parse_note
from companion.markdown.resolve import Resolver
from companion.render.index_md import (
    INLINE_LIMIT,
    code,
    link_to,
    render_index,
    sections,
    subindex_path,
)
from companion.store.rows import CatalogRow

SCHEMA = parse_schema(default_system_md(), "default SYSTEM.md")

HOSTILE = [
    "notes/line one\n- [[injected]].md",
    "notes/carriage\rreturn.md",
    "notes/tab\tand\x0bvertical\x0cfeed.md",
    "notes/unicode\u2028line\u2029para\x85nel.md",
    "notes/pipe | alias.md",
    "notes/closes]] early.md",
    "notes/opens [[ a link.md",
    "notes/back`tick.md",
    "notes/hash #heading ^block.md",
    "notes/comment %% hides.md",
    "notes/<b>html</b>.md",
    "notes/math $x$.md",
    "notes/back\\slash.md",
    "notes/(parens) 100%.md",
]


def title_of(path: str) -> str:
    return path.rsplit("/", 1)[-1].removesuffix(".md")


RESOLVER = Resolver(HOSTILE)


def links_in(line: str) -> list[str | None]:
    """The files the links of `line` lead to (None: a link that resolves to nothing)."""
    note = parse_note(f"{line}\n".encode(), "index.md")
    return [RESOLVER.resolve(link.path, "index.md").target for link in note.links]


@pytest.mark.parametrize("path", HOSTILE, ids=repr)
def test_a_hostile_name_stays_one_link_on_one_line_to_its_file(path: str) -> None:
    line = f"- {link_to(path, title_of(path))} — a summary"
    assert len(line.splitlines()) == 1
    assert links_in(line) == [path]


def test_plain_names_keep_their_wikilinks() -> None:
    assert link_to("notes/Plain note.md", "Plain note") == "[[notes/Plain note|Plain note]]"
    assert link_to("Top.md", "Top") == "[[Top]]"
    assert link_to("Café (draft).md", "Café (draft)") == "[[Café (draft)]]"


def test_a_control_character_is_shown_not_obeyed() -> None:
    rendered = link_to("a\nb.md", "a\nb")
    assert rendered.startswith("[a␊b](") and "%0A" in rendered


def test_the_whole_catalog_has_one_line_per_entry_whatever_the_names() -> None:
    rows = [CatalogRow(p, title_of(p), None, "summary\nwith a newline") for p in HOSTILE]
    # A top-level folder whose name holds a newline becomes a section heading and a sub-index.
    crowded = [
        CatalogRow(f"new\nfolder/n{i}.md", f"n{i}", None, "") for i in range(INLINE_LIMIT + 1)
    ]
    unresolved = [("notes/pipe | alias.md", "a `tick`\nand a newline")]
    out = render_index(rows + crowded, [HOSTILE[0]], unresolved, SCHEMA, {})
    index = out["index.md"]
    lines = index.splitlines()
    entries = [line for line in lines if line.startswith("- ")]
    # Every catalog row: one `- ` line each, nothing else (the orphan and the unresolved link
    # are counted here and listed in their sub-indexes, one line each there too).
    assert len(entries) == len(rows) + INLINE_LIMIT // 5
    assert not any(line.startswith("- [[injected") for line in lines)
    assert "## new␊folder (51)" in lines
    sub = subindex_path("new␊folder")
    assert sub in out and "\n" not in sub and sub.startswith("index/")
    listed = out[subindex_path("Unresolved links")].splitlines()
    [unresolved_line] = [line for line in listed if "←" in line]
    assert unresolved_line.startswith("- ``a `tick`␊and a newline`` ← [notes/pipe \\| alias.md](")
    linked = {link for line in entries for link in links_in(line)}
    assert set(HOSTILE) <= linked


def test_a_code_span_survives_any_backticks() -> None:
    assert code("plain") == "`plain`"
    assert code("a`b") == "``a`b``"
    assert code("`edge`") == "`` `edge` ``"


def test_raw_sources_have_their_own_section_whatever_type_they_claim() -> None:
    schema = parse_schema(default_system_md(), "default SYSTEM.md")
    rows = [
        CatalogRow("sources/spec.md", "spec", "source", "The raw spec."),
        CatalogRow("wiki/sources/spec.md", "spec", "source", "Its summary page."),
        CatalogRow("notes/Relay.md", "Relay", "entity", "A person's note saying type: entity."),
    ]
    titled = {s.name: s for s in sections(rows, schema)}
    assert set(titled) == {"Raw sources", "Sources", "notes"}


def test_the_orphans_list_is_capped_and_names_them_as_text(monkeypatch: pytest.MonkeyPatch) -> None:
    import companion.render.index_md as index_md

    monkeypatch.setattr(index_md, "LIST_CAP", 2)
    rows = [CatalogRow(f"n{i}.md", f"n{i}", None, "") for i in range(3)]
    out = render_index(rows, [r.path for r in rows], [], SCHEMA, {})
    assert "## Orphans (3)" in out["index.md"] and "`n0.md`" not in out["index.md"]
    listed = out[subindex_path("Orphans")]
    assert "- `n0.md`\n- `n1.md`\n" in listed and "n2.md" not in listed
    assert "… and 1 more" in listed and "[[n0" not in listed
