"""Converters: real files of every format (PDFs built byte by byte here, with a correct xref, so
the reader is not tested against its own writer) -> `Converted`, and every way a source can be
unreadable -> a `SourceError` naming the file and the reason."""

from __future__ import annotations

import io
import shutil
import subprocess
import sys
import zlib
from collections.abc import Mapping, Sequence
from datetime import date
from pathlib import Path

import pytest

from companion.convert import (
    CONVERTERS,
    SUPPORTED_SUFFIXES,
    check_suffix,
    convert,
    pdf,
)
from companion.convert.pdf import pdf_date
from companion.errors import SourceError, UnsupportedFormat
from companion.ingest.result import Converted
from tests.helpers import REPO, SHARED_DATA

SHARED_SOURCES = SHARED_DATA / "conflicts-dev" / "sources"


def convert_file(path: Path) -> Converted:
    """Convert a real file the way ingest does: its bytes and its name."""
    return convert(path.name, path.read_bytes())


def write(tmp_path: Path, name: str, content: str | bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
    return path


# -- PDF files, built by hand ------------------------------------------------------------------


def _pdf_string(text: str) -> str:
    return "(" + text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)") + ")"


def assemble_pdf(objects: Sequence[bytes], *, info: int | None = None) -> bytes:
    """A PDF file of `objects` (object n is `objects[n-1]`, object 1 the catalog), with a
    cross-reference table whose byte offsets are exact."""
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    trailer = b"<< /Size %d /Root 1 0 R" % (len(objects) + 1)
    if info is not None:
        trailer += b" /Info %d 0 R" % info
    out += b"trailer\n" + trailer + b" >>\nstartxref\n%d\n%%%%EOF\n" % xref
    return bytes(out)


def make_pdf(
    pages: Sequence[Sequence[str] | None],
    *,
    info: Mapping[str, str] | None = None,
    compress: bool = False,
) -> bytes:
    """A PDF with one page per item: its lines of text in Helvetica, or (None) a drawing and no
    text at all, as a scanned page has."""
    kids = " ".join(f"{4 + 2 * n} 0 R" for n in range(len(pages)))
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        f"<< /Type /Pages /Kids [{kids}] /Count {len(pages)} >>".encode(),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
    ]
    for n, lines in enumerate(pages):
        if lines is None:
            content = "0.5 g 72 72 468 648 re f"
        else:
            shown = " ".join(f"{_pdf_string(line)} Tj T*" for line in lines)
            content = f"BT /F1 12 Tf 14 TL 72 720 Td {shown} ET"
        stream = content.encode("cp1252")
        extra = b""
        if compress:
            stream, extra = zlib.compress(stream), b" /Filter /FlateDecode"
        objects.append(
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
            b"/Resources << /Font << /F1 3 0 R >> >> /Contents %d 0 R >>" % (5 + 2 * n)
        )
        objects.append(
            b"<< /Length %d%s >>\nstream\n" % (len(stream), extra) + stream + b"\nendstream"
        )
    info_number = None
    if info:
        entries = " ".join(f"/{key} {_pdf_string(value)}" for key, value in info.items())
        objects.append(f"<< {entries} >>".encode("latin-1"))
        info_number = len(objects)
    return assemble_pdf(objects, info=info_number)


def encrypt_pdf(data: bytes, user_password: str) -> bytes:
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(data)))
    writer.encrypt(user_password=user_password, owner_password="owner-only", algorithm="AES-128")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


THREE_PAGES = [
    ["Ledger Service overview", "The ledger keeps every posting for seven years."],
    ["Replication", "Replicas lag by at most 5 seconds (p99)."],
    ["Contacts", "Owner: Alice Chen (payments)."],
]


# -- the registry and suffixes -----------------------------------------------------------------


def test_every_supported_suffix_has_a_converter_of_its_format() -> None:
    assert set(SUPPORTED_SUFFIXES) == {".md", ".markdown", ".txt", ".html", ".htm", ".pdf"}
    formats = {suffix: CONVERTERS[suffix].format for suffix in SUPPORTED_SUFFIXES}
    assert formats == {
        ".md": "markdown",
        ".markdown": "markdown",
        ".txt": "text",
        ".html": "html",
        ".htm": "html",
        ".pdf": "pdf",
    }


def test_an_unsupported_suffix_is_refused_with_the_supported_list(tmp_path: Path) -> None:
    path = write(tmp_path, "minutes.docx", b"PK\x03\x04 not really a document")
    with pytest.raises(UnsupportedFormat) as err:
        convert_file(path)
    assert str(err.value) == (
        "minutes.docx: unsupported format '.docx'; "
        "supported are .htm, .html, .markdown, .md, .pdf, .txt"
    )


