"""Surgical frontmatter edits: one value changes, every other byte of the note stays."""

from __future__ import annotations

import math
import re
from typing import Any

import pytest
import yaml

from companion.write.fmedit import (
    FrontmatterEditError,
    add_items,
    duplicate_keys,
    format_value,
    remove_items,
    set_value,
    value_kind,
)

LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # what companion parses with


def frontmatter(text: str) -> dict[str, Any]:
    """The note's frontmatter as companion's YAML loader reads it."""
    match = re.match(
        r"---[ \t]*\r?\n(.*?)^(?:---|\.\.\.)[ \t]*\r?$", text.removeprefix("\ufeff"), re.M | re.S
    )
    assert match is not None
    data = yaml.load(match.group(1), Loader=LOADER)
    assert isinstance(data, dict)
    return data


NOTE = (
    "---\n"
    "type: entity\n"
    "Version :   3   # bumped by hand\n"
    "version:\t7 # the real one\n"
    "aliases:\n"
    "  - ledger-svc\n"
    "tags: [service, core]\n"
    "updated: 2026-11-21T10:02:11Z\n"
    "---\n"
    "# Ledger\n"
    "\n"
    "version: 99 is body text, not frontmatter.\n"
)


# -- one value changed, every other byte kept -----------------------------------------------------


def test_setting_a_value_changes_only_that_value_and_keeps_spacing_and_comment() -> None:
    result = set_value(NOTE, "version", 8)
    assert result == NOTE.replace("version:\t7 # the real one", "version:\t8 # the real one")
    assert frontmatter(result)["version"] == 8


def test_the_key_is_matched_by_its_exact_spelling() -> None:
    result = set_value(NOTE, "Version", 4)
    assert result == NOTE.replace("Version :   3   # bumped", "Version :   4   # bumped")
    assert "version:\t7 # the real one" in result


def test_a_key_is_not_matched_by_a_longer_key_it_prefixes() -> None:
    text = "---\nversions: 9\nversion: 1\n---\n"
    assert set_value(text, "version", 2) == "---\nversions: 9\nversion: 2\n---\n"


def test_only_top_level_keys_are_edited_never_nested_or_body_lines() -> None:
    text = "---\nmeta:\n  version: 5\nversion: 1\n---\nversion: 1\n"
    assert (
        set_value(text, "version", 2) == "---\nmeta:\n  version: 5\nversion: 2\n---\nversion: 1\n"
    )


def test_a_crlf_note_keeps_crlf_everywhere() -> None:
    text = NOTE.replace("\n", "\r\n")
    result = set_value(text, "version", 8)
    assert result == text.replace("version:\t7 #", "version:\t8 #")
    assert "\n" not in result.replace("\r\n", "")


def test_a_crlf_note_without_a_comment_keeps_its_carriage_return() -> None:
    text = "---\r\nversion: 1\r\nstatus: draft\r\n---\r\nBody\r\n"
    result = set_value(text, "status", "reviewed")
    assert result == "---\r\nversion: 1\r\nstatus: reviewed\r\n---\r\nBody\r\n"


def test_a_value_written_as_a_flow_list_is_replaced_whole() -> None:
    result = set_value(NOTE, "tags", "service")
    assert "\ntags: service\n" in result
    assert frontmatter(result)["tags"] == "service"


def test_a_bom_before_the_frontmatter_stays_first() -> None:
    text = "\ufeff---\nversion: 1\n---\nx\n"
    assert set_value(text, "version", 2) == "\ufeff---\nversion: 2\n---\nx\n"


def test_a_frontmatter_closed_by_dots_is_edited_in_place() -> None:
    text = "---\nversion: 1\n...\nBody\n"
    assert set_value(text, "status", "x") == "---\nversion: 1\nstatus: x\n...\nBody\n"


def test_setting_the_same_value_twice_gives_the_same_text() -> None:
    once = set_value(NOTE, "status", "reviewed")
    assert set_value(once, "status", "reviewed") == once


# -- missing keys and missing frontmatter ---------------------------------------------------------


