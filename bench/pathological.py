"""Hostile notes: the inputs that once made parsing quadratic (or worse), by name.

Each entry builds a note of about `size` bytes from a small repeated pattern, so the same input
can be had at two sizes and the cost of doubling it compared. `bench.parse` times them through
the real `parse_note`; `tests/markdown/test_parse_linear.py` counts the scanner's steps on them.
Standard library only (the tests import this module).

The fixed-size inputs (`FIXED`) are not about size at all: a few hundred bytes that, before,
stalled the parser for minutes (a YAML alias bomb) or stopped an index run (a circular alias, a
`version` SQLite cannot store, a canvas nested past the recursion limit).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable

# A link first: a paragraph without `[`, `#` or `%` is never scanned inline at all.
_LINK = "[[x]] "


def _repeat(unit: str, size: int, head: str = "", tail: str = "") -> bytes:
    """`head` + `unit` repeated to about `size` bytes + `tail`, as UTF-8."""
    count = max(1, (size - len(head) - len(tail)) // max(1, len(unit.encode("utf-8"))))
    return (head + unit * count + tail).encode("utf-8")


def _ladder(size: int) -> bytes:
    """Backtick runs of lengths 1, 2, 3, ... none closed: every opener looks for its closer."""
    parts: list[str] = [_LINK]
    total, k = 0, 1
    while total < size:
        parts.append("`" * k + " x ")
        total += k + 3
        k += 1
    return "".join(parts).encode("utf-8")


def _nested_lists(size: int) -> bytes:
    """List items nested 0..99 deep, then back out, over and over."""
    lines = ["  " * (i % 100) + "- item [[x]]\n" for i in range(size // 120 + 1)]
    return "".join(lines).encode("utf-8")


def _nested_links(size: int) -> bytes:
    """`[[[...x](y)](y)](y)`: one bracket run, closed link by link."""
    depth = max(1, size // 5)
    return ("[" * depth + "x" + "](y)" * depth).encode("utf-8")


def _nested_images(size: int) -> bytes:
    """`[![![x](y)](y)](y)`: an image in the text of an image in the text of a link, deeply."""
    depth = max(1, size // 6)
    return ("[" + "![" * depth + "x" + "](y)" * (depth + 1)).encode("utf-8")


def _front(lines: str, size: int) -> bytes:
    return _repeat(lines, size, head="---\nrelated:\n", tail="---\nbody\n")


# name -> builder(size in bytes) -> the file's bytes. Each costs O(n) to parse now; each was
# superlinear before (or is a shape an attacker would try next).
SCALED: dict[str, Callable[[int], bytes]] = {
    "open-brackets": lambda n: _repeat("[", n),
    "wikilink-opens": lambda n: _repeat("[[", n),
    "embed-opens": lambda n: _repeat("![[", n),
    "wikilink-pipes": lambda n: _repeat("[[a|", n),
    "md-link-opens": lambda n: _repeat("[a](", n),
    "md-link-dests": lambda n: _repeat("[a](b", n),
    "balanced-brackets": lambda n: _repeat("[", n // 2) + _repeat("]", n // 2),
    "nested-md-links": _nested_links,
    "nested-images": _nested_images,
    "backticks": lambda n: _repeat("`", n, head=_LINK),
    "backtick-ladder": _ladder,
    "dollars": lambda n: _repeat("$", n, head=_LINK),
    "dollar-words": lambda n: _repeat("$a ", n, head=_LINK),
    "escaped-dollars": lambda n: _repeat("\\$", n, head=_LINK + "$"),
    "percents": lambda n: _repeat("%%", n),
    "hashes": lambda n: _repeat("#", n),
    "tags": lambda n: _repeat("#a ", n),
    "blockquote-line": lambda n: _repeat(">", n),
    "blockquote-lines": lambda n: _repeat("> " * 40 + "[[q]]\n", n),
    "nested-lists": _nested_lists,
    "long-line": lambda n: _repeat("word ", n, head=_LINK),
    "html-comment-opens": lambda n: _repeat("<!--", n),
    "inline-comment-opens": lambda n: _repeat("<!--", n, head=_LINK),
    "html-tags": lambda n: _repeat("<div>", n),
    "inline-html-tags": lambda n: _repeat("<a b", n, head=_LINK),
    "html-attrs": lambda n: _repeat(" a", n, head="<div"),
    "headings": lambda n: _repeat("# heading [[h]]\n", n),
    "heading-spaces": lambda n: _repeat(" ", n, head="# a", tail="b"),
    "links-per-line": lambda n: _repeat("[[a]]\n", n),
    "md-links-per-line": lambda n: _repeat("[a](b.md)\n", n),
    "table-rows": lambda n: _repeat("| [[a]] | b |\n", n, head="| h | i |\n|---|---|\n"),
    "table-delimiter": lambda n: _repeat(" ", n, head="a | b\n|---", tail="x"),
    "escapes": lambda n: _repeat("\\", n, head=_LINK),
    "callout-opens": lambda n: _repeat("[!", n, head="> "),
    "block-ids": lambda n: _repeat(" ^a", n, head=_LINK),
    "property-links": lambda n: _front('  - "[[a]]"\n', n),
    "escaped-property-links": lambda n: _front('  - "\\x5b[a]]"\n', n),
}

# The 2 MB case of the defect report, and the sizes every scaled input is measured at.
LARGE = {"wikilink-opens": 2_000_000}

_BOMB_LEVELS = "abcdefghi"


def yaml_bomb() -> bytes:
    """Billion laughs in frontmatter: 9 levels of 9 aliases each, 9**9 values once expanded."""
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for prev, name in itertools.pairwise(_BOMB_LEVELS):
        lines.append(f"{name}: &{name} [{','.join(['*' + prev] * 9)}]")
    return ("---\n" + "\n".join(lines) + "\n---\nbody\n").encode("utf-8")


FIXED: dict[str, Callable[[], bytes]] = {
    "yaml-alias-bomb": yaml_bomb,
    "yaml-merge-bomb": lambda: (
        "---\nk0: &k0 {x: 1}\n"
        + "".join(f"k{i}: &k{i} {{<<: [*k{i - 1}, *k{i - 1}]}}\n" for i in range(1, 40))
        + "---\n"
    ).encode("utf-8"),
    "yaml-circular": lambda: b"---\na: &x [1, *x]\n---\nbody\n",
    "yaml-circular-merge": lambda: b"---\na: &x {<<: *x}\n---\nbody\n",
    "yaml-deep": lambda: ("---\na: " + "[" * 999 + "]" * 999 + "\n---\n").encode("utf-8"),
    "version-overflow": lambda: b"---\nversion: 99999999999999999999\n---\nbody\n",
    "version-bool": lambda: b"---\nversion: true\n---\nbody\n",
    "canvas-deep": lambda: b"[" * 100_000,
}
FIXED_PATHS = {"canvas-deep": "board.canvas"}
