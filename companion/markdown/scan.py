"""Markdown scanning rules: where links, tags, headings, block ids and callouts live in a note body.

Speed is a product target, and a full markdown-it parse runs ~740 pages/s on a real vault, so
instead there are two cheap passes over the decoded text:

1. `_Scanner.blocks` walks the lines once with a small CommonMark-shaped state machine: blockquote
   prefixes, list-item content indents, fenced code (``` / ~~~ and their lengths), indented code
   (which cannot interrupt a paragraph and is measured from the list item's content indent), the
   seven HTML block kinds, `$$` math blocks, ATX headings, GFM table rows and callout openers. It
   emits "runs": offset ranges of text whose inline content matters (a paragraph, one table row,
   one heading). Code, math and HTML blocks never become runs, so nothing inside them is found.
2. `_Scanner.inline` walks each run left to right with one precompiled token regex. Tokens are
   taken in source order, so whichever construct opens first wins, as in CommonMark: an inline code
   span or `$math$` hides what it contains, `[[a [[b]] c]]` yields only `b`, and `\\[[x]]` is
   escaped. Runs without `[`, `#` or `%` are skipped outright.

All offsets are into the full decoded text, so `text[link.start:link.end] == link.raw` exactly,
even for `[[A\\|B]]` inside tables (markdown-it would have dropped the backslash).

Linear time, whatever the input (a note is untrusted: one hostile file must not stall the
daemon's single writer). Every search in `inline` moves forward through its run and no character
is searched twice for the same thing:

- the next newline, `]]`, `[[`, `$$` and `-->` are each found once and remembered until the scan
  passes them (a failed `[[` no longer rescans the rest of its line for every `[`);
- a run of brackets is one token: of `[[[[x]]` only the last three brackets can open a wikilink
  (an earlier `[[` would contain `[[`), so only those are tried, and only the last bracket can
  open a markdown link;
- the bracket each `[` closes at is counted out for a few brackets, and past that read from one
  left-to-right pass over the run's brackets (a stack of bracket runs), built once per run, not
  by counting depth from every `[` (which looked up to 4,096 characters ahead per `[`; a link
  text still ends within 4,096 characters of its `[`, as before);
- a code span's closer is looked up among the run's backtick runs, grouped by length;
- line numbers are counted on from the previous link, not from the paragraph's start;
- a markdown link inside another's text (an image in a link) is scanned from an explicit stack of
  frames, not by recursion, and at most 8 texts deep: each link's raw text holds the links
  inside it, so unbounded nesting would copy the note once per level.

Each run adds what it scanned to `Scan.steps` (tokens, plus the characters each search went over;
the block pass adds each line's length): a deterministic measure of work that tests hold to a
constant per input character. The block pass's per-line patterns are anchored and cannot
backtrack far (possessive where a pattern could otherwise retry a run of spaces).

Choices of ours (obsidian-rules.md leaves them open): tags inside `%% comments %%` are not tags
(Obsidian hides comments from reading view) while links there still count; headings, block ids and
callouts inside comments are dropped too; an unclosed `%%` comments out the rest of the note, as
in Obsidian's editor; a tag must follow whitespace or a line start; headings are recorded outside
blockquotes only; setext headings are not recorded; raw HTML blocks hold no links.
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from dataclasses import dataclass, field
from urllib.parse import unquote

from companion.markdown.note import Callout, Heading, Link, LinkKind

# Emoji and combining marks that `\w` misses; a tag ends at any other punctuation.
_EMOJI = "\u200d\u20e3\ufe0f\u2600-\u27bf\u2b00-\u2bff\U0001f000-\U0001faff"
_MARKS = "\u0300-\u036f\u0900-\u0963\u0966-\u0dff\u0e00-\u0e7f"
_TAG = re.compile(rf"[\w/\-{_MARKS}{_EMOJI}]+")
# A run of brackets is one token (see `inline`): `[` after `[` can only try a wikilink.
_TOKEN = re.compile(r"\\.|`+|\$\$?|<!--|%%|!?\[+|#", re.S)
_WORTH_SCANNING = re.compile(r"[\[#%]")
# Obsidian's inline math: no space inside either dollar, closing `$` not followed by a digit.
# It is read in two steps: the body runs to the first unescaped `$` (`_MATH_BODY`, which never
# backtracks), then that `$` must follow a non-space and not precede a digit.
_MATH_BODY = re.compile(r"(?:\\.|[^\\$])*+", re.S)
_MD_TEXT = re.compile(r"\\.|[\[\]]", re.S)
_MD_BRACKETS = re.compile(r"\\.|\[+|\]+", re.S)  # the same brackets, a whole run at a time
_TICKS = re.compile(r"`+")
_NONSPACE = re.compile(r"\S")
_MD_DEST = re.compile(
    r"\s*(?:<([^<>\n]*)>|((?:[^\s()\\]|\\.|\((?:[^\s()\\]|\\.)*\))+))"
    r"(?:\s+(?:\"(?:[^\"\\]|\\.)*\"|'(?:[^'\\]|\\.)*'|\((?:[^()\\]|\\.)*\)))?\s*\)",
    re.S,
)
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]{1,31}:")
_UNESCAPE = re.compile(r"\\([!-/:-@\[-`{-~])")

_QUOTE = re.compile(r"[ \t]{0,3}> ?")
_FENCE = re.compile(r"(`{3,}|~{3,})(.*)")
_ATX = re.compile(r"(#{1,6})(?:[ \t]+|$)")
_HR = re.compile(r"([-*_])[ \t]*(?:\1[ \t]*){2,}$")
_LIST = re.compile(r"([-+*]|\d{1,9}[.)])(?:([ \t]+)|$)")
# Possessive: a cell's trailing spaces and the row's last spaces would otherwise share a run of
# spaces every possible way (quadratic in its length) before failing.
_TABLE_DELIM = re.compile(r"\|?[ \t]*+:?-++:?[ \t]*+(?:\|[ \t]*+:?-++:?[ \t]*+)*+\|?[ \t]*+$")
_BLOCK_ID = re.compile(r"(?:^|\s)\^([A-Za-z0-9-]+)[ \t]*$")
_CALLOUT = re.compile(r"\[!([^\]|]+)(?:\|([^\]]*))?\]([+-]?)[ \t]*(.*)")
_HTML_RAW = re.compile(r"<(?:script|pre|style|textarea)(?:[\s>]|$)", re.I)
_HTML_BLOCK = re.compile(
    r"</?(?:address|article|aside|base|basefont|blockquote|body|caption|center|col|colgroup|dd"
    r"|details|dialog|dir|div|dl|dt|fieldset|figcaption|figure|footer|form|frame|frameset|h[1-6]"
    r"|head|header|hr|html|iframe|legend|li|link|main|menu|menuitem|nav|noframes|ol|optgroup"
    r"|option|p|param|search|section|summary|table|tbody|td|tfoot|th|thead|title|tr|track|ul)"
    r"(?:[\s/>]|$)",
    re.I,
)
# Each attribute is atomic: an attribute read shorter than it could be never lets the tag go on
# (what follows would be another attribute character), and retrying them all is quadratic.
_HTML_TAG_LINE = re.compile(
    r"(?:<[A-Za-z][A-Za-z0-9-]*+(?>\s+[A-Za-z_:][\w.:-]*+(?:\s*+=\s*+(?:[^\s\"'=<>`]++|'[^']*+'"
    r"|\"[^\"]*+\"))?+)*+\s*/?>|</[A-Za-z][A-Za-z0-9-]*+\s*>)\s*$"
)
_RAW_ENDS: tuple[str, ...] = ("</script>", "</pre>", "</style>", "</textarea>")
_HTML_OPENERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("<!--", ("-->",)),
    ("<?", ("?>",)),
    ("<![CDATA[", ("]]>",)),
)
# First characters that may open a block; any other first character at column 0 is plain text.
_SPECIAL = frozenset(" \t>#`~<$-*_+|:0123456789")


def _atx_title(rest: str) -> str:
    """A heading's text without its closing `#` sequence (CommonMark: spaces, then `#`s, then
    spaces at the end of the line; or only `#`s). Plain string ends, no regex: the pattern
    `(?:^|[ \t]+)#+[ \t]*$` retried every start in a long run of spaces."""
    trimmed = rest.rstrip(" \t")
    bare = trimmed.rstrip("#")
    if len(bare) < len(trimmed) and (not bare or bare[-1] in " \t"):
        return bare
    return rest


def _indent(line: str, i: int) -> tuple[int, int]:
    """(column width, index of first non-blank char) from index i; tabs stop every 4 columns."""
    width = 0
    n = len(line)
    while i < n:
        ch = line[i]
        if ch == " ":
            width += 1
        elif ch == "\t":
            width += 4 - width % 4
        else:
            break
        i += 1
    return width, i


def split_wikilink(inner: str) -> tuple[str, str | None, str | None]:
    """`path#subpath|display` -> (path, subpath, display) per obsidian-rules.md §1.

    Display starts after the first `|` that is not the first character (`[[|x]]` targets `|x`); a
    backslash before it (`\\|`, tables) belongs to the pipe, not to the path.
    """
    bar = inner.find("|", 1)
    display: str | None = None
    target = inner
    if bar > 0:
        target = inner[: bar - 1] if inner[bar - 1] == "\\" else inner[:bar]
        display = inner[bar + 1 :].strip()
    hash_at = target.find("#")
    if hash_at < 0:
        return target.strip(), None, display
    return target[:hash_at].strip(), target[hash_at + 1 :].strip() or None, display


def wikilink_end(text: str, s: int, end: int) -> int:
    """End of the wikilink whose `[[` is at s; -1 if no `]]` on the line, nested `[[` or empty."""
    nl = text.find("\n", s, end)
    close = text.find("]]", s + 2, end if nl < 0 else nl)
    if close < 0:
        return -1
    inner = text[s + 2 : close]
    if not inner.strip() or "[[" in inner:
        return -1
    return close + 2


def markdown_link(text: str, s: int, end: int) -> tuple[int, int, str] | None:
    """`[text](dest)` with its `[` at s -> (offset of `]`, end offset, raw destination) or None.

    A destination with a literal space is no link unless wrapped in `<...>` (CommonMark). One
    call costs O(end - s); the body scanner, which tries every `[`, reads the closing bracket
    from a table instead (see `_Scanner.inline`).
    """
    depth = 1
    pos = s + 1
    while True:
        m = _MD_TEXT.search(text, pos, end)
        if m is None:
            return None
        tok = m.group()
        if tok == "[":
            depth += 1
        elif tok == "]":
            depth -= 1
            if depth == 0:
                break
        pos = m.end()
    close = m.start()
    md = _MD_DEST.match(text, close + 2, end) if text.startswith("(", close + 1) else None
    if md is None:
        return None
    dest = md.group(1) if md.group(1) is not None else md.group(2)
    return close, md.end(), dest


def markdown_target(dest: str) -> tuple[str, str | None] | None:
    """Raw destination -> (percent-decoded path, subpath), or None when empty or external."""
    if not dest or _SCHEME.match(dest):
        return None
    if "\\" in dest:
        dest = _UNESCAPE.sub(r"\1", dest)
    hash_at = dest.find("#")
    path, sub = (dest[:hash_at], dest[hash_at + 1 :]) if hash_at >= 0 else (dest, None)
    if "%" in path:
        path = unquote(path)
    if sub and "%" in sub:
        sub = unquote(sub)
    return path.strip(), (sub.strip() or None) if sub is not None else None


@dataclass(slots=True)
class Scan:
    """What `scan_body` found, in source order (block ids and callouts with their offsets)."""

    links: list[Link] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    headings: list[Heading] = field(default_factory=list)
    block_ids: list[tuple[str, int]] = field(default_factory=list)
    callouts: list[tuple[Callout, int]] = field(default_factory=list)
    comments: list[int] = field(default_factory=list)  # flat [start0, end0, start1, ...] of %%
    steps: int = 0  # work done: tokens plus characters searched (see the module docstring)


def scan_body(text: str, start: int, line: int) -> Scan:
    """Scan text[start:] (the body; `line` is its 1-based first line)."""
    out = Scan()
    sc = _Scanner(text, out)
    runs = sc.blocks(start, line)
    # Token searches go over each character of a run once (a link text's frame is skipped by
    # the enclosing one), and every token consumes one at least: a run costs its length, plus
    # what `inline` adds for the searches it makes besides.
    scanned = 0
    for a, b, ln in runs:
        scanned += b - a
        if _WORTH_SCANNING.search(text, a, b):
            sc.inline(a, b, ln)
    out.steps += scanned
    if sc.comment_from >= 0:
        out.comments += (sc.comment_from, len(text))
    if out.comments:
        # Comments are invisible in reading view: drop what they hide (ours; links stay).
        cm = out.comments

        def hidden(at: int) -> bool:
            return bisect_right(cm, at) % 2 == 1

        out.headings = [h for h in out.headings if not hidden(h.start)]
        out.block_ids = [b for b in out.block_ids if not hidden(b[1])]
        out.callouts = [c for c in out.callouts if not hidden(c[1])]
    return out


class _Scanner:
    __slots__ = ("comment_from", "out", "text")

    def __init__(self, text: str, out: Scan) -> None:
        self.text = text
        self.out = out
        self.comment_from = -1  # offset of an open `%%`, else -1

    def blocks(self, start: int, first_line: int) -> list[tuple[int, int, int]]:  # noqa: C901 - the measured hot loop of parsing (docs/benchmarks.md): one pass, one branch per block construct
        text, out = self.text, self.out
        runs: list[list[int]] = []
        open_run = False  # the last run may still grow (paragraph continuation)
        para = False  # previous line was paragraph text: lazy lines, no indented code
        fence: tuple[str, int, int, int] | None = None  # char, length, quote depth, indent base
        html_end: str | tuple[str, ...] | None = None  # "" = ends at a blank line
        math = False
        in_table = False
        last_pipe = False  # previous paragraph line held `|` (a possible table header)
        depth = 0  # blockquote depth of the previous line
        lists: list[int] = []  # content indents of open list items
        pos = start
        line_no = first_line - 1
        for raw in text[start:].split("\n"):
            line_no += 1
            ls = pos
            pos += len(raw) + 1
            line = raw[:-1] if raw.endswith("\r") else raw
            if fence is not None:
                fch, flen, fdepth, fbase = fence
                d, c = self._quotes(line, fdepth)
                if d == fdepth:
                    w, i = _indent(line, c)
                    if i == len(line):
                        continue
                    if w >= fbase:
                        rest = line[i:].rstrip()
                        if w - fbase < 4 and len(rest) >= flen and rest.strip(fch) == "":
                            fence = None
                        continue
                fence = None  # its container ended; read this line afresh
            elif math:
                math = "$$" not in line
                continue
            elif html_end is not None:
                if html_end == "":
                    if line and not line.isspace():
                        continue
                    html_end = None
                else:
                    low = line.lower()
                    if any(e in low for e in html_end):
                        html_end = None
                    continue
            if not line or line.isspace():
                open_run = para = in_table = False
                depth = 0
                continue
            if line[0] not in _SPECIAL and depth == 0 and not in_table:
                # Fast path: plain paragraph text at column 0 (most lines of a real vault).
                if para and open_run:
                    runs[-1][1] = ls + len(line)
                else:
                    lists.clear()
                    runs.append([ls, ls + len(line), line_no])
                    open_run = True
                para = True
                last_pipe = "|" in line
                if "^" in line:
                    self._block_id(line, ls)
                continue
            d, c = self._quotes(line, 99) if ">" in line else (0, 0)
            w, ci = _indent(line, c)
            if d < depth and para and not self._starts_block(line, ci):
                runs[-1][1] = ls + len(line)  # lazy continuation of a quoted paragraph
                continue
            if d != depth:
                open_run = para = in_table = False
                lists.clear()
                if d > depth and "[!" in line:
                    m = _CALLOUT.match(line, c)
                    if m:
                        typ, meta, fold, title = m.groups()
                        co = Callout(
                            typ.strip().lower(),
                            title.strip(),
                            fold,
                            (meta or "").strip(),
                            line_no,
                            d,
                        )
                        out.callouts.append((co, ls + c))
                depth = d
            if ci == len(line):  # a bare `>` line: blank inside the quote
                open_run = para = False
                continue
            if in_table:
                if "|" in line:
                    runs.append([ls + ci, ls + len(line), line_no])
                    continue
                in_table = False
            if lists and w < lists[-1]:
                if para and not self._starts_block(line, ci):
                    runs[-1][1] = ls + len(line)
                    continue
                while lists and w < lists[-1]:
                    lists.pop()
            base = lists[-1] if lists else 0
            if w - base >= 4:
                if para:
                    runs[-1][1] = ls + len(line)
                else:
                    open_run = False  # indented code
                continue
            kind = "text"
            for _ in range(4):  # a list marker may carry another block: `- # h`, `- ```js`
                ch = line[ci]
                if ch in "`~":
                    fm = _FENCE.match(line, ci)
                    if fm and (ch == "~" or "`" not in fm.group(2)):
                        fence = (ch, len(fm.group(1)), d, base)
                        kind = "skip"
                elif ch == "#":
                    hm = _ATX.match(line, ci)
                    if hm:
                        kind = "heading"
                        if d == 0:
                            title = _atx_title(line[hm.end() :]).strip()
                            level = len(hm.group(1))
                            out.headings.append(Heading(level, title, line_no, ls + ci))
                elif ch == "<":
                    ends = self._html_start(line, ci, para)
                    if ends is not None:
                        html_end = ends if ends != () else None
                        kind = "skip"
                elif ch == "$" and line.startswith("$$", ci) and line.count("$$", ci) < 2:
                    math = True
                    kind = "skip"
                elif "|" in line and para and last_pipe and _TABLE_DELIM.match(line, ci):
                    in_table = True
                    kind = "skip"
                elif ch in "-*_" and _HR.match(line, ci):
                    kind = "skip"
                elif ch in "-+*" or ch.isdigit():
                    lm = _LIST.match(line, ci)
                    if lm:
                        gap = lm.group(2) or " "
                        gw = _indent(gap, 0)[0]
                        w = w + len(lm.group(1)) + (gw if gw <= 4 else 1)
                        lists.append(w)
                        base = w
                        para = False
                        ci = lm.end() if gw <= 4 else lm.start(2) + 1
                        if ci < len(line):
                            continue
                        kind = "item"
                break
            if kind == "skip":
                open_run = para = False
                continue
            if kind in ("heading", "item"):
                runs.append([ls + c, ls + len(line), line_no])
                open_run = para = False
                continue
            if para and open_run:
                runs[-1][1] = ls + len(line)
            else:
                runs.append([ls + c, ls + len(line), line_no])
                open_run = True
            para = True
            last_pipe = "|" in line
            if "^" in line:
                self._block_id(line, ls)
        out.steps += pos - start  # each line once, at a bounded number of tests per character
        return [(r[0], r[1], r[2]) for r in runs]

    @staticmethod
    def _quotes(line: str, limit: int) -> tuple[int, int]:
        """(blockquote depth, index after the `>` markers), counting at most `limit` markers."""
        depth = i = 0
        while depth < limit:
            m = _QUOTE.match(line, i)
            if m is None:
                break
            depth += 1
            i = m.end()
        return depth, i

    @staticmethod
    def _starts_block(line: str, i: int) -> bool:
        """Whether the line opens a new block (so it cannot be a lazy paragraph continuation)."""
        ch = line[i] if i < len(line) else ""
        if ch in ("#", "<", "|", ">") or (ch in "`~" and _FENCE.match(line, i)):
            return True
        return bool(ch and ch in "-*_+0123456789" and (_HR.match(line, i) or _LIST.match(line, i)))

    @staticmethod
    def _html_start(line: str, i: int, para: bool) -> str | tuple[str, ...] | None:
        """End condition of the CommonMark HTML block opening at line[i], or None."""
        ends: tuple[str, ...] | None = _RAW_ENDS if _HTML_RAW.match(line, i) else None
        for opener, closers in _HTML_OPENERS:
            if ends is None and line.startswith(opener, i):
                ends = closers
        if ends is None and line.startswith("<!", i) and line[i + 2 : i + 3].isalpha():
            ends = (">",)
        if ends is None:
            return (
                ""
                if _HTML_BLOCK.match(line, i) or (not para and _HTML_TAG_LINE.match(line, i))
                else None
            )
        # () = the end condition is met on the opening line: a one-line HTML block.
        low = line.lower()
        return () if any(e in low[i + 2 :] for e in ends) else ends

    def _block_id(self, line: str, ls: int) -> None:
        m = _BLOCK_ID.search(line)
        if m:
            self.out.block_ids.append((m.group(1), ls + m.start(1)))

    def inline(self, a: int, end: int, run_line: int) -> None:  # noqa: C901 - the inline half of the same hot loop
        """Find links and tags in text[a:end], one run of inline text whose first line is
        run_line. Linear in the run's length (see the module docstring for how)."""
        text, out = self.text, self.out
        search = _TOKEN.search
        steps = 0
        # Searches remembered until the scan passes what they found: (searched from, found at).
        nl_from = cl_from = op_from = dd_from = cm_from = end + 1  # above any offset: not yet
        nl_at = cl_at = op_at = dd_at = cm_at = -1
        closes: dict[int, int] | None = None  # last `[` of a bracket run -> the `]` closing it
        ticks: dict[int, list[int]] | None = None  # backtick run length -> run starts
        line_at, line_no = a, run_line  # the line number of offset line_at
        # Link texts are scanned as frames: (resume at, bound, nested) of the enclosing ones.
        frames: list[tuple[int, int, bool]] = []
        pos, b, nested = a, end, False
        while True:
            m = search(text, pos, b)
            if m is None:
                if not frames:
                    break
                pos, b, nested = frames.pop()
                continue
            s = m.start()
            tok = m.group()
            ch = tok[0]
            if ch == "\\":
                pos = s + 2
            elif ch == "`":
                # A code span closes at the next backtick run of exactly the opening length.
                n = len(tok)
                pos = s + n
                if ticks is None:
                    ticks = {}
                    for run in _TICKS.finditer(text, a, end):
                        ticks.setdefault(run.end() - run.start(), []).append(run.start())
                        steps += 1
                    steps += end - a
                starts = ticks.get(n)
                if starts is not None:
                    i = bisect_left(starts, pos)
                    if i < len(starts) and starts[i] + n <= b:
                        pos = starts[i] + n
            elif ch == "$":
                if tok == "$$":
                    x = s + 2
                    if not (dd_from <= x and (dd_at < 0 or dd_at >= x)):
                        dd_from, dd_at = x, text.find("$$", x, end)
                        steps += (dd_at + 2 if dd_at >= 0 else end) - x
                    pos = dd_at + 2 if dd_at >= 0 and dd_at + 2 <= b else x
                else:
                    # Obsidian's inline math: no space inside either dollar, and the closing `$`
                    # is the first unescaped one, not followed by a digit (`$5 and $10`).
                    pos = s + 1
                    if pos < b and text[pos] != "$" and not text[pos].isspace():
                        c = _MATH_BODY.match(text, pos, b).end()  # type: ignore[union-attr]
                        steps += c - pos
                        if (
                            c < b
                            and text[c] == "$"
                            and text[c - 1] != "\\"
                            and not text[c - 1].isspace()
                            and not (c + 1 < b and text[c + 1].isdecimal())
                        ):
                            pos = c + 1
            elif ch == "<":
                x = s + 4
                if not (cm_from <= x and (cm_at < 0 or cm_at >= x)):
                    cm_from, cm_at = x, text.find("-->", x, end)
                    steps += (cm_at + 3 if cm_at >= 0 else end) - x
                pos = cm_at + 3 if cm_at >= 0 and cm_at + 3 <= b else x
            elif ch == "%":
                pos = s + 2
                if not nested:
                    if self.comment_from < 0:
                        self.comment_from = s
                    else:
                        out.comments += (self.comment_from, pos)
                        self.comment_from = -1
            elif ch == "#":
                pos = s + 1
                if nested or self.comment_from >= 0 or (s > 0 and not text[s - 1].isspace()):
                    continue
                tm = _TAG.match(text, pos, b)
                if tm:
                    steps += tm.end() - pos
                    pos = tm.end()
                    body = tm.group().rstrip("/")
                    if body and not body.isdigit():  # `#1984` is no tag
                        out.tags.append(body)
            else:  # a run of `[`, after a `!` or not
                bang = ch == "!"
                r = s + 1 if bang else s  # the first bracket
                q = m.end() - 1  # the last bracket
                pos = q + 1
                # A `[` followed by `[` can only open a wikilink, and of a run only the last
                # three brackets can: an earlier `[[` would have `[[` inside it.
                found = False
                p = q - 2 if q - 2 > r else r
                while p < q:
                    if not (nl_from <= p and (nl_at < 0 or nl_at >= p)):
                        nl_from, nl_at = p, text.find("\n", p, end)
                        steps += (nl_at if nl_at >= 0 else end) - p
                    limit = nl_at if 0 <= nl_at < b else b  # a newline inside means no link
                    x = p + 2
                    if not (cl_from <= x and (cl_at < 0 or cl_at >= x)):
                        cl_from, cl_at = x, text.find("]]", x, end)
                        steps += (cl_at + 2 if cl_at >= 0 else end) - x
                    close = cl_at
                    if close < 0 or close + 2 > limit:
                        break  # no `]]` on this line: no later bracket of the run has one either
                    if not (op_from <= x and (op_at < 0 or op_at >= x)):
                        op_from, op_at = x, text.find("[[", x, end)
                        steps += (op_at + 2 if op_at >= 0 else end) - x
                    if not (op_at >= 0 and op_at + 2 <= close):  # no nested `[[`
                        ns = _NONSPACE.search(text, x, close)
                        steps += (ns.start() if ns else close) - x
                        if ns is not None:  # not `[[ ]]`
                            e = close + 2
                            embed = bang and p == r
                            start = p - 1 if embed else p
                            line_no = _line_moved(text, line_no, line_at, start)
                            steps += abs(start - line_at)
                            line_at = start
                            path, sub, display = split_wikilink(text[x:close])
                            steps += 2 * (e - start)  # what the link's strings copy
                            kind: LinkKind = "embed" if embed else "wikilink"
                            out.links.append(
                                Link(text[start:e], path, sub, display, kind, start, e, line_no)
                            )
                            pos = e
                            found = True
                            break
                    p += 1
                if found:
                    continue
                # The last bracket may open a markdown link: `[[x](y.md)` is the link `[x](y.md)`.
                close = -2  # not known yet
                if closes is None:  # most links close within a few brackets: count them
                    close, spent = _close_nearby(text, q, end)
                    steps += spent
                if close == -2:  # a run with far-away closes: pair all its brackets once
                    if closes is None:
                        closes = {}
                        steps += _bracket_pairs(text, a, end, closes)
                    close = closes.get(q, -1)
                if (
                    close < 0
                    or close - q >= _MD_TEXT_MAX
                    or close + 1 >= b
                    or text[close + 1] != "("
                ):
                    continue
                md = _MD_DEST.match(text, close + 2, b)
                if md is None:
                    steps += _dest_reach(text, close + 2, b)
                    continue
                e = md.end()
                steps += e - close
                dest = md.group(1) if md.group(1) is not None else md.group(2)
                target = markdown_target(dest)
                if target is not None:
                    image = bang and q == r
                    start = s if image else q
                    line_no = _line_moved(text, line_no, line_at, start)
                    steps += abs(start - line_at)
                    line_at = start
                    kind = "embed" if image else "markdown"
                    steps += (e - start) + (close - q)  # what the link's strings copy
                    link = Link(
                        text[start:e],
                        target[0],
                        target[1],
                        text[q + 1 : close],
                        kind,
                        start,
                        e,
                        line_no,
                    )
                    out.links.append(link)
                # Image inside link text (`[![alt](a.png)](b.md)`): scan the text for links only,
                # then go on after the link. Not past _MD_NESTING texts deep: every link's raw
                # text holds the links inside it, so the deeper, the more text all of them copy.
                if len(frames) < _MD_NESTING:
                    frames.append((e, b, nested))
                    pos, b, nested = q + 1, close, True
                else:
                    pos = e
        out.steps += steps


