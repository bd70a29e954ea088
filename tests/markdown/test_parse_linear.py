"""Parsing is linear in the note's size: counted in steps (`parse.Meter`), not timed.

Every hostile input of `bench.pathological` is parsed at two sizes; the steps `parse_note`
reports (tokens, plus the characters each search went over) must stay within a constant per
input byte at both. A scanner that rescans its line for every `[` again (the old wikilink search),
counts newlines from the paragraph's start for every link, or looks thousands of characters ahead
for every `[` grows with the square of the input and fails here at the larger size. Wall time
belongs to `python -m bench.parse`.
"""

from __future__ import annotations

import pytest

from bench.pathological import FIXED, FIXED_PATHS, SCALED
from companion.markdown.parse import ALIAS_NODES, Meter, parse_note

# The worst input today takes about 18: images nested in link texts, whose raw texts hold each
# other (8 deep at most, each within 4,096 characters: a bounded copy per byte).
STEPS_PER_BYTE = 32
SIZES = (20_000, 40_000)


def steps(data: bytes, path: str = "n.md") -> int:
    meter = Meter()
    parse_note(data, path, meter)
    return meter.steps


@pytest.mark.parametrize("name", sorted(SCALED))
def test_hostile_input_costs_a_constant_number_of_steps_per_byte(name: str) -> None:
    for size in SIZES:
        data = SCALED[name](size)
        assert steps(data) <= STEPS_PER_BYTE * len(data), (name, len(data))


@pytest.mark.parametrize("name", sorted(SCALED))
def test_doubling_a_hostile_input_at_most_doubles_its_steps_and_a_bit(name: str) -> None:
    small, large = (SCALED[name](size) for size in SIZES)
    ratio = (steps(large) / len(large)) / (steps(small) / len(small))
    assert ratio <= 1.1, (name, ratio)


@pytest.mark.parametrize("name", sorted(FIXED))
def test_small_hostile_files_cost_steps_in_proportion_to_their_size(name: str) -> None:
    # Plus a constant: the values aliases may add are copied once before a bomb is refused.
    data = FIXED[name]()
    limit = STEPS_PER_BYTE * len(data) + 2 * ALIAS_NODES
    assert steps(data, FIXED_PATHS.get(name, "n.md")) <= limit


def test_the_meter_counts_what_a_search_goes_over() -> None:
    # A `]]` far away is searched for once, and the search is charged for the distance.
    near = b"[[a]] " + b"x" * 50_000
    far = b"[[" + b"x" * 50_000 + b"]]"
    assert steps(far) > steps(near) + 40_000


def test_a_markdown_link_text_ends_within_4096_characters_as_before() -> None:
    near = "[" + "a [x] " * 600 + "](Target.md)"  # 3,601 characters, 1,200 brackets
    far = "[" + "word " * 1000 + "](Target.md)"  # 5,001
    assert [lk.path for lk in parse_note(near.encode(), "n.md").links] == ["Target.md"]
    assert parse_note(far.encode(), "n.md").links == ()


def test_links_inside_link_texts_are_found_8_deep() -> None:
    # `[![![x](a.md)](a.md)](a.md)`: an image in the text of an image in the text of a link.
    depth = 5000  # far past Python's recursion limit: the frames are a list, not calls
    text = "[" + "![" * depth + "x" + "](a.md)" * (depth + 1)
    note = parse_note(text.encode(), "n.md")
    inner = text.rindex("![")  # only these are within 4,096 characters of their `]`
    assert [lk.kind for lk in note.links] == ["embed"] * 9
    assert note.links[0].start > inner - 4096
    assert all(note.text[lk.start : lk.end] == lk.raw for lk in note.links)


def test_line_numbers_of_many_links_in_one_paragraph() -> None:
    note = parse_note(b"[[a]]\n" * 5000, "n.md")
    assert [lk.line for lk in note.links] == list(range(1, 5001))
