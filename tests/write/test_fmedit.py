"""Surgical frontmatter edits: one value changes, every other byte of the note stays."""

from __future__ import annotations

import math
from typing import Any

import pytest
import yaml

from companion.write.fmedit import FrontmatterEditError, format_value, set_value

LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # what companion parses with


def frontmatter(text: str) -> dict[str, Any]:
    """The note's frontmatter as companion's YAML loader reads it."""
    head = text.removeprefix("\ufeff")
    assert head.startswith("---")
    block = head.split("---", 2)[1]
    data = yaml.load(block, Loader=LOADER)
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


# -- documented defects ---------------------------------------------------------------------------


@pytest.mark.xfail(
    strict=True,
    reason="BUG fmedit.py:67-69 on `key:   # comment` the lazy `value` group swallows the comment "
    "(the greedy gap took the spaces `comment` needs): the comment is replaced with the value "
    "instead of kept",
)
def test_an_empty_value_with_a_comment_keeps_the_comment() -> None:
    text = "---\nstatus:   # later\nversion: 1\n---\n"
    result = set_value(text, "status", "done")
    assert result == "---\nstatus:   done # later\nversion: 1\n---\n"


@pytest.mark.xfail(
    strict=True,
    reason="BUG fmedit.py:67-79 a comment on a nested key's line (`aliases: # list` then "
    "`  - a`) counts as its value, so the nested check is skipped: the result "
    "`aliases: flat\\n  - a` reads back as 'flat - a', silently wrong",
)
def test_a_nested_value_with_a_comment_on_its_key_line_cannot_be_edited_in_place() -> None:
    text = "---\naliases: # the list\n  - ledger-svc\n---\n"
    with pytest.raises(FrontmatterEditError, match="holds a nested value"):
        set_value(text, "aliases", "flat")


@pytest.mark.xfail(
    strict=True,
    reason='BUG fmedit.py:67-69,87 in a quoted value holding ` #` (`title: "a # b"`, which '
    "format_value itself writes) the text after ` #` is taken for a comment: setting it again "
    'gives `title: "a # b" # b"`, setting `new` leaves `title: new # b"`',
)
def test_a_quoted_value_containing_a_hash_is_replaced_whole() -> None:
    text = set_value("---\nversion: 1\n---\n", "title", "a # b")
    assert set_value(text, "title", "a # b") == text
    assert set_value(text, "title", "new") == "---\nversion: 1\ntitle: new\n---\n"


@pytest.mark.xfail(
    strict=True,
    reason="BUG fmedit.py:17,52-54 format_value writes these strings plain, and YAML reads them "
    "differently: 'a:' and 'done:' make the frontmatter unparseable, 'a ' loses its space, "
    "'0x1F'/'0b101' become ints 31/5, '1:30'/'12:30:45' sexagesimal ints 90/45045",
)
@pytest.mark.parametrize("value", ["done:", "a ", "0x1F", "0b101", "1:30", "12:30:45"])
def test_format_value_quotes_every_string_yaml_would_read_differently(value: str) -> None:
    assert yaml.load(f"key: {format_value(value)}", Loader=LOADER) == {"key": value}


@pytest.mark.xfail(
    strict=True,
    reason="BUG fmedit.py:50-51 format_value writes floats with repr: 1e+20, inf and nan read "
    "back as the strings '1e+20', 'inf', 'nan' (YAML 1.1 needs a dot and .inf/.nan); None is "
    "written as the string 'None' instead of null",
)
@pytest.mark.parametrize("value", [1e20, math.inf, -math.inf, math.nan, None])
def test_format_value_writes_every_float_and_none_so_yaml_reads_it_back(value: object) -> None:
    back = yaml.load(f"key: {format_value(value)}", Loader=LOADER)["key"]
    if isinstance(value, float) and math.isnan(value):
        assert isinstance(back, float) and math.isnan(back)
    else:
        assert back == value and type(back) is type(value)


@pytest.mark.xfail(
    strict=True,
    reason="known defect (to be fixed by a later issue): JSON frontmatter is not recognised, "
    "so the key is appended as a YAML line after the JSON object and the block is unparseable",
)
def test_a_json_frontmatter_block_is_edited_as_json() -> None:
    text = '---\n{"type": "concept", "version": 1}\n---\nBody\n'
    assert frontmatter(set_value(text, "version", 2)) == {"type": "concept", "version": 2}


@pytest.mark.xfail(
    strict=True,
    reason="known defect (to be fixed by a later issue): a line inside a multi-line quoted "
    "scalar that looks like `key: value` is edited as if it were a key",
)
def test_a_multi_line_quoted_scalar_is_not_mistaken_for_keys() -> None:
    text = '---\ntitle: "a long title\nversion: 9 inside the quotes"\nversion: 1\n---\n'
    result = set_value(text, "version", 2)
    assert frontmatter(result) == {
        "title": "a long title version: 9 inside the quotes",
        "version": 2,
    }


@pytest.mark.xfail(
    strict=True,
    reason="known defect (to be fixed by a later issue): with a key given twice the first is "
    "edited, but YAML (and so companion's parser) reads the last",
)
def test_a_duplicated_key_is_edited_where_yaml_reads_it() -> None:
    text = "---\nversion: 1\nversion: 4\n---\n"
    assert frontmatter(set_value(text, "version", 5))["version"] == 5
