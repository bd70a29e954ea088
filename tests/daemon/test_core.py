"""The daemon with real watchdog events on real folders, a real Unix socket and (the fake model
registered as a backend) the real embedding pipeline. Its timers are tested in test_schedule.py."""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import os
import re
import signal
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path

import pytest

from companion.app import Companion
from companion.config import load_settings
from companion.daemon import client
from companion.daemon.core import Daemon, DaemonOptions
from companion.embed import Embedder
from companion.errors import WriterBusy as LockHeld
from companion.store.db import Store
from tests.daemon.support import FAST, serve_in_thread
from tests.helpers import REAL_VAULTS, wait_until

NOTES: dict[str, str | bytes] = {
    "Home.md": "# Home\n\nSee [[Lighthouse]] and [[wiki/entities/Beacon]].\n",
    "Lighthouse.md": "# Lighthouse\n\nThe lighthouse keeper logs every ship.\n",
    "wiki/entities/Beacon.md": "---\ntype: entity\nversion: 3\ntags: [signal]\n---\n# Beacon\n\nA beacon warns ships.\n",
}


def digest(path: Path) -> tuple[str, int]:
    return hashlib.sha256(path.read_bytes()).hexdigest(), path.stat().st_mtime_ns


class Running:
    def __init__(self, daemon: Daemon, thread: threading.Thread) -> None:
        self.daemon, self.thread = daemon, thread
        self.state = daemon.settings.state_dir
        self.vault = daemon.settings.vault

    def search(self, query: str, mode: str = "bm25") -> list[str]:
        hits = client.request(self.state, "search", query=query, mode=mode, limit=10)
        assert hits is not None, "the daemon did not answer"
        return [h["path"] for h in hits]

    def idle(self) -> bool:
        d, s = self.daemon, self.daemon.schedule
        return (
            d.inbox.empty()
            and not d.embedding
            and not s.unsettled
            and not s.bumps
            and not s.retry
            and s.catalog_due is None
            and not (d.watcher and d.watcher.pending())
        )


@pytest.fixture
def start_daemon(tmp_path: Path, embedder: Embedder) -> Iterator[Callable[..., Running]]:
    running: list[Running] = []

    def start(
        vault: Path, options: DaemonOptions = FAST, state: str = "state", lease_ttl: float = 60.0
    ) -> Running:
        settings = load_settings(vault, state_dir=tmp_path / state, embed_backend="fake")
        settings = dataclasses.replace(settings, lease_ttl=lease_ttl)
        daemon = Daemon(
            settings, options, embedder=embedder, query_embedder=embedder, out=io.StringIO()
        )
        daemon.start()
        thread = serve_in_thread(daemon)
        handle = Running(daemon, thread)
        running.append(handle)
        wait_until(
            lambda: daemon.inbox.empty() and daemon.schedule.catalog_due is None, what="start-up"
        )
        return handle

    yield start
    for handle in running:
        handle.daemon.stop()
        handle.thread.join(timeout=20)


def test_an_edit_becomes_searchable(
    make_vault: Callable[..., Path], start_daemon: Callable[..., Running]
) -> None:
    run = start_daemon(make_vault(NOTES))
    assert run.search("keeper") == ["Lighthouse.md"]
    (run.vault / "Lighthouse.md").write_text(
        "# Lighthouse\n\nFog horns sound at night.\n", encoding="utf-8"
    )
    wait_until(
        lambda: run.search("fog horns") == ["Lighthouse.md"], what="the edit to be searchable"
    )
    assert run.search("keeper") == []
    new = run.vault / "Harbour.md"
    new.write_text("Tugboats berth here.\n", encoding="utf-8")
    wait_until(lambda: run.search("tugboats") == ["Harbour.md"], what="a new note")


def test_a_delete_is_gone_from_search(
    make_vault: Callable[..., Path], start_daemon: Callable[..., Running]
) -> None:
    run = start_daemon(make_vault(NOTES))
    (run.vault / "Lighthouse.md").unlink()
    wait_until(lambda: run.search("keeper") == [], what="the deleted note to leave search")
    edges = {e.raw: e.target for e in _store_edges(run) if e.source == "Home.md"}
    assert edges["[[Lighthouse]]"] is None


def _store_edges(run: Running) -> list:  # type: ignore[type-arg]
    store = Store.open(run.daemon.settings.db_path)
    try:
        return store.links.edges()
    finally:
        store.close()


