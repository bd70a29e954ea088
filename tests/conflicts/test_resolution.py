"""A person's one-word resolution on the product's path (SYSTEM.md §9): `[!conflict]` ->
`[!resolved]`, and the companion rewrites the callout without its `[[CONFLICT]]` link, so the pages
linking to CONFLICT.md are the ones with an open conflict. Real ingest in a temporary vault; the
rewrite is a companion write (compare-and-swap, version bumped) that never takes a person's bytes.
"""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pytest

import companion.write.conflicts as conflict_writes
from companion.app import Companion
from companion.conflicts.callouts import callouts
from companion.write.conflicts import resolve_callout
from tests.conflicts.harbour import app_for, harbour_vault

pytestmark = pytest.mark.slow  # real ingests, one vault each: the full suite runs them

RUNBOOK = """---
date: 2025-01-10
---
# Harbour Gateway runbook

Harbour Gateway is the payment switch of the port authority. The recovery time objective of
Harbour Gateway is 4 hours.
"""
REVIEW = """---
date: 2025-06-02
---
# Harbour Gateway review

The recovery time objective of Harbour Gateway has been two hours ever since go-live.
"""
PAGE = "wiki/entities/Harbour Gateway.md"
TODAY = date.today().isoformat()


@pytest.fixture
def vault(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("COMPANION_EMBED_BACKEND", "fake")
    monkeypatch.setenv("COMPANION_BUMP_SETTLE", "0")  # a person's edit is bumped by `index`
    return harbour_vault(tmp_path / "vault", RUNBOOK, REVIEW)


def _files(vault: Path) -> dict[str, bytes]:
    return {str(p.relative_to(vault)): p.read_bytes() for p in vault.rglob("*") if p.is_file()}


def _raised(app: Companion) -> tuple[str, str]:
    """Ingest both sources; the page's text and the conflict's id."""
    app.ingest()
    text = (app.settings.vault / PAGE).read_bytes().decode("utf-8")
    found = re.search(r"^\^(conflict-[0-9a-f]{6})$", text, re.MULTILINE)
    assert found is not None and "> [!conflict] " in text
    return text, found.group(1)


def _version(text: str) -> int:
    found = re.search(r"^version: (\d+)\r?$", text, re.MULTILINE)
    assert found is not None
    return int(found.group(1))


def _closures(vault: Path) -> list[str]:
    log = (vault / "log.md").read_text(encoding="utf-8")
    return [line for line in log.splitlines() if line.startswith("- closed: ")]


def _linking_conflict(app: Companion) -> set[str]:
    _, edges = app.backlinks("CONFLICT")
    return {e.source for e in edges}


def test_marking_resolved_rewrites_the_callout_without_the_queue_link(vault: Path) -> None:
    with app_for(vault) as app:
        before, ident = _raised(app)
        assert PAGE in _linking_conflict(app)  # open: the page links to CONFLICT.md
        opened = re.search(r"> \[\[CONFLICT\]\] — opened (\d{4}-\d{2}-\d{2})", before)
        assert opened is not None
        person = before.replace("> [!conflict] ", "> [!resolved] ")
        (vault / PAGE).write_text(person, encoding="utf-8")
        app.index(embed=False)
        after = (vault / PAGE).read_bytes().decode("utf-8")
        callout = (
            "> [!resolved] Harbour Gateway: recovery time\n"
            f"> resolved {TODAY} — opened {opened.group(1)}\n"
            "> - The recovery time objective of Harbour Gateway is 4 hours "
            "([[wiki/sources/gateway-runbook]]).\n"
            "> - The recovery time objective of Harbour Gateway has been two hours ever since "
            "go-live ([[wiki/sources/gateway-review]]).\n"
            "\n"
            f"^{ident}\n"
        )
        assert callout in after
        # Every other byte is the person's, but for the version (their edit's bump, then the
        # rewrite's) and `updated` (the rewrite's stamp).
        stamp = re.search(r"^updated: (\S+)$", after, re.MULTILINE)
        assert stamp is not None and re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", stamp[1])
        v = _version(before)
        expected = re.sub(r"(?m)^updated: \S+$", f"updated: {stamp[1]}", person)
        expected = expected.replace(f"version: {v}\n", f"version: {v + 2}\n")
        expected = expected.replace(
            f"> [[CONFLICT]] — opened {opened.group(1)}", f"> resolved {TODAY} — opened {opened[1]}"
        )
        assert after == expected
        assert "[[CONFLICT]]" not in after
        assert PAGE not in _linking_conflict(app)  # CONFLICT.md's backlinks: open ones only
        queue = (vault / "CONFLICT.md").read_text(encoding="utf-8")
        assert "No open conflicts." in queue
        assert (
            f"| Harbour Gateway: recovery time | Harbour Gateway | `{ident}` | {TODAY} |" in queue
        )
        assert _closures(vault) == [
            f"- closed: Harbour Gateway: recovery time (`{ident}`, marked resolved)"
        ]
        assert [c.resolved for c in callouts(after)] == [TODAY]
        assert app.conflicts() == []


def test_after_the_rewrite_index_writes_nothing_and_ingest_raises_it_nowhere(vault: Path) -> None:
    with app_for(vault) as app:
        before, ident = _raised(app)
        (vault / PAGE).write_text(before.replace("[!conflict]", "[!resolved]"), encoding="utf-8")
        app.index(embed=False)
        settled = _files(vault)
        app.index(embed=False)
        assert _files(vault) == settled  # byte-identical: the rewrite happens once
        app.ingest(force=True)
        assert app.conflicts() == []
        pages = {p: t for p, t in _files(vault).items() if p.startswith("wiki/")}
        assert not any(b"> [!conflict]" in t or b"[[CONFLICT]]" in t for t in pages.values())
        assert b"[!resolved]" in pages[PAGE] and pages[PAGE].count(ident.encode()) == 1
    assert len(_closures(vault)) == 1
    assert (vault / "log.md").read_text(encoding="utf-8").count("conflict opened:") == 1


def test_taking_the_link_out_by_hand_counts_as_resolved_and_needs_no_rewrite(
    vault: Path,
) -> None:
    with app_for(vault) as app:
        before, ident = _raised(app)
        person = before.replace("> [[CONFLICT]] — opened", "> opened")
        assert person != before
        (vault / PAGE).write_text(person, encoding="utf-8")
        app.index(embed=False)
        after = (vault / PAGE).read_text(encoding="utf-8")
        v = _version(before)
        # Only the person's edit's own bump: the companion wrote nothing else on the page.
        assert after == person.replace(f"version: {v}\n", f"version: {v + 1}\n")
        assert app.conflicts() == []
        assert PAGE not in _linking_conflict(app)
    assert _closures(vault) == [
        f"- closed: Harbour Gateway: recovery time (`{ident}`, marked resolved)"
    ]


def test_a_resolution_still_being_edited_waits_for_its_bump_before_the_rewrite(
    vault: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COMPANION_BUMP_SETTLE", "3600")  # the person's save is young
    with app_for(vault) as app:
        before, ident = _raised(app)
        person = before.replace("[!conflict]", "[!resolved]")
        (vault / PAGE).write_text(person, encoding="utf-8")
        app.index(embed=False)
        # Closed and logged at once; the page itself is the person's until their edit is
        # versioned (SYSTEM.md §8: a writer never folds it into its own version).
        assert (vault / PAGE).read_text(encoding="utf-8") == person
        assert app.conflicts() == [] and len(_closures(vault)) == 1
        assert f"`{ident}`" in (vault / "CONFLICT.md").read_text(encoding="utf-8")
        bumped = app.bump(PAGE)
        assert not isinstance(bumped, str)
        app.index(embed=False)
        after = (vault / PAGE).read_text(encoding="utf-8")
        assert f"> resolved {TODAY} — opened " in after and "[[CONFLICT]]" not in after
        assert _version(after) == _version(before) + 2  # the person's bump, then the rewrite's
    assert len(_closures(vault)) == 1


def test_a_save_after_the_sync_keeps_the_persons_bytes_and_is_rewritten_next_sync(
    vault: Path,
) -> None:
    with app_for(vault) as app:
        before, ident = _raised(app)
        (vault / PAGE).write_text(before.replace("[!conflict]", "[!resolved]"), encoding="utf-8")
        app.sync()
        app.bump(PAGE)  # the index now knows these bytes, versioned
        # The person saves again before the catalog step that would rewrite the callout.
        again = (vault / PAGE).read_text(encoding="utf-8") + "A second thought.\n"
        (vault / PAGE).write_text(again, encoding="utf-8")
        app.write_generated()
        assert (vault / PAGE).read_text(encoding="utf-8") == again
        assert app.conflicts() == []  # the closure does not wait for the rewrite
        app.index(embed=False)  # the next sync: the save is bumped, then the rewrite
        after = (vault / PAGE).read_text(encoding="utf-8")
        assert after.endswith("A second thought.\n")
        assert "[[CONFLICT]]" not in after and f"> resolved {TODAY} — opened " in after
        assert f"^{ident}\n" in after
    assert len(_closures(vault)) == 1


def test_a_save_during_the_rewrite_is_never_overwritten(
    vault: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = conflict_writes.resolve_callout
    saved: list[str] = []

    def person_saves_meanwhile(text: str, ident: str, day: str) -> str | None:
        # Between the rewrite's read and its write, the person's editor saves the page.
        if not saved:
            saved.append(text + "Typed while the companion was writing.\n")
            (vault / PAGE).write_text(saved[0], encoding="utf-8")
        return real(text, ident, day)

    with app_for(vault) as app:
        before, _ = _raised(app)
        (vault / PAGE).write_text(before.replace("[!conflict]", "[!resolved]"), encoding="utf-8")
        monkeypatch.setattr(conflict_writes, "resolve_callout", person_saves_meanwhile)
        app.index(embed=False)
        assert saved and (vault / PAGE).read_text(encoding="utf-8") == saved[0]
        monkeypatch.setattr(conflict_writes, "resolve_callout", real)
        app.index(embed=False)
        after = (vault / PAGE).read_text(encoding="utf-8")
        assert after.endswith("Typed while the companion was writing.\n")
        assert "[[CONFLICT]]" not in after and "> [!resolved] " in after


def test_a_crlf_page_is_rewritten_with_its_line_endings(vault: Path) -> None:
    with app_for(vault) as app:
        before, ident = _raised(app)
        person = before.replace("[!conflict]", "[!resolved]").replace("\n", "\r\n")
        (vault / PAGE).write_bytes(person.encode("utf-8"))
        app.index(embed=False)
        after = (vault / PAGE).read_bytes().decode("utf-8")
        assert "[[CONFLICT]]" not in after
        assert f"> [!resolved] Harbour Gateway: recovery time\r\n> resolved {TODAY} — " in after
        assert f"\r\n\r\n^{ident}\r\n" in after
        assert after.count("\n") == after.count("\r\n") == person.count("\r\n")
        assert app.conflicts() == []
        written = _files(vault)
        app.index(embed=False)
        assert _files(vault) == written


def test_a_resolved_callout_outside_the_managed_folders_is_never_written(vault: Path) -> None:
    mine = (
        "# My notes\n\n"
        "> [!resolved] Something I settled\n"
        "> [[CONFLICT]] — opened 2025-01-01\n"
        "> - one thing\n\n"
        "^conflict-abcdef\n"
    )
    (vault / "notes").mkdir()
    (vault / "notes" / "mine.md").write_text(mine, encoding="utf-8")
    with app_for(vault) as app:
        _raised(app)
        app.index(embed=False)
        held = {(c.page, c.status) for c in app.store.conflicts.callouts()}
        assert ("notes/mine.md", "resolved") in held  # seen, and still not written
    assert (vault / "notes" / "mine.md").read_text(encoding="utf-8") == mine


OPEN = (
    "intro\r\n"
    "> [!conflict]- Ledger: RTO\r\n"
    "> [[CONFLICT]] — opened 2026-01-02\r\n"
    "> - four hours ([[wiki/sources/a]]).\r\n"
    "> my note: see [[CONFLICT]] too\r\n"
    "> - two hours ([[wiki/sources/b]]).\r\n"
    "\r\n"
    "^conflict-0a1b2c\r\n"
    "after\r\n"
)


def test_resolve_callout_changes_only_the_head_mark_and_the_queue_links() -> None:
    out = resolve_callout(OPEN, "conflict-0a1b2c", "2026-02-03")
    assert out == (
        "intro\r\n"
        "> [!resolved]- Ledger: RTO\r\n"
        "> resolved 2026-02-03 — opened 2026-01-02\r\n"
        "> - four hours ([[wiki/sources/a]]).\r\n"
        "> my note: see CONFLICT too\r\n"
        "> - two hours ([[wiki/sources/b]]).\r\n"
        "\r\n"
        "^conflict-0a1b2c\r\n"
        "after\r\n"
    )
    [read] = callouts(out)
    assert (read.status, read.resolved, read.opened) == ("resolved", "2026-02-03", "2026-01-02")


def test_resolve_callout_finds_the_link_a_person_moved_and_leaves_other_callouts() -> None:
    other = "> [!conflict] Other\n> [[CONFLICT]] — opened 2026-01-01\n\n^conflict-ffffff\n\n"
    moved = (
        "> [!Resolved]+ Ledger: RTO\n"
        "> - four hours.\n"
        "> - two hours. Queue: [[CONFLICT]] — opened 2026-01-02\n"
        "\n"
        "^conflict-0a1b2c\n"
    )
    out = resolve_callout(other + moved, "conflict-0a1b2c", "2026-02-03")
    assert out == other + moved.replace("[[CONFLICT]]", "resolved 2026-02-03")


def test_resolve_callout_has_nothing_to_do_without_the_callout_or_its_link() -> None:
    assert resolve_callout(OPEN, "conflict-999999", "2026-02-03") is None
    done = resolve_callout(OPEN, "conflict-0a1b2c", "2026-02-03")
    assert done is not None and resolve_callout(done, "conflict-0a1b2c", "2026-02-04") is None
    fenced = "```\n" + OPEN.replace("\r\n", "\n") + "```\n"  # an example, not a callout
    assert resolve_callout(fenced, "conflict-0a1b2c", "2026-02-03") is None
    superseded = "> [!superseded] X\n> [[CONFLICT]]\n\n^superseded-0a1b2c\n"
    assert resolve_callout(superseded, "superseded-0a1b2c", "2026-02-03") is None