def _line_moved(text: str, line_no: int, line_at: int, start: int) -> int:
    """The line number at `start`, counted on from the last link's (`line_no` at `line_at`):
    each stretch of text is counted once, so many links cost one pass, not one each."""
    if start >= line_at:
        return line_no + text.count("\n", line_at, start)
    return line_no - text.count("\n", start, line_at)


def _close_nearby(text: str, q: int, end: int) -> tuple[int, int]:
    """(the `]` closing the `[` at q, -1 if none does in text[:end], or -2 when that is not
    settled within _NEARBY brackets; the steps it took). Bounded, so trying every `[` costs
    at most _NEARBY searches each; past that `_bracket_pairs` pairs the whole run at once."""
    depth, pos = 1, q + 1
    for _ in range(_NEARBY):
        m = _MD_TEXT.search(text, pos, end)
        if m is None:
            return -1, end - q
        pos = m.end()
        ch = text[m.start()]
        if ch == "[":
            depth += 1
        elif ch == "]":
            depth -= 1
            if depth == 0:
                return m.start(), pos - q
    return -2, pos - q


_NEARBY = 8
# A markdown link's text ends within this many characters of its `[` (as it always has: the
# scanner once looked no further; a link text of a whole page is no link).
_MD_TEXT_MAX = 4096
# Link texts inside link texts are scanned this deep (an image in a link is 1 deep).
_MD_NESTING = 8


