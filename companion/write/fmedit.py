"""Surgical frontmatter edits: change one value, keep every other byte.

Never round-trip a user's note through a YAML dumper (obsidian-rules.md §3): it re-orders keys,
re-quotes, re-indents and drops the trailing newline. Each edit here is a splice of the text.

**Keys are found by parsing, not by matching lines.** A line that looks like `version: 2` may sit
inside a multi-line quoted scalar or a flow list spanning lines, and a key may be given twice.
So the block is composed with PyYAML's pure-Python composer (`yaml.compose`, SafeLoader), whose
marks are character offsets into the string it was given (libyaml's may count bytes): the value
node of a top-level key has an exact span. Setting a value replaces exactly that span (a plain,
quoted, multi-line or flow value is replaced whole); the key's spelling, the gap after the colon,
a trailing comment, LF/CRLF, a BOM and every other byte stay. A missing key is appended as the
last line of the block; a note without frontmatter gets a minimal block on top. Composing builds
nodes and never constructs values, and nothing here walks a node twice, so anchors and aliases
are never expanded (an alias bomb costs nothing).

Only a top-level *block* mapping is edited. A JSON/flow mapping, a list or a scalar at the top,
or a block that does not parse, is refused with `FrontmatterEditError`, and so is a key given
twice (YAML silently reads the last one, so either edit would be a lie). A key holding a block
list, block mapping or block scalar (`|`, `>`) cannot be set to one value, and a value shared
through an anchor/alias is not edited (its span is the anchor's).

**Every edit is verified before it is returned.** Old and new block are composed again by each
loader companion may parse with (pure Python and libyaml): the new block must be a block mapping
with the same keys in the same order, every other key's value must compose to the same node as
before (kind, tag, scalar text, children: what a constructor builds from), and the edited key to
the node its new text composes to on its own. Otherwise `FrontmatterEditError`: a corrupting
edit is never returned.

`format_value` writes a string plain only when it looks like ordinary text and YAML reads the
plain text back as that same string, else double-quoted; numbers, booleans and null so that YAML
reads back the same value. List properties get `add_items` / `remove_items`, which keep the
list's style (block `- x` lines or a flow `[a, b]`); a property holding one string becomes a list
of it and the new items.
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

_OPEN = re.compile(r"\A(\ufeff?)---[ \t]*(\r?\n)")
# A string may be written plain only if it looks like this, does not look like a number or a
# YAML word to other YAML readers (Obsidian reads YAML 1.2: `1e5` and `0o17` are numbers there),
# and PyYAML reads it back unchanged.
_SIMPLE_SCALAR = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_ .:/@+-]*")
_NUMBER_LIKE = re.compile(r"[-+]?(?:0[xXoObB][0-9A-Fa-f_]+|\d[\d_.eE:+-]*)")
_YAML_WORDS = {"true", "false", "yes", "no", "on", "off", "null", "~", ""}
# `updated` as SYSTEM.md's page skeleton writes it: unquoted (YAML reads it as a timestamp).
_STAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")
_DASH = re.compile(r"[ \t]*-[ \t]+")
_SEQ_TAG = "tag:yaml.org,2002:seq"
_NULL_TAG = "tag:yaml.org,2002:null"
_FLOW_MAPPING = "the frontmatter is a JSON/flow mapping; companion edits only block-style YAML"
_C_LOADER: Any = getattr(yaml, "CSafeLoader", None)
_LOADERS: tuple[Any, ...] = (yaml.SafeLoader,) + ((_C_LOADER,) if _C_LOADER else ())

Kind = Literal["absent", "scalar", "list", "mapping"]
_Pair = tuple[Node, Node]
_Splice = tuple[int, int, str]  # replace text[start:end] with the string
_Want = Callable[[Node | None], Node]  # the edited key's old value node -> its expected new one


class FrontmatterEditError(ValueError):
    """The frontmatter cannot be edited surgically (e.g. the key holds a nested block)."""


@dataclass(frozen=True, slots=True)
class _Block:
    """A note's frontmatter block, composed: `text[start:close]` is the YAML source."""

    text: str
    start: int  # offset of the block's first character (after the opening `---` line)
    close: int  # offset of the closing `---`/`...` line
    newline: str  # the opening line's newline: used for every line added
    pairs: list[_Pair]  # top-level (key node, value node); marks are offsets from `start`

    def find(self, key: str) -> _Pair | None:
        return next((p for p in self.pairs if _key_name(p[0]) == key), None)

    def span(self, node: Node) -> tuple[int, int]:
        return self.start + node.start_mark.index, self.start + node.end_mark.index

    def line(self, node: Node) -> int:
        """The note's 1-based line number of `node`."""
        return _first_line(self.text, self.start) + node.start_mark.line

    @property
    def indent(self) -> int:
        """The column of the top-level keys (a block may be indented as a whole)."""
        return self.pairs[0][0].start_mark.column if self.pairs else 0

    def lines(self, lines: list[str]) -> str:
        return "".join(line + self.newline for line in lines)


