"""Writes people can trust (SYSTEM.md §8): a write credits itself only the bytes it wrote, a
person's editing session costs one version bump, an update that changes nothing writes nothing,
and the log records what changed in the vault — never what the cache forgot."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import yaml

from companion.app import Companion
from companion.embed import Embedder
from companion.errors import InvalidProperty, VersionConflict
from companion.sync.reconcile import SyncReport
from companion.write.pages import PageChange, Unchanged, UpdateResult
from tests.helpers import OpenApp, write

PAGE = "wiki/concepts/Victim.md"
PERSON = "THE PERSON'S NEW PARAGRAPH\n"


def _log_entries(vault: Path) -> list[str]:
    """The headings of log.md's entries (`## [time] op | headline`), oldest first."""
    text = (vault / "log.md").read_text(encoding="utf-8")
    return [line for line in text.splitlines() if line.startswith("## [")]


def _props(path: Path) -> dict[str, object]:
    data = yaml.safe_load(path.read_text(encoding="utf-8").split("---")[1])
    assert isinstance(data, dict)
    return data


def _age(path: Path, seconds: float) -> None:
    """Make the file's last save `seconds` old (its mtime is when a person last saved it)."""
    then = time.time() - seconds
    os.utime(path, (then, then))


# -- the critical race: a person's save between companion's write and its re-index ---------------


class _PersonSavesDuringTheWrite(Companion):
    """A real Companion; the person's save lands in the window between an update's write and
    the re-index that follows it (the window the hostile probe hit: seconds one-shot, ms in the
    daemon). Injected once, at the first `wrote` after `arm()`."""

    armed = False

    def arm(self) -> None:
        self.armed = True

    def wrote(self, paths: list[str], hashes: dict[str, str] | None = None) -> SyncReport:
        if self.armed and PAGE in paths:
            self.armed = False
            with open(self.settings.vault / PAGE, "a", encoding="utf-8") as fh:
                fh.write(PERSON)
        return super().wrote(paths, hashes)


@pytest.fixture
def race_app(
    make_vault: Callable[..., Path], tmp_path: Path, embedder: Embedder
) -> Iterator[Companion]:
    from companion.config import load_settings

    vault = make_vault({PAGE: "---\nversion: 1\n---\noriginal body\n"})
    settings = load_settings(vault, state_dir=tmp_path / "state", embed_backend="fake")
    app = _PersonSavesDuringTheWrite(settings)
    app.use_embedder(embedder)
    app.index(embed=False)
    yield app
    app.close()


def test_a_person_saving_during_companions_write_is_never_overwritten(race_app: Companion) -> None:
    vault = race_app.settings.vault
    race_app.arm()  # type: ignore[attr-defined]
    first = race_app.update(PAGE, 1, PageChange(body="agent P body\n"))
    assert isinstance(first, UpdateResult) and first.new_version == 2
    assert (vault / PAGE).read_text().endswith("agent P body\n" + PERSON)
    # Writer Q read version 2 just before the person's save; its write must be refused.
    with pytest.raises(VersionConflict):
        race_app.update(PAGE, 2, PageChange(body="agent P body\nagent Q line\n"))
    text = (vault / PAGE).read_text()
    assert PERSON in text and "agent Q line" not in text
    assert _props(vault / PAGE)["version"] == 3  # the person's edit got a version of its own


def test_the_persons_edit_is_flagged_for_its_own_bump_by_the_next_index(
    race_app: Companion,
) -> None:
    race_app.arm()  # type: ignore[attr-defined]
    race_app.update(PAGE, 1, PageChange(body="agent P body\n"))
    assert [p for p, _ in race_app.unversioned()] == [PAGE]
    _age(race_app.settings.vault / PAGE, race_app.settings.bump_settle + 1)
    result = race_app.index(embed=False)
    assert result.bumped == [(PAGE, 2, 3)]
    assert race_app.unversioned() == []


def test_companions_own_write_is_credited_and_not_bumped_again(
    make_vault: Callable[..., Path], open_app: OpenApp
) -> None:
    vault = make_vault({PAGE: "---\nversion: 1\n---\noriginal body\n"})
    app = open_app(vault, bump_settle=0)
    app.index(embed=False)
    app.update(PAGE, 1, PageChange(body="agent body\n"))
    assert app.unversioned() == []
    assert app.index(embed=False).bumped == []
    assert _props(vault / PAGE)["version"] == 2


# -- one bump per editing session ---------------------------------------------------------------


