"""`.pdf` sources: the text of every page, in order, with the offset where each page starts.

Extraction is pypdf's (pure Python, BSD; twelve times faster than pdfminer.six on a 100-page
document — docs/architecture.md, "Converters"). Pages are joined by a blank line;
`Converted.pages[n-1]` is where page n starts in `text`, so a cited span knows its page. A
page's lines are the PDF's visual lines (a PDF has no paragraphs to recover reliably); trailing
spaces and control characters are dropped, tabs become spaces, line ends are `\\n`.

`metadata` is the PDF's info dictionary, keys without the `/` (`Title`, `Author`,
`CreationDate`, `ModDate`, …), values as text; a `CreationDate`/`ModDate` that parses as a PDF
date (`D:20241008093000+01'00'`) is also given as ISO 8601 under `created` / `modified`. `title`
is the info `Title` when it has one.

Refused with a `SourceError` naming the file and the reason — never a partial text:

- not a PDF (no `%PDF-` header in the first KiB), or truncated (no `%%EOF` in the last KiB:
  pypdf's recovery would otherwise rebuild a prefix and silently drop the rest);
- encrypted with a user password: an empty user password (an "owner password only" file, which
  any viewer opens) is tried and, when it works, the file is read; otherwise it is refused;
- a file or page pypdf cannot read (any exception it raises, stack exhaustion included);
- no extractable text on any page (a scanned document: it needs OCR first);
- more than `MAX_PAGES` pages, `MAX_CHARS` characters of text or `MAX_CONTENT_BYTES` of
  decompressed page content.

Bounds on hostile files: the caller has already refused a file over `ingest.max_source_bytes`;
pypdf (7.1+) caps every decompressed stream (75 MB), the tokens parsed in one content stream
(2 million: ~4 s), the form XObjects one page may invoke, page-tree depth and size (cycles are
detected), and reads with `strict=False` (recovering from common damage instead of raising);
`MAX_CONTENT_BYTES` bounds the pages together (a 12 KB page of 2 million tiny operators would
otherwise cost 4 s, and a file of thousands of them hours). There is no wall-clock timeout, so
the result does not depend on the machine's speed; the work is bounded by these caps. pypdf's recovery
notes go to the `pypdf` logger, which gets a `NullHandler` here so they reach an application
that configures logging and never print to stderr by themselves.
"""

from __future__ import annotations

import io
import logging
import re
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from companion.convert.converted import Converted, Format
from companion.convert.text import lf
from companion.errors import SourceError

MAX_PAGES = 5_000
MAX_CHARS = 10_000_000
# Decompressed page content streams, all pages together: text extraction is pure Python at about
# 2 µs an operator, so this keeps the worst file under a minute. Dense text needs ~5 KB a page:
# a document within MAX_CHARS needs under half of it.
MAX_CONTENT_BYTES = 32_000_000
_PROBE = 1024  # where the header and the end marker must be, as PDF readers look for them
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_TRAILING = re.compile(r"[ \t]+$", re.M)
_PDF_DATE = re.compile(
    r"^(?:D:)?(\d{4})(\d{2})?(\d{2})?(\d{2})?(\d{2})?(\d{2})?\s*"
    r"(?:(Z)|([+-])(\d{2})'?(?:(\d{2})'?)?)?"
)


def _why(exc: BaseException) -> str:
    reason = str(exc).strip() or type(exc).__name__
    return reason if len(reason) <= 200 else reason[:199] + "…"


def pdf_date(raw: str) -> str | None:
    """A PDF date string (`D:YYYYMMDDHHmmSSOHH'mm'`, any tail omitted) as ISO 8601, or None."""
    m = _PDF_DATE.match(raw.strip())
    if m is None:
        return None
    year, month, day, hour, minute, second, utc, sign, tzh, tzm = m.groups()
    try:
        when = datetime(
            int(year),
            int(month or 1),
            int(day or 1),
            int(hour or 0),
            int(minute or 0),
            int(second or 0),
        )
        if utc:
            when = when.replace(tzinfo=UTC)
        elif sign:
            offset = timedelta(hours=int(tzh), minutes=int(tzm or 0))
            when = when.replace(tzinfo=timezone(-offset if sign == "-" else offset))
    except ValueError:  # month 13, hour 25, an offset of a day or more: not a date
        return None
    return when.isoformat()


