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

Choices of ours (obsidian-rules.md leaves them open): tags inside `%% comments %%` are not tags
(Obsidian hides comments from reading view) while links there still count; headings, block ids and
callouts inside comments are dropped too; an unclosed `%%` comments out the rest of the note, as
in Obsidian's editor; a tag must follow whitespace or a line start; headings are recorded outside
blockquotes only; setext headings are not recorded; raw HTML blocks hold no links.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass, field
from urllib.parse import unquote

from companion.markdown.note import Callout, Heading, Link, LinkKind

# Emoji and combining marks that `\w` misses; a tag ends at any other punctuation.
_EMOJI = "\u200d\u20e3\ufe0f\u2600-\u27bf\u2b00-\u2bff\U0001f000-\U0001faff"
_MARKS = "\u0300-\u036f\u0900-\u0963\u0966-\u0dff\u0e00-\u0e7f"
_TAG = re.compile(rf"[\w/\-{_MARKS}{_EMOJI}]+")
_TOKEN = re.compile(r"\\.|`+|\$\$?|<!--|%%|!?\[|#", re.S)
_WORTH_SCANNING = re.compile(r"[\[#%]")
# Obsidian's inline math: no space inside either dollar, closing `$` not followed by a digit.
_MATH = re.compile(r"\$(?=[^\s$])(?:\\.|[^\\$])*?(?<=[^\s\\])\$(?!\d)", re.S)
_MD_TEXT = re.compile(r"\\.|[\[\]]", re.S)
_MD_DEST = re.compile(
    r"\s*(?:<([^<>\n]*)>|((?:[^\s()\\]|\\.|\((?:[^\s()\\]|\\.)*\))+))"
    r"(?:\s+(?:\"(?:[^\"\\]|\\.)*\"|'(?:[^'\\]|\\.)*'|\((?:[^()\\]|\\.)*\)))?\s*\)",
    re.S,
)
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]{1,31}:")
_UNESCAPE = re.compile(r"\\([!-/:-@\[-`{-~])")
_BACKTICKS: dict[int, re.Pattern[str]] = {}

_QUOTE = re.compile(r"[ \t]{0,3}> ?")
_FENCE = re.compile(r"(`{3,}|~{3,})(.*)")
_ATX = re.compile(r"(#{1,6})(?:[ \t]+|$)")
_ATX_CLOSE = re.compile(r"(?:^|[ \t]+)#+[ \t]*$")
_HR = re.compile(r"([-*_])[ \t]*(?:\1[ \t]*){2,}$")
_LIST = re.compile(r"([-+*]|\d{1,9}[.)])(?:([ \t]+)|$)")
_TABLE_DELIM = re.compile(r"\|?[ \t]*:?-+:?[ \t]*(?:\|[ \t]*:?-+:?[ \t]*)*\|?[ \t]*$")
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
_HTML_TAG_LINE = re.compile(
    r"(?:<[A-Za-z][A-Za-z0-9-]*(?:\s+[A-Za-z_:][\w.:-]*(?:\s*=\s*(?:[^\s\"'=<>`]+|'[^']*'"
    r"|\"[^\"]*\"))?)*\s*/?>|</[A-Za-z][A-Za-z0-9-]*\s*>)\s*$"
)
_RAW_ENDS: tuple[str, ...] = ("</script>", "</pre>", "</style>", "</textarea>")
_HTML_OPENERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("<!--", ("-->",)),
    ("<?", ("?>",)),
    ("<![CDATA[", ("]]>",)),
)
# First characters that may open a block; any other first character at column 0 is plain text.
_SPECIAL = frozenset(" \t>#`~<$-*_+|:0123456789")


def _closer(n: int) -> re.Pattern[str]:
    """A code span closes at a backtick run of exactly the opening length."""
    pat = _BACKTICKS.get(n)
    if pat is None:
        pat = _BACKTICKS[n] = re.compile(rf"(?<!`)`{{{n}}}(?!`)")
    return pat


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

    A destination with a literal space is no link unless wrapped in `<...>` (CommonMark).
    """
    depth = 1
    pos = s + 1
    limit = min(end, s + 4096)  # bounds the cost of a stray `[` in a long paragraph
    while True:
        m = _MD_TEXT.search(text, pos, limit)
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


def scan_body(text: str, start: int, line: int) -> Scan:
    """Scan text[start:] (the body; `line` is its 1-based first line)."""
    out = Scan()
    sc = _Scanner(text, out)
    runs = sc.blocks(start, line)
    for a, b, ln in runs:
        if _WORTH_SCANNING.search(text, a, b):
            sc.inline(a, b, a, ln, nested=False)
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
                            title = _ATX_CLOSE.sub("", line[hm.end() :]).strip()
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

    def inline(self, a: int, b: int, run_a: int, run_line: int, *, nested: bool) -> None:  # noqa: C901 - the inline half of the same hot loop
        """Find links and tags in text[a:b], one run of inline text starting at run_a."""
        text, out = self.text, self.out
        search = _TOKEN.search
        pos = a
        while True:
            m = search(text, pos, b)
            if m is None:
                return
            s = m.start()
            tok = m.group()
            ch = tok[0]
            if ch == "\\":
                pos = s + 2
            elif ch == "`":
                n = len(tok)
                closer = _closer(n).search(text, s + n, b)
                pos = closer.end() if closer else s + n
            elif ch == "$":
                if tok == "$$":
                    e = text.find("$$", s + 2, b)
                    pos = e + 2 if e >= 0 else s + 2
                else:
                    mm = _MATH.match(text, s, b)
                    pos = mm.end() if mm else s + 1
            elif ch == "<":
                e = text.find("-->", s + 4, b)
                pos = e + 3 if e >= 0 else s + 4
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
                    pos = tm.end()
                    body = tm.group().rstrip("/")
                    if body and not body.isdigit():  # `#1984` is no tag
                        out.tags.append(body)
            else:  # "[" or "!["
                br = s + len(tok) - 1
                kind: LinkKind = "embed" if ch == "!" else "wikilink"
                if text.startswith("[", br + 1):
                    e = wikilink_end(text, br, b)
                    if e < 0:
                        pos = br + 1  # `[[x](y.md)`: the second `[` may open a markdown link
                        continue
                    path, sub, display = split_wikilink(text[br + 2 : e - 2])
                    line = run_line + text.count("\n", run_a, s)
                    out.links.append(Link(text[s:e], path, sub, display, kind, s, e, line))
                    pos = e
                    continue
                found = markdown_link(text, br, b)
                if found is None:
                    pos = br + 1
                    continue
                close, e, dest = found
                target = markdown_target(dest)
                if target is not None:
                    kind = "embed" if ch == "!" else "markdown"
                    line = run_line + text.count("\n", run_a, s)
                    link = Link(
                        text[s:e], target[0], target[1], text[br + 1 : close], kind, s, e, line
                    )
                    out.links.append(link)
                # Image inside link text (`[![alt](a.png)](b.md)`): scan the text for links only.
                self.inline(br + 1, close, run_a, run_line, nested=True)
                pos = e
