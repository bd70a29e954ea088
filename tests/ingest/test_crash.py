"""`kill -9` mid-ingest leaves all of a source's pages or none: a real `companion ingest` process
is killed (SIGKILL) at each step of its journaled write through the journal's test hook, and the
next start recovers."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import EXAMPLE_VAULT

SOURCE = "cardnet-gateway-spec.txt"


def _vault(root: Path) -> Path:
    """The example vault with one source, so one transaction is the whole ingest."""
    vault = Path(
        shutil.copytree(
            EXAMPLE_VAULT,
            root / "vault",
            ignore=shutil.ignore_patterns("index.md", "log.md", "index"),
        )
    )
    for path in (vault / "sources").iterdir():
        if path.name != SOURCE:
            path.unlink()
    return vault


def _run(
    vault: Path, state: Path, *args: str, crash: str | None = None
) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "COMPANION_STATE_DIR": str(state),
        "COMPANION_EMBED_BACKEND": "fake",
    }
    env.pop("COMPANION_TEST_CRASH_AT", None)
    if crash is not None:
        env["COMPANION_TEST_CRASH_AT"] = crash
    return subprocess.run(
        [sys.executable, "-m", "companion", *args, "--vault", str(vault)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _pages(vault: Path) -> dict[str, str]:
    """wiki/ and log.md as text, with the write times taken out (two runs differ only there)."""
    out = {}
    for path in sorted([*(vault / "wiki").rglob("*.md"), vault / "log.md"]):
        if path.is_file():
            text = path.read_text(encoding="utf-8")
            text = re.sub(r"(?m)^updated: .*$", "updated: T", text)
            text = re.sub(r"\[\d{4}-\d\d-\d\d \d\d:\d\d\]", "[T]", text)
            out[path.relative_to(vault).as_posix()] = text
    return out


def _strays(vault: Path) -> list[str]:
    return sorted(p.name for p in vault.rglob(".*") if p.name.endswith(".companion-tmp"))


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, str], dict[str, str]]:
    """The pages before and after an uninterrupted ingest of the one source."""
    root = tmp_path_factory.mktemp("reference")
    vault = _vault(root)
    assert _run(vault, root / "state", "index", "--no-embed").returncode == 0
    before = _pages(vault)
    done = _run(vault, root / "state", "ingest")
    assert done.returncode == 0, done.stderr
    return before, _pages(vault)


@pytest.mark.slow
@pytest.mark.parametrize("step", ["staged", "committed", "renamed-1", "renamed-2"])
def test_kill_9_at_each_journal_step_leaves_all_pages_or_none(
    tmp_path: Path, reference: tuple[dict[str, str], dict[str, str]], step: str
) -> None:
    before, after = reference
    assert before != after
    vault, state = _vault(tmp_path), tmp_path / "state"
    assert _run(vault, state, "index", "--no-embed").returncode == 0
    killed = _run(vault, state, "ingest", crash=step)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    recovered = _run(vault, state, "index", "--no-embed")
    assert recovered.returncode == 0, recovered.stderr
    assert _strays(vault) == []
    pages = _pages(vault)
    pages.pop("log.md", None)
    # Before the commit point: rolled back, nothing of it landed; after it: rolled forward, all.
    expected = dict(before) if step == "staged" else dict(after)
    expected.pop("log.md", None)
    assert pages == expected
    # And ingesting again finishes the job (or finds it done): the same pages as uninterrupted.
    again = _run(vault, state, "ingest")
    assert again.returncode == 0, again.stderr
    final = _pages(vault)
    final.pop("log.md", None)
    reference_final = dict(after)
    reference_final.pop("log.md", None)
    assert final == reference_final


CONFLICTS = Path(__file__).resolve().parents[3] / "shared" / "data" / "conflicts-dev" / "sources"


@pytest.mark.slow
@pytest.mark.skipif(not CONFLICTS.is_dir(), reason=f"shared test data not found at {CONFLICTS}")
def test_a_run_killed_in_its_relinking_pass_is_finished_by_the_next(tmp_path: Path) -> None:
    """Pages created by later sources get the facts of earlier ones in a second pass. Killing the
    run at that pass's first write leaves the rest marked in the ledger: the next run finishes
    it, and the pages are those of a run never killed."""
    runs = {}
    for name, crash in (("straight", None), ("killed", "committed@13")):
        vault = tmp_path / name / "vault"
        shutil.copytree(CONFLICTS, vault / "sources")
        state = tmp_path / name / "state"
        assert _run(vault, state, "index", "--no-embed").returncode == 0
        if crash is not None:  # 12 sources, one write each; the 13th is the second pass's first
            assert _run(vault, state, "ingest", crash=crash).returncode == -signal.SIGKILL
        done = _run(vault, state, "ingest")
        assert done.returncode == 0, done.stderr
        assert "nothing to ingest" in _run(vault, state, "ingest").stdout
        runs[name] = {k: v for k, v in _pages(vault).items() if k != "log.md"}
    assert runs["killed"] == runs["straight"]