def test_a_file_without_a_suffix_is_refused_saying_so() -> None:
    with pytest.raises(UnsupportedFormat, match=r"^sources/README: unsupported format \(the file"):
        check_suffix("sources/README")


def test_a_supported_suffix_left_out_of_ingest_formats_is_refused() -> None:
    with pytest.raises(UnsupportedFormat) as err:
        check_suffix("sources/spec.pdf", ["md", ".TXT"])
    assert str(err.value) == (
        "sources/spec.pdf: format '.pdf' is not in SYSTEM.md's ingest.formats (.md, .txt)"
    )
    check_suffix("sources/spec.PDF", ["pdf"])  # case and the dot do not matter
    with pytest.raises(UnsupportedFormat, match=r"not in SYSTEM\.md's ingest\.formats"):
        convert("notes.txt", b"hello", allowed=["md"])


def test_suffixes_match_whatever_their_case(tmp_path: Path) -> None:
    path = write(tmp_path, "NOTES.TXT", "plain words\n")
    assert convert_file(path) == Converted("plain words\n", "text")


def test_importing_the_converters_loads_no_parser() -> None:
    code = (
        "import sys, companion.convert, companion.ingest.dates; "
        "print(sorted(m for m in ('yaml', 'selectolax', 'pypdf', 'cryptography') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]"


@pytest.mark.parametrize("suffix", [".md", ".markdown", ".txt", ".html", ".htm", ".pdf"])
def test_an_empty_file_of_any_format_is_a_clear_error(tmp_path: Path, suffix: str) -> None:
    path = write(tmp_path, f"empty{suffix}", b"")
    with pytest.raises(SourceError, match=rf"^empty{suffix}: is empty \(0 bytes\)"):
        convert_file(path)


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("blank.txt", " \n\t\n"),
        ("only-frontmatter.md", "---\ntitle: x\n---\n\n"),
        ("bare.html", "<p> </p>"),
    ],
)
def test_a_file_with_no_text_is_a_clear_error(tmp_path: Path, name: str, content: str) -> None:
    with pytest.raises(SourceError, match=rf"^{name}: has no text to ingest"):
        convert_file(write(tmp_path, name, content))


# -- text ---------------------------------------------------------------------------------------


def test_text_is_kept_as_it_is_with_every_line_end_made_lf(tmp_path: Path) -> None:
    path = write(tmp_path, "spec.txt", b"a  b\t\r\nc\rd\ne\x0cf\xe2\x80\xa8g")
    result = convert_file(path)
    assert result.text == "a  b\t\nc\nd\ne\nf\ng"
    assert result.text.splitlines() == result.text.split("\n")
    assert (result.format, result.title, result.pages, dict(result.metadata)) == (
        "text",
        None,
        (),
        {},
    )


def test_a_byte_order_mark_is_read_and_dropped(tmp_path: Path) -> None:
    utf8 = write(tmp_path, "bom8.txt", b"\xef\xbb\xbfcaf\xc3\xa9\r\n")
    utf16 = write(tmp_path, "bom16.txt", "café\r\nnaïve".encode("utf-16"))  # BOM + UTF-16
    assert convert_file(utf8).text == "café\n"
    assert convert_file(utf16).text == "café\nnaïve"


@pytest.mark.parametrize("name", ["notes.txt", "notes.md"])
def test_invalid_utf8_is_refused_naming_the_byte(tmp_path: Path, name: str) -> None:
    path = write(tmp_path, name, b"price: 5\x80 euros")
    with pytest.raises(SourceError) as err:
        convert_file(path)
    assert str(err.value) == (
        f"{name}: not valid UTF-8 at byte 8; save it as UTF-8 and ingest it again"
    )


def test_binary_content_in_a_text_file_is_refused(tmp_path: Path) -> None:
    png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256))
    with pytest.raises(SourceError, match=r"^diagram\.txt: looks binary \(NUL byte at byte 8\)"):
        convert_file(write(tmp_path, "diagram.txt", png))
    late_nul = b"x" * 10_000 + b"\x00"  # past the probe: found after decoding
    with pytest.raises(SourceError, match="looks binary"):
        convert_file(write(tmp_path, "late.txt", late_nul))


# -- markdown -----------------------------------------------------------------------------------