def test_a_missing_key_is_appended_as_the_last_line_of_the_block() -> None:
    result = set_value(NOTE, "status", "reviewed")
    assert result == NOTE.replace(
        "updated: 2026-11-21T10:02:11Z\n---\n",
        "updated: 2026-11-21T10:02:11Z\nstatus: reviewed\n---\n",
    )


def test_a_missing_key_in_a_crlf_block_is_appended_with_crlf() -> None:
    text = "---\r\nversion: 1\r\n---\r\nBody\r\n"
    assert set_value(text, "status", "x") == "---\r\nversion: 1\r\nstatus: x\r\n---\r\nBody\r\n"


def test_a_missing_key_in_an_empty_block_becomes_its_only_line() -> None:
    assert set_value("---\n---\nBody\n", "version", 1) == "---\nversion: 1\n---\nBody\n"


def test_a_note_without_frontmatter_gets_a_minimal_block_on_top() -> None:
    text = "# Tide\n\nTides rise.\n"
    assert set_value(text, "version", 1) == "---\nversion: 1\n---\n# Tide\n\nTides rise.\n"


def test_a_crlf_note_without_frontmatter_gets_a_crlf_block() -> None:
    text = "# Tide\r\n\r\nTides rise.\r\n"
    assert set_value(text, "version", 1) == "---\r\nversion: 1\r\n---\r\n" + text


def test_a_bom_stays_first_when_a_block_is_added() -> None:
    text = "\ufeff# Tide\n"
    assert set_value(text, "version", 1) == "\ufeff---\nversion: 1\n---\n# Tide\n"


def test_an_unclosed_block_is_not_frontmatter_so_a_new_block_goes_on_top() -> None:
    text = "---\nnot closed\n"
    assert set_value(text, "version", 1) == "---\nversion: 1\n---\n---\nnot closed\n"


# -- empty and nested values ----------------------------------------------------------------------


def test_an_empty_value_gets_the_value_after_the_colon() -> None:
    text = "---\nstatus:\nversion: 1\n---\n"
    assert set_value(text, "status", "done") == "---\nstatus: done\nversion: 1\n---\n"


def test_an_empty_value_as_the_last_key_is_filled_in() -> None:
    assert set_value("---\nstatus:\n---\n", "status", "x") == "---\nstatus: x\n---\n"


@pytest.mark.parametrize(
    "block",
    [
        "aliases:\n  - ledger-svc\n",
        "aliases:\n- ledger-svc\n",
        "owner:\n  name: Ana\n",
        "notes: |\n  line one\n  line two\n",
        "notes: >-\n  folded\n",
        "aliases:\n\n  - after a blank line\n",
    ],
)
def test_a_nested_value_cannot_be_edited_in_place(block: str) -> None:
    text = f"---\nversion: 1\n{block}---\nBody\n"
    key = block.split(":")[0]
    with pytest.raises(FrontmatterEditError, match=f"`{key}` holds a nested value"):
        set_value(text, key, "flat")


# -- format_value ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "written"),
    [
        ("reviewed", "reviewed"),
        ("hello world", "hello world"),
        ("v1.0", "v1.0"),
        ("a/b:c", "a/b:c"),
        ("user@example", "user@example"),
        (3, "3"),
        (-2, "-2"),
        (1.5, "1.5"),
        (True, "true"),
        (False, "false"),
    ],
)
def test_simple_scalars_are_written_plain(value: object, written: str) -> None:
    assert format_value(value) == written


@pytest.mark.parametrize(
    "value",
    [
        "12",
        "-7",
        "3.14",
        "1e5",
        "1_000",
        "017",
        "2024-01-01",
        "yes",
        "No",
        "ON",
        "off",
        "true",
        "null",
        "~",
        "",
        "a: b",
        "#hashtag",
        "- item",
        "[x]",
        "{x: 1}",
        "x, y",
        '"quoted"',
        "it's",
        "a # b",
        "line\nbreak",
        "tab\there",
        " leading",
        "é",
        ".inf",
        "*anchor",
        "&ref",
        "!tag",
        "%directive",
        "@at",
        "`tick`",
        "|",
        ">",
        "?",
    ],
)
def test_text_yaml_would_reinterpret_is_quoted_and_reads_back_as_given(value: str) -> None:
    written = format_value(value)
    assert written.startswith('"') and written.endswith('"')
    assert yaml.load(f"key: {written}", Loader=LOADER) == {"key": value}


