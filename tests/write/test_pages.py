"""Compare-and-swap writes and version bumps outside the daemon: nothing a person wrote is lost."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from companion.config import load_settings, parse_schema
from companion.errors import CompanionError, OutsideVault, VersionConflict
from companion.vault.locate import find_vault
from companion.vault.walk import content_hash
from companion.write.pages import PageChange, VersionWrite, apply_update, bump_in_place
from tests.helpers import OpenApp


def test_a_page_without_a_version_is_at_version_zero(make_vault: Callable[..., Path]) -> None:
    vault = make_vault({"wiki/concepts/Tide.md": "---\ntype: concept\n---\nTides rise.\n"})
    done = apply_update(
        load_settings(vault, state_dir=vault.parent / "s"),
        "wiki/concepts/Tide",
        0,
        PageChange(body="Tides fall.\n"),
    )
    assert isinstance(done, VersionWrite) and (done.old_version, done.new_version) == (0, 1)
    assert "version: 1" in (vault / "wiki/concepts/Tide.md").read_text()


def test_property_names_cannot_smuggle_frontmatter_lines(make_vault: Callable[..., Path]) -> None:
    vault = make_vault({"wiki/concepts/Tide.md": "---\nversion: 1\n---\nx\n"})
    before = (vault / "wiki/concepts/Tide.md").read_bytes()
    settings = load_settings(vault, state_dir=vault.parent / "s")
    for key in ("a: 1\nversion", "version", "x#y", ""):
        with pytest.raises(CompanionError, match="cannot set property"):
            apply_update(settings, "wiki/concepts/Tide", 1, PageChange(properties={key: "99"}))
    assert (vault / "wiki/concepts/Tide.md").read_bytes() == before


def test_a_symlink_out_of_the_vault_is_never_written(
    make_vault: Callable[..., Path], tmp_path: Path
) -> None:
    outside = tmp_path / "outside.md"
    outside.write_text("---\nversion: 1\n---\nprivate\n")
    vault = make_vault({"wiki/concepts/Real.md": "x\n"})
    os.symlink(outside, vault / "wiki" / "concepts" / "Evil.md")
    settings = load_settings(vault, state_dir=tmp_path / "s")
    with pytest.raises(OutsideVault):
        apply_update(settings, "wiki/concepts/Evil", 1, PageChange(properties={"pwned": "yes"}))
    with pytest.raises(OutsideVault):
        bump_in_place(settings, "wiki/concepts/Evil.md", content_hash(outside.read_bytes()))
    assert outside.read_text() == "---\nversion: 1\n---\nprivate\n"


def test_an_edit_the_index_has_not_seen_is_a_conflict(make_vault: Callable[..., Path]) -> None:
    page = "wiki/concepts/Tide.md"
    vault = make_vault({page: "---\nversion: 3\n---\nTides rise.\n"})
    seen = content_hash((vault / page).read_bytes())
    (vault / page).write_text("---\nversion: 3\n---\nTides rise.\nA person's new paragraph.\n")
    with pytest.raises(VersionConflict, match="saved again"):
        apply_update(
            load_settings(vault, state_dir=vault.parent / "s"),
            page,
            3,
            PageChange(body="agent text\n"),
            indexed_hash=seen,
        )
    assert "A person's new paragraph." in (vault / page).read_text()


def test_a_version_written_as_text_is_bumped_once_upwards(
    make_vault: Callable[..., Path], open_app: OpenApp
) -> None:
    page = "wiki/concepts/Tide.md"
    vault = make_vault({page: '---\nversion: "5"\n---\nTides rise.\n'})
    app = open_app(vault, bump_settle=0)
    app.index(embed=False)
    (vault / page).write_text('---\nversion: "5"\n---\nTides rise and fall.\n')
    result = app.index(embed=False)
    assert result.bumped == [(page, 5, 6)]
    assert (vault / page).read_text() == "---\nversion: 6\n---\nTides rise and fall.\n"
    assert not app.index(embed=False).bumped  # exactly once


def test_index_without_a_daemon_bumps_edited_managed_pages_only(
    make_vault: Callable[..., Path], open_app: OpenApp
) -> None:
    vault = make_vault(
        {"wiki/a.md": "---\nversion: 2\n---\nA\n", "notes/b.md": "---\nversion: 2\n---\nB\n"}
    )
    app = open_app(vault, bump_settle=0)
    app.index(embed=False)
    (vault / "wiki/a.md").write_text("---\nversion: 2\n---\nA edited\n")
    (vault / "notes/b.md").write_text("---\nversion: 2\n---\nB edited\n")
    app.index(embed=False)
    assert (vault / "wiki/a.md").read_text() == "---\nversion: 3\n---\nA edited\n"
    assert (vault / "notes/b.md").read_text() == "---\nversion: 2\n---\nB edited\n"
    assert "bumped `wiki/a.md` version 2 → 3" in (vault / "log.md").read_text()


def test_managed_folders_may_be_one_word() -> None:
    schema = parse_schema("---\nmanaged_folders: wiki\n---\n", "SYSTEM.md")
    assert schema.managed_folders == ("wiki",)
    assert schema.is_managed("wiki/x.md") and not schema.is_managed("w/x.md")


def test_a_users_system_md_without_settings_leaves_the_default_schema(
    make_vault: Callable[..., Path],
) -> None:
    vault = make_vault({"SYSTEM.md": "# My system notes\n\nNothing for companion here.\n"})
    settings = load_settings(vault, state_dir=vault.parent / "s")
    assert settings.schema.managed_folders == ("wiki",)


def test_a_project_folder_holding_a_vault_is_not_taken_for_the_vault(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("COMPANION_VAULT", raising=False)
    (tmp_path / "SYSTEM.md").write_text("---\nschema_version: 1\n---\n")
    (tmp_path / "vault" / ".obsidian").mkdir(parents=True)
    assert find_vault(None, tmp_path) == (tmp_path / "vault").resolve()
    assert find_vault(None, tmp_path / "vault") == (tmp_path / "vault").resolve()


def test_a_damaged_database_is_rebuilt_by_index(
    make_vault: Callable[..., Path], open_app: OpenApp, tmp_path: Path
) -> None:
    vault = make_vault({"a.md": "lighthouse keeper\n"})
    app = open_app(vault, state="s")
    app.index(embed=False)
    app.close()
    db = tmp_path / "s" / "index.sqlite"
    Path(f"{db}-wal").unlink(missing_ok=True)
    with open(db, "r+b") as fh:  # wreck pages beyond the header: only a real read notices
        fh.seek(4096 * 3)
        fh.write(os.urandom(4096 * 6))
    again = open_app(vault, state="s")
    again.index(embed=False)
    assert [h.path for h in again.search("keeper", mode="bm25")] == ["a.md"]
    assert again.recovered and "rebuilt" in again.recovered


@pytest.mark.parametrize(
    ("body", "why"),
    [("binary\0body\n", "NUL byte"), ("x" * 2048 + "\n", "over the 1,024-byte limit")],
    ids=["nul", "too-large"],
)
def test_a_body_that_could_never_be_indexed_is_refused_and_nothing_written(
    make_vault: Callable[..., Path], monkeypatch: pytest.MonkeyPatch, body: str, why: str
) -> None:
    """Accepted, it would make the page "binary" or "too large, not indexed", and every later
    update would be refused for good."""
    page = "wiki/concepts/Tide.md"
    vault = make_vault({page: "---\nversion: 1\n---\nTides rise.\n"})
    monkeypatch.setenv("COMPANION_MAX_NOTE_BYTES", "1024")
    before = (vault / page).read_bytes()
    with pytest.raises(CompanionError, match=why):
        apply_update(load_settings(vault), page, 1, PageChange(body=body))
    assert (vault / page).read_bytes() == before


def test_a_refused_update_changes_nothing_in_the_vault(
    make_vault: Callable[..., Path], open_app: OpenApp
) -> None:
    """Refused on its path, an update must not first index the vault — which would bump a
    person's unversioned edit and append to log.md."""
    page = "wiki/concepts/Tide.md"
    vault = make_vault({page: "---\nversion: 1\n---\nTides rise.\n"})
    app = open_app(vault)
    app.index(embed=False)
    (vault / page).write_text("---\nversion: 1\n---\nTides rise and fall.\n", encoding="utf-8")
    files = {p: p.read_bytes() for p in vault.rglob("*") if p.is_file()}
    with pytest.raises(OutsideVault):
        app.update("../outside.md", 1, PageChange(body="x"))
    with pytest.raises(CompanionError, match="not a managed page"):
        app.update("Notes.md", 0, PageChange(body="x"))
    assert {p: p.read_bytes() for p in vault.rglob("*") if p.is_file()} == files


