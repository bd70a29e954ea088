"""`status` answers while the writer is busy: held in a parse of a 2 MB hostile note, or in the
start-up scan — and it says a write is under way, so `status --wait` does not return early.

`status` is read on the socket's thread (the writer's schedule by `len`, the index through the
pooled WAL readers), so it never waits for whatever the writer holds. The tests make the writer
hold still — the real `parse_note` and the real start-up scan wrapped to block on an event — and
ask a real daemon over its real socket meanwhile. No clock is asserted: an answer that arrives
while the writer is provably still held is the property. How fast it arrives while a real 2 MB
parse runs is measured by `python -m bench.status` (docs/benchmarks.md).
"""

from __future__ import annotations

import io
import os
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from companion.cli.read import _remaining
from companion.config import load_settings
from companion.daemon import client
from companion.daemon.core import Daemon, DaemonOptions
from companion.embed import Embedder
from companion.markdown.parse import parse_note
from companion.sync import page
from tests.daemon.support import serve_in_thread
from tests.helpers import wait_until

HOSTILE = b"[[" * 1_000_000  # 2 MB of `[[`: once held the single writer for minutes
# Long settle and catalog delays keep embedding and index.md writes out of the way.
OPTIONS = DaemonOptions(
    debounce=0.05, max_delay=0.3, settle=30.0, catalog_delay=30.0, retry_delay=0.3, lock_wait=0.5
)


@pytest.fixture
def make_daemon(
    make_vault: Callable[[dict[str, str | bytes]], Path], tmp_path: Path, embedder: Embedder
) -> Iterator[Callable[[], Daemon]]:
    made: list[Daemon] = []

    def make() -> Daemon:
        vault = make_vault({"Home.md": "# Home\n\nSee [[Other]].\n", "Other.md": "Other.\n"})
        settings = load_settings(vault, state_dir=tmp_path / "state", embed_backend="fake")
        d = Daemon(settings, OPTIONS, embedder=embedder, query_embedder=embedder, out=io.StringIO())
        made.append(d)
        return d

    yield make
    for d in made:  # a daemon the test did not stop (one that failed, or only started)
        d.stop()
        if d.app is not None:
            d.shutdown()


def status(state: Path) -> dict[str, Any]:
    answer = client.request(state, "status", timeout=10)
    assert isinstance(answer, dict) and "queue" in answer, answer
    return answer


def test_status_answers_while_the_writer_is_held_in_a_2mb_hostile_parse(
    make_daemon: Callable[[], Daemon], monkeypatch: pytest.MonkeyPatch
) -> None:
    entered, release = threading.Event(), threading.Event()
    real = parse_note

    def held(data: bytes, path: str, *args: Any, **kwargs: Any) -> Any:
        if path == "hostile.md":
            entered.set()
            release.wait(timeout=60)  # the writer stays inside the parse until the test is done
        return real(data, path, *args, **kwargs)

    monkeypatch.setattr(page, "parse_note", held)
    daemon = make_daemon()
    daemon.start()
    thread = serve_in_thread(daemon)
    state, vault = daemon.settings.state_dir, daemon.settings.vault
    wait_until(lambda: status(state)["queue"]["writing"] == 0, what="start-up")

    staged = vault.parent / "hostile.md"  # dropped in whole: one event, one parse
    staged.write_bytes(HOSTILE)
    os.replace(staged, vault / "hostile.md")
    assert entered.wait(timeout=30), "the writer never reached the hostile note"
    try:
        during = [status(state) for _ in range(3)]  # each answered with the writer still held
        assert not release.is_set() and daemon._writing_since is not None
        assert all(s["queue"]["writing"] == 1 for s in during)
        assert all(s["daemon"]["writing_for"] >= 0 for s in during)
        assert "1 write under way" in _remaining(during[-1])  # `status --wait` keeps waiting
        hits = client.request(state, "search", query="Other", mode="bm25")  # and searches run
        assert hits and hits[0]["path"] == "Other.md"
    finally:
        release.set()

    def indexed() -> bool:
        hits = client.request(state, "search", query="hostile", mode="bm25")
        return any(h["path"] == "hostile.md" for h in hits or [])

    wait_until(indexed, what="the hostile note to be searchable")
    after = status(state)
    assert after["queue"]["writing"] == 0 and after["daemon"]["writing_for"] is None
    daemon.stop()
    thread.join(timeout=20)


