"""End to end on the three real vaults in ../shared/data/vaults (skipped where they are absent).

Each vault is copied into a temporary folder (companion writes index.md and log.md into the vault,
and the shared data must stay untouched), indexed once per module with text only (embedding these
vaults takes minutes; test_embed.py covers vectors) and then checked against links picked by hand
from the vaults' own files, each exercising one of Obsidian's resolution rules
(docs obsidian-rules.md §1-2).
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from companion.app import Companion, IndexResult
from companion.config import load_settings
from companion.store.rows import EdgeRow
from tests.helpers import REAL_VAULTS, requires_shared

pytestmark = requires_shared

SRD = "Compendium/13A"


class Indexed:
    """One real vault, copied and indexed once; `edges` is the graph's edge list after that."""

    def __init__(self, root: Path, name: str) -> None:
        self.vault = Path(shutil.copytree(REAL_VAULTS / name, root / name))
        self.app = Companion(load_settings(self.vault, state_dir=root / "state"))
        self.result: IndexResult = self.app.index(embed=False)
        self.edges: list[EdgeRow] = self.app.graph().edges

    def links_from(self, source: str, raw: str) -> list[EdgeRow]:
        found = [e for e in self.edges if e.source == source and e.raw == raw]
        assert found, f"no link {raw!r} recorded in {source}"
        return found

    def link(self, source: str, raw: str) -> EdgeRow:
        (edge,) = self.links_from(source, raw)
        return edge


def _indexed(tmp_path_factory: pytest.TempPathFactory, name: str) -> Iterator[Indexed]:
    done = Indexed(tmp_path_factory.mktemp(name), name)
    yield done
    done.app.close()


@pytest.fixture(scope="module")
def kepano(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Indexed]:
    yield from _indexed(tmp_path_factory, "kepano-obsidian")


@pytest.fixture(scope="module")
def srd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Indexed]:
    yield from _indexed(tmp_path_factory, "13th-age-srd")


@pytest.fixture(scope="module")
def ttrpg(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Indexed]:
    yield from _indexed(tmp_path_factory, "ttrpg-share")


@pytest.fixture(params=["kepano", "srd", "ttrpg"])
def indexed(request: pytest.FixtureRequest) -> Indexed:
    """Each vault in turn, sharing the module's single index of it with the vault's own tests."""
    vault: Indexed = request.getfixturevalue(request.param)
    return vault


def _markdown_files(vault: Path) -> set[str]:
    """Every .md file Obsidian shows: hidden files and folders (.obsidian, .git) are not part of it."""
    found = set()
    for path in vault.rglob("*.md"):
        rel = path.relative_to(vault)
        if not any(part.startswith(".") for part in rel.parts):
            found.add(rel.as_posix())
    return found


# -- every vault: complete, and idempotent --------------------------------------------------------


def test_every_markdown_file_of_a_real_vault_becomes_a_note_page(indexed: Indexed) -> None:
    users = _markdown_files(REAL_VAULTS / indexed.vault.name)
    notes = {p for p, kind, *_ in indexed.app.store.pages.nodes() if kind == "note"}
    assert users - notes == set()
    # The only other notes are the ones companion generated (index.md, log.md, index/...).
    for extra in notes - users:
        page = indexed.app.store.pages.get(extra)
        assert page is not None and page.generated, extra
    assert "index.md" in indexed.result.written
    # The only problems these vaults have are notes whose frontmatter is not valid YAML:
    # reported, and the note is still a page. (Templates' `{{date}}` placeholders are never
    # parsed: a template is a link target only.)
    for path, message in indexed.result.sync.problems:
        assert "malformed YAML" in message, (path, message)
        assert path in notes


def test_indexing_a_real_vault_again_changes_nothing(indexed: Indexed) -> None:
    before = indexed.app.store.pages.counts()
    again = indexed.app.index(embed=False)
    assert again.sync.changed_anything is False
    assert again.sync.added == again.sync.changed == again.sync.removed == []
    assert again.written == []
    assert indexed.app.store.pages.counts() == before


# -- kepano-obsidian: frontmatter links, attachments and .base embeds -----------------------------


def test_kepano_frontmatter_list_links_resolve_across_folders(kepano: Indexed) -> None:
    # References/Out of Control.md: categories: ["[[Books]]"], author: ["[[Kevin Kelly]]"].
    books = kepano.link("References/Out of Control.md", "[[Books]]")
    assert (books.target, books.kind, books.ambiguous) == (
        "Categories/Books.md",
        "frontmatter",
        False,
    )
    author = kepano.link("References/Out of Control.md", "[[Kevin Kelly]]")
    assert (author.target, author.kind) == ("References/Kevin Kelly.md", "frontmatter")


def test_kepano_frontmatter_link_to_an_image_resolves_to_the_attachment(kepano: Indexed) -> None:
    # cover: "[[out-of-control.jpg]]" -> the file in Attachments/, a non-markdown target.
    cover = kepano.link("References/Out of Control.md", "[[out-of-control.jpg]]")
    assert (cover.target, cover.kind) == ("Attachments/out-of-control.jpg", "frontmatter")


