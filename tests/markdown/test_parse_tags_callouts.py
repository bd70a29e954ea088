"""Inline tags (obsidian-rules.md §4), callouts, comments and block ids (§5), headings."""

from __future__ import annotations

import pytest

from companion.markdown.note import Callout, Note
from companion.markdown.parse import parse_note


def parse(md: str) -> Note:
    return parse_note(md.encode("utf-8"), "n.md")


def tags(md: str) -> tuple[str, ...]:
    return parse(md).tags


# --- tags ------------------------------------------------------------------------------------


def test_inline_tag_is_found_without_hash() -> None:
    assert tags("text #tag more") == ("tag",)


def test_tag_at_line_start_and_after_list_marker_or_quote() -> None:
    assert tags("#first\n- #second\n> #third") == ("first", "second", "third")


def test_tag_must_start_a_word() -> None:
    assert tags("foo#bar and x.com/#anchor and &#39;") == ()


@pytest.mark.parametrize("word", ["café", "日本語", "ä-b_c", "emoji🚀", "tag/with/slashes"])
def test_tag_allows_unicode_letters_digits_dash_underscore_slash_emoji(word: str) -> None:
    assert tags(f"x #{word} y") == (word,)


@pytest.mark.parametrize("md", ["#1984", "#2023 report", "#2023."])
def test_all_digit_tag_is_not_a_tag(md: str) -> None:
    assert tags(md) == ()


def test_tag_with_one_non_digit_is_a_tag() -> None:
    assert tags("#y1984 #1984a") == ("y1984", "1984a")


def test_tag_cannot_end_in_slash() -> None:
    assert tags("#parent/ x") == ("parent",)


@pytest.mark.parametrize("md", ["#tag.", "#tag,", "#tag!", "(#x) #tag)", "#tag's", "#tag:x"])
def test_tag_ends_at_other_punctuation(md: str) -> None:
    assert tags(md) == ("tag",)


def test_tags_deduplicate_case_insensitively_keeping_first_spelling() -> None:
    assert tags("#Tag #tag #TAG #other") == ("Tag", "other")


def test_nested_tag_is_kept_whole() -> None:
    # `#a/b` is also under `a`: the hierarchy is derived from the stored `a/b`.
    assert tags("#a/b") == ("a/b",)


@pytest.mark.parametrize(
    "md",
    ["`#code`", "```\n#fenced\n```", "    #indented", "$#math$", "<!-- #hidden -->", "\\#escaped"],
)
def test_no_tags_in_code_math_html_comments_or_escaped(md: str) -> None:
    assert tags("para\n\n" + md) == ()


def test_wikilink_heading_is_not_a_tag() -> None:
    assert tags("[[Note#Heading]] [x](Note.md#Heading)") == ()


def test_heading_marker_is_not_a_tag() -> None:
    note = parse("# Heading\n## Sub #real")
    assert note.tags == ("real",)
    assert [h.text for h in note.headings] == ["Heading", "Sub #real"]


@pytest.mark.parametrize("md", ["%% #hidden %%", "%%\n#hidden\n%%", "text %%#hidden%% text"])
def test_tags_inside_percent_comments_are_not_tags_ours(md: str) -> None:
    assert tags(md + "\n\n#after") == ("after",)


# --- headings --------------------------------------------------------------------------------


def test_atx_headings_levels_text_line_and_offset() -> None:
    note = parse("intro\n# One\n###### Six ###\n####### seven\n#nospace\n")
    assert [(h.level, h.text, h.line, h.start) for h in note.headings] == [
        (1, "One", 2, 6),
        (6, "Six", 3, 12),
    ]


def test_no_headings_in_code_or_blockquotes() -> None:
    assert parse("```\n# code\n```\n> # quoted\n\n    # indented").headings == ()


def test_heading_after_frontmatter_has_file_line() -> None:
    note = parse("---\na: 1\n---\n## H\n")
    assert [(h.line, note.text[h.start : h.start + 2]) for h in note.headings] == [(4, "##")]


# --- callouts --------------------------------------------------------------------------------


def test_callout_type_title_fold_and_line() -> None:
    (c,) = parse("text\n\n> [!WARNING]- Mind the gap\n> body").callouts
    assert c == Callout("warning", "Mind the gap", "-", "", 3, 1)


@pytest.mark.parametrize("fold", ["+", "-", ""])
def test_callout_fold_marker(fold: str) -> None:
    assert parse(f"> [!tip]{fold} T").callouts[0].fold == fold


def test_callout_without_title_and_with_metadata() -> None:
    (c,) = parse("> [!info|wide]").callouts
    assert (c.type, c.title, c.metadata) == ("info", "", "wide")


@pytest.mark.parametrize("kind", ["tldr", "custom-type", "faq"])
def test_callout_alias_and_unknown_types_keep_their_lower_cased_name(kind: str) -> None:
    assert parse(f"> [!{kind.upper()}]").callouts[0].type == kind


def test_nested_callouts_record_depth() -> None:
    md = "> [!note] Outer\n> text\n> > [!question] Inner\n> > more\n"
    assert [(c.type, c.depth, c.line) for c in parse(md).callouts] == [
        ("note", 1, 1),
        ("question", 2, 3),
    ]


def test_callout_marker_must_open_the_blockquote() -> None:
    assert [c.type for c in parse("> [!a]\n> [!b] not a new callout").callouts] == ["a"]
    assert parse("> plain quote\n> [!b] not a callout").callouts == ()


def test_separate_quotes_are_separate_callouts() -> None:
    assert [c.type for c in parse("> [!a]\n\n> [!b]").callouts] == ["a", "b"]


def test_no_callouts_in_code() -> None:
    assert parse("```\n> [!note]\n```").callouts == ()


# --- block ids and comments ------------------------------------------------------------------


def test_block_id_at_end_of_paragraph_and_list_item() -> None:
    note = parse("A paragraph. ^para-1\n\n- item ^item2\n")
    assert note.block_ids == ("para-1", "item2")


def test_block_id_on_its_own_line_after_callout() -> None:
    assert parse("> [!note] T\n> body\n\n^callout-id\n").block_ids == ("callout-id",)


@pytest.mark.parametrize("md", ["x^notid", "```\ntext ^code\n```", "[^1]", "x ^bad_id"])
def test_not_block_ids(md: str) -> None:
    assert parse(md).block_ids == ()


def test_comment_hides_headings_and_block_ids_but_keeps_links_ours() -> None:
    note = parse("%%\n# Hidden\ntext ^hid\n[[Kept]]\n%%\n# Shown\n")
    assert [h.text for h in note.headings] == ["Shown"]
    assert note.block_ids == ()
    assert [lk.path for lk in note.links] == ["Kept"]


def test_companion_region_markers_are_self_contained_comments() -> None:
    md = "%% companion:begin refs %%\n- [[Gen]] #gen\n%% companion:end refs %%\n#human"
    note = parse(md)
    assert [lk.path for lk in note.links] == ["Gen"]
    assert note.tags == ("gen", "human")
