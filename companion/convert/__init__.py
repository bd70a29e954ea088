"""Raw source bytes -> `Converted`: one converter per format, chosen by the file's suffix.

Each format is a module (`markdown`, `text`, `html`, `pdf`) holding one `Converter`; `CONVERTERS`
maps every suffix (lowercase, with its dot) to it. `convert` is the one entry point:

1. `check_suffix`: a suffix no converter handles is `UnsupportedFormat`, and so is one that
   SYSTEM.md's `ingest.formats` leaves out, when the caller passes that allowlist;
2. an empty file is a `SourceError` ("is empty") whatever its format;
3. the converter decodes and converts (its own `SourceError`s: binary, invalid UTF-8, damaged
   or encrypted PDF, ...);
4. a result with no text but whitespace is a `SourceError` ("has no text").

Importing this package loads only the standard library: each converter imports its parser
(PyYAML, selectolax, pypdf) inside `convert`, so the CLI's fast paths never pay for them.
Conversion is deterministic — same bytes, same `Converted` — and every `text` has `\\n` line
ends only.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from pathlib import PurePosixPath
from typing import Protocol

from companion.convert import html, markdown, pdf, text
from companion.convert.converted import Converted, Format
from companion.errors import SourceError, UnsupportedFormat


class Converter(Protocol):
    """Turns one format's bytes into `Converted`; raises `SourceError` naming `name` (the
    source's vault path, used only in messages) when the bytes cannot be converted."""

    format: Format
    suffixes: tuple[str, ...]  # lowercase, with the dot

    def convert(self, data: bytes, name: str) -> Converted: ...


_ALL: tuple[Converter, ...] = (
    markdown.CONVERTER,
    text.CONVERTER,
    html.CONVERTER,
    pdf.CONVERTER,
)
CONVERTERS: Mapping[str, Converter] = {s: c for c in _ALL for s in c.suffixes}
SUPPORTED_SUFFIXES: tuple[str, ...] = tuple(CONVERTERS)


def suffix_of(name: str) -> str:
    """The suffix a converter is chosen by: the last one, lowercase, with its dot ('' if none)."""
    return PurePosixPath(name).suffix.lower()


def _normal(suffix: str) -> str:
    suffix = suffix.strip().lower()
    return suffix if suffix.startswith(".") else "." + suffix


def check_suffix(name: str, allowed: Collection[str] | None = None) -> None:
    """Raise `UnsupportedFormat` unless some converter handles `name`'s suffix and `allowed`
    (SYSTEM.md's `ingest.formats`: suffixes with or without the dot, any case), when given,
    includes it."""
    suffix = suffix_of(name)
    if suffix not in CONVERTERS:
        shown = f"'{suffix}'" if suffix else "(the file has no suffix)"
        supported = ", ".join(sorted(CONVERTERS))
        raise UnsupportedFormat(f"{name}: unsupported format {shown}; supported are {supported}")
    if allowed is not None:
        allowlist = sorted({_normal(s) for s in allowed})
        if suffix not in allowlist:
            listed = ", ".join(allowlist) if allowlist else "empty"
            raise UnsupportedFormat(
                f"{name}: format '{suffix}' is not in SYSTEM.md's ingest.formats ({listed})"
            )


def convert(name: str, data: bytes, *, allowed: Collection[str] | None = None) -> Converted:
    """The source `name` (its vault path) with bytes `data`, as text (module docstring);
    `allowed` is passed to `check_suffix`."""
    check_suffix(name, allowed)
    if not data:
        raise SourceError(f"{name}: is empty (0 bytes); nothing to ingest")
    result = CONVERTERS[suffix_of(name)].convert(data, name)
    if not result.text.strip():
        raise SourceError(
            f"{name}: has no text to ingest (nothing but whitespace, markup or frontmatter)"
        )
    return result
