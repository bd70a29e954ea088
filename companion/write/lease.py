"""One writer per vault, visible from the vault itself: a lease file at `<vault>/.companion/lease.json`.

The writer lock (`lock.py`) is an `flock` in the *state folder*: it keeps out a second writer on the
same state folder, but a second state folder (another `COMPANION_STATE_DIR`, another machine
syncing the vault) is a second writer. The lease lives in the vault, so every companion that can
see the vault sees its owner — on this machine, and on any machine a sync tool copies the vault to.

**The file.** `.companion/` at the vault's root: a dot-folder, so Obsidian, `vault/walk.py`,
`walk.check_path` and the daemon's watcher (`daemon/watcher.py`, any dot part of a path) never
index it nor treat it as a note. It holds one small JSON object: `owner` (random, new at every
acquisition), `host`, `pid`, `pid_scope` (boot id and pid namespace: where the pid means
something), `state_dir`, `role`, `started_at`, `heartbeat` (epoch seconds, the holder's clock) and
the holder's `ttl`. Syncthing, Dropbox and iCloud Drive carry it like any file; Obsidian Sync does
not (it syncs no hidden folder but its own `.obsidian`), so there it protects one machine only
(docs/lease.md says what a user should do: run one companion per vault).

**Expiry.** A lease is current while it is renewed: the holder rewrites it every `ttl / 4` on a
daemon thread. It is *expired* — and any companion may take it over — when

- it names this host and pid scope, and that process is gone (or a zombie): stale at once; or
- both its heartbeat and the time the file last changed *on this machine* (`st_ctime`) are older
  than the TTL (the larger of ours and the holder's, capped at `MAX_TTL`). The heartbeat is the
  holder's clock, so a heartbeat in the future is never trusted beyond the local change time: clock
  skew between machines can neither keep a dead lease alive nor kill a live one early. `st_ctime`,
  not `st_mtime`: sync tools copy the sender's mtime onto the file, but no program can set ctime,
  so it is this machine's clock telling when the latest version arrived. A slow sync tool (an
  iCloud that delivers minutes late) needs a TTL longer than its delay: `COMPANION_LEASE_TTL`.

A lease file that is not a lease (not JSON, binary, huge, a FIFO, a symlink, another format) has
no owner and no heartbeat: the only sign of life left is its local change time, so it counts as
expired once unchanged for a TTL, and as busy before that. Busy first because a companion on a
filesystem without hard links creates its lease in place (a reader can catch it empty for an
instant) and a sync tool may be mid-delivery; expired after a TTL because a live holder rewrites
its lease every TTL/4, so nobody is behind a file that stayed garbage that long. It is never read
beyond `MAX_LEASE_BYTES`, never opened unless it is a regular file (a FIFO cannot hang us, a
symlink to /dev/zero is never followed) and replaced by rename, which replaces the entry, not what
it points to. A *folder* at the lease's path cannot be replaced: `LeaseUnusable`.

**Acquire, renew, take over, release.** Every read-decide-write runs under an `flock` on the
`.companion` folder itself (held for milliseconds; the folder, unlike a lock file, is never
rewritten by a sync tool), so on one machine create, renew, take-over and release are each atomic
among all companions, whatever their state folders. Absent → create: a temp file written and
fsynced in the same folder, then `link()`ed to `lease.json`, which fails if it exists (two creators
cannot both win, even where `flock` is not supported; without hard links, `O_EXCL`). Expired →
take over: a temp file renamed over it. Both re-read the file to confirm we won. Across machines
nothing is atomic — a sync tool copies whole files, last writer wins — so the confirmation that
counts there is the heartbeat's: each renewal re-reads the lease, and a holder that finds another
owner, or that itself went a TTL without renewing (suspended, disk errors), has *lost* the lease:
`lost` turns true, `on_lost` is called, `ensure()` raises `LeaseLost`, and it must stop writing.
A writer calls `ensure()` before each write: it renews synchronously when the last renewal is older
than TTL/2 (by the wall clock too, so a laptop's sleep, which `time.monotonic` does not count, is
noticed). Release removes the file only if it is still ours; a lease left behind by a crash
expires after a TTL (or at once on this host, its pid being gone).

Why not `atomic.atomic_write` for the file itself: it follows symlinks (a lease that is a symlink
to /dev/zero would be written through it), reads the current file with a plain blocking `open`
and no size limit (a FIFO hangs it, /dev/zero exhausts memory), and its "must not exist yet"
check is a check before a rename, not an exclusive create. So the lease is written with `os`
calls on the locked folder's descriptor; it shares atomic's temp-file suffix (`TEMP_SUFFIX`) and
sweeps its own strays (journal's recovery skips dot-folders).
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import math
import os
import secrets
import socket
import stat
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from companion.errors import ConfigError, LeaseLost, LeaseUnusable, VaultLeased
from companion.write.atomic import TEMP_SUFFIX, stage_temp

LEASE_DIR = ".companion"  # at the vault's root; a dot-folder: never indexed, never watched
LEASE_NAME = "lease.json"
TTL = 60.0  # seconds a lease lives without a heartbeat; renewed every TTL / 4
MIN_TTL = 0.5
MAX_TTL = 24 * 3600.0  # also caps the TTL a lease file declares: garbage cannot block for ever
MAX_LEASE_BYTES = 64 * 1024  # a lease is ~400 bytes; anything bigger is not read
FORMAT = 1
GUARD_WAIT = 2.0  # seconds to wait for the folder lock (held for milliseconds by a peer)
_POLL = 0.1  # how often a waiting acquirer looks again
_SKEW_SHOWN = 5.0  # a heartbeat this far ahead of the local change time is reported as skew
_NO_HARD_LINKS = {
    errno.EPERM,
    errno.EOPNOTSUPP,
    errno.ENOTSUP,
    errno.ENOSYS,
    errno.EMLINK,
    errno.EXDEV,
}
_STR_FIELDS = ("owner", "host", "pid_scope", "state_dir", "role")
_TIME_FIELDS = ("started_at", "heartbeat", "ttl")

Kind = Literal["absent", "lease", "garbage", "busy", "unusable"]


def check_ttl(ttl: object, where: str = "the lease TTL") -> float:
    """`ttl` as seconds, or `ConfigError` naming `where` (a constructor argument, an env var)."""
    if (
        isinstance(ttl, bool)
        or not isinstance(ttl, int | float)
        or not math.isfinite(ttl)
        or not MIN_TTL <= ttl <= MAX_TTL
    ):
        raise ConfigError(
            f"{where} must be a number of seconds from {MIN_TTL:g} to {MAX_TTL:g}, not {ttl!r}"
        )
    return float(ttl)


# -- who we are, who holds it ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Identity:
    """Where a lease is taken: the host, the pid, and the scope in which that pid means something."""

    host: str
    pid: int
    pid_scope: str

    @classmethod
    def here(cls) -> Identity:
        return cls(socket.gethostname(), os.getpid(), _pid_scope())

    def knows_pid_of(self, owner: Owner) -> bool:
        """Whether `owner.pid` can be looked up here: same host name, same boot, same pid namespace
        (containers share a boot id and often a host name, not their pids)."""
        return owner.host == self.host and owner.pid_scope == self.pid_scope


def _pid_scope() -> str:
    parts = []
    with contextlib.suppress(OSError), open("/proc/sys/kernel/random/boot_id", "rb") as fh:
        parts.append("boot:" + fh.read().decode("ascii", "replace").strip())
    with contextlib.suppress(OSError):
        parts.append(os.readlink("/proc/self/ns/pid"))
    return " ".join(parts)  # "" where neither exists (macOS): the host name alone decides


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # EPERM: alive, someone else's
        return True
    try:  # a zombie (killed, not yet reaped) holds nothing
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as fh:
            state = fh.read().rpartition(")")[2].split()[:1]
    except OSError:
        return True
    return state not in (["Z"], ["X"])


@dataclass(frozen=True, slots=True)
class Owner:
    """What a lease file says: who holds the vault, since when, last renewed when."""

    owner_id: str
    host: str
    pid: int
    pid_scope: str
    state_dir: str
    role: str
    started_at: float
    heartbeat: float
    ttl: float

    def encode(self) -> bytes:
        data: dict[str, Any] = {
            "format": FORMAT,
            "note": (
                "companion's single-writer lease for this vault (docs/lease.md); renewed every "
                f"{self.ttl / 4:g}s while held. Delete it only if no companion runs on this vault "
                "on any machine."
            ),
            "owner": self.owner_id,
            "host": self.host,
            "pid": self.pid,
            "pid_scope": self.pid_scope,
            "state_dir": self.state_dir,
            "role": self.role,
            "started_at": self.started_at,
            "heartbeat": self.heartbeat,
            "ttl": self.ttl,
        }
        return (json.dumps(data, indent=2, ensure_ascii=False) + "\n").encode()

    def describe(self, now: float | None = None, changed_at: float | None = None) -> str:
        """The holder in the state-folder lock's words ("role pid N on host H, since …"), with
        its state folder and how old its heartbeat is (or that the clocks differ)."""
        now = time.time() if now is None else now
        since = datetime.fromtimestamp(self.started_at).strftime("%Y-%m-%d %H:%M:%S")
        ahead = self.heartbeat - (now if changed_at is None else changed_at)
        if ahead > _SKEW_SHOWN:
            beat = (
                f"its heartbeat is {ahead:.0f}s ahead of this machine's clock: the clocks differ, "
                "so expiry is judged by when the lease last changed here"
            )
        else:
            beat = f"last heartbeat {max(now - self.heartbeat, 0.0):.0f}s ago"
        return (
            f"{_shown(self.role)} pid {self.pid} on host {_shown(self.host)}, since {since} "
            f"(state folder {_shown(self.state_dir)}; {beat})"
        )


def _shown(text: str, limit: int = 200) -> str:
    """A field from the file as safe terminal text: no control characters, bounded length."""
    clean = "".join(c if c.isprintable() else "?" for c in text[:limit])
    return clean + ("…" if len(text) > limit else "")


def _owner_from(obj: object) -> tuple[Owner | None, str | None]:
    """(the owner, None) or (None, why this JSON is not a lease)."""
    if not isinstance(obj, dict):
        return None, f"JSON, but not a lease (a {type(obj).__name__}, not an object)"
    if obj.get("format") != FORMAT:
        shown = _shown(repr(obj.get("format")), 40)
        return None, f"not a lease of format {FORMAT} (format {shown}: another companion version?)"
    for name in _STR_FIELDS:
        if not isinstance(obj.get(name), str):
            return None, f"not a lease: field {name!r} is missing or not text"
    pid = obj.get("pid")
    if not isinstance(pid, int) or isinstance(pid, bool) or pid <= 0:
        return None, "not a lease: field 'pid' is missing or not a process id"
    for name in _TIME_FIELDS:
        value = obj.get(name)
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
            or (name == "ttl" and value <= 0)
        ):
            return None, f"not a lease: field {name!r} is missing or not a number of seconds"
    if not obj["owner"]:
        return None, "not a lease: field 'owner' is empty"
    return Owner(
        obj["owner"],
        obj["host"],
        pid,
        obj["pid_scope"],
        obj["state_dir"],
        obj["role"],
        float(obj["started_at"]),
        float(obj["heartbeat"]),
        float(obj["ttl"]),
    ), None


@dataclass(frozen=True, slots=True)
class Seen:
    """What the lease's path holds right now."""

    path: Path
    # absent | lease | garbage (not a lease) | busy (being changed) | unusable (a folder)
    kind: Kind
    owner: Owner | None = None  # kind "lease"
    problem: str | None = None  # garbage, busy, unusable: what it is instead, in words
    changed_at: float | None = None  # st_ctime: when it last changed, by this machine's clock

    def expired(self, ttl: float, here: Identity, now: float) -> bool:
        """Whether a companion may take this lease over now (see the module docstring)."""
        if self.kind == "absent":
            return True
        if self.kind in ("busy", "unusable") or self.changed_at is None:
            return False
        quiet = now - self.changed_at
        owner = self.owner
        if owner is None:  # garbage: its local change time is the only sign of life
            return quiet > ttl
        if here.knows_pid_of(owner) and not _pid_alive(owner.pid):
            return True
        limit = max(ttl, min(owner.ttl, MAX_TTL))
        beat = min(owner.heartbeat, self.changed_at)  # a heartbeat from the future: clock skew
        return now - beat > limit and quiet > limit

    def describe(self, now: float | None = None) -> str:
        now = time.time() if now is None else now
        if self.owner is not None:
            return f"held by {self.owner.describe(now, self.changed_at)}"
        if self.kind == "absent":
            return "no lease: nobody writes to this vault"
        if self.kind == "garbage" and self.changed_at is not None:
            ago = max(now - self.changed_at, 0.0)
            return f"{self.path} is {self.problem}; it last changed {ago:.0f}s ago"
        return f"{self.path}: {self.problem}"


