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
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import replace
from typing import Any

import yaml

from companion.markdown import scan as mdscan
from companion.markdown.note import Link, Note, Problem

# libyaml when present (speed); the pure-Python loader parses the same documents.
_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_FM_OPEN = re.compile(r"---[ \t]*\r?\n")
_FM_CLOSE = re.compile(r"^---[ \t]*(?:\r?\n|\Z)", re.M)
_TAG_SPLIT = re.compile(r"[,\s]+")
_MAX_DEPTH = 32  # YAML anchors can build self-referencing lists; stop walking there


def parse_note(data: bytes, path: str) -> Note:
    """Parse one vault file (`path` is vault-relative POSIX) into a `Note`."""
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
    if path.lower().endswith(".canvas"):
        return _parse_canvas(text, path, problems)

    props: dict[str, Any] = {}
    body_start = 0
    fm = _split_frontmatter(text)
    if fm is not None:
        yaml_src, body_start = fm
        props = _load_yaml(yaml_src, problems)
    body_line = text.count("\n", 0, body_start) + 1 if body_start else 1

    scan = mdscan.scan_body(text, body_start, body_line)
    aliases = _strings(props.get("aliases")) + _strings(props.get("alias"))
    fm_tags = [
        t.lstrip("#")
        for raw in _strings(props.get("tags")) + _strings(props.get("tag"))
        for t in _TAG_SPLIT.split(raw)
    ]
    links = _property_links(props, text, body_start) if props else []
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


def _load_yaml(src: str, problems: list[Problem]) -> dict[str, Any]:
    """The frontmatter mapping; {} plus a Problem when it is malformed or not a mapping."""
    if not src.strip():
        return {}
    try:
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
        return _yaml_problem(problems, 2, f"top level is a {type(value).__name__}, not a mapping")
    return {str(k): v for k, v in value.items()}


def _json_fallback(src: str) -> Any:
    """JSON frontmatter that YAML refuses (tab-indented JSON is common); None if not JSON either."""
    if not src.lstrip().startswith("{"):
        return None
    try:
        return json.loads(src)
    except ValueError:
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


def _property_links(props: dict[str, Any], text: str, body_start: int) -> list[Link]:
    links: list[Link] = []
    cursor = 0  # values are walked in document order, so successive finds move forward
    for key, value in props.items():
        for s in _walk_strings(value):
            if "[" not in s:
                continue
            found = whole_value_link(s)
            if found is None:
                continue
            raw, path, sub, display = found
            start = text.find(raw, cursor, body_start)
            end = start + len(raw)
            if start < 0:  # written with YAML escapes: point at the key instead
                km = re.search(
                    rf"^[ \t]*['\"]?{re.escape(key)}['\"]?[ \t]*:", text[:body_start], re.M
                )
                start, end = (km.start(), km.end()) if km else (0, 0)
            else:
                cursor = end
            line = text.count("\n", 0, start) + 1
            links.append(Link(raw, path, sub, display, "frontmatter", start, end, line, key))
    return links


def _parse_canvas(text: str, path: str, problems: list[Problem]) -> Note:
    links: list[Link] = []
    tags: list[str] = []
    try:
        doc = json.loads(text) if text.strip() else {}
    except ValueError as exc:
        line = getattr(exc, "lineno", None)
        problems.append(Problem("canvas", f"invalid JSON Canvas (line {line}): {exc}", line))
        doc = {}
    nodes = doc.get("nodes") if isinstance(doc, dict) else None
    cursor = 0
    for node in nodes if isinstance(nodes, list) else []:
        if not isinstance(node, dict):
            continue
        kind, value = node.get("type"), node.get(node.get("type") or "")
        if kind not in ("file", "text") or not isinstance(value, str) or not value:
            continue
        start, end = _find_json_string(text, value, cursor)
        cursor = max(cursor, end)
        line = text.count("\n", 0, start) + 1
        if kind == "file":
            sub = node.get("subpath")
            sub = sub.lstrip("#") or None if isinstance(sub, str) else None
            links.append(Link(value, value, sub, None, "wikilink", start, end, line))
        else:
            scan = mdscan.scan_body(value, 0, 1)
            links.extend(replace(lk, start=start, end=end, line=line) for lk in scan.links)
            tags.extend(scan.tags)
    return Note(path, text, 0, 1, {}, (), _dedupe(tags), tuple(links), (), (), (), tuple(problems))


def _find_json_string(text: str, value: str, cursor: int) -> tuple[int, int]:
    """Span of `value` as a JSON string body in the file, (0, 0) when it cannot be found."""
    for encoded in (json.dumps(value, ensure_ascii=False)[1:-1], json.dumps(value)[1:-1]):
        at = text.find(encoded, cursor)
        if at < 0:
            at = text.find(encoded)
        if at >= 0:
            return at, at + len(encoded)
    return 0, 0
