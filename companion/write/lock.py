"""One writer per vault: an advisory lock file in the state folder, and the vault's lease.

Two locks, taken together and released together:

- `fcntl.flock` on `<state>/writer.lock`: one writer per *state folder* (the index, the journal).
  The operating system releases it when the holder dies, even by `kill -9`: a stale lock can
  never block a restart. The file's content (pid, host, start time, what holds it) is only there to
  tell a second writer who holds it.
- with `vault=` given, the vault's lease (`lease.py`, `<vault>/.companion/lease.json`): one writer
  per *vault*, whatever its state folder and on whichever machine syncs the vault. Renewed by a
  heartbeat thread; a holder that loses it (taken over after it was suspended past the TTL) stops
  being `held`, and `ensure()` raises `LeaseLost`.

`held` is true only while both are held. A second writer waits a bounded time (`WAIT`, a few
seconds: long enough for a one-shot `update` to finish, short enough that an agent is not left
hanging) for both, then gets `WriterBusy` (exit 75, "try again"): `VaultLeased`, a subclass,
when it is the lease that is taken, naming its owner (host, pid, since, state folder). The state
folder's lock is taken first, so a second process on the same state folder still hears about the
holder of that lock. `companion.app.Companion` takes the lock for every write it makes; the daemon
holds it for its lifetime. `vault=None` keeps the state-folder lock alone (the behaviour before
the lease existed).
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from companion.errors import LeaseLost, WriterBusy
from companion.write.lease import TTL, Identity, Lease, Owner, Seen

LOCK_NAME = "writer.lock"
WAIT = 5.0  # seconds a second writer waits for the lock before giving up
_POLL = 0.05


class WriterLock:
    """The state folder's lock at `path`; with `vault`, also that vault's lease (TTL `ttl`,
    `on_lost` called when it is found lost; `identity` for tests posing as another host)."""

    def __init__(
        self,
        path: Path,
        vault: Path | None = None,
        *,
        ttl: float = TTL,
        on_lost: Callable[[LeaseLost], None] | None = None,
        identity: Identity | None = None,
    ) -> None:
        self.path = path
        self.vault = vault
        self.fd: int | None = None
        self.lease = (
            Lease(vault, state_dir=path.parent, ttl=ttl, on_lost=on_lost, identity=identity)
            if vault is not None
            else None
        )

    @property
    def held(self) -> bool:
        """Both held: the state folder's lock and (with a vault) its lease, not lost."""
        return self.fd is not None and (self.lease is None or self.lease.held)

    @property
    def state_held(self) -> bool:
        return self.fd is not None

    @property
    def lost(self) -> bool:
        """The vault's lease was taken over while we held it: stop writing (see `ensure`)."""
        return self.lease is not None and self.lease.lost

    def acquire(self, role: str, wait: float = WAIT, *, lease: bool = True) -> None:
        """Take the state folder's lock and then the vault's lease, waiting up to `wait` seconds in
        all; `WriterBusy` (or `VaultLeased`, naming the lease's owner) after that, with nothing
        held that this call took. `lease=False` takes the state folder's lock alone (a process
        that keeps its own index current but must not write to the vault). Parts already held
        are kept, so a lost lease is taken again by acquiring again."""
        deadline = time.monotonic() + max(wait, 0.0)
        took = False
        if self.fd is None:
            self._lock(role, wait)
            took = True
        if self.lease is None or not lease or self.lease.held:
            return
        try:
            self.lease.acquire(wait, role=role, deadline=deadline)
        except BaseException:
            if took:
                self._unlock()
            raise

    def ensure(self) -> None:
        """Call before each write: `LeaseLost` when the vault's lease was lost (or is not held);
        renews it first when its last renewal is old (a process that was suspended finds out)."""
        if self.fd is None:
            raise LeaseLost(f"this companion does not hold the writer lock {self.path}")
        if self.lease is not None:
            self.lease.ensure()

    def owner(self) -> Owner | None:
        """Who the vault's lease names (a read-only probe: for `status`, for a read-only daemon's
        message), or None: no vault given, no lease, or a lease file that is not a lease."""
        return self.lease.owner() if self.lease is not None else None

    def probe(self) -> Seen | None:
        """The vault's lease in full (garbage and all), or None when no vault was given."""
        return self.lease.probe() if self.lease is not None else None

    def _lock(self, role: str, wait: float) -> None:
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
        """Release both (the lease file is removed only if it is still ours)."""
        if self.lease is not None:
            self.lease.release()
        self._unlock()

    def _unlock(self) -> None:
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
        "again when it finishes, or use it: `companion search`, `status`, `index`, `update`, "
        "`lint` and `ask --save` talk to a running daemon"
    )