# -- public API -----------------------------------------------------------------------------------


def format_value(value: Any) -> str:
    """A YAML scalar for `value` that YAML reads back as the same value and type (str, int,
    float, bool, None). An ISO timestamp (`2026-11-21T10:02:11Z`) stays plain, as in SYSTEM.md's
    page skeleton (YAML reads it as a timestamp)."""
    if isinstance(value, str) and _STAMP.fullmatch(value):
        return value
    return _scalar(value, flow=False)


def set_value(text: str, key: str, value: Any) -> str:
    """`text` with the top-level frontmatter `key` set to `value`, all other bytes unchanged."""
    rendered = format_value(value)
    new_node = _scalar_node(rendered)
    block = _editable(text)
    pair = block.find(key) if block is not None else None
    if block is None or pair is None:
        lines = [f"{_key_text(key)}: {rendered}"]
        return _add_key(text, block, key, lines, lambda _old: new_node)
    node = pair[1]
    _check_own(block, key, node)
    if isinstance(node, ScalarNode) and node.style in ("|", ">"):
        raise FrontmatterEditError(
            f"`{key}` holds a nested value (a `{node.style}` block scalar, line "
            f"{block.line(node)}); it cannot be edited in place"
        )
    if isinstance(node, MappingNode | SequenceNode) and node.flow_style is not True:
        what = "list" if isinstance(node, SequenceNode) else "mapping"
        raise FrontmatterEditError(
            f"`{key}` holds a nested value (a block {what}, line {block.line(node)}); it cannot "
            "be set to a single value"
        )
    start, end = block.span(node)
    if start == end:  # `key:` with nothing (or only a comment) after it
        start = end = _skip_blanks(text, start)
        gap = "" if text[start - 1] in " \t" else " "
        after = " " if text.startswith("#", end) else ""
        rendered = f"{gap}{rendered}{after}"
    return _finish(block, key, [(start, end, rendered)], lambda _old: new_node)


def value_kind(text: str, key: str) -> Kind:
    """What the top-level `key` holds: `absent`, a `scalar` (null and block scalars included),
    a `list` or a `mapping`. `FrontmatterEditError` when the frontmatter cannot be edited."""
    block = _editable(text)
    pair = block.find(key) if block is not None else None
    if pair is None:
        return "absent"
    if isinstance(pair[1], SequenceNode):
        return "list"
    return "mapping" if isinstance(pair[1], MappingNode) else "scalar"


def duplicate_keys(text: str) -> list[str]:
    """Top-level frontmatter keys given more than once (YAML reads only the last of each); []
    without frontmatter or when it does not parse as a block mapping."""
    try:
        block = _composed(text)
    except FrontmatterEditError:
        return []
    return list(_duplicates(block.pairs)) if block is not None else []