# -- the lease ------------------------------------------------------------------------------------


class Lease:
    """This process's claim on a vault (`acquire` … `release`), and a probe of anyone's (`probe`).

    `state_dir` and `role` are only recorded, for the message a second companion prints. `on_lost`
    is called (on the heartbeat thread, or in `ensure`) with the `LeaseLost` error when the lease
    is found lost; `identity` is where the lease says it was taken (tests pose as another host).
    """

    def __init__(
        self,
        vault: Path,
        *,
        state_dir: str | Path = "",
        ttl: float = TTL,
        on_lost: Callable[[LeaseLost], None] | None = None,
        identity: Identity | None = None,
    ) -> None:
        self.vault = Path(os.path.abspath(vault))
        self.folder = self.vault / LEASE_DIR
        self.path = self.folder / LEASE_NAME
        self.state_dir = os.path.abspath(state_dir) if str(state_dir) else ""
        self.ttl = check_ttl(ttl)
        self.on_lost = on_lost
        self._identity = identity
        self._mutex = threading.Lock()  # this object's state and files, between our threads
        self._mine: Owner | None = None  # what we last wrote, while we believe we hold it
        self._lost: LeaseLost | None = None
        self._renewed_wall = self._renewed_mono = 0.0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def held(self) -> bool:
        return self._mine is not None and self._lost is None

    @property
    def lost(self) -> bool:
        """True once another owner was found in our lease, or we went a TTL without renewing."""
        return self._lost is not None

    @property
    def owner_id(self) -> str | None:
        return self._mine.owner_id if self._mine is not None else None

    # -- taking and keeping it

    def acquire(
        self, wait: float = 0.0, role: str = "companion", *, deadline: float | None = None
    ) -> None:
        """Hold the vault's lease, waiting up to `wait` seconds (or until `deadline`, a
        `time.monotonic` value, when given) for it to be released or to expire; `VaultLeased`
        (exit 75, naming the owner) after that, `LeaseUnusable` when it cannot be kept at all.
        Already held: renewed (`LeaseLost` if it turns out not to be ours)."""
        with self._mutex:
            if self.held:
                self._renew()
                return
            self._forget()
            here = self._identity or Identity.here()
            now = time.time()
            mine = Owner(
                secrets.token_hex(8),
                here.host,
                here.pid,
                here.pid_scope,
                self.state_dir,
                role,
                now,
                now,
                self.ttl,
            )
            if deadline is None:
                deadline = time.monotonic() + max(wait, 0.0)
            while True:
                outcome = self._attempt(mine, here)
                if isinstance(outcome, Owner):
                    break
                left = deadline - time.monotonic()
                if left <= 0:
                    raise VaultLeased(self._busy_message(outcome, wait), outcome.owner)
                time.sleep(min(_POLL, left))
            self._mine = outcome
            self._stamp()
            self._stop = threading.Event()
            self._thread = threading.Thread(
                target=self._heartbeat, args=(self._stop,), name="companion-lease", daemon=True
            )
            self._thread.start()

    def ensure(self) -> None:
        """Call before each write: `LeaseLost` unless this process still holds the lease. Renews
        it first when the last renewal is older than TTL/2 (a suspended process finds out here)."""
        lost: LeaseLost | None = None
        with self._mutex:
            if self._lost is not None:
                raise self._lost
            if self._mine is None:
                raise LeaseLost(f"this companion does not hold the vault's lease {self.path}")
            if self._since_renewal() <= self.ttl / 2:
                return
            try:
                self._renew()
            except LeaseLost as exc:
                lost = exc
            except Exception as exc:  # not renewed this time: still ours while there is time
                lost = self._failed_renewal(exc)
        if lost is not None:
            self._tell(lost)
            raise lost

    def release(self) -> None:
        """Stop renewing and remove the lease file if it is still ours. Never raises: a lease it
        could not remove expires after its TTL (at once on this host, our pid being gone)."""
        with self._mutex:
            mine, thread = self._mine, self._thread
            self._forget()
        if thread is not None and thread is not threading.current_thread():
            thread.join(GUARD_WAIT + 1.0)
        if mine is None:
            return
        with contextlib.suppress(OSError, LeaseUnusable):
            dfd = self._open_folder(create=False)
            if dfd is None:
                return
            try:
                if _lock_folder(dfd, GUARD_WAIT):
                    seen = self._read(dfd)
                    if seen.owner is not None and seen.owner.owner_id == mine.owner_id:
                        os.unlink(LEASE_NAME, dir_fd=dfd)
                        _sync_folder(dfd)
            finally:
                os.close(dfd)

    def __enter__(self) -> Lease:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()

    # -- looking, without taking

    def probe(self) -> Seen:
        """What the vault's lease path holds now (creates nothing, takes no lock)."""
        try:
            dfd = self._open_folder(create=False)
        except LeaseUnusable as exc:
            return Seen(self.path, "unusable", problem=str(exc))
        if dfd is None:
            return Seen(self.path, "absent")
        try:
            return self._read(dfd)
        except OSError as exc:
            return Seen(self.path, "unusable", problem=f"cannot be read: {exc.strerror or exc}")
        finally:
            os.close(dfd)

    def owner(self) -> Owner | None:
        """Who the vault's lease names (expired or not), or None: no lease, or not a lease."""
        return self.probe().owner

    def current_owner(self) -> Owner | None:
        """Who holds the vault now: the owner of a lease that has not expired, else None."""
        seen = self.probe()
        here = self._identity or Identity.here()
        if seen.owner is None or seen.expired(self.ttl, here, time.time()):
            return None
        return seen.owner

    # -- one attempt, under the folder lock

    def _attempt(self, mine: Owner, here: Identity) -> Owner | Seen:
        """Our claim as written (we hold it now), or what stands in the way."""
        dfd = self._open_folder(create=True)
        assert dfd is not None
        try:
            if not _lock_folder(dfd, GUARD_WAIT):
                return Seen(
                    self.path, "busy", problem="being changed by another process (folder locked)"
                )
            for _ in range(3):  # a create race lost: look again at what won
                seen = self._read(dfd)
                if seen.kind == "unusable":
                    raise LeaseUnusable(f"{self.path} is {seen.problem}")
                if not seen.expired(self.ttl, here, time.time()):
                    return seen
                self._sweep(dfd)
                now = time.time()
                claim = replace(mine, started_at=now, heartbeat=now)
                if seen.kind == "absent":
                    if not self._create(dfd, claim):
                        continue
                else:
                    self._replace(dfd, claim)
                confirmed = self._read(dfd)
                if confirmed.owner is None or confirmed.owner.owner_id != claim.owner_id:
                    return confirmed
                return claim
            return self._read(dfd)
        except OSError as exc:
            raise LeaseUnusable(
                f"cannot take the vault's lease {self.path}: {exc.strerror or exc}"
            ) from exc
        finally:
            os.close(dfd)

    def _renew(self) -> None:
        """Rewrite our lease with a new heartbeat (under `_mutex`). `LeaseLost` when it is not ours
        any more, or when we went longer than a TTL without renewing it (others were entitled to
        take it over, and a sync tool may not have brought their lease yet); `LeaseUnusable` when
        it could not be renewed this time (the caller tries again)."""
        mine = self._mine
        assert mine is not None
        late = self._since_renewal() > self.ttl
        try:
            dfd = self._open_folder(create=True)
        except LeaseUnusable:
            if late:
                raise self._lose_late() from None
            raise
        assert dfd is not None
        try:
            if not _lock_folder(dfd, GUARD_WAIT):
                raise LeaseUnusable(f"{self.folder} stayed locked by another process")
            seen = self._read(dfd)
            if seen.kind != "absent" and (
                seen.owner is None or seen.owner.owner_id != mine.owner_id
            ):
                raise self._lose_to(seen)
            if late:
                raise self._lose_late()
            claim = replace(mine, heartbeat=time.time())
            if seen.kind == "absent":
                # Removed (by hand, or a sync tool carrying a deletion) while we renewed in time:
                # nobody can have taken it over legitimately, so claim it again, exclusively.
                if not self._create(dfd, claim):
                    raise self._lose_to(self._read(dfd))
            else:
                self._replace(dfd, claim)
            confirmed = self._read(dfd)
            if confirmed.owner is None or confirmed.owner.owner_id != mine.owner_id:
                raise self._lose_to(confirmed)
        except (OSError, LeaseUnusable) as exc:
            if late:
                raise self._lose_late() from exc
            if isinstance(exc, LeaseUnusable):
                raise
            raise LeaseUnusable(
                f"cannot renew the vault's lease {self.path}: {exc.strerror or exc}"
            ) from exc
        finally:
            os.close(dfd)
        self._mine = claim
        self._stamp()

    # -- the heartbeat thread

    def _heartbeat(self, stop: threading.Event) -> None:
        while not stop.wait(self.ttl / 4):
            if not self._beat(stop):
                return

    def _beat(self, stop: threading.Event) -> bool:
        """One renewal; False when the thread should end (released, or lost)."""
        lost: LeaseLost | None = None
        with self._mutex:
            if stop.is_set() or not self.held:
                return False
            try:
                self._renew()
                return True
            except LeaseLost as exc:
                lost = exc
            except Exception as exc:  # LeaseUnusable, or anything else: never a silent dead beat
                failed = self._failed_renewal(exc)
                if failed is None:
                    return True  # try again next beat
                lost = failed
        self._tell(lost)
        return False

    # -- state

    def _stamp(self) -> None:
        self._renewed_wall, self._renewed_mono = time.time(), time.monotonic()

    def _since_renewal(self) -> float:
        # Both clocks: the monotonic one does not count a system's sleep, the wall clock can jump.
        return max(time.time() - self._renewed_wall, time.monotonic() - self._renewed_mono)

    def _lose(self, message: str) -> LeaseLost:
        self._lost = LeaseLost(message)
        self._stop.set()
        return self._lost

    def _failed_renewal(self, exc: Exception) -> LeaseLost | None:
        """A renewal failed (`exc`): None while the next beat is still within the TTL, else the
        lease is given up now, before anyone may take it over."""
        if self._since_renewal() + self.ttl / 4 <= self.ttl:
            return None
        return self._lose(
            f"this companion could not renew the vault's lease {self.path} within its "
            f"{self.ttl:g}s TTL ({exc}); it stopped writing"
        )

    def _lose_late(self) -> LeaseLost:
        return self._lose(
            f"this companion did not renew the vault's lease {self.path} for "
            f"{self._since_renewal():.0f}s, more than its {self.ttl:g}s TTL (it was suspended, or "
            "the disk failed): another companion may have taken it over, so it stopped writing"
        )

    def _lose_to(self, seen: Seen) -> LeaseLost:
        return self._lose(
            f"this companion lost the vault's lease {self.path}: it is now {seen.describe()}. "
            "Another companion took it over (this one was suspended or cut off past the lease's "
            "TTL); it stopped writing"
        )

    def _tell(self, lost: LeaseLost) -> None:
        if self.on_lost is not None:
            self.on_lost(lost)

    def _forget(self) -> None:
        self._stop.set()
        self._mine, self._lost, self._thread = None, None, None

    def _busy_message(self, seen: Seen, waited: float) -> str:
        after = f" (waited {waited:g}s)" if waited else ""
        if seen.owner is not None:
            limit = max(self.ttl, min(seen.owner.ttl, MAX_TTL))
            return (
                f"this vault already has a writer{after}: {seen.describe()} (lease: {self.path}). "
                "One companion writes to a vault at a time, whatever its state folder and on "
                "whichever machine syncs the vault. Try again when it stops, or use it; a lease "
                f"not renewed for {limit:g}s is taken over"
            )
        if seen.kind == "garbage":
            return (
                f"this vault's writer lease is not readable{after}: {seen.describe()}. Another "
                f"companion may be writing it; it is taken over once unchanged for {self.ttl:g}s. "
                "Remove it if no companion runs on this vault on any machine"
            )
        return f"this vault's writer lease {self.path} is {seen.problem}{after}; try again"

    # -- files (every call relative to the open, locked .companion folder)

    def _open_folder(self, create: bool) -> int | None:
        """A descriptor of `.companion` (made when `create`), or None when absent and not made."""
        try:
            if create:
                with contextlib.suppress(FileExistsError):
                    os.mkdir(self.folder, 0o755)
            return os.open(self.folder, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
        except FileNotFoundError:
            if create:
                raise LeaseUnusable(
                    f"cannot keep the writer lease in {self.folder}: the vault {self.vault} "
                    "does not exist"
                ) from None
            return None
        except OSError as exc:
            if exc.errno in (errno.ELOOP, errno.ENOTDIR):
                what = "a symlink" if os.path.islink(self.folder) else "not a folder"
                raise LeaseUnusable(
                    f"{self.folder} is {what}: companion keeps its single-writer lease in a "
                    "real folder .companion at the vault's root; move it away"
                ) from exc
            raise LeaseUnusable(
                f"cannot keep the writer lease in {self.folder}: {exc.strerror or exc}"
            ) from exc

    def _read(self, dfd: int) -> Seen:
        """The lease as it is now; never follows a symlink, never opens what is not a file."""
        try:
            st = os.stat(LEASE_NAME, dir_fd=dfd, follow_symlinks=False)
        except FileNotFoundError:
            return Seen(self.path, "absent")
        changed = st.st_ctime

        def garbage(problem: str) -> Seen:
            return Seen(self.path, "garbage", problem=problem, changed_at=changed)

        if stat.S_ISDIR(st.st_mode):
            return Seen(
                self.path,
                "unusable",
                problem="a folder, not a lease file: companion cannot keep its single-writer "
                "lease there; remove the folder",
                changed_at=changed,
            )
        if stat.S_ISLNK(st.st_mode):
            try:
                target = _shown(os.readlink(LEASE_NAME, dir_fd=dfd), 100)
            except OSError:
                target = "?"
            return garbage(f"a symlink (to {target}), not a lease file; never followed")
        if not stat.S_ISREG(st.st_mode):
            return garbage(f"{_file_type(st.st_mode)}, not a lease file; never opened")
        if st.st_size > MAX_LEASE_BYTES:
            return garbage(f"{st.st_size} bytes, far more than a lease holds; not read")
        try:
            fd = os.open(
                LEASE_NAME, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, dir_fd=dfd
            )
        except FileNotFoundError:  # replaced between stat and open: what replaced it is new
            return Seen(self.path, "busy", problem="being replaced right now")
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                return Seen(self.path, "busy", problem="being replaced right now")
            raise
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                return Seen(self.path, "busy", problem="being replaced right now")
            data = _read_at_most(fd, MAX_LEASE_BYTES)
        finally:
            os.close(fd)
        if data is None:
            return garbage(f"more than {MAX_LEASE_BYTES} bytes, far more than a lease holds")
        return _parse(self.path, data, changed)

    def _stage(self, dfd: int, claim: Owner) -> str:
        """A temp file in the lease's folder holding `claim`, synced; returns its name."""
        return stage_temp(dfd, claim.encode(), 0o644, prefix=f"{LEASE_NAME}.{claim.owner_id}.")

    def _create(self, dfd: int, claim: Owner) -> bool:
        """Create the lease holding `claim` unless one exists: True when we created it."""
        tmp = self._stage(dfd, claim)
        try:
            os.link(tmp, LEASE_NAME, src_dir_fd=dfd, dst_dir_fd=dfd)
        except FileExistsError:
            return False
        except OSError as exc:
            if exc.errno not in _NO_HARD_LINKS:
                raise
            return self._create_in_place(dfd, claim)  # this filesystem has no hard links
        finally:
            _unlink_quietly(tmp, dfd)
        _sync_folder(dfd)
        return True

    def _create_in_place(self, dfd: int, claim: Owner) -> bool:
        # O_EXCL still lets one creator win; a reader may see the file empty for an instant, which
        # is why fresh garbage counts as busy.
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
        try:
            fd = os.open(LEASE_NAME, flags, 0o644, dir_fd=dfd)
        except FileExistsError:
            return False
        try:
            _write_all(fd, claim.encode())
            os.fsync(fd)
        finally:
            os.close(fd)
        _sync_folder(dfd)
        return True

    def _replace(self, dfd: int, claim: Owner) -> None:
        """Put `claim` in place of whatever the lease path holds (rename: never written through)."""
        tmp = self._stage(dfd, claim)
        try:
            os.replace(tmp, LEASE_NAME, src_dir_fd=dfd, dst_dir_fd=dfd)
        except BaseException:
            _unlink_quietly(tmp, dfd)
            raise
        _sync_folder(dfd)

    def _sweep(self, dfd: int) -> None:
        """Remove temp files of ours a crash left behind (older than a TTL: not in use)."""
        prefix, now = f".{LEASE_NAME}.", time.time()
        with contextlib.suppress(OSError):
            for name in os.listdir(dfd):
                if name.startswith(prefix) and name.endswith(TEMP_SUFFIX):
                    with contextlib.suppress(OSError):
                        st = os.stat(name, dir_fd=dfd, follow_symlinks=False)
                        if now - st.st_ctime > self.ttl:
                            os.unlink(name, dir_fd=dfd)


def _parse(path: Path, data: bytes, changed: float) -> Seen:
    def garbage(problem: str) -> Seen:
        return Seen(path, "garbage", problem=problem, changed_at=changed)

    if not data.strip():
        return garbage("empty")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return garbage("not UTF-8 text (binary?), not a lease")
    try:
        obj = json.loads(text)
    except (ValueError, RecursionError):
        return garbage("not JSON, not a lease")
    owner, problem = _owner_from(obj)
    if owner is None:
        return garbage(problem or "not a lease")
    return Seen(path, "lease", owner=owner, changed_at=changed)


def _file_type(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "not a regular file"


def _read_at_most(fd: int, limit: int) -> bytes | None:
    """The file's bytes, or None when it holds more than `limit` (it grew since the stat)."""
    chunks: list[bytes] = []
    size = 0
    while True:
        chunk = os.read(fd, limit + 1 - size)
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)
        size += len(chunk)
        if size > limit:
            return None


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _unlink_quietly(name: str, dfd: int) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(name, dir_fd=dfd)


def _sync_folder(dfd: int) -> None:
    """Make a rename or link durable (like `atomic.fsync_folder`, on the descriptor we hold)."""
    with contextlib.suppress(OSError):
        os.fsync(dfd)


def _lock_folder(dfd: int, wait: float) -> bool:
    """`flock` the open `.companion` folder within `wait` seconds: False when a peer kept it. Closing
    the descriptor unlocks. A filesystem without `flock` (some network mounts) counts as locked:
    `link()` and the re-read still keep two creators from both winning."""
    deadline = time.monotonic() + wait
    while True:
        try:
            fcntl.flock(dfd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.01)
        except OSError:
            return True


def probe(vault: Path) -> Seen:
    """What the lease of `vault` says now (for `status`); creates and locks nothing."""
    return Lease(vault).probe()
