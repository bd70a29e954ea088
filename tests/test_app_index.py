"""Indexing a real vault folder end to end: idempotency, rebuild equivalence, generated notes."""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from companion.app import Companion
from tests.helpers import OpenApp

NOTES: dict[str, str | bytes] = {
    "Home.md": "# Home\n\nStart at [[Payments]] and [[ledger/Overview|the ledger]].\n",
    "Payments.md": "---\naliases: [payments-v2]\ntags: [service]\n---\n# Payments\n\nCard payments are retried "
    "three times with exponential backoff. See [[Missing Note]].\n\n## Limits\n\nThe API allows 500 requests "
    "per second.\n",
    "ledger/Overview.md": "# Ledger\n\nThe ledger stores balances in PostgreSQL. #database\n",
    "wiki/entities/Ledger Service.md": "---\ntype: entity\nversion: 1\n---\nThe ledger service. [[Payments]]\n",
}


def _files_state(vault: Path) -> dict[str, tuple[int, int]]:
    return {
        str(p.relative_to(vault)): (p.stat().st_mtime_ns, p.stat().st_size)
        for p in vault.rglob("*")
        if p.is_file()
    }


def test_index_writes_catalog_and_log_then_a_second_run_changes_nothing(
    make_vault: Callable[..., Path], open_app: OpenApp
) -> None:
    vault = make_vault(NOTES)
    app = open_app(vault)
    first = app.index()
    assert sorted(first.sync.added) == sorted(NOTES)
    assert "index.md" in first.written and "log.md" in first.written
    files_before = _files_state(vault)
    rows_before = app.store.snapshot()

    second = app.index()

    assert not second.sync.changed_anything and second.written == []
    assert second.embedded == 0
    assert _files_state(vault) == files_before  # no file written, not even touched
    assert app.store.snapshot() == rows_before  # no row changed


def test_log_gets_one_entry_per_index_run_that_changed_something(
    make_vault: Callable[..., Path], open_app: OpenApp
) -> None:
    vault = make_vault(NOTES)
    app = open_app(vault)
    app.index(embed=False, now=datetime(2026, 11, 21, 9, 5))
    (vault / "New.md").write_text("a new note\n", encoding="utf-8")
    app.index(embed=False, now=datetime(2026, 11, 21, 9, 6))
    app.index(embed=False, now=datetime(2026, 11, 21, 9, 7))  # nothing changed: no entry
    log = (vault / "log.md").read_text(encoding="utf-8")
    entries = [line for line in log.splitlines() if line.startswith("## [")]
    assert entries == [
        entries[0],
        "## [2026-11-21 09:06] index | 1 added, 0 changed, 0 removed"
        + entries[1].split("removed", 1)[1],
    ]
    # The first run starts from an empty store: nothing changed in the vault, it was only read.
    assert entries[0] == "## [2026-11-21 09:05] rebuild | 4 notes, nothing changed in the vault"
    assert "- added: `New.md`" in log


def test_rebuilt_index_answers_queries_identically(
    make_vault: Callable[..., Path], open_app: OpenApp
) -> None:
    vault = make_vault(NOTES)
    live = open_app(vault, state="live")
    live.index()
    fresh = open_app(vault, state="fresh")
    fresh.rebuild()
    fresh.index()
    for query in (
        "card payments retried",
        "ledger balances",
        "requests per second",
        "payments-v2",
        "",
    ):
        for mode in ("bm25", "vector", "hybrid"):
            a = [(h.path, h.ranks) for h in live.search(query, mode=mode)]  # type: ignore[arg-type]
            b = [(h.path, h.ranks) for h in fresh.search(query, mode=mode)]  # type: ignore[arg-type]
            assert a == b, (query, mode)
    live.index()  # picks up the log entry the rebuild appended
    assert _content(live) == _content(fresh)


def _content(app: Companion) -> dict[str, list[tuple[object, ...]]]:
    """Index rows about the vault's notes (log.md grows with every run, so it is left out)."""
    snap = app.store.snapshot()
    return {
        t: [r for r in snap[t] if r[0] != "log.md"]
        for t in ("pages", "chunks", "links", "tags", "problems")
    }


def test_index_md_catalogs_notes_with_summaries_orphans_and_unresolved_links(
    make_vault: Callable[..., Path], open_app: OpenApp
) -> None:
    vault = make_vault(NOTES)
    open_app(vault).index(embed=False)
    index = (vault / "index.md").read_text(encoding="utf-8")
    assert index.startswith("---\ngenerated_by: companion\n---\n")
    assert "## Entities (1)" in index
    assert "- [[wiki/entities/Ledger Service|Ledger Service]] — The ledger service." in index
    assert "[[Payments]] — Card payments are retried three times with exponential backoff." in index
    assert "## Orphans" in index and "[[Home]]" in index.split("## Orphans", 1)[1]
    assert "`Missing Note` ← [[Payments]]" in index