@pytest.mark.parametrize(
    "value",
    [
        "reviewed",
        "Ledger Service",
        "v2",
        "a/b",
        "x_y-z",
        "Y",
        "n",
        "NaN",
        "x -",
        "12",
        "yes",
        "null",
        "a: b",
        "line\nbreak",
        'say "hi"',
        "back\\slash",
        "emoji 🌊",
        0,
        42,
        -17,
        0.25,
        -3.5,
        True,
        False,
    ],
)
def test_a_written_value_reads_back_as_given(value: object) -> None:
    text = set_value("---\ntype: concept\n---\nBody\n", "prop", value)
    assert frontmatter(text) == {"type": "concept", "prop": value}
    again = set_value(text, "prop", value)
    assert again == text
    assert set_value(again, "prop", "changed").endswith("prop: changed\n---\nBody\n")


def test_an_iso_timestamp_is_written_plain_as_in_the_page_skeleton() -> None:
    """SYSTEM.md §10 writes `updated: 2026-11-21T10:02:11Z` unquoted; `apply_update` relies on it."""
    assert format_value("2026-11-21T10:02:11Z") == "2026-11-21T10:02:11Z"


# -- defects found by the hostile probe, fixed by locating keys by parsing -----------------------


def test_an_empty_value_with_a_comment_keeps_the_comment() -> None:
    text = "---\nstatus:   # later\nversion: 1\n---\n"
    result = set_value(text, "status", "done")
    assert result == "---\nstatus:   done # later\nversion: 1\n---\n"


def test_a_nested_value_with_a_comment_on_its_key_line_cannot_be_edited_in_place() -> None:
    text = "---\naliases: # the list\n  - ledger-svc\n---\n"
    with pytest.raises(FrontmatterEditError, match="holds a nested value"):
        set_value(text, "aliases", "flat")


def test_a_quoted_value_containing_a_hash_is_replaced_whole() -> None:
    text = set_value("---\nversion: 1\n---\n", "title", "a # b")
    assert set_value(text, "title", "a # b") == text
    assert set_value(text, "title", "new") == "---\nversion: 1\ntitle: new\n---\n"


@pytest.mark.parametrize("value", ["done:", "a ", "0x1F", "0b101", "1:30", "12:30:45"])
def test_format_value_quotes_every_string_yaml_would_read_differently(value: str) -> None:
    assert yaml.load(f"key: {format_value(value)}", Loader=LOADER) == {"key": value}


@pytest.mark.parametrize("value", [1e20, math.inf, -math.inf, math.nan, None])
def test_format_value_writes_every_float_and_none_so_yaml_reads_it_back(value: object) -> None:
    back = yaml.load(f"key: {format_value(value)}", Loader=LOADER)["key"]
    if isinstance(value, float) and math.isnan(value):
        assert isinstance(back, float) and math.isnan(back)
    else:
        assert back == value and type(back) is type(value)


@pytest.mark.parametrize(
    "block",
    [
        '{"type": "concept", "version": 1}\n',
        '{\n\t"type": "concept",\n\t"version": 1\n}\n',  # tab-indented JSON: not YAML at all
        "{type: concept, version: 1}\n",
    ],
)
def test_a_json_or_flow_mapping_frontmatter_is_refused_and_left_alone(block: str) -> None:
    text = f"---\n{block}---\nBody\n"
    original = text
    with pytest.raises(FrontmatterEditError, match="JSON/flow mapping; companion edits only block"):
        set_value(text, "version", 2)
    with pytest.raises(FrontmatterEditError, match="JSON/flow mapping"):
        add_items(text, "tags", ["x"])
    assert text == original


def test_a_multi_line_quoted_scalar_is_not_mistaken_for_keys() -> None:
    text = '---\ntitle: "a long title\nversion: 9 inside the quotes"\nversion: 1\n---\n'
    result = set_value(text, "version", 2)
    assert result == text.replace("\nversion: 1\n", "\nversion: 2\n")
    assert frontmatter(result) == {
        "title": "a long title version: 9 inside the quotes",
        "version": 2,
    }


