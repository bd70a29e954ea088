"""Companion-owned regions (SYSTEM.md §7): only the text between the markers is companion's."""

from __future__ import annotations

import random

import pytest

from companion.errors import RegionError
from companion.write.regions import find_regions, region_text, set_region


def begin(name: str) -> str:
    return f"%% companion:begin {name} %%"


def end(name: str) -> str:
    return f"%% companion:end {name} %%"


def region(name: str, *lines: str, nl: str = "\n") -> str:
    return nl.join([begin(name), *lines, end(name)]) + nl


PAGE = (
    "---\ntype: entity\nversion: 3\n---\n"
    "# Ledger\n\nA person's intro.\n\n"
    + region("facts", "- Runs on PostgreSQL 15.", "- Written in Go.")
    + "\nMy own notes between regions.\n\n"
    + region("related", "- [[wiki/entities/Billing]]")
    + "Closing words.\n"
)


def outside(text: str, name: str) -> tuple[str, str]:
    """The bytes before and after region `name`'s content (its marker lines included)."""
    (found,) = [r for r in find_regions(text) if r.name == name]
    return text[: found.body_start], text[found.body_end :]


# -- finding regions ------------------------------------------------------------------------------


def test_find_regions_lists_every_region_in_page_order_with_exact_offsets() -> None:
    regions = find_regions(PAGE)
    assert [r.name for r in regions] == ["facts", "related"]
    facts, related = regions
    assert PAGE[facts.start : facts.body_start] == begin("facts") + "\n"
    assert PAGE[facts.body_start : facts.body_end] == "- Runs on PostgreSQL 15.\n- Written in Go.\n"
    assert PAGE[facts.body_end : facts.end] == end("facts") + "\n"
    assert PAGE[related.body_start : related.body_end] == "- [[wiki/entities/Billing]]\n"
    assert facts.end < related.start


def test_a_page_without_markers_has_no_regions() -> None:
    assert find_regions("# Title\n\nJust prose, 100%% mine.\n") == []
    assert find_regions("") == []


def test_a_marker_must_be_a_line_of_its_own_but_may_have_surrounding_spaces() -> None:
    text = f"Inline {begin('a')} is prose.\n  \t%%   companion:begin b\t%%  \nbody\n{end('b')}   \n"
    (only,) = find_regions(text)
    assert only.name == "b"
    assert text[only.body_start : only.body_end] == "body\n"


def test_an_empty_region_has_empty_content() -> None:
    text = "x\n" + region("facts") + "y\n"
    assert region_text(text, "facts") == ""


def test_a_region_ending_the_page_without_a_final_newline_is_found() -> None:
    text = f"intro\n{begin('facts')}\nold\n{end('facts')}"
    (found,) = find_regions(text)
    assert found.end == len(text)
    assert region_text(text, "facts") == "old\n"


# -- region_text ----------------------------------------------------------------------------------


def test_region_text_returns_the_content_between_the_marker_lines() -> None:
    assert region_text(PAGE, "related") == "- [[wiki/entities/Billing]]\n"


def test_region_text_is_none_for_a_region_the_page_does_not_have() -> None:
    assert region_text(PAGE, "summary") is None
    assert region_text("no regions here\n", "facts") is None


def test_region_text_of_a_crlf_page_keeps_its_crlf_newlines() -> None:
    text = "a\r\n" + region("facts", "one", "two", nl="\r\n")
    assert region_text(text, "facts") == "one\r\ntwo\r\n"


# -- set_region on an existing region -------------------------------------------------------------


def test_set_region_replaces_the_content_wholesale_and_keeps_every_byte_outside() -> None:
    before, after = outside(PAGE, "facts")
    result = set_region(PAGE, "facts", "- Runs on PostgreSQL 16.\n")
    assert result == before + "- Runs on PostgreSQL 16.\n" + after
    assert region_text(result, "facts") == "- Runs on PostgreSQL 16.\n"
    assert region_text(result, "related") == region_text(PAGE, "related")


