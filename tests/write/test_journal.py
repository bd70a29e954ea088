"""Multi-file writes are one transaction: all files or none, even across a crash (principle 7);
never out of the vault, never over a FIFO, with the modes an editor would leave."""

from __future__ import annotations

import hashlib
import json
import os
import stat
from collections.abc import Callable
from pathlib import Path

import pytest

from companion.errors import ChangedOnDisk, NotRegularFile, OutsideVault
from companion.write.journal import JOURNAL, recover, write_files
from tests.write.test_atomic import LONG_NAME, fifos, finishes, mode, tree, umask_027

__all__ = ["fifos", "umask_027"]  # fixtures shared with test_atomic


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture
def vault(tmp_path: Path) -> Path:
    root = tmp_path / "vault"
    (root / "index").mkdir(parents=True)
    (root / "index.md").write_bytes(b"old index\n")
    (root / "index" / "A.md").write_bytes(b"old a\n")
    return root


def _changes(vault: Path) -> dict[Path, tuple[bytes, str | None]]:
    return {
        vault / "index.md": (b"new index\n", _sha(b"old index\n")),
        vault / "index" / "A.md": (b"new a\n", _sha(b"old a\n")),
        vault / "index" / "B.md": (b"new b\n", ""),
    }


def _contents(vault: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(vault)): p.read_bytes() for p in sorted(vault.rglob("*")) if p.is_file()
    }


def test_all_files_are_written_and_no_journal_or_temp_is_left(vault: Path, tmp_path: Path) -> None:
    write_files(tmp_path, _changes(vault))
    assert _contents(vault) == {
        "index.md": b"new index\n",
        "index/A.md": b"new a\n",
        "index/B.md": b"new b\n",
    }
    assert not (tmp_path / JOURNAL).exists()


def test_a_changed_target_refuses_the_whole_change(vault: Path, tmp_path: Path) -> None:
    (vault / "index" / "A.md").write_bytes(b"a human edited this\n")
    before = _contents(vault)
    with pytest.raises(ChangedOnDisk):
        write_files(tmp_path, _changes(vault))
    assert _contents(vault) == before  # nothing renamed, no temp file left behind


