"""The claim index: a wiki page's cited facts' claims computed at sync and stored with the page, so
detection looks candidates up by key instead of parsing the page again — and finds exactly what
parsing the page finds, falling back to the page's text when the index is behind it."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import pytest

from companion.app import Companion
from companion.conflicts.claims import claims
from companion.conflicts.detect import Found, cited_lines, detect
from companion.conflicts.serial import dumps, loads, parser
from companion.ingest.pipeline import Ingester, page_aliases
from companion.ingest.synth import choose
from companion.vault.walk import content_hash
from tests.conflicts.harbour import PAGE, RUNBOOK, app_for, harbour_vault

DEV = Path("/work/shared/data/conflicts-dev/sources")

SUMMARY = "wiki/sources/gateway-runbook.md"
NEW_FACT = (
    "- The recovery time objective of Harbour Gateway has been two hours ever since go-live. "
    "([[wiki/sources/gateway-review]])"
)


@pytest.fixture
def vault(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("COMPANION_EMBED_BACKEND", "fake")
    return harbour_vault(tmp_path / "vault")


def _rows(app: Companion, page: str) -> list[tuple[str, str, str]]:
    return [
        (line, data, parser_)
        for line, data, parser_ in app.store.db.execute(
            "SELECT c.line, c.data, c.parser FROM claims c JOIN pages p ON p.id = c.page_id "
            "WHERE p.path = ? ORDER BY c.id",
            (page,),
        )
    ]


def _date_of(summary: str) -> date | None:
    return date(2025, 1, 10) if "runbook" in summary else date(2025, 6, 2)


def _ingester(app: Companion) -> Ingester:
    def refuse(*_: object) -> None:
        raise AssertionError("nothing is committed here")

    return Ingester(
        app.settings,
        app.store,
        choose(app.settings),
        templates=lambda _: "",
        commit=refuse,
        settle=lambda paths, recheck: False,
    )


def _detect(app: Companion, text: str, digest: str, through_index: bool) -> list[Found]:
    """What detection finds when NEW_FACT is added to `text` (the page as read, `digest` its
    hash), through the store's claims as ingest gets them, or from the text."""
    aliases = page_aliases(text, PAGE)
    stored = _ingester(app)._stored_claims(PAGE, digest, aliases, text)
    if through_index:
        assert stored is not None, "the index is current: ingest uses it"
    else:
        assert stored is None, "the index is behind the page: ingest parses the text"
    after = text.rstrip("\n") + "\n" + NEW_FACT + "\n"
    return detect(
        PAGE,
        "Harbour Gateway",
        aliases,
        text,
        after,
        {"wiki/sources/gateway-review"},
        _date_of,
        stored=stored,
    )


