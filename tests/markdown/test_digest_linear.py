"""`plain_text` is defined by a few regular expressions but run by linear-time scanners (digest.py):
on random markup of every length, both give the same text. The patterns are digest.py's own, applied
here the slow way as the reference; a scanner that drifts from them fails with the input that shows
it."""

from __future__ import annotations

import random
import re
from collections.abc import Callable

from companion.markdown import digest
from companion.markdown.note import Note
from companion.markdown.parse import parse_note

# The patterns that define plain text (digest.py keeps them as the definition).
_COMMENTS, _EMBEDS, _WIKILINK = digest._COMMENTS, digest._EMBEDS, digest._WIKILINK
_MD_LINK, _HTML_TAG, _EMPHASIS = digest._MD_LINK, digest._HTML_TAG, digest._EMPHASIS
_ESCAPE = re.compile(r"[\[\]#<>]|%%")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s")

PIECES = [*"[]()!<>/|#*_`=~ \n\taZé1.-%", "``", "```", "**", "__", "==", "~~", "![["]
PIECES += ["[[", "](", "</", "<a", "%%", "<!--", "-->", ". "]


def reference(markdown: str) -> str:
    text = _COMMENTS.sub(" ", markdown)
    text = _EMBEDS.sub(" ", text)
    text = _WIKILINK.sub(lambda m: m.group(2) or m.group(1).rpartition("/")[2], text)
    text = _MD_LINK.sub(lambda m: m.group(1), text)
    text = _HTML_TAG.sub(" ", text)
    text = _EMPHASIS.sub(lambda m: m.group(2), text)
    text = re.sub(r"\s+", " ", text).strip()
    return _ESCAPE.sub(lambda m: "\\" + m.group(0), text)


def markup(rng: random.Random, length: int) -> str:
    return "".join(rng.choice(PIECES) for _ in range(length))


def test_plain_text_matches_its_patterns_on_short_and_long_markup() -> None:
    rng = random.Random(7)
    for _ in range(1500):
        text = markup(rng, rng.choice([rng.randrange(40), rng.randrange(200, 400)]))
        assert digest.plain_text(text) == reference(text), text


def test_each_scanner_matches_its_pattern() -> None:
    rng = random.Random(8)
    pairs: list[tuple[Callable[[str], str], Callable[[str], str]]] = [
        (digest._drop_embeds, lambda t: _EMBEDS.sub(" ", t)),
        (
            digest._drop_wikilinks,
            lambda t: _WIKILINK.sub(lambda m: m.group(2) or m.group(1).rpartition("/")[2], t),
        ),
        (digest._drop_md_links, lambda t: _MD_LINK.sub(lambda m: m.group(1), t)),
        (digest._drop_html_tags, lambda t: _HTML_TAG.sub(" ", t)),
        (digest._drop_emphasis, lambda t: _EMPHASIS.sub(lambda m: m.group(2), t)),
    ]
    for _ in range(3000):
        text = markup(rng, rng.randrange(30))
        for scanner, pattern in pairs:
            assert scanner(text) == pattern(text), (scanner.__name__, text)


def reference_summary(note: Note) -> str:
    """summary_line written the slow way: each paragraph's plain text by the patterns, its first
    sentence split by a pattern (no properties or headings in these notes)."""
    limit = digest.SUMMARY_LIMIT
    for paragraph in digest.paragraphs(note.body, limit):
        plain = reference(paragraph).strip(" -*>")
        if len(plain) < 3:
            continue
        sentence = digest._clip(_SENTENCE_END.split(plain, maxsplit=1)[0], limit)
        if not sentence.endswith("…") and digest._reads_as_prose(sentence):
            return sentence
    return ""


def test_summary_of_a_long_line_reads_only_its_start_but_says_the_same() -> None:
    rng = random.Random(9)
    for _ in range(400):
        body = markup(rng, rng.randrange(100, 2500)).replace("#", "")  # no headings here
        note = parse_note(body.encode(), "n.md")
        assert digest.summary_line(note) == reference_summary(note), body


def test_a_megabyte_of_brackets_summarises_to_escaped_text() -> None:
    note = parse_note(b"[[" * 500_000, "n.md")
    # read only as far as a summary could need, and no sentence in it: no summary
    assert digest.summary_line(note) == ""
    words = parse_note(b"[[a]] " * 500_000, "n.md")
    assert digest.summary_line(words) == ""  # one sentence of a million words: never cut
