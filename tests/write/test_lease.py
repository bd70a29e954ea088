"""The vault's lease (`.companion/lease.json`): real processes, real files, real signals.

Holders run in subprocesses. One posing as another host (`Identity(host=...)`) is one whose pid
this machine cannot look up: only its heartbeat keeps its lease alive, as for a companion on a
machine that syncs the vault.
"""

from __future__ import annotations

import fcntl
import os
import signal
import socket
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from companion.daemon.watcher import Watcher
from companion.errors import EXIT_BUSY, ConfigError, LeaseLost, LeaseUnusable, VaultLeased
from companion.vault.obsidian import IgnoreRules
from companion.vault.walk import check_path, walk
from companion.write.lease import (
    LEASE_DIR,
    LEASE_NAME,
    MAX_LEASE_BYTES,
    Identity,
    Lease,
    Owner,
    probe,
)
from tests.helpers import wait_until, write

# A lease holder. Modes: "hold" (hold until killed), "watch" (hold until the lease is lost, then
# show what `ensure` says and exit), "race" (wait for a line, try once, report, wait for a line).
HOLDER = """
import os, sys, time
from pathlib import Path
from companion.errors import LeaseLost, VaultLeased
from companion.write.lease import Identity, Lease
vault, ttl, host, mode = Path(sys.argv[1]), float(sys.argv[2]), sys.argv[3], sys.argv[4]
identity = Identity(host, os.getpid(), "another machine") if host else None
lost = []
lease = Lease(vault, state_dir="/holder/state", ttl=ttl, identity=identity, on_lost=lost.append)
if mode == "race":
    print("ready", flush=True)
    sys.stdin.readline()
    try:
        lease.acquire(wait=0, role="racer")
        print("won", lease.owner_id, flush=True)
    except VaultLeased:
        print("busy", flush=True)
    sys.stdin.readline()
    lease.release()
    sys.exit(0)
lease.acquire(wait=0, role="test holder")
print("held", lease.owner_id, flush=True)
if mode == "watch":
    while not lost:
        time.sleep(0.02)
    try:
        lease.ensure()
    except LeaseLost as exc:
        print("lost:", exc, flush=True)
    sys.exit(0)
time.sleep(600)
"""


