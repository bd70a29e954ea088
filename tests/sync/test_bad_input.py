"""Bad input gets a clear problem with the path and the reason, changes nothing, stops nothing."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.helpers import OpenApp

GOOD = {"Good.md": "# Good\n\nA perfectly fine note about lighthouses. [[Broken YAML]]\n"}


def _digests(vault: Path) -> dict[str, tuple[str, int]]:
    out = {}
    for p in vault.rglob("*"):
        rel = p.relative_to(vault).as_posix()
        # companion's own: the generated notes, and its hidden folder (lease, vault id)
        generated = rel in ("index.md", "log.md") or rel.startswith(("index/", ".companion/"))
        if p.is_file() and not p.is_symlink() and not generated:
            out[str(p.relative_to(vault))] = (
                hashlib.sha256(p.read_bytes()).hexdigest(),
                p.stat().st_mtime_ns,
            )
    return out


def _problems(app) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return {p["path"]: p["message"] for p in app.status().as_json()["problems"]}


@pytest.fixture
def bad_vault(make_vault: Callable[..., Path]) -> Path:
    vault = make_vault(
        {
            **GOOD,
            "Broken YAML.md": "---\ntitle: [unclosed\nversion: 2\n---\nBody text about harbours survives.\n",
            "Latin1.md": "caf\xe9 cr\xe8me notes about espresso\n".encode("latin-1"),
            "Binary.md": b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 4,
            "Huge.md": b"",  # filled below, sparse
            "Bad: name?.md": "a note whose name Obsidian refuses\n",
        }
    )
    with open(vault / "Huge.md", "wb") as fh:  # 50 MB, over the default 10 MB limit
        fh.truncate(50 * 1024 * 1024)
        fh.seek(0)
        fh.write(b"# huge\n")
    os.symlink(vault, vault / "loop")  # a symlink to the vault itself
    os.symlink(vault / "nowhere.md", vault / "Dangling.md")
    return vault


def test_bad_files_are_reported_with_path_and_reason_and_good_ones_indexed(
    bad_vault: Path, open_app: OpenApp
) -> None:
    app = open_app(bad_vault)
    result = app.index(embed=False)
    problems = _problems(app)
    assert "malformed YAML" in problems["Broken YAML.md"]
    assert "UTF-8" in problems["Latin1.md"]
    assert "binary" in problems["Binary.md"]
    assert "50 MB" in problems["Huge.md"] and "limit" in problems["Huge.md"]
    assert "Obsidian refuses" in problems["Bad: name?.md"]
    assert "loop" in problems and "Dangling.md" in problems
    assert result.sync.problems  # also returned to the caller
    # Everything else is indexed, including the readable parts of the bad notes.
    assert [h.path for h in app.search("lighthouses", mode="bm25")] == ["Good.md"]
    assert [h.path for h in app.search("harbours", mode="bm25")] == ["Broken YAML.md"]
    assert [h.path for h in app.search("espresso", mode="bm25")] == ["Latin1.md"]
    # Skipped files still exist as link targets.
    assert app.store.pages.get("Huge.md") is not None


def test_bad_input_never_modifies_a_file(bad_vault: Path, open_app: OpenApp) -> None:
    before = _digests(bad_vault)
    app = open_app(bad_vault)
    app.index(embed=False)
    app.index(embed=False)
    assert _digests(bad_vault) == before


def test_a_fixed_file_loses_its_problem(bad_vault: Path, open_app: OpenApp) -> None:
    app = open_app(bad_vault)
    app.index(embed=False)
    (bad_vault / "Broken YAML.md").write_text("---\nversion: 2\n---\nfixed\n", encoding="utf-8")
    app.index(embed=False)
    assert "Broken YAML.md" not in _problems(app)


def test_problems_are_stable_across_runs(bad_vault: Path, open_app: OpenApp) -> None:
    app = open_app(bad_vault)
    app.index(embed=False)
    first = app.store.snapshot()
    second_result = app.index(embed=False)
    assert not second_result.sync.changed_anything
    assert app.store.snapshot() == first


def test_a_vanished_file_between_walk_and_read_keeps_its_rows(
    make_vault: Callable[..., Path], open_app: OpenApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Unreadable (here: unreadable at read time) never removes anything from the index."""
    vault = make_vault({"Keep.md": "tidal charts for the harbour\n"})
    app = open_app(vault)
    app.index(embed=False)
    (vault / "Keep.md").write_text("tidal charts, revised\n", encoding="utf-8")

    from companion.vault.walk import read_note_bytes as real

    def flaky(path: Path, limit: int) -> bytes:
        if path.name == "Keep.md":
            from companion.errors import UnreadableFile

            raise UnreadableFile(f"{path}: permission denied")
        return real(path, limit)

    monkeypatch.setattr("companion.sync.page.read_note_bytes", flaky)
    app.index(embed=False)
    assert [h.path for h in app.search("tidal", mode="bm25")] == ["Keep.md"]
    assert "permission denied" in _problems(app)["Keep.md"]
    monkeypatch.undo()
    app.index(embed=False)
    assert "Keep.md" not in _problems(app)
    assert app.search("revised", mode="bm25")[0].path == "Keep.md"


def test_a_name_that_is_not_utf8_costs_only_itself_in_a_watcher_batch(
    make_vault: Callable[..., Path], open_app: OpenApp
) -> None:
    """The daemon syncs a batch of paths in one transaction: a name the index cannot hold must be
    a problem of its own, never an exception that rolls the other edits of the batch back."""
    vault = make_vault(GOOD)
    app = open_app(vault)
    app.index(embed=False)
    bad = os.fsencode(vault) + b"/caf\xe9.md"
    with open(bad, "wb") as fh:
        fh.write(b"latin-1 name\n")
    (vault / "Fresh.md").write_text("tugboats berth here\n", encoding="utf-8")
    name = os.fsdecode(b"caf\xe9.md")
    report = app.sync_paths([name, "Fresh.md"])
    assert report.added == ["Fresh.md"]
    assert [h.path for h in app.search("tugboats", mode="bm25")] == ["Fresh.md"]
    assert any("not valid UTF-8" in message for _, message in report.problems)
