"""One writer per vault: an advisory lock file in the state folder.

The lock is `fcntl.flock` on `<state>/writer.lock`, so the operating system releases it when the
holder dies, even by `kill -9`: a stale lock can never block a restart. The file's content (pid,
host, start time, what holds it) is only there to tell a second writer who holds it.

A second writer waits a bounded time (`WAIT`, a few seconds: long enough for a one-shot
`update` to finish, short enough that an agent is not left hanging), then gets `WriterBusy`
(exit 75, "try again"). `companion.app.Companion` takes the lock for every write it makes; the
daemon holds it for its lifetime.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from companion.errors import WriterBusy

LOCK_NAME = "writer.lock"
WAIT = 5.0  # seconds a second writer waits for the lock before giving up
_POLL = 0.05


@dataclass
class WriterLock:
    path: Path
    fd: int | None = None

    @property
    def held(self) -> bool:
        return self.fd is not None

    def acquire(self, role: str, wait: float = WAIT) -> None:
        """Take the lock, waiting up to `wait` seconds for its holder; `WriterBusy` after that."""
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        deadline = time.monotonic() + max(wait, 0.0)
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    os.close(fd)
                    raise WriterBusy(describe_holder(self.path, wait)) from None
                time.sleep(_POLL)
        info = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "since": time.time(),
            "role": role,
        }
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(info).encode(), 0)
        self.fd = fd

    def release(self) -> None:
        if self.fd is not None:
            os.ftruncate(self.fd, 0)
            fcntl.flock(self.fd, fcntl.LOCK_UN)
            os.close(self.fd)
            self.fd = None

    def __enter__(self) -> WriterLock:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def holder(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8") or "null")
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def describe_holder(path: Path, waited: float = 0.0) -> str:
    info = holder(path)
    after = f" (waited {waited:g}s)" if waited else ""
    if info is None:
        return f"this vault already has a writer: another process holds the lock {path}{after}; try again"
    since = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(float(info.get("since", 0))))
    return (
        f"this vault already has a writer{after}: held by {info.get('role', 'companion')} "
        f"pid {info.get('pid')} on host {info.get('host')}, since {since} (lock: {path}). Try "
        "again when it finishes, or use it: `companion search`, `status`, `index` and `update` "
        "talk to a running daemon"
    )