def test_index_bumps_only_edits_older_than_bump_settle(
    make_vault: Callable[..., Path], open_app: OpenApp
) -> None:
    vault = make_vault({PAGE: "---\nversion: 4\n---\nbody\n"})
    app = open_app(vault)  # the default window: five minutes
    app.index(embed=False)
    write(vault, PAGE, "---\nversion: 4\n---\nbody, being edited\n")
    assert app.index(embed=False).bumped == []  # a fresh edit: the person may still be typing
    assert _props(vault / PAGE)["version"] == 4
    _age(vault / PAGE, app.settings.bump_settle + 1)
    assert app.index(embed=False).bumped == [(PAGE, 4, 5)]  # the flag outlived the first run
    assert app.index(embed=False).bumped == []


def test_a_writer_that_needs_an_edited_page_bumps_the_edit_first(
    make_vault: Callable[..., Path], open_app: OpenApp
) -> None:
    vault = make_vault({PAGE: "---\nversion: 4\n---\nbody\n"})
    app = open_app(vault)
    app.index(embed=False)
    write(vault, PAGE, "---\nversion: 4\n---\nbody\n" + PERSON)
    with pytest.raises(VersionConflict, match="version 5, not 4"):
        app.update(PAGE, 4, PageChange(body="agent body\n"))
    assert PERSON in (vault / PAGE).read_text()
    done = app.update(PAGE, 5, PageChange(body="body\n" + PERSON + "agent line\n"))
    assert isinstance(done, UpdateResult) and (done.old_version, done.new_version) == (5, 6)


# -- update: no-ops, strings, lists, create ------------------------------------------------------


@pytest.fixture
def page_app(make_vault: Callable[..., Path], open_app: OpenApp) -> Companion:
    vault = make_vault(
        {PAGE: "---\nversion: 1\nstatus: draft\ntags:\n  - a\n---\nbody\n", "wiki/x.md": "x\n"}
    )
    app = open_app(vault, bump_settle=0)
    app.index(embed=False)
    return app


def test_an_update_that_changes_nothing_writes_nothing(page_app: Companion) -> None:
    vault = page_app.settings.vault
    before = (vault / PAGE).read_bytes(), (vault / "log.md").read_bytes()
    for change in (
        PageChange(),
        PageChange(body="body\n"),
        PageChange(properties={"status": "draft"}),
    ):
        result = page_app.update(PAGE, 1, change)
        assert isinstance(result, Unchanged) and result.version == 1
    assert ((vault / PAGE).read_bytes(), (vault / "log.md").read_bytes()) == before


def test_one_update_is_one_log_entry(page_app: Companion) -> None:
    vault = page_app.settings.vault
    before = len(_log_entries(vault))
    page_app.update(PAGE, 1, PageChange(body="new body\n"))
    page_app.index(embed=False)  # the next run has nothing to add either
    entries = _log_entries(vault)[before:]
    assert len(entries) == 1 and "update |" in entries[0] and "version 1 → 2" in entries[0]


@pytest.mark.parametrize("value", ["012", "0x1F", "1:30", "true", "see also:", "trail ", "null"])
def test_set_always_writes_the_text_given(page_app: Companion, value: str) -> None:
    page_app.update(PAGE, 1, PageChange(properties={"note": value}))
    assert _props(page_app.settings.vault / PAGE)["note"] == value


def test_lists_change_through_add_and_remove_and_set_on_a_list_is_refused(
    page_app: Companion,
) -> None:
    vault = page_app.settings.vault
    page_app.update(PAGE, 1, PageChange(add={"tags": ["b", "a"], "aliases": ["V"]}))
    assert _props(vault / PAGE)["tags"] == ["a", "b"]
    assert _props(vault / PAGE)["aliases"] == ["V"]
    page_app.update(PAGE, 2, PageChange(remove={"tags": ["a"]}))
    assert _props(vault / PAGE)["tags"] == ["b"]
    before = (vault / PAGE).read_bytes()
    with pytest.raises(InvalidProperty, match="--add tags="):
        page_app.update(PAGE, 3, PageChange(properties={"tags": "c"}))
    assert (vault / PAGE).read_bytes() == before


def test_create_makes_a_page_at_version_one_shaped_by_its_template(page_app: Companion) -> None:
    vault = page_app.settings.vault
    new = "wiki/concepts/Backoff.md"
    result = page_app.update(new, None, PageChange(body="Waiting longer.\n"), create=True)
    assert isinstance(result, UpdateResult) and (result.old_version, result.new_version) == (0, 1)
    props = _props(vault / new)
    assert props["type"] == "concept" and props["version"] == 1 and "updated" in props
    assert (vault / new).read_text().endswith("---\nWaiting longer.\n")
    with pytest.raises(VersionConflict, match="already exists"):
        page_app.update(new, None, PageChange(body="again\n"), create=True)
    assert "created at version 1" in _log_entries(vault)[-1]


# -- the log records the vault, not the cache; the catalog heals ---------------------------------


