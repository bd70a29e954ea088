"""`.html` / `.htm` sources: the page's main text as markdown-flavoured lines.

Parsing is selectolax's lexbor (a spec-compliant HTML5 parser in C: it repairs any tag soup the
way a browser does, and is the fastest of the candidates measured — docs/architecture.md,
"Converters"); the text is made by one walk over the tree here, because what a span may cite
must be exactly the words a reader sees, in order, with their structure:

- headings become `#` lines, paragraphs and other blocks lines separated by a blank line, `<br>`
  a line break, list items `- ` lines (nested lists indented two spaces), `<pre>` a fenced block
  kept verbatim, `<blockquote>` `> ` lines;
- a table becomes a markdown table: its first row is the header, then a `| --- |` separator;
  a cell's text is one line (whitespace and newlines collapsed), `|` escaped as `\\|`, a
  `colspan` adds empty cells so columns stay aligned;
- what is not the page's own text is left out, content included: `script`, `style`, `nav`,
  `header`, `footer`, `aside`, `noscript`, `template`, `form` (and its controls), embedded
  `svg`/`iframe`/`object`, and anything marked `hidden` or `aria-hidden="true"`. When the page
  has a `<main>` (or `role="main"`), only that is read;
- `title`: the `<title>`, else the first `<h1>`; `metadata`: each `<meta name|property=…
  content=…>`, the key lowercased, the first of a repeated key kept (`date`, `author`,
  `description`, `article:published_time`, …).

Decoding follows the HTML rules that matter for a saved file: a byte order mark, else a charset
declared in the first 1024 bytes (`<meta charset=…>` or the `http-equiv` form), else UTF-8 —
decoded strictly (`text.decode`): a byte that is not valid in the charset is a `SourceError`.
`latin-1`/`ascii` labels mean windows-1252, as browsers read them.

Work is bounded by the page's size: the walk visits every node once, and nesting deeper than
`_MAX_DEPTH` is read as the plain text of that subtree (a hostile page cannot exhaust Python's
stack). Parsing itself is quadratic in how deep elements are left open (the HTML5 algorithm's scope
checks and adoption agency walk the stack of open elements), so a page that would cost more
than `_NESTING_BUDGET` stack steps is refused before it is parsed (`_check_nesting`).
"""

from __future__ import annotations

import codecs
import re
from typing import TYPE_CHECKING

from companion.convert.converted import Converted, Format
from companion.convert.text import decode, lf
from companion.errors import SourceError

if TYPE_CHECKING:
    from selectolax.lexbor import LexborNode

_CHARSET = re.compile(rb"<meta\b[^>]*?charset\s*=\s*[\"']?\s*([A-Za-z0-9_.:-]+)", re.I)
_AS_WINDOWS_1252 = frozenset({"latin_1", "iso8859-1", "ascii", "cp1252"})
# Not the page's own text: left out with everything inside them.
# fmt: off
_DROP = frozenset({
    "script", "style", "nav", "header", "footer", "aside", "noscript", "template", "form",
    "button", "select", "textarea", "input", "option", "svg", "math", "iframe", "object", "embed",
    "canvas", "head", "title"
})
# fmt: on
_HEADINGS = {f"h{n}": n for n in range(1, 7)}
_LISTS = frozenset({"ul", "ol", "menu"})
# Elements whose content starts and ends a block (a paragraph of its own).
# fmt: off
_BLOCKS = frozenset({
    "address", "article", "body", "center", "dd", "details", "dialog", "div", "dl", "dt",
    "fieldset", "figcaption", "figure", "hgroup", "hr", "html", "li", "main", "p", "section",
    "summary", "caption", "legend"
})
# fmt: on
# Elements whose text is never run together with what is around it.
_SEPARATE = frozenset(
    {*_BLOCKS, *_HEADINGS, *_LISTS, "br", "pre", "blockquote", "table", "tr", "td", "th"}
)
# Elements that never hold others, or whose end tag may be left out (the parser closes them
# itself): neither deepens the stack of open elements for long. See `_check_nesting`.
# fmt: off
_FLAT = frozenset({
    "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param", "source",
    "track", "wbr", "keygen", "p", "li", "dt", "dd", "tr", "td", "th", "thead", "tbody", "tfoot",
    "colgroup", "option", "optgroup", "rb", "rt", "rtc", "rp", "html", "head", "body"
})
# fmt: on
_TAG = re.compile(r"<(/?)([A-Za-z][A-Za-z0-9:-]*)")
_NESTING_BUDGET = 100_000_000  # stack steps: about 0.2 s of parsing; pages people write use <1e6
_BR = "\x00"  # a <br> inside inline text: `text.decode` refused NULs, so it cannot be content
_SPACE = re.compile(r"\s+")
_MAX_DEPTH = 200
_MAX_COLSPAN = 100


