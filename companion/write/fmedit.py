"""Surgical frontmatter edits: change one value, keep every other byte.

Never round-trip a user's note through a YAML dumper (obsidian-rules.md §3): it re-orders keys,
re-quotes, re-indents and drops the trailing newline. These functions find the one top-level
`key: value` line and replace only the value, keeping the key's spelling, the spacing after the
colon, any trailing comment, the newline style (LF or CRLF) and everything else. A missing key is
appended as the last line of the block; a note without frontmatter gets a minimal block on top.
"""

from __future__ import annotations

import json
import re
from typing import Any

_OPEN = re.compile(r"\A(\ufeff?)---[ \t]*(\r?\n)")
_SIMPLE_SCALAR = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_ .:/@+-]*$")
_NUMBER_LIKE = re.compile(r"[-+]?\d[\d_.eE+-]*")
_YAML_WORDS = {"true", "false", "yes", "no", "on", "off", "null", "~", ""}


class FrontmatterEditError(ValueError):
    """The frontmatter cannot be edited surgically (e.g. the key holds a nested block)."""


def _block(text: str) -> tuple[int, int, str] | None:
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


def format_value(value: Any) -> str:
    """A YAML scalar for `value`, quoted only when plain YAML would read it differently."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    text = str(value)
    plain = _SIMPLE_SCALAR.match(text) and text.lower() not in _YAML_WORDS and ": " not in text
    if plain and not _NUMBER_LIKE.fullmatch(text):  # a plain `12` would be read as a number
        return text
    return json.dumps(text, ensure_ascii=False)


def set_value(text: str, key: str, value: Any) -> str:
    """`text` with the top-level frontmatter `key` set to `value`, all other bytes unchanged."""
    rendered = format_value(value)
    block = _block(text)
    if block is None:
        newline = "\r\n" if "\r\n" in text[:1000] else "\n"
        bom = "\ufeff" if text.startswith("\ufeff") else ""
        return f"{bom}---{newline}{key}: {rendered}{newline}---{newline}{text[len(bom) :]}"
    start, close, newline = block
    line_re = re.compile(
        rf"^{re.escape(key)}[ \t]*:(?P<gap>[ \t]*)(?P<value>[^\r\n]*?)"
        r"(?P<comment>[ \t]+#[^\r\n]*)?(?=\r?$)",
        re.M,
    )
    region = text[start:close]
    match = line_re.search(region)
    if match is None:
        return f"{text[:close]}{key}: {rendered}{newline}{text[close:]}"
    if match.group("value") == "" or match.group("value").startswith(("|", ">")):
        following = region[match.end() :].lstrip("\r\n")
        if following.startswith((" ", "\t", "-")):
            raise FrontmatterEditError(
                f"`{key}` holds a nested value; it cannot be edited in place"
            )
    if match.group("value") == "":
        # `key:` with nothing after it: put the value after the colon, one space apart.
        insert_at = start + match.end("gap")
        gap = "" if match.group("gap") else " "
        return f"{text[:insert_at]}{gap}{rendered}{text[insert_at:]}"
    return f"{text[: start + match.start('value')]}{rendered}{text[start + match.end('value') :]}"