def test_a_rename_costs_no_embedding_and_links_follow(
    make_vault: Callable[..., Path], start_daemon: Callable[..., Running]
) -> None:
    run = start_daemon(make_vault(NOTES))
    wait_until(run.idle, what="initial embedding")
    embedded_before = run.daemon.status()["embedded"]
    calls_before = run.daemon.counters["batches"]
    os.makedirs(run.vault / "coast")
    os.rename(run.vault / "Lighthouse.md", run.vault / "coast" / "Lighthouse.md")
    wait_until(lambda: run.search("keeper") == ["coast/Lighthouse.md"], what="the moved note")
    wait_until(run.idle, what="the daemon to settle")
    assert run.daemon.counters["batches"] > calls_before
    status = run.daemon.status()
    assert status["embedded"] == embedded_before and status["queue"]["embedding"] == 0
    edges = {e.raw: e.target for e in _store_edges(run) if e.source == "Home.md"}
    assert edges["[[Lighthouse]]"] == "coast/Lighthouse.md"  # the bare link follows the file


@pytest.mark.slow  # waits out timers to prove nothing else happens
def test_own_writes_cause_no_further_writes_and_an_idle_daemon_writes_nothing(
    make_vault: Callable[..., Path], start_daemon: Callable[..., Running]
) -> None:
    run = start_daemon(make_vault(NOTES))
    (run.vault / "New.md").write_text("a fresh note about buoys\n", encoding="utf-8")
    wait_until(lambda: run.search("buoys") == ["New.md"], what="the new note")
    wait_until(run.idle, what="the daemon to settle")
    writes = run.daemon.counters["writes"]
    files = {p: digest(p) for p in run.vault.rglob("*") if p.is_file()}
    db = run.daemon.settings.db_path
    db_state = (db.stat().st_mtime_ns, Path(f"{db}-wal").stat().st_size)
    time.sleep(2 * FAST.settle)  # past every timer (settle, catalog): a write would show now
    assert run.daemon.counters["writes"] == writes
    assert {p: digest(p) for p in run.vault.rglob("*") if p.is_file()} == files
    assert (db.stat().st_mtime_ns, Path(f"{db}-wal").stat().st_size) == db_state
    assert run.daemon.counters["own_events_ignored"] >= 1  # index.md / log.md echoes were seen


@pytest.mark.slow  # waits out timers to prove nothing else happens
def test_a_human_edit_of_a_managed_page_gets_exactly_one_bump_and_nothing_else(
    make_vault: Callable[..., Path], start_daemon: Callable[..., Running]
) -> None:
    run = start_daemon(make_vault(NOTES))
    page = run.vault / "wiki" / "entities" / "Beacon.md"
    edited = page.read_bytes().replace(
        b"A beacon warns ships.", b"A beacon warns ships and planes."
    )
    page.write_bytes(edited)
    wait_until(lambda: b"version: 4" in page.read_bytes(), what="the version bump")
    wait_until(run.idle, what="the daemon to settle")
    time.sleep(2 * FAST.settle)  # longer than the settle window: a second bump would show now
    assert page.read_bytes() == edited.replace(b"version: 3", b"version: 4")
    assert run.daemon.counters["bumps"] == 1
    assert run.search("planes") == ["wiki/entities/Beacon.md"]


def _finds(run: Running, word: str, path: str) -> bool:
    return run.search(word) == [path]


@pytest.mark.slow  # real pauses and lease waits
def test_an_editing_session_with_pauses_costs_one_bump_and_one_log_entry(
    make_vault: Callable[..., Path], start_daemon: Callable[..., Running]
) -> None:
    """Saves with pauses longer than `settle` (each pause is searched and embedded) but shorter
    than `bump_settle`: one bump once the session is over, not one per pause."""
    session = DaemonOptions(
        debounce=0.1, max_delay=0.5, settle=0.3, bump_settle=2.5, catalog_delay=0.2
    )
    run = start_daemon(make_vault(NOTES), session)
    page = run.vault / "wiki" / "entities" / "Beacon.md"
    log_before = (run.vault / "log.md").read_text()
    for n in range(3):
        with page.open("a", encoding="utf-8") as fh:
            fh.write(f"\nparagraph{n} typed by a person\n")
        wait_until(partial(_finds, run, f"paragraph{n}", "wiki/entities/Beacon.md"))
        time.sleep(1.0)  # a pause to think: past `settle`, well inside `bump_settle`
        assert b"version: 3" in page.read_bytes(), f"bumped during the session (pause {n})"
    wait_until(lambda: b"version: 4" in page.read_bytes(), what="the one bump")
    time.sleep(3.0)  # past another bump window: a second bump would show now
    assert run.daemon.counters["bumps"] == 1 and b"version: 4" in page.read_bytes()
    new_entries = (run.vault / "log.md").read_text()[len(log_before) :]
    assert new_entries.count("| `wiki/entities/Beacon.md` version 3 → 4") == 1, new_entries


