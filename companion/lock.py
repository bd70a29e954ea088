"""One writer per vault: an advisory lock file in the state folder.

The lock is `fcntl.flock` on `<state>/writer.lock`, so the operating system releases it when the
holder dies, even by `kill -9`: a stale lock can never block a restart. The file's content (pid,
host, start time, what holds it) is only there to tell a refused second writer who holds it.
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

from companion.errors import CompanionError


class LockHeld(CompanionError):
    """Another process is the vault's writer."""


@dataclass
class WriterLock:
    path: Path
    fd: int | None = None

    def acquire(self, role: str) -> None:
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise LockHeld(describe_holder(self.path)) from None
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


def describe_holder(path: Path) -> str:
    info = holder(path)
    if info is None:
        return f"another process holds the writer lock {path}"
    since = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(float(info.get("since", 0))))
    return (
        f"this vault already has a writer: {info.get('role', 'companion')} pid {info.get('pid')} "
        f"on host {info.get('host')} since {since} (lock: {path}); stop it first, or use it: "
        "`companion search`, `status` and `update` talk to a running daemon"
    )