@pytest.mark.slow  # ingests a whole corpus: the full suite runs it
def test_claims_read_back_equal_over_every_fact_of_a_real_corpus(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if not DEV.is_dir():
        pytest.skip(f"{DEV} is not here")
    monkeypatch.setenv("COMPANION_EMBED_BACKEND", "fake")
    root = tmp_path / "vault"
    Companion.init(root)
    for path in sorted(DEV.iterdir()):
        shutil.copy2(path, root / "sources" / path.name)  # a copy: never the data in place
    with app_for(root) as app:
        app.ingest()
        stored = {
            path: _rows(app, path) for path in app.store.pages.paths() if path.startswith("wiki/")
        }
    count = 0
    for page in sorted((root / "wiki").rglob("*.md")):
        rel = page.relative_to(root).as_posix()
        if rel.startswith("wiki/sources/"):
            continue
        text = page.read_text(encoding="utf-8")
        for line in cited_lines(text):
            found = tuple(claims(line, rel, page.stem, page_aliases(text, rel)))
            assert loads(dumps(found)) == found
            count += len(found)
        # what sync stored is what claims() gives now, line by line
        lines = list(dict.fromkeys(cited_lines(text)))
        assert [r[0] for r in stored[rel]] == lines
    assert count > 100


def test_sync_stores_claims_for_an_entity_page_only(vault: Path) -> None:
    person = vault / "notes" / "Harbour Gateway notes.md"
    person.parent.mkdir(exist_ok=True)
    person.write_text(
        "- Harbour Gateway keeps files for 3 days ([[wiki/sources/gateway-runbook]])\n",
        encoding="utf-8",
    )
    with app_for(vault) as app:
        app.ingest(["sources/gateway-runbook.md"])
        app.index(embed=False)
        rows = _rows(app, PAGE)
        assert _rows(app, SUMMARY) == []
        assert _rows(app, "notes/Harbour Gateway notes.md") == []
        assert _rows(app, "index.md") == [] and _rows(app, "log.md") == []
    text = (vault / PAGE).read_text(encoding="utf-8")
    assert [r[0] for r in rows] == list(dict.fromkeys(cited_lines(text)))
    assert {r[2] for r in rows} == {parser()}
    assert any("4 hours" in r[0] for r in rows)
    for line, data, _ in rows:
        assert loads(data) == tuple(claims(line, PAGE, "Harbour Gateway", page_aliases(text, PAGE)))


def test_editing_the_page_replaces_its_claims_and_deleting_it_removes_them(vault: Path) -> None:
    with app_for(vault) as app:
        app.ingest(["sources/gateway-runbook.md"])
        path = vault / PAGE
        text = path.read_text(encoding="utf-8")
        old = next(line for line in cited_lines(text) if "4 hours" in line)
        edited = text.replace(old, old.replace("4 hours", "6 hours"))
        path.write_text(edited, encoding="utf-8")
        app.sync_paths([PAGE])
        lines = [r[0] for r in _rows(app, PAGE)]
        assert old not in lines and old.replace("4 hours", "6 hours") in lines
        keyed = app.store.conflicts.candidates(PAGE, ["w:recovery", "w:objective"])
        assert [line for line, _ in keyed] == [old.replace("4 hours", "6 hours")]
        path.unlink()
        app.sync_paths([PAGE])
        assert _rows(app, PAGE) == []
        left = app.store.db.execute("SELECT count(*) FROM claim_keys").fetchone()
        assert left is not None and left[0] == 0  # no key outlives its page's claims
        assert app.store.conflicts.candidates(PAGE, ["w:recovery"]) == []


def test_a_real_ingest_finds_the_conflict_through_the_index(vault: Path) -> None:
    with app_for(vault) as app:
        app.ingest(["sources/gateway-runbook.md"])
        digest = content_hash((vault / PAGE).read_bytes())
        state = app.store.conflicts.claim_state(PAGE)
        assert state is not None and state.hash == digest and state.parsers == {parser()}
        app.ingest(["sources/gateway-review.md"])
        rows = app.conflicts()
    assert len(rows) == 1 and "4 hours" in rows[0]["a"] and "two hours" in rows[0]["b"]


def test_detection_through_the_index_equals_detection_from_the_text(vault: Path) -> None:
    with app_for(vault) as app:
        app.ingest(["sources/gateway-runbook.md"])
        data = (vault / PAGE).read_bytes()
        text = data.decode("utf-8")
        indexed = _detect(app, text, content_hash(data), through_index=True)
        parsed = detect(
            PAGE,
            "Harbour Gateway",
            page_aliases(text, PAGE),
            text,
            text.rstrip("\n") + "\n" + NEW_FACT + "\n",
            {"wiki/sources/gateway-review"},
            _date_of,
        )
    assert indexed == parsed
    assert len(indexed) == 1 and "4 hours" in indexed[0].anchor


def test_a_stale_index_falls_back_to_the_text_and_still_finds_the_conflict(vault: Path) -> None:
    (vault / "sources" / "gateway-runbook.md").write_text(
        RUNBOOK.replace(" The recovery time objective of Harbour Gateway is 4 hours.", ""),
        encoding="utf-8",
    )
    with app_for(vault) as app:
        app.ingest(["sources/gateway-runbook.md"])
        path = vault / PAGE
        # A person adds a fact on disk; the index has not seen it (no sync).
        held = path.read_text(encoding="utf-8").rstrip("\n")
        line = "- The recovery time objective is 4 hours. ([[wiki/sources/gateway-runbook]])"
        path.write_text(held + "\n" + line + "\n", encoding="utf-8")
        data = path.read_bytes()
        found = _detect(app, data.decode("utf-8"), content_hash(data), through_index=False)
        assert [f.anchor for f in found] == [line]
        # Once synced, the index has the person's line, and finds the same through it.
        app.sync_paths([PAGE])
        again = _detect(app, data.decode("utf-8"), content_hash(data), through_index=True)
    assert again == found


def test_claims_from_another_parser_are_not_used(vault: Path) -> None:
    with app_for(vault) as app:
        app.ingest(["sources/gateway-runbook.md"])
        app.store.db.execute("UPDATE claims SET parser = 'older-code'")
        data = (vault / PAGE).read_bytes()
        found = _detect(app, data.decode("utf-8"), content_hash(data), through_index=False)
    assert len(found) == 1
