"""Git history (`COMPANION_GIT=1`): each operation one commit of exactly the files companion
wrote, with its log.md headline — real git, in a temporary repository, through the real CLI."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from companion.app import Companion
from tests.helpers import run_cli, write

pytestmark = [
    pytest.mark.slow,  # real git and CLI processes
    pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed"),
]

PAGE = "wiki/concepts/Backoff.md"
PAGE_TEXT = "---\ntype: concept\nversion: 1\ntags: []\nsources: []\nupdated: 2026-11-01T10:00:00Z\n---\nWaiting longer.\n"
GIT_ENV = {
    "GIT_AUTHOR_NAME": "Ann",
    "GIT_AUTHOR_EMAIL": "ann@example.org",
    "GIT_COMMITTER_NAME": "Ann",
    "GIT_COMMITTER_EMAIL": "ann@example.org",
}


def git(root: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", *args],
        cwd=root,
        capture_output=True,
        text=True,
        env={**os.environ, **GIT_ENV},
        check=True,
    )
    return done.stdout


def companion_with_git(vault: Path, state: Path, *args: str) -> str:
    """Run a companion command with git history on; its stderr (it must succeed)."""
    done = run_cli(
        *args,
        "--vault",
        str(vault),
        "--state-dir",
        str(state),
        env={"COMPANION_EMBED_BACKEND": "fake", "COMPANION_GIT": "1"},
    )
    assert done.returncode == 0, done.stderr
    return done.stderr


def commits_since(vault: Path, head: str) -> list[tuple[str, str]]:
    """(commit, subject) of every commit after `head`, newest first."""
    lines = git(vault, "log", "--format=%H %s", f"{head}..HEAD").splitlines()
    return [(c, subject) for c, _, subject in (line.partition(" ") for line in lines)]


def _repo(tmp_path: Path) -> tuple[Path, Path]:
    vault = tmp_path / "vault"
    Companion.init(vault)
    write(vault, PAGE, PAGE_TEXT)
    write(vault, "notes/Mine.md", "my note\n")
    write(vault, "notes/Draft.md", "draft\n")
    git(vault, "init", "-q", "-b", "main")
    git(vault, "add", "-A")
    git(vault, "commit", "-q", "-m", "my vault")
    state = tmp_path / "state"
    env = {"COMPANION_EMBED_BACKEND": "fake"}
    assert run_cli("index", str(vault), "--state-dir", str(state), env=env).returncode == 0
    git(vault, "add", "-A")
    git(vault, "commit", "-q", "-m", "index")
    return vault, state


def test_an_update_is_one_commit_of_its_files_and_the_persons_changes_stay_theirs(
    tmp_path: Path,
) -> None:
    vault, state = _repo(tmp_path)
    (vault / "notes/Mine.md").write_text("my note, staged change\n", encoding="utf-8")
    git(vault, "add", "notes/Mine.md")
    (vault / "notes/Draft.md").write_text("draft, unstaged change\n", encoding="utf-8")
    head = git(vault, "rev-parse", "HEAD").strip()
    companion_with_git(
        vault, state, "update", PAGE, "--expect-version", "1", "--set", "status=reviewed"
    )
    commits = commits_since(vault, head)
    updates = [
        c
        for c, subject in commits
        if subject.startswith("update | `wiki/concepts/Backoff.md` version 1 → 2")
    ]
    assert len(updates) == 1, commits  # one commit per operation (a catalog change is its own)
    files = sorted(git(vault, "show", "--name-only", "--format=", updates[0]).split())
    assert files == ["log.md", PAGE]
    assert git(vault, "show", f"{updates[0]}:{PAGE}") == (vault / PAGE).read_text(encoding="utf-8")
    assert git(vault, "diff", "--cached", "--name-only").split() == [
        "notes/Mine.md"
    ]  # still staged
    assert git(vault, "diff", "--name-only").split() == ["notes/Draft.md"]  # still unstaged
    assert "my note" in git(vault, "show", "HEAD:notes/Mine.md") and "staged" not in git(
        vault, "show", "HEAD:notes/Mine.md"
    )


def test_outside_a_work_tree_it_says_so_once_and_writes_as_usual(tmp_path: Path) -> None:
    vault = tmp_path / "vault"
    Companion.init(vault)
    write(vault, PAGE, PAGE_TEXT)
    env = {
        "COMPANION_EMBED_BACKEND": "fake",
        "COMPANION_GIT": "1",
        "GIT_CEILING_DIRECTORIES": str(tmp_path),
    }
    done = run_cli("index", str(vault), "--state-dir", str(tmp_path / "state"), env=env)
    assert done.returncode == 0
    assert done.stderr.count("not inside a git work tree") == 1
    assert (vault / "index.md").is_file()


def test_a_locked_index_still_commits_and_says_the_index_was_left(tmp_path: Path) -> None:
    vault, state = _repo(tmp_path)
    lock = vault / ".git" / "index.lock"
    lock.write_text("", encoding="utf-8")
    try:
        said = companion_with_git(
            vault, state, "update", PAGE, "--expect-version", "1", "--set", "status=x"
        )
    finally:
        lock.unlink()
    assert "index.lock" in said
    assert "update |" in git(vault, "log", "--format=%s", "-3")


def test_an_ingest_commits_its_pages_and_log_entry_but_not_the_persons_source(
    tmp_path: Path,
) -> None:
    vault, state = _repo(tmp_path)
    write(
        vault, "sources/yard.md", "# Yard notes\n\nThe Kestrel Broker keeps telemetry for 9 days.\n"
    )
    head = git(vault, "rev-parse", "HEAD").strip()
    companion_with_git(vault, state, "ingest")
    commits = {subject: c for c, subject in commits_since(vault, head)}
    ingest = next(c for subject, c in commits.items() if subject.startswith("ingest |"))
    files = git(vault, "show", "--name-only", "--format=", ingest).split()
    assert "log.md" in files and "wiki/sources/yard.md" in files
    assert "sources/yard.md" not in files  # a source is the person's file: never companion's commit
    assert "sources/yard.md" in git(vault, "status", "--porcelain", "-uall")  # untracked: theirs
