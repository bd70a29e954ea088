"""Plain-text derivations from a parsed Note: search chunks and the one-line summary.

Chunks are heading-aware: a note is cut at its headings into sections, small neighbouring sections
are packed together and long ones split at paragraph, then line, then word boundaries so that each
chunk fits the embedding model's window (`max_chars`, derived from the window in `embed`). A chunk's
text starts with its heading trail ("Setup > Keys") because a heading alone carries meaning that
the body under it often does not repeat. The note's title is *not* part of the chunk text (it is its
own FTS column), so renaming a note changes no chunk hash and costs no re-embedding.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from companion.markdown.note import Note

_BLANK_LINES = re.compile(r"\n[ \t]*\n")
_COMMENTS = re.compile(r"%%.*?(?:%%|$)|<!--.*?(?:-->|$)", re.S)
_EMBEDS = re.compile(r"!\[\[[^\]]*\]\]|!\[[^\]]*\]\([^)]*\)")
_WIKILINK = re.compile(r"\[\[([^\]|#]*)(?:#[^\]|]*)?(?:\|([^\]]*))?\]\]")
_MD_LINK = re.compile(r"\[([^\]]*)\]\([^)]*\)")
_HTML_TAG = re.compile(r"</?[A-Za-z][^>]*>")
_EMPHASIS = re.compile(r"(\*\*|\*|`+|==|~~|(?<!\w)__|(?<!\w)_)(?=\S)(.+?)(?<=\S)\1")
_ESCAPE = re.compile(r"[\[\]#<>]|%%")
_SPACES = re.compile(r"\s+")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s")


@dataclass(frozen=True, slots=True)
class Chunk:
    seq: int
    heading: str  # heading trail, "" before the first heading
    text: str
    line: int
    hash: str


def text_hash(text: str) -> str:
    return hashlib.blake2b(text.encode("utf-8"), digest_size=16).hexdigest()


def _sections(note: Note) -> list[tuple[str, int, str]]:
    """(heading trail, 1-based line, text) for each heading-delimited part of the body."""
    text = note.text
    sections: list[tuple[str, int, str]] = []
    trail: list[tuple[int, str]] = []
    start, line, heading = note.body_start, note.body_start_line, ""
    for h in note.headings:
        if h.start < note.body_start:
            continue
        sections.append((heading, line, text[start : h.start]))
        while trail and trail[-1][0] >= h.level:
            trail.pop()
        trail.append((h.level, h.text))
        heading = " > ".join(t for _, t in trail)
        line_end = text.find("\n", h.start)
        start = len(text) if line_end == -1 else line_end + 1
        line = h.line + 1
    sections.append((heading, line, text[start:]))
    return [(hd, ln, body.strip()) for hd, ln, body in sections if body.strip() or hd]


def _split_long(text: str, max_chars: int) -> list[str]:
    """Split text over `max_chars` at paragraph, then line, then sentence, then word boundaries."""
    if len(text) <= max_chars:
        return [text]
    for splitter in (_BLANK_LINES, re.compile(r"\n"), _SENTENCE_END, _SPACES):
        parts = [p for p in splitter.split(text) if p.strip()]
        if len(parts) > 1:
            break
    else:
        return [text[i : i + max_chars] for i in range(0, len(text), max_chars)]
    out: list[str] = []
    current = ""
    for part in parts:
        for piece in _split_long(part.strip(), max_chars):
            if current and len(current) + 2 + len(piece) > max_chars:
                out.append(current)
                current = piece
            else:
                current = f"{current}\n\n{piece}" if current else piece
    if current:
        out.append(current)
    return out


def chunk_note(note: Note, max_chars: int, min_chars: int = 200) -> list[Chunk]:
    """Heading-aware chunks of at most ~max_chars; every note yields at least one chunk."""
    pieces: list[tuple[str, int, str]] = []
    for heading, line, body in _sections(note):
        prefix = f"{heading}\n" if heading else ""
        for part in _split_long(body, max(100, max_chars - len(prefix))):
            pieces.append((heading, line, prefix + part if part else heading))
    merged: list[tuple[str, int, str]] = []
    for heading, line, text in pieces:
        if (
            merged
            and len(merged[-1][2]) < min_chars
            and len(merged[-1][2]) + 2 + len(text) <= max_chars
        ):
            h0, l0, t0 = merged[-1]
            merged[-1] = (h0, l0, f"{t0}\n\n{text}")
        else:
            merged.append((heading, line, text))
    if not merged:
        merged = [("", note.body_start_line, "")]
    return [Chunk(i, h, t, ln, text_hash(t)) for i, (h, ln, t) in enumerate(merged)]


def summary_line(note: Note, limit: int = 140) -> str:
    """One line of plain text for index.md: a `summary`/`description` property, else the first
    prose sentence. Links keep only their text and images are dropped, so the catalog never
    gains links (relative links would break there) or embeds the note did not mean to put there."""
    for key in ("summary", "description"):
        value = note.properties.get(key)
        if isinstance(value, str) and value.strip():
            return _clip(plain_text(value), limit)
    in_fence = False
    for raw in note.body.splitlines():
        line = raw.strip()
        if line.startswith(("```", "~~~")):
            in_fence = not in_fence
            continue
        if (
            in_fence
            or not line
            or line.startswith(("#", "|", "---", "%%", "<", "- [", "> [!", "^"))
        ):
            continue
        plain = plain_text(line).strip(" -*>")
        if len(plain) >= 3:
            return _clip(_SENTENCE_END.split(plain, maxsplit=1)[0], limit)
    return ""


def plain_text(markdown: str) -> str:
    """Inline markdown reduced to its visible words, with nothing left that could link or tag."""
    text = _COMMENTS.sub(" ", markdown)
    text = _EMBEDS.sub(" ", text)
    text = _WIKILINK.sub(lambda m: m.group(2) or m.group(1).rpartition("/")[2], text)
    text = _MD_LINK.sub(lambda m: m.group(1), text)
    text = _HTML_TAG.sub(" ", text)
    text = _EMPHASIS.sub(lambda m: m.group(2), text)
    text = _SPACES.sub(" ", text).strip()
    # Whatever markup is left is shown, not interpreted: escape what would link, tag or comment.
    return _ESCAPE.sub(lambda m: "\\" + m.group(0), text)


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rsplit(" ", 1)[0] + "…"
