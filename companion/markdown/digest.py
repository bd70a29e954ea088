"""Plain-text derivations from a parsed Note: search chunks and the one-line summary.

Chunks are heading-aware: a note is cut at its headings into sections, small neighbouring sections
are packed together and long ones split at paragraph, then line, then word boundaries so that each
chunk fits the embedding model's window (`max_chars`, derived from the window in `embed`). A chunk's
text starts with its heading trail ("Setup > Keys") because a heading alone carries meaning that
the body under it often does not repeat. The note's title is *not* part of the chunk text (it is its
own FTS column), so renaming a note changes no chunk hash and costs no re-embedding.

Linear time on any input (a note is untrusted). `plain_text` is defined by a few regular
expressions (`_EMBEDS`, `_WIKILINK`, `_MD_LINK`, `_HTML_TAG`, `_EMPHASIS`), but run by hand-written
scanners that give exactly what `re.sub` with them gives: the patterns scan ahead for a closing
`]`, `)`, `>` or delimiter from every opening one, so a line of `[` or `_a ` cost quadratic time
(minutes for a few hundred kilobytes). The scanners ask "the next `]` at or after here" of a
`_Next`, which remembers its answer until the scan passes it, so each character is looked at a
constant number of times. Emphasis with backticks is the one subtle case: ``(`+)`` backtracks
through every shorter run length, so the scanner works from the backtick runs of the line
instead (see `_drop_emphasis`). Packing pieces into chunks joins lists, not strings grown piece
by piece (which copied the chunk so far for every word).
"""

from __future__ import annotations

import hashlib
import re
from bisect import bisect_right
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from companion.markdown.note import Note

_BLANK_LINES = re.compile(r"\n[ \t]*\n")
_COMMENTS = re.compile(r"%%.*?(?:%%|$)|<!--.*?(?:-->|$)", re.S)
_EMBEDS = re.compile(r"!\[\[[^\]]*\]\]|!\[[^\]]*\]\([^)]*\)")
_WIKILINK = re.compile(r"\[\[([^\]|#]*)(?:#[^\]|]*)?(?:\|([^\]]*))?\]\]")
_MD_LINK = re.compile(r"\[([^\]]*)\]\([^)]*\)")
_HTML_TAG = re.compile(r"</?[A-Za-z][^>]*>")
_EMPHASIS = re.compile(r"(\*\*|\*|`+|==|~~|(?<!\w)__|(?<!\w)_)(?=\S)(.+?)(?<=\S)\1")
# Plain text escapes `[`, `]`, `#`, `<`, `>` and `%%` (the pattern `[\[\]#<>]|%%`).
_ESCAPE_TABLE = str.maketrans({c: "\\" + c for c in "[]#<>"})
_CLOSE_BRACKET = re.compile(r"\]")
_CLOSE_PAREN = re.compile(r"\)")
_CLOSE_ANGLE = re.compile(r">")
_AFTER_PATH = re.compile(r"[\]|#]")  # what ends a wikilink's path
_AFTER_SUBPATH = re.compile(r"[\]|]")
_NEWLINE = re.compile(r"\n")
_WORD = re.compile(r"\w")
_TICK_RUN = re.compile(r"`+")
_DELIMS = ("**", "*", "==", "~~", "__", "_")
# A closing delimiter is one that follows a non-space character.
_CLOSERS = {d: re.compile(r"(?<=\S)" + re.escape(d)) for d in _DELIMS}
_SPACES = re.compile(r"\s+")
# A space after `.`, `!` or `?`; written `\s` first, so the engine can skip to the spaces
# (as `(?<=[.!?])\s` it tries the look-behind at every character: three times slower).
_SENTENCE_END = re.compile(r"\s(?<=[.!?]\s)")


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
    current: list[str] = []  # pieces of the chunk being packed, joined by blank lines
    size = 0  # len("\n\n".join(current))
    for part in parts:
        for piece in _split_long(part.strip(), max_chars):
            if size and size + 2 + len(piece) > max_chars:
                out.append("\n\n".join(current))
                current, size = [piece], len(piece)
            elif size:
                current.append(piece)
                size += 2 + len(piece)
            else:
                # Exactly as `current = piece` did: an empty piece does not start a chunk.
                current, size = [piece], len(piece)
    if size:
        out.append("\n\n".join(current))
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


