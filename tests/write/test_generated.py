"""Generated notes (index.md, its sub-indexes, log.md) against hostile files: every one is a refusal
with its reason, never a hang, a runaway read, or a write or delete outside the vault (real FIFOs,
real symlinks to devices and to outside folders)."""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from pathlib import Path

import pytest

from companion.write.generated import append_entry, write_notes
from tests.helpers import write
from tests.write.test_atomic import LONG_NAME, fifos, finishes, mode, tree, umask_027

__all__ = ["fifos", "umask_027"]  # fixtures shared with test_atomic

GEN = "---\ngenerated_by: companion\n---\n"
HEADER = GEN + "# Log\n"
ENTRY = "## [2024-05-01 10:00] index | 1 added\n"


@pytest.fixture
def vault(tmp_path: Path) -> Path:
    root = tmp_path / "vault"
    write(root, "Note.md", "a person's note\n")
    return root


@pytest.fixture
def state(tmp_path: Path) -> Path:
    folder = tmp_path / "state"
    folder.mkdir()
    return folder


def catalog(extra: str = "") -> dict[str, str]:
    return {
        "index.md": GEN + "# Index\n" + extra,
        "index/Notes.md": GEN + "# Notes\n" + extra,
    }


def refused_for(report_refused: list[tuple[str, str]], path: str) -> str:
    reasons = [why for where, why in report_refused if where == path]
    assert reasons, f"no refusal for {path}: {report_refused}"
    return reasons[0]


# -- FIFOs: never waited on ------------------------------------------------------------------------


def test_a_fifo_index_md_is_refused_and_the_rest_of_the_catalog_written(
    vault: Path, state: Path, fifos: Callable[[Path], Path]
) -> None:
    """`companion index` used to block for good in open() (writer lock held, SIGTERM ignored)."""
    fifos(vault / "index.md")
    report = finishes(lambda: write_notes(vault, state, catalog(), "index", "catalog"))
    assert "named pipe (FIFO)" in refused_for(report.refused, "index.md")
    assert report.written == ["index/Notes.md"]
    assert stat.S_ISFIFO((vault / "index.md").lstat().st_mode)


def test_a_fifo_log_md_is_refused_not_waited_on(vault: Path, fifos: Callable[[Path], Path]) -> None:
    fifos(vault / "log.md")
    report = finishes(lambda: append_entry(vault, "log.md", HEADER, ENTRY))
    why = refused_for(report.refused, "log.md")
    assert "log.md is a named pipe (FIFO)" in why and "nothing written" in why
    assert report.written == [] and stat.S_ISFIFO((vault / "log.md").lstat().st_mode)


def test_a_fifo_among_the_sub_indexes_is_neither_read_nor_removed(
    vault: Path, state: Path, fifos: Callable[[Path], Path]
) -> None:
    fifos(vault / "index" / "Old.md")
    report = finishes(lambda: write_notes(vault, state, catalog(), "index", "catalog"))
    assert report.removed == [] and stat.S_ISFIFO((vault / "index" / "Old.md").lstat().st_mode)


# -- links to endless devices: never read -------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "device"), [("log.md", "/dev/zero"), ("index.md", "/dev/urandom")]
)
def test_a_link_to_an_endless_device_is_refused_without_reading(
    vault: Path, state: Path, path: str, device: str
) -> None:
    """log.md -> /dev/zero was read until memory ran out."""
    os.symlink(device, vault / path)
    if path == "log.md":
        report = finishes(lambda: append_entry(vault, path, HEADER, ENTRY))
    else:
        report = finishes(lambda: write_notes(vault, state, catalog(), "index", "catalog"))
    assert f"it is a link to {device}" in refused_for(report.refused, path)
    assert os.readlink(vault / path) == device


def test_a_log_over_the_limit_is_refused_and_kept_as_it_is(vault: Path) -> None:
    log = write(vault, "log.md", HEADER + "x" * 2000 + "\n")
    before = log.read_bytes()
    report = append_entry(vault, "log.md", HEADER, ENTRY, limit=1000)
    assert "over 1,000 bytes" in refused_for(report.refused, "log.md")
    assert log.read_bytes() == before


# -- symlinks out of the vault: never written, staged or deleted through ----------------------------


def test_log_md_linked_out_of_the_vault_is_never_appended_to(vault: Path, tmp_path: Path) -> None:
    outside = write(tmp_path, "outside/log.md", HEADER)
    os.symlink(outside, vault / "log.md")
    report = append_entry(vault, "log.md", HEADER, ENTRY)
    assert "leads outside the vault" in refused_for(report.refused, "log.md")
    assert tree(outside.parent) == {"log.md": HEADER.encode()}  # unchanged, no temp beside it
    assert (vault / "log.md").is_symlink()