def test_an_index_from_an_empty_store_logs_one_rebuild_entry(
    make_vault: Callable[..., Path], open_app: OpenApp
) -> None:
    vault = make_vault({"a.md": "A\n", "b.md": "B [[a]]\n", PAGE: "---\nversion: 1\n---\nP\n"})
    app = open_app(vault)
    app.index(embed=False)
    before = len(_log_entries(vault))
    for state in ("second-state-folder", "third"):
        open_app(vault, state=state).index(embed=False)
    # The first index sees log.md changed by the others: companion's own note, not news.
    app.index(embed=False)
    app.index(embed=False, rebuild=True)
    app.index(embed=False)  # and a run after that has nothing to say
    entries = _log_entries(vault)[before:]
    assert len(entries) == 3, entries
    assert all(e.endswith("rebuild | 3 notes, nothing changed in the vault") for e in entries)


def test_the_catalog_is_reconciled_after_a_crash_before_its_write(
    make_vault: Callable[..., Path], open_app: OpenApp
) -> None:
    vault = make_vault({"a.md": "A\n"})
    app = open_app(vault)
    app.index(embed=False)
    write(vault, "Brand new.md", "new\n")
    app.sync()  # committed to the index ... and the process dies before index.md is written
    assert "Brand new" not in (vault / "index.md").read_text()
    app.index(embed=False)
    assert "Brand new" in (vault / "index.md").read_text()


def test_a_page_with_a_duplicated_key_is_never_bumped_or_updated_and_says_why(
    make_vault: Callable[..., Path], open_app: OpenApp
) -> None:
    """YAML reads the last `version`, an edit of the first would never move it: compare-and-swap
    would let every writer win. Refused, named, nothing written."""
    from companion.errors import MalformedFrontmatter

    text = "---\nversion: 1\nversion: 5\n---\nbody\n"
    vault = make_vault({PAGE: text})
    app = open_app(vault, bump_settle=0)
    app.index(embed=False)
    write(vault, PAGE, text + "a person's line\n")
    result = app.index(embed=False)
    assert result.bumped == [] and [p for p, _ in result.not_bumped] == [PAGE]
    assert "given twice" in result.not_bumped[0][1]
    for expected in (1, 5):
        with pytest.raises(MalformedFrontmatter, match="given twice"):
            app.update(PAGE, expected, PageChange(body="agent\n"))
    assert (vault / PAGE).read_text() == text + "a person's line\n"


# -- the edges a review found: every way a person's save could pass for companion's ----------


def test_a_same_size_save_in_the_same_clock_tick_is_still_seen_by_a_writer(
    make_vault: Callable[..., Path], open_app: OpenApp
) -> None:
    """The index decides what to re-read by size and mtime; a save of the same size within one
    coarse clock tick keeps both. A writer hashes the page itself: the save is found, bumped,
    and the writer is refused (once: it then succeeds), never refused for good."""
    vault = make_vault({PAGE: "---\nversion: 4\n---\nbody AAAA\n"})
    app = open_app(vault)
    app.index(embed=False)
    st = (vault / PAGE).stat()
    write(vault, PAGE, "---\nversion: 4\n---\nbody BBBB\n")
    os.utime(vault / PAGE, ns=(st.st_atime_ns, st.st_mtime_ns))  # same size, same mtime
    with pytest.raises(VersionConflict, match="version 5, not 4"):
        app.update(PAGE, 4, PageChange(body="agent\n"))
    assert "BBBB" in (vault / PAGE).read_text()
    done = app.update(PAGE, 5, PageChange(body="body BBBB\nagent\n"))
    assert isinstance(done, UpdateResult) and done.new_version == 6


def test_a_page_companion_just_created_and_a_person_saved_over_is_a_persons_edit(
    page_app: Companion,
) -> None:
    new = "wiki/concepts/Fresh.md"

    vault = page_app.settings.vault
    original = page_app.wrote

    def wrote(paths: list[str], hashes: dict[str, str] | None = None) -> SyncReport:
        if new in paths:
            with open(vault / new, "a", encoding="utf-8") as fh:
                fh.write(PERSON)
        return original(paths, hashes)

    page_app.wrote = wrote  # type: ignore[method-assign]
    page_app.update(new, None, PageChange(body="made by an agent\n"), create=True)
    page_app.wrote = original  # type: ignore[method-assign]
    assert [p for p, _ in page_app.unversioned()] == [new]
    with pytest.raises(VersionConflict):
        page_app.update(new, 1, PageChange(body="agent again\n"))
    assert PERSON in (vault / new).read_text()


def test_a_renamed_page_keeps_its_waiting_bump(
    make_vault: Callable[..., Path], open_app: OpenApp
) -> None:
    vault = make_vault({PAGE: "---\nversion: 2\n---\nbody\n"})
    app = open_app(vault)  # five minutes: the edit waits
    app.index(embed=False)
    with open(vault / PAGE, "a", encoding="utf-8") as fh:
        fh.write(PERSON)
    app.index(embed=False)
    (vault / PAGE).rename(vault / "wiki/concepts/Renamed.md")
    app.index(embed=False)
    assert [p for p, _ in app.unversioned()] == ["wiki/concepts/Renamed.md"]


