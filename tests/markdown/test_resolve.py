"""Obsidian's link resolution (obsidian-rules.md §2): one test per rule, named for the behaviour."""

from __future__ import annotations

import unicodedata

from companion.markdown.resolve import Resolution, Resolver


def target(paths: list[str], link: str, source: str = "src/Source.md") -> str | None:
    return Resolver(paths).resolve(link, source).target


# -- matching --------------------------------------------------------------------------------


def test_md_extension_is_optional() -> None:
    assert target(["Note.md"], "Note") == "Note.md"
    assert target(["Note.md"], "Note.md") == "Note.md"


def test_matching_is_case_insensitive_and_returns_the_on_disk_spelling() -> None:
    assert target(["Folder/My Note.md"], "folder/MY NOTE") == "Folder/My Note.md"


def test_matching_is_unicode_normalised_on_both_sides() -> None:
    nfd = unicodedata.normalize("NFD", "Café.md")
    nfc_link = unicodedata.normalize("NFC", "café")
    assert target([nfd], nfc_link) == nfd
    assert target(
        [unicodedata.normalize("NFC", "Café.md")], unicodedata.normalize("NFD", "CAFÉ")
    ) == (unicodedata.normalize("NFC", "Café.md"))


def test_non_markdown_target_needs_its_extension() -> None:
    paths = ["img/diagram.png"]
    assert target(paths, "diagram.png") == "img/diagram.png"
    assert target(paths, "diagram") is None


def test_canvas_resolves_with_its_extension() -> None:
    assert target(["boards/board.canvas"], "board.canvas") == "boards/board.canvas"


def test_empty_link_is_the_source_note_itself() -> None:
    assert Resolver([]).resolve("", "a/Here.md") == Resolution("a/Here.md", False)


def test_unknown_name_is_unresolved() -> None:
    assert Resolver(["Note.md"]).resolve("Missing", "Note.md") == Resolution(None, False)


def test_aliases_never_resolve_only_paths_count() -> None:
    # The resolver knows file paths only; an alias of `Real Name.md` is just an unknown name here.
    assert target(["Real Name.md"], "Alias") is None


# -- rule 2: exact path ----------------------------------------------------------------------------


def test_exact_root_path_wins_from_anywhere() -> None:
    paths = ["Note.md", "src/Note.md"]
    assert target(paths, "Note", source="src/Source.md") == "Note.md"


def test_exact_folder_path_wins_over_longer_suffix_match() -> None:
    assert target(["a/b/Note.md", "b/Note.md"], "b/Note") == "b/Note.md"


def test_leading_slash_is_ignored() -> None:
    assert target(["abs/Note.md", "x/abs/Note.md"], "/abs/Note") == "abs/Note.md"
    assert target(["x/abs/Note.md"], "/abs/Note") == "x/abs/Note.md"


# -- rule 3: the source's own folder ---------------------------------------------------------------


def test_own_folder_beats_shorter_path_elsewhere() -> None:
    paths = ["b/Note.md", "deep/folder/Note.md"]
    assert target(paths, "Note", source="deep/folder/Source.md") == "deep/folder/Note.md"


def test_parent_folder_gives_no_preference() -> None:
    # `zz/Note.md` is in the source's parent folder, not its own: the tie rule decides against it.
    res = Resolver(["zz/Note.md", "aa/Note.md"]).resolve("Note", "zz/sub/Source.md")
    assert res == Resolution("aa/Note.md", True)
    paths = ["deep/Note.md", "z/Note.md"]
    assert target(paths, "Note", source="deep/sub/Source.md") == "z/Note.md"


def test_own_folder_applies_to_folder_qualified_links() -> None:
    paths = ["x/b/Note.md", "a/b/Note.md"]
    assert target(paths, "b/Note", source="x/b/Source.md") == "x/b/Note.md"


# -- rule 4: shortest path, then lexicographic -----------------------------------------------------


def test_shortest_path_wins() -> None:
    assert target(["a/b/Note.md", "b/Note.md"], "Note", source="c/Source.md") == "b/Note.md"


def test_shortest_is_by_whole_path_length_not_depth() -> None:
    # Worked example: `a/b/Note.md` (11 chars) before `zzzz/Note.md` (12).
    assert target(["zzzz/Note.md", "a/b/Note.md"], "Note") == "a/b/Note.md"


def test_tie_is_lexicographic_and_flagged_ambiguous() -> None:
    res = Resolver(["yy/Note.md", "xx/Note.md"]).resolve("Note", "src/Source.md")
    assert res == Resolution("xx/Note.md", True)