def add_items(text: str, key: str, items: list[str]) -> str:
    """`text` with `items` added to the list property `key` (those already there are skipped).

    A block list gets `- x` lines indented as its items are; a flow list `[a, b]` becomes
    `[a, b, x]`; an absent key becomes a block list (`key:` then `  - x`, as Obsidian writes
    lists); a key holding one string becomes a block list of that string and the new items."""
    new = list(dict.fromkeys(items))
    block = _editable(text)
    pair = block.find(key) if block is not None else None
    if block is None or pair is None:
        if not new:
            return text
        rendered = [_scalar(i, flow=False) for i in new]
        lines = [f"{_key_text(key)}:", *(f"  - {r}" for r in rendered)]
        nodes = [_scalar_node(r) for r in rendered]
        return _add_key(text, block, key, lines, lambda _old: _seq(nodes))
    key_node, node = pair
    _check_own(block, key, node)
    old = _items(block, key, node)
    new = [i for i in new if not any(_is_one_of(o, [i]) for o in old)]
    if not new:
        return text
    flow = isinstance(node, SequenceNode) and node.flow_style is True
    rendered = [_scalar(i, flow=flow) for i in new]
    nodes = [_scalar_node(r) for r in rendered]

    def want(old_value: Node | None) -> Node:
        return _seq(_held(old_value) + nodes)

    if flow:  # `[a, b]` -> `[a, b, x]`, right after the last item (a comment after it stays)
        at = block.span(old[-1])[1] if old else block.span(node)[1] - 1
        added = "".join(f", {r}" for r in rendered) if old else ", ".join(rendered)
        return _finish(block, key, [(at, at, added)], want)
    if isinstance(node, SequenceNode):  # a block list: new lines after its last item's line
        prefix = _dash(block, key, old[0])
        at = _line_end(text, block.span(old[-1])[1])
        return _finish(block, key, [(at, at, block.lines([prefix + r for r in rendered]))], want)
    # One scalar (or null): `key: x` becomes `key:` (its comment kept), then `- x` lines.
    start, end = block.span(node)
    held = [text[start:end]] if old else []
    indent = " " * (key_node.start_mark.column + 2)
    colon = text.index(":", block.span(key_node)[1])
    added = block.lines([f"{indent}- {r}" for r in held + rendered])
    at = _line_end(text, end)
    return _finish(block, key, [(colon + 1, end, ""), (at, at, added)], want)


def remove_items(text: str, key: str, items: list[str]) -> str:
    """`text` with `items` removed from the list property `key`; items not there change nothing.
    A list left empty is written `[]`; so is a key that held just one of the items."""
    block = _editable(text)
    pair = block.find(key) if block is not None else None
    if block is None or pair is None:
        return text
    key_node, node = pair
    _check_own(block, key, node)
    gone = [_is_one_of(item, items) for item in _items(block, key, node)]
    if not any(gone):
        return text

    def want(old_value: Node | None) -> Node:
        return _seq([i for i in _held(old_value) if not _is_one_of(i, items)])

    start, end = block.span(node)
    if not isinstance(node, SequenceNode):  # the one scalar it held goes
        return _finish(block, key, [(start, end, "[]")], want)
    if node.flow_style is True:
        return _finish(block, key, [(start, end, _flow_without(block, key, node, gone))], want)
    splices: list[_Splice] = []
    for item, drop in zip(node.value, gone, strict=True):
        if drop:
            _dash(block, key, item)
            item_start, item_end = block.span(item)
            splices.append((_line_start(text, item_start), _line_end(text, item_end), ""))
    if all(gone):  # `key:` with every item line gone would read as null: keep it a list
        colon = text.index(":", block.span(key_node)[1])
        splices.insert(0, (colon + 1, colon + 1, " []"))
    return _finish(block, key, splices, want)


# -- reading the block ----------------------------------------------------------------------------


def _bounds(text: str) -> tuple[int, int, str] | None:
    """(start of first key line, start of closing `---` line, newline) or None without frontmatter."""
    opening = _OPEN.match(text)
    if opening is None:
        return None
    newline = opening.group(2)
    start = opening.end()
    pos = start
    while pos <= len(text):
        end = text.find("\n", pos)
        line = text[pos : len(text) if end == -1 else end].rstrip("\r")
        if line.rstrip() in ("---", "..."):
            return start, pos, newline
        if end == -1:
            return None
        pos = end + 1
    return None


def _first_line(text: str, start: int) -> int:
    return text.count("\n", 0, start) + 1


def _compose(src: str, loader: Any, first_line: int) -> list[_Pair]:
    """The top-level pairs of a block-mapping source; `FrontmatterEditError` saying why not."""
    if loader is yaml.SafeLoader:
        # PyYAML's scanner refuses a tab where YAML (and libyaml, which companion parses with)
        # allows one as a separator (`version:\t7`). A space of the same length keeps every
        # offset; values with raw tabs are still checked by libyaml in `_verify`.
        src = src.replace("\t", " ")
    try:
        root = yaml.compose(src, Loader=loader)
    except yaml.YAMLError as exc:
        if src.lstrip().startswith("{"):
            raise FrontmatterEditError(_FLOW_MAPPING) from None
        mark = getattr(exc, "problem_mark", None)
        where = f"line {first_line + mark.line}: " if mark is not None else ""
        reason = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise FrontmatterEditError(f"the frontmatter is not valid YAML ({where}{reason})") from None
    except RecursionError:
        raise FrontmatterEditError("the frontmatter is nested too deeply to edit") from None
    if root is None:  # empty, or only comments
        return []
    if isinstance(root, MappingNode):
        if root.flow_style is True:
            raise FrontmatterEditError(_FLOW_MAPPING)
        return list(root.value)
    what = "a list" if isinstance(root, SequenceNode) else "a single value"
    raise FrontmatterEditError(f"the frontmatter is {what}, not a mapping of properties")