def test_markdown_frontmatter_becomes_metadata_and_leaves_the_text(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "review.md",
        "---\r\ntitle: Q3 architecture review\r\ndate: 2024-10-08\r\ntags: [arch]\r\n---\r\n\r\n"
        "# Heading one\r\n\r\nThe body, **as markdown**.\r\n",
    )
    result = convert_file(path)
    assert result.text == "# Heading one\n\nThe body, **as markdown**.\n"
    assert dict(result.metadata) == {
        "title": "Q3 architecture review",
        "date": date(2024, 10, 8),
        "tags": ["arch"],
    }
    assert (result.title, result.format) == ("Q3 architecture review", "markdown")


def test_markdown_title_is_the_first_h1_outside_code(tmp_path: Path) -> None:
    text = "```\n# not a heading\n```\n\n## Second level\n\n# Ledger sync meeting\n\n# Later\n"
    result = convert_file(write(tmp_path, "meeting.markdown", text))
    assert result.title == "Ledger sync meeting"
    assert result.text == text
    assert convert_file(write(tmp_path, "none.md", "just words\n")).title is None


@pytest.mark.parametrize(
    "frontmatter",
    [
        "---\ntitle: [unclosed\n---\n",  # malformed YAML
        "---\n- a list\n- not a mapping\n---\n",  # YAML, but not frontmatter we understand
    ],
)
def test_markdown_with_unreadable_frontmatter_keeps_the_whole_file(
    tmp_path: Path, frontmatter: str
) -> None:
    text = frontmatter + "\n# Title\n\nBody.\n"
    result = convert_file(write(tmp_path, "odd.md", text))
    assert result.text == text
    assert dict(result.metadata) == {}
    assert result.title == "Title"


def test_markdown_with_an_unclosed_frontmatter_fence_is_all_text(tmp_path: Path) -> None:
    text = "---\ntitle: x\n\nno closing fence, so this is body text\n"
    result = convert_file(write(tmp_path, "open.md", text))
    assert (result.text, dict(result.metadata)) == (text, {})


# -- HTML ---------------------------------------------------------------------------------------

PAGE = """<!DOCTYPE html>
<html><head>
<meta charset="utf-8">
<meta name="date" content="2024-10-08">
<meta name="Author" content="Alice Chen">
<meta property="og:description" content="Overview">
<title>Ledger  Service
 overview</title>
<style>body { color: STYLE_LEAK }</style>
<script>var leak = "SCRIPT_LEAK";</script>
</head>
<body>
<header>HEADER_LEAK site banner</header>
<nav><a href="/">NAV_LEAK home</a></nav>
<h1>Ledger <em>Service</em></h1>
<p>The ledger   keeps
every posting.<br>Second line of the paragraph.</p>
<!-- COMMENT_LEAK -->
<noscript>NOSCRIPT_LEAK</noscript>
<template><p>TEMPLATE_LEAK</p></template>
<form><label>FORM_LEAK</label><input value="INPUT_LEAK"></form>
<aside>ASIDE_LEAK related links</aside>
<div hidden>HIDDEN_LEAK</div><span aria-hidden="true">ARIA_LEAK</span>
<h2>Limits</h2>
<ul>
  <li>Retries: <b>3</b></li>
  <li>Timeouts<ul><li>connect 2 s</li><li>read 5 s</li></ul></li>
</ul>
<table>
  <caption>Replicas</caption>
  <thead><tr><th>Region</th><th>Lag | p99</th><th>Notes</th></tr></thead>
  <tbody>
    <tr><td>eu-west</td><td>5 s</td><td>two
    lines</td></tr>
    <tr><td colspan="2">all regions</td><td>none</td></tr>
    <tr><td>us-east</td></tr>
  </tbody>
</table>
<pre>  code   keeps
    its spaces</pre>
<blockquote><p>Quoted words.</p></blockquote>
<footer>FOOTER_LEAK copyright</footer>
</body></html>
"""


def test_html_keeps_the_main_text_with_its_structure(tmp_path: Path) -> None:
    result = convert_file(write(tmp_path, "ledger.html", PAGE))
    assert result.text == (
        "# Ledger Service\n"
        "\n"
        "The ledger keeps every posting.\n"
        "Second line of the paragraph.\n"
        "\n"
        "## Limits\n"
        "\n"
        "- Retries: 3\n"
        "- Timeouts\n"
        "  - connect 2 s\n"
        "  - read 5 s\n"
        "\n"
        "Replicas\n"
        "| Region | Lag \\| p99 | Notes |\n"
        "| --- | --- | --- |\n"
        "| eu-west | 5 s | two lines |\n"
        "| all regions |  | none |\n"
        "| us-east |  |  |\n"
        "\n"
        "```\n"
        "  code   keeps\n"
        "    its spaces\n"
        "```\n"
        "\n"
        "> Quoted words.\n"
    )
    assert result.title == "Ledger Service overview"
    assert dict(result.metadata) == {
        "date": "2024-10-08",
        "author": "Alice Chen",
        "og:description": "Overview",
    }