def test_a_bump_never_lands_on_a_persons_note_behind_a_link_nor_rewrites_bytes_it_cannot_read(
    make_vault: Callable[..., Path], tmp_path: Path
) -> None:
    from companion.errors import NotManaged, SkippedFile

    person = "---\ntype: concept\nversion: 1\n---\nRavi's own words.\n"
    vault = make_vault({"people/Ravi.md": person, "wiki/concepts/Real.md": "x\n"})
    os.symlink(vault / "people" / "Ravi.md", vault / "wiki" / "concepts" / "Ravi.md")
    settings = load_settings(vault, state_dir=tmp_path / "s")
    with pytest.raises(NotManaged, match=r"not bumping wiki/concepts/Ravi\.md"):
        bump_in_place(settings, "wiki/concepts/Ravi.md", content_hash(person.encode()))
    assert (vault / "people/Ravi.md").read_text() == person
    broken = b"---\ntype: concept\nversion: 2\n---\nCaf\xe9 au lait.\n"  # Latin-1, not UTF-8
    (vault / "wiki/concepts/Real.md").write_bytes(broken)
    with pytest.raises(SkippedFile, match="not valid UTF-8"):
        bump_in_place(settings, "wiki/concepts/Real.md", content_hash(broken))
    with pytest.raises(SkippedFile, match="not valid UTF-8"):
        apply_update(settings, "wiki/concepts/Real", 2, PageChange(properties={"status": "x"}))
    assert (vault / "wiki/concepts/Real.md").read_bytes() == broken
