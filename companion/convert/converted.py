"""A source as text: what a converter makes of a raw file's bytes, and what every span an ingest
synthesizer reports indexes into (`(start, end)` offsets into `Converted.text`), so a citation can
always be checked against the very text it claims to come from."""

from __future__ import annotations

import bisect
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

Format = Literal["markdown", "text", "html", "pdf"]


@dataclass(frozen=True, slots=True)
class Converted:
    """A source as text. `text` is what spans index into: markdown-flavoured plain text (headings
    as `#` lines, list items as `- `, tables as markdown tables), one `\\n` per line end.
    `pages`: the offset in `text` where each PDF page starts (page n is `pages[n-1]`), `()` for a
    format without pages. `metadata`: the source's own properties (markdown frontmatter, HTML
    `<meta>`, PDF info), values as parsed. `title`: the source's own title when it states one."""

    text: str
    format: Format
    metadata: Mapping[str, Any] = field(default_factory=dict)
    title: str | None = None
    pages: tuple[int, ...] = ()

    def page_at(self, offset: int) -> int | None:
        """The 1-based page holding `offset`, or None for a source without pages."""
        if not self.pages:
            return None
        return max(1, bisect.bisect_right(self.pages, offset))
