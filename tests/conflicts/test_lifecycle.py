"""Conflicts on the product's path: two real sources ingested into a temporary vault raise a
`[!conflict]` callout and a CONFLICT.md entry; equal values in other units raise nothing; a
person's resolution is never raised again, not after re-ingesting, not after a rebuild."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from tests.conflicts.harbour import PAGE, RUNBOOK, app_for, harbour_vault, resolve_by_deleting


@pytest.fixture
def vault(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("COMPANION_EMBED_BACKEND", "fake")
    return harbour_vault(tmp_path / "vault")


def _files(vault: Path) -> dict[str, bytes]:
    return {str(p.relative_to(vault)): p.read_bytes() for p in vault.rglob("*") if p.is_file()}


def test_a_contradiction_gets_one_callout_after_the_stored_claim_and_a_queue_entry(
    vault: Path,
) -> None:
    with app_for(vault) as app:
        app.ingest(["sources/gateway-runbook.md"])
        app.ingest(["sources/gateway-review.md"])
        rows = app.conflicts()
        assert app.status().conflicts_open == 1
    assert len(rows) == 1
    row = rows[0]
    assert set(row) >= {"a", "b", "a_source", "b_source", "page", "title", "id", "status"}
    assert row["status"] == "open" and row["page"] == PAGE
    assert "4 hours" in row["a"] and "two hours" in row["b"]
    assert {row["a_source"], row["b_source"]} == {
        "sources/gateway-runbook.md",
        "sources/gateway-review.md",
    }
    assert re.fullmatch(r"conflict-[0-9a-f]{6}", row["id"])
    page = (vault / PAGE).read_text(encoding="utf-8")
    lines = page.splitlines()
    head = next(i for i, line in enumerate(lines) if line.startswith("> [!conflict]"))
    assert "4 hours" in lines[head - 2]  # right after the stored claim, inside its region
    assert lines[head + 1].startswith("> [[CONFLICT]] — opened ")
    assert "[[wiki/sources/gateway-runbook]]" in lines[head + 2]
    assert "[[wiki/sources/gateway-review]]" in lines[head + 3]
    assert lines[head + 5] == "^" + row["id"]
    at = page.index("> [!conflict]")
    assert page.index("%% companion:begin facts %%") < at < page.index("%% companion:end facts")
    queue = (vault / "CONFLICT.md").read_text(encoding="utf-8")
    assert f"[[wiki/entities/Harbour Gateway#^{row['id']}\\|" in queue
    log = (vault / "log.md").read_text(encoding="utf-8")
    assert f"conflict opened: [[wiki/entities/Harbour Gateway#^{row['id']}|{row['title']}]]" in log


def test_equal_values_in_other_units_raise_no_conflict(vault: Path) -> None:
    with app_for(vault) as app:
        app.ingest(["sources/gateway-runbook.md"])
        app.ingest(["sources/gateway-review.md"])
        rows = app.conflicts()
    assert not any("fortnight" in r["a"] + r["b"] for r in rows)  # 14 days = a fortnight


def test_ingesting_again_writes_no_second_callout_and_no_file(vault: Path) -> None:
    with app_for(vault) as app:
        app.ingest()
        before = _files(vault)
        app.ingest(force=True)
        app.ingest()
        assert len(app.conflicts()) == 1
    after = _files(vault)
    assert after[PAGE] == before[PAGE]
    assert after["CONFLICT.md"] == before["CONFLICT.md"]


def test_a_resolved_conflict_is_closed_logged_and_never_raised_again(vault: Path) -> None:
    with app_for(vault) as app:
        app.ingest()
        ident = resolve_by_deleting(vault)
        app.index(embed=False)
        assert app.conflicts() == []
        closed = [r for r in app.conflicts(include_resolved=True) if r["id"] == ident]
        assert closed and closed[0]["status"] == "resolved"
        queue = (vault / "CONFLICT.md").read_text(encoding="utf-8")
        assert "No open conflicts." in queue and f"`{ident}`" in queue
        assert "closed:" in (vault / "log.md").read_text(encoding="utf-8")
        # Put the old value back in a new copy of the runbook: the same contradiction.
        (vault / "sources" / "gateway-runbook.md").write_text(
            RUNBOOK + "\nHarbour Gateway is watched around the clock.\n", encoding="utf-8"
        )
        app.ingest(force=True)
        assert app.conflicts() == []
    assert ident not in (vault / PAGE).read_text(encoding="utf-8")


def test_a_resolution_survives_a_rebuild_from_an_empty_state_folder(vault: Path) -> None:
    with app_for(vault) as app:
        app.ingest()
        ident = resolve_by_deleting(vault)
        app.index(embed=False)
    shutil.rmtree(vault.parent / "state")
    with app_for(vault) as app:
        app.index(embed=False, rebuild=True)
        app.ingest(force=True)
        assert app.conflicts() == []
        assert ident in {r["id"] for r in app.conflicts(include_resolved=True)}


def test_rebuilding_twice_keeps_the_resolved_table_byte_for_byte(vault: Path) -> None:
    with app_for(vault) as app:
        app.ingest()
        resolve_by_deleting(vault)
        app.index(embed=False)
    first = (vault / "CONFLICT.md").read_bytes()
    for _ in range(2):
        shutil.rmtree(vault.parent / "state")
        with app_for(vault) as app:
            app.index(embed=False, rebuild=True)
        assert (vault / "CONFLICT.md").read_bytes() == first


def test_on_a_crlf_page_the_callout_goes_after_the_claim_once(vault: Path) -> None:
    with app_for(vault) as app:
        app.ingest(["sources/gateway-runbook.md"])
        page = vault / PAGE
        page.write_bytes(page.read_bytes().replace(b"\r\n", b"\n").replace(b"\n", b"\r\n"))
        app.index(embed=False)
        app.ingest(["sources/gateway-review.md"])
    data = page.read_bytes()
    assert data.count(b"^conflict-") == 1
    assert b"\n" not in data.replace(b"\r\n", b"")  # still CRLF throughout
    text = data.decode("utf-8")
    assert text.index("> [!conflict]") < text.index("%% companion:end facts %%")


def test_a_persons_line_inside_a_region_keeps_its_sub_bullet_and_gets_no_inline_callout(
    vault: Path,
) -> None:
    with app_for(vault) as app:
        app.ingest(["sources/gateway-runbook.md"])
        page = vault / PAGE
        text = page.read_text(encoding="utf-8")
        mine = (
            "- The recovery time objective of Harbour Gateway is 6 hours, says ops "
            "([[wiki/sources/gateway-runbook]]).\n  - I asked the ops lead; to be confirmed.\n"
        )
        text = text.replace("%% companion:end facts %%", mine + "%% companion:end facts %%")
        page.write_text(text, encoding="utf-8")
        app.index(embed=False)
        app.ingest(["sources/gateway-review.md"])
    after = page.read_text(encoding="utf-8")
    assert mine in after  # the person's item and its sub-bullet, together, unchanged
    assert "%% companion:begin conflicts %%" in after


def test_a_conflict_closed_while_the_index_was_away_is_closed_after_a_rebuild(
    vault: Path,
) -> None:
    with app_for(vault) as app:
        app.ingest()
    shutil.rmtree(vault.parent / "state")  # the index is lost, then the person resolves
    ident = resolve_by_deleting(vault)
    with app_for(vault) as app:
        app.index(embed=False, rebuild=True)
        rows = app.conflicts(include_resolved=True)
    assert [r["status"] for r in rows if r["id"] == ident] == ["resolved"]
    assert "closed:" in (vault / "log.md").read_text(encoding="utf-8")


def test_a_fifo_named_conflict_md_is_reported_not_fatal(vault: Path) -> None:
    import os

    os.mkfifo(vault / "CONFLICT.md")
    with app_for(vault) as app:
        report = app.ingest()
        assert any("CONFLICT.md" in n for n in report.notes)
        assert app.conflicts()  # the callouts are written all the same


def test_a_withdrawn_source_takes_its_conflict_off_without_resolving_it(vault: Path) -> None:
    review = vault / "sources" / "gateway-review.md"
    kept = review.read_text(encoding="utf-8")
    with app_for(vault) as app:
        app.ingest()
        (ident,) = [r["id"] for r in app.conflicts()]
        review.unlink()  # the contradicting source is deleted: its fact is withdrawn
        app.ingest()
        assert app.conflicts(include_resolved=True) == []  # gone, not recorded as resolved
        assert f"^{ident}" not in (vault / PAGE).read_text(encoding="utf-8")
        assert f"`{ident}`" not in (vault / "CONFLICT.md").read_text(encoding="utf-8")
        log = (vault / "log.md").read_text(encoding="utf-8")
        assert f"conflict withdrawn: `{ident}`" in log and "callout removed" not in log
        review.write_text(kept, encoding="utf-8")  # it comes back: so does the conflict
        app.ingest()
        assert [(r["id"], r["status"]) for r in app.conflicts()] == [(ident, "open")]


def test_a_reworded_contradiction_stays_open_with_the_new_words(vault: Path) -> None:
    review = vault / "sources" / "gateway-review.md"
    with app_for(vault) as app:
        app.ingest()
        (ident,) = [r["id"] for r in app.conflicts()]
        review.write_text(
            review.read_text(encoding="utf-8").replace(
                "has been two hours ever since go-live", "has been two hours from the start"
            ),
            encoding="utf-8",
        )
        app.ingest()
        rows = app.conflicts(include_resolved=True)
        assert [(r["id"], r["status"]) for r in rows] == [(ident, "open")]
        assert any("from the start" in r["a"] + r["b"] for r in rows)
    text = (vault / PAGE).read_text(encoding="utf-8")
    assert text.count(f"^{ident}") == 1 and "ever since go-live" not in text


def test_after_a_withdrawal_and_return_a_persons_resolution_still_counts(vault: Path) -> None:
    review = vault / "sources" / "gateway-review.md"
    kept = review.read_text(encoding="utf-8")
    with app_for(vault) as app:  # one process throughout, as a daemon is
        app.ingest()
        review.unlink()
        app.ingest()  # withdrawn: forgotten
        review.write_text(kept, encoding="utf-8")
        app.ingest()  # back, open again
        ident = resolve_by_deleting(vault)  # now a person resolves it
        app.index(embed=False)
        rows = [r for r in app.conflicts(include_resolved=True) if r["id"] == ident]
        assert [r["status"] for r in rows] == ["resolved"]