def _metadata(reader: Any) -> dict[str, str]:
    try:
        info = reader.metadata
        items = list(info.items()) if info is not None else []
    except Exception:  # a broken info dictionary loses the metadata, not the text
        return {}
    out: dict[str, str] = {}
    for key, value in items:
        try:
            text = str(value.get_object() if hasattr(value, "get_object") else value)
        except Exception:
            continue
        out[str(key).lstrip("/")] = _CONTROL.sub("", text).strip()
    for raw_key, iso_key in (("CreationDate", "created"), ("ModDate", "modified")):
        iso = pdf_date(out.get(raw_key, ""))
        if iso is not None:
            out.setdefault(iso_key, iso)
    return out


def _open(data: bytes, name: str) -> Any:
    """A pypdf reader with the document decrypted when an empty password opens it."""
    import pypdf  # pure Python, ~80 ms to import: loaded only when a PDF is converted

    log = logging.getLogger("pypdf")
    if not any(isinstance(h, logging.NullHandler) for h in log.handlers):
        log.addHandler(logging.NullHandler())
    if b"%PDF-" not in data[:_PROBE]:
        raise SourceError(f"{name}: not a PDF (no %PDF- header at its start)")
    if b"%%EOF" not in data[-_PROBE:]:
        raise SourceError(f"{name}: truncated or damaged PDF (no %%EOF marker at its end)")
    try:
        reader = pypdf.PdfReader(io.BytesIO(data), strict=False)
        encrypted = reader.is_encrypted
    except Exception as exc:
        raise SourceError(f"{name}: damaged PDF, cannot be read ({_why(exc)})") from None
    if encrypted:
        try:
            opened = reader.decrypt("")
        except Exception as exc:
            raise SourceError(
                f"{name}: encrypted PDF that cannot be decrypted ({_why(exc)})"
            ) from None
        if opened == pypdf.PasswordType.NOT_DECRYPTED:
            raise SourceError(
                f"{name}: encrypted PDF that needs a password; save a copy without a password "
                "and ingest that"
            )
    return reader


def _content_bytes(page: Any) -> int:
    """The decompressed size of a page's content streams (pypdf caches what it decoded)."""
    contents = page.get("/Contents")
    if contents is None:
        return 0
    contents = contents.get_object()
    streams = contents if isinstance(contents, list) else [contents]
    return sum(len(stream.get_object().get_data()) for stream in streams)


def _pages(reader: Any, name: str) -> list[str]:
    try:
        count = len(reader.pages)
    except Exception as exc:
        raise SourceError(f"{name}: damaged PDF, its pages cannot be read ({_why(exc)})") from None
    if count == 0:
        raise SourceError(f"{name}: PDF has no pages")
    if count > MAX_PAGES:
        raise SourceError(f"{name}: PDF has {count:,} pages, more than the {MAX_PAGES:,} read")
    texts: list[str] = []
    total = content = 0
    for number in range(1, count + 1):
        try:
            page = reader.pages[number - 1]
            content += _content_bytes(page)
            if content > MAX_CONTENT_BYTES:
                raise SourceError(
                    f"{name}: PDF has more than {MAX_CONTENT_BYTES:,} bytes of page content "
                    f"(reached on page {number}): too much to read"
                )
            raw = page.extract_text()
        except SourceError:
            raise
        except Exception as exc:  # RecursionError and MemoryError included: one file, one error
            raise SourceError(f"{name}: page {number} cannot be read ({_why(exc)})") from None
        text = _TRAILING.sub("", _CONTROL.sub("", lf(raw or "").replace("\t", " "))).strip("\n")
        total += len(text)
        if total > MAX_CHARS:
            raise SourceError(f"{name}: PDF has more than {MAX_CHARS:,} characters of text")
        texts.append(text)
    if not any(t.strip() for t in texts):
        raise SourceError(
            f"{name}: PDF has no extractable text on any of its {count} pages "
            "(a scanned document? run OCR on it first)"
        )
    return texts


class PdfConverter:
    """PDF: page texts joined by a blank line, with page offsets (see the module docstring)."""

    format: Format = "pdf"
    suffixes: tuple[str, ...] = (".pdf",)

    def convert(self, data: bytes, name: str) -> Converted:
        reader = _open(data, name)
        texts = _pages(reader, name)
        metadata = _metadata(reader)
        starts: list[int] = []
        offset = 0
        for text in texts:
            starts.append(offset)
            offset += len(text) + 2  # the blank line after it
        return Converted(
            text="\n\n".join(texts) + "\n",
            format="pdf",
            metadata=metadata,
            title=metadata.get("Title") or None,
            pages=tuple(starts),
        )


CONVERTER = PdfConverter()
