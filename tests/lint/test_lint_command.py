"""`companion lint` and `lint --fix` in a real process, on a real vault indexed with sqlite-vec."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from companion.app import Companion
from tests.helpers import run_cli, write

pytestmark = pytest.mark.slow  # several CLI processes on one vault

ENV = {"COMPANION_EMBED_BACKEND": "fake"}
PAGE = "wiki/entities/Kestrel Broker.md"
TEXT = """---
type: entity
version: 2
aliases: []
tags: []
sources:
  - "[[wiki/sources/old-spec]]"
updated: 2026-11-01T10:00:00Z
---
The broker the yard's telemetry goes through.

## Facts
%% companion:begin facts %%
- Kestrel keeps messages for 9 days ([[wiki/sources/spec|the spec]]).
- Kestrel runs on three hosts (see [[wiki/sources/spec]] for the list).
%% companion:end facts %%

## Notes
- my own remark, which needs no citation
"""
NOTE = "people/Ann Okafor.md"
NOTE_TEXT = "Ann looks after [[Kestrel Brokr]].\n"


def _vault(tmp_path: Path) -> tuple[Path, Path]:
    vault = tmp_path / "vault"
    Companion.init(vault)
    write(vault, PAGE, TEXT)
    write(
        vault,
        "wiki/sources/spec.md",
        "---\ntype: source\nversion: 1\nsources: []\nupdated: 2026-11-01T10:00:00Z\n---\nSpec.\n",
    )
    write(vault, NOTE, NOTE_TEXT)
    state = tmp_path / "state"
    assert run_cli("index", str(vault), "--state-dir", str(state), env=ENV).returncode == 0
    return vault, state


def _lint(vault: Path, state: Path, *extra: str) -> dict:  # type: ignore[type-arg]
    done = run_cli(
        "lint", "--json", "--vault", str(vault), "--state-dir", str(state), *extra, env=ENV
    )
    assert done.returncode == 0, done.stderr
    return dict(json.loads(done.stdout))


def test_lint_reports_each_problem_where_it_is(tmp_path: Path) -> None:
    vault, state = _vault(tmp_path)
    found = {(f["path"], f["line"], f["kind"]) for f in _lint(vault, state)["findings"]}
    assert {
        (NOTE, 1, "broken-link"),
        (PAGE, 14, "citation-format"),
        (PAGE, 15, "citation-format"),
        (PAGE, 1, "sources-mismatch"),
    } <= found
    broken = next(f for f in _lint(vault, state)["findings"] if f["kind"] == "broken-link")
    assert broken["fix"] == "[[wiki/entities/Kestrel Broker|Kestrel Brokr]]"
    status = run_cli("status", "--json", "--vault", str(vault), "--state-dir", str(state), env=ENV)
    last = json.loads(status.stdout)["lint"]
    assert last["counts"]["citation-format"] == 2 and last["at"]


def test_fix_rewrites_only_safe_things_on_managed_pages_in_one_versioned_write(
    tmp_path: Path,
) -> None:
    vault, state = _vault(tmp_path)
    log_before = (vault / "log.md").read_text(encoding="utf-8")
    result = _lint(vault, state, "--fix")
    assert result["fixed"] == [PAGE]
    text = (vault / PAGE).read_text(encoding="utf-8")
    assert "- Kestrel keeps messages for 9 days ([[wiki/sources/spec]])." in text
    assert "(see [[wiki/sources/spec]] for the list)" in text  # prose inside: not rewritten
    assert '  - "[[wiki/sources/spec]]"' in text and "old-spec" not in text
    assert "version: 3" in text and "my own remark, which needs no citation" in text
    assert (vault / NOTE).read_text(encoding="utf-8") == NOTE_TEXT  # a person's note: never
    log = (vault / "log.md").read_text(encoding="utf-8")[len(log_before) :]
    assert log.count("## [") == 1 and "lint | fixed 1 page" in log and PAGE in log
    kinds = {f["kind"] for f in result["findings"]}
    assert "sources-mismatch" not in kinds
    again = _lint(vault, state, "--fix")
    assert again["fixed"] == [] and (vault / PAGE).read_text(encoding="utf-8") == text


def test_fix_keeps_a_crlf_pages_line_endings_and_refuses_a_link_to_a_persons_note(
    tmp_path: Path,
) -> None:
    vault, state = _vault(tmp_path)
    crlf = TEXT.replace("\n", "\r\n")
    write(vault, "wiki/concepts/Windows Page.md", crlf.replace("type: entity", "type: concept"))
    (vault / "wiki/concepts/Ravi.md").symlink_to(vault / "people/Ravi.md")
    write(vault, "people/Ravi.md", "Ravi, in my words ([[wiki/sources/spec|the spec]]).\n")
    assert run_cli("index", str(vault), "--state-dir", str(state), env=ENV).returncode == 0
    person = (vault / "people/Ravi.md").read_bytes()
    result = _lint(vault, state, "--fix")
    fixed = (vault / "wiki/concepts/Windows Page.md").read_bytes()
    assert b"\r\n" in fixed and b"\n" not in fixed.replace(b"\r\n", b"")  # every line still CRLF
    assert b"([[wiki/sources/spec]])." in fixed
    assert (vault / "people/Ravi.md").read_bytes() == person  # behind the link: a person's note
    assert any(x.startswith("wiki/concepts/Ravi.md: ") for x in result["not_fixed"])


def test_a_one_shot_lint_sees_edits_since_the_last_index_and_fixes_a_page_a_person_just_edited(
    tmp_path: Path,
) -> None:
    vault, state = _vault(tmp_path)
    # Edits after the last index, no daemon: a new broken link in a person's note, and a
    # person's edit of the managed page (no version bump) that leaves its citations unfixed.
    write(vault, NOTE, NOTE_TEXT + "And [[Nowhere Yet]].\n")
    edited = TEXT.replace("The broker the yard's", "The broker (edited by hand) the yard's")
    write(vault, PAGE, edited)
    result = _lint(vault, state, "--fix")
    assert result["not_fixed"] == [], result["not_fixed"]
    assert result["fixed"] == [PAGE]
    text = (vault / PAGE).read_text(encoding="utf-8")
    assert "(edited by hand)" in text  # the person's words kept
    assert "version: 4" in text  # 2 → 3 for the person's edit, 3 → 4 for the fix
    assert "- Kestrel keeps messages for 9 days ([[wiki/sources/spec]])." in text
    log = (vault / "log.md").read_text(encoding="utf-8")
    assert f"`{PAGE}` version 2 → 3" in log and "lint | fixed 1 page" in log
    broken = {f["message"].split(" resolves")[0] for f in result["findings"]}
    assert "[[Nowhere Yet]]" in broken  # seen without `companion index` first


def test_a_plain_lint_writes_nothing_and_says_when_the_vault_moved_on_since_the_index(
    tmp_path: Path,
) -> None:
    vault, state = _vault(tmp_path)
    write(vault, NOTE, NOTE_TEXT + "And [[Nowhere Yet]].\n")
    before = {p: p.read_bytes() for p in vault.rglob("*") if p.is_file()}
    result = _lint(vault, state)
    assert {p: p.read_bytes() for p in vault.rglob("*") if p.is_file()} == before
    assert result["note"].startswith("1 file changed since the last index run")
    assert "[[Nowhere Yet]]" not in json.dumps(result["findings"])  # the index as it was
    assert run_cli("index", str(vault), "--state-dir", str(state), env=ENV).returncode == 0
    fresh = _lint(vault, state)
    assert fresh["note"] is None and "[[Nowhere Yet]]" in json.dumps(fresh["findings"])


def test_fix_never_bumps_a_persons_note_behind_a_link_and_one_refusal_spares_the_rest(
    tmp_path: Path,
) -> None:
    vault, state = _vault(tmp_path)
    person = "people/Ravi.md"
    write(
        vault,
        person,
        "---\ntype: concept\nversion: 1\nsources: []\n---\nRavi ([[wiki/sources/spec]]).\n",
    )
    (vault / "wiki/concepts").mkdir(parents=True, exist_ok=True)
    (vault / "wiki/concepts/Ravi.md").symlink_to(vault / person)
    twice = TEXT.replace("type: entity", "type: concept").replace("tags: []", "tags: []\ntags: [x]")
    write(vault, "wiki/concepts/Twice.md", TEXT.replace("type: entity", "type: concept"))
    assert run_cli("index", str(vault), "--state-dir", str(state), env=ENV).returncode == 0
    # People's edits, not bumped: their note (through the link) and a page now unreadable to
    # a one-value edit (a key twice)
    write(vault, person, (vault / person).read_text(encoding="utf-8") + "A line Ravi added.\n")
    write(vault, "wiki/concepts/Twice.md", twice)
    person_bytes = (vault / person).read_bytes()
    result = _lint(vault, state, "--fix")
    assert (vault / person).read_bytes() == person_bytes  # never bumped, never fixed
    assert PAGE in result["fixed"]  # the other pages' fixes are still written
    refused = " ".join(result["not_fixed"])
    assert "wiki/concepts/Ravi.md" in refused and "wiki/concepts/Twice.md" in refused
    assert "bump | `wiki/concepts/Ravi.md`" not in (vault / "log.md").read_text(encoding="utf-8")


def test_fix_on_a_page_that_starts_with_a_byte_order_mark_keeps_one_frontmatter(
    tmp_path: Path,
) -> None:
    vault, state = _vault(tmp_path)
    (vault / PAGE).write_bytes(b"\xef\xbb\xbf" + TEXT.encode("utf-8"))
    assert run_cli("index", str(vault), "--state-dir", str(state), env=ENV).returncode == 0
    result = _lint(vault, state, "--fix")
    assert result["fixed"] == [PAGE]
    text = (vault / PAGE).read_bytes().decode("utf-8").removeprefix("\ufeff")
    assert text.count("type: entity") == 1 and text.count("\n---\n") == 1
    assert "- Kestrel keeps messages for 9 days ([[wiki/sources/spec]])." in text
