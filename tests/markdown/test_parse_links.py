"""Links as obsidian-rules.md §1 defines them: grammar, where they count, markdown links, canvas."""

from __future__ import annotations

import json

import pytest

from companion.markdown.note import Link, Note
from companion.markdown.parse import parse_note


def parse(md: str, path: str = "n.md") -> Note:
    return parse_note(md.encode("utf-8"), path)


def links(md: str) -> list[Link]:
    note = parse(md)
    for link in note.links:
        if link.kind != "frontmatter":  # body links point exactly at their source text
            assert note.text[link.start : link.end] == link.raw
    return list(note.links)


def only(md: str) -> Link:
    found = links(md)
    assert len(found) == 1, found
    return found[0]


def targets(md: str) -> list[str]:
    return [link.path for link in links(md)]


# --- grammar ---------------------------------------------------------------------------------


def test_wikilink_records_raw_path_kind_offsets_and_line() -> None:
    link = only("intro\n\nsee [[Note]] here")
    assert (link.raw, link.path, link.subpath, link.display, link.kind) == (
        "[[Note]]",
        "Note",
        None,
        None,
        "wikilink",
    )
    assert (link.start, link.end, link.line) == (11, 19, 3)


def test_wikilink_keeps_md_extension_and_non_markdown_extensions() -> None:
    assert targets("[[Note.md]] [[diagram.png]] [[board.canvas]] [[view.base]]") == [
        "Note.md",
        "diagram.png",
        "board.canvas",
        "view.base",
    ]


def test_wikilink_splits_subpath_at_first_hash() -> None:
    link = only("[[Note#H1#H2]]")
    assert (link.path, link.subpath) == ("Note", "H1#H2")


def test_wikilink_block_reference_subpath() -> None:
    assert only("[[paper.pdf#page=3]]").subpath == "page=3"
    assert only("[[Note#^block-id]]").subpath == "^block-id"


def test_wikilink_display_starts_after_first_pipe() -> None:
    link = only("[[Note#H|shown|more]]")
    assert (link.path, link.subpath, link.display) == ("Note", "H", "shown|more")


@pytest.mark.parametrize("md, sub", [("[[#Heading]]", "Heading"), ("[[#^id]]", "^id")])
def test_wikilink_to_own_heading_or_block_has_empty_path(md: str, sub: str) -> None:
    link = only(md)
    assert (link.path, link.subpath) == ("", sub)


def test_wikilink_trims_whitespace_around_target_and_display() -> None:
    link = only("[[ foo | x ]]")
    assert (link.path, link.display) == ("foo", "x")


def test_wikilink_only_double_bracket_ends_it() -> None:
    assert only("[[Sq]uare]]").path == "Sq]uare"


def test_wikilink_newline_inside_means_no_link() -> None:
    assert links("[[multi\nline]]") == []


def test_wikilink_nested_open_only_inner_is_link() -> None:
    assert targets("[[a [[b]] c]]") == ["b"]


def test_wikilink_escaped_opening_bracket_is_text() -> None:
    assert links(r"\[[x]]") == []
    assert targets(r"\\[[x]]") == ["x"]  # an escaped backslash does not escape the link


def test_wikilink_with_url_target_is_a_note_link() -> None:
    link = only("[[https://example.com]]")
    assert (link.kind, link.path) == ("wikilink", "https://example.com")


def test_wikilink_escaped_pipe_in_table_keeps_exact_offsets() -> None:
    md = "| a | b |\n|---|---|\n| [[Note\\|shown]] | x |\n"
    link = only(md)
    assert (link.raw, link.path, link.display, link.line) == (
        "[[Note\\|shown]]",
        "Note",
        "shown",
        3,
    )


def test_wikilink_escaped_pipe_outside_table() -> None:
    link = only("[[Note\\|shown]]")
    assert (link.path, link.display) == ("Note", "shown")


def test_embed_image_size_in_display_slot() -> None:
    assert [(lk.kind, lk.display) for lk in links("![[img.png|100x145]] ![[img.png|100]]")] == [
        ("embed", "100x145"),
        ("embed", "100"),
    ]


@pytest.mark.parametrize("md", ["[[]]", "[[ ]]"])
def test_empty_wikilink_is_not_a_link(md: str) -> None:
    assert links(md) == []


def test_wikilink_leading_pipe_belongs_to_target() -> None:
    link = only("[[|x]]")
    assert (link.path, link.display) == ("|x", None)


# --- markdown links --------------------------------------------------------------------------


@pytest.mark.parametrize("md", ["[text](My%20Note.md)", "[text](My%20Note)"])
def test_markdown_link_target_is_percent_decoded(md: str) -> None:
    link = only(md)
    assert (link.kind, link.path, link.display) == (
        "markdown",
        md[7:-1].replace("%20", " "),
        "text",
    )


def test_markdown_link_subpath_is_decoded_after_split() -> None:
    link = only("[x](My%23Note.md#Two%20Words)")
    assert (link.path, link.subpath) == ("My#Note.md", "Two Words")


def test_markdown_link_keeps_relative_parent_path() -> None:
    assert only("[up](../y.md)").path == "../y.md"


def test_markdown_link_with_literal_space_is_not_a_link() -> None:
    assert links("[text](My Note.md)") == []


def test_markdown_link_angle_brackets_allow_spaces() -> None:
    assert only("[text](<My Note.md>)").path == "My Note.md"


def test_markdown_link_with_title_is_a_link() -> None:
    assert only('[text](Note.md "a title")').path == "Note.md"