def _bracket_pairs(text: str, a: int, end: int, closes: dict[int, int]) -> int:
    """Fill `closes` with, for the last `[` of each bracket run in text[a:end], the `]` that
    closes it (brackets nest; a backslash escapes one); returns the steps it took.

    One pass with a stack of bracket runs: a run of `]` closes the innermost open brackets first,
    a whole run at a time, so `[` * n costs one step, not n. Only the last bracket of a run is
    recorded, because only it can open a markdown link (see `inline`). Counting from every `[`
    instead gives the same brackets: the pairing of escapes from `a` agrees with the one from
    any bracket the inline scan stops at (no skip it makes ends on a backslash).
    """
    # Open runs: [offset of the run's last bracket, brackets of it still open, its length].
    stack: list[list[int]] = []
    push = stack.append
    steps = end - a
    for m in _MD_BRACKETS.finditer(text, a, end):
        first, after = m.span()
        ch = text[first]
        steps += 1
        if ch == "[":
            push([after - 1, after - first, after - first])
        elif ch == "]":
            n, at = after - first, first  # `]`s left in this run, the next one
            while n and stack:
                top = stack[-1]
                if top[1] == top[2]:  # its last bracket is still open: this `]` closes it
                    closes[top[0]] = at
                used = n if n < top[1] else top[1]
                top[1] -= used
                at += used
                n -= used
                if not top[1]:
                    stack.pop()
                steps += 1
    return steps