def test_a_duplicated_key_is_refused_naming_it_and_its_lines() -> None:
    text = "---\nversion: 1\nversion: 4\n---\n"
    with pytest.raises(
        FrontmatterEditError,
        match=r"`version` is given twice \(lines 2 and 3\); fix the frontmatter first",
    ):
        set_value(text, "version", 5)


# -- keys found by parsing ------------------------------------------------------------------------


def test_a_line_inside_a_multi_line_quoted_scalar_with_a_person_s_text_is_kept() -> None:
    text = '---\nsummary: "this page\nversion: 2 of the spec"\nversion: 1\n---\nBody\n'
    result = set_value(text, "version", 2)
    assert result == '---\nsummary: "this page\nversion: 2 of the spec"\nversion: 2\n---\nBody\n'


def test_a_multi_line_quoted_scalar_is_replaced_whole_when_its_key_is_set() -> None:
    text = "---\nsummary: 'first\n  second' # kept\nversion: 1\n---\n"
    assert set_value(text, "summary", "one") == "---\nsummary: one # kept\nversion: 1\n---\n"


def test_a_multi_line_plain_scalar_is_replaced_whole_when_its_key_is_set() -> None:
    text = "---\nsummary: first\n  second\nversion: 1\n---\n"
    assert set_value(text, "summary", "one") == "---\nsummary: one\nversion: 1\n---\n"


def test_a_line_inside_a_flow_list_spanning_lines_is_not_mistaken_for_a_key() -> None:
    text = "---\ntags: [a,\nversion: 3]\nversion: 1\n---\n"
    result = set_value(text, "version", 2)
    assert result == "---\ntags: [a,\nversion: 3]\nversion: 2\n---\n"
    assert frontmatter(result)["tags"] == ["a", {"version": 3}]


def test_a_flow_list_spanning_lines_is_replaced_whole_when_its_key_is_set() -> None:
    text = "---\ntags: [a,\n  b]   # old\nversion: 1\n---\n"
    assert set_value(text, "tags", "c") == "---\ntags: c   # old\nversion: 1\n---\n"


def test_a_comment_after_a_quoted_value_stays() -> None:
    text = '---\ntitle: "Ledger" # display name\n---\n'
    assert set_value(text, "title", "Books") == "---\ntitle: Books # display name\n---\n"


def test_a_crlf_note_with_a_multi_line_value_keeps_crlf() -> None:
    text = '---\r\nsummary: "a\r\n  b"\r\nversion: 1\r\n---\r\nBody\r\n'
    result = set_value(text, "version", 2)
    assert result == text.replace("version: 1", "version: 2")
    result = set_value(result, "status", "new")
    assert result.endswith("version: 2\r\nstatus: new\r\n---\r\nBody\r\n")
    assert "\n" not in result.replace("\r\n", "")


def test_a_bom_note_is_edited_after_the_bom() -> None:
    text = "\ufeff---\nsummary: 'x'  # c\nversion: 1\n---\nBody\n"
    result = set_value(text, "summary", "y")
    assert result == "\ufeff---\nsummary: y  # c\nversion: 1\n---\nBody\n"


def test_a_tab_after_the_colon_is_kept_as_libyaml_reads_it() -> None:
    text = '---\ntitle:\t"raw\ttab"\nversion:\t1\n---\n'
    result = set_value(text, "version", 2)
    assert result == '---\ntitle:\t"raw\ttab"\nversion:\t2\n---\n'
    assert frontmatter(result) == {"title": "raw\ttab", "version": 2}


def test_a_key_missing_from_an_indented_block_is_appended_at_its_indentation() -> None:
    text = "---\n  type: concept\n  version: 1\n---\n"
    result = set_value(text, "status", "x")
    assert result == "---\n  type: concept\n  version: 1\n  status: x\n---\n"


