"""`.md` / `.markdown` sources: the body as markdown, the YAML frontmatter as metadata.

The file is read exactly as the index reads a vault note — `companion.markdown.parse` — so the
frontmatter rules (a `---` line at the very top, a closing `---`, libyaml's safe loader, the
bounds on aliases, depth and numbers that make hostile YAML cheap) are the vault's, not a second
copy of them. Only decoding is stricter: `text.decode` refuses invalid UTF-8 instead of
replacing it, since the text will be quoted.

- Frontmatter that parses to a mapping goes to `metadata` (dates as `datetime.date` objects, as
  YAML gives them) and is removed from `text`, with the blank lines after it.
- Frontmatter that is malformed, or not a mapping, is not frontmatter we understand: the whole
  file is kept as `text`, `metadata` is empty — nothing of the person's text is lost.
- `title`: the frontmatter `title` when it is text (or a number), else the first `# H1` of the
  body (code blocks excluded: the scanner knows fences), else None.
"""

from __future__ import annotations

from typing import Any

from companion.convert.converted import Converted, Format
from companion.convert.text import decode, lf

# Problems that mean the frontmatter was not understood (malformed YAML, not a mapping, a
# bound exceeded, or a failure the parser caught): then the file is text from its first byte.
_UNREAD_FRONTMATTER = frozenset({"yaml", "parse"})


def _title(props: dict[str, Any], headings: Any) -> str | None:
    value = props.get("title")
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        value = str(value)
    if isinstance(value, str) and value.strip():
        return value.strip()
    for heading in headings:
        if heading.level == 1 and heading.text.strip():
            return str(heading.text).strip()
    return None


class MarkdownConverter:
    """Markdown: frontmatter to metadata, body kept as it is (line ends made `\\n`)."""

    format: Format = "markdown"
    suffixes: tuple[str, ...] = (".md", ".markdown")

    def convert(self, data: bytes, name: str) -> Converted:
        from companion.markdown.parse import parse_note  # PyYAML: loaded only when used

        text = decode(data, name)
        note = parse_note(text.encode("utf-8"), name)
        if any(p.code in _UNREAD_FRONTMATTER for p in note.problems):
            return Converted(text=lf(note.text), format="markdown", title=_title({}, note.headings))
        body = lf(note.text[note.body_start :])
        if note.body_start:
            body = body.lstrip("\n")
        props = dict(note.properties)
        return Converted(
            text=body, format="markdown", metadata=props, title=_title(props, note.headings)
        )


CONVERTER = MarkdownConverter()