def test_bumps_keep_every_other_byte_of_obsidian_written_yaml_and_crlf(
    make_vault: Callable[..., Path], start_daemon: Callable[..., Running]
) -> None:
    crlf = '---\r\ntype: concept\r\nversion: 7 # keep me\r\naliases:\r\n  - "Fog"\r\n---\r\nBody line.\r\n'
    files: dict[str, str | bytes] = {"wiki/concepts/Fog.md": crlf.encode()}
    kepano = REAL_VAULTS / "kepano-obsidian"
    real = sorted(kepano.rglob("*.md")) if kepano.is_dir() else []
    real = [
        p for p in real if p.read_bytes().startswith(b"---\n") and b"\ntags:" in p.read_bytes()
    ][:2]
    for i, path in enumerate(real):
        files[f"wiki/concepts/Real {i}.md"] = path.read_bytes()
    run = start_daemon(make_vault(files))
    targets = [run.vault / rel for rel in files]
    originals = {t: t.read_bytes() for t in targets}
    for target in targets:
        target.write_bytes(
            originals[target] + (b"\r\nMore.\r\n" if b"\r\n" in originals[target] else b"\nMore.\n")
        )
    wait_until(lambda: run.daemon.counters["bumps"] == len(targets), what="one bump per page")
    wait_until(run.idle, what="the daemon to settle")
    fog = targets[0].read_bytes()
    assert fog == crlf.replace("version: 7", "version: 8").encode() + b"\r\nMore.\r\n"
    for target in targets[1:]:
        # Obsidian-written YAML without a version: one line appended at the end of the block.
        before = originals[target] + b"\nMore.\n"
        close = before.index(b"\n---", 3) + 1
        assert target.read_bytes() == before[:close] + b"version: 1\n" + before[close:]


@pytest.mark.slow  # waits out timers to prove nothing else happens
def test_an_unmanaged_note_is_never_written(
    make_vault: Callable[..., Path], start_daemon: Callable[..., Running]
) -> None:
    run = start_daemon(make_vault(NOTES))
    note = run.vault / "Lighthouse.md"
    note.write_text("# Lighthouse\n\nEdited by a person.\n", encoding="utf-8")
    wait_until(lambda: run.search("person") == ["Lighthouse.md"], what="the edit")
    before = digest(note)
    wait_until(run.idle, what="settling and embedding")
    time.sleep(2 * FAST.settle)  # a bump would have come by now (the rule: test_schedule.py)
    assert digest(note) == before
    assert run.daemon.counters["bumps"] == 0


def test_a_version_bump_is_embedded_at_once(
    make_vault: Callable[..., Path], start_daemon: Callable[..., Running]
) -> None:
    slow = DaemonOptions(debounce=0.1, max_delay=0.5, settle=30.0, catalog_delay=0.2)
    run = start_daemon(make_vault(NOTES), slow)
    page = run.vault / "wiki" / "entities" / "Beacon.md"
    page.write_text(
        page.read_text()
        .replace("version: 3", "version: 4")
        .replace("warns ships", "guides aircraft")
    )
    wait_until(lambda: "wiki/entities/Beacon.md" in run.search("aircraft"), what="the text update")

    # Well inside the 30 s settle window, the bumped page is embedded anyway: its new text is what
    # vector search finds. (Waiting on the observable result, not on queue counters, which read
    # empty for a moment between the text update and the embedding job being queued.)
    def top_vector_hit() -> str | None:
        hits = client.request(
            run.state, "search", query="aircraft guidance", mode="vector", limit=3
        )
        return hits[0]["path"] if hits else None

    wait_until(lambda: top_vector_hit() == "wiki/entities/Beacon.md", timeout=20, what="embedding")