def test_tie_order_uses_the_normalised_path() -> None:
    # On-disk `B/` sorts before `a/` by code point, but the normalised paths compare `a/` < `b/`.
    res = Resolver(["B/Note.md", "a/Note.md"]).resolve("Note", "src/Source.md")
    assert res == Resolution("a/Note.md", True)


def test_unique_shortest_is_not_ambiguous() -> None:
    res = Resolver(["yy/Note.md", "x/Note.md"]).resolve("Note", "src/Source.md")
    assert res == Resolution("x/Note.md", False)


def test_files_differing_only_in_case_are_ambiguous_even_on_exact_hit() -> None:
    res = Resolver(["note.md", "Note.md"]).resolve("NOTE", "src/Source.md")
    assert res == Resolution("Note.md", True)


# -- path-suffix matching --------------------------------------------------------------------------


def test_suffix_matches_at_folder_boundary() -> None:
    assert target(["a/b/Note.md"], "b/Note") == "a/b/Note.md"


def test_suffix_never_matches_inside_a_folder_name() -> None:
    assert target(["ab/Note.md"], "b/Note") is None


def test_suffix_match_picks_the_shortest_of_several() -> None:
    paths = ["long/x/b/Note.md", "a/b/Note.md", "b2/Note.md"]
    assert target(paths, "b/Note") == "a/b/Note.md"


# -- relative links --------------------------------------------------------------------------------


def test_dotdot_is_relative_to_the_source_folder() -> None:
    assert (
        target(["x/y.md", "x/sub/Source.md", "y.md"], "../y", source="x/sub/Source.md") == "x/y.md"
    )


def test_dot_slash_is_relative_to_the_source_folder() -> None:
    paths = ["x/Here.md", "Here.md"]
    assert target(paths, "./Here", source="x/Source.md") == "x/Here.md"


def test_relative_link_does_not_fall_back_vault_wide() -> None:
    paths = ["elsewhere/y.md", "y.md"]
    assert target(paths, "../y", source="x/sub/Source.md") is None
    assert target(paths, "./y", source="x/Source.md") is None


def test_relative_link_climbing_out_of_the_vault_is_unresolved() -> None:
    assert target(["y.md"], "../../y", source="x/Source.md") is None


def test_relative_link_is_case_insensitive() -> None:
    assert target(["X/Y.md"], "../y", source="x/sub/S.md") == "X/Y.md"


# -- the two spellings of `.md` (ours) -------------------------------------------------------------


def test_link_with_md_prefers_the_literal_note_over_md_md() -> None:
    assert target(["Note.md.md", "Note.md"], "Note.md") == "Note.md"
    # ... even when the literal note is farther away: the literal spelling is tried first.
    assert target(["Note.md.md", "deep/er/Note.md"], "Note.md") == "deep/er/Note.md"


def test_link_with_md_falls_back_to_md_md_when_no_literal_match() -> None:
    assert target(["Note.md.md"], "Note.md") == "Note.md.md"


def test_bare_link_prefers_the_md_note_over_an_extensionless_file() -> None:
    assert target(["Note", "Note.md"], "Note") == "Note.md"
    assert target(["Note", "far/away/Note.md"], "Note") == "far/away/Note.md"


def test_bare_link_reaches_an_extensionless_file_when_no_note_exists() -> None:
    assert target(["bin/Makefile"], "Makefile") == "bin/Makefile"


def test_dotted_note_name_resolves_without_md() -> None:
    assert target(["v1.2.md"], "v1.2") == "v1.2.md"


def test_attachment_link_prefers_the_file_over_a_note_with_md_appended() -> None:
    assert target(["diagram.png.md", "diagram.png"], "diagram.png") == "diagram.png"


# -- scale -----------------------------------------------------------------------------------------


def test_folder_links_are_unresolved() -> None:
    assert target(["a/Note.md"], "a/") is None
    assert target(["a/Note.md"], "/") is None


def test_a_large_vault_with_a_name_shared_by_a_thousand_files_resolves_by_proximity() -> None:
    """100k paths and 1,000 files called `index.md`: the answers, not the time (resolution speed
    is part of the cold-index benchmark, bench/run.py)."""
    paths = [f"f{i % 500}/sub{i % 7}/Note {i}.md" for i in range(100_000)]
    paths += [f"f{i}/index.md" for i in range(1000)]  # a name shared by many files
    resolver = Resolver(paths)
    for i in range(0, 100_000, 997):
        assert resolver.resolve(f"Note {i}", f"f{i % 500}/Source.md").target == paths[i]
    assert resolver.resolve("index", "f3/Source.md").target == "f3/index.md"
    assert resolver.resolve("index", "nowhere/Source.md") == Resolution("f0/index.md", True)
    assert resolver.resolve("sub3/index", "f1/Source.md").target is None