def test_kepano_base_embeds_resolve_to_base_files_with_their_view_as_subpath(
    kepano: Indexed,
) -> None:
    # Categories/Books.md is just `![[Books.base]]`; the .base lives in Templates/Bases/, and the
    # note Categories/Books.md must not capture it (the link names an extension).
    books = kepano.link("Categories/Books.md", "![[Books.base]]")
    assert (books.target, books.kind) == ("Templates/Bases/Books.base", "embed")
    # A view of a base is its subpath. (Templates are link targets only, never parsed: the
    # example is a note outside the templates folder.)
    movies = kepano.link("Categories/Movies.md", "![[Movies.base#Favorites]]")
    assert (movies.target, movies.subpath) == ("Templates/Bases/Movies.base", "Favorites")


def test_kepano_links_to_missing_notes_stay_unresolved_ghosts(kepano: Indexed) -> None:
    # No Emergence.md exists: the body link and the `topics` property link both stay unresolved.
    source = "Notes/2023-09-12 Meeting with Steph.md"
    kinds = {e.kind for e in kepano.links_from(source, "[[Emergence]]") if e.target is None}
    assert kinds == {"wikilink", "frontmatter"}
    assert "ghost:emergence" in kepano.app.graph().graph


def test_kepano_backlinks_count_body_and_property_links(kepano: Indexed) -> None:
    path, links = kepano.app.backlinks("Kevin Kelly")
    assert path == "References/Kevin Kelly.md"
    sources = {e.source for e in links}
    assert {"References/Out of Control.md", "References/Well Made 145 Kevin Kelly.md"} <= sources


# -- 13th-age-srd: folder-qualified links, table pipes, shortest path, relative links -------------


def test_srd_folder_qualified_link_resolves_to_that_exact_path(srd: Indexed) -> None:
    raw = f"[[{SRD}/Combat-Rules/Special-Attacks-and-Effects/Ongoing-Damage|ongoing damage]]"
    edges = srd.links_from(f"{SRD}/Races/Dark-Elf.md", raw)
    assert {e.target for e in edges} == {
        f"{SRD}/Combat-Rules/Special-Attacks-and-Effects/Ongoing-Damage.md"
    }


def test_srd_escaped_pipe_in_a_table_link_is_not_part_of_the_target(srd: Indexed) -> None:
    # Races.md: `| [[Compendium/13A/Races/Human\|Human]] | ...` (a markdown table row).
    edge = srd.link(f"{SRD}/Races/Races.md", f"[[{SRD}/Races/Human\\|Human]]")
    assert (edge.target, edge.path, edge.kind) == (
        f"{SRD}/Races/Human.md",
        f"{SRD}/Races/Human",
        "wikilink",
    )


def test_srd_bare_link_takes_the_shortest_path_over_a_file_in_the_sources_subfolder(
    srd: Indexed,
) -> None:
    # Combat-Rules/Combat-Rules.md links [[Combat-Stats]]: Combat-Rules/Combat-Stats/Combat-Stats.md
    # sits below the source, but sub- and parent folders give no preference, so the shorter
    # Character-Rules/Combat-Stats.md wins. Likewise both [[Damage]] links pick Combat-Stats/Damage.md.
    source = f"{SRD}/Combat-Rules/Combat-Rules.md"
    stats = srd.link(source, "[[Combat-Stats]]")
    assert (stats.target, stats.ambiguous) == (f"{SRD}/Character-Rules/Combat-Stats.md", False)
    damage = srd.links_from(source, "[[Damage]]")
    assert len(damage) == 2
    assert {(e.target, e.ambiguous) for e in damage} == {
        (f"{SRD}/Combat-Rules/Combat-Stats/Damage.md", False)
    }


def test_srd_bare_link_finds_the_note_in_the_sources_own_folder(srd: Indexed) -> None:
    # Two Leveling-Up.md files exist; the one beside Running-the-Game.md is taken. (It is also the
    # shorter one: no link in these vaults has an own-folder match that is longer than another
    # candidate, so test_resolve.py's synthetic case is what proves rule 3 beats rule 4.)
    edge = srd.link(f"{SRD}/Running-the-Game/Running-the-Game.md", "[[Leveling-Up]]")
    assert edge.target == f"{SRD}/Running-the-Game/Leveling-Up.md"


def test_srd_markdown_links_resolve_vault_wide_and_dotdot_relative_to_the_source(
    srd: Indexed,
) -> None:
    # A vault-rooted path from a note inside Races/ is not read relative to Races/.
    human = srd.link(f"{SRD}/Races/Races.md", f"[Human]({SRD}/Races/Human.md)")
    assert (human.target, human.kind) == (f"{SRD}/Races/Human.md", "markdown")
    # `../Monsters.md` from Monsters/Monster-Rules/ climbs one folder.
    up = srd.link(
        f"{SRD}/Monsters/Monster-Rules/Monster-Abilities.md", "[Monsters](../Monsters.md)"
    )
    assert up.target == f"{SRD}/Monsters/Monsters.md"
    # `../Monster-Rules/Mooks.md` from Monsters/ misses (Mooks.md is one level deeper): no fallback.
    miss = srd.link(f"{SRD}/Monsters/Monster-Key.md", "[Mooks](../Monster-Rules/Mooks.md)")
    assert miss.target is None