def test_a_crash_before_the_commit_point_rolls_back(
    vault: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = _contents(vault)

    def crash(*_: object) -> None:
        raise SystemExit("killed while writing the journal")

    monkeypatch.setattr("companion.write.journal.json.dump", crash)
    with pytest.raises(SystemExit):
        write_files(tmp_path, _changes(vault))
    monkeypatch.undo()
    assert not (tmp_path / JOURNAL).exists()  # never committed
    assert recover(tmp_path, vault) == "removed 3 files staged by an interrupted write"
    assert _contents(vault) == before
    assert list(tmp_path.glob("journal*")) == []


def test_a_crash_after_the_commit_point_rolls_forward(
    vault: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    renamed: list[str] = []
    real_replace = os.replace

    def kill_after_first_rename(src: object, dst: object, **dir_fds: int) -> None:
        if str(dst).endswith(JOURNAL):
            real_replace(src, dst)  # type: ignore[arg-type]
            return
        if renamed:
            raise SystemExit("kill -9")
        real_replace(src, dst, **dir_fds)  # type: ignore[arg-type]
        renamed.append(str(dst))

    monkeypatch.setattr("companion.write.journal.os.replace", kill_after_first_rename)
    with pytest.raises(SystemExit):
        write_files(tmp_path, _changes(vault))
    monkeypatch.undo()
    assert (tmp_path / JOURNAL).exists()
    assert recover(tmp_path, vault) == "finished an interrupted write of 3 files"
    assert _contents(vault) == {
        "index.md": b"new index\n",
        "index/A.md": b"new a\n",
        "index/B.md": b"new b\n",
    }


def test_new_files_get_the_umask_mode_and_replaced_ones_keep_theirs(
    vault: Path, tmp_path: Path, umask_027: int
) -> None:
    """Staged through mkstemp, every new note used to be 0600."""
    (vault / "index.md").chmod(0o664)
    write_files(tmp_path, _changes(vault), vault=vault)
    assert mode(vault / "index.md") == 0o664  # replaced: its own mode
    assert mode(vault / "index" / "B.md") == 0o666 & ~umask_027 == 0o640  # new: as an editor's


def test_the_journal_is_private_and_holds_no_long_names(
    vault: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    changes = {vault / "index" / LONG_NAME: (b"long\n", "")}
    real_replace = os.replace

    def kill_at_first_rename(src: object, dst: object, **dir_fds: int) -> None:
        if str(dst).endswith(JOURNAL):
            real_replace(src, dst)  # type: ignore[arg-type]
            return
        raise SystemExit("kill -9")

    monkeypatch.setattr("companion.write.journal.os.replace", kill_at_first_rename)
    with pytest.raises(SystemExit):
        write_files(tmp_path, changes, vault=vault)
    monkeypatch.undo()
    assert stat.S_IMODE((tmp_path / JOURNAL).stat().st_mode) == 0o600
    [entry] = json.loads((tmp_path / JOURNAL).read_text())
    assert len(Path(entry["temp"]).name) == 31  # `.<16 hex>.companion-tmp`, whatever the target
    assert recover(tmp_path, vault) == "finished an interrupted write of 1 files"
    assert (vault / "index" / LONG_NAME).read_bytes() == b"long\n"


def test_a_target_folder_linked_out_of_the_vault_refuses_the_whole_change(
    vault: Path, tmp_path: Path
) -> None:
    """The `index/` folder symlinked to an outside folder: sub-index notes were created there."""
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "A.md").write_bytes(b"old a\n")  # looks like what the change expects
    (vault / "index" / "A.md").unlink()
    (vault / "index").rmdir()
    os.symlink(outside, vault / "index")
    before = tree(vault)
    with pytest.raises(OutsideVault, match="index is a link to"):
        write_files(tmp_path, _changes(vault), vault=vault)
    assert tree(outside) == {"A.md": b"old a\n"}  # nothing staged, created or replaced there
    assert tree(vault) == before and not (tmp_path / JOURNAL).exists()


def test_a_symlinked_target_inside_the_vault_is_written_through(
    vault: Path, tmp_path: Path
) -> None:
    """A symlinked index.md used to be silently replaced by a regular file."""
    (vault / "index.md").rename(vault / "Catalog.md")
    os.symlink("Catalog.md", vault / "index.md")
    landed = write_files(tmp_path, _changes(vault), vault=vault)
    assert (vault / "index.md").is_symlink()
    assert (vault / "Catalog.md").read_bytes() == b"new index\n"
    assert vault / "Catalog.md" in landed


def test_a_fifo_target_refuses_the_whole_change_without_blocking(
    vault: Path, tmp_path: Path, fifos: Callable[[Path], Path]
) -> None:
    (vault / "index" / "A.md").unlink()
    fifos(vault / "index" / "A.md")
    before = tree(vault)
    with pytest.raises(NotRegularFile, match=r"A\.md is a named pipe"):
        finishes(lambda: write_files(tmp_path, _changes(vault), vault=vault))
    assert tree(vault) == before


def test_recovery_never_renames_nor_deletes_through_a_link_out_of_the_vault(
    vault: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After a crash, `index/` was replaced by a link to an outside folder holding files named
    like the journal's temps and like strays: recovery touches none of them."""

    def kill(src: object, dst: object, **dir_fds: int) -> None:
        if str(dst).endswith(JOURNAL):
            os.rename(src, dst)  # type: ignore[arg-type]
            return
        raise SystemExit("kill -9")

    monkeypatch.setattr("companion.write.journal.os.replace", kill)
    with pytest.raises(SystemExit):
        write_files(tmp_path, {vault / "index" / "A.md": (b"new a\n", None)}, vault=vault)
    monkeypatch.undo()
    [entry] = json.loads((tmp_path / JOURNAL).read_text())
    outside = tmp_path / "outside"
    (vault / "index").rename(outside)
    os.symlink(outside, vault / "index")
    stray = outside / ".0123456789abcdef.companion-tmp"
    stray.write_bytes(b"someone else's")
    before = tree(outside)
    assert Path(entry["temp"]).name in before  # the staged temp moved out with its folder
    recover(tmp_path, vault)
    assert tree(outside) == before
