"""Facts no entity or concept page takes are kept, cited, on their source's summary page, and
compared there across sources by the person's note they name (title or alias).

A person's note `notes/Ferry Timetable.md` (alias `Ferries`) is never written; two sources state
facts about ferries that name no wiki page, so each lands in its summary page's `facts`
region. A later source stating a change ("will be gated on the tide report from May") marks
the earlier fact as superseded, in either ingest order, on the page that holds the earlier fact.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from companion.app import Companion
from companion.config import load_settings
from companion.write.regions import region_text

pytestmark = pytest.mark.slow  # real ingests

NOTE = """---
aliases: [Ferries]
---
The harbour's ferry timetable, kept by hand.
"""
OLD = "---\ndate: 2025-01-10\n---\n# Weekly review\n\nFerries do not wait for the tide report.\n"
NEW = (
    "---\ndate: 2025-03-01\n---\n# Planning meeting\n\n"
    "Ferries will be gated on a clean tide report from May 2025.\n"
)
SAME = "---\ndate: 2025-03-01\n---\n# Second review\n\nFerries do not wait for the tide report.\n"


def _vault(root: Path) -> Path:
    Companion.init(root)
    (root / "notes").mkdir()
    (root / "notes" / "Ferry Timetable.md").write_text(NOTE, encoding="utf-8")
    return root


def _ingest(vault: Path, name: str, text: str) -> Companion:
    (vault / "sources" / f"{name}.md").write_text(text, encoding="utf-8")
    app = Companion(load_settings(vault, state_dir=vault.parent / "state", embed_backend="fake"))
    try:
        app.ingest()
    finally:
        app.close()
    return app


def _superseded(vault: Path) -> list[dict[str, object]]:
    app = Companion(load_settings(vault, state_dir=vault.parent / "state", embed_backend="fake"))
    try:
        return [dict(r) for r in app.conflicts(superseded=True)] + [
            dict(r) for r in app.conflicts()
        ]
    finally:
        app.close()


def test_a_fact_no_page_takes_is_kept_cited_on_its_summary_page(tmp_path: Path) -> None:
    vault = _vault(tmp_path / "vault")
    _ingest(vault, "review", OLD)
    page = (vault / "wiki/sources/review.md").read_text(encoding="utf-8")
    facts = region_text(page, "facts") or ""
    assert "- Ferries do not wait for the tide report ([[wiki/sources/review]])." in facts
    assert (vault / "notes/Ferry Timetable.md").read_text(encoding="utf-8") == NOTE

    (vault / "sources/review.md").unlink()  # a deleted source: its facts are withdrawn here too
    _ingest(vault, "unrelated", "# Other\n\nNothing about boats.\n")
    withdrawn = (vault / "wiki/sources/review.md").read_text(encoding="utf-8")
    assert "Ferries do not wait" not in (region_text(withdrawn, "facts") or "")


@pytest.mark.parametrize("order", ["dated", "reversed"])
def test_a_later_change_supersedes_a_fact_about_the_same_note_on_another_summary_page(
    tmp_path: Path, order: str
) -> None:
    vault = _vault(tmp_path / "vault")
    steps = [("review", OLD), ("meeting", NEW)]
    for name, text in steps if order == "dated" else steps[::-1]:
        _ingest(vault, name, text)
    rows = _superseded(vault)
    assert [(r["status"], r["page"]) for r in rows] == [("superseded", "wiki/sources/review.md")]
    held = (vault / "wiki/sources/review.md").read_text(encoding="utf-8")
    facts = region_text(held, "facts") or ""
    # The callout follows the replaced fact, names the note, and quotes both sides.
    after = facts.split("- Ferries do not wait for the tide report", 1)[1]
    assert "> [!superseded] Ferry Timetable: gated tide report" in after
    assert "[[wiki/sources/meeting]]" in after
    assert "[!superseded]" not in (vault / "wiki/sources/meeting.md").read_text(encoding="utf-8")
    assert (vault / "notes/Ferry Timetable.md").read_text(encoding="utf-8") == NOTE
    log = (vault / "log.md").read_text(encoding="utf-8")
    assert "superseded: [[wiki/sources/review#^superseded-" in log


def test_the_same_words_from_two_sources_raise_nothing(tmp_path: Path) -> None:
    vault = _vault(tmp_path / "vault")
    _ingest(vault, "review", OLD)
    _ingest(vault, "second", SAME)
    assert _superseded(vault) == []


def test_facts_naming_different_notes_never_meet(tmp_path: Path) -> None:
    vault = _vault(tmp_path / "vault")
    (vault / "notes" / "Bus Timetable.md").write_text("---\naliases: [Buses]\n---\nBuses.\n")
    _ingest(vault, "review", OLD)
    _ingest(vault, "meeting", NEW.replace("Ferries will", "Buses will"))
    assert _superseded(vault) == []


def test_a_conflict_across_summary_pages_is_queued_resolved_once_and_never_raised_again(
    tmp_path: Path,
) -> None:
    import re

    vault = _vault(tmp_path / "vault")
    _ingest(vault, "review", OLD)
    _ingest(vault, "meeting", NEW.replace("will be gated on a clean", "are gated on the"))
    (row,) = _superseded(vault)
    assert (row["status"], row["page"]) == ("open", "wiki/sources/review.md")
    page = vault / "wiki/sources/review.md"
    ident = str(row["id"])
    queue = (vault / "CONFLICT.md").read_text(encoding="utf-8")
    assert f"[[wiki/sources/review#^{ident}" in queue

    # A person resolves it: deletes the callout and its block id, keeps both facts.
    text = page.read_text(encoding="utf-8")
    text = re.sub(r"\n> \[!conflict\][^\n]*(?:\n>[^\n]*)*\n\n\^conflict-[0-9a-f]{6}\n", "", text)
    page.write_text(text, encoding="utf-8")
    app = Companion(load_settings(vault, state_dir=vault.parent / "state", embed_backend="fake"))
    try:
        app.index(embed=False)
        assert app.conflicts() == []
        app.ingest(force=True)  # both sources again: the same contradiction is not raised
        assert app.conflicts() == []
    finally:
        app.close()
    assert "[!conflict]" not in page.read_text(encoding="utf-8")


def _version(path: Path) -> int:
    from companion.markdown.parse import parse_note

    return int(parse_note(path.read_bytes(), path.name).properties["version"])


def test_a_callout_on_another_summary_page_bumps_it_and_leaves_with_its_source(
    tmp_path: Path,
) -> None:
    vault = _vault(tmp_path / "vault")
    _ingest(vault, "review", OLD)
    review = vault / "wiki/sources/review.md"
    before = _version(review)
    _ingest(vault, "meeting", NEW.replace("will be gated on a clean", "are gated on the"))
    assert "[!conflict]" in review.read_text(encoding="utf-8")
    assert _version(review) == before + 1  # a writer's change: versioned (SYSTEM.md §8)

    (vault / "sources/meeting.md").unlink()  # the contradicting source goes, and its fact
    _ingest(vault, "unrelated", "# Other\n\nNothing about boats.\n")
    text = review.read_text(encoding="utf-8")
    assert "[!conflict]" not in text and "Ferries do not wait for the tide report" in text
    assert _version(review) == before + 2
    assert _superseded(vault) == []  # withdrawn: neither open nor recorded as resolved
    app = Companion(load_settings(vault, state_dir=vault.parent / "state", embed_backend="fake"))
    try:
        assert app.conflicts(include_resolved=True) == []
    finally:
        app.close()
    assert "conflict withdrawn: `conflict-" in (vault / "log.md").read_text(encoding="utf-8")


def test_a_note_named_in_decomposed_unicode_still_meets_its_composed_name(tmp_path: Path) -> None:
    import unicodedata

    vault = tmp_path / "vault"
    Companion.init(vault)
    (vault / "notes").mkdir()
    nfd = unicodedata.normalize("NFD", "Fähren")  # as a macOS file name, or text pasted from one
    (vault / "notes" / "Ferry Timetable.md").write_text(NOTE.replace("Ferries", nfd))
    _ingest(vault, "review", OLD.replace("Ferries", "Fähren"))
    _ingest(vault, "meeting", NEW.replace("Ferries", "Fähren"))
    assert [r["status"] for r in _superseded(vault)] == ["superseded"]