def test_srd_links_inside_a_statblock_code_fence_are_not_links(srd: Indexed) -> None:
    # Dire-Tiger.md mentions [[Dire-Animals|dire features]] only inside a ```statblock fence.
    source = f"{SRD}/Bestiary/Beast/Animal-Critter/Dire-Tiger.md"
    assert (srd.vault / source).read_text(encoding="utf-8").count("[[Dire-Animals|") == 1
    assert not [e for e in srd.edges if e.source == source and "Dire-Animals" in e.raw]


# -- ttrpg-share: percent-encoded markdown links, relative embeds, canvas -------------------------


def test_ttrpg_percent_encoded_heading_link_resolves_with_a_decoded_subpath(ttrpg: Indexed) -> None:
    source = "Pathfinder/2E/gm-screen/gm-screen.md"
    edge = ttrpg.link(source, "[Basic Actions](rules-reference.md#Basic%20Actions)")
    assert (edge.target, edge.subpath, edge.kind) == (
        "Pathfinder/2E/gm-screen/rules-reference.md",
        "Basic Actions",
        "markdown",
    )
    _, backlinks = ttrpg.app.backlinks("Pathfinder/2E/gm-screen/rules-reference.md")
    assert sum(e.source == source for e in backlinks) >= 20


def test_ttrpg_relative_embed_resolves_case_insensitively(ttrpg: Indexed) -> None:
    # The link says Resources/Dungeon23-Asset-Pack/PNGs/...; the folders on disk are lower case.
    raw = "![[../../Resources/Dungeon23-Asset-Pack/PNGs/Dungeon23-Logo-Horizontal-Non-Photo-Blue.png]]"
    edge = ttrpg.link("dungeon23/templates/project/dungeon23-project.md", raw)
    assert (
        edge.target
        == "dungeon23/resources/dungeon23-asset-pack/pngs/dungeon23-logo-horizontal-non-photo-blue.png"
    )
    assert edge.kind == "embed"


def test_ttrpg_markdown_image_resolves_by_name_and_folder_suffix(ttrpg: Indexed) -> None:
    # A bare file name found in another folder, and a folder-qualified path in a different case.
    bare = ttrpg.link(
        "Without-Numbers/statblocks/creature-statblock-homebrew-yilmas.md",
        "![Statblock](creature_block_homebrew_yilmas_png.png)",
    )
    assert bare.target == "Without-Numbers/_attachments/creature_block_homebrew_yilmas_png.png"
    suffix = ttrpg.link(
        "templates/call-out-boxes/xentis-obsidian-callouts-reference.md",
        "![Xentis-Callouts](_attachments/Xentis-Callouts.png)",
    )
    assert suffix.target == "templates/call-out-boxes/_attachments/xentis-callouts.png"


def test_ttrpg_dotdot_link_that_misses_does_not_fall_back_to_a_same_named_note(
    ttrpg: Indexed,
) -> None:
    # fear.md exists (spells/level-1/fear.md), but this relative path points outside the vault's copy.
    raw = "[Fear](../../../TTRPGShare-Pathfinder-2E-Vault/rules/traits/fear.md)"
    edges = ttrpg.links_from("Pathfinder/2E/gm-screen/common-conditions-p.618-623.md", raw)
    assert {e.target for e in edges} == {None}
    assert any(p.endswith("/fear.md") for p in ttrpg.app.store.pages.paths())


def test_ttrpg_canvas_file_nodes_link_to_their_images(ttrpg: Indexed) -> None:
    canvas = "Pathfinder/2E/canvas-gm-tables/game-master-tables.canvas"
    targets = {e.target for e in ttrpg.edges if e.source == canvas}
    assert "Pathfinder/2E/canvas-gm-tables/_attachments/img-armor.png" in targets
    assert None not in targets


def test_typing_a_notes_name_puts_it_first(srd: Indexed, kepano: Indexed) -> None:
    assert srd.app.search("Fighter")[0].path == f"{SRD}/Classes/Fighter.md"
    assert (
        srd.app.search("fighter multiclass")[0].path == f"{SRD}/Multiclassing/Fighter-Multiclass.md"
    )
    assert kepano.app.search("japan trip")[0].path == "Notes/2023 Japan Trip.md"


def test_index_md_of_a_real_vault_follows_its_folders_and_lists_no_orphans_inline(
    srd: Indexed, ttrpg: Indexed
) -> None:
    index = (srd.vault / "index.md").read_text(encoding="utf-8")
    for section in ("## Bestiary (", "## Classes (", "## Spells ("):
        assert section in index  # the folders inside Compendium/13A, not one flat list of 1,000
    assert "## Compendium (" not in index
    catalog = (ttrpg.vault / "index.md").read_text(encoding="utf-8")
    orphans = catalog.split("## Orphans (", 1)[1].split("\n## ", 1)[0]
    assert orphans.count("\n- ") == 0 and "[[index/Orphans|Orphans]]" in orphans
    assert len(catalog.splitlines()) < 400  # readable, whatever the vault's size
