"""Frontmatter and decoding (obsidian-rules.md §3, §1 property links; design.md principle 8)."""

from __future__ import annotations

import datetime as dt

import pytest

from companion.markdown.note import Note
from companion.markdown.parse import parse_note


def parse(md: str, path: str = "n.md") -> Note:
    return parse_note(md.encode("utf-8"), path)


def test_yaml_frontmatter_becomes_properties_and_body_follows() -> None:
    note = parse("---\ntitle: X\nversion: 3\n---\n# Body\n")
    assert note.properties == {"title": "X", "version": 3}
    assert (note.body_start, note.body_start_line, note.body) == (28, 5, "# Body\n")
    assert note.problems == ()


def test_frontmatter_dates_stay_python_objects() -> None:
    note = parse("---\ncreated: 2023-09-12\n---\n")
    assert note.properties["created"] == dt.date(2023, 9, 12)


def test_frontmatter_after_bom() -> None:
    note = parse_note(b"\xef\xbb\xbf---\na: 1\n---\nbody", "n.md")
    assert note.properties == {"a": 1}
    assert note.text.startswith("---")
    assert note.body == "body"


def test_frontmatter_with_crlf_line_ends() -> None:
    note = parse("---\r\ntags: [x]\r\n---\r\nbody\r\n")
    assert note.properties == {"tags": ["x"]}
    assert note.body == "body\r\n"
    assert note.body_start_line == 4


@pytest.mark.parametrize("src", ['{"a": 1, "tags": ["x"]}', '{\n\t"a": 1,\n\t"tags": ["x"]\n}'])
def test_json_frontmatter_is_accepted(src: str) -> None:
    note = parse(f"---\n{src}\n---\nbody")
    assert note.properties == {"a": 1, "tags": ["x"]}
    assert note.tags == ("x",)


def test_frontmatter_must_be_at_the_very_top() -> None:
    note = parse("\n---\na: 1\n---\n")
    assert (note.properties, note.body_start) == ({}, 0)


def test_unclosed_frontmatter_is_body_text() -> None:
    note = parse("---\na: 1\n[[x]]\n")
    assert note.properties == {}
    assert [lk.path for lk in note.links] == ["x"]


def test_empty_frontmatter_gives_empty_properties() -> None:
    note = parse("---\n---\nbody")
    assert (note.properties, note.body, note.problems) == ({}, "body", ())


def test_malformed_yaml_gives_empty_properties_and_a_problem_with_line() -> None:
    note = parse("---\ntitle: ok\nbad: [unclosed\nnext: 1\n---\n[[still indexed]]\n")
    assert note.properties == {}
    (problem,) = note.problems
    assert problem.code == "yaml"
    assert problem.message.startswith(f"malformed YAML in frontmatter (line {problem.line}): ")
    assert problem.line is not None and 2 <= problem.line <= 5
    assert [lk.path for lk in note.links] == ["still indexed"]


def test_template_placeholder_yaml_is_reported_not_raised() -> None:
    note = parse("---\ncreated: {{date}}\n---\n")
    assert note.properties == {}
    assert [(p.code, p.line) for p in note.problems] == [("yaml", 2)]


@pytest.mark.parametrize("src", ["- a\n- b", "just a string", "42"])
def test_top_level_non_mapping_is_a_yaml_problem(src: str) -> None:
    note = parse(f"---\n{src}\n---\n")
    assert note.properties == {}
    assert [p.code for p in note.problems] == ["yaml"]
    assert "not a mapping" in note.problems[0].message


def test_impossible_date_is_a_yaml_problem_not_a_crash() -> None:
    note = parse("---\nwhen: 2023-02-30\n---\n")
    assert note.properties == {}
    assert [p.code for p in note.problems] == ["yaml"]


def test_invalid_utf8_is_replaced_and_reported_with_byte_offset() -> None:
    note = parse_note(b"ok\nbad \xff byte [[Link]]", "n.md")
    assert "\ufffd" in note.text
    (problem,) = note.problems
    assert (problem.code, problem.line) == ("utf8", 2)
    assert problem.message == "invalid UTF-8 at byte 7; shown with replacement characters"
    assert [lk.path for lk in note.links] == ["Link"]


# --- aliases and tags from properties --------------------------------------------------------


def test_aliases_list_scalar_and_legacy_alias() -> None:
    assert parse("---\naliases: [One, Two]\n---\n").aliases == ("One", "Two")
    assert parse("---\naliases: Only One\n---\n").aliases == ("Only One",)
    assert parse("---\nalias: Old\naliases: [New, old]\n---\n").aliases == ("New", "old")


def test_frontmatter_tags_list_strips_leading_hash() -> None:
    assert parse("---\ntags:\n  - '#one'\n  - two/sub\n---\n").tags == ("one", "two/sub")


def test_frontmatter_scalar_tags_split_on_commas_and_whitespace() -> None:
    assert parse("---\ntags: a, b c,#d\n---\n").tags == ("a", "b", "c", "d")


def test_legacy_tag_key_is_read() -> None:
    assert parse("---\ntag: legacy\n---\n").tags == ("legacy",)


def test_frontmatter_and_inline_tags_deduplicate_case_insensitively() -> None:
    assert parse("---\ntags: [Project]\n---\n#project #Other #other\n").tags == ("Project", "Other")


# --- property links --------------------------------------------------------------------------


def test_property_links_whole_value_only() -> None:
    md = (
        "---\n"
        'up: "[[Parent]]"\n'
        'cover: "![[cover.png]]"\n'
        'doc: "[text](Some%20Note.md)"\n'
        'mixed: "see [[Not A Link]] here"\n'
        'web: "[x](https://x.org)"\n'
        "---\n"
    )
    found = [(lk.property, lk.raw, lk.path, lk.kind) for lk in parse(md).links]
    assert found == [
        ("up", "[[Parent]]", "Parent", "frontmatter"),
        ("cover", "![[cover.png]]", "cover.png", "frontmatter"),
        ("doc", "[text](Some%20Note.md)", "Some Note.md", "frontmatter"),
    ]


def test_property_links_in_lists_and_nested_mappings_keys_never() -> None:
    md = (
        "---\n"
        'related:\n  - "[[A#Part|shown]]"\n  - plain\n'
        'meta:\n  inner:\n    deep: "[[B]]"\n'
        '"[[Key]]": value\n'
        "---\n"
    )
    found = [(lk.property, lk.path, lk.subpath, lk.display) for lk in parse(md).links]
    assert found == [("related", "A", "Part", "shown"), ("meta", "B", None, None)]


def test_property_link_points_at_its_value_in_the_frontmatter() -> None:
    note = parse('---\ntitle: x\nup: "[[Parent]]"\n---\nbody')
    (link,) = note.links
    assert note.text[link.start : link.end] == "[[Parent]]"
    assert link.line == 3


def test_self_referencing_yaml_anchor_does_not_hang() -> None:
    note = parse('---\na: &x ["[[L]]", *x]\n---\n')
    assert note.links[0].path == "L"