def test_a_block_of_only_comments_gets_the_key_after_them() -> None:
    text = "---\n# nothing yet\n---\nBody\n"
    assert set_value(text, "version", 1) == "---\n# nothing yet\nversion: 1\n---\nBody\n"


def test_a_key_that_yaml_would_read_as_another_type_is_appended_quoted() -> None:
    result = set_value("---\nversion: 1\n---\n", "true", "x")
    assert result == '---\nversion: 1\n"true": x\n---\n'
    assert frontmatter(result) == {"version": 1, "true": "x"}


def test_a_key_given_with_quotes_is_found_by_its_name() -> None:
    text = '---\n"version": 1\n---\n'
    assert set_value(text, "version", 2) == '---\n"version": 2\n---\n'


@pytest.mark.parametrize(
    ("block", "what"),
    [
        ("- a\n- b\n", "is a list, not a mapping"),
        ("just a sentence\n", "is a single value, not a mapping"),
        ("title: [unclosed\n", r"not valid YAML \(line 3: "),
        ("a: 1\n b: 2\n", r"not valid YAML \(line \d: "),
    ],
)
def test_frontmatter_that_is_not_a_block_mapping_is_refused_saying_what(
    block: str, what: str
) -> None:
    with pytest.raises(FrontmatterEditError, match=what):
        set_value(f"---\n{block}---\nBody\n", "version", 2)


# -- duplicate keys -------------------------------------------------------------------------------


def test_every_duplicated_key_is_named_with_its_lines() -> None:
    text = "---\nversion: 1\ntags: a\nversion: 4\ntags: b\nversion: 5\n---\n"
    with pytest.raises(FrontmatterEditError) as caught:
        set_value(text, "status", "x")
    assert str(caught.value) == (
        "`version` is given 3 times (lines 2, 4 and 6); `tags` is given twice (lines 3 and 5); "
        "fix the frontmatter first"
    )


def test_duplicate_keys_lists_the_top_level_keys_given_more_than_once() -> None:
    text = "---\nversion: 1\nmeta:\n  a: 1\ntags: x\nversion: 4\ntags: y\nother: 1\n---\n"
    assert duplicate_keys(text) == ["version", "tags"]


@pytest.mark.parametrize(
    "text",
    [
        "---\nversion: 1\nmeta:\n  a: 1\n  a: 2\n---\n",  # nested, not top-level
        "no frontmatter\n",
        '---\n{"a": 1, "a": 2}\n---\n',  # not a block mapping: nothing companion edits
        "---\nbad: [\n---\n",
    ],
)
def test_duplicate_keys_is_empty_when_no_top_level_key_repeats(text: str) -> None:
    assert duplicate_keys(text) == []


def test_a_nested_duplicate_does_not_stop_an_edit() -> None:
    text = "---\nmeta:\n  a: 1\n  a: 2\nversion: 1\n---\n"
    assert set_value(text, "version", 2) == text.replace("version: 1", "version: 2")


# -- anchors and aliases --------------------------------------------------------------------------


def _alias_bomb() -> str:
    """Nine levels of nine aliases: 9**9 (387 million) leaves if anything expanded it."""
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for prev, name in zip("abcdefgh", "bcdefghi", strict=True):
        lines.append(f"{name}: &{name} [" + ",".join([f"*{prev}"] * 9) + "]")
    return "\n".join(lines) + "\n"


@pytest.mark.timeout(30)  # expanding the aliases would take minutes and gigabytes: a hang here
def test_an_alias_bomb_is_never_expanded_and_the_edit_keeps_it() -> None:
    bomb = _alias_bomb()
    assert len(bomb) < 500
    text = f"---\n{bomb}version: 1\n---\nBody\n"
    result = set_value(text, "version", 2)
    assert result == text.replace("version: 1", "version: 2")
    assert value_kind(result, "i") == "list"
    assert duplicate_keys(result) == []


def test_other_keys_using_aliases_do_not_stop_an_edit() -> None:
    text = "---\nbase: &b {owner: ana}\nmeta:\n  <<: *b\nsame: *b\nversion: 1\n---\n"
    assert set_value(text, "version", 2) == text.replace("version: 1", "version: 2")


