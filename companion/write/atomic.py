"""Writing one file safely: atomic replace, re-checked against what was read, never out of the vault.

`atomic_write` writes through a temp file in the same folder (fsync, `os.replace`, fsync the
folder), refusing when the file changed since the caller read it (`ChangedOnDisk`). `OwnWrites`
remembers the hash of every file the companion wrote, so the watcher events its own writes cause
are recognised (the file still holds exactly those bytes) and ignored.
"""

from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path

from companion.errors import ChangedOnDisk, OutsideVault
from companion.vault.walk import content_hash

# Every file the companion stages ends with this (dot-prefixed names: the walk never lists them);
# `journal.recover` deletes strays left by a crash.
TEMP_SUFFIX = ".companion-tmp"


def inside_vault(vault_root: Path, path: Path) -> bool:
    """Whether `path`, symlinks followed, is inside the vault: never write outside it."""
    root = os.path.realpath(vault_root)
    return os.path.realpath(path).startswith(root + os.sep)


def atomic_write(abs_path: Path, data: bytes, expected_hash: str | None) -> str:
    """Replace `abs_path` with `data` atomically; return the sha256 hex of `data`.

    `expected_hash`: None writes unconditionally; "" means the file must not exist yet; any other
    value must equal the hash of the current file (a missing file counts as changed). Otherwise
    `ChangedOnDisk` is raised and nothing is written. The check runs after the temp file is synced,
    just before the rename, to keep the race window with an editor as short as we can make it.
    When the file already holds exactly `data`, nothing is written (no mtime change, no echo).
    An existing file keeps its permission bits; a symlink is written through, not replaced.
    OSError (disk full, read-only folder) propagates; the temp file is removed.
    """
    path = Path(os.path.realpath(abs_path))
    new_hash = content_hash(data)
    folder = path.parent
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{path.name}.", suffix=TEMP_SUFFIX)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        current, mode = _current(path)
        if expected_hash is not None:
            _check_unchanged(path, current, expected_hash)
        if current is not None and content_hash(current) == new_hash:
            os.unlink(tmp)
            return new_hash
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    fsync_folder(folder)
    return new_hash


def _current(path: Path) -> tuple[bytes | None, int]:
    """(bytes or None when missing, permission bits the new file should get)."""
    try:
        with open(path, "rb") as fh:
            return fh.read(), stat.S_IMODE(os.fstat(fh.fileno()).st_mode)
    except FileNotFoundError:
        return None, 0o666 & ~_umask()


def _check_unchanged(path: Path, current: bytes | None, expected_hash: str) -> None:
    if expected_hash == "":
        if current is not None:
            raise ChangedOnDisk(
                f"{path} appeared since it was checked; nothing written, retry later"
            )
        return
    if current is None:
        raise ChangedOnDisk(f"{path} was deleted since it was read; nothing written")
    if content_hash(current) != expected_hash:
        raise ChangedOnDisk(
            f"{path} changed on disk since it was read (someone is editing it); nothing written, "
            "retry later"
        )


def _umask() -> int:
    # os.umask can only be read by setting it, which races with other threads creating files;
    # Linux exposes it read-only in /proc.
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    return 0o022


def fsync_folder(folder: Path) -> None:
    """Make the rename itself durable. Not possible on every platform (Windows): best effort."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def landing(vault: Path, rel: str) -> Path:
    """The absolute path a write to vault-relative `rel` lands on, or `OutsideVault` when it (or a
    symlink on the way) leads out of the vault. The one place that decides where a write may land."""
    target = vault / rel
    if not inside_vault(vault, target):
        raise OutsideVault(f"{rel} is a link to a file outside the vault; nothing written")
    return target


class OwnWrites:
    """What the companion itself wrote: vault path -> hash of the bytes it wrote there.

    A watcher event for a recorded path whose file still holds exactly those bytes is the echo of
    our own write and is ignored; any other bytes are a new edit (and the record is dropped). The one
    place that decides what counts as our own write."""

    def __init__(self, vault: Path) -> None:
        self.vault = vault
        self._written: dict[str, str] = {}
        self.echoes = 0  # events recognised as our own and ignored
        self.recorded = 0  # writes recorded

    def record(self, path: str, written_hash: str | None = None) -> None:
        """Remember a write; without its hash, the file's current bytes are taken as ours."""
        self.recorded += 1
        if written_hash is None:
            try:
                written_hash = content_hash((self.vault / path).read_bytes())
            except OSError:
                return
        self._written[path] = written_hash

    def is_echo(self, path: str) -> bool:
        """True for an event caused by our own write (the file still holds what we wrote)."""
        written = self._written.get(path)
        if written is None:
            return False
        try:
            current = content_hash((self.vault / path).read_bytes())
        except OSError:
            current = None
        if current == written:
            self.echoes += 1
            return True
        del self._written[path]
        return False
