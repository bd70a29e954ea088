"""Text copied from a source arrives on a page as plain words, never as Obsidian syntax.

A source is data, not instructions — and not markup either: a sentence quoted from it must not
create a link (`[[CONFLICT]]` would enrol the page in the review queue), an embed, a comment that
hides the rest of the page (`%%`), a block id, a callout, a heading, a tag or raw HTML on the page
it is copied to. `neutralise` turns one unit of source text (a sentence, list item or table row,
possibly spread over several lines) into one safe line:

- wikilinks and embeds become their shown text: `[[a#b|shown]]` -> `shown`, `[[Note]]` -> `Note`,
  `![[x.png]]` -> `x.png`; any bracket pair left over is halved (`[[` -> `[`);
- markdown links keep their text: `[text](target)` -> `text` (an `http(s)` target is kept after it
  in parentheses, so a URL is not lost);
- `%%` (comment markers) are removed; a `^block-id` (a `^` word after a space) is removed;
- a leading list marker, task box, heading `#`s, blockquote `>` and callout `[!type]` are removed;
- HTML comments, `<script>`/`<style>` elements with their content, and every other tag are removed
  (text between ordinary tags is kept);
- a `$` is escaped (`\\$`: `$...$` would be maths); a `#` that would start a tag is escaped
  (`\\#urgent`), and so is a leading character that would
  make the line a list, heading, quote, table or thematic break when placed after `- `;
- whitespace runs (newlines included) collapse to one space.

Numbers, units, code spans and punctuation are kept exactly: SYSTEM.md §11 wants numbers as the
source gives them. The result never contains `[[`, `]]`, `%%` or a newline.
"""

from __future__ import annotations

import re

_WIKILINK = re.compile(r"!?\[\[([^\[\]\n]*?)\]\]")
_MDLINK = re.compile(r"!?\[([^\[\]\n]*)\]\(([^()\s]*)\)")
_HTML_COMMENT = re.compile(r"<!--.*?(?:-->|$)", re.S)
_HTML_TAG = re.compile(r"</?[A-Za-z][A-Za-z0-9-]*(?:\s[^<>]*)?/?>")
_BLOCK_ID = re.compile(r"(?:^|\s+)\^[A-Za-z0-9-]+(?=\s|$)")
_SCRIPT = re.compile(r"<(script|style|noscript|template)\b[^>]*>.*?(?:</\1\s*>|$)", re.S | re.I)
_LEAD = re.compile(
    r"^(?:\s*(?:>\s*)+|\s*#{1,6}(?=\s)|\s*[-*+](?=\s)|\s*\d{1,9}[.)](?=\s)|\s*\[![^\]]*\][+-]?|\s*\[[ xX]\](?=\s))+"
)
_TAG = re.compile(r"(^|(?<=[\s(,;:]))#(?=[^\s#\d.,;:!?()\[\]{}'\"`])")
_SPACE = re.compile(r"\s+")
# What must not start the line after "- ": it would turn the bullet into something else.
_RISKY_START = re.compile(r"^(?:[-*+](?:\s|$)|>|#{1,6}(?:\s|$)|`{3,}|~{3,}|\d{1,9}[.)](?:\s|$))")


def _shown(match: re.Match[str]) -> str:
    inner = match.group(1)
    target, _, shown = inner.partition("|")
    if shown.strip():
        return shown
    return target.partition("#")[0] or target.lstrip("#^")


def _md_link(match: re.Match[str]) -> str:
    text, target = match.group(1), match.group(2)
    if re.match(r"https?://", target):
        return f"{text} ({target})" if text.strip() else target
    return text


def neutralise(text: str) -> str:
    """One unit of source text as one safe line (see the module docstring)."""
    out = _SCRIPT.sub(" ", text)
    out = _HTML_COMMENT.sub(" ", out)
    out = _HTML_TAG.sub(" ", out)
    lines = [_LEAD.sub("", line) for line in out.split("\n")]
    out = " ".join(lines)
    out = _WIKILINK.sub(_shown, out)
    out = _MDLINK.sub(_md_link, out)
    while "[[" in out or "]]" in out:
        out = out.replace("[[", "[").replace("]]", "]")
    while "%%" in out:
        out = out.replace("%%", "%")
    out = _SPACE.sub(" ", out).strip()
    out = _BLOCK_ID.sub("", out)
    out = _LEAD.sub("", out).strip()
    out = _TAG.sub(r"\\#", out)
    out = out.replace("$", "\\$")  # `$...$` and `$$` are maths in Obsidian
    if _RISKY_START.match(out):
        out = "\\" + out
    return out