# What a failed `_MD_DEST` can have read: spaces, a bare destination (group 1), and a
# parenthesis in it left open, which it reads to the end before giving up.
_DEST_REACH = re.compile(
    r"\s*+((?:[^\s()\\]|\\.|\((?:[^\s()\\]|\\.)*+\))*+)(?:\((?:[^\s()\\]|\\.)*+)?", re.S
)
_DEST_ANGLE = re.compile(r"<[^<>\n]*+>?")
_DEST_TITLE = re.compile(
    r"\s++(?:\"(?:[^\"\\]|\\.)*+\"?|'(?:[^'\\]|\\.)*+'?|\((?:[^()\\]|\\.)*+\)?)?\s*+\)?", re.S
)


def _dest_reach(text: str, i: int, b: int) -> int:
    """How far past i a failed `_MD_DEST` match can have looked, for `Scan.steps`: its spaces,
    either destination form, then (after a space) a title, and the closing parenthesis."""
    m = _DEST_REACH.match(text, i, b)
    assert m is not None  # every part of it may match nothing
    start, bare = m.span(1)
    reach = max(m.end(), bare + 1)
    if text.startswith("<", start):
        angle = _DEST_ANGLE.match(text, start, b)
        assert angle is not None
        reach = max(reach, _title_reach(text, angle.end(), b))
    if bare < b and text[bare].isspace():
        reach = max(reach, _title_reach(text, bare, b))
    return min(reach, b) - i


def _title_reach(text: str, at: int, b: int) -> int:
    title = _DEST_TITLE.match(text, at, b) if at < b and text[at].isspace() else None
    return at + 1 if title is None else title.end()
