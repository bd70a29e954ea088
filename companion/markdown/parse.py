"""Pure parsing: the bytes of one vault file -> `Note`. No disk, no SQLite, never raises on content.

Order of work: decode (UTF-8, BOM stripped; invalid bytes replaced and reported), split off the
YAML frontmatter (`---` lines at the very top; CRLF accepted), load it with libyaml's
`CSafeLoader` (about ten times faster than the pure-Python loader), then hand the body to
`scan.scan_body`, which finds links, inline tags, headings, block ids and callouts in one
line pass plus one inline pass (see `scan` for why no full markdown-it parse).

Problems with the content (malformed YAML, a list where a mapping belongs, invalid UTF-8, broken
JSON Canvas) become `Problem`s on the note; the note is still indexed (design.md, principle 8).
The frontmatter is only ever read here: writing it back is done surgically elsewhere, never by
re-serialising (obsidian-rules.md §3).

`.canvas` files (JSON Canvas) are link sources too: a `file` node links to its file and the
markdown of a `text` node is scanned like a note body. Their links carry the offsets of the
node's JSON string in the file (the markdown inside is JSON-escaped, so exact offsets into the
decoded text cannot exist).

A note is untrusted input, and one file must not stall or stop an index run (the daemon has a
single writer). So:

- `parse_note` never raises: an exception it did not foresee becomes a `parse` problem, and the
  note is indexed by its path and text alone (no links, no properties).
- Parsing is linear in the file's size (see `scan` for the body). Frontmatter that uses aliases
  (`*name`) is composed into YAML's node graph first, where shared nodes are still shared, and
  its expanded size is counted there, one visit per node: aliases that would add more than
  `ALIAS_NODES` values or `ALIAS_CHARS` characters (a "billion laughs" of nine nested lists is
  450 bytes) leave the properties empty with a `yaml` problem, before anything is built or
  walked. An alias inside the value it names (`a: &x [1, *x]`) is cut there, read as null, and
  reported. A sexagesimal number of many parts (`1:2:3:...`, which libyaml's constructor
  multiplies out digit by digit) is refused the same way.
- What reaches `Note.properties` is plain JSON data (the sync stores `json.dumps` of it):
  mappings with string keys, lists, strings, numbers, booleans, null, and dates (the sync writes
  them as ISO text). Nesting deeper than `MAX_DEPTH` leaves the properties empty with a problem
  (JSON encoders recurse); an integer too long to print in decimal becomes null with a problem.
- A `version` that is not a whole number SQLite can store (signed 64 bits; not a boolean) is
  None, with a problem.
- `meter` (optional) collects the steps parsing took: the scanner's, plus the frontmatter's
  characters and nodes and what the property-link and canvas searches went over. Tests hold it
  to a constant per input byte; nothing in the product reads it.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from datetime import date
from typing import Any

import yaml

from companion.markdown import scan as mdscan
from companion.markdown.note import Link, Note, Problem, version_problem

# libyaml when present (speed); the pure-Python loader parses the same documents.
_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_FM_OPEN = re.compile(r"---[ \t]*\r?\n")
_FM_CLOSE = re.compile(r"^---[ \t]*(?:\r?\n|\Z)", re.M)
_TAG_SPLIT = re.compile(r"[,\s]+")
_MAX_DEPTH = 32  # property links deeper than this are not looked for
MAX_DEPTH = 100  # properties nested deeper are refused (JSON encoders recurse)
ALIAS_NODES = 10_000  # values that aliases may add to the frontmatter
ALIAS_CHARS = 1_000_000  # characters of text that aliases may add
_CAP = 1 << 62  # expanded sizes are counted up to here (a bomb's true size needs no bignum)
# `1:2:3` is an int in YAML 1.1, built by multiplying out each part: 64 parts is far past any
# time of day, and keeps a hostile one from costing quadratic time.
_SEXAGESIMAL = re.compile(r":(?:[0-5]?[0-9]:){63}[0-5]?[0-9]")  # 64 `:nn` parts; `:` first is fast
# An anchor (`&name`) stands where a node starts: never right after a word character, and a
# name follows it. Without one there is no alias to expand (an alias needs an anchor), so the
# plain loader is safe; `R&D` and `A & B` are not anchors, `text &amp;` only takes the slow path.
_ANCHOR = re.compile(r"(?<!\w)&[^\s\[\]{},]")
_INT_BITS = 14_000  # about 4,200 decimal digits: Python refuses to print more (int_max_str_digits)
_VERSION_KEY = re.compile(r"^['\"]?version['\"]?[ \t]*:", re.M)
_NULL_TAG = "tag:yaml.org,2002:null"
_MERGE_TAG = "tag:yaml.org,2002:merge"
_REFUSED: Any = object()  # what `_compose_checked` returns for frontmatter it will not build


@dataclass(slots=True)
class Meter:
    """Steps a `parse_note` call took (see the module docstring); pass one in to read them."""

    steps: int = 0


def parse_note(data: bytes, path: str, meter: Meter | None = None) -> Note:
    """Parse one vault file (`path` is vault-relative POSIX) into a `Note`. Never raises."""
    try:
        return _parse(data, path, meter if meter is not None else Meter())
    except Exception as exc:  # a bug of ours, or a limit no check foresaw: the file is a problem
        return _unparsed(data, path, exc)


def _unparsed(data: bytes, path: str, exc: Exception) -> Note:
    """The note indexed by its path and text alone, with a `parse` problem saying why."""
    text = bytes(data).decode("utf-8", "replace").removeprefix("\ufeff")
    reason = f"{type(exc).__name__}: {exc}"
    if len(reason) > 300:
        reason = reason[:299] + "…"
    message = f"could not be parsed ({reason}); indexed without links or properties"
    return Note(path, text, 0, 1, {}, (), (), (), (), (), (), (Problem("parse", message),))


def _parse(data: bytes, path: str, meter: Meter) -> Note:
    problems: list[Problem] = []
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        text = data.decode("utf-8", "replace")
        line = data.count(b"\n", 0, exc.start) + 1
        msg = f"invalid UTF-8 at byte {exc.start}; shown with replacement characters"
        problems.append(Problem("utf8", msg, line))
    if text.startswith("\ufeff"):
        text = text[1:]
    meter.steps += len(text)
    if path.lower().endswith(".canvas"):
        return _parse_canvas(text, path, problems, meter)

    props: dict[str, Any] = {}
    body_start = 0
    fm = _split_frontmatter(text)
    if fm is not None:
        yaml_src, body_start = fm
        props = _load_yaml(yaml_src, problems, meter)
        if "version" in props:
            reason = version_problem(props["version"])
            if reason is not None:
                km = _VERSION_KEY.search(yaml_src)
                line = yaml_src.count("\n", 0, km.start()) + 2 if km else 2
                problems.append(
                    Problem("version", f"frontmatter `version` (line {line}) {reason}", line)
                )
    body_line = text.count("\n", 0, body_start) + 1 if body_start else 1

    scan = mdscan.scan_body(text, body_start, body_line)
    meter.steps += scan.steps
    aliases = _strings(props.get("aliases")) + _strings(props.get("alias"))
    fm_tags = [
        t.lstrip("#")
        for raw in _strings(props.get("tags")) + _strings(props.get("tag"))
        for t in _TAG_SPLIT.split(raw)
    ]
    links = _property_links(props, text, body_start, meter) if props else []
    links.extend(scan.links)
    return Note(
        path=path,
        text=text,
        body_start=body_start,
        body_start_line=body_line,
        properties=props,
        aliases=_dedupe(aliases),
        tags=_dedupe(fm_tags + scan.tags),
        links=tuple(links),
        headings=tuple(scan.headings),
        block_ids=tuple(dict.fromkeys(b for b, _ in scan.block_ids)),
        callouts=tuple(c for c, _ in scan.callouts),
        problems=tuple(problems),
    )


def _split_frontmatter(text: str) -> tuple[str, int] | None:
    """(YAML source, offset where the body starts), or None when the note has no frontmatter.

    An opening `---` without a closing `---` line is body text, as in Obsidian.
    """
    opening = _FM_OPEN.match(text)
    if opening is None:
        return None
    closing = _FM_CLOSE.search(text, opening.end())
    if closing is None:
        return None
    return text[opening.end() : closing.start()], closing.end()


def _load_yaml(src: str, problems: list[Problem], meter: Meter) -> dict[str, Any]:
    """The frontmatter mapping; {} plus a Problem when it is malformed, not a mapping, or would
    cost more to build than its size allows (aliases, long sexagesimal numbers, deep nesting).

    The plain loader builds aliased values once and shares them, so building is linear; it is
    what comes after (copying, walking, `json.dumps`) that would pay for every alias. `_plain`
    copies with a budget of values and characters that no alias-free document can exceed, and
    stops at a cycle; either sends the frontmatter to `_compose_checked`, which says where. Merge
    keys (`<<`) of aliases are the exception: the loader itself expands those, so frontmatter
    that has both goes to `_compose_checked` first."""
    if not src.strip():
        return {}
    meter.steps += len(src)
    many_parts = _SEXAGESIMAL.search(src)
    if many_parts:
        line = src.count("\n", 0, many_parts.start()) + 2
        reason = "a number with 64 or more `:` parts is too long to read"
        return _yaml_problem(problems, line, reason)
    careful = "<<" in src and _ANCHOR.search(src) is not None
    while True:
        try:
            if careful:
                value = _compose_checked(src, problems, meter)
                if value is _REFUSED:
                    return {}
            else:
                value = yaml.load(src, Loader=_LOADER)  # a safe loader, C or Python
        except yaml.MarkedYAMLError as exc:
            value = _json_fallback(src)
            if value is None:
                mark = exc.problem_mark or exc.context_mark
                line = mark.line + 2 if mark is not None else 2  # +1 for 0-based, +1 for `---`
                reason = exc.problem or exc.context or "cannot parse"
                return _yaml_problem(problems, line, reason)
        except Exception as exc:  # constructor errors (a date like 2023-02-30): report, never raise
            return _yaml_problem(problems, 2, f"{type(exc).__name__}: {exc}")
        if value is None:
            return {}
        if not isinstance(value, dict):
            reason = f"top level is a {type(value).__name__}, not a mapping"
            return _yaml_problem(problems, 2, reason)
        try:
            return _plain(value, problems, meter, len(src))
        except _Expands:
            if careful:  # counted and cut already: a bound of ours is off; refuse, do not crash
                msg = "frontmatter aliases expand too far; properties left empty"
                problems.append(Problem("yaml", msg, 2))
                return {}
            careful = True


def _compose_checked(src: str, problems: list[Problem], meter: Meter) -> Any:
    """Load frontmatter that may use aliases: compose the node graph (aliases are shared nodes
    there), cut every alias that points into the value containing it, count the expanded size,
    and build the values only when the aliases add at most ALIAS_NODES values and ALIAS_CHARS
    characters; `_REFUSED` (with a problem) otherwise."""
    loader = _LOADER(src)
    try:
        root = loader.get_single_node()
        if root is None:
            return None
        sizes, distinct, cycles = _expansion(root, meter)
        for node, merged in cycles:
            line = node.start_mark.line + 2
            read = "merged as an empty mapping" if merged else "read as null"
            msg = f"frontmatter alias to line {line} sits inside the value it names; {read} there"
            problems.append(Problem("yaml", msg, line))
        total = sizes[id(root)]
        extra_nodes, extra_chars = total[0] - distinct[0], total[1] - distinct[1]
        if extra_nodes > ALIAS_NODES or extra_chars > ALIAS_CHARS:
            what = (
                f"more than {ALIAS_NODES:,} values"
                if extra_nodes > ALIAS_NODES
                else f"more than {ALIAS_CHARS:,} characters"
            )
            line, where = 2, ""
            if isinstance(root, yaml.MappingNode) and root.value:
                key, _ = max(root.value, key=lambda kv: sizes.get(id(kv[1]), (0, 0)))
                line = key.start_mark.line + 2
                name = key.value if isinstance(key, yaml.ScalarNode) else "?"
                where = f" (the largest is `{name}` at line {line})"
            problems.append(
                Problem(
                    "yaml",
                    f"frontmatter aliases expand too far: they would add {what}{where}; "
                    "properties left empty",
                    line,
                )
            )
            return _REFUSED
        return loader.construct_document(root)
    finally:
        loader.dispose()


def _children(node: yaml.Node) -> list[tuple[int, int]]:
    """Where a node's children sit: (index into node.value, 0/1 for a mapping pair, -1 else)."""
    if isinstance(node, yaml.SequenceNode):
        return [(i, -1) for i in range(len(node.value))]
    if isinstance(node, yaml.MappingNode):
        return [(i, j) for i in range(len(node.value)) for j in (0, 1)]
    return []