SUMMARY_LIMIT = 200  # characters: a first sentence longer than this is no one-line summary
_PARAGRAPH_SKIP = ("#", "|", "---", "%%", "<", "- [", "> [!", "^", "![")
_ITEM = re.compile(r"(?:[-*+]|\d{1,3}[.)])\s")
_QUOTE = re.compile(r"^(?:>\s?)+")
_LETTERS = re.compile(r"[^\W\d_]{2,}")
_LABEL = re.compile(r"^(?:\W*[^\W_][\w'’-]*){1,3}\W*:\s")  # `Plugins Required: ...`


def paragraphs(body: str, limit: int = SUMMARY_LIMIT) -> Iterator[str]:
    """The body's prose paragraphs, each as one line, in order: a hard-wrapped paragraph's lines
    joined (a sentence wrapped over two lines is one), a list item, quote line or field line by
    itself, code, tables, headings, comments, HTML, callouts and embeds left out. Lazy, and a
    paragraph is read only as far as a summary could need (`4 * limit` characters): a summary
    stops at the first paragraph that gives one, so a huge note costs what its start costs."""
    current: list[str] = []
    size = 0
    in_fence = False
    start = 0
    while start <= len(body):
        end = body.find("\n", start)
        end = len(body) if end == -1 else end
        # Only a line's start can matter: a regular expression over a 2 MB line would hold the
        # interpreter (and the daemon's other threads) for its whole run.
        line = body[start : min(end, start + 8 * limit)].strip()
        start = end + 1
        if line.startswith(("```", "~~~")):
            if current:
                yield " ".join(current)
            current, size = [], 0
            in_fence = not in_fence
            continue
        if in_fence or not line or line.startswith(_PARAGRAPH_SKIP):
            if current:
                yield " ".join(current)
            current, size = [], 0
            continue
        quoted = _QUOTE.match(line)
        if quoted:
            line = line[quoted.end() :].strip()
        if (_ITEM.match(line) or quoted or _LABEL.match(line)) and current:
            yield " ".join(current)  # a list item, a quote or a field line stands alone
            current, size = [], 0
        if size < 4 * limit:
            current.append(line[: 4 * limit])
            size += len(current[-1]) + 1
    if current:
        yield " ".join(current)


def _reads_as_prose(sentence: str) -> bool:
    """A summary is a sentence a person wrote: three words or more, mostly words (not a dice roll
    or a code list, `d20: dice: 1d20 ...`), not a bare label (`Dependencies:`, `Summary.`, `Plugins
    Required: Dataview`, a field line such as `Big Thanks To: Leah`)."""
    tokens = sentence.split()
    words = _LETTERS.findall(sentence)
    if len(words) < 3 or sentence.rstrip("*_ ").endswith(":"):
        return False
    if len(words) < 0.6 * len(tokens):
        return False
    return not _LABEL.match(sentence)  # a field: `Big Thanks To: Leah, Kepano, and SIRvb`


def summary_line(note: Note, limit: int = SUMMARY_LIMIT) -> str:
    """One line of plain text for index.md: a `summary`/`description` property, else the first
    whole sentence of prose that reads as one (`_reads_as_prose`; a sentence longer than `limit`
    is skipped, never cut), else the first heading, else nothing. Links keep only their text and
    images are dropped, so the catalog never gains links (relative links would break there) or
    embeds the note did not mean to put there."""
    for key in ("summary", "description"):
        value = note.properties.get(key)
        if isinstance(value, str) and value.strip():
            words = _plain_words(value)
            # Escaping only lengthens: past `limit` characters, the rest cannot show.
            return _clip(_escape(words[: limit + 1] if len(words) > limit else words), limit)
    for paragraph in paragraphs(note.body, limit):
        found = _first_sentence(_plain_words(paragraph), limit)
        if found is not None and not found.endswith("…") and _reads_as_prose(found):
            return found
    for heading in note.headings:
        if heading.start >= note.body_start:
            text = _escape(_plain_words(heading.text)).strip()
            if len(_LETTERS.findall(text)) >= 2:  # a name, not a label such as `NAME`
                return _clip(text, limit)
    return ""