def _composed(text: str) -> _Block | None:
    bounds = _bounds(text)
    if bounds is None:
        return None
    start, close, newline = bounds
    pairs = _compose(text[start:close], yaml.SafeLoader, _first_line(text, start))
    return _Block(text, start, close, newline, pairs)


def _editable(text: str) -> _Block | None:
    """The composed block, or None without frontmatter; refused when a key is given twice."""
    block = _composed(text)
    if block is None:
        return None
    problems = []
    for key, nodes in _duplicates(block.pairs).items():
        lines = [str(block.line(n)) for n in nodes]
        times = "twice" if len(nodes) == 2 else f"{len(nodes)} times"
        problems.append(f"`{key}` is given {times} (lines {', '.join(lines[:-1])} and {lines[-1]})")
    if problems:
        raise FrontmatterEditError("; ".join(problems) + "; fix the frontmatter first")
    return block


def _duplicates(pairs: list[_Pair]) -> dict[str, list[Node]]:
    seen: dict[str, list[Node]] = {}
    for key_node, _ in pairs:
        name = _key_name(key_node)
        if name is not None:
            seen.setdefault(name, []).append(key_node)
    return {k: v for k, v in seen.items() if len(v) > 1}


def _key_name(node: Node) -> str | None:
    return node.value if isinstance(node, ScalarNode) else None


def _check_own(block: _Block, key: str, node: Node) -> None:
    """Refuse a value shared through an anchor/alias: its span is the anchor's, and replacing it
    would change (or break) the other keys that use it."""
    if _references(block.pairs)[id(node)] > 1:
        raise FrontmatterEditError(
            f"`{key}` shares its value with another key through a YAML anchor/alias "
            f"(line {block.line(node)}); companion does not edit shared values"
        )


def _references(pairs: list[_Pair]) -> Counter[int]:
    """How many parent edges reach each node (more than one: an alias). Each node's children are
    walked once, so aliases are never expanded."""
    count: Counter[int] = Counter()
    stack: list[Node] = [n for pair in pairs for n in pair]
    count.update(id(n) for n in stack)
    walked: set[int] = set()
    while stack:
        node = stack.pop()
        if id(node) in walked or isinstance(node, ScalarNode):
            continue
        walked.add(id(node))
        if isinstance(node, MappingNode):
            children = [n for pair in node.value for n in pair]
        else:
            children = list(node.value)
        count.update(id(n) for n in children)
        stack.extend(children)
    return count


def _items(block: _Block, key: str, node: Node) -> list[Node]:
    """The items a list property holds now (one non-empty scalar counts as one item), each with
    a span of its own inside the value."""
    if isinstance(node, MappingNode):
        raise FrontmatterEditError(f"`{key}` holds a mapping, not a list")
    if isinstance(node, ScalarNode):
        if node.style in ("|", ">"):
            raise FrontmatterEditError(f"`{key}` holds a `{node.style}` block scalar, not a list")
        if "\n" in block.text[slice(*block.span(node))]:
            raise FrontmatterEditError(f"`{key}` holds a multi-line value, not a list")
        return _held(node)
    start, end = block.span(node)
    refs = _references(block.pairs)
    for item in node.value:
        item_start, item_end = block.span(item)
        if refs[id(item)] > 1 or not start <= item_start <= item_end <= end:
            raise FrontmatterEditError(
                f"`{key}` holds a YAML alias (line {block.line(item)}); companion does not edit "
                "lists with aliases"
            )
    return list(node.value)


def _held(node: Node | None) -> list[Node]:
    """The items a value counts as: a list's, one scalar's own, none for null/empty/absent."""
    if isinstance(node, SequenceNode):
        return list(node.value)
    if node is None or node.tag == _NULL_TAG or node.value == "":
        return []
    return [node]


def _is_one_of(node: Node, items: list[str]) -> bool:
    return isinstance(node, ScalarNode) and node.value in items