def spawn(vault: Path, ttl: float, host: str = "", mode: str = "hold") -> subprocess.Popen[str]:
    """A real process running HOLDER; in "hold" and "watch" modes, returns once it holds."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("COMPANION_")}
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(vault), str(ttl), host, mode],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert proc.stdout is not None
    first = proc.stdout.readline()
    expected = "ready" if mode == "race" else "held"
    if not first.startswith(expected):
        proc.kill()
        _, err = proc.communicate()
        raise AssertionError(f"the holder did not start: {first!r} {err}")
    return proc


def stop(proc: subprocess.Popen[str]) -> None:
    if proc.poll() is None:
        proc.kill()
    proc.communicate()


@pytest.fixture
def vault(tmp_path: Path) -> Path:
    root = tmp_path / "vault"
    write(root, "Note.md", "# Note\n")
    return root


@pytest.fixture
def holders() -> Iterator[list[subprocess.Popen[str]]]:
    procs: list[subprocess.Popen[str]] = []
    yield procs
    for proc in procs:
        with_continue(proc)
        stop(proc)


def with_continue(proc: subprocess.Popen[str]) -> None:
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGCONT)


def lease_path(vault: Path) -> Path:
    return vault / LEASE_DIR / LEASE_NAME


def dead_pid() -> int:
    """The pid of a process of ours that has exited and been reaped."""
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    assert proc.wait(30) == 0
    return proc.pid


def plant(vault: Path, owner: Owner) -> Path:
    """A lease written by someone else (the bytes a companion writes), renamed into place as a
    sync tool lands it. Under the folder's lock, so that a renewal of ours in flight cannot
    overwrite it in the same instant (the race only a sync tool's delay can create)."""
    path = lease_path(vault)
    path.parent.mkdir(exist_ok=True)
    fd = os.open(path.parent, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        tmp = path.with_name("planted.tmp")
        tmp.write_bytes(owner.encode())
        os.replace(tmp, path)
    finally:
        os.close(fd)
    return path


def foreign(
    host: str, pid: int, heartbeat: float, scope: str = "another machine", ttl: float = 1.0
) -> Owner:
    """A lease as another companion writes it (declaring its own TTL)."""
    return Owner(
        "f0reign", host, pid, scope, "/their/state", "companion daemon", 0.0, heartbeat, ttl
    )


# -- the file -------------------------------------------------------------------------------------


def test_the_lease_is_a_small_json_file_in_a_dot_folder_naming_its_owner(
    vault: Path, tmp_path: Path
) -> None:
    lease = Lease(vault, state_dir=tmp_path / "state", ttl=30)
    lease.acquire(role="companion daemon")
    try:
        seen = probe(vault)
        assert seen.kind == "lease" and seen.owner is not None
        owner = seen.owner
        assert owner.owner_id == lease.owner_id and len(owner.owner_id) == 16
        assert (owner.host, owner.pid, owner.role) == (
            socket.gethostname(),
            os.getpid(),
            "companion daemon",
        )
        assert owner.state_dir == str(tmp_path / "state")
        assert owner.ttl == 30
        assert abs(owner.heartbeat - time.time()) < 60
        assert owner.started_at <= owner.heartbeat
        path = lease_path(vault)
        assert stat.S_ISREG(path.lstat().st_mode) and path.stat().st_size < 2048
        assert sorted(p.name for p in path.parent.iterdir()) == [LEASE_NAME]  # no temp left
    finally:
        lease.release()
    assert not lease_path(vault).exists()
    assert not lease.held


def test_the_lease_folder_is_never_indexed_nor_watched_as_a_note(vault: Path) -> None:
    lease = Lease(vault, ttl=30)
    lease.acquire()
    try:
        rules = IgnoreRules.load(vault)
        assert [f.path for f in walk(vault, rules).files] == ["Note.md"]
        rel = f"{LEASE_DIR}/{LEASE_NAME}"
        assert check_path(vault, rel, rules)[0] == "ignored"
        watcher = Watcher(vault, lambda rel: True)
        watcher.push([str(lease_path(vault))], is_directory=False)
        watcher.push([str(vault / LEASE_DIR)], is_directory=True)
        assert not watcher.pending()
        watcher.push([str(vault / "Note.md")], is_directory=False)
        assert watcher.pending()  # the same watcher does see a note
    finally:
        lease.release()


@pytest.mark.parametrize("ttl", [0, -1, 0.1, float("nan"), float("inf"), True, "60", 10**9])
def test_a_bad_ttl_is_refused_naming_the_setting(vault: Path, ttl: object) -> None:
    with pytest.raises(ConfigError, match="the lease TTL must be a number of seconds"):
        Lease(vault, ttl=ttl)  # type: ignore[arg-type]
    assert not (vault / LEASE_DIR).exists()


# -- one owner at a time --------------------------------------------------------------------------


def test_a_second_lease_is_busy_while_a_process_holds_it_and_names_the_owner(
    vault: Path, holders: list[subprocess.Popen[str]]
) -> None:
    proc = spawn(vault, ttl=30)
    holders.append(proc)
    mine = Lease(vault, ttl=30)
    started = time.monotonic()
    with pytest.raises(VaultLeased) as busy:
        mine.acquire(wait=0.3, role="companion update")
    assert time.monotonic() - started >= 0.3
    assert busy.value.exit_code == EXIT_BUSY == 75
    message = str(busy.value)
    assert f"held by test holder pid {proc.pid} on host {socket.gethostname()}, since " in message
    assert "state folder /holder/state" in message and "waited 0.3s" in message
    assert str(lease_path(vault)) in message
    assert isinstance(busy.value.owner, Owner) and busy.value.owner.pid == proc.pid
    assert not mine.held
    probed = mine.owner()  # the read-only probe names the same owner
    assert probed is not None and probed.owner_id == busy.value.owner.owner_id
    assert probed.pid == proc.pid and probed.state_dir == "/holder/state"
    assert mine.current_owner() is not None


def test_a_lease_whose_process_on_this_host_is_gone_is_taken_over_at_once(vault: Path) -> None:
    here = Identity.here()
    plant(vault, foreign(here.host, dead_pid(), time.time(), here.pid_scope))
    lease = Lease(vault, ttl=60)
    lease.acquire(wait=0)  # the heartbeat is fresh, but its process is gone
    try:
        owner = lease.owner()
        assert owner is not None and owner.owner_id == lease.owner_id
    finally:
        lease.release()


def test_a_live_pid_on_this_host_keeps_its_lease_even_with_another_owner_id(vault: Path) -> None:
    here = Identity.here()
    plant(vault, foreign(here.host, os.getpid(), time.time(), here.pid_scope))
    with pytest.raises(VaultLeased, match=f"pid {os.getpid()}"):
        Lease(vault, ttl=60).acquire(wait=0)


@pytest.mark.slow  # waits out lease TTLs
def test_an_old_heartbeat_from_another_host_is_taken_over_once_quiet_here_for_a_ttl(
    vault: Path,
) -> None:
    # The heartbeat is an hour old by its own clock, but the file just arrived here: a remote
    # clock behind ours must not expire a lease early, so the local change time decides.
    path = plant(vault, foreign("laptop-b", 4242, time.time() - 3600))
    arrived = path.stat().st_ctime
    lease = Lease(vault, ttl=3)
    with pytest.raises(VaultLeased, match="pid 4242 on host laptop-b"):
        lease.acquire(wait=0)
    lease.acquire(wait=30)
    took = time.time()
    try:
        assert took >= arrived + 3  # not before the file had been quiet here for a TTL
        owner = lease.owner()
        assert owner is not None and owner.owner_id == lease.owner_id
    finally:
        lease.release()


@pytest.mark.slow  # waits out lease TTLs
def test_a_heartbeat_from_a_clock_ahead_cannot_keep_a_dead_lease_alive(vault: Path) -> None:
    path = plant(vault, foreign("laptop-b", 4242, time.time() + 3600))  # its clock: an hour ahead
    arrived = path.stat().st_ctime
    lease = Lease(vault, ttl=2)
    with pytest.raises(VaultLeased, match="ahead of this machine's clock"):
        lease.acquire(wait=0)
    lease.acquire(wait=30)  # after a TTL of quiet here, not after the hour
    try:
        assert time.time() >= arrived + 2
        owner = lease.owner()
        assert owner is not None and owner.owner_id == lease.owner_id
    finally:
        lease.release()


def test_a_holder_declaring_a_longer_ttl_is_given_its_own_ttl(vault: Path) -> None:
    # A companion on a slowly syncing machine set COMPANION_LEASE_TTL=600: a companion with a
    # short TTL must not take its lease over after its own shorter TTL.
    path = plant(vault, foreign("laptop-b", 4242, time.time() - 3600, ttl=600))
    wait_until(lambda: time.time() - path.stat().st_ctime > 1.0, what="a second of quiet")
    with pytest.raises(VaultLeased, match="a lease not renewed for 600s is taken over"):
        Lease(vault, ttl=0.5).acquire(wait=0)


def test_kill_9_of_a_holder_on_this_host_frees_the_lease_before_its_ttl(
    vault: Path, holders: list[subprocess.Popen[str]]
) -> None:
    proc = spawn(vault, ttl=60)
    holders.append(proc)
    lease = Lease(vault, ttl=60)
    with pytest.raises(VaultLeased, match=f"pid {proc.pid}"):
        lease.acquire(wait=0)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(10)
    final = probe(vault).owner
    assert final is not None and final.pid == proc.pid  # the dead holder's lease is still there
    lease.acquire(wait=30)
    try:
        assert time.time() < final.heartbeat + 60  # its pid is gone: no need to wait out the TTL
        owner = lease.owner()
        assert owner is not None and owner.owner_id == lease.owner_id
    finally:
        lease.release()


@pytest.mark.slow  # waits out lease TTLs
def test_kill_9_of_a_holder_on_another_host_frees_the_lease_after_its_ttl_not_before(
    vault: Path, holders: list[subprocess.Popen[str]]
) -> None:
    ttl = 3.0
    proc = spawn(vault, ttl=ttl, host="laptop-b")
    holders.append(proc)
    lease = Lease(vault, ttl=ttl)
    with pytest.raises(VaultLeased, match="on host laptop-b"):
        lease.acquire(wait=0)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(10)
    final = probe(vault)
    assert final.owner is not None and final.owner.pid == proc.pid and final.changed_at
    expires = max(final.owner.heartbeat, final.changed_at) + ttl
    took: list[float] = []

    def wait_for_it() -> None:
        lease.acquire(wait=60)
        took.append(time.time())

    waiter = threading.Thread(target=wait_for_it)
    waiter.start()
    began = time.time()
    waiter.join(90)
    try:
        assert took, "the waiting acquirer never got the lease"
        assert began < expires <= took[0]  # it waited, and got it once the TTL had passed
        owner = lease.owner()
        assert owner is not None and owner.owner_id == lease.owner_id
    finally:
        lease.release()


def test_two_processes_racing_to_take_over_an_expired_lease_exactly_one_wins(
    vault: Path, holders: list[subprocess.Popen[str]]
) -> None:
    here = Identity.here()
    for _round in range(3):
        plant(vault, foreign(here.host, dead_pid(), time.time(), here.pid_scope))  # stale at once
        racers = [spawn(vault, ttl=30, mode="race") for _ in range(4)]
        holders.extend(racers)
        for racer in racers:  # all of them go at once
            assert racer.stdin is not None
            racer.stdin.write("go\n")
            racer.stdin.flush()
        results = [racer.stdout.readline().split() for racer in racers if racer.stdout]
        winners = [
            (racer, words[1])
            for racer, words in zip(racers, results, strict=True)
            if words[0] == "won"
        ]
        assert len(winners) == 1, results
        assert sorted(words[0] for words in results) == ["busy", "busy", "busy", "won"]
        owner = probe(vault).owner
        assert owner is not None
        assert (owner.pid, owner.owner_id) == (winners[0][0].pid, winners[0][1])
        for racer in racers:
            racer.communicate("quit\n", timeout=30)
            assert racer.returncode == 0
        assert probe(vault).kind == "absent"  # the winner released it on its way out


# -- the heartbeat --------------------------------------------------------------------------------


@pytest.mark.slow  # waits out lease TTLs
def test_the_heartbeat_keeps_a_lease_alive_past_several_ttls(
    vault: Path, holders: list[subprocess.Popen[str]]
) -> None:
    ttl = 2.0
    proc = spawn(vault, ttl=ttl, host="laptop-b")  # only its heartbeat can keep it alive here
    holders.append(proc)
    first = probe(vault).owner
    assert first is not None
    lease, beats = Lease(vault, ttl=ttl), set()
    while time.time() < first.heartbeat + 3 * ttl:
        with pytest.raises(VaultLeased, match="on host laptop-b"):
            lease.acquire(wait=0)
        owner = lease.owner()
        assert owner is not None and owner.owner_id == first.owner_id
        beats.add(owner.heartbeat)
        time.sleep(0.2)
    assert proc.poll() is None
    assert len(beats) >= 3 and max(beats) > first.heartbeat + 2 * ttl


def folder_locked(vault: Path) -> bool:
    fd = os.open(vault / LEASE_DIR, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False


@pytest.mark.slow  # waits out lease TTLs
def test_a_holder_suspended_past_its_ttl_learns_it_lost_the_lease_and_stops_writing(
    vault: Path, holders: list[subprocess.Popen[str]]
) -> None:
    ttl = 1.5
    proc = spawn(vault, ttl=ttl, host="laptop-b", mode="watch")
    holders.append(proc)
    for _ in range(50):  # suspend it outside a renewal (not while it holds the folder's lock)
        os.kill(proc.pid, signal.SIGSTOP)
        if not folder_locked(vault):
            break
        os.kill(proc.pid, signal.SIGCONT)
        time.sleep(0.05)
    lease = Lease(vault, ttl=ttl)
    lease.acquire(wait=30, role="the new writer")  # its heartbeat stopped: expired after a TTL
    try:
        os.kill(proc.pid, signal.SIGCONT)
        out, err = proc.communicate(timeout=30)
        assert proc.returncode == 0, err
        lost = out.split("lost: ", 1)[1]
        assert "lost the vault's lease" in lost and "stopped writing" in lost
        assert f"the new writer pid {os.getpid()}" in lost
        owner = lease.owner()
        assert owner is not None and owner.owner_id == lease.owner_id  # it did not write it back
    finally:
        lease.release()


def test_a_holder_whose_lease_is_replaced_is_told_and_ensure_refuses(vault: Path) -> None:
    told: list[LeaseLost] = []
    lease = Lease(vault, ttl=1.0, on_lost=told.append)
    lease.acquire()
    path = plant(vault, foreign("laptop-b", 4242, time.time()))  # another machine took it over
    wait_until(lambda: lease.lost, what="the heartbeat to notice")
    assert not lease.held
    assert len(told) == 1 and "held by companion daemon pid 4242 on host laptop-b" in str(told[0])
    with pytest.raises(LeaseLost, match="stopped writing"):
        lease.ensure()
    before = path.read_bytes()
    lease.release()
    assert path.read_bytes() == before  # not ours any more: release leaves it alone


def test_ensure_renews_a_lease_whose_heartbeat_is_overdue(vault: Path) -> None:
    lease = Lease(vault, ttl=60)
    lease.acquire()
    try:
        lease.ensure()  # fresh: nothing to do
        first = lease.owner()
        assert first is not None
        lease._renewed_wall -= 40  # as if this process had been asleep for 40s (> TTL/2)
        lease.ensure()
        renewed = lease.owner()
        assert renewed is not None and renewed.heartbeat > first.heartbeat
        lease._renewed_wall -= 90  # asleep for longer than the TTL: others may have taken it
        with pytest.raises(LeaseLost, match="did not renew"):
            lease.ensure()
        assert lease.lost and not lease.held
    finally:
        lease.release()
    assert not lease_path(vault).exists()  # it was still ours: removed


def test_ensure_lets_a_write_through_while_a_failing_renewal_still_has_time(vault: Path) -> None:
    lease = Lease(vault, ttl=60)
    lease.acquire()
    try:
        (vault / LEASE_DIR).rename(vault / "moved-away")
        (vault / LEASE_DIR).write_text("in the way\n")  # every renewal fails from now on
        lease._renewed_wall -= 35  # overdue (> TTL/2): ensure tries to renew, and cannot
        lease.ensure()  # nobody may take it over before the TTL: the write may go ahead
        assert lease.held
        lease._renewed_wall -= 15  # 50s without a renewal: the next beat would be past the TTL
        with pytest.raises(LeaseLost, match="could not renew"):
            lease.ensure()
        assert lease.lost
    finally:
        lease.release()


def test_a_removed_lease_is_claimed_again_by_its_holder_while_in_time(vault: Path) -> None:
    lease = Lease(vault, ttl=1.0)
    lease.acquire()
    try:
        lease_path(vault).unlink()  # by hand, or a sync tool carrying a deletion
        wait_until(lambda: lease_path(vault).exists(), what="the heartbeat to claim it again")
        owner = lease.owner()
        assert owner is not None and owner.owner_id == lease.owner_id and lease.held
    finally:
        lease.release()


# -- what is not a lease --------------------------------------------------------------------------


def garbage_text(path: Path) -> str:
    path.write_bytes(b"hello, this is not JSON\n")
    return "not JSON"


def garbage_binary(path: Path) -> str:
    path.write_bytes(bytes(range(256)) * 4)
    return "not UTF-8"


def garbage_empty(path: Path) -> str:
    path.write_bytes(b"")
    return "empty"


def garbage_other_json(path: Path) -> str:
    path.write_bytes(b'{"format": 1, "owner": "x", "pid": "seven"}')
    return "not a lease"


def garbage_nested(path: Path) -> str:
    path.write_bytes(b"[" * (MAX_LEASE_BYTES - 1))
    return "not JSON"


def garbage_huge(path: Path) -> str:
    with open(path, "wb") as fh:
        fh.truncate(8 << 30)  # 8 GiB, sparse: never read
    return "not read"


def garbage_fifo(path: Path) -> str:
    os.mkfifo(path)  # opening it to read would block for ever
    return "a FIFO"


def garbage_dev_zero(path: Path) -> str:
    path.symlink_to("/dev/zero")  # reading it would never end
    return "a symlink (to /dev/zero)"


def garbage_dangling(path: Path) -> str:
    path.symlink_to(path.parent / "nowhere")
    return "a symlink"


GARBAGE: list[Callable[[Path], str]] = [
    garbage_text,
    garbage_binary,
    garbage_empty,
    garbage_other_json,
    garbage_nested,
    garbage_huge,
    garbage_fifo,
    garbage_dev_zero,
    garbage_dangling,
]


@pytest.mark.timeout(60)
@pytest.mark.parametrize(
    "make", GARBAGE, ids=[f.__name__.removeprefix("garbage_") for f in GARBAGE]
)
@pytest.mark.slow  # waits out lease TTLs
def test_a_lease_file_that_is_not_a_lease_is_reported_busy_while_fresh_then_taken_over(
    vault: Path, make: Callable[[Path], str]
) -> None:
    path = lease_path(vault)
    path.parent.mkdir()
    problem = make(path)
    made = path.lstat().st_ctime
    seen = probe(vault)
    assert seen.kind == "garbage" and seen.owner is None
    assert seen.problem is not None and problem in seen.problem
    lease = Lease(vault, ttl=1.5)
    with pytest.raises(VaultLeased, match="not readable") as busy:
        lease.acquire(wait=0)  # fresh: a companion may be writing it in place
    assert str(path) in str(busy.value) and problem in str(busy.value)
    assert busy.value.owner is None
    lease.acquire(wait=30)  # unchanged for a TTL: nobody renews it, so it is taken over
    try:
        assert time.time() >= made + 1.5
        assert stat.S_ISREG(path.lstat().st_mode)  # replaced, never written through
        owner = lease.owner()
        assert owner is not None and owner.owner_id == lease.owner_id
        assert stat.S_ISCHR(os.stat("/dev/zero").st_mode)
    finally:
        lease.release()
    assert not path.exists() and not path.is_symlink()


def test_a_folder_where_the_lease_goes_is_an_error_naming_it_and_changes_nothing(
    vault: Path,
) -> None:
    lease_path(vault).mkdir(parents=True)
    with pytest.raises(LeaseUnusable, match=r"lease\.json is a folder, not a lease file"):
        Lease(vault, ttl=1).acquire(wait=0)
    assert lease_path(vault).is_dir() and not any(lease_path(vault).iterdir())
    assert sorted(p.name for p in (vault / LEASE_DIR).iterdir()) == [LEASE_NAME]


def test_a_lease_folder_that_is_a_file_or_a_symlink_is_refused_and_never_followed(
    vault: Path, tmp_path: Path
) -> None:
    (vault / LEASE_DIR).write_text("mine\n")
    with pytest.raises(LeaseUnusable, match="is not a folder"):
        Lease(vault, ttl=1).acquire()
    assert (vault / LEASE_DIR).read_text() == "mine\n"
    (vault / LEASE_DIR).unlink()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (vault / LEASE_DIR).symlink_to(elsewhere)
    with pytest.raises(LeaseUnusable, match="is a symlink"):
        Lease(vault, ttl=1).acquire()
    assert not any(elsewhere.iterdir())
    assert probe(vault).kind == "unusable"


def test_temp_files_left_by_a_crash_are_swept_when_the_lease_is_next_taken(vault: Path) -> None:
    stray = write(vault, f"{LEASE_DIR}/.{LEASE_NAME}.dead.beef.companion-tmp", "half a lease")
    wait_until(lambda: time.time() - stray.lstat().st_ctime > 0.5, what="the stray to age")
    lease = Lease(vault, ttl=0.5)
    lease.acquire()
    try:
        assert not stray.exists()
    finally:
        lease.release()
