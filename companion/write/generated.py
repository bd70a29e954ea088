"""Writing the notes the companion generates: index.md (+ sub-indexes), log.md, and any other
generated note (CONFLICT.md next) — from texts already rendered, never from a store.

A generated note is only ever written when (a) it does not exist, or (b) it carries the
`generated_by: companion` marker — so a person's own `index.md` or `log.md` is never overwritten —
and only when its content actually changes (idempotency: rewriting identical content does not
touch the file). Every write re-checks the hash it read; a set of notes is written together as
one journaled transaction (`journal.write_files`), an appended entry atomically
(`atomic.atomic_write`). log.md is append-only: the new entry is added after the existing bytes,
which are kept exactly.

Hostile files are refusals in the `WriteReport`, with the reason, never a hang or a write
elsewhere: every existing note is read with `atomic.read_landed` (never blocking on a FIFO, only a
regular file, at most `limit` bytes, resolved inside the vault), and written through the same
walk. A symlink inside the vault is written through: the note's real path is reported as written
besides the link's (both now hold the new bytes, and both echo in the watcher); the link stays a
link. A symlink — the note or a folder above it — that leads out of the vault is refused, and so
is removing stale sub-indexes in a folder that does: only regular files inside the vault that
carry the marker are ever deleted.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from companion.errors import ChangedOnDisk, CompanionError
from companion.render.index_md import GENERATED_KEY
from companion.vault.walk import content_hash
from companion.write.atomic import atomic_write, open_folder, read_at, read_landed
from companion.write.journal import write_files

# The most companion reads of a generated note to rewrite it (log.md is rewritten whole to append
# an entry). Far above any catalog or years of log entries; a bigger file is refused, not read.
REWRITE_LIMIT = 64 * 1024 * 1024


@dataclass(slots=True)
class WriteReport:
    written: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    refused: list[tuple[str, str]] = field(default_factory=list)  # (path, why)
    hashes: dict[str, str] = field(default_factory=dict)  # path -> hash of the bytes written

    @property
    def touched(self) -> list[str]:
        """Every path written or removed."""
        return self.written + self.removed

    def merge(self, later: WriteReport) -> None:
        """Add what a later write did (a catalog re-rendered until stable)."""
        self.written += [p for p in later.written if p not in self.written]
        self.removed += [p for p in later.removed if p not in self.removed]
        self.refused += later.refused
        self.hashes.update(later.hashes)


def is_generated(data: bytes) -> bool:
    """True when the bytes start with frontmatter holding `generated_by: companion`."""
    head = data[:400].decode("utf-8", "replace").lstrip("\ufeff")
    if not head.startswith("---"):
        return False
    end = head.find("\n---", 3)
    return end != -1 and f"{GENERATED_KEY}: companion" in head[:end]


@dataclass(frozen=True, slots=True)
class _Current:
    writable: bool
    data: bytes | None = None  # None: the note does not exist yet
    real: str = ""  # where it really is (a symlink inside the vault followed)

    @property
    def expected_hash(self) -> str:
        """What the file must still hash to when it is replaced ("" = must not exist)."""
        return "" if self.data is None else content_hash(self.data)


def _read_generated(vault: Path, path: str, report: WriteReport, fix: str, limit: int) -> _Current:
    """The current bytes of a generated note, or not writable (unreadable, not a regular file,
    too large, leading out of the vault, or a person's note: `fix` says what to do), recorded in
    `report`."""
    try:
        current, real = read_landed(vault, path, limit)
    except ChangedOnDisk as exc:
        report.refused.append((path, f"changed while being read ({exc})"))
        return _Current(False)
    except CompanionError as exc:  # OutsideVault, NotRegularFile, FileTooLarge
        report.refused.append((path, str(exc)))
        return _Current(False)
    except OSError as exc:
        report.refused.append((path, f"cannot read it: {exc.strerror or exc}"))
        return _Current(False)
    if current is None:
        return _Current(True, None, real)
    if not is_generated(current):
        report.refused.append((path, f"exists and was not written by companion; {fix}"))
        return _Current(False)
    return _Current(True, current, real)


def _wrote(report: WriteReport, path: str, real: str, written_hash: str) -> None:
    for where in dict.fromkeys((path, real)):
        report.written.append(where)
        report.hashes[where] = written_hash


def write_notes(
    vault: Path,
    state_dir: Path,
    notes: Mapping[str, str],
    stale_folder: str | None = None,
    what: str = "note",
    *,
    limit: int = REWRITE_LIMIT,
) -> WriteReport:
    """Write the generated notes {vault path: text} that changed, all of them or none (one
    journaled transaction). With `stale_folder`, generated notes in that folder that are no longer
    among `notes` (sub-indexes of an earlier, bigger catalog) are removed. `what` names the set in
    messages ("catalog"); `limit` is the most read of an existing note."""
    report = WriteReport()
    first = next(iter(notes), "")
    changes: dict[Path, tuple[bytes, str | None]] = {}
    reals: dict[str, str] = {}  # real path -> the note written there
    for path, text in notes.items():
        current = _read_generated(
            vault, path, report, f"rename it so companion can write its {what}", limit
        )
        data = text.encode("utf-8")
        if not current.writable or current.data == data:
            continue
        if current.real in reals:  # index.md linked to index/A.md: two texts for one file
            report.refused.append(
                (path, f"is a link to {current.real}, which companion writes as well; left alone")
            )
            continue
        reals[current.real] = path
        changes[vault / path] = (data, current.expected_hash)
    if changes:
        try:
            write_files(state_dir, changes, vault=vault)
        except ChangedOnDisk as exc:
            report.refused.append(
                (first, f"a {what} note changed while being written; retried ({exc})")
            )
            return report
        except CompanionError as exc:  # a note became a link out of the vault, or a FIFO
            report.refused.append((first, f"the {what} was not written: {exc}"))
            return report
        except OSError as exc:  # a read-only vault, a full disk: the index is still current
            report.refused.append((first, f"cannot write the {what}: {exc.strerror or exc}"))
            return report
        for real, path in reals.items():
            _wrote(report, path, real, content_hash(changes[vault / path][0]))
        report.written.sort()
    if stale_folder:
        _remove_stale(vault, stale_folder, notes, report, limit)
    return report


def _remove_stale(
    vault: Path, folder: str, notes: Mapping[str, str], report: WriteReport, limit: int
) -> None:
    """Remove the generated notes in `folder` that are not among `notes`: only regular files
    inside the vault that carry the marker, found and removed through the open folder (a folder
    swapped for a link meanwhile is not followed)."""
    try:
        landed = open_folder(vault, folder)
    except (FileNotFoundError, NotADirectoryError):
        return  # no such folder (or a file of that name): nothing of ours in it
    except CompanionError as exc:  # OutsideVault: not ours to clean
        report.refused.append((f"{folder}/", f"stale notes not removed: {exc}"))
        return
    except OSError as exc:
        report.refused.append((f"{folder}/", f"stale notes not removed: {exc.strerror or exc}"))
        return
    with landed:
        for name in sorted(os.listdir(landed.dir_fd)):
            rel = f"{folder}/{name}"
            if name.startswith(".") or not name.endswith(".md") or rel in notes:
                continue
            if not _is_stale_note(landed.dir_fd, name, rel, limit):
                continue
            try:
                os.unlink(name, dir_fd=landed.dir_fd)
            except FileNotFoundError:
                continue
            except OSError as exc:
                report.refused.append((rel, f"cannot remove it: {exc.strerror or exc}"))
                continue
            report.removed.append(rel)


def _is_stale_note(dir_fd: int, name: str, rel: str, limit: int) -> bool:
    try:
        before = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
        if not stat.S_ISREG(before.st_mode):
            return False  # a symlink, FIFO or folder: companion never made it
        data = read_at(dir_fd, name, limit, rel)
        after = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
    except (OSError, CompanionError):
        return False  # unreadable, too large, swapped meanwhile: not provably ours, left alone
    same = (before.st_ino, before.st_dev, before.st_mtime_ns) == (
        after.st_ino,
        after.st_dev,
        after.st_mtime_ns,
    )
    return same and data is not None and is_generated(data)


def append_entry(
    vault: Path, path: str, header: str, entry: str, *, limit: int = REWRITE_LIMIT
) -> WriteReport:
    """Append `entry` to the generated note `path` (created with `header` when absent), keeping
    every existing byte. `limit`: the most read of the existing note."""
    report = WriteReport()
    current = _read_generated(vault, path, report, "rename it to keep a log", limit)
    if not current.writable:
        return report
    base = current.data if current.data is not None else header.encode("utf-8")
    if not base.endswith(b"\n"):
        base += b"\n"
    try:
        written = atomic_write(
            vault / path, base + entry.encode("utf-8"), current.expected_hash, vault=vault
        )
    except ChangedOnDisk as exc:
        report.refused.append((path, f"changed while being written ({exc})"))
        return report
    except CompanionError as exc:  # became a link out of the vault, or a FIFO, meanwhile
        report.refused.append((path, str(exc)))
        return report
    except OSError as exc:
        report.refused.append((path, f"cannot write it: {exc.strerror or exc}"))
        return report
    _wrote(report, path, current.real, written)
    return report