def _dash(block: _Block, key: str, item: Node) -> str:
    """The `  - ` before a block list's item: the item must start its own line."""
    start = block.span(item)[0]
    prefix = block.text[_line_start(block.text, start) : start]
    if not _DASH.fullmatch(prefix):
        raise FrontmatterEditError(
            f"the items of `{key}` are not one `- item` per line (line {block.line(item)})"
        )
    return prefix


# -- writing --------------------------------------------------------------------------------------


def _scalar(value: Any, flow: bool) -> str:
    """YAML text for one scalar that reads back as `value` (as a flow-list item when `flow`)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return _float(value)
    if not isinstance(value, str):
        raise FrontmatterEditError(
            f"cannot write a {type(value).__name__} as a property value: give text, a number, "
            "true/false or null"
        )
    plain = (
        _SIMPLE_SCALAR.fullmatch(value)
        and value.lower() not in _YAML_WORDS
        and not _NUMBER_LIKE.fullmatch(value)
    )
    # JSON is a YAML double-quoted scalar; characters that are invisible or break lines for
    # other readers (U+2028, U+0085, a BOM, C1 controls) are escaped too. YAML's own emitter is
    # the last resort.
    candidates = [value] if plain else []
    candidates.append("".join(_escape(ch) for ch in json.dumps(value, ensure_ascii=False)))
    for candidate in candidates:
        if _reads_back(candidate, value, flow):
            return candidate
    emitted = yaml.safe_dump(value, default_style='"', allow_unicode=True, width=math.inf)
    if emitted.count("\n") == 1 and _reads_back(emitted.rstrip("\n"), value, flow):
        return emitted.rstrip("\n")
    raise FrontmatterEditError(f"cannot write {value!r} so that YAML reads it back unchanged")


def _escape(ch: str) -> str:
    if ch.isprintable():
        return ch
    return f"\\u{ord(ch):04x}" if ord(ch) <= 0xFFFF else f"\\U{ord(ch):08x}"


def _float(value: float) -> str:
    if math.isnan(value):
        return ".nan"
    if math.isinf(value):
        return ".inf" if value > 0 else "-.inf"
    text = repr(value)
    if "." not in text:  # YAML 1.1 needs the dot: `1e+20` is a string, `1.0e+20` a float
        mantissa, e, exponent = text.partition("e")
        text = f"{mantissa}.0{e}{exponent}"
    if yaml.safe_load(f"k: {text}")["k"] != value:
        raise FrontmatterEditError(f"cannot write the float {value!r} so that YAML reads it back")
    return text


def _reads_back(rendered: str, value: str, flow: bool) -> bool:
    """Whether every YAML loader companion may use reads `rendered` back as the string `value`."""
    doc = f"k: [{rendered}]" if flow else f"k: {rendered}"
    for loader in _LOADERS:
        try:
            data = yaml.load(doc, Loader=loader)
        except yaml.YAMLError:
            return False
        got = data.get("k") if isinstance(data, dict) else None
        if flow:
            got = got[0] if isinstance(got, list) and len(got) == 1 else None
        if type(got) is not str or got != value:
            return False
    return True


def _scalar_node(rendered: str) -> Node:
    """The node `rendered` composes to as a value: what the edited key must compose to."""
    root = yaml.compose(f"k: {rendered}", Loader=yaml.SafeLoader)
    assert isinstance(root, MappingNode)
    node: Node = root.value[0][1]
    return node


def _seq(items: list[Node]) -> Node:
    return SequenceNode(_SEQ_TAG, items)


def _key_text(key: str) -> str:
    return _scalar(key, flow=False)


def _line_start(text: str, pos: int) -> int:
    return text.rfind("\n", 0, pos) + 1


def _line_end(text: str, pos: int) -> int:
    """The offset just after the line `pos` is on (`pos` itself when it starts a line)."""
    if pos > 0 and text[pos - 1] == "\n":
        return pos
    end = text.find("\n", pos)
    return len(text) if end == -1 else end + 1


def _skip_blanks(text: str, pos: int) -> int:
    while pos < len(text) and text[pos] in " \t":
        pos += 1
    return pos


def _flow_without(block: _Block, key: str, node: Node, gone: list[bool]) -> str:
    """A flow list's text without the items flagged `gone`. Each kept item keeps the separator
    before it, so a list spanning lines keeps its shape; a comment in a separator that would go
    is refused rather than lost (separators hold only commas, blanks and comments)."""
    text = block.text
    start, end = block.span(node)
    spans = [block.span(item) for item in node.value]
    seps = [text[spans[i][1] : spans[i + 1][0]] for i in range(len(spans) - 1)]
    head, tail = text[start : spans[0][0]], text[spans[-1][1] : end]
    kept = [i for i, g in enumerate(gone) if not g]
    if not kept:
        out, dropped = "[]", [head, *seps, tail]
    else:
        out = head + text[slice(*spans[kept[0]])]
        out += "".join(seps[i - 1] + text[slice(*spans[i])] for i in kept[1:])
        out += tail
        used = {i - 1 for i in kept[1:]}
        dropped = [sep for j, sep in enumerate(seps) if j not in used]
    if any("#" in part for part in dropped):
        raise FrontmatterEditError(
            f"a comment sits next to an item removed from `{key}` (line {block.line(node)}); "
            "edit that list by hand"
        )
    return out


def _add_key(text: str, block: _Block | None, key: str, lines: list[str], want: _Want) -> str:
    """A missing key appended as the last line(s) of the block, at the block's indentation; a
    note without frontmatter gets a minimal block on top (its BOM stays first)."""
    if block is not None:
        added = block.lines([" " * block.indent + line for line in lines])
        return _finish(block, key, [(block.close, block.close, added)], want)
    newline = "\r\n" if "\r\n" in text[:1000] else "\n"
    bom = "\ufeff" if text.startswith("\ufeff") else ""
    head, tail = f"{bom}---{newline}", f"---{newline}{text[len(bom) :]}"
    result = head + "".join(line + newline for line in lines) + tail
    _verify(result, head, tail, key, None, want)
    return result


def _finish(block: _Block, key: str, splices: list[_Splice], want: _Want) -> str:
    """Apply `splices` (inside the block, not overlapping) and verify the result."""
    text = block.text
    out: list[str] = []
    pos = 0
    for start, end, new in sorted(splices):
        assert block.start <= start and pos <= start <= end <= block.close
        out += [text[pos:start], new]
        pos = end
    result = "".join(out) + text[pos:]
    old_src = text[block.start : block.close]
    _verify(result, text[: block.start], text[block.close :], key, old_src, want)
    return result


def _verify(result: str, head: str, tail: str, key: str, old_src: str | None, want: _Want) -> None:
    """`FrontmatterEditError` unless `result` is `head`, then a block that every loader reads as
    `old_src` (none: an empty block) with only `key` changed to `want(old value)`, then `tail`."""
    failed = f"editing `{key}` would not read back as written"
    bounds = _bounds(result)
    if bounds is None or bounds[0] != len(head) or not result.startswith(head):
        raise FrontmatterEditError(f"{failed} (the frontmatter block would change shape)")
    if result[bounds[1] :] != tail:
        raise FrontmatterEditError(f"{failed} (the frontmatter block would change shape)")
    first_line = _first_line(result, len(head))
    for loader in _LOADERS:
        before = _compose(old_src, loader, first_line) if old_src is not None else []
        try:
            after = _compose(result[bounds[0] : bounds[1]], loader, first_line)
        except FrontmatterEditError as exc:
            raise FrontmatterEditError(f"{failed} ({exc})") from None
        expected = [(k, want(v) if _key_name(k) == key else v) for k, v in before]
        if not any(_key_name(k) == key for k, _ in before):
            expected.append((_scalar_node(_key_text(key)), want(None)))
        seen: set[tuple[int, int]] = set()
        if len(after) != len(expected) or not all(
            _same(ak, ek, seen) and _same(av, ev, seen)
            for (ak, av), (ek, ev) in zip(after, expected, strict=True)
        ):
            raise FrontmatterEditError(f"{failed} (a property would read back differently)")


def _same(a: Node, b: Node, seen: set[tuple[int, int]]) -> bool:
    """Whether two nodes construct to the same value (same kind, tag, scalar text, children),
    each pair compared once (so shared, aliased nodes are not walked again)."""
    pair = (id(a), id(b))
    if pair in seen:
        return True
    seen.add(pair)
    if type(a) is not type(b) or a.tag != b.tag or len(a.value) != len(b.value):
        return False
    if isinstance(a, ScalarNode):
        return bool(a.value == b.value)
    if isinstance(a, SequenceNode):
        return all(_same(x, y, seen) for x, y in zip(a.value, b.value, strict=True))
    return all(
        _same(ka, kb, seen) and _same(va, vb, seen)
        for (ka, va), (kb, vb) in zip(a.value, b.value, strict=True)
    )