def test_a_second_daemon_is_refused_and_told_who_holds_the_lock(
    make_vault: Callable[..., Path],
    start_daemon: Callable[..., Running],
    embedder: Embedder,
) -> None:
    run = start_daemon(make_vault(NOTES))
    second = Daemon(run.daemon.settings, FAST, embedder=embedder, query_embedder=embedder)
    with pytest.raises(LockHeld, match=f"pid {os.getpid()}"):
        second.start()
    assert run.search("keeper") == ["Lighthouse.md"]  # the first one is unaffected


def test_a_refused_second_daemon_never_opens_or_repairs_the_index(
    make_vault: Callable[..., Path], tmp_path: Path, embedder: Embedder
) -> None:
    """The lock comes first: a daemon that cannot become the writer must not migrate, check or
    move aside the live writer's database (here: bytes that are not a database at all)."""
    from companion.write.lock import WriterLock

    settings = load_settings(make_vault(NOTES), state_dir=tmp_path / "state", embed_backend="fake")
    settings.state_dir.mkdir(parents=True)
    settings.db_path.write_bytes(b"not a database, but not ours to move")
    with WriterLock(settings.state_dir / "writer.lock") as held:
        held.acquire("the other writer")
        second = Daemon(settings, FAST, embedder=embedder, query_embedder=embedder)
        with pytest.raises(LockHeld, match="the other writer"):
            second.start()
    assert settings.db_path.read_bytes() == b"not a database, but not ours to move"
    assert list(settings.state_dir.glob("index.sqlite.corrupt-*")) == []


def test_an_unknown_search_mode_over_the_socket_is_a_usage_error(
    make_vault: Callable[..., Path], start_daemon: Callable[..., Running]
) -> None:
    run = start_daemon(make_vault(NOTES))
    with pytest.raises(client.DaemonError, match="unknown search mode 'fuzzy'") as refused:
        client.request(run.state, "search", query="keeper", mode="fuzzy", limit=3)
    assert refused.value.exit_code == 2


def test_update_through_the_daemon_is_compare_and_swap(
    make_vault: Callable[..., Path], start_daemon: Callable[..., Running]
) -> None:
    run = start_daemon(make_vault(NOTES))
    page = run.vault / "wiki" / "entities" / "Beacon.md"
    before = digest(page)
    with pytest.raises(client.DaemonError) as conflict:
        client.request(
            run.state, "update", page="wiki/entities/Beacon", expect_version=2, body="new body"
        )
    assert conflict.value.exit_code == 3 and "version 3, not 2" in str(conflict.value)
    assert digest(page) == before
    done = client.request(
        run.state,
        "update",
        page="wiki/entities/Beacon",
        expect_version=3,
        body="Beacons now use LEDs.\n",
        properties={"status": "current"},
    )
    assert done == {
        "path": "wiki/entities/Beacon.md",
        "old_version": 3,
        "new_version": 4,
        "changed": True,
        "created": False,
    }
    text = page.read_text()
    assert (
        "version: 4" in text
        and "status: current" in text
        and text.endswith("---\nBeacons now use LEDs.\n")
    )
    assert run.search("LEDs") == ["wiki/entities/Beacon.md"]
    with pytest.raises(client.DaemonError, match="not a managed page"):
        client.request(run.state, "update", page="Home", expect_version=1, body="x")
    with pytest.raises(client.DaemonError, match="outside the vault"):
        client.request(run.state, "update", page="../outside", expect_version=1, body="x")


def test_the_socket_is_private_to_the_owner(
    make_vault: Callable[..., Path], start_daemon: Callable[..., Running]
) -> None:
    run = start_daemon(make_vault(NOTES))
    mode = stat.S_IMODE(client.socket_path(run.state).stat().st_mode)
    assert mode == 0o600
    assert stat.S_IMODE(run.state.stat().st_mode) == 0o700


@pytest.mark.slow
def test_a_corrupt_database_is_rebuilt_on_start(
    make_vault: Callable[..., Path], start_daemon: Callable[..., Running], tmp_path: Path
) -> None:
    vault = make_vault(NOTES)
    state = tmp_path / "state"
    state.mkdir()
    (state / "index.sqlite").write_bytes(b"this is not a database" * 100)
    run = start_daemon(vault)
    assert run.search("keeper") == ["Lighthouse.md"]
    assert list(state.glob("index.sqlite.corrupt-*"))


CLEAN_ENV = {k: v for k, v in os.environ.items() if not k.startswith("COMPANION_")}


