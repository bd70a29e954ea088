"""Chunks sized to the model window and one-line summaries that never add links to the catalog."""

from __future__ import annotations

import pytest

from companion.markdown.digest import chunk_note, summary_line
from companion.markdown.parse import parse_note


def _note(text: str, path: str = "a/Note.md"):  # type: ignore[no-untyped-def]
    return parse_note(text.encode(), path)


def test_chunks_follow_headings_and_carry_the_heading_trail() -> None:
    body = "# Top\n\n" + "Intro words. " * 30 + "\n\n## Sub\n\n" + "Detail words. " * 30 + "\n"
    chunks = chunk_note(_note(body), max_chars=500)
    assert [c.heading for c in chunks] == ["Top", "Top > Sub"]
    assert chunks[1].text.startswith("Top > Sub\n")
    assert chunks[1].line == 6


def test_long_sections_are_split_to_fit_the_window() -> None:
    body = "## Long\n\n" + "\n\n".join(f"Paragraph {i} " + "word " * 60 for i in range(10))
    chunks = chunk_note(_note(body), max_chars=600)
    assert len(chunks) > 3
    assert all(len(c.text) <= 600 for c in chunks)
    assert all(c.heading == "Long" for c in chunks)


def test_small_sections_are_packed_together() -> None:
    chunks = chunk_note(_note("# A\nshort\n# B\nalso short\n# C\ntiny\n"), max_chars=800)
    assert len(chunks) == 1 and "also short" in chunks[0].text


def test_chunk_text_excludes_the_title_so_a_rename_keeps_hashes() -> None:
    text = "Body that stays the same.\n"
    assert [c.hash for c in chunk_note(_note(text, "Old.md"), 800)] == [
        c.hash for c in chunk_note(_note(text, "folder/New name.md"), 800)
    ]


def test_an_empty_note_still_has_one_chunk_for_title_search() -> None:
    chunks = chunk_note(_note("---\ntags: [x]\n---\n"), 800)
    assert len(chunks) == 1 and chunks[0].text == ""


@pytest.mark.parametrize(
    ("text", "summary"),
    [
        ("# T\n\nFirst sentence here. Second one.\n", "First sentence here."),
        (
            "See [the other](../Other.md) about my_snake_case_name and **bold**.\n",
            "See the other about my_snake_case_name and bold.",
        ),
        (
            "![A picture|300](pic.png)\n\n![[diagram.png]]\n\nWords after images.\n",
            "Words after images.",
        ),
        (
            "Links [[a/b/Note|shown]] and [[c/Plain]] and #tag stay text.\n",
            "Links shown and Plain and \\#tag stay text.",
        ),
        ('---\ndescription: "Is [[Missing]] here"\n---\nbody\n', "Is Missing here"),
        ("```\ncode first\n```\n\n| a | b |\n|---|---|\n\nProse at last.\n", "Prose at last."),
    ],
)
def test_summary_is_plain_text_that_cannot_link(text: str, summary: str) -> None:
    assert summary_line(_note(text)) == summary


@pytest.mark.parametrize(
    ("text", "summary"),
    [
        # a sentence hard-wrapped over two lines is read whole
        (
            "The beacon burns\nlamp oil every night. More.\n",
            "The beacon burns lamp oil every night.",
        ),
        # bare labels, numbering and dice-roller noise are no summary: the next prose is
        ("Dependencies:\n\nPlugins Required: Dataview\n\nIt draws cards.\n", "It draws cards."),
        ("1.\n\nSummary.\n\nThe keeper logs the tides.\n", "The keeper logs the tides."),
        (
            "d20: dice: 1d20 d20: dice: 1d20 d20: dice: 1d20\n\nRoll for the keeper.\n",
            "Roll for the keeper.",
        ),
        # a quoted line is read without its marker
        ("> This is a conversion of a blog post.\n", "This is a conversion of a blog post."),
        # a first sentence too long for one line is skipped, never cut: then the first heading
        ("# Harbour rules\n\n" + "word " * 60 + "end.\n", "Harbour rules"),
        ("| a | b |\n|---|---|\n", ""),
    ],
)
def test_summary_is_a_whole_sentence_of_prose_else_the_first_heading(
    text: str, summary: str
) -> None:
    assert summary_line(_note(text)) == summary