def test_a_page_that_is_no_longer_managed_is_never_bumped(
    make_vault: Callable[..., Path], open_app: OpenApp
) -> None:
    vault = make_vault({PAGE: "---\nversion: 2\n---\nbody\n"})
    app = open_app(vault, bump_settle=3600)
    app.index(embed=False)
    write(vault, PAGE, "---\nversion: 2\n---\nbody edited\n")
    app.index(embed=False)  # flagged, too fresh to bump
    write(vault, "SYSTEM.md", "---\nmanaged_folders: [elsewhere]\n---\n")
    app.close()
    later = open_app(vault, bump_settle=0)
    later.index(embed=False)
    assert (vault / PAGE).read_text() == "---\nversion: 2\n---\nbody edited\n"


def test_add_to_a_list_key_holding_one_value_makes_it_a_list(
    make_vault: Callable[..., Path], open_app: OpenApp
) -> None:
    vault = make_vault({PAGE: "---\nversion: 1\ntags: payments\n---\nbody\n"})
    app = open_app(vault)
    app.index(embed=False)
    app.update(PAGE, 1, PageChange(add={"tags": ["retries", "payments"]}))
    assert _props(vault / PAGE)["tags"] == ["payments", "retries"]
    with pytest.raises(InvalidProperty, match="set by companion"):
        app.update(PAGE, 2, PageChange(properties={"updated": "2020-01-01"}))


def test_a_rebuilt_index_or_another_state_folder_still_knows_a_persons_waiting_edit(
    make_vault: Callable[..., Path], open_app: OpenApp
) -> None:
    """The flag lives in the index, a cache; the vault's writer keeps the list beside its lease
    (.companion/pending.json), so starting from nothing never makes the edit pass for versioned."""
    vault = make_vault({PAGE: "---\nversion: 3\n---\nbody\n"})
    app = open_app(vault)
    app.index(embed=False)
    write(vault, PAGE, "---\nversion: 3\n---\nthe person's rewrite\n")
    app.index(embed=False)  # flagged; too fresh to bump
    assert (vault / ".companion" / "pending.json").is_file()
    app.index(embed=False, rebuild=True)
    assert [p for p, _ in app.unversioned()] == [PAGE]
    other = open_app(vault, state="another-state-folder")
    other.index(embed=False)
    assert [p for p, _ in other.unversioned()] == [PAGE]
    with pytest.raises(VersionConflict):
        other.update(PAGE, 3, PageChange(body="agent\n"))
    assert "the person's rewrite" in (vault / PAGE).read_text()


def test_a_version_wound_back_is_never_handed_out_again(
    make_vault: Callable[..., Path], open_app: OpenApp
) -> None:
    """A stale editor buffer puts `version: 3` back over companion's 4: the bump for that save is
    5, so a writer holding version 4 (the other text) is refused, not let through."""
    vault = make_vault({PAGE: "---\nversion: 3\n---\nbody\n"})
    app = open_app(vault, bump_settle=0)
    app.index(embed=False)
    write(vault, PAGE, "---\nversion: 3\n---\nfirst edit\n")
    assert app.index(embed=False).bumped == [(PAGE, 3, 4)]
    write(vault, PAGE, "---\nversion: 3\n---\nsecond edit, from a stale buffer\n")
    assert app.index(embed=False).bumped == [(PAGE, 3, 5)]
    with pytest.raises(VersionConflict):
        app.update(PAGE, 4, PageChange(body="agent on top of the first edit\n"))


def test_an_edit_bumped_by_another_companion_is_not_bumped_again(
    make_vault: Callable[..., Path], open_app: OpenApp
) -> None:
    """State folder A saw the edit (waiting); companion B, on another state folder, bumped it.
    When A indexes again, the version rose by another writer: that edit is versioned."""
    vault = make_vault({PAGE: "---\nversion: 15\n---\nbody\n"})
    first = open_app(vault, state="state-a")
    first.index(embed=False)
    write(vault, PAGE, "---\nversion: 15\n---\nbody, edited\n")
    first.index(embed=False)  # flagged, too fresh to bump
    first.close()
    second = open_app(vault, state="state-b", bump_settle=0)
    assert second.index(embed=False).bumped == [(PAGE, 15, 16)]
    second.close()
    again = open_app(vault, state="state-a", bump_settle=0)
    assert again.index(embed=False).bumped == []
    assert again.index(embed=False).bumped == []
    assert _props(vault / PAGE)["version"] == 16
    assert not (vault / ".companion" / "pending.json").exists()  # nothing waits: no file