def _first_sentence(words: str, limit: int) -> str | None:
    """The line's first sentence clipped to `limit`, None when it has under 3 characters: that
    is `_clip(_SENTENCE_END.split(plain, 1)[0], limit)` with plain = `_escape(words)` stripped
    of " -*>", but a long line is escaped and searched only as far as the answer needs.
    (Stripping stops where it would in `words`: escaping adds a backslash, which it keeps, and
    leaves no `>` unescaped; a sentence longer than `limit` is clipped whatever follows.)"""
    lead = len(words) - len(words.lstrip(" -*"))
    if len(words.rstrip(" -*")) - lead < 4 * limit:  # short: exactly as written
        plain = _escape(words).strip(" -*>")
        if len(plain) < 3:
            return None
        return _clip(_SENTENCE_END.split(plain, maxsplit=1)[0], limit)
    end = _SENTENCE_END.search(words, lead, lead + limit + 1)
    if end is not None:  # a sentence of at most `limit` characters before escaping
        return _clip(_escape(words[lead : end.start()]), limit)
    return _clip(_escape(words[lead : lead + limit + 1]), limit)  # longer: clipped anyway


def plain_text(markdown: str) -> str:
    """Inline markdown reduced to its visible words, with nothing left that could link or tag."""
    return _escape(_plain_words(markdown))


def _plain_words(markdown: str) -> str:
    """`plain_text` before its escaping: links reduced to their text, embeds, comments and tags
    dropped, emphasis undone, spaces collapsed."""
    text = markdown
    if "%%" in text or "<!--" in text:  # linear as it is: each match runs to its own end
        text = _COMMENTS.sub(" ", text)
    if len(text) <= _SHORT:  # the patterns themselves: quick on a line, quadratic on a book
        text = _EMBEDS.sub(" ", text)
        text = _WIKILINK.sub(_wikilink_text, text)
        text = _MD_LINK.sub(lambda m: m.group(1), text)
        text = _HTML_TAG.sub(" ", text)
        text = _EMPHASIS.sub(lambda m: m.group(2), text)
    else:  # the same substitutions, in linear time
        text = _drop_embeds(text)
        text = _drop_wikilinks(text)
        text = _drop_md_links(text)
        text = _drop_html_tags(text)
        text = _drop_emphasis(text)
    return _SPACES.sub(" ", text).strip()


def _escape(text: str) -> str:
    """Whatever markup is left is shown, not interpreted: a backslash before what would link,
    tag or comment. (`[\\[\\]#<>]|%%` substituted, without a call per match: `%%` and the single
    characters never overlap, and str.replace pairs `%%` from the left as the pattern does.)"""
    return text.replace("%%", "\\%%").translate(_ESCAPE_TABLE)


_SHORT = 256  # characters: below this, worst-case backtracking costs less than the setup


def _wikilink_text(m: re.Match[str]) -> str:
    return m.group(2) or m.group(1).rpartition("/")[2]


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rsplit(" ", 1)[0] + "…"


class _Next:
    """The first match of a pattern at or after an offset, for offsets asked in (mostly)
    increasing order: an answer is kept until the offsets pass it, so a scan that asks at every
    character still searches each stretch of text once."""

    __slots__ = ("at", "pattern", "since", "text")

    def __init__(self, text: str, pattern: re.Pattern[str]) -> None:
        self.text, self.pattern = text, pattern
        self.since, self.at = len(text) + 1, -1

    def __call__(self, x: int) -> int:
        if not (self.since <= x and (self.at < 0 or self.at >= x)):
            m = self.pattern.search(self.text, x)
            self.since, self.at = x, (m.start() if m else -1)
        return self.at