def _encoding(data: bytes) -> str:
    """The charset the page declares in its first 1024 bytes, as a Python codec; UTF-8 when
    none is declared or the label is unknown (browsers ignore an unknown label too)."""
    found = _CHARSET.search(data, 0, 1024)
    if found is None:
        return "utf-8"
    try:
        codec = codecs.lookup(found.group(1).decode("ascii")).name
    except LookupError:
        return "utf-8"
    if codec in _AS_WINDOWS_1252:
        return "cp1252"
    if codec.startswith(("utf-16", "utf-32")):
        return "utf-8"  # a file that could declare it in ASCII is not UTF-16 (HTML's rule)
    return codec


def _check_nesting(text: str, name: str) -> None:
    """Refuse a page whose elements are left open so deep that parsing it would take minutes.

    lexbor, like the HTML5 algorithm it follows, walks its stack of open elements for many
    tags (the scope checks, the adoption agency), so 40,000 unclosed `<div>`s or `<b></p>`s
    (a few hundred KB) cost over a billion steps: seconds, and minutes for a few MB. Here each
    tag counts the depth reached so far — start tags minus matching end tags, `_FLAT` elements
    left out — an upper bound (tags in comments and scripts count too), which pages people
    write keep far under the budget."""
    open_by_name: dict[str, int] = {}
    depth = steps = 0
    for m in _TAG.finditer(text):
        steps += depth
        tag = m.group(2).lower()
        if tag in _FLAT:
            continue
        if not m.group(1):
            open_by_name[tag] = open_by_name.get(tag, 0) + 1
            depth += 1
        elif open_by_name.get(tag, 0) > 0:
            open_by_name[tag] -= 1
            depth -= 1
        if steps > _NESTING_BUDGET:
            raise SourceError(
                f"{name}: elements left open too deep to read ({depth:,} levels of unclosed "
                "tags): not a page companion can convert"
            )


def _collapse(text: str) -> str:
    return _SPACE.sub(" ", text).strip()


def _hidden(node: LexborNode) -> bool:
    attrs = node.attributes
    return "hidden" in attrs or (attrs.get("aria-hidden") or "").strip().lower() == "true"


class _Out:
    """Blocks of text being built: inline text gathers until a block boundary flushes it."""

    def __init__(self) -> None:
        self.blocks: list[str] = []
        self._inline: list[str] = []

    def text(self, text: str) -> None:
        self._inline.append(text)

    def flush(self) -> None:
        if self._inline:
            lines = (_collapse(part) for part in "".join(self._inline).split(_BR))
            block = "\n".join(line for line in lines if line)
            self._inline.clear()
            if block:
                self.blocks.append(block)

    def block(self, text: str) -> None:
        self.flush()
        if text:
            self.blocks.append(text)

    def one_line(self) -> str:
        self.flush()
        return _collapse(" ".join(self.blocks))


def _render(node: LexborNode, depth: int) -> _Out:
    out = _Out()
    _walk(node, out, depth)
    out.flush()
    return out


def _walk(node: LexborNode, out: _Out, depth: int) -> None:
    if depth > _MAX_DEPTH:
        out.text(" " + _flat_text(node) + " ")
        return
    for child in node.iter(include_text=True):
        tag = child.tag or ""
        if tag == "-text":
            out.text(child.text_content or "")
        elif not child.is_element_node or tag in _DROP or _hidden(child):
            continue
        elif tag == "br":
            out.text(_BR)
        elif tag in _HEADINGS:
            out.block("#" * _HEADINGS[tag] + " " + _render(child, depth + 1).one_line())
        elif tag in _LISTS:
            out.block(_list(child, depth + 1))
        elif tag == "table":
            out.block(_table(child, depth + 1))
        elif tag == "pre":
            out.block(_fence(child.text(deep=True) or ""))
        elif tag == "blockquote":
            inner = "\n\n".join(_render(child, depth + 1).blocks)
            out.block("\n".join(f"> {line}" if line else ">" for line in inner.split("\n")))
        elif tag in _BLOCKS:
            out.flush()
            _walk(child, out, depth + 1)
            out.flush()
        else:  # inline: a, b, span, code, … (and unknown tags) add their text where they are
            _walk(child, out, depth + 1)