def test_set_region_adds_the_final_newline_the_content_lacks() -> None:
    result = set_region(PAGE, "related", "- [[A]]\n- [[B]]")
    assert region_text(result, "related") == "- [[A]]\n- [[B]]\n"
    assert end("related") + "\nClosing words.\n" in result


def test_set_region_keeps_marker_lines_with_odd_spacing_exactly() -> None:
    opening = "   %%  companion:begin facts \t%%\t "
    closing = "\t%% companion:end   facts %%   "
    text = f"intro\n{opening}\nold\n{closing}\noutro\n"
    result = set_region(text, "facts", "new\n")
    assert result == f"intro\n{opening}\nnew\n{closing}\noutro\n"


def test_set_region_on_a_crlf_page_writes_crlf_and_keeps_the_rest_byte_for_byte() -> None:
    text = "---\r\nversion: 1\r\n---\r\nintro\r\n" + region("facts", "old", nl="\r\n") + "tail\r\n"
    before, after = outside(text, "facts")
    result = set_region(text, "facts", "first\nsecond\n")
    assert result == before + "first\r\nsecond\r\n" + after
    assert "\n" not in result.replace("\r\n", "")


def test_set_region_on_a_page_without_a_final_newline_keeps_its_missing_newline() -> None:
    text = "intro\n" + region("facts", "old") + "last line, no newline"
    result = set_region(text, "facts", "new\n")
    assert result == "intro\n" + region("facts", "new") + "last line, no newline"


def test_empty_content_empties_an_existing_region_but_keeps_its_markers() -> None:
    before, after = outside(PAGE, "facts")
    result = set_region(PAGE, "facts", "")
    assert result == before + after
    assert region_text(result, "facts") == ""


def test_set_region_leaves_other_regions_untouched() -> None:
    result = set_region(PAGE, "related", "- [[X]]\n")
    assert result[: find_regions(result)[0].end] == PAGE[: find_regions(PAGE)[0].end]


# -- set_region on a missing region ---------------------------------------------------------------


def test_a_missing_region_is_appended_at_the_end_after_a_blank_line() -> None:
    text = "# Title\n\nA person's text.\n"
    result = set_region(text, "conflicts", "> [!conflict] x\n")
    assert result == text + "\n" + region("conflicts", "> [!conflict] x")


def test_a_missing_region_on_a_page_already_ending_in_a_blank_line_gets_no_second_one() -> None:
    text = "# Title\n\n"
    assert set_region(text, "facts", "a\n") == text + region("facts", "a")


def test_a_missing_region_on_a_page_without_a_final_newline_starts_on_a_new_line() -> None:
    text = "# Title\n\nno final newline"
    assert set_region(text, "facts", "a") == text + "\n\n" + region("facts", "a")


def test_a_missing_region_on_a_crlf_page_is_appended_in_crlf() -> None:
    text = "# Title\r\n\r\nText.\r\n"
    result = set_region(text, "facts", "one\ntwo\n")
    assert result == text + "\r\n" + region("facts", "one", "two", nl="\r\n")


def test_a_missing_region_on_an_empty_page_is_the_whole_page() -> None:
    assert set_region("", "facts", "a\n") == region("facts", "a")


def test_a_missing_region_is_not_recreated_for_empty_content() -> None:
    text = "# Title\n\nThe person deleted the markers and kept this.\n"
    assert set_region(text, "facts", "") == text
    assert set_region(text.replace("\n", "\r\n"), "facts", "") == text.replace("\n", "\r\n")


def test_set_region_refuses_a_bad_region_name() -> None:
    for name in ("Facts", "my_facts", "", "a b"):
        with pytest.raises(RegionError, match="must be"):
            set_region("x\n", name, "content\n")


def test_set_region_refuses_a_page_whose_regions_are_unreadable() -> None:
    text = f"{begin('facts')}\nno end\n"
    with pytest.raises(RegionError, match="no `end` marker"):
        set_region(text, "facts", "new\n")
    with pytest.raises(RegionError, match="no `end` marker"):
        set_region(text, "other", "new\n")