@pytest.mark.parametrize("key", ["a", "b"])
def test_a_value_shared_through_an_anchor_is_not_edited(key: str) -> None:
    text = "---\na: &x draft\nb: *x\n---\n"
    with pytest.raises(FrontmatterEditError, match=f"`{key}` shares its value .* anchor/alias"):
        set_value(text, key, "done")


def test_an_edit_that_would_break_another_key_is_refused_by_the_verification() -> None:
    """The anchor sits inside `a`'s flow list, so replacing `a` would leave `*x` undefined."""
    text = "---\na: [&x 1, 2]\nb: *x\n---\n"
    with pytest.raises(
        FrontmatterEditError, match=r"would not read back as written.*undefined alias"
    ):
        set_value(text, "a", "flat")


# -- strings YAML would read as something else ----------------------------------------------------


@pytest.mark.parametrize(
    "value", ["see also:", "a:", "0x1F", "1:30", "012", "trail ", "0o17", "1e5"]
)
def test_a_probe_string_set_on_a_page_reads_back_as_the_same_string(value: str) -> None:
    text = set_value("---\nversion: 1\n---\nBody\n", "note", value)
    assert frontmatter(text) == {"version": 1, "note": value}


TRICKY = [
    "a: b",
    "- x",
    "#x",
    "  lead",
    "trail ",
    "yes",
    "~",
    "null",
    "0o17",
    "1_000",
    ".5",
    "@x",
    "`x`",
    "%x",
    "!x",
    "&x",
    "*x",
    "[x",
    "{x",
    "x\ny",
    "\t",
    "tab\tinside",
    "ünïcödé",
    "日本語",
    "emoji 🌊🏄",
    "line\u2028sep",
    "para\u2029sep",
    "nel\x85x",
    "\ufeffbom",
    "del\x7f",
    "bell\x07",
    "cr\rx",
    "crlf\r\nx",
    'quote " and \\ back',
    "it's",
    "a, b",
    "x]",
    "x}",
    "?",
    "? x",
    ": x",
    "---",
    "...",
    "<<",
    "=",
    "2024-01-01",
    "2026-11-21 10:02:11",
    "1:2:3",
    "+1",
    "-.inf",
    ".NaN",
    "0b1",
    "Off",
    "",
    " ",
    "|",
    ">-",
    "a #b",
    "a# b",
    "https://example.com/a?b=c#d",
    "[[Wiki Link]]",
    "#tag/nested",
]


def test_every_tricky_string_round_trips_through_set_value() -> None:
    for value in TRICKY:
        text = set_value("---\ntype: concept\nversion: 1\n---\nBody\n", "prop", value)
        assert frontmatter(text) == {"type": "concept", "version": 1, "prop": value}, value
        again = set_value(text, "prop", value)
        assert again == text, value
        assert set_value(text, "prop", "plain").endswith("prop: plain\n---\nBody\n"), value
        assert text.count("\n") == 6, value  # one line: nothing breaks the block's lines


def test_every_tricky_string_round_trips_as_a_list_item_block_and_flow() -> None:
    for start in ("tags:\n  - seed\n", "tags: [seed]\n"):
        text = add_items(f"---\n{start}---\nBody\n", "tags", TRICKY)
        assert frontmatter(text)["tags"] == ["seed", *TRICKY]
        assert remove_items(text, "tags", TRICKY) == f"---\n{start}---\nBody\n"


@pytest.mark.parametrize("value", [[1], {"a": 1}, b"x", object()])
def test_a_value_of_another_type_is_refused_not_written_as_its_repr(value: object) -> None:
    with pytest.raises(FrontmatterEditError, match=r"cannot write a .* as a property value"):
        set_value("---\nversion: 1\n---\n", "prop", value)


@pytest.mark.parametrize(
    ("value", "written"),
    [
        (1e20, "1.0e+20"),
        (1e-5, "1.0e-05"),
        (math.inf, ".inf"),
        (-math.inf, "-.inf"),
        (math.nan, ".nan"),
        (None, "null"),
        (-0.0, "-0.0"),
    ],
)
def test_floats_and_none_are_written_as_yaml_spells_them(value: object, written: str) -> None:
    assert format_value(value) == written


