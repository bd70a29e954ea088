"""`companion conflicts` as a user runs it: a real process on the example vault after an ingest."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.helpers import copy_example_vault, run_cli

pytestmark = pytest.mark.slow  # a real ingest in a subprocess: the full suite runs it


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return run_cli(*args, env={"COMPANION_EMBED_BACKEND": "fake"})


@pytest.fixture(scope="module")
def ingested(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("conflicts-cli")
    vault = copy_example_vault(root / "vault")
    state = root / "state"
    done = run("ingest", "--vault", str(vault), "--state-dir", str(state))
    assert done.returncode == 0, done.stderr
    return vault, state


def test_json_lists_each_open_conflict_with_the_fields_a_scorer_reads(
    ingested: tuple[Path, Path],
) -> None:
    vault, state = ingested
    done = run("conflicts", "--json", "--vault", str(vault), "--state-dir", str(state))
    assert done.returncode == 0, done.stderr
    rows = json.loads(done.stdout)
    assert rows, "the example vault plants contradictions"
    for row in rows:
        assert {"a", "b", "a_source", "b_source", "page", "title", "id", "status"} <= set(row)
        assert row["status"] == "open"
        assert row["a_source"].startswith("sources/") and row["b_source"].startswith("sources/")
        assert row["a_source"] != row["b_source"]
    assert len({r["id"] for r in rows}) == len(rows)  # one entry per conflict


def test_superseded_lists_the_replaced_facts_with_their_date(ingested: tuple[Path, Path]) -> None:
    vault, state = ingested
    done = run(
        "conflicts", "--superseded", "--json", "--vault", str(vault), "--state-dir", str(state)
    )
    assert done.returncode == 0, done.stderr
    rows = json.loads(done.stdout)
    assert rows and all(r["status"] == "superseded" and r["superseded"] for r in rows)


def test_a_vault_never_indexed_is_told_to_index_first(tmp_path: Path) -> None:
    vault = copy_example_vault(tmp_path / "vault")
    done = run("conflicts", "--vault", str(vault), "--state-dir", str(tmp_path / "state"))
    assert done.returncode == 1
    assert "has not been indexed yet" in done.stderr


def test_all_and_superseded_together_is_a_usage_error(ingested: tuple[Path, Path]) -> None:
    vault, state = ingested
    done = run(
        "conflicts", "--all", "--superseded", "--vault", str(vault), "--state-dir", str(state)
    )
    assert done.returncode == 2
    assert "--superseded" in done.stderr