def _flat_text(node: LexborNode) -> str:
    """The words under `node`, without structure, left out what `_walk` leaves out: an
    explicit stack, so any depth costs no Python recursion."""
    words: list[str] = []
    stack = list(node.iter(include_text=True))[::-1]
    while stack:
        child = stack.pop()
        if child.tag == "-text":
            words.append(child.text_content or "")
        elif child.is_element_node and child.tag not in _DROP and not _hidden(child):
            if child.tag in _SEPARATE:
                words.append(" ")
            stack.extend(list(child.iter(include_text=True))[::-1])
    return "".join(words)


def _list(node: LexborNode, depth: int) -> str:
    """`- ` lines, one per item; an item's further lines (its own paragraphs, a nested list)
    indented two spaces."""
    lines: list[str] = []
    for child in node.iter(include_text=True):
        if child.tag == "-text":
            text = _collapse(child.text_content or "")
            item = [text] if text else []
        elif not child.is_element_node or child.tag in _DROP or _hidden(child):
            continue
        else:
            item = "\n".join(_render(child, depth + 1).blocks).split("\n")
            item = [line for line in item if line.strip()]
        if item:
            lines.append(f"- {item[0]}")
            lines.extend(f"  {line}" for line in item[1:])
    return "\n".join(lines)


def _table(node: LexborNode, depth: int) -> str:
    """The table as a markdown table (see the module docstring); its caption, if any, first."""
    caption = ""
    rows: list[list[str]] = []
    for child in node.iter():
        if child.tag == "caption":
            caption = _render(child, depth + 1).one_line()
        elif child.tag in ("thead", "tbody", "tfoot"):
            rows.extend(_row(tr, depth + 2) for tr in child.iter() if tr.tag == "tr")
        elif child.tag == "tr":
            rows.append(_row(child, depth + 1))
    rows = [row for row in rows if row]
    if not rows:
        return caption
    width = max(len(row) for row in rows)
    lines = [caption] if caption else []
    for n, row in enumerate(rows):
        cells = row + [""] * (width - len(row))
        lines.append("| " + " | ".join(cells) + " |")
        if n == 0:
            lines.append("| " + " | ".join(["---"] * width) + " |")
    return "\n".join(lines)


def _row(tr: LexborNode, depth: int) -> list[str]:
    cells: list[str] = []
    for cell in tr.iter():
        if cell.tag not in ("td", "th") or _hidden(cell):
            continue
        cells.append(_render(cell, depth + 1).one_line().replace("|", "\\|"))
        span = cell.attributes.get("colspan") or "1"
        extra = int(span) - 1 if span.strip().isdigit() else 0
        cells.extend([""] * min(max(extra, 0), _MAX_COLSPAN))
    return cells


def _fence(text: str) -> str:
    body = text.strip("\n")
    if not body.strip():
        return ""
    fence = "```"
    while fence in body:
        fence += "`"
    return f"{fence}\n{body}\n{fence}"


class HtmlConverter:
    """HTML: the main text with its structure (see the module docstring)."""

    format: Format = "html"
    suffixes: tuple[str, ...] = (".html", ".htm")

    def convert(self, data: bytes, name: str) -> Converted:
        from selectolax.lexbor import LexborHTMLParser  # C extension: loaded only when used

        source = lf(decode(data, name, _encoding(data)))
        _check_nesting(source, name)
        tree = LexborHTMLParser(source)
        metadata: dict[str, str] = {}
        for meta in tree.css("meta"):
            key = meta.attributes.get("name") or meta.attributes.get("property")
            content = meta.attributes.get("content")
            if key and key.strip() and content is not None:
                metadata.setdefault(key.strip().lower(), content.strip())
        root = tree.css_first("main, [role=main]")
        if root is None or not _flat_text(root).strip():
            root = tree.body or tree.root  # no <main>, or an empty one: the whole body
        blocks = _render(root, 0).blocks if root is not None else []
        title_node = tree.css_first("title")
        title = _collapse(title_node.text(deep=True) or "") if title_node is not None else ""
        if not title:
            h1 = tree.css_first("h1")
            title = _render(h1, 0).one_line() if h1 is not None else ""
        text = "\n\n".join(blocks)
        return Converted(
            text=text + "\n" if text else "",
            format="html",
            metadata=metadata,
            title=title or None,
        )


CONVERTER = HtmlConverter()