# -- value_kind -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "kind"),
    [
        ("type", "scalar"),
        ("empty", "scalar"),
        ("notes", "scalar"),
        ("aliases", "list"),
        ("tags", "list"),
        ("owner", "mapping"),
        ("flow", "mapping"),
        ("missing", "absent"),
    ],
)
def test_value_kind_says_what_a_key_holds(key: str, kind: str) -> None:
    text = (
        "---\ntype: concept\nempty:\nnotes: |\n  x\naliases:\n  - a\ntags: [b]\n"
        "owner:\n  name: Ana\nflow: {a: 1}\n---\n"
    )
    assert value_kind(text, key) == kind


def test_value_kind_of_a_note_without_frontmatter_is_absent() -> None:
    assert value_kind("# Title\n", "tags") == "absent"


# -- add_items / remove_items ---------------------------------------------------------------------


LISTS = "---\ntype: x\ntags:\n  - a # first\n  - b\nversion: 1\n---\nBody\n"


def test_items_are_added_to_a_block_list_as_lines_in_its_style() -> None:
    result = add_items(LISTS, "tags", ["c", "d"])
    assert result == LISTS.replace("  - b\n", "  - b\n  - c\n  - d\n")


def test_an_indentless_block_list_keeps_its_dash_column() -> None:
    text = "---\ntags:\n- a\nversion: 1\n---\n"
    assert add_items(text, "tags", ["b"]) == "---\ntags:\n- a\n- b\nversion: 1\n---\n"


def test_an_item_already_present_is_not_added_twice() -> None:
    assert add_items(LISTS, "tags", ["a", "b"]) == LISTS
    assert add_items(LISTS, "tags", ["c", "c", "a"]) == LISTS.replace("  - b\n", "  - b\n  - c\n")


def test_items_are_added_to_a_flow_list_inside_its_brackets() -> None:
    text = "---\ntags: [a, b]  # kept\n---\n"
    result = add_items(text, "tags", ["c d", "e,f"])
    assert result == '---\ntags: [a, b, c d, "e,f"]  # kept\n---\n'
    assert frontmatter(result)["tags"] == ["a", "b", "c d", "e,f"]


def test_an_item_is_added_to_an_empty_flow_list() -> None:
    assert add_items("---\ntags: []\n---\n", "tags", ["x"]) == "---\ntags: [x]\n---\n"


def test_an_item_is_added_to_a_flow_list_spanning_lines() -> None:
    text = "---\ntags: [a,\n  b]\nversion: 1\n---\n"
    result = add_items(text, "tags", ["c"])
    assert result == "---\ntags: [a,\n  b, c]\nversion: 1\n---\n"


def test_an_absent_list_key_is_created_as_a_block_list() -> None:
    text = "---\nversion: 1\n---\nBody\n"
    result = add_items(text, "aliases", ["Ledger", "yes"])
    assert result == '---\nversion: 1\naliases:\n  - Ledger\n  - "yes"\n---\nBody\n'


def test_a_note_without_frontmatter_gets_a_block_with_the_list() -> None:
    text = "\ufeff# Tide\r\n"
    assert add_items(text, "tags", ["sea"]) == "\ufeff---\r\ntags:\r\n  - sea\r\n---\r\n# Tide\r\n"


def test_a_key_holding_one_string_becomes_a_block_list_of_it_and_the_new_items() -> None:
    text = "---\ntags: 'alpha'  # one tag\nversion: 1\n---\n"
    result = add_items(text, "tags", ["beta"])
    assert result == "---\ntags:  # one tag\n  - 'alpha'\n  - beta\nversion: 1\n---\n"
    assert frontmatter(result)["tags"] == ["alpha", "beta"]


def test_a_key_holding_the_one_string_to_add_is_left_alone() -> None:
    assert add_items("---\ntags: a\n---\n", "tags", ["a"]) == "---\ntags: a\n---\n"


@pytest.mark.parametrize("empty", ["", " ~", " null", ' ""'])
def test_an_empty_list_key_gets_the_items_as_a_block_list(empty: str) -> None:
    text = f"---\ntags:{empty}\nversion: 1\n---\n"
    assert add_items(text, "tags", ["x"]) == "---\ntags:\n  - x\nversion: 1\n---\n"