# -- fenced code blocks ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("opening", "closing"),
    [("```", "```"), ("~~~", "~~~"), ("````", "`````"), ("```markdown", "```"), ("~~~ md", "~~~")],
)
def test_markers_inside_a_fenced_code_block_are_text(opening: str, closing: str) -> None:
    text = (
        "SYSTEM.md shows a region:\n\n"
        f"{opening}\n{region('facts', '- example')}{closing}\n\n" + region("related", "- [[Real]]")
    )
    assert [r.name for r in find_regions(text)] == ["related"]
    assert region_text(text, "facts") is None


def test_a_fenced_unmatched_marker_is_not_an_error() -> None:
    text = f"~~~\n{begin('facts')}\n~~~\n```\n{end('facts')}\n{begin('Bad_Name')}\n```\n"
    assert find_regions(text) == []


def test_a_fence_closes_only_with_the_same_character_and_at_least_its_length() -> None:
    text = f"````\n```\n~~~~~\n{begin('facts')}\n````\n" + region("related", "x")
    assert [r.name for r in find_regions(text)] == ["related"]


def test_a_fenced_end_marker_inside_a_region_is_part_of_its_content() -> None:
    text = region("facts", "```", end("facts"), "```", "after") + "tail\n"
    assert region_text(text, "facts") == f"```\n{end('facts')}\n```\nafter\n"
    result = set_region(text, "facts", "replaced\n")
    assert result == region("facts", "replaced") + "tail\n"


def test_setting_a_region_leaves_a_fenced_example_of_the_same_name_alone() -> None:
    example = f"```\n{region('facts', '- example')}```\n"
    text = example + "\n" + region("facts", "- real")
    result = set_region(text, "facts", "- new\n")
    assert result.startswith(example)
    assert region_text(result, "facts") == "- new\n"


# -- unreadable regions ---------------------------------------------------------------------------


def test_a_region_beginning_inside_another_is_an_error_naming_both_and_the_line() -> None:
    text = f"intro\n{begin('facts')}\na\n{begin('related')}\nb\n{end('related')}\n{end('facts')}\n"
    with pytest.raises(RegionError, match=r"line 4: region 'related' begins inside 'facts'"):
        find_regions(text)


def test_a_second_region_of_the_same_name_is_an_error_with_its_line() -> None:
    text = region("facts", "a") + "\n" + region("facts", "b")
    with pytest.raises(RegionError, match=r"line 5: a second region named 'facts'"):
        find_regions(text)


def test_an_end_without_its_begin_is_an_error_with_its_line() -> None:
    text = f"intro\n\n{end('facts')}\n"
    with pytest.raises(RegionError, match=r"line 3: `end facts` without its `begin facts`"):
        find_regions(text)


def test_an_end_naming_another_region_is_an_error() -> None:
    text = f"{begin('facts')}\nx\n{end('related')}\n"
    with pytest.raises(RegionError, match=r"line 3: `end related` without its `begin related`"):
        find_regions(text)


def test_a_begin_without_its_end_is_an_error_naming_the_region() -> None:
    text = "intro\n" + region("related", "ok") + f"{begin('facts')}\nnever closed\n"
    with pytest.raises(RegionError, match=r"region 'facts' has no `end` marker"):
        find_regions(text)


@pytest.mark.parametrize("bad", ["Facts", "my_facts", "FACTS", "fäcts"])
def test_a_badly_named_region_is_an_error_with_its_line(bad: str) -> None:
    text = f"intro\n{begin(bad)}\nx\n{end(bad)}\n"
    with pytest.raises(RegionError, match=rf"line 2: region name '{bad}' must be \[a-z0-9-\]\+"):
        find_regions(text)


def test_errors_say_which_page_they_are_about() -> None:
    with pytest.raises(RegionError, match=r"^wiki/entities/Ledger.md, line 1: "):
        find_regions(f"{end('facts')}\n", "wiki/entities/Ledger.md")
    with pytest.raises(RegionError, match=r"^wiki/x.md, line 1: "):
        region_text(f"{end('facts')}\n", "facts", "wiki/x.md")


