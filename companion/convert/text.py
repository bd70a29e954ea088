"""`.txt` sources: the text as it is, with one `\\n` per line end — and the decoding rules every
text-based format (markdown, HTML) shares.

Decoding is strict and honest, never a guess: a source is cited span by span, so a byte we
mis-read would be quoted wrongly on a page. The rules, in order:

- a UTF-16 byte order mark means UTF-16 (Windows Notepad's "Unicode"); a UTF-8 one is stripped;
- a NUL byte in a file without a UTF-16 mark means binary: `SourceError` "looks binary";
- otherwise the bytes must be UTF-8: the first invalid byte is a `SourceError` naming its offset
  (no replacement characters, no cp1252 fallback: a wrong guess would corrupt every quote).

HTML may declare another charset; `html.py` decodes with that and only then uses `lf`.

`lf` turns every line end Python's `str.splitlines` knows (CRLF, CR, VT, FF, the information
separators, NEL, U+2028/9) into `\\n`, so `text.split("\\n")` and `text.splitlines()` agree on
every converter's output, and an offset into `Converted.text` means the same line everywhere.
"""

from __future__ import annotations

import codecs
import re

from companion.convert.converted import Converted, Format
from companion.errors import SourceError

_LINE_ENDS = re.compile("\r\n|[\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]")
_BINARY_PROBE = 8192  # NULs are looked for in the first 8 KiB, where a binary header sits


def lf(text: str) -> str:
    """`text` with every line end as `\\n` (see the module docstring)."""
    return _LINE_ENDS.sub("\n", text)


def decode(data: bytes, name: str, encoding: str = "utf-8") -> str:
    """The text of `data`, decoded as the module docstring says (`encoding` instead of UTF-8
    when the format declares one: an HTML `<meta charset>`); `SourceError` naming `name` and
    the byte when it is binary or not valid. A byte order mark wins over `encoding`. Line ends
    are left as they are."""
    skip = 0  # bytes of a UTF-8 byte order mark, so an error's offset is the file's
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        encoding = "utf-16"  # the codec reads the mark and drops it
    elif data.startswith(codecs.BOM_UTF8):
        encoding, skip = "utf-8", len(codecs.BOM_UTF8)
    else:
        nul = data.find(b"\x00", 0, _BINARY_PROBE)
        if nul >= 0:
            raise SourceError(f"{name}: looks binary (NUL byte at byte {nul}), not a text file")
    try:
        text = data[skip:].decode(encoding)
    except UnicodeDecodeError as exc:
        label = "UTF-8" if codecs.lookup(encoding).name == "utf-8" else encoding
        hint = "; save it as UTF-8 and ingest it again" if label == "UTF-8" else ""
        raise SourceError(f"{name}: not valid {label} at byte {skip + exc.start}{hint}") from None
    nul_char = text.find("\x00")
    if nul_char >= 0:
        raise SourceError(
            f"{name}: looks binary (NUL character at character {nul_char}), not a text file"
        )
    return text


class TextConverter:
    """Plain text: decoded, line ends made `\\n`, nothing else changed."""

    format: Format = "text"
    suffixes: tuple[str, ...] = (".txt",)

    def convert(self, data: bytes, name: str) -> Converted:
        return Converted(text=lf(decode(data, name)), format="text")


CONVERTER = TextConverter()