_NONE_LATER = (-1, "")


def _substitute(
    text: str, opener: str | re.Pattern[str], match: Callable[[int], tuple[int, str] | None]
) -> str:
    """`re.sub` over candidates: at each `opener` (a string, or a pattern's first character)
    from the left, `match(p)` gives (end of the match, its replacement) or None; scanning goes on
    after a match, or at p + 1. `_NONE_LATER` ends it: no later candidate can match either (the
    closing character it needs does not occur again)."""
    out: list[str] = []
    done = pos = 0
    while True:
        if isinstance(opener, str):
            p = text.find(opener, pos)
        else:
            m = opener.search(text, pos)
            p = m.start() if m else -1
        if p < 0:
            break
        found = match(p)
        if found is None:
            pos = p + 1
            continue
        if found is _NONE_LATER:
            break
        end, repl = found
        out += (text[done:p], repl)
        done = pos = end
    if not out:
        return text
    out.append(text[done:])
    return "".join(out)


def _drop_embeds(text: str) -> str:
    """`!\\[\\[[^\\]]*\\]\\]|!\\[[^\\]]*\\]\\([^)]*\\)` -> " "."""
    close, paren = _Next(text, _CLOSE_BRACKET), _Next(text, _CLOSE_PAREN)

    def match(p: int) -> tuple[int, str] | None:
        q = close(p + 2)  # the `]` that ends `![...` (also `![[...`: text[p + 2] is `[` there)
        if q < 0:
            return _NONE_LATER
        if text.startswith("[", p + 2) and text.startswith("]]", q):
            return q + 2, " "
        if text.startswith("(", q + 1):
            r = paren(q + 2)
            if r >= 0:
                return r + 1, " "
        return None

    return _substitute(text, "![", match)


def _drop_wikilinks(text: str) -> str:
    """`_WIKILINK` -> its display text, else the last part of its path."""
    path_end, sub_end, close = (
        _Next(text, _AFTER_PATH),
        _Next(text, _AFTER_SUBPATH),
        _Next(text, _CLOSE_BRACKET),
    )

    def match(p: int) -> tuple[int, str] | None:
        # Each -1 below means no `]` at or after p + 2: no later `[[` can close either.
        a = path_end(p + 2)
        if a < 0:
            return _NONE_LATER
        b = sub_end(a + 1) if text[a] == "#" else a
        if b < 0:
            return _NONE_LATER
        shown = None
        c = b
        if text[b] == "|":
            c = close(b + 1)
            if c < 0:
                return _NONE_LATER
            shown = text[b + 1 : c]
        if not text.startswith("]]", c):
            return None
        return c + 2, shown or text[p + 2 : a].rpartition("/")[2]

    return _substitute(text, "[[", match)


def _drop_md_links(text: str) -> str:
    """`\\[([^\\]]*)\\]\\([^)]*\\)` -> the link text."""
    close, paren = _Next(text, _CLOSE_BRACKET), _Next(text, _CLOSE_PAREN)

    def match(p: int) -> tuple[int, str] | None:
        q = close(p + 1)
        if q < 0:
            return _NONE_LATER
        if not text.startswith("(", q + 1):
            return None
        r = paren(q + 2)
        return _NONE_LATER if r < 0 else (r + 1, text[p + 1 : q])

    return _substitute(text, "[", match)


def _drop_html_tags(text: str) -> str:
    """`</?[A-Za-z][^>]*>` -> " "."""
    angle = _Next(text, _CLOSE_ANGLE)

    def match(p: int) -> tuple[int, str] | None:
        i = p + 2 if text.startswith("/", p + 1) else p + 1
        if not (i < len(text) and text[i].isascii() and text[i].isalpha()):
            return None
        e = angle(i + 1)
        return _NONE_LATER if e < 0 else (e + 1, " ")

    return _substitute(text, "<", match)


def _drop_emphasis(text: str) -> str:
    """`_EMPHASIS` -> what the delimiters enclose (see `_Emphasis`)."""
    return _substitute(text, _DELIM_CHARS, _Emphasis(text).match)