def spawn_daemon(
    vault: Path, state: Path, *extra: str, what: str = "the daemon"
) -> subprocess.Popen[str]:
    """`companion watch` as a user starts it, in its own process; returns once it answers."""
    cmd = [
        sys.executable,
        "-m",
        "companion",
        "watch",
        str(vault),
        "--state-dir",
        str(state),
        *extra,
    ]
    proc = subprocess.Popen(
        cmd, env=CLEAN_ENV, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        wait_until(
            lambda: client.request(state, "ping", timeout=1) is not None, timeout=120, what=what
        )
    except BaseException:
        proc.kill()
        proc.wait()
        raise
    return proc


@pytest.mark.slow
def test_kill_9_during_a_burst_then_restart_matches_disk(
    make_vault: Callable[..., Path], tmp_path: Path
) -> None:
    vault = make_vault(NOTES)
    state = tmp_path / "state"
    proc = spawn_daemon(vault, state, "--settle", "0.5")
    try:
        burst = vault / "burst"
        burst.mkdir()
        for i in range(300):
            (burst / f"note {i:03}.md").write_text(
                f"# Note {i}\n\nBurst note number {i} about kites.\n"
            )
        time.sleep(0.7)  # mid-burst processing
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.communicate()  # reaps it and closes its output pipe
    for i in range(0, 300, 7):  # more changes while nobody watches
        (burst / f"note {i:03}.md").unlink()
    (vault / "Lighthouse.md").write_text("# Lighthouse\n\nAutomated since 1990.\n")
    proc = spawn_daemon(vault, state, "--settle", "0.5", what="the restart")
    proc.send_signal(signal.SIGTERM)
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0, out
    store = Store.open(state / "index.sqlite")
    try:
        indexed = {p: s.hash for p, s in store.pages.file_states().items() if p.endswith(".md")}
        on_disk = {
            str(p.relative_to(vault)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in vault.rglob("*.md")
        }
        assert indexed == on_disk
        assert [r[1] for r in store.ranking.bm25('"automated"', 5)] == ["Lighthouse.md"]
    finally:
        store.close()
    assert not (state / "daemon.sock").exists()  # a clean SIGTERM removes the socket


@pytest.mark.slow
def test_sigterm_exits_cleanly_and_releases_the_lock(
    make_vault: Callable[..., Path], tmp_path: Path
) -> None:
    vault = make_vault(NOTES)
    state = tmp_path / "state"
    proc = spawn_daemon(vault, state)
    proc.send_signal(signal.SIGINT)
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0 and "stopped" in out
    again = subprocess.run(
        [
            sys.executable,
            "-m",
            "companion",
            "index",
            str(vault),
            "--state-dir",
            str(state),
            "--no-embed",
        ],
        env=CLEAN_ENV,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert again.returncode == 0, again.stderr  # the lock was released


def test_an_editors_atomic_save_counts_as_one_modification(
    make_vault: Callable[..., Path], start_daemon: Callable[..., Running]
) -> None:
    run = start_daemon(make_vault(NOTES))
    run.daemon.schedule.events.clear()
    target = run.vault / "Lighthouse.md"
    temp = run.vault / ".Lighthouse.md.swp"  # written beside it, then renamed over it
    temp.write_text("# Lighthouse\n\nSaved atomically by an editor.\n", encoding="utf-8")
    os.replace(temp, target)
    wait_until(lambda: run.search("atomically") == ["Lighthouse.md"], what="the atomic save")
    wait_until(run.idle, what="settling")
    assert [e for _, p, e in run.daemon.schedule.events if p == "Lighthouse.md"] == ["changed"]
    assert run.search("keeper") == []


@pytest.mark.slow  # waits out timers to prove nothing else happens
def test_an_unreadable_file_is_retried_and_never_treated_as_deleted(
    make_vault: Callable[..., Path],
    start_daemon: Callable[..., Running],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from companion.errors import UnreadableFile

    run = start_daemon(make_vault(NOTES))
    from companion.vault.walk import read_note_bytes as real

    refusals = {"left": 3}

    def flaky(path: Path, limit: int) -> bytes:
        if path.name == "Lighthouse.md" and refusals["left"] > 0:
            refusals["left"] -= 1
            raise UnreadableFile(f"{path}: permission denied")
        return real(path, limit)

    monkeypatch.setattr("companion.sync.page.read_note_bytes", flaky)
    (run.vault / "Lighthouse.md").write_text("# Lighthouse\n\nNow with radar.\n", encoding="utf-8")
    wait_until(lambda: refusals["left"] < 3, what="a first refused read")
    assert run.search("keeper") == ["Lighthouse.md"]  # still indexed as it was
    wait_until(lambda: run.search("radar") == ["Lighthouse.md"], what="the retry to succeed")
    assert refusals["left"] == 0


def test_a_burst_of_a_thousand_files_is_processed_in_batches(
    make_vault: Callable[..., Path], start_daemon: Callable[..., Running]
) -> None:
    run = start_daemon(make_vault(NOTES))
    drop = run.vault / "dropped"
    drop.mkdir()
    wait_until(
        lambda: not run.daemon.watcher or not run.daemon.watcher.pending(), what="the folder event"
    )
    for i in range(1000):
        (drop / f"file {i:04}.md").write_text(
            f"Dropped file {i} mentions walrus{i}.\n", encoding="utf-8"
        )
    wait_until(
        lambda: run.search("walrus999") == ["dropped/file 0999.md"],
        timeout=120,
        what="the last file",
    )
    assert run.search("walrus0") == ["dropped/file 0000.md"]
    store = Store.open(run.daemon.settings.db_path)
    try:
        assert sum(1 for p in store.pages.paths() if p.startswith("dropped/")) == 1000
    finally:
        store.close()


def test_the_cli_talks_to_the_daemon_without_importing_the_model(
    make_vault: Callable[..., Path], start_daemon: Callable[..., Running]
) -> None:
    run = start_daemon(make_vault(NOTES))
    env = CLEAN_ENV
    base = [sys.executable, "-X", "importtime", "-m", "companion"]
    where = ["--vault", str(run.vault), "--state-dir", str(run.state)]
    out = subprocess.run(
        [*base, "search", "keeper", "--json", *where],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)[0]["path"] == "Lighthouse.md"
    imported = {
        line.split("|")[-1].strip()
        for line in out.stderr.splitlines()
        if line.startswith("import time:")
    }
    assert not {"torch", "sentence_transformers", "numpy", "networkx", "apsw", "click"} & imported
    status = subprocess.run(
        [sys.executable, "-m", "companion", "status", *where],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert status.returncode == 0, status.stderr
    assert f"pid {os.getpid()}" in status.stdout and "queue:" in status.stdout


def test_the_vectors_are_in_memory_before_the_first_search(
    make_vault: Callable[..., Path],
    start_daemon: Callable[..., Running],
    tmp_path: Path,
    embedder: Embedder,
) -> None:
    vault = make_vault(NOTES)
    with Companion(load_settings(vault, state_dir=tmp_path / "state", embed_backend="fake")) as app:
        app.use_embedder(embedder)
        app.index()  # vectors on disk before the daemon starts
        stored = len(list(app.store.vectors.after(app.model.fingerprint, 0)))
    run = start_daemon(vault)
    wait_until(
        lambda: (memory := run.daemon._app().memory) is not None and memory.size == stored,
        what="the vectors loaded without a search",
    )
    assert client.request(run.state, "search", query="keeper", mode="vector", limit=1)


def test_the_fast_path_prints_what_the_full_cli_prints(
    make_vault: Callable[..., Path], start_daemon: Callable[..., Running]
) -> None:
    run = start_daemon(make_vault(NOTES))
    where = ["--vault", str(run.vault), "--state-dir", str(run.state)]
    fast = [sys.executable, "-m", "companion", "search"]  # the entry point: no click when it can
    full = [sys.executable, "-c", "from companion.cli.main import main; main()", "search"]
    for extra in (["--json"], ["--explain", "-n", "3"], ["--mode", "bm25", "--limit=2"]):
        outs = [
            subprocess.run(
                [*cmd, "keeper", *extra, *where],
                capture_output=True,
                text=True,
                env=CLEAN_ENV,
                timeout=60,
            )
            for cmd in (fast, full)
        ]
        assert [o.returncode for o in outs] == [0, 0], [o.stderr for o in outs]
        # Identical but for the timing `--explain` prints last.
        a, b = (o.stdout.splitlines() for o in outs)
        assert a[:-1] == b[:-1] and a, (a, b)
        if "--explain" in extra:
            assert a[-1].startswith("(hybrid search daemon, ") and b[-1].startswith(
                "(hybrid search daemon, "
            )
        else:
            assert a[-1] == b[-1]


def test_an_update_racing_a_persons_unsettled_edit_bumps_it_and_is_refused(
    make_vault: Callable[..., Path], start_daemon: Callable[..., Running]
) -> None:
    slow = DaemonOptions(debounce=0.1, max_delay=0.5, settle=30.0, catalog_delay=0.2)
    run = start_daemon(make_vault(NOTES), slow)
    page = run.vault / "wiki" / "entities" / "Beacon.md"
    with page.open("a", encoding="utf-8") as fh:
        fh.write("\nA paragraph a person just typed.\n")
    wait_until(lambda: run.search("typed") == ["wiki/entities/Beacon.md"], what="the edit")
    with pytest.raises(client.DaemonError) as refused:
        client.request(
            run.state, "update", page="wiki/entities/Beacon", expect_version=3, body="agent text\n"
        )
    # The person's edit is versioned first (3 -> 4): the writer that read 3 re-reads and retries.
    assert refused.value.exit_code == 3 and "version 4, not 3" in str(refused.value)
    text = page.read_text()
    assert "A paragraph a person just typed." in text and "version: 4" in text


def test_an_idle_daemon_stops_looking_for_work(
    make_vault: Callable[..., Path], start_daemon: Callable[..., Running]
) -> None:
    run = start_daemon(make_vault(NOTES))
    wait_until(run.idle, what="settling and embedding")
    wait_until(
        lambda: not run.daemon.schedule.embed_check, what="the embedding check to stand down"
    )
    (run.vault / "New.md").write_text("fresh text about gulls\n", encoding="utf-8")
    wait_until(
        lambda: run.daemon.status()["embedded_pct"] == 100.0 and run.search("gulls") == ["New.md"],
        what="the new note embedded",
    )


# -- one writer per vault, whatever the state folder: the vault's lease ------------------------


@pytest.mark.slow  # real pauses and lease waits
def test_a_second_daemon_on_another_state_folder_is_read_only_and_still_serves_search(
    make_vault: Callable[..., Path], start_daemon: Callable[..., Running]
) -> None:
    vault = make_vault(NOTES)
    owner = start_daemon(vault, state="state-a")
    second = start_daemon(vault, state="state-b")
    d = second.daemon.status()["daemon"]
    assert d["read_only"] and f"pid {os.getpid()}" in d["read_only"] and "state-a" in d["read_only"]
    assert second.search("keeper") == ["Lighthouse.md"]  # its own index, kept current
    with pytest.raises(client.DaemonError) as refused:
        client.request(
            second.state, "update", page="wiki/entities/Beacon", expect_version=3, body="x\n"
        )
    assert refused.value.exit_code == 75 and "read-only" in str(refused.value)
    # A person's edit of a managed page: only the owner writes (one bump, one log entry).
    page = vault / "wiki" / "entities" / "Beacon.md"
    page.write_text(page.read_text().replace("warns ships", "warns ships and planes"))
    wait_until(lambda: b"version: 4" in page.read_bytes(), what="the owner's bump")
    wait_until(lambda: second.search("planes") == ["wiki/entities/Beacon.md"], what="b's index")
    time.sleep(1.0)
    assert second.daemon.counters["bumps"] == 0 and owner.daemon.counters["bumps"] == 1
    assert (vault / "log.md").read_text().count("version 3 → 4") == 1


@pytest.mark.slow  # real pauses and lease waits
def test_a_read_only_daemon_takes_over_when_the_owner_stops(
    make_vault: Callable[..., Path], start_daemon: Callable[..., Running]
) -> None:
    vault = make_vault(NOTES)
    owner = start_daemon(vault, state="state-a", lease_ttl=1.0)
    second = start_daemon(vault, state="state-b", lease_ttl=1.0)
    assert second.daemon.read_only
    owner.daemon.stop()
    owner.thread.join(timeout=20)
    wait_until(lambda: second.daemon.read_only is None, timeout=10, what="the take-over")
    log = vault / "log.md"
    before = log.read_text()
    (vault / "New.md").write_text("a new note\n", encoding="utf-8")
    # B writes the vault now: the new note is logged (by the watcher's batch, or by the
    # take-over's reconcile if that scan saw it first).
    wait_until(lambda: "1 added" in log.read_text()[len(before) :], what="b writing the log")


@pytest.mark.slow  # real pauses and lease waits
def test_kill_9_of_the_owner_frees_the_vault_within_the_lease_time(
    make_vault: Callable[..., Path], start_daemon: Callable[..., Running], tmp_path: Path
) -> None:
    vault = make_vault(NOTES)
    env = {**CLEAN_ENV, "COMPANION_EMBED_BACKEND": "fake", "COMPANION_LEASE_TTL": "2"}
    owner_state = tmp_path / "state-owner"
    proc = subprocess.Popen(
        [sys.executable, "-m", "companion", "watch", str(vault), "--state-dir", str(owner_state)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_until(
            lambda: client.request(owner_state, "ping", timeout=1) is not None,
            timeout=120,
            what="the owner",
        )
        # A one-shot writer on a third state folder is refused after its bounded wait (exit 75),
        # told who owns the vault.
        one_shot = subprocess.run(
            [sys.executable, "-m", "companion", "index", str(vault), "--no-embed"],
            env={**env, "COMPANION_STATE_DIR": str(tmp_path / "state-one-shot")},
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert one_shot.returncode == 75, one_shot.stderr
        assert f"pid {proc.pid}" in one_shot.stderr
        second = start_daemon(vault, state="state-b", lease_ttl=2.0)
        assert second.daemon.read_only and f"pid {proc.pid}" in second.daemon.read_only
        proc.kill()  # kill -9: no clean release, the lease file stays behind
        proc.wait()
        killed = time.monotonic()
        assert (vault / ".companion" / "lease.json").exists()
        wait_until(lambda: second.daemon.read_only is None, timeout=10, what="the take-over")
        assert time.monotonic() - killed <= 2.0 + 1.0  # within the lease time (and a tick)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


@pytest.mark.slow  # real pauses and lease waits
def test_a_daemon_taking_over_knows_the_edits_still_waiting_for_their_bump(
    make_vault: Callable[..., Path], start_daemon: Callable[..., Running]
) -> None:
    """The owner saw a person's edit (its bump waits for `bump_settle`) and stopped; the daemon
    that takes over has its own index, which never saw the edit unversioned: it learns it from
    the list the owner kept beside its lease, and a writer that read the old version is refused."""
    vault = make_vault(NOTES)
    patient = dataclasses.replace(FAST, bump_settle=600.0)
    owner = start_daemon(vault, patient, state="state-a", lease_ttl=1.0)
    page = vault / "wiki" / "entities" / "Beacon.md"
    page.write_text(page.read_text().replace("warns ships", "warns ships and planes"))
    wait_until(lambda: owner.daemon.schedule.bump_pending("wiki/entities/Beacon.md"))
    # Started after the edit: its first index takes the page as it finds it.
    second = start_daemon(vault, patient, state="state-b", lease_ttl=1.0)
    assert second.daemon.read_only
    owner.daemon.stop()
    owner.thread.join(timeout=20)
    wait_until(lambda: second.daemon.read_only is None, timeout=10, what="the take-over")
    with pytest.raises(client.DaemonError) as refused:
        client.request(
            second.state, "update", page="wiki/entities/Beacon", expect_version=3, body="agent\n"
        )
    assert refused.value.exit_code == 3
    assert "warns ships and planes" in page.read_text() and "version: 4" in page.read_text()


def test_the_console_reports_embedding_progress_and_when_it_is_done(
    make_vault: Callable[..., Path],
    start_daemon: Callable[..., Running],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import companion.daemon.core as core

    monkeypatch.setattr(core, "EMBED_REPORT_EVERY", 0.0)  # a line after every batch
    notes = {
        f"Note {i}.md": f"# Note {i}\n" + f"Harbour entry {i} in the log. " * 40 for i in range(40)
    }
    run = start_daemon(make_vault(notes))
    out = run.daemon.out
    assert isinstance(out, io.StringIO)
    wait_until(lambda: "embedding done:" in out.getvalue(), timeout=30, what="embedding")
    lines = out.getvalue().splitlines()
    progress = [line for line in lines if "] embedding: " in line]
    assert progress, lines
    assert re.search(r"embedding: [\d,]+/[\d,]+ chunks \([\d.]+%\), [\d,]+ chunks/s$", progress[-1])
    done = next(line for line in lines if "embedding done:" in line)
    assert re.search(r"embedding done: [\d,]+ chunks have vectors$", done)
    # what a search's "results may be incomplete" note reads, off the writer thread
    counts = client.request(run.state, "progress")
    assert counts is not None and counts["embedded"] == counts["embeddable"] > 0