def test_html_leaves_out_what_is_not_the_pages_text(tmp_path: Path) -> None:
    text = convert_file(write(tmp_path, "ledger.htm", PAGE)).text
    leaks = [word for word in PAGE.split() if "_LEAK" in word and word.strip("\"';<>/") in text]
    assert leaks == []
    assert "LEAK" not in text


def test_html_reads_only_main_when_the_page_has_one(tmp_path: Path) -> None:
    page = "<body><div>sidebar words</div><main><p>Main words.</p></main><div>more</div></body>"
    assert convert_file(write(tmp_path, "m.html", page)).text == "Main words.\n"
    empty_main = "<body><main> </main><p>Body words.</p></body>"
    assert convert_file(write(tmp_path, "e.html", empty_main)).text == "Body words.\n"


def test_html_title_falls_back_to_the_first_h1(tmp_path: Path) -> None:
    result = convert_file(write(tmp_path, "t.html", "<h1>Rate <i>limits</i></h1><p>x</p>"))
    assert result.title == "Rate limits"
    assert result.text == "# Rate limits\n\nx\n"


def test_html_honours_its_declared_charset(tmp_path: Path) -> None:
    page = b'<html><head><meta charset="windows-1252"></head><body><p>caf\xe9 \x80 5</p></body>'
    result = convert_file(write(tmp_path, "cp.html", page))
    assert result.text == "café € 5\n"
    legacy = b'<meta http-equiv="Content-Type" content="text/html; charset=ISO-8859-1"><p>na\xefve'
    assert convert_file(write(tmp_path, "l1.html", legacy)).text == "naïve\n"


def test_html_without_a_charset_must_be_utf8(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match=r"^bad\.html: not valid UTF-8 at byte 6"):
        convert_file(write(tmp_path, "bad.html", b"<p>caf\xe9 au lait</p>"))


def test_html_nested_absurdly_deep_is_refused_before_parsing(tmp_path: Path) -> None:
    page = "<body>" + "<div>" * 50_000 + "deep" + "</body>"
    with pytest.raises(SourceError, match=r"^deep\.html: elements left open too deep to read"):
        convert_file(write(tmp_path, "deep.html", page))


def test_html_nested_deeper_than_the_walk_keeps_its_words_and_drops_scripts(
    tmp_path: Path,
) -> None:
    page = (
        "<body>" + "<div>" * 400 + "<p>deep</p><script>LEAK</script> w<b>or</b>d" + "</div>" * 400
    )
    assert convert_file(write(tmp_path, "d.html", page)).text == "deep word\n"


# -- PDF ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("compress", [False, True])
def test_pdf_text_is_every_page_in_order_with_page_offsets(tmp_path: Path, compress: bool) -> None:
    path = write(tmp_path, "ledger.pdf", make_pdf(THREE_PAGES, compress=compress))
    result = convert_file(path)
    assert result.format == "pdf"
    assert len(result.pages) == 3
    for number, (start, lines) in enumerate(zip(result.pages, THREE_PAGES, strict=True), 1):
        assert result.text[start:].startswith(lines[0] + "\n" + lines[1])
        assert result.page_at(start) == number
        assert result.page_at(start + len(lines[0])) == number
    assert result.text.count("\n\n") == 2  # pages joined by one blank line
    assert "\r" not in result.text
    assert result.text.endswith("(payments).\n")


def test_pdf_metadata_keeps_the_info_dictionary_and_iso_dates(tmp_path: Path) -> None:
    info = {
        "Title": "Ledger overview",
        "Author": "Alice Chen",
        "CreationDate": "D:20241008093000+01'00'",
        "ModDate": "D:2024",
    }
    result = convert_file(write(tmp_path, "meta.pdf", make_pdf(THREE_PAGES, info=info)))
    assert dict(result.metadata) == {
        **info,
        "created": "2024-10-08T09:30:00+01:00",
        "modified": "2024-01-01T00:00:00",
    }
    assert result.title == "Ledger overview"


@pytest.mark.parametrize(
    ("raw", "iso"),
    [
        ("D:20241008093000Z", "2024-10-08T09:30:00+00:00"),
        ("D:20241008093000-05'30'", "2024-10-08T09:30:00-05:30"),
        ("20241008", "2024-10-08T00:00:00"),
        ("D:20241345", None),  # month 13
        ("yesterday", None),
    ],
)
def test_pdf_dates_are_read_exactly(raw: str, iso: str | None) -> None:
    assert pdf_date(raw) == iso


