"""The state folder: where the index, the writer lock, the journal and the socket live.

It is companion's own (outside the vault by default), created private (0700). The files in it are written by their owners — SQLite (`companion.store`), the lock, the journal, the
socket — this module only makes sure the folder exists and is writable, and removes the index
files when a rebuild is asked for.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from companion.errors import StateDirError

DATABASE_SUFFIXES = ("", "-wal", "-shm")


def ensure_state_dir(path: Path) -> Path:
    """Create the state folder if needed and check it is writable (with a probe file of a name of
    its own, so concurrent starts never race on one name)."""
    try:
        # Private from the start: the index holds the vault's text (the daemon also tightens
        # a folder made before this). The mode applies to the folder only when it is created.
        path.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd, probe = tempfile.mkstemp(dir=path, prefix=".write-test-")
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise StateDirError(
            f"cannot use state folder {path}: {exc.strerror or exc}. "
            "Pass --state-dir PATH or set COMPANION_STATE_DIR to a writable folder."
        ) from exc
    return path


def remove_database(db_path: Path) -> None:
    """Delete the index database and its WAL files (it is a cache: `index` rebuilds it)."""
    for suffix in DATABASE_SUFFIXES:
        Path(f"{db_path}{suffix}").unlink(missing_ok=True)