@pytest.mark.parametrize(
    "md",
    [
        "[a](https://x.org/p.md)",
        "[a](mailto:me@x.org)",
        "[a](obsidian://open?v=x)",
        "![a](https://x.org/i.png)",
    ],
)
def test_markdown_link_with_scheme_is_external_and_not_returned(md: str) -> None:
    assert links(md) == []


def test_markdown_image_of_internal_target_is_embed() -> None:
    link = only("![alt text](pics/cat.png)")
    assert (link.kind, link.path, link.display) == ("embed", "pics/cat.png", "alt text")


def test_markdown_image_inside_link_text_counts_too() -> None:
    assert [(lk.kind, lk.path) for lk in links("[![badge](b.png)](Target.md)")] == [
        ("markdown", "Target.md"),
        ("embed", "b.png"),
    ]


@pytest.mark.parametrize("md", ["[text][ref]\n\n[ref]: Note.md", "[text][]", "[^1] footnote"])
def test_reference_style_markdown_links_are_not_counted(md: str) -> None:
    assert links(md) == []


# --- where links do not count -----------------------------------------------------------------


@pytest.mark.parametrize(
    "md",
    [
        "```\n[[a]]\n```",
        "~~~python\n[[a]]\n~~~",
        "````\n```\n[[a]]\n````",  # a shorter fence does not close a longer one
        "```\n[[a]]\n",  # an unclosed fence runs to the end
        "> ```\n> [[a]]\n> ```",
        "- item\n  ```\n  [[a]]\n  ```",
    ],
)
def test_no_links_in_fenced_code(md: str) -> None:
    assert links(md) == []


def test_fence_in_blockquote_ends_with_the_quote() -> None:
    assert targets("> ```\n> [[a]]\n\n[[b]]") == ["b"]


def test_no_links_in_indented_code() -> None:
    assert targets("para\n\n    [[code]]\n\n[[b]]") == ["b"]


def test_indented_line_continuing_a_paragraph_or_list_item_is_not_code() -> None:
    assert targets("para\n    [[cont]]") == ["cont"]
    assert targets("- item\n\n    [[in-item]]") == ["in-item"]
    assert targets("- a\n    - b\n\n        [[nested]]") == ["nested"]


@pytest.mark.parametrize("md", ["`[[a]]`", "``x ` [[a]]``", "`[text](a.md)`"])
def test_no_links_in_inline_code(md: str) -> None:
    assert links(md) == []


def test_unclosed_backticks_do_not_hide_links() -> None:
    assert targets("a ` b [[x]]") == ["x"]


@pytest.mark.parametrize("md", ["$[[a]]$", "$$[[a]]$$", "$$\n[[a]]\n$$", "x $a + [[b]]$ y"])
def test_no_links_in_math(md: str) -> None:
    assert links(md) == []


def test_dollar_amounts_are_not_math() -> None:
    assert targets("costs $5 and [[Shop]] sells it for $10") == ["Shop"]


@pytest.mark.parametrize(
    "md", ["<!-- [[a]] -->", "<!--\n[[a]]\n\nstill comment\n-->", "text <!-- [[a]] --> text"]
)
def test_no_links_in_html_comments(md: str) -> None:
    assert links(md) == []


def test_no_links_in_raw_html_blocks_ours() -> None:
    assert targets("<div>\n[[a]]\n</div>\n\n[[b]]") == ["b"]


# --- where links do count ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "md",
    [
        "%% [[a]] %%",
        "%%\n[[a]]\n%%",
        "> [!note] Title\n> [[a]]",
        "> quoted [[a]]",
        "| h |\n|---|\n| [[a]] |",
        "- item [[a]]",
        "1. item [[a]]",
        "# Heading [[a]]",
    ],
)
def test_links_count_in_comments_callouts_quotes_tables_lists_headings(md: str) -> None:
    assert targets(md) == ["a"]


def test_links_keep_source_order_and_lines() -> None:
    md = "[[a]] and ![[b]]\n- [c](c.md)\n"
    assert [(lk.kind, lk.path, lk.line) for lk in links(md)] == [
        ("wikilink", "a", 1),
        ("embed", "b", 1),
        ("markdown", "c.md", 2),
    ]


def test_crlf_body_offsets_and_lines() -> None:
    note = parse("---\r\na: 1\r\n---\r\nx\r\n[[Note]]\r\n")
    (link,) = note.links
    assert note.text[link.start : link.end] == "[[Note]]"
    assert link.line == 5


# --- canvas ----------------------------------------------------------------------------------


def test_canvas_file_nodes_and_text_nodes_are_link_sources() -> None:
    doc = {
        "nodes": [
            {"id": "1", "type": "file", "file": "notes/A.md", "subpath": "#Part"},
            {"id": "2", "type": "text", "text": "see [[B]] and `[[not]]`"},
            {"id": "3", "type": "link", "url": "https://x.org"},
        ],
        "edges": [],
    }
    note = parse_note(json.dumps(doc).encode(), "board.canvas")
    assert [(lk.kind, lk.path, lk.subpath) for lk in note.links] == [
        ("wikilink", "notes/A.md", "Part"),
        ("wikilink", "B", None),
    ]
    assert note.text[note.links[0].start : note.links[0].end] == "notes/A.md"
    assert note.problems == ()


def test_canvas_invalid_json_is_a_problem_without_links() -> None:
    note = parse_note(b'{"nodes": [', "board.canvas")
    assert note.links == ()
    assert [p.code for p in note.problems] == ["canvas"]
