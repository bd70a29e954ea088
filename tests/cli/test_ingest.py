"""`companion ingest` as a user runs it: a real process, real exit codes, real output."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli.test_main import run
from tests.helpers import copy_example_vault, write

FAKE = {"COMPANION_EMBED_BACKEND": "fake"}


def _vault(tmp_path: Path) -> tuple[Path, list[str]]:
    vault = copy_example_vault(tmp_path / "vault")
    return vault, ["--vault", str(vault), "--state-dir", str(tmp_path / "state")]


def test_ingest_prints_what_it_created_then_nothing_to_do(tmp_path: Path) -> None:
    vault, opts = _vault(tmp_path)
    done = run("ingest", *opts, env=FAKE)
    assert done.returncode == 0, done.stderr
    assert (
        "ingested sources/q3-architecture-review.md -> wiki/sources/q3-architecture-review.md"
        in done.stdout
    )
    assert "  created wiki/sources/cardnet-gateway-spec.md" in done.stdout
    again = run("ingest", *opts, env=FAKE)
    assert again.returncode == 0, again.stderr
    assert again.stdout.strip() == "nothing to ingest: 5 sources unchanged"
    status = run("status", str(vault), "--state-dir", str(tmp_path / "state"), env=FAKE)
    assert "sources:    5 ingested, 0 not ingested" in status.stdout


def test_dry_run_lists_pages_and_region_changes_and_writes_nothing(tmp_path: Path) -> None:
    vault, opts = _vault(tmp_path)
    done = run("ingest", *opts, "--dry-run", env=FAKE)
    assert done.returncode == 0, done.stderr
    assert "  would create wiki/sources/q3-architecture-review.md" in done.stdout
    assert "would update wiki/entities/Ledger Service.md: facts +" in done.stdout
    assert done.stdout.rstrip().endswith("dry run: nothing written")
    assert not (vault / "wiki/sources").exists()


@pytest.mark.slow
def test_a_path_outside_the_sources_folder_is_refused_with_the_way_to_copy_it(
    tmp_path: Path,
) -> None:
    vault, opts = _vault(tmp_path)
    outside = write(tmp_path, "Downloads/contract.txt", "The Beacon Relay contract runs to 2027.\n")
    refused = run("ingest", str(outside), *opts, env=FAKE)
    assert refused.returncode == 1
    assert "is not under the vault's sources/ folder" in refused.stderr
    assert "--copy" in refused.stderr
    assert not (vault / "sources/contract.txt").exists()
    copied = run("ingest", str(outside), "--copy", *opts, "--json", env=FAKE)
    assert copied.returncode == 0, copied.stderr
    assert (vault / "sources/contract.txt").read_bytes() == outside.read_bytes()
    report = json.loads(copied.stdout)
    assert f"copied {outside} to sources/contract.txt" in copied.stderr
    assert [s["path"] for s in report["sources"]][:1] == ["sources/contract.txt"]
    assert report["sources"][0]["status"] == "ingested"


@pytest.mark.slow
def test_an_unsupported_source_is_reported_with_the_supported_formats(tmp_path: Path) -> None:
    vault, opts = _vault(tmp_path)
    write(vault, "sources/notes.docx", b"PK\x03\x04")
    done = run("ingest", *opts, env=FAKE)
    assert done.returncode == 1
    assert "sources/notes.docx: unsupported format '.docx'; supported are" in done.stderr
    assert "ingested sources/q3-architecture-review.md" in done.stdout  # the others still are