def _expansion(
    root: yaml.Node, meter: Meter
) -> tuple[dict[int, tuple[int, int]], tuple[int, int], list[tuple[yaml.Node, bool]]]:
    """(expanded (values, characters) of every node by id, the same counted once per node, the
    nodes that aliases inside them pointed back to, and whether that alias was merged). One iterative depth-first pass: each node
    is visited once however often aliases name it, and an alias to a node still being visited (a
    cycle) is replaced by a null, or by an empty mapping where it is merged (`<<`)."""
    sizes: dict[int, tuple[int, int]] = {}
    visiting: set[int] = set()
    cycles: list[tuple[yaml.Node, bool]] = []
    distinct = [0, 0]
    # [node, its children's places, next child, values so far, characters so far]
    stack: list[list[Any]] = [[root, _children(root), 0, 0, 0]]
    visiting.add(id(root))
    while stack:
        top = stack[-1]
        node, places, i = top[0], top[1], top[2]
        meter.steps += 1
        if i == len(places):
            stack.pop()
            visiting.discard(id(node))
            own = len(node.value) if isinstance(node, yaml.ScalarNode) else 0
            size = (min(_CAP, top[3] + 1), min(_CAP, top[4] + own))
            sizes[id(node)] = size
            distinct[0] += 1
            distinct[1] += own
            if stack:
                stack[-1][3] += size[0]
                stack[-1][4] += size[1]
            continue
        top[2] = i + 1
        at, side = places[i]
        child = node.value[at] if side < 0 else node.value[at][side]
        known = sizes.get(id(child))
        if known is not None:
            top[3] += known[0]
            top[4] += known[1]
        elif id(child) in visiting:
            merged = side == 1 and node.value[at][0].tag == _MERGE_TAG
            cycles.append((child, merged))
            if merged:
                empty: yaml.Node = yaml.MappingNode("tag:yaml.org,2002:map", [], child.start_mark)
            else:
                empty = yaml.ScalarNode(_NULL_TAG, "", child.start_mark, child.end_mark)
            if side < 0:
                node.value[at] = empty
            else:
                pair = node.value[at]
                node.value[at] = (empty, pair[1]) if side == 0 else (pair[0], empty)
            top[3] += 1
        else:
            visiting.add(id(child))
            stack.append([child, _children(child), 0, 0, 0])
    return sizes, (distinct[0], distinct[1]), cycles


