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
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from companion.errors import ChangedOnDisk
from companion.vault.walk import content_hash
from companion.write.atomic import TEMP_SUFFIX, fsync_folder

JOURNAL = "journal.json"


@dataclass(frozen=True, slots=True)
class Staged:
    target: Path
    temp: Path
    expected_hash: str | None  # of the target when it was read; "" = must not exist; None = any


def _stage(target: Path, data: bytes, expected_hash: str | None) -> Staged:
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=TEMP_SUFFIX)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    return Staged(target, Path(tmp), expected_hash)


def _current_hash(path: Path) -> str:
    try:
        return content_hash(path.read_bytes())
    except FileNotFoundError:
        return ""


def write_files(state_dir: Path, changes: dict[Path, tuple[bytes, str | None]]) -> list[Path]:
    """Write every (target -> (bytes, expected hash)) change, all or nothing. Returns targets."""
    staged: list[Staged] = []
    try:
        for target, (data, expected) in changes.items():
            staged.append(_stage(target, data, expected))
        for item in staged:
            if item.expected_hash is not None and _current_hash(item.target) != item.expected_hash:
                raise ChangedOnDisk(f"{item.target} changed since it was read; nothing was written")
    except BaseException:
        for item in staged:
            item.temp.unlink(missing_ok=True)
        raise
    journal = state_dir / JOURNAL
    entries = [{"temp": str(s.temp), "target": str(s.target)} for s in staged]
    tmp_journal = journal.with_suffix(".tmp")
    with open(tmp_journal, "w", encoding="utf-8") as fh:
        json.dump(entries, fh)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp_journal, journal)  # the commit point
    fsync_folder(state_dir)
    _roll_forward(entries)
    journal.unlink()
    return [s.target for s in staged]


def _roll_forward(entries: list[dict[str, str]]) -> None:
    folders = set()
    for entry in entries:
        temp, target = Path(entry["temp"]), Path(entry["target"])
        if temp.exists():
            if target.exists():
                os.chmod(temp, os.stat(target).st_mode & 0o7777)
            os.replace(temp, target)
            folders.add(target.parent)
    for folder in folders:
        fsync_folder(folder)


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
            _roll_forward(entries)
            journal.unlink()
            return f"finished an interrupted write of {len(entries)} files"
        journal.unlink()
    strays = []
    for folder, dirs, files in os.walk(vault):
        dirs[:] = [d for d in dirs if not d.startswith(".")]  # .git, .obsidian: not ours
        strays += [Path(folder, f) for f in files if f.startswith(".") and f.endswith(TEMP_SUFFIX)]
    for stray in strays:
        stray.unlink()
    return f"removed {len(strays)} files staged by an interrupted write" if strays else None
