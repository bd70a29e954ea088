"""The daemon ingests sources by itself: a file dropped into `sources/` (real watchdog events)
becomes pages once it has been quiet for `source_settle`, and those pages are searchable."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.daemon.test_core import NOTES, Running, start_daemon  # noqa: F401 (the fixture)
from tests.helpers import wait_until, write

SPEC = """\
# Beacon Relay Specification

The Beacon Relay forwards lighthouse signals to the Harbour Office every 30 seconds.
The Beacon Relay keeps 14 days of signal history.
The Harbour Office answers each Beacon Relay signal within 2 seconds.
"""


@pytest.mark.slow
def test_a_dropped_source_is_ingested_once_quiet_and_its_pages_are_searchable(
    tmp_path: Path,
    start_daemon: Callable[..., Running],  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("COMPANION_SOURCE_SETTLE", "0.5")
    vault = tmp_path / "vault"
    for rel, data in NOTES.items():
        write(vault, rel, data)
    running = start_daemon(vault)
    write(vault, "sources/beacon-relay-spec.md", SPEC)
    summary = vault / "wiki/sources/beacon-relay-spec.md"
    wait_until(summary.exists, timeout=30, what="the summary page")
    wait_until(
        lambda: "wiki/sources/beacon-relay-spec.md" in running.search("Harbour Office"),
        timeout=30,
        what="the summary page in search",
    )
    text = summary.read_text(encoding="utf-8")
    assert "source_hash: sha256:" in text
    log = (vault / "log.md").read_text(encoding="utf-8")
    assert "ingest | Beacon Relay Specification" in log
    # The source itself is never written.
    assert (vault / "sources/beacon-relay-spec.md").read_text(encoding="utf-8") == SPEC


@pytest.mark.slow
def test_a_deleted_source_is_withdrawn_by_the_daemon(
    tmp_path: Path,
    start_daemon: Callable[..., Running],  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("COMPANION_SOURCE_SETTLE", "0.3")
    vault = tmp_path / "vault"
    for rel, data in NOTES.items():
        write(vault, rel, data)
    write(vault, "sources/beacon-relay-spec.md", SPEC)
    start_daemon(vault)  # ingested by the start-up pass
    summary = vault / "wiki/sources/beacon-relay-spec.md"
    wait_until(summary.exists, timeout=30, what="the start-up ingest")
    (vault / "sources/beacon-relay-spec.md").unlink()
    wait_until(
        lambda: "was deleted" in summary.read_text(encoding="utf-8"),
        timeout=30,
        what="the withdrawal",
    )


@pytest.mark.slow
def test_companion_ingest_is_sent_to_the_running_daemon(
    tmp_path: Path,
    start_daemon: Callable[..., Running],  # noqa: F811
) -> None:
    import json
    import subprocess
    import sys

    vault = tmp_path / "vault"
    for rel, data in NOTES.items():
        write(vault, rel, data)
    running = start_daemon(vault)
    write(vault, "sources/beacon-relay-spec.md", SPEC)
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "companion",
            "ingest",
            "sources/beacon-relay-spec.md",
            "--vault",
            str(vault),
            "--json",
        ],
        cwd=vault,
        env={"COMPANION_STATE_DIR": str(running.state), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert [s["path"] for s in report["sources"]] == ["sources/beacon-relay-spec.md"]
    assert report["sources"][0]["status"] in ("ingested", "unchanged")
    assert (vault / "wiki/sources/beacon-relay-spec.md").is_file()
    assert running.daemon.counters["ingested"] == 1  # the daemon did it, exactly once