def test_status_during_the_start_up_scan_counts_it_as_a_write_under_way(
    make_daemon: Callable[[], Daemon], monkeypatch: pytest.MonkeyPatch
) -> None:
    daemon = make_daemon()
    entered, release = threading.Event(), threading.Event()
    real = daemon.reconcile

    def held(*args: Any, **kwargs: Any) -> Any:
        entered.set()
        release.wait(timeout=60)
        return real(*args, **kwargs)

    monkeypatch.setattr(daemon, "reconcile", held)
    starting = threading.Thread(target=daemon.start, daemon=True)
    starting.start()
    try:
        assert entered.wait(timeout=30), "the start-up scan never began"
        during = status(daemon.settings.state_dir)  # the socket is up; the scan is held
        assert during["queue"]["writing"] == 1
        assert "1 write under way" in _remaining(during)
    finally:
        release.set()
    starting.join(timeout=30)
    assert status(daemon.settings.state_dir)["queue"]["writing"] == 0


def test_status_during_a_due_bump_counts_it_as_a_write_under_way(
    make_daemon: Callable[[], Daemon], monkeypatch: pytest.MonkeyPatch
) -> None:
    daemon = make_daemon()
    entered, release = threading.Event(), threading.Event()

    def held(path: str) -> None:  # the writer inside a bump the schedule handed out
        entered.set()
        release.wait(timeout=60)

    daemon.start()
    monkeypatch.setattr(daemon, "_bump", held)
    thread = serve_in_thread(daemon)
    state = daemon.settings.state_dir
    wait_until(lambda: status(state)["queue"]["writing"] == 0, what="start-up")
    daemon.schedule.bumps["Home.md"] = -1e9  # a person's edit whose bump is due now
    assert entered.wait(timeout=30), "the bump never ran"
    try:
        during = status(state)
        assert during["queue"]["writing"] == 1 and "1 write under way" in _remaining(during)
    finally:
        release.set()
    wait_until(lambda: status(state)["queue"]["writing"] == 0, what="the bump to end")
    daemon.stop()
    thread.join(timeout=20)


def test_a_vault_run_only_under_the_daemon_gets_its_id(make_daemon: Callable[[], Daemon]) -> None:
    from companion.write.identity import read_vault_id

    daemon = make_daemon()
    daemon.start()
    try:
        ident = read_vault_id(daemon.settings.vault)
        assert ident is not None and daemon._app().store.meta.get("vault_id") == ident
    finally:
        daemon.stop()
        daemon.shutdown()


def test_work_the_schedule_is_handing_out_counts_as_a_write_under_way(
    make_daemon: Callable[[], Daemon], monkeypatch: pytest.MonkeyPatch
) -> None:
    daemon = make_daemon()
    daemon.start()
    thread = serve_in_thread(daemon)
    state = daemon.settings.state_dir
    wait_until(lambda: status(state)["queue"]["writing"] == 0, what="start-up")
    entered, release = threading.Event(), threading.Event()
    real = daemon.schedule.due

    def held(now: float) -> Any:  # the bump just taken out of the schedule, not yet begun
        out = real(now)
        if out.bumps:
            entered.set()
            release.wait(timeout=60)
        return out

    monkeypatch.setattr(daemon.schedule, "due", held)
    daemon.schedule.bumps["Home.md"] = -1e9  # due now
    assert entered.wait(timeout=30), "the bump was never handed out"
    try:
        during = status(state)
        assert during["queue"]["bumps"] == 0 and during["queue"]["writing"] == 1
    finally:
        release.set()
    daemon.stop()
    thread.join(timeout=20)


def test_status_wait_does_not_wait_for_a_version_bump_that_is_not_due() -> None:
    # A person's edit waits minutes for its bump by design; the index holds its text already.
    assert _remaining({"queue": {"bumps": 2}}) == []
    assert _remaining({"queue": {"bumps": 1, "embedding": 1204, "writing": 1}}) == [
        "1 write under way",
        "1,204 chunks to embed",
    ]