_CONTAINERS = (dict, list, tuple, set, frozenset)


class _Expands(Exception):
    """Raised by `_plain` when the values are more than `size` characters of YAML can write
    without aliases, or refer to themselves."""


def _plain(
    value: dict[Any, Any], problems: list[Problem], meter: Meter, size: int
) -> dict[str, Any]:
    """A copy of loaded YAML that `json.dumps` takes (dates aside, written as ISO text by the
    sync): string keys at every level, lists for sequences, sets and ordered pairs, text for
    binary; no shared or circular references; at most MAX_DEPTH levels ({} with a problem
    beyond). Iterative, so depth costs no Python stack.

    Without aliases, `size` characters of YAML hold at most `size` values and `size`
    characters of text; past that plus ALIAS_NODES / ALIAS_CHARS, or at a cycle, it raises
    `_Expands` (and has spent no more than that budget)."""
    values_left, chars_left = size + ALIAS_NODES, size + ALIAS_CHARS
    big: list[int] = []
    out: dict[str, Any] = {}
    # (the source's items, the copy being filled, its depth); ids of the sources being copied
    stack: list[tuple[Iterator[tuple[Any, Any]], Any, int]] = [(_items(value), out, 1)]
    ancestors: list[int] = [id(value)]
    while stack:
        it, dst, depth = stack[-1]
        nxt = next(it, None)
        meter.steps += 1
        if nxt is None:
            stack.pop()
            ancestors.pop()
            continue
        k, v = nxt
        values_left -= 1
        if isinstance(v, str):
            chars_left -= len(v)
        if values_left < 0 or chars_left < 0:
            raise _Expands
        child: Any
        if not isinstance(v, _CONTAINERS):
            child = _leaf(v, big)
        elif depth >= MAX_DEPTH:
            msg = f"frontmatter nests deeper than {MAX_DEPTH} levels; properties left empty"
            problems.append(Problem("yaml", msg, 2))
            return {}
        elif id(v) in ancestors:  # an alias inside the value it names
            raise _Expands
        else:
            child = {} if isinstance(v, dict) else []
            if v:
                stack.append((_items(v), child, depth + 1))
                ancestors.append(id(v))
        if isinstance(dst, dict):
            dst[_key_text(k) if depth > 1 else str(k)] = child  # top level: as keys always were
        else:
            dst.append(child)
    if big:
        msg = f"frontmatter has {len(big)} number(s) too long to write in decimal; read as null"
        problems.append(Problem("yaml", msg, 2))
    return out