_DELIM_CHARS = re.compile(r"[*_`=~]")


class _Emphasis:
    """Where `_EMPHASIS` matches, found without its backtracking.

    At each delimiter character the pattern tries its openers in order (`**` before `*`, `__`
    before `_`, which need no word character before them; a backtick run of m, then m-1, ... 1).
    An opener of length L at p matches when the next character is not a space and the same
    delimiter follows a non-space character later on the line; the first such closer ends it.
    Backticks: a closer of L can sit inside the opening run itself when 2L + 1 <= m (one backtick
    of content), else it must be in a later run of the line, which holds L backticks after a
    non-space when it is long enough. So the longest L that works is the smaller of m and the
    longest later run's reach, read from a table of the line's runs; walking that table to the
    closer costs what the match then consumes.
    """

    __slots__ = ("closers", "newline", "reach", "run_starts", "runs", "text")

    def __init__(self, text: str) -> None:
        self.text = text
        self.closers = {d: _Next(text, pat) for d, pat in _CLOSERS.items()}
        self.newline = _Next(text, _NEWLINE)
        # Backtick runs: (start, end, longest closer it holds: one less after a space).
        self.runs: list[tuple[int, int, int]] = []
        self.reach: list[int] = []  # reach[i]: the longest closer in runs i.. on the same line
        if "`" in text:
            for m in _TICK_RUN.finditer(text):
                st, en = m.span()
                after_space = st == 0 or text[st - 1].isspace()
                self.runs.append((st, en, en - st - 1 if after_space else en - st))
            ends = [self.line_end(st) for st, _, _ in self.runs]
            self.reach = [0] * len(self.runs)
            for i in range(len(self.runs) - 1, -1, -1):
                same_line = i + 1 < len(self.runs) and ends[i + 1] == ends[i]
                self.reach[i] = max(self.runs[i][2], self.reach[i + 1] if same_line else 0)
        self.run_starts = [st for st, _, _ in self.runs]

    def line_end(self, at: int) -> int:
        """Offset of the first newline at or after `at`, or the end of the text."""
        e = self.newline(at)
        return len(self.text) if e < 0 else e

    def match(self, p: int) -> tuple[int, str] | None:
        text = self.text
        ch = text[p]
        if ch == "`":
            return self.ticks(p)
        if ch in "*_":
            if ch == "_" and p > 0 and _WORD.match(text, p - 1):
                return None
            found = self.simple(p, ch * 2) if text.startswith(ch * 2, p) else None
            return found or self.simple(p, ch)
        return self.simple(p, ch * 2) if text.startswith(ch * 2, p) else None  # `==`, `~~`

    def simple(self, p: int, delim: str) -> tuple[int, str] | None:
        text = self.text
        s0 = p + len(delim)
        if s0 >= len(text) or text[s0].isspace():
            return None
        c = self.closers[delim](s0 + 1)
        if c < 0 or c > self.line_end(s0):
            return None
        return c + len(delim), text[s0:c]

    def ticks(self, p: int) -> tuple[int, str] | None:
        text, runs = self.text, self.runs
        i = bisect_right(self.run_starts, p) - 1  # the run p sits in
        run_end = runs[i][1]
        m = run_end - p
        later = i + 1 if i + 1 < len(runs) and runs[i + 1][0] < self.line_end(p) else -1
        best = self.reach[later] if later >= 0 else 0
        size = min(m, best)
        if size == m and (run_end >= len(text) or text[run_end].isspace()):
            size = min(m - 1, best)  # the whole run cannot open: a space follows it
        if size > 0 and 2 * size + 1 > m:
            j = later
            while runs[j][2] < size:  # the first later run that holds the closer
                j += 1
            st = runs[j][0]
            c = st if st > 0 and not text[st - 1].isspace() else st + 1
            return c + size, text[p + size : c]
        inner = (m - 1) // 2
        if inner == 0:
            return None
        return p + 2 * inner + 1, text[p + inner : p + inner + 1]
