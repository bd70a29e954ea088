"""Multi-file writes as one transaction: staged files plus a journal (design principle 7).

A change that touches several files is written in two phases:

1. *stage*: every new file is written to a temp file beside its target and fsynced;
2. *commit*: a journal naming each (temp, target, expected hash of the target) is written to the
   state folder and fsynced — this is the commit point — then each temp is renamed over its
   target, and the journal is deleted.

A crash before the journal exists leaves only temp files, which `recover` deletes (rolled back:
no target was touched). A crash after it leaves the journal, which `recover` replays (rolled
forward: the remaining renames are done). Either way the next start sees all of the change or
none of it. A target that changed since it was read is never overwritten: the whole change is
refused before anything is renamed.

Every target is placed by `atomic.resolve` (the same walk as a single write): its folders are
opened one by one without following symlinks, a symlink inside the vault is written through (its
target replaced, the link kept), one leading out of the vault refuses the whole change
(`OutsideVault`) before any temp is staged, and a target that is not a regular file
(`NotRegularFile`) likewise. Temps are staged, checked and renamed through the folder descriptors
opened then (one per distinct folder, so a big catalog does not run out of descriptors), and
carry short fixed-length names (`atomic.stage_temp`). The journal, a state file, is created 0600;
vault files get the modes `atomic` gives them. `recover` walks the same way: replays only renames
inside the vault, and deletes only regular stray temps, never following a symlinked folder.
"""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from companion.errors import ChangedOnDisk, OutsideVault
from companion.write.atomic import (
    TEMP_SUFFIX,
    Landed,
    fsync_fd,
    fsync_folder,
    hash_at,
    open_folder,
    resolve,
    stage_temp,
    unlink_at,
    vault_relative,
)

JOURNAL = "journal.json"
# A test hook, never set in use: `COMPANION_TEST_CRASH_AT=staged|committed|renamed-N` (optionally
# `@K`: of the K-th multi-file write) kills the process (SIGKILL, as `kill -9` would) at that step
# of the first (K-th) multi-file write, so a test can
# prove each step recovers (all of the change or none of it) without racing a random kill.
_CRASH_AT = "COMPANION_TEST_CRASH_AT"
_O_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_O_CLOEXEC = getattr(os, "O_CLOEXEC", 0)


@dataclass(frozen=True, slots=True)
class Staged:
    target: Path  # where it lands: the real path, symlinks inside the vault followed
    temp: Path
    expected_hash: str | None  # of the target when it was read; "" = must not exist; None = any
    folder: int  # key of the open folder in `_Folders`
    name: str  # the target's name in that folder
    temp_name: str


class _Folders:
    """The folders one change writes into, opened once each: (base, real folder) -> descriptor."""

    def __init__(self) -> None:
        self.fds: list[int] = []
        self._keys: dict[tuple[str, str], int] = {}

    def adopt(self, base: Path, landed: Landed) -> int:
        """The key of `landed`'s folder; its descriptor is kept (or closed as a duplicate, after
        checking it is the very folder opened before: a folder swapped meanwhile is a change)."""
        key = (str(base), landed.folder)
        known = self._keys.get(key)
        if known is None:
            self.fds.append(landed.dir_fd)
            landed.dir_fd = -1  # ours now
            self._keys[key] = len(self.fds) - 1
            return len(self.fds) - 1
        a, b = os.fstat(self.fds[known]), os.fstat(landed.dir_fd)
        landed.close()
        if (a.st_dev, a.st_ino) != (b.st_dev, b.st_ino):
            raise ChangedOnDisk(f"{base / landed.folder} was replaced while being written to")
        return known

    def close(self) -> None:
        for fd in self.fds:
            os.close(fd)
        self.fds.clear()


def write_files(
    state_dir: Path,
    changes: Mapping[Path, tuple[bytes, str | None]],
    *,
    vault: Path | None = None,
) -> list[Path]:
    """Write every (target -> (bytes, expected hash)) change, all or nothing. Returns where each
    landed (the real paths: a symlink inside the vault is written through).

    `vault`: the folder every target must stay inside (all of its components checked; missing
    folders created). Without it each target's own folder is the boundary (created if missing).
    `OutsideVault`, `NotRegularFile`, `ChangedOnDisk` or an OSError leave every target untouched
    and no temp behind."""
    folders = _Folders()
    staged: list[Staged] = []
    _WRITES[0] += 1
    try:
        try:
            for target, (data, expected) in changes.items():
                staged.append(_stage(folders, vault, target, data, expected))
            for item in staged:
                _check(folders.fds[item.folder], item)
        except BaseException:
            for item in staged:
                unlink_at(folders.fds[item.folder], item.temp_name)
            raise
        _crash_point("staged")
        try:
            _commit(state_dir, staged)
        except Exception:  # the state folder refused the journal: nothing renamed yet, undo
            for item in staged:
                unlink_at(folders.fds[item.folder], item.temp_name)
            raise
        _crash_point("committed")
        done: set[int] = set()
        for number, item in enumerate(staged, 1):
            fd = folders.fds[item.folder]
            os.replace(item.temp_name, item.name, src_dir_fd=fd, dst_dir_fd=fd)
            done.add(fd)
            _crash_point(f"renamed-{number}")
        for fd in done:
            fsync_fd(fd)
    finally:
        folders.close()
    (state_dir / JOURNAL).unlink()
    return [s.target for s in staged]


_WRITES = [0]  # multi-file writes begun by this process (for `step@N`)