def test_a_humans_index_md_is_never_overwritten(
    make_vault: Callable[..., Path], open_app: OpenApp
) -> None:
    vault = make_vault({**NOTES, "index.md": "# My own index\n\nhand written\n"})
    before = (vault / "index.md").read_bytes()
    result = open_app(vault).index(embed=False)
    assert (vault / "index.md").read_bytes() == before
    assert any(path == "index.md" for path, _ in result.catalog.refused)


def test_index_md_is_rewritten_only_when_the_catalog_changes(
    make_vault: Callable[..., Path], open_app: OpenApp
) -> None:
    vault = make_vault(NOTES)
    app = open_app(vault)
    app.index(embed=False)
    stamp = (vault / "index.md").stat().st_mtime_ns
    # A body edit that leaves the catalog line as it was: index.md is not touched.
    ledger = vault / "ledger" / "Overview.md"
    ledger.write_text(
        ledger.read_text(encoding="utf-8") + "\nMore detail later.\n", encoding="utf-8"
    )
    result = app.index(embed=False)
    assert result.sync.changed == ["ledger/Overview.md"]
    assert "index.md" not in result.written
    assert (vault / "index.md").stat().st_mtime_ns == stamp
    # A new note changes the catalog.
    (vault / "Runbook.md").write_text("How to restart the ledger.\n", encoding="utf-8")
    assert "index.md" in app.index(embed=False).written


def test_large_sections_move_to_sub_index_notes(
    make_vault: Callable[..., Path], open_app: OpenApp
) -> None:
    vault = make_vault({f"archive/Note {i:03}.md": f"Entry number {i}.\n" for i in range(120)})
    open_app(vault).index(embed=False)
    index = (vault / "index.md").read_text(encoding="utf-8")
    sub = (vault / "index" / "archive.md").read_text(encoding="utf-8")
    assert "All 120 in [[index/archive|archive]]" in index
    assert sub.count("\n- [[archive/Note") == 120
    assert len(index.splitlines()) < 60


def test_deleting_a_note_removes_it_and_relinks_links_to_it(
    make_vault: Callable[..., Path], open_app: OpenApp
) -> None:
    vault = make_vault(NOTES)
    app = open_app(vault)
    app.index(embed=False)
    os.remove(vault / "ledger" / "Overview.md")
    result = app.index(embed=False)
    assert result.sync.removed == ["ledger/Overview.md"]
    assert result.sync.relinked == 2  # Home.md's link and the catalog line in index.md
    home_links = [e for e in app.graph().edges if e.source == "Home.md"]
    assert {e.raw: e.target for e in home_links}["[[ledger/Overview|the ledger]]"] is None
    assert app.search("balances PostgreSQL", mode="bm25") == []


def test_a_new_file_captures_links_that_were_unresolved(
    make_vault: Callable[..., Path], open_app: OpenApp
) -> None:
    vault = make_vault(NOTES)
    app = open_app(vault)
    app.index(embed=False)
    (vault / "Missing Note.md").write_text("now it exists\n", encoding="utf-8")
    result = app.index(embed=False)
    assert result.sync.relinked == 1
    _, edges = app.backlinks("Missing Note")
    assert [e.source for e in edges] == ["Payments.md"]


def test_template_folders_are_not_knowledge(
    make_vault: Callable[..., Path], open_app: OpenApp
) -> None:
    vault = make_vault(
        {
            **NOTES,
            ".obsidian/templates.json": '{"folder": "Templates"}',
            ".obsidian/daily-notes.json": '{"template": "Meta/Daily"}',
            "Templates/Meeting.md": "---\ndate: {{date}}\n---\n# {{title}}\n\nAgenda about zeppelins\n",
            "Meta/Daily.md": "---\ncreated: {{date:YYYY}}\n---\nzeppelins daily\n",
        }
    )
    app = open_app(vault)
    result = app.index(embed=False)
    assert result.sync.problems == []  # placeholders are expected in templates
    assert app.search("zeppelins", mode="bm25") == []
    assert "Templates/Meeting" not in (vault / "index.md").read_text(encoding="utf-8")
    assert (
        app.store.pages.get("Templates/Meeting.md") is not None
    )  # still a file, still a link target


