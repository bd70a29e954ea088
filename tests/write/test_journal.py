"""Multi-file writes are one transaction: all files or none, even across a crash (principle 7)."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from companion.errors import ChangedOnDisk
from companion.write.journal import JOURNAL, recover, write_files


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

    def kill_after_first_rename(src: object, dst: object) -> None:
        if str(dst).endswith(JOURNAL):
            real_replace(src, dst)  # type: ignore[arg-type]
            return
        if renamed:
            raise SystemExit("kill -9")
        real_replace(src, dst)  # type: ignore[arg-type]
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
