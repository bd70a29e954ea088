"""Writing the notes the companion generates: index.md (+ sub-indexes), log.md, and any other
generated note (CONFLICT.md next) — from texts already rendered, never from a store.

A generated note is only ever written when (a) it does not exist, or (b) it carries the
`generated_by: companion` marker — so a person's own `index.md` or `log.md` is never overwritten —
and only when its content actually changes (idempotency: rewriting identical content does not
touch the file). Every write re-checks the hash it read; a set of notes is written together as
one journaled transaction (`journal.write_files`), an appended entry atomically
(`atomic.atomic_write`). log.md is append-only: the new entry is added after the existing bytes,
which are kept exactly.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from companion.errors import ChangedOnDisk
from companion.render.index_md import GENERATED_KEY
from companion.vault.walk import content_hash
from companion.write.atomic import atomic_write
from companion.write.journal import write_files


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

    @property
    def expected_hash(self) -> str:
        """What the file must still hash to when it is replaced ("" = must not exist)."""
        return "" if self.data is None else content_hash(self.data)


def _read_generated(vault: Path, path: str, report: WriteReport, fix: str) -> _Current:
    """The current bytes of a generated note, or not writable (unreadable, or a person's note:
    `fix` says what to do), recorded in `report`."""
    try:
        current = (vault / path).read_bytes()
    except FileNotFoundError:
        return _Current(True)
    except OSError as exc:
        report.refused.append((path, f"cannot read it: {exc.strerror or exc}"))
        return _Current(False)
    if not is_generated(current):
        report.refused.append((path, f"exists and was not written by companion; {fix}"))
        return _Current(False)
    return _Current(True, current)


def write_notes(
    vault: Path,
    state_dir: Path,
    notes: Mapping[str, str],
    stale_folder: str | None = None,
    what: str = "note",
) -> WriteReport:
    """Write the generated notes {vault path: text} that changed, all of them or none (one
    journaled transaction). With `stale_folder`, generated notes in that folder that are no longer
    among `notes` (sub-indexes of an earlier, bigger catalog) are removed. `what` names the set in
    messages ("catalog")."""
    report = WriteReport()
    first = next(iter(notes), "")
    changes: dict[Path, tuple[bytes, str | None]] = {}
    for path, text in notes.items():
        current = _read_generated(
            vault, path, report, f"rename it so companion can write its {what}"
        )
        data = text.encode("utf-8")
        if current.writable and current.data != data:
            changes[vault / path] = (data, current.expected_hash)
    if changes:
        try:
            write_files(state_dir, changes)
        except OSError as exc:  # a read-only vault, a full disk: the index is still current
            report.refused.append((first, f"cannot write the {what}: {exc.strerror or exc}"))
            return report
        except ChangedOnDisk as exc:
            report.refused.append(
                (first, f"a {what} note changed while being written; retried ({exc})")
            )
            return report
        report.written = sorted(p.relative_to(vault).as_posix() for p in changes)
        report.hashes = {
            p.relative_to(vault).as_posix(): content_hash(data) for p, (data, _) in changes.items()
        }
    folder = vault / stale_folder if stale_folder else None
    if folder is not None and folder.is_dir():
        for stale in sorted(folder.glob("*.md")):
            rel = f"{stale_folder}/{stale.name}"
            if rel not in notes and is_generated(stale.read_bytes()):
                stale.unlink()
                report.removed.append(rel)
    return report


def append_entry(vault: Path, path: str, header: str, entry: str) -> WriteReport:
    """Append `entry` to the generated note `path` (created with `header` when absent), keeping
    every existing byte."""
    report = WriteReport()
    current = _read_generated(vault, path, report, "rename it to keep a log")
    if not current.writable:
        return report
    base = current.data if current.data is not None else header.encode("utf-8")
    if not base.endswith(b"\n"):
        base += b"\n"
    try:
        written = atomic_write(vault / path, base + entry.encode("utf-8"), current.expected_hash)
    except ChangedOnDisk as exc:
        report.refused.append((path, f"changed while being written ({exc})"))
        return report
    except OSError as exc:
        report.refused.append((path, f"cannot write it: {exc.strerror or exc}"))
        return report
    report.written.append(path)
    report.hashes[path] = written
    return report