def _items(v: Any) -> Iterator[tuple[Any, Any]]:
    if isinstance(v, dict):
        return iter(v.items())
    if isinstance(v, (set, frozenset)):
        return enumerate(sorted(v, key=repr))  # a set has no order: give it a stable one
    return enumerate(v)


def _leaf(v: Any, big: list[int]) -> Any:
    if v is None or isinstance(v, (str, bool, float, date)):
        return v
    if isinstance(v, int):
        if v.bit_length() > _INT_BITS:
            big.append(v)
            return None
        return v
    if isinstance(v, (bytes, bytearray)):
        return base64.b64encode(v).decode("ascii")  # `!!binary`: the text it was written as
    return str(v)


def _key_text(k: Any) -> str:
    """A nested mapping key as text: the key `json.dumps` itself would have written."""
    if isinstance(k, str):
        return k
    if k is None or isinstance(k, (bool, int, float)):
        return json.dumps(k)
    return str(k)


def _json_fallback(src: str) -> Any:
    """JSON frontmatter that YAML refuses (tab-indented JSON is common); None if not JSON either."""
    if not src.lstrip().startswith("{"):
        return None
    try:
        return json.loads(src)
    except (ValueError, RecursionError):  # RecursionError: nested past the interpreter's limit
        return None


def _yaml_problem(problems: list[Problem], line: int, reason: str) -> dict[str, Any]:
    problems.append(Problem("yaml", f"malformed YAML in frontmatter (line {line}): {reason}", line))
    return {}


