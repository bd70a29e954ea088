"""Writing one file: atomic replace, re-checked against the hash that was read (real files)."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from companion.errors import (
    ChangedOnDisk,
    CompanionError,
)
from companion.vault.walk import content_hash
from companion.write.atomic import atomic_write
from tests.helpers import write

# -- atomic_write ----------------------------------------------------------------------------------


def test_atomic_write_creates_and_returns_hash(tmp_path: Path) -> None:
    path = tmp_path / "New.md"
    assert atomic_write(path, b"hello", None) == content_hash(b"hello")
    assert path.read_bytes() == b"hello"
    assert [p.name for p in tmp_path.iterdir()] == ["New.md"]  # no temp file left behind


def test_atomic_write_with_matching_hash_replaces(tmp_path: Path) -> None:
    path = write(tmp_path, "Page.md", b"v1")
    atomic_write(path, b"v2", content_hash(b"v1"))
    assert path.read_bytes() == b"v2"


def test_atomic_write_refuses_when_the_file_changed(tmp_path: Path) -> None:
    path = write(tmp_path, "Page.md", b"v1")
    expected = content_hash(b"v1")
    path.write_bytes(b"edited by a human")
    with pytest.raises(ChangedOnDisk, match="changed on disk"):
        atomic_write(path, b"v2", expected)
    assert path.read_bytes() == b"edited by a human"
    assert [p.name for p in tmp_path.iterdir()] == ["Page.md"]
    assert issubclass(ChangedOnDisk, CompanionError)


def test_atomic_write_refuses_when_the_file_vanished(tmp_path: Path) -> None:
    with pytest.raises(ChangedOnDisk, match="deleted"):
        atomic_write(tmp_path / "Gone.md", b"v2", content_hash(b"v1"))
    assert not (tmp_path / "Gone.md").exists()


def test_atomic_write_empty_expected_hash_means_must_not_exist(tmp_path: Path) -> None:
    atomic_write(tmp_path / "Fresh.md", b"a", "")
    with pytest.raises(ChangedOnDisk, match="appeared"):
        atomic_write(tmp_path / "Fresh.md", b"b", "")
    assert (tmp_path / "Fresh.md").read_bytes() == b"a"


def test_atomic_write_keeps_the_file_mode(tmp_path: Path) -> None:
    path = write(tmp_path, "Mode.md", b"v1")
    path.chmod(0o640)
    atomic_write(path, b"v2", None)
    assert stat.S_IMODE(path.stat().st_mode) == 0o640


def test_atomic_write_of_identical_content_does_not_touch_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, "Same.md", b"same")
    os.utime(path, ns=(1_000_000_000, 1_000_000_000))
    assert atomic_write(path, b"same", content_hash(b"same")) == content_hash(b"same")
    assert path.stat().st_mtime_ns == 1_000_000_000


def test_atomic_write_through_a_symlink_keeps_the_link(tmp_path: Path) -> None:
    target = write(tmp_path, "real.md", b"v1")
    os.symlink("real.md", tmp_path / "link.md")
    atomic_write(tmp_path / "link.md", b"v2", None)
    assert (tmp_path / "link.md").is_symlink()
    assert target.read_bytes() == b"v2"


def test_the_state_folder_is_private_from_the_start(tmp_path: Path) -> None:
    """It holds the index of the vault's text: no other local user may read it, daemon or not."""
    from companion.write.state import ensure_state_dir

    state = ensure_state_dir(tmp_path / "deep" / "state")
    assert stat.S_IMODE(state.stat().st_mode) == 0o700


def test_concurrent_starts_on_one_state_folder_all_find_it_writable(tmp_path: Path) -> None:
    """Every process used to write and unlink the same probe file: one start's unlink made
    another's fail with "No such file or directory"."""
    import threading

    from companion.write.state import ensure_state_dir

    errors: list[BaseException] = []

    def start() -> None:
        try:
            for _ in range(50):
                ensure_state_dir(tmp_path / "state")
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=start) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert list((tmp_path / "state").iterdir()) == []  # no probe left behind
