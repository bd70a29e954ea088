"""`/regex/` filters of `userIgnoreFilters` are bounded, and template settings are read safely.

A hostile filter must not hang `index`: nested repeats are refused when app.json is read, and any
other filter that runs too long on a path is stopped, reported once and then matches nothing. The
outcomes (problems, `excluded` flags) are asserted, never a clock: with Python's `re` these walks
would take longer than the age of the universe (2**200 steps).
"""

from __future__ import annotations

import json
from pathlib import Path

from companion.vault.obsidian import IgnoreRules, folder_setting
from companion.vault.walk import check_path, walk
from tests.helpers import write

LONG = "a" * 200 + "!"  # a run of `a`s that a backtracking `(a|a)+$` tries 2**200 ways


def app_json(root: Path, filters: list[str]) -> None:
    write(root, ".obsidian/app.json", json.dumps({"userIgnoreFilters": filters}))


def test_a_filter_nesting_a_repeat_in_a_repeat_is_refused_when_read(tmp_path: Path) -> None:
    app_json(tmp_path, ["/(a+)+$/", "/^Archive\\//"])
    write(tmp_path, f"long/{LONG}.md")
    write(tmp_path, "Archive/old.md")
    rules = IgnoreRules.load(tmp_path)
    assert [p.source for p in rules.patterns] == ["/^Archive\\//"]  # the sane one still works
    result = walk(tmp_path, rules)
    assert {f.path: f.excluded for f in result.files} == {
        "Archive/old.md": True,
        f"long/{LONG}.md": False,
    }
    [problem] = result.problems
    assert problem.path == ".obsidian/app.json"
    assert "/(a+)+$/ repeats a group that itself repeats" in problem.reason
    assert "ignored" in problem.reason


def test_a_filter_that_runs_too_long_is_reported_once_and_matches_nothing(tmp_path: Path) -> None:
    # `(a|a)+$` has no nested repeat, only overlapping alternatives: the shape check passes it,
    # the search timeout catches it.
    app_json(tmp_path, ["/(a|a)+$/"])
    for i in range(3):
        write(tmp_path, f"long{i}/{LONG}.md")
    write(tmp_path, "notes/idea")  # a quick match: excluded only if the filter still ran
    result = walk(tmp_path, IgnoreRules.load(tmp_path))
    # Matching nothing for the whole walk, whichever file it timed out on first.
    assert [f.excluded for f in result.files] == [False] * 4
    [problem] = result.problems
    assert problem.path == ".obsidian/app.json"
    assert problem.reason.startswith("userIgnoreFilters regex /(a|a)+$/ took over 50 ms on ")
    assert "it now matches nothing" in problem.reason


def test_a_watcher_path_reports_the_filter_that_timed_out_on_it(tmp_path: Path) -> None:
    app_json(tmp_path, ["/(a|a)+$/"])
    write(tmp_path, f"{LONG}.md")
    write(tmp_path, "idea")
    rules = IgnoreRules.load(tmp_path)
    state, file, problems = check_path(tmp_path, f"{LONG}.md", rules)
    assert state == "file" and file is not None and not file.excluded
    assert [p.reason.split(" took over")[0] for p in problems] == [
        "userIgnoreFilters regex /(a|a)+$/"
    ]
    # Reported once: the next path of the batch neither pays for it nor hears of it again.
    state, file, problems = check_path(tmp_path, "idea", rules)
    assert file is not None and not file.excluded and problems == []


def test_regex_filters_accept_javascript_named_groups(tmp_path: Path) -> None:
    # Obsidian runs these as JavaScript regexes; `(?<name>...)` is JavaScript's spelling.
    app_json(tmp_path, ["/^(?<top>Archive)\\//"])
    write(tmp_path, "Archive/a.md")
    write(tmp_path, "Kept/a.md")
    result = walk(tmp_path, IgnoreRules.load(tmp_path))
    assert {f.path: f.excluded for f in result.files} == {"Archive/a.md": True, "Kept/a.md": False}
    assert result.problems == []


def test_the_templater_plugins_folder_holds_templates(tmp_path: Path) -> None:
    write(
        tmp_path,
        ".obsidian/plugins/templater-obsidian/data.json",
        json.dumps({"templates_folder": "/Meta/Templater/"}),
    )
    rules = IgnoreRules.load(tmp_path)
    assert rules.is_template("Meta/Templater/Book.md") and rules.is_excluded("Meta/Templater/x.md")
    assert not rules.is_template("Meta/Other.md")


def test_a_folder_setting_says_what_is_wrong_with_its_file(tmp_path: Path) -> None:
    where = ".obsidian/templates.json"
    assert folder_setting(tmp_path, where, "folder").exists is False
    write(tmp_path, where, '{"folder": ')
    broken = folder_setting(tmp_path, where, "folder")
    assert broken.exists and broken.folder is None and "malformed JSON" in (broken.problem or "")
    write(tmp_path, where, json.dumps({"folder": "../outside"}))
    assert "leads outside the vault" in (folder_setting(tmp_path, where, "folder").problem or "")
    write(tmp_path, where, json.dumps({"folder": 3}))
    assert folder_setting(tmp_path, where, "folder").problem == "folder is not a text"
    write(tmp_path, where, json.dumps({}))
    assert folder_setting(tmp_path, where, "folder") == type(broken)(where, True, None)
    write(tmp_path, where, json.dumps({"folder": "/ Templates/./Pages/ "}))
    assert folder_setting(tmp_path, where, "folder").folder == "Templates/Pages"
