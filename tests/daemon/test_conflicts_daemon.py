"""Conflicts under the daemon: real watchdog events on a real vault. A source dropped into
`sources/` that contradicts a page gets its callout and CONFLICT.md entry without a command; a
person deleting the callout closes it on the next sync (CONFLICT.md and log.md follow)."""

from __future__ import annotations

import dataclasses
import io
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from companion.app import Companion
from companion.config import load_settings
from companion.daemon.core import Daemon
from companion.embed import Embedder
from tests.conflicts.harbour import PAGE, REVIEW, RUNBOOK, resolve_by_deleting
from tests.daemon.support import FAST, serve_in_thread
from tests.helpers import wait_until

pytestmark = pytest.mark.slow  # a daemon and two ingests: the full suite runs it


@pytest.fixture
def daemon(tmp_path: Path, embedder: Embedder, monkeypatch: pytest.MonkeyPatch) -> Iterator[Daemon]:
    monkeypatch.setenv("COMPANION_SOURCE_SETTLE", "0.3")
    vault = tmp_path / "vault"
    Companion.init(vault)
    (vault / "sources" / "gateway-runbook.md").write_text(RUNBOOK, encoding="utf-8")
    settings = load_settings(vault, state_dir=tmp_path / "state", embed_backend="fake")
    settings = dataclasses.replace(settings, lease_ttl=60.0)
    d = Daemon(settings, FAST, embedder=embedder, query_embedder=embedder, out=io.StringIO())
    d.start()
    thread = serve_in_thread(d)
    yield d
    d.stop()
    thread.join(timeout=20)


def test_a_dropped_source_opens_a_conflict_and_deleting_its_callout_closes_it(
    daemon: Daemon,
) -> None:
    vault = daemon.settings.vault
    wait_until(lambda: (vault / PAGE).is_file(), what="the first source's page", timeout=30)
    (vault / "sources" / "gateway-review.md").write_text(REVIEW, encoding="utf-8")
    queue = vault / "CONFLICT.md"
    wait_until(
        lambda: queue.is_file() and "^conflict-" in queue.read_text(encoding="utf-8"),
        what="the conflict in CONFLICT.md",
        timeout=30,
    )
    page = vault / PAGE
    text = page.read_text(encoding="utf-8")
    found = re.search(r"\^(conflict-[0-9a-f]{6})", text)
    assert found is not None and "> [!conflict]" in text
    ident = found.group(1)
    assert resolve_by_deleting(vault) == ident  # the person corrects the claim, deletes the callout
    wait_until(
        lambda: "No open conflicts." in queue.read_text(encoding="utf-8"),
        what="CONFLICT.md to show it closed",
        timeout=30,
    )
    assert f"`{ident}`" in queue.read_text(encoding="utf-8")  # in the Resolved table
    # The closure's log entry follows CONFLICT.md's rewrite (two files, one after the other).
    wait_until(
        lambda: "closed:" in (vault / "log.md").read_text(encoding="utf-8"),
        what="the closure in log.md",
        timeout=30,
    )
    log = (vault / "log.md").read_text(encoding="utf-8")
    assert "closed:" in log and ident in log
    assert "> [!conflict]" not in page.read_text(encoding="utf-8")  # not written back
