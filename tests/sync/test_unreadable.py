"""Unreadable is unknown, not deleted: a file or a folder that cannot be read keeps what the index
knew of it (still searchable), with a problem naming it, until it can be read again.

`companion index` runs in a real subprocess that file modes apply to although tests run as root:
through `setpriv`, with the capabilities that bypass file modes dropped (see
tests/vault/test_unknown_folders.py). The test first checks that the process really cannot list
the folder, and skips (saying why) when it can.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.helpers import REPO, OpenApp, unprivileged


def _unprivileged(*command: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    full = unprivileged([sys.executable, *command])
    return subprocess.run(full, capture_output=True, text=True, cwd=REPO, env=env, timeout=120)


def _env(tmp_path: Path) -> dict[str, str]:
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith("COMPANION_")},
        "COMPANION_STATE_DIR": str(tmp_path / "state"),
        "COMPANION_EMBED_BACKEND": "fake",
    }


def test_an_unreadable_file_keeps_its_rows_and_gets_a_problem(
    make_vault: Callable[..., Path], open_app: OpenApp, tmp_path: Path
) -> None:
    vault = make_vault({"Secret.md": "classified lighthouse keeper notes\n"})
    app = open_app(vault, state="state")
    app.index(embed=False)
    app.close()
    target = vault / "Secret.md"
    target.write_text("changed text\n", encoding="utf-8")
    target.chmod(0)
    try:
        probe = _unprivileged("-c", f"open({str(target)!r}).read()", env=_env(tmp_path))
        if probe.returncode == 0:
            pytest.skip("the unprivileged process can still read a chmod-000 file here")
        done = _unprivileged(
            "-m", "companion", "index", str(vault), "--no-embed", "--json", env=_env(tmp_path)
        )
    finally:
        target.chmod(0o644)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["removed"] == [] and "Secret.md" in {p["path"] for p in result["problems"]}
    again = open_app(vault, state="state")
    assert [h.path for h in again.search("lighthouse", mode="bm25")] == ["Secret.md"]


def test_an_unreadable_folders_notes_stay_indexed(
    make_vault: Callable[..., Path], open_app: OpenApp, tmp_path: Path
) -> None:
    vault = make_vault(
        {
            "open.md": "lighthouse\n",
            "locked/a.md": "harbour master\n",
            "locked/deep/b.md": "tide tables\n",
        }
    )
    app = open_app(vault, state="state")
    app.index(embed=False)
    app.close()
    env = _env(tmp_path)
    locked = vault / "locked"
    locked.chmod(0)
    try:
        probe = _unprivileged("-c", f"import os; os.listdir({str(locked)!r})", env=env)
        if probe.returncode == 0:
            pytest.skip("the unprivileged process can still list a chmod-000 folder here")
        done = _unprivileged(
            "-m", "companion", "index", str(vault), "--no-embed", "--json", env=env
        )
    finally:
        locked.chmod(0o755)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["removed"] == []
    assert any(p["path"] == "locked" for p in result["problems"]), result["problems"]
    again = open_app(vault, state="state")
    assert [h.path for h in again.search("harbour", mode="bm25")] == ["locked/a.md"]
    assert [h.path for h in again.search("tide", mode="bm25")] == ["locked/deep/b.md"]