def test_a_pdf_encrypted_with_an_empty_user_password_is_read(tmp_path: Path) -> None:
    data = encrypt_pdf(make_pdf(THREE_PAGES), user_password="")
    assert b"Replicas lag" not in data  # really encrypted
    result = convert_file(write(tmp_path, "owner-only.pdf", data))
    assert "Replicas lag by at most 5 seconds (p99)." in result.text


def test_a_pdf_that_needs_a_password_is_refused(tmp_path: Path) -> None:
    data = encrypt_pdf(make_pdf(THREE_PAGES), user_password="s3cret")
    with pytest.raises(SourceError, match=r"^locked\.pdf: encrypted PDF that needs a password"):
        convert_file(write(tmp_path, "locked.pdf", data))


def test_a_truncated_pdf_is_refused_not_read_in_part(tmp_path: Path) -> None:
    data = make_pdf(THREE_PAGES)
    with pytest.raises(SourceError, match=r"^cut\.pdf: truncated or damaged PDF \(no %%EOF"):
        convert_file(write(tmp_path, "cut.pdf", data[: len(data) * 2 // 3]))


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"%PDF-1.4\n" + bytes(range(256)) * 4 + b"\n%%EOF\n", "damaged PDF, cannot be read"),
        (b"just some text that is not a PDF at all\n", r"not a PDF \(no %PDF- header"),
        (
            assemble_pdf(
                [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [2 0 R] /Count 1 >>"]
            ),
            "damaged PDF, its pages cannot be read",
        ),
    ],
    ids=["garbage-body", "not-a-pdf", "page-tree-cycle"],
)
def test_a_damaged_pdf_is_a_clear_error(tmp_path: Path, content: bytes, reason: str) -> None:
    with pytest.raises(SourceError, match=rf"^broken\.pdf: (?:{reason})"):
        convert_file(write(tmp_path, "broken.pdf", content))


def test_a_pdf_without_text_is_refused_as_scanned(tmp_path: Path) -> None:
    with pytest.raises(SourceError) as err:
        convert_file(write(tmp_path, "scan.pdf", make_pdf([None, None])))
    assert str(err.value) == (
        "scan.pdf: PDF has no extractable text on any of its 2 pages "
        "(a scanned document? run OCR on it first)"
    )


def test_a_pdf_with_more_page_content_than_the_budget_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = make_pdf(THREE_PAGES)
    path = write(tmp_path, "long.pdf", data)
    assert convert_file(path).pages  # within the real budget
    monkeypatch.setattr(pdf, "MAX_CONTENT_BYTES", 150)  # each page's stream is ~100 bytes
    with pytest.raises(SourceError) as err:
        convert_file(path)
    assert str(err.value) == (
        "long.pdf: PDF has more than 150 bytes of page content (reached on page 2): "
        "too much to read"
    )


def test_a_pdf_with_a_blank_page_keeps_every_page_offset(tmp_path: Path) -> None:
    result = convert_file(write(tmp_path, "gap.pdf", make_pdf([["one"], None, ["three"]])))
    assert result.text == "one\n\n\n\nthree\n"
    assert result.pages == (0, 5, 7)
    assert [result.page_at(o) for o in (0, 5, 7)] == [1, 2, 3]


# -- every format -------------------------------------------------------------------------------


def test_conversion_is_deterministic_and_lf_only(tmp_path: Path) -> None:
    files = [
        write(tmp_path, "a.md", "---\r\ndate: 2024-10-08\r\n---\r\n# T\r\n\r\nx\r\n"),
        write(tmp_path, "b.txt", "x\r\ny\r"),
        write(tmp_path, "c.html", PAGE.replace("\n", "\r\n")),
        write(tmp_path, "d.pdf", make_pdf(THREE_PAGES, compress=True)),
    ]
    for path in files:
        first, second = convert_file(path), convert_file(path)
        assert first == second, path.name
        assert "\r" not in first.text, path.name
        assert first.text.splitlines() == first.text.rstrip("\n").split("\n"), path.name


@pytest.mark.skipif(not SHARED_SOURCES.is_dir(), reason="shared sources not found")
def test_every_real_shared_source_converts_to_lf_text_without_markup(tmp_path: Path) -> None:
    copies = Path(shutil.copytree(SHARED_SOURCES, tmp_path / "sources"))
    converted = {path.name: convert_file(path) for path in sorted(copies.iterdir())}
    assert converted
    for name, result in converted.items():
        assert "\r" not in result.text, name
        assert result.text.strip(), name
        if result.format == "html":
            assert "<" not in result.text and "&amp;" not in result.text, name
            assert result.title, name
