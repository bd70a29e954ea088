"""`check_path`, one path of a watcher batch: the verdicts `walk` gives, and never an exception."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from companion.vault.obsidian import IgnoreRules, WalkProblem
from companion.vault.walk import check_path, walk
from tests.helpers import write


def make_bytes_name(root: Path, rel: bytes) -> str:
    """Create a file whose name is raw bytes (folders as needed); its path as Python sees it."""
    path = os.fsencode(root) + b"/" + rel
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as fh:
            fh.write(b"text\n")
    except OSError as exc:  # a file system that insists on UTF-8 names (APFS, some FUSE mounts)
        pytest.skip(f"this file system refuses a non-UTF-8 name: {exc}")
    return os.fsdecode(rel)


def test_a_name_that_is_not_utf8_is_the_problem_walk_reports_never_a_file(tmp_path: Path) -> None:
    bad_file = make_bytes_name(tmp_path, b"caf\xe9.md")  # Latin-1 bytes
    bad_folder_file = make_bytes_name(tmp_path, b"dir\xff/inside.md")
    write(tmp_path, "good.md")
    rules = IgnoreRules.load(tmp_path)
    walked = walk(tmp_path, rules)
    assert [f.path for f in walked.files] == ["good.md"]
    expected = {
        bad_file: WalkProblem("caf?.md", "name is not valid UTF-8, skipped; rename it"),
        bad_folder_file: WalkProblem("dir?", "name is not valid UTF-8, skipped; rename it"),
    }
    assert sorted(walked.problems) == sorted(expected.values())
    for rel, problem in expected.items():
        state, file, problems = check_path(tmp_path, rel, rules)
        # The path a watcher hands over carries surrogates; the problem's path can be stored.
        assert (state, file, problems) == ("ignored", None, [problem])
        problems[0].path.encode("utf-8")


def test_a_good_path_is_still_a_file(tmp_path: Path) -> None:
    write(tmp_path, "Ünïcode ok.md")
    state, file, problems = check_path(tmp_path, "Ünïcode ok.md", IgnoreRules.load(tmp_path))
    assert state == "file" and file is not None and file.path == "Ünïcode ok.md"
    assert problems == [] and not file.template


def test_templates_are_marked_by_walk_and_check_path_alike(tmp_path: Path) -> None:
    write(tmp_path, ".obsidian/templates.json", json.dumps({"folder": "Templates"}))
    write(
        tmp_path,
        ".obsidian/plugins/templater-obsidian/data.json",
        json.dumps({"templates_folder": "Meta/Templater"}),
    )
    for rel in ("Templates/Day.md", "Meta/Templater/Book.md", "Meta/Note.md", "Templates.md"):
        write(tmp_path, rel)
    rules = IgnoreRules.load(tmp_path)
    walked = {f.path: (f.template, f.excluded) for f in walk(tmp_path, rules).files}
    assert walked == {
        "Meta/Note.md": (False, False),
        "Meta/Templater/Book.md": (True, True),
        "Templates.md": (False, False),
        "Templates/Day.md": (True, True),
    }
    for rel, flags in walked.items():
        _, file, _ = check_path(tmp_path, rel, rules)
        assert file is not None and (file.template, file.excluded) == flags, rel