def _strings(value: Any) -> list[str]:
    """A list-or-scalar property (`aliases`, `tags`) as non-empty strings."""
    if value is None:
        return []
    items = value if isinstance(value, list) else [value]
    out = []
    for item in items:
        if item is not None and not isinstance(item, (dict, list)):
            s = str(item).strip()
            if s:
                out.append(s)
    return out


def _dedupe(items: Iterable[str]) -> tuple[str, ...]:
    """Case-insensitive de-duplication keeping the first spelling."""
    seen: set[str] = set()
    out = []
    for item in items:
        key = item.casefold()
        if item and key not in seen:
            seen.add(key)
            out.append(item)
    return tuple(out)


def _walk_strings(value: Any, depth: int = 0) -> Iterator[str]:
    """Every string value under a property (nested mappings and lists; keys are never links)."""
    if depth > _MAX_DEPTH:
        return
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from _walk_strings(v, depth + 1)
    elif isinstance(value, list):
        for v in value:
            yield from _walk_strings(v, depth + 1)


def whole_value_link(value: str) -> tuple[str, str, str | None, str | None] | None:
    """(raw, path, subpath, display) when the whole value is one link, else None.

    Obsidian records a property link only when it is the entire value: `[[Note]]`, `![[Note]]`
    or `[text](Note.md)`; a link mixed into longer text is not a link (obsidian-rules.md §1).
    """
    v = value.strip()
    if v.startswith(("[[", "![[")):
        b = 1 if v[0] == "!" else 0
        if mdscan.wikilink_end(v, b, len(v)) == len(v):
            path, sub, display = mdscan.split_wikilink(v[b + 2 : -2])
            return v, path, sub, display
    elif v.startswith("["):
        found = mdscan.markdown_link(v, 0, len(v))
        if found is not None and found[1] == len(v):
            target = mdscan.markdown_target(found[2])
            if target is not None:
                return v, target[0], target[1], v[1 : found[0]]
    return None


class _Lines:
    """1-based line numbers of offsets asked for in (mostly) increasing order: each answer counts
    newlines only from the previous offset, so n lookups cost O(len(text)), not O(n·len)."""

    __slots__ = ("at", "line", "meter", "text")

    def __init__(self, text: str, meter: Meter) -> None:
        self.text, self.meter = text, meter
        self.at, self.line = 0, 1

    def of(self, offset: int) -> int:
        if offset >= self.at:
            self.line += self.text.count("\n", self.at, offset)
        else:
            self.line -= self.text.count("\n", offset, self.at)
        self.meter.steps += abs(offset - self.at)
        self.at = offset
        return self.line


