"""One writer per vault: a real `flock` between real threads and processes."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from companion.app import Companion
from companion.errors import EXIT_BUSY, LeaseLost, LeaseUnusable, VaultLeased, WriterBusy
from companion.write.lease import LEASE_DIR, LEASE_NAME, Owner
from companion.write.lock import LOCK_NAME, WAIT, WriterLock, holder
from companion.write.pages import PageChange, UpdateResult
from tests.helpers import OpenApp, wait_until

PAGE = "wiki/concepts/Tide.md"
TIDE = "---\ntype: concept\nversion: 1\n---\n# Tide\n\nTides rise and fall twice a day.\n"

# A process that takes the lock, says so, then holds it: until a line arrives on stdin (then
# `after` more seconds), or for `hold` seconds when it is not told to wait for a line.
HOLDER = """
import sys, time
from pathlib import Path
from companion.write.lock import WriterLock
lock = WriterLock(Path(sys.argv[1]))
lock.acquire("test holder", wait=0)
print("held", flush=True)
if sys.argv[2] == "line":
    sys.stdin.readline()
    time.sleep(float(sys.argv[3]))
else:
    time.sleep(float(sys.argv[3]))
"""


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("COMPANION_")}
    env.update(extra)
    return env


def spawn_holder(lock: Path, mode: str, seconds: float) -> subprocess.Popen[str]:
    """A real process holding the lock at `lock`; returns once the lock file names it."""
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(lock), mode, str(seconds)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=clean_env(),
    )
    try:
        wait_until(lambda: (holder(lock) or {}).get("pid") == proc.pid, what="the holder's lock")
    except BaseException:
        proc.kill()
        proc.communicate()
        raise
    return proc


def stop(proc: subprocess.Popen[str]) -> None:
    if proc.poll() is None:
        proc.kill()
    proc.communicate()


@contextmanager
def held_on_a_thread(app: Companion, role: str) -> Iterator[threading.Thread]:
    """`app.writing(role)` entered on another thread for the duration of the block."""
    entered, leave = threading.Event(), threading.Event()
    failed: list[BaseException] = []

    def hold() -> None:
        try:
            with app.writing(role):
                entered.set()
                leave.wait(30)
        except BaseException as exc:
            failed.append(exc)
            entered.set()

    thread = threading.Thread(target=hold)
    thread.start()
    assert entered.wait(10)
    assert not failed, failed
    try:
        yield thread
    finally:
        leave.set()
        thread.join(10)


# -- WriterLock -----------------------------------------------------------------------------------


def test_a_second_lock_waits_then_is_busy_naming_the_holders_pid_host_and_since(
    tmp_path: Path,
) -> None:
    path = tmp_path / LOCK_NAME
    first, second = WriterLock(path), WriterLock(path)
    first.acquire("companion daemon")
    try:
        started = time.monotonic()
        with pytest.raises(WriterBusy) as busy:
            second.acquire("companion update", wait=0.3)
        waited = time.monotonic() - started
    finally:
        first.release()
    assert 0.3 <= waited < 3.0
    assert busy.value.exit_code == EXIT_BUSY == 75
    message = str(busy.value)
    assert f"pid {os.getpid()}" in message
    assert f"on host {socket.gethostname()}" in message
    assert "since " in message and "companion daemon" in message
    assert "waited 0.3s" in message
    assert not second.held


def test_a_lock_is_taken_at_once_when_nobody_holds_it_and_records_its_holder(
    tmp_path: Path,
) -> None:
    path = tmp_path / LOCK_NAME
    with WriterLock(path) as lock:
        started = time.monotonic()
        lock.acquire("companion index", wait=WAIT)
        assert time.monotonic() - started < 0.5
        assert lock.held
        info = holder(path)
        assert info is not None
        assert (info["pid"], info["host"], info["role"]) == (
            os.getpid(),
            socket.gethostname(),
            "companion index",
        )
        assert abs(info["since"] - time.time()) < 60
    assert not lock.held
    assert holder(path) is None  # released: nobody is named any more


def test_a_waiting_writer_gets_the_lock_once_the_holder_releases_it(tmp_path: Path) -> None:
    path = tmp_path / LOCK_NAME
    first, second = WriterLock(path), WriterLock(path)
    first.acquire("first")
    releaser = threading.Timer(0.3, first.release)
    releaser.start()
    try:
        started = time.monotonic()
        second.acquire("second", wait=3)
        waited = time.monotonic() - started
    finally:
        releaser.join()
    try:
        assert 0.2 <= waited < 3.0
        assert second.held
        assert (holder(path) or {}).get("role") == "second"
    finally:
        second.release()


def test_the_os_releases_the_lock_of_a_process_killed_by_sigkill(tmp_path: Path) -> None:
    path = tmp_path / LOCK_NAME
    proc = spawn_holder(path, "sleep", 60)
    try:
        with pytest.raises(WriterBusy, match=f"pid {proc.pid}"):
            WriterLock(path).acquire("too early", wait=0)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
        assert proc.returncode == -signal.SIGKILL
    finally:
        stop(proc)
    assert (holder(path) or {}).get("pid") == proc.pid  # the dead holder's note is still there
    lock = WriterLock(path)
    started = time.monotonic()
    lock.acquire("after the kill", wait=0)
    try:
        assert time.monotonic() - started < 0.5
        assert (holder(path) or {}).get("pid") == os.getpid()
    finally:
        lock.release()


# -- two state folders, one vault: the vault's lease ----------------------------------------------

# A process holding the writer lock of state folder argv[1] and the lease of vault argv[2].
VAULT_HOLDER = """
import sys, time
from pathlib import Path
from companion.write.lock import WriterLock
lock = WriterLock(Path(sys.argv[1]), vault=Path(sys.argv[2]), ttl=30)
lock.acquire("companion daemon", wait=0)
print("held", flush=True)
time.sleep(600)
"""


@pytest.fixture
def two_states(tmp_path: Path) -> tuple[Path, Path, Path]:
    vault, first, second = tmp_path / "vault", tmp_path / "state-a", tmp_path / "state-b"
    for folder in (vault, first, second):
        folder.mkdir()
    return vault, first / LOCK_NAME, second / LOCK_NAME


def test_a_second_state_folder_cannot_take_the_writer_lock_of_a_vault_another_process_holds(
    two_states: tuple[Path, Path, Path],
) -> None:
    vault, first, second = two_states
    proc = subprocess.Popen(
        [sys.executable, "-c", VAULT_HOLDER, str(first), str(vault)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=clean_env(),
    )
    try:
        assert proc.stdout is not None and proc.stdout.readline() == "held\n"
        lock = WriterLock(second, vault=vault)
        started = time.monotonic()
        with pytest.raises(VaultLeased) as busy:
            lock.acquire("companion watch", wait=0.3)
        assert time.monotonic() - started >= 0.3
        owner = lock.owner()  # the read-only probe, for status and a read-only daemon
    finally:
        stop(proc)
    assert isinstance(busy.value, WriterBusy) and busy.value.exit_code == EXIT_BUSY == 75
    message = str(busy.value)
    assert f"held by companion daemon pid {proc.pid} on host {socket.gethostname()}" in message
    assert f"state folder {first.parent}" in message and "since " in message
    assert "waited 0.3s" in message
    assert owner is not None and (owner.pid, owner.state_dir) == (proc.pid, str(first.parent))
    assert not lock.held and not lock.state_held
    with WriterLock(second) as same_state:  # the state folder's lock was let go with the lease
        same_state.acquire("after", wait=0)
        assert same_state.held


def test_the_writer_lock_holds_both_and_releases_both_together(
    two_states: tuple[Path, Path, Path],
) -> None:
    vault, first, second = two_states
    lock = WriterLock(first, vault=vault, ttl=30)
    lock.acquire("companion index", wait=0)
    lease = vault / LEASE_DIR / LEASE_NAME
    try:
        assert lock.held and lock.state_held and not lock.lost
        assert (holder(first) or {}).get("pid") == os.getpid()
        owner = lock.owner()
        assert isinstance(owner, Owner) and owner.role == "companion index"
        with pytest.raises(WriterBusy, match="held by companion index"):  # same state folder
            WriterLock(first, vault=vault).acquire("second", wait=0)
        with pytest.raises(VaultLeased, match="held by companion index"):  # another one
            WriterLock(second, vault=vault).acquire("second", wait=0)
        lock.ensure()
    finally:
        lock.release()
    assert not lock.held and not lease.exists() and holder(first) is None
    other = WriterLock(second, vault=vault)
    other.acquire("second", wait=0)  # free for anyone now
    other.release()


def test_held_turns_false_when_the_lease_is_lost_and_acquiring_again_takes_it_back(
    two_states: tuple[Path, Path, Path],
) -> None:
    vault, first, _ = two_states
    told: list[LeaseLost] = []
    lock = WriterLock(first, vault=vault, ttl=1.0, on_lost=told.append)
    lock.acquire("companion daemon", wait=0)
    lease = vault / LEASE_DIR / LEASE_NAME
    try:
        taken = json.loads(lease.read_text())
        taken.update(owner="someone-else", host="laptop-b", pid=4242, pid_scope="elsewhere")
        tmp = lease.with_name("taken.tmp")
        tmp.write_text(json.dumps(taken))
        os.replace(tmp, lease)  # another machine took it over, as its sync tool delivers it
        wait_until(lambda: lock.lost, what="the heartbeat to notice")
        assert not lock.held and lock.state_held  # the state folder's lock is still ours
        assert len(told) == 1 and "pid 4242 on host laptop-b" in str(told[0])
        with pytest.raises(LeaseLost, match="stopped writing"):
            lock.ensure()
        with pytest.raises(VaultLeased, match="laptop-b"):  # it is theirs, and alive
            lock.acquire("companion daemon", wait=0)
        assert lock.state_held  # a failed retry keeps what it did not take
        lease.unlink()  # they let go
        lock.acquire("companion daemon", wait=0)
        assert lock.held and not lock.lost
    finally:
        lock.release()
    assert not lease.exists() and not lock.state_held


def test_without_a_vault_the_writer_lock_is_the_state_folder_lock_alone(tmp_path: Path) -> None:
    lock = WriterLock(tmp_path / LOCK_NAME)
    with lock:
        lock.acquire("companion index", wait=0)
        assert lock.held and lock.owner() is None and lock.probe() is None
        lock.ensure()
    assert not (tmp_path / LEASE_DIR).exists()


def test_a_vault_whose_lease_cannot_be_kept_is_an_error_and_leaves_no_lock_held(
    two_states: tuple[Path, Path, Path],
) -> None:
    vault, first, _ = two_states
    (vault / LEASE_DIR).write_text("not a folder\n")
    lock = WriterLock(first, vault=vault)
    with pytest.raises(LeaseUnusable, match=r"\.companion is not a folder"):
        lock.acquire("companion index", wait=0)
    assert not lock.state_held
    assert (vault / LEASE_DIR).read_text() == "not a folder\n"


def test_lease_false_takes_the_state_folder_lock_alone_and_a_later_acquire_adds_the_lease(
    two_states: tuple[Path, Path, Path],
) -> None:
    vault, first, _ = two_states
    lock = WriterLock(first, vault=vault, ttl=30)
    try:
        lock.acquire("companion watch (read-only)", wait=0, lease=False)
        assert lock.state_held and not lock.held and lock.owner() is None
        lock.acquire("companion watch", wait=0)
        assert lock.held and lock.owner() is not None
    finally:
        lock.release()


# -- Companion: two writers on one vault ----------------------------------------------------------


@pytest.fixture
def two_writers(make_vault: Callable[..., Path], open_app: OpenApp) -> tuple[Companion, Companion]:
    vault = make_vault({PAGE: TIDE, "Harbour.md": "# Harbour\n\nBoats wait for the tide.\n"})
    first, second = open_app(vault, state="state"), open_app(vault, state="state")
    assert first.settings.state_dir == second.settings.state_dir
    first.index()
    second.lock_wait = 0.2
    return first, second


def test_a_second_companion_cannot_index_while_the_first_is_writing(
    two_writers: tuple[Companion, Companion],
) -> None:
    first, second = two_writers
    vault = first.settings.vault
    (vault / "New.md").write_text("# New\n\nA new note about the moon.\n")
    with held_on_a_thread(first, "companion daemon"):
        started = time.monotonic()
        with pytest.raises(WriterBusy, match=f"companion daemon pid {os.getpid()}") as busy:
            second.index()
        assert time.monotonic() - started >= 0.2
        assert busy.value.exit_code == 75
    assert second.store.pages.file_states(["New.md"]) == {}  # nothing was indexed
    result = second.index()
    assert result.sync.added == ["New.md"]


def test_readers_need_no_lock_while_another_companion_holds_it(
    two_writers: tuple[Companion, Companion],
) -> None:
    first, second = two_writers
    with held_on_a_thread(first, "companion daemon"):
        started = time.monotonic()
        hits = second.search("boats tide", mode="bm25")
        status = second.status()
        assert time.monotonic() - started < second.lock_wait  # never waited for the lock
        with pytest.raises(WriterBusy):  # while the lock was held all along
            second.sync()
    assert "Harbour.md" in [h.path for h in hits]
    assert status.counts["notes"] >= 2


def test_a_companion_holding_the_writer_blocks_anothers_update_until_it_closes(
    two_writers: tuple[Companion, Companion],
) -> None:
    first, second = two_writers
    page = first.settings.vault / PAGE
    before = page.read_bytes()
    first.hold_writer("companion daemon")
    with pytest.raises(WriterBusy, match="held by companion daemon"):
        second.update(PAGE, 1, PageChange(properties={"status": "reviewed"}))
    assert page.read_bytes() == before
    first.close()
    done = second.update(PAGE, 1, PageChange(properties={"status": "reviewed"}))
    assert isinstance(done, UpdateResult)
    assert (done.old_version, done.new_version) == (1, 2)
    assert "status: reviewed" in page.read_text()


def test_writing_is_reentrant_within_one_companion(
    two_writers: tuple[Companion, Companion],
) -> None:
    first, second = two_writers
    with first.writing("companion update"):
        first.index(embed=False)  # takes `writing` again inside: no self-deadlock
        with pytest.raises(WriterBusy, match="held by companion update"):
            second.sync()
    second.sync()


# -- the one-shot CLI against a holder in another process -----------------------------------------


@pytest.fixture
def cli_vault(make_vault: Callable[..., Path], tmp_path: Path) -> tuple[Path, Path]:
    vault = make_vault({PAGE: TIDE})
    state = tmp_path / "cli-state"
    done = subprocess.run(
        [sys.executable, "-m", "companion", "index", str(vault), "--no-embed"],
        capture_output=True,
        text=True,
        env=clean_env(COMPANION_STATE_DIR=str(state), COMPANION_EMBED_BACKEND="fake"),
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return vault, state


def start_update(vault: Path, state: Path) -> subprocess.Popen[str]:
    cmd = [sys.executable, "-m", "companion", "update", PAGE, "--expect-version", "1"]
    return subprocess.Popen(
        [*cmd, "--set", "status=x", "--vault", str(vault)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=clean_env(COMPANION_STATE_DIR=str(state), COMPANION_EMBED_BACKEND="fake"),
    )


def waits_on(proc: subprocess.Popen[str], lock: Path) -> bool:
    """Whether `proc` has the lock file open: it is inside `acquire`, waiting."""
    fds = Path(f"/proc/{proc.pid}/fd")
    try:
        return any(os.path.realpath(fd) == str(lock.resolve()) for fd in fds.iterdir())
    except OSError:
        return False


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="needs /proc to see the wait")
def test_a_one_shot_update_waits_for_a_holder_that_finishes_within_the_wait(
    cli_vault: tuple[Path, Path],
) -> None:
    vault, state = cli_vault
    lock = state / LOCK_NAME
    holding = spawn_holder(lock, "line", 1.0)
    try:
        update = start_update(vault, state)
        wait_until(lambda: waits_on(update, lock), what="the update to wait for the lock")
        assert holding.poll() is None and (holder(lock) or {}).get("pid") == holding.pid
        assert holding.stdin is not None
        holding.stdin.write("let go in a second\n")
        holding.stdin.flush()
        out, err = update.communicate(timeout=60)
    finally:
        stop(holding)
    assert holding.returncode == 0  # it finished its second of holding, then exited
    assert update.returncode == 0, err
    assert "version 1 -> 2" in out
    text = (vault / PAGE).read_text()
    assert "version: 2" in text and "status: x" in text


@pytest.mark.slow
def test_a_one_shot_update_gives_up_with_exit_75_naming_a_holder_that_keeps_the_lock(
    cli_vault: tuple[Path, Path],
) -> None:
    vault, state = cli_vault
    lock = state / LOCK_NAME
    before = (vault / PAGE).read_bytes()
    holding = spawn_holder(lock, "sleep", 8.0)
    try:
        started = time.monotonic()
        update = start_update(vault, state)
        _, err = update.communicate(timeout=60)
        took = time.monotonic() - started
        assert holding.poll() is None  # still holding when the update gave up
    finally:
        stop(holding)
    assert update.returncode == 75, err
    assert WAIT <= took < 8.0
    assert f"held by test holder pid {holding.pid} on host {socket.gethostname()}" in err
    assert "since " in err
    assert (vault / PAGE).read_bytes() == before
    retry = start_update(vault, state)
    out, err = retry.communicate(timeout=60)
    assert retry.returncode == 0, err
    assert "version 1 -> 2" in out