def test_an_index_folder_linked_out_of_the_vault_is_never_written_or_cleaned(
    vault: Path, state: Path, tmp_path: Path
) -> None:
    """Sub-index notes used to be created in the outside folder, and an outside file that looked
    generated was deleted as a stale sub-index."""
    outside = tmp_path / "outside"
    write(outside, "Looks generated.md", GEN + "someone else's\n")
    os.symlink(outside, vault / "index")
    report = write_notes(vault, state, catalog(), "index", "catalog")
    assert "index is a link to" in refused_for(report.refused, "index/Notes.md")
    assert "stale notes not removed" in refused_for(report.refused, "index/")
    assert tree(outside) == {"Looks generated.md": (GEN + "someone else's\n").encode()}
    assert report.written == ["index.md"] and report.removed == []


def test_index_md_linked_out_of_the_vault_is_refused_and_stays_a_link(
    vault: Path, state: Path, tmp_path: Path
) -> None:
    outside = write(tmp_path, "outside.md", GEN + "# Index\nold\n")
    os.symlink(outside, vault / "index.md")
    report = write_notes(vault, state, catalog(), "index", "catalog")
    assert "leads outside the vault" in refused_for(report.refused, "index.md")
    assert outside.read_text() == GEN + "# Index\nold\n"
    assert (vault / "index.md").is_symlink()


# -- symlinks inside the vault: written through, the link kept -------------------------------------


def test_index_md_linked_inside_the_vault_is_written_through_and_both_paths_reported(
    vault: Path, state: Path
) -> None:
    """A symlinked index.md used to be silently replaced by a regular file."""
    write(vault, "meta/Catalog.md", GEN + "# Index\nold\n")
    os.symlink("meta/Catalog.md", vault / "index.md")
    report = write_notes(vault, state, catalog(), "index", "catalog")
    assert (vault / "index.md").is_symlink()
    assert (vault / "meta" / "Catalog.md").read_text() == catalog()["index.md"]
    assert report.written == ["index.md", "index/Notes.md", "meta/Catalog.md"]
    assert report.hashes["index.md"] == report.hashes["meta/Catalog.md"]


def test_a_link_to_a_persons_note_is_refused_like_the_note(vault: Path, state: Path) -> None:
    os.symlink("Note.md", vault / "index.md")
    report = write_notes(vault, state, catalog(), "index", "catalog")
    assert "not written by companion" in refused_for(report.refused, "index.md")
    assert (vault / "Note.md").read_text() == "a person's note\n"


def test_log_md_linked_inside_the_vault_is_appended_through(vault: Path) -> None:
    write(vault, "archive/log.md", HEADER)
    os.symlink("archive/log.md", vault / "log.md")
    report = append_entry(vault, "log.md", HEADER, ENTRY)
    assert (vault / "log.md").is_symlink()
    assert (vault / "archive" / "log.md").read_text() == HEADER + ENTRY
    assert report.written == ["log.md", "archive/log.md"]


def test_only_regular_generated_files_are_removed_as_stale(vault: Path, state: Path) -> None:
    """A link in index/ — even to a generated note elsewhere in the vault — is not companion's."""
    write(vault, "index/Stale.md", GEN + "# Old section\n")
    write(vault, "index/Mine.md", "a person's note in index/\n")
    keep = write(vault, "kept/Generated.md", GEN + "# generated elsewhere\n")
    os.symlink(keep, vault / "index" / "Linked.md")
    report = write_notes(vault, state, catalog(), "index", "catalog")
    assert report.removed == ["index/Stale.md"]
    assert (vault / "index" / "Linked.md").is_symlink() and keep.exists()
    assert (vault / "index" / "Mine.md").exists()


# -- names and modes ---------------------------------------------------------------------------------


def test_a_255_byte_sub_index_name_is_written(vault: Path, state: Path) -> None:
    notes = {"index.md": GEN + "# Index\n", f"index/{LONG_NAME}": GEN + "# Long\n"}
    report = write_notes(vault, state, notes, "index", "catalog")
    assert report.refused == [] and (vault / "index" / LONG_NAME).read_text() == GEN + "# Long\n"


def test_generated_notes_get_the_modes_an_editor_would_leave(
    vault: Path, state: Path, umask_027: int
) -> None:
    """index.md, its sub-indexes and log.md were all created 0600 (mkstemp's mode)."""
    write_notes(vault, state, catalog(), "index", "catalog")
    append_entry(vault, "log.md", HEADER, ENTRY)
    new = 0o666 & ~umask_027
    assert [mode(vault / p) for p in ("index.md", "index/Notes.md", "log.md")] == [new] * 3
    (vault / "index.md").chmod(0o644)
    (vault / "log.md").chmod(0o604)
    write_notes(vault, state, catalog("changed\n"), "index", "catalog")
    append_entry(vault, "log.md", HEADER, ENTRY)
    assert (mode(vault / "index.md"), mode(vault / "log.md")) == (0o644, 0o604)