class _Budget:
    """Characters that searches which may find nothing are allowed to go over in one file.

    A value the file does not hold verbatim (YAML or JSON escapes) costs a search to the end of
    its region each time; thousands of them would be quadratic. Within the budget (generous for
    any real note) every search runs as it always did; past it, such values get the fallback
    position straight away."""

    __slots__ = ("left", "meter")

    def __init__(self, size: int, meter: Meter) -> None:
        self.left = 8 * size + 65_536
        self.meter = meter

    def find(self, text: str, needle: str, start: int, end: int) -> int:
        if self.left <= 0:
            return -1
        at = text.find(needle, start, end)
        spent = (at + len(needle) if at >= 0 else end) - start
        self.meter.steps += spent
        if at < 0:
            self.left -= spent
        return at


def _property_links(props: dict[str, Any], text: str, body_start: int, meter: Meter) -> list[Link]:
    links: list[Link] = []
    lines = _Lines(text, meter)
    budget = _Budget(body_start, meter)
    keys: dict[str, tuple[int, int]] = {}  # where each key is written, found once
    cursor = 0  # values are walked in document order, so successive finds move forward
    for key, value in props.items():
        for s in _walk_strings(value):
            meter.steps += 1
            if "[" not in s:
                continue
            meter.steps += len(s)
            found = whole_value_link(s)
            if found is None:
                continue
            raw, path, sub, display = found
            start = budget.find(text, raw, cursor, body_start)
            end = start + len(raw)
            if start < 0:  # written with YAML escapes: point at the key instead
                if key not in keys:
                    keys[key] = _key_span(key, text, body_start, budget)
                start, end = keys[key]
            else:
                cursor = end
            line = lines.of(start)
            links.append(Link(raw, path, sub, display, "frontmatter", start, end, line, key))
    return links


def _key_span(key: str, text: str, body_start: int, budget: _Budget) -> tuple[int, int]:
    """Where `key:` is first written in the frontmatter, (0, 0) when it cannot be found."""
    if budget.left <= 0:
        return 0, 0
    km = re.compile(rf"^[ \t]*['\"]?{re.escape(key)}['\"]?[ \t]*:", re.M).search(
        text, 0, body_start
    )
    spent = km.end() if km else body_start
    budget.meter.steps += spent
    if km is None:
        budget.left -= spent
        return 0, 0
    return km.start(), km.end()


def _parse_canvas(text: str, path: str, problems: list[Problem], meter: Meter) -> Note:
    links: list[Link] = []
    tags: list[str] = []
    try:
        doc = json.loads(text) if text.strip() else {}
    except ValueError as exc:
        line = getattr(exc, "lineno", None)
        problems.append(Problem("canvas", f"invalid JSON Canvas (line {line}): {exc}", line))
        doc = {}
    except RecursionError:  # arrays or objects nested past the interpreter's limit
        msg = "invalid JSON Canvas: nested too deeply to read (over 900 levels)"
        problems.append(Problem("canvas", msg, 1))
        doc = {}
    nodes = doc.get("nodes") if isinstance(doc, dict) else None
    cursor = 0
    lines = _Lines(text, meter)
    budget = _Budget(len(text), meter)
    for node in nodes if isinstance(nodes, list) else []:
        meter.steps += 1
        if not isinstance(node, dict):
            continue
        kind, value = node.get("type"), node.get(node.get("type") or "")
        if kind not in ("file", "text") or not isinstance(value, str) or not value:
            continue
        meter.steps += len(value)
        start, end = _find_json_string(text, value, cursor, budget)
        cursor = max(cursor, end)
        line = lines.of(start)
        if kind == "file":
            sub = node.get("subpath")
            sub = sub.lstrip("#") or None if isinstance(sub, str) else None
            links.append(Link(value, value, sub, None, "wikilink", start, end, line))
        else:
            scan = mdscan.scan_body(value, 0, 1)
            meter.steps += scan.steps
            links.extend(replace(lk, start=start, end=end, line=line) for lk in scan.links)
            tags.extend(scan.tags)
    return Note(path, text, 0, 1, {}, (), _dedupe(tags), tuple(links), (), (), (), tuple(problems))


def _find_json_string(text: str, value: str, cursor: int, budget: _Budget) -> tuple[int, int]:
    """Span of `value` as a JSON string body in the file, (0, 0) when it cannot be found."""
    for encoded in (json.dumps(value, ensure_ascii=False)[1:-1], json.dumps(value)[1:-1]):
        at = budget.find(text, encoded, cursor, len(text))
        if at < 0:
            at = budget.find(text, encoded, 0, len(text))
        if at >= 0:
            return at, at + len(encoded)
    return 0, 0
