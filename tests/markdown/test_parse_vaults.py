"""parse_note over the real vaults in ../shared/data: no exceptions, and a few links checked by hand."""

from __future__ import annotations

import pytest

from companion.markdown.note import Note
from companion.markdown.parse import parse_note
from tests.helpers import REAL_VAULTS

VAULTS = REAL_VAULTS
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not VAULTS.is_dir(), reason=f"shared vault data not found at {VAULTS}"),
]


def load(vault: str, rel: str) -> Note:
    path = VAULTS / vault / rel
    if not path.is_file():
        pytest.skip(f"{path} is not in this copy of the shared data")
    return parse_note(path.read_bytes(), rel)


def test_every_vault_file_parses_without_exception() -> None:
    count = 0
    for path in sorted(VAULTS.glob("*/**/*")):
        if path.suffix not in (".md", ".canvas") or not path.is_file():
            continue
        vault_root = VAULTS / path.relative_to(VAULTS).parts[0]
        note = parse_note(path.read_bytes(), path.relative_to(vault_root).as_posix())
        for link in note.links:
            if link.kind != "frontmatter" and path.suffix != ".canvas":
                assert note.text[link.start : link.end] == link.raw, (path, link)
        count += 1
    assert count > 0, f"no .md files under {VAULTS}"


def test_13th_age_table_link_with_escaped_pipe() -> None:
    note = load("13th-age-srd", "Compendium/13A/Races/Races.md")
    link = next(lk for lk in note.links if lk.line == 20)
    assert (link.raw, link.path, link.display, link.kind) == (
        "[[Compendium/13A/Races/Human\\|Human]]",
        "Compendium/13A/Races/Human",
        "Human",
        "wikilink",
    )
    assert note.text[link.start : link.end] == link.raw


def test_ttrpg_percent_encoded_markdown_link_subpath() -> None:
    note = load("ttrpg-share", "Pathfinder/2E/gm-screen/gm-screen.md")
    link = next(lk for lk in note.links if lk.line == 57)
    assert (link.raw, link.path, link.subpath, link.display, link.kind) == (
        "[Basic Actions](rules-reference.md#Basic%20Actions)",
        "rules-reference.md",
        "Basic Actions",
        "Basic Actions",
        "markdown",
    )


def test_kepano_frontmatter_links_record_their_property() -> None:
    note = load("kepano-obsidian", "References/Out of Control.md")
    found = {(lk.property, lk.path) for lk in note.links if lk.kind == "frontmatter"}
    assert {
        ("categories", "Books"),
        ("author", "Kevin Kelly"),
        ("cover", "out-of-control.jpg"),
    } <= (found)
    assert note.properties["year"] == 1992


def test_ttrpg_canvas_file_nodes_link_to_their_files() -> None:
    note = load("ttrpg-share", "Pathfinder/2E/canvas-gm-tables/game-master-tables.canvas")
    first = "Pathfinder/2E/canvas-gm-tables/_attachments/img-difficulty-classes.png"
    assert note.links[0].path == first
    assert note.text[note.links[0].start : note.links[0].end] == first
    assert note.problems == ()