def test_items_added_in_a_crlf_block_list_use_crlf() -> None:
    text = LISTS.replace("\n", "\r\n")
    result = add_items(text, "tags", ["c"])
    assert result == text.replace("  - b\r\n", "  - b\r\n  - c\r\n")


@pytest.mark.parametrize(
    ("block", "why"),
    [
        ("tags:\n  a: 1\n", "holds a mapping, not a list"),
        ("tags: |\n  a\n", "block scalar, not a list"),
        ("tags: 'a\n  b'\n", "multi-line value, not a list"),
        ("x: &t q\ntags: [*t]\n", "holds a YAML alias"),
        ("x: &t [a]\ntags: *t\n", "shares its value"),
    ],
)
def test_a_list_edit_on_a_value_that_is_not_a_plain_list_is_refused(block: str, why: str) -> None:
    text = f"---\n{block}---\n"
    with pytest.raises(FrontmatterEditError, match=why):
        add_items(text, "tags", ["new"])
    with pytest.raises(FrontmatterEditError, match=why):
        remove_items(text, "tags", ["a"])


def test_an_item_is_removed_from_a_block_list_with_its_line() -> None:
    assert remove_items(LISTS, "tags", ["a"]) == LISTS.replace("  - a # first\n", "")


def test_removing_every_item_of_a_block_list_leaves_an_empty_list() -> None:
    result = remove_items(LISTS, "tags", ["a", "b"])
    assert result == "---\ntype: x\ntags: []\nversion: 1\n---\nBody\n"
    assert frontmatter(result)["tags"] == []


@pytest.mark.parametrize(
    ("before", "items", "after"),
    [
        ("[a, b, c]", ["b"], "[a, c]"),
        ("[a, b, c]", ["a"], "[b, c]"),
        ("[a, b, c]", ["c"], "[a, b]"),
        ("[a, b, c]", ["a", "c"], "[b]"),
        ("[a, b]", ["a", "b"], "[]"),
        ("[a,\n  b,\n  c]", ["b"], "[a,\n  c]"),
        ('["x y", b]', ["x y"], "[b]"),
    ],
)
def test_an_item_is_removed_from_a_flow_list_keeping_its_shape(
    before: str, items: list[str], after: str
) -> None:
    text = f"---\ntags: {before}  # c\nversion: 1\n---\n"
    assert remove_items(text, "tags", items) == f"---\ntags: {after}  # c\nversion: 1\n---\n"


def test_a_comment_inside_a_flow_list_is_not_lost_by_a_removal() -> None:
    text = "---\ntags: [a, # why a\n  b]\n---\n"
    with pytest.raises(FrontmatterEditError, match="comment sits next to an item removed"):
        remove_items(text, "tags", ["b"])


def test_removing_the_one_string_a_key_holds_leaves_an_empty_list() -> None:
    assert remove_items("---\ntags: a # c\n---\n", "tags", ["a"]) == "---\ntags: [] # c\n---\n"


@pytest.mark.parametrize(
    "text",
    [LISTS, "---\ntags: [a]\n---\n", "---\ntags: b\n---\n", "---\nversion: 1\n---\n", "# no fm\n"],
)
def test_removing_an_absent_item_changes_nothing(text: str) -> None:
    assert remove_items(text, "tags", ["zzz"]) == text


def test_adding_and_removing_nothing_changes_nothing() -> None:
    assert add_items(LISTS, "tags", []) == LISTS
    assert add_items("# no fm\n", "tags", []) == "# no fm\n"
    assert remove_items(LISTS, "tags", []) == LISTS


def test_list_edits_refuse_duplicated_keys() -> None:
    text = "---\ntags: [a]\ntags: [b]\n---\n"
    with pytest.raises(FrontmatterEditError, match="`tags` is given twice"):
        add_items(text, "tags", ["c"])
    with pytest.raises(FrontmatterEditError, match="`tags` is given twice"):
        remove_items(text, "tags", ["a"])
