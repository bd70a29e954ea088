"""Raw sources stay searchable: a `.txt`, `.html` or `.pdf` under the sources folder is indexed by
its converted text (no links taken from it), and its hits say `kind: source`."""

from __future__ import annotations

from pathlib import Path

from tests.helpers import OpenApp, write
from tests.ingest.test_convert import make_pdf


def test_text_html_and_pdf_sources_are_found_by_search_as_sources(
    tmp_path: Path, open_app: OpenApp
) -> None:
    vault = tmp_path / "vault"
    write(vault, "Home.md", "# Home\n\nThe harbour notes.\n")
    write(vault, "sources/relay.txt", "The quokka relay forwards signals. See [[Nowhere]].\n")
    write(
        vault,
        "sources/office.html",
        "<html><head><title>Office</title><script>var wombat = 1</script></head>"
        "<body><p>The narwhal office answers each signal.</p></body></html>",
    )
    write(vault, "sources/manual.pdf", make_pdf([["The axolotl manual covers the relay."]]))
    write(vault, "attachments/notes.txt", "The quokka attachment outside sources.\n")
    app = open_app(vault)
    app.index(embed=False)
    for word, path in (
        ("quokka", "sources/relay.txt"),
        ("narwhal", "sources/office.html"),
        ("axolotl", "sources/manual.pdf"),
    ):
        hits = app.search(word, mode="bm25")
        assert [(h.path, h.kind) for h in hits] == [(path, "source")], word
    assert app.search("wombat", mode="bm25") == []  # a script is not the page's text
    assert app.store.links.unresolved() == []  # a source's text is data: no links from it
    assert [r.path for r in app.store.pages.catalog()] == ["Home.md"]  # not catalog notes


def test_a_source_that_cannot_be_converted_stays_a_bare_row(
    tmp_path: Path, open_app: OpenApp
) -> None:
    vault = tmp_path / "vault"
    write(vault, "sources/broken.pdf", b"%PDF-1.4 not really")
    write(vault, "sources/latin.txt", "caf\xe9".encode("latin-1"))
    app = open_app(vault)
    report = app.index(embed=False)
    assert sorted(report.sync.added) == ["sources/broken.pdf", "sources/latin.txt"]
    assert app.search("caf", mode="bm25") == []
    assert app.status().problems == []  # ingest, not the index, says why