def _crash_point(step: str) -> None:
    """The test hook: `step` (the first write's) or `step@N` (the N-th write's) kills us."""
    wanted = os.environ.get(_CRASH_AT)
    if not wanted:
        return
    name, _, nth = wanted.partition("@")
    if name == step and (not nth or int(nth) == _WRITES[0]):
        import signal

        os.kill(os.getpid(), signal.SIGKILL)


def _stage(
    folders: _Folders, vault: Path | None, target: Path, data: bytes, expected: str | None
) -> Staged:
    if vault is None:
        target.parent.mkdir(parents=True, exist_ok=True)
    base = vault if vault is not None else target.parent
    landed = resolve(base, vault_relative(base, target), make_folders=True)
    try:
        key = folders.adopt(base, landed)
    except BaseException:
        landed.close()
        raise
    fd = folders.fds[key]
    real = base / landed.rel
    current = hash_at(fd, landed.name, str(real))  # NotRegularFile: refused before any staging
    _check_hash(real, expected, current)
    temp = stage_temp(fd, data, current[1] if current is not None else None)
    return Staged(real, base / landed.folder / temp, expected, key, landed.name, temp)


def _check(fd: int, item: Staged) -> None:
    current = hash_at(fd, item.name, str(item.target))
    _check_hash(item.target, item.expected_hash, current)


def _check_hash(target: Path, expected: str | None, current: tuple[str, int] | None) -> None:
    if expected is not None and (current[0] if current is not None else "") != expected:
        raise ChangedOnDisk(f"{target} changed since it was read; nothing was written")


def _commit(state_dir: Path, staged: list[Staged]) -> None:
    """Write the journal (0600: a state file) and make it durable: the commit point."""
    journal = state_dir / JOURNAL
    entries = [{"temp": str(s.temp), "target": str(s.target)} for s in staged]
    tmp_journal = journal.with_suffix(".tmp")
    fd = os.open(
        tmp_journal, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | _O_NOFOLLOW | _O_CLOEXEC, 0o600
    )
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        os.fchmod(fd, 0o600)  # a leftover .tmp keeps its mode through O_TRUNC
        json.dump(entries, fh)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp_journal, journal)  # the commit point
    fsync_folder(state_dir)


def _roll_forward(vault: Path, entries: list[dict[str, str]]) -> int:
    """Redo the renames a crash interrupted, each only inside the vault; returns how many."""
    redone = 0
    for entry in entries:
        temp, target = Path(entry["temp"]), Path(entry["target"])
        if temp.parent != target.parent:
            continue  # not a journal this module wrote
        try:
            landed = open_folder(vault, _folder_rel(vault, target.parent))
        except (OSError, OutsideVault):
            continue  # its folder is gone or now leads out of the vault: leave it alone
        with landed:
            if _redo(landed.dir_fd, temp.name, target.name):
                redone += 1
    return redone


def _redo(fd: int, temp: str, name: str) -> bool:
    """Rename staged `temp` over `name` in folder `fd` if both are still what was journaled."""
    staged, current = _lstat(fd, temp), _lstat(fd, name)
    if staged is None or not stat.S_ISREG(staged.st_mode):
        return False  # renamed before the crash (or not ours any more)
    if current is not None and not stat.S_ISREG(current.st_mode):
        return False  # a FIFO, folder or link took the target's place: not ours to replace
    if current is not None and stat.S_IMODE(current.st_mode) != stat.S_IMODE(staged.st_mode):
        _chmod_at(
            fd, temp, stat.S_IMODE(current.st_mode)
        )  # a journal from before modes were staged
    os.replace(temp, name, src_dir_fd=fd, dst_dir_fd=fd)
    fsync_fd(fd)
    return True


def _folder_rel(vault: Path, folder: Path) -> str:
    if os.path.realpath(folder) == os.path.realpath(vault):
        return ""
    return vault_relative(vault, folder)


def _lstat(fd: int, name: str) -> os.stat_result | None:
    try:
        return os.stat(name, dir_fd=fd, follow_symlinks=False)
    except FileNotFoundError:
        return None


def _is_regular(fd: int, name: str) -> bool:
    st = _lstat(fd, name)
    return st is not None and stat.S_ISREG(st.st_mode)


def _chmod_at(fd: int, name: str, mode: int) -> None:
    file_fd = os.open(name, os.O_RDONLY | _O_NOFOLLOW | _O_CLOEXEC, dir_fd=fd)
    try:
        os.fchmod(file_fd, mode)
    finally:
        os.close(file_fd)


def recover(state_dir: Path, vault: Path) -> str | None:
    """Finish or undo a multi-file write interrupted by a crash; returns what was done."""
    journal = state_dir / JOURNAL
    journal.with_suffix(".tmp").unlink(missing_ok=True)  # a journal never committed
    if journal.exists():
        try:
            entries = json.loads(journal.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            entries = None
        if isinstance(entries, list):
            _roll_forward(vault, entries)
            journal.unlink()
            return f"finished an interrupted write of {len(entries)} files"
        journal.unlink()
    strays = 0
    # fwalk: folders are walked through descriptors and never through a symlink (the vault's own
    # path may be one: its real path is walked); only regular files are deleted (a person's symlink or FIFO with such a name is not ours).
    for _, dirs, files, dir_fd in os.fwalk(os.path.realpath(vault)):
        dirs[:] = [d for d in dirs if not d.startswith(".")]  # .git, .obsidian: not ours
        for name in files:
            if name.startswith(".") and name.endswith(TEMP_SUFFIX) and _is_regular(dir_fd, name):
                unlink_at(dir_fd, name)
                strays += 1
    return f"removed {strays} files staged by an interrupted write" if strays else None