def test_an_empty_vault_indexes_to_an_empty_catalog(
    make_vault: Callable[..., Path], open_app: OpenApp
) -> None:
    vault = make_vault({})
    result = open_app(vault).index()
    assert result.sync.added == [] and result.written == ["index.md", "log.md"]
    assert "0 notes" in (vault / "index.md").read_text(encoding="utf-8")


def test_reading_a_vault_that_was_never_indexed_says_how_to_fix_it(
    make_vault: Callable[..., Path], open_app: OpenApp
) -> None:
    import pytest

    from companion.errors import NotIndexed

    app = open_app(make_vault({"a.md": "x"}))
    with pytest.raises(NotIndexed, match="companion index"):
        app.search("x", mode="bm25")


def test_a_users_link_captured_by_the_generated_index_keeps_runs_idempotent(
    make_vault: Callable[..., Path], open_app: OpenApp
) -> None:
    # `[[Index]]` resolves to the root index.md once it exists (exact path wins, as in Obsidian),
    # which turns the user's wiki/Index.md into an orphan: the catalog must settle in one run.
    vault = make_vault(
        {"Home.md": "See [[Index]].\n", "wiki/Index.md": "A user's own index note.\n"}
    )
    app = open_app(vault)
    app.index(embed=False)
    before = {p: p.stat().st_mtime_ns for p in vault.rglob("*.md")}
    again = app.index(embed=False)
    assert again.written == [] and not again.sync.changed_anything
    assert {p: p.stat().st_mtime_ns for p in vault.rglob("*.md")} == before


def test_parsing_in_worker_processes_gives_the_same_index(
    make_vault: Callable[..., Path], open_app: OpenApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    import companion.sync.reconcile as sync

    if not sync._can_spawn():  # pytest-xdist's workers run from `-c`: nothing to spawn from
        pytest.skip("worker processes cannot be spawned from this interpreter's __main__")
    vault = make_vault(
        {
            **NOTES,
            **{
                f"many/n{i}.md": f"# N{i}\n\nSee [[Payments]] and [[n{i + 1}]].\n"
                for i in range(40)
            },
        }
    )
    serial = open_app(vault, state="serial")
    serial.index(embed=False)
    monkeypatch.setattr(sync, "PARALLEL_MIN", 1)
    monkeypatch.setattr("companion.sync.reconcile.os.cpu_count", lambda: 2)
    pools: list[object] = []
    from concurrent.futures import ProcessPoolExecutor

    def counting_pool(*args: Any, **kwargs: Any) -> ProcessPoolExecutor:
        pools.append(args)
        return ProcessPoolExecutor(*args, **kwargs)

    monkeypatch.setattr("companion.sync.reconcile.ProcessPoolExecutor", counting_pool)
    parallel = open_app(vault, state="parallel")
    parallel.index(embed=False)
    assert pools, "the worker pool was not used"
    assert _content(parallel) == _content(serial)


def test_a_link_to_log_md_is_not_listed_unresolved_after_the_first_index(
    make_vault: Callable[..., Path], open_app: OpenApp
) -> None:
    """log.md is written after the catalog; when it captures a person's `[[log]]`, the catalog
    is rendered again in the same run."""
    vault = make_vault({"Home.md": "See the [[log]] and [[Nowhere]].\n"})
    open_app(vault).index(embed=False)
    index_md = (vault / "index.md").read_text(encoding="utf-8")
    assert "`Nowhere`" in index_md
    assert "`log`" not in index_md


def test_a_rebuilt_index_is_what_a_long_lived_process_searches(
    make_vault: Callable[..., Path], open_app: OpenApp
) -> None:
    """`serve` keeps pooled readers and vectors in memory; a rebuild must not leave them reading
    the database it removed."""
    vault = make_vault({"Tide.md": "The harbour floods at the alpha tide.\n"})
    app = open_app(vault)
    app.serve()
    app.index()
    assert [h.path for h in app.search("alpha", mode="bm25")] == ["Tide.md"]
    assert [h.path for h in app.search("alpha", mode="vector")] == ["Tide.md"]
    (vault / "Tide.md").write_text("The harbour floods at the omega tide.\n", encoding="utf-8")
    app.index(rebuild=True)
    assert [h.path for h in app.search("omega", mode="bm25")] == ["Tide.md"]
    assert app.search("alpha", mode="bm25") == []
    assert [h.path for h in app.search("omega", mode="vector")] == ["Tide.md"]
    memory = app.memory
    assert memory is not None and memory.size == app.embedding_progress().embedded