def test_a_crlf_page_reports_the_same_line_numbers() -> None:
    text = f"a\r\nb\r\n{end('facts')}\r\n"
    with pytest.raises(RegionError, match="line 3: "):
        find_regions(text)


# -- content that would break the page, and what ends a line ------------------------------------


@pytest.mark.parametrize(
    "content",
    [
        f"{end('facts')}\nmore\n",
        "```\nan unclosed code block\n",
        f"{begin('other')}\nnested\n{end('other')}\n",
        f"{begin('related')}\n",
    ],
)
@pytest.mark.parametrize("name", ["facts", "summary"])  # an existing region and a missing one
def test_set_region_refuses_content_that_would_break_the_pages_regions(
    content: str, name: str
) -> None:
    text = "intro\n" + region("facts", "old") + region("related", "x")
    with pytest.raises(RegionError, match=f"region '{name}'"):
        set_region(text, name, content)


def test_content_with_a_closed_fence_holding_markers_is_written_and_reads_back() -> None:
    content = f"```\n{end('facts')}\n{begin('facts')}\n```\n"
    result = set_region("intro\n" + region("facts", "old"), "facts", content)
    assert region_text(result, "facts") == content


def test_a_fence_line_with_an_info_string_does_not_close_a_fence() -> None:
    text = f"```\n```js\n{begin('facts')}\n```\n"
    assert find_regions(text) == []


def test_only_newlines_end_lines_for_markers_and_line_numbers() -> None:
    text = f"one paragraph\u2028still the same line\n{end('facts')}\n"
    with pytest.raises(RegionError, match="line 2: "):
        find_regions(text)
    assert find_regions(f"prose\x0c{begin('facts')}\n") == []


# -- property: round trip and untouched outside ---------------------------------------------------

WORDS = ["tide", "moon", "%%", "%% note %%", "[[Link]]", "- item", "  indented", "`code`", "#"]


def random_prose(rng: random.Random) -> list[str]:
    return [" ".join(rng.choices(WORDS, k=rng.randint(0, 4))) for _ in range(rng.randint(0, 4))]


def random_page(rng: random.Random, names: list[str]) -> str:
    """A page of prose, fenced examples (markers included) and regions with the given names."""
    lines: list[str] = []
    for name in names:
        lines += random_prose(rng)
        if rng.random() < 0.4:
            fence = rng.choice(["```", "~~~", "````"])
            lines += [fence, begin(rng.choice(["facts", "Bad_name"])), fence]
        lines += [(" " * rng.randint(0, 2)) + begin(name), *random_prose(rng), end(name)]
    lines += random_prose(rng)
    nl = rng.choice(["\n", "\r\n"])
    text = nl.join(lines)
    return text + nl if rng.random() < 0.7 else text


def test_set_region_round_trips_and_never_touches_the_text_outside_on_random_pages() -> None:
    rng = random.Random(20261121)
    pool = ["facts", "related", "summary", "mentions", "answer", "conflicts", "x-1"]
    for _ in range(500):
        names = rng.sample(pool, rng.randint(0, 4))
        text = random_page(rng, names)
        assert [r.name for r in find_regions(text)] == names
        name = rng.choice(pool)
        content = "".join(line + "\n" for line in random_prose(rng))
        nl = "\r\n" if "\r\n" in text else "\n"
        result = set_region(text, name, content)
        assert region_text(result, name) == (
            content.replace("\n", nl) if name in names or content else None
        )
        if name in names:
            before, after = outside(text, name)
            assert result.startswith(before) and result.endswith(after)
            assert len(result) == len(before) + len(content.replace("\n", nl)) + len(after)
        elif content:
            assert result.startswith(text)
            appended = result[len(text) :]
            assert appended.endswith(begin(name) + nl + content.replace("\n", nl) + end(name) + nl)
            assert appended[: appended.index(begin(name))].strip("\r\n") == ""
        else:
            assert result == text
        assert [r.name for r in find_regions(result)] == names + (
            [name] if name not in names and content else []
        )
        for other in names:
            if other != name:
                assert region_text(result, other) == region_text(text, other)
