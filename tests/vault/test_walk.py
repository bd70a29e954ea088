"""The vault on disk (obsidian-rules.md §6): finding it, ignore rules, walking, reading.

Everything runs against real temporary folders; no mocks.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from companion.errors import (
    SkippedFile,
    UnreadableFile,
    VaultNotFound,
)
from companion.vault.locate import enclosing_vault, find_vault
from companion.vault.obsidian import IgnoreRules
from companion.vault.walk import VaultFile, WalkResult, content_hash, read_note_bytes, walk
from tests.helpers import write

IS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0


def app_json(root: Path, settings: object) -> None:
    write(root, ".obsidian/app.json", json.dumps(settings))


def walked(root: Path, rules: IgnoreRules | None = None, skip: Path | None = None) -> WalkResult:
    return walk(root, rules if rules is not None else IgnoreRules.load(root), skip=skip)


def paths(result: WalkResult) -> list[str]:
    return [f.path for f in result.files]


def reasons(result: WalkResult) -> dict[str, str]:
    return {p.path: p.reason for p in result.problems}


# -- find_vault ------------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def _no_vault_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("COMPANION_VAULT", raising=False)


def test_explicit_vault_wins_over_env_and_markers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Each a vault of its own (SYSTEM.md) inside another: a plain folder inside a vault is
    # refused (tests/vault/test_locate.py).
    write(tmp_path, "explicit/SYSTEM.md", "# schema")
    write(tmp_path, "env/SYSTEM.md", "# schema")
    (tmp_path / ".obsidian").mkdir()
    monkeypatch.setenv("COMPANION_VAULT", str(tmp_path / "env"))
    assert find_vault("explicit", tmp_path) == (tmp_path / "explicit").resolve()


def test_env_vault_wins_over_enclosing_markers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(tmp_path, "env/SYSTEM.md", "# schema")
    (tmp_path / ".obsidian").mkdir()
    monkeypatch.setenv("COMPANION_VAULT", str(tmp_path / "env"))
    assert find_vault(None, tmp_path) == (tmp_path / "env").resolve()


def test_nearest_enclosing_folder_with_obsidian_or_system_md(tmp_path: Path) -> None:
    (tmp_path / ".obsidian").mkdir()
    write(tmp_path, "inner/SYSTEM.md", "# schema")
    (tmp_path / "inner/deep/er").mkdir(parents=True)
    assert find_vault(None, tmp_path / "inner/deep/er") == (tmp_path / "inner").resolve()
    (tmp_path / "other/deep").mkdir(parents=True)
    assert find_vault(None, tmp_path / "other/deep") == tmp_path.resolve()


def test_falls_back_to_dot_vault(tmp_path: Path) -> None:
    (tmp_path / "vault").mkdir()
    assert find_vault(None, tmp_path) == (tmp_path / "vault").resolve()


def test_no_vault_anywhere_says_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(VaultNotFound, match="--vault PATH"):
        find_vault(None, tmp_path)


def test_missing_explicit_vault_names_the_path(tmp_path: Path) -> None:
    with pytest.raises(VaultNotFound, match=r"nope.*does not exist"):
        find_vault(str(tmp_path / "nope"), tmp_path)


def test_explicit_vault_that_is_a_file_is_refused(tmp_path: Path) -> None:
    write(tmp_path, "file.md")
    with pytest.raises(VaultNotFound, match="is not a folder"):
        find_vault("file.md", tmp_path)


# -- ignore rules ----------------------------------------------------------------------------------


def test_dot_folders_and_dot_files_are_skipped(tmp_path: Path) -> None:
    write(tmp_path, "Note.md")
    write(tmp_path, ".obsidian/workspace.json", "{}")
    write(tmp_path, ".trash/Old.md")
    write(tmp_path, ".git/HEAD")
    write(tmp_path, "a/.hidden.md")
    write(tmp_path, "a/.companion/state.md")
    assert paths(walked(tmp_path)) == ["Note.md"]


def test_user_ignore_prefix_marks_files_excluded_but_lists_them(tmp_path: Path) -> None:
    app_json(tmp_path, {"userIgnoreFilters": ["Archive/"]})
    write(tmp_path, "Archive/Old.md")
    write(tmp_path, "Archived.md")
    write(tmp_path, "Notes/Archive/Kept.md")
    files = {f.path: f.excluded for f in walked(tmp_path).files}
    assert files == {"Archive/Old.md": True, "Archived.md": False, "Notes/Archive/Kept.md": False}


def test_user_ignore_plain_filter_is_a_raw_prefix(tmp_path: Path) -> None:
    # Obsidian tests `path.startsWith(filter)`: without a trailing slash it also covers `Archived.md`.
    rules = IgnoreRules(prefixes=("Archive",))
    assert rules.is_excluded("Archive/x.md")
    assert rules.is_excluded("Archived.md")
    assert not rules.is_excluded("x/Archive.md")


def test_user_ignore_regex_filter_is_searched_in_the_path(tmp_path: Path) -> None:
    app_json(tmp_path, {"userIgnoreFilters": ["/\\.excalidraw\\.md$/", "/^Templates/"]})
    write(tmp_path, "drawings/Sketch.excalidraw.md")
    write(tmp_path, "Templates/Daily.md")
    write(tmp_path, "My Templates/Keep.md")
    files = {f.path: f.excluded for f in walked(tmp_path).files}
    assert files == {
        "My Templates/Keep.md": False,
        "Templates/Daily.md": True,
        "drawings/Sketch.excalidraw.md": True,
    }


def test_malformed_app_json_gives_no_filters_and_a_problem(tmp_path: Path) -> None:
    write(tmp_path, ".obsidian/app.json", '{"userIgnoreFilters": ["Archive/"')
    write(tmp_path, "Archive/Old.md")
    rules = IgnoreRules.load(tmp_path)
    assert rules.prefixes == () and rules.patterns == ()
    result = walk(tmp_path, rules)
    assert [f.excluded for f in result.files] == [False]
    assert "malformed JSON" in reasons(result)[".obsidian/app.json"]


def test_app_json_with_wrong_types_keeps_defaults_and_reports(tmp_path: Path) -> None:
    app_json(
        tmp_path,
        {
            "userIgnoreFilters": "Archive/",
            "useMarkdownLinks": "yes",
            "newLinkFormat": "weird",
            "attachmentFolderPath": 3,
        },
    )
    rules = IgnoreRules.load(tmp_path)
    assert (rules.prefixes, rules.use_markdown_links, rules.new_link_format) == (
        (),
        False,
        "shortest",
    )
    assert rules.attachment_folder == "/"
    assert len(rules.problems) == 4


def test_app_json_not_an_object_or_bad_entries(tmp_path: Path) -> None:
    write(tmp_path, ".obsidian/app.json", "[1, 2]")
    assert "not a JSON object" in IgnoreRules.load(tmp_path).problems[0].reason
    app_json(tmp_path, {"userIgnoreFilters": [3, "", "/(unclosed/", "ok/"]})
    rules = IgnoreRules.load(tmp_path)
    assert rules.prefixes == ("ok/",) and rules.patterns == ()
    assert len(rules.problems) == 3


def test_link_settings_are_read_from_app_json(tmp_path: Path) -> None:
    app_json(
        tmp_path,
        {"attachmentFolderPath": "./assets", "newLinkFormat": "relative", "useMarkdownLinks": True},
    )
    rules = IgnoreRules.load(tmp_path)
    assert rules.attachment_folder == "./assets"
    assert rules.new_link_format == "relative"
    assert rules.use_markdown_links is True
    assert rules.problems == ()


def test_missing_app_json_gives_obsidian_defaults(tmp_path: Path) -> None:
    assert IgnoreRules.load(tmp_path) == IgnoreRules()
    assert IgnoreRules().new_link_format == "shortest" and IgnoreRules().attachment_folder == "/"


# -- walk ------------------------------------------------------------------------------------------


def test_walk_lists_notes_canvases_and_attachments_with_size_and_mtime(tmp_path: Path) -> None:
    write(tmp_path, "Note.md", "hello")
    write(tmp_path, "boards/board.canvas", "{}")
    write(tmp_path, "img/diagram.png", b"\x89PNG\0\0")
    write(tmp_path, "Upper.MD")
    result = walked(tmp_path)
    assert result.problems == []
    by_path = {f.path: f for f in result.files}
    assert list(by_path) == ["Note.md", "Upper.MD", "boards/board.canvas", "img/diagram.png"]
    note = by_path["Note.md"]
    assert note.size == 5
    assert note.mtime_ns == (tmp_path / "Note.md").stat().st_mtime_ns
    kinds = [f.kind for f in result.files]
    assert kinds == ["note", "note", "canvas", "attachment"]


def test_walk_keeps_the_on_disk_spelling(tmp_path: Path) -> None:
    import unicodedata

    nfd = unicodedata.normalize("NFD", "Café.md")
    write(tmp_path, nfd)
    assert paths(walked(tmp_path)) == [nfd]


@pytest.mark.skipif(IS_ROOT, reason="root reads folders regardless of chmod 000")
def test_unreadable_folder_is_reported_and_the_rest_walked(tmp_path: Path) -> None:
    write(tmp_path, "ok.md")
    write(tmp_path, "locked/secret.md")
    (tmp_path / "locked").chmod(0)
    try:
        result = walked(tmp_path)
    finally:
        (tmp_path / "locked").chmod(0o755)
    assert paths(result) == ["ok.md"]
    assert reasons(result) == {"locked": "cannot read folder: permission denied"}


def test_symlink_loop_is_reported_not_followed(tmp_path: Path) -> None:
    write(tmp_path, "Note.md")
    os.symlink("loop_b", tmp_path / "loop_a")
    os.symlink("loop_a", tmp_path / "loop_b")
    result = walked(tmp_path)
    assert paths(result) == ["Note.md"]
    assert "symlink loop" in reasons(result)["loop_a"]


def test_symlink_to_ancestor_is_not_followed(tmp_path: Path) -> None:
    vault = tmp_path / "vault"
    write(vault, "Note.md")
    os.symlink(vault, vault / "self")
    os.symlink(tmp_path, vault / "up")
    result = walked(vault)
    assert paths(result) == ["Note.md"]
    assert "containing the vault" in reasons(result)["self"]
    assert "containing the vault" in reasons(result)["up"]


def test_symlink_to_folder_inside_vault_is_not_followed(tmp_path: Path) -> None:
    write(tmp_path, "real/Note.md")
    os.symlink(tmp_path / "real", tmp_path / "alias")
    result = walked(tmp_path)
    assert paths(result) == ["real/Note.md"]
    assert "inside the vault" in reasons(result)["alias"]


def test_symlink_to_outside_folder_is_followed_once(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    write(outside, "Ext.md")
    os.symlink(outside, outside / "again")  # a loop outside the vault
    vault = tmp_path / "vault"
    write(vault, "Note.md")
    os.symlink(outside, vault / "ext")
    result = walked(vault)
    assert paths(result) == ["Note.md", "ext/Ext.md"]
    assert "loop" in reasons(result)["ext/again"]


def test_symlinked_file_is_listed_and_broken_symlink_reported(tmp_path: Path) -> None:
    write(tmp_path, "Note.md", "abc")
    os.symlink("Note.md", tmp_path / "Link.md")
    os.symlink("missing.md", tmp_path / "Broken.md")
    result = walked(tmp_path)
    assert [(f.path, f.size) for f in result.files] == [("Link.md", 3), ("Note.md", 3)]
    assert "broken symlink" in reasons(result)["Broken.md"]


def test_names_with_refused_characters_are_reported_but_listed(tmp_path: Path) -> None:
    write(tmp_path, "What #1 [draft].md")
    write(tmp_path, "a|b.md")
    write(tmp_path, "fine.md")
    result = walked(tmp_path)
    assert paths(result) == ["What #1 [draft].md", "a|b.md", "fine.md"]
    found = reasons(result)
    assert (
        found["What #1 [draft].md"] == "name contains characters Obsidian refuses in links: # [ ]"
    )
    assert found["a|b.md"].endswith(": |")
    assert "fine.md" not in found


def test_fifo_is_reported_not_listed(tmp_path: Path) -> None:
    if not hasattr(os, "mkfifo"):
        pytest.skip("no FIFOs on this platform")
    os.mkfifo(tmp_path / "pipe.md")
    result = walked(tmp_path)
    assert paths(result) == []
    assert "not a regular file" in reasons(result)["pipe.md"]


def test_skip_prunes_the_state_folder(tmp_path: Path) -> None:
    write(tmp_path, "Note.md")
    write(tmp_path, "state/index.md")
    assert paths(walked(tmp_path, skip=tmp_path / "state")) == ["Note.md"]


def test_walk_finds_every_one_of_ten_thousand_files(tmp_path: Path) -> None:
    for d in range(100):
        folder = tmp_path / f"d{d}"
        folder.mkdir()
        for i in range(100):
            (folder / f"n{i}.md").write_bytes(b"x")
    result = walked(tmp_path)
    assert len(result.files) == 10_000  # its speed is in the benchmarks (bench/run.py), not here


# -- read_note_bytes -------------------------------------------------------------------------------


def test_read_returns_bytes_unchanged(tmp_path: Path) -> None:
    path = write(tmp_path, "Note.md", b"\xef\xbb\xbf---\r\na: 1\r\n---\r\n")
    before = path.stat()
    assert read_note_bytes(path, 1000) == path.read_bytes()
    assert path.stat().st_mtime_ns == before.st_mtime_ns


def test_read_refuses_files_over_the_limit_with_sizes(tmp_path: Path) -> None:
    path = write(tmp_path, "Huge.md", b"a" * (52_400 * 1024 + 100))
    with pytest.raises(
        SkippedFile, match=r"file is 51\.2 MB, over the 10 MB limit for notes; raise"
    ):
        read_note_bytes(path, 10 * 1024 * 1024)


def test_read_refuses_binary_content(tmp_path: Path) -> None:
    path = write(tmp_path, "Bin.md", b"text\0more")
    with pytest.raises(SkippedFile, match=r"binary content in a \.md file"):
        read_note_bytes(path, 1000)


def test_nul_after_the_first_8_kb_is_not_sniffed(tmp_path: Path) -> None:
    data = b"a" * 9000 + b"\0"
    assert read_note_bytes(write(tmp_path, "Late.md", data), 10_000) == data


def test_read_of_vanished_file_or_folder_is_unreadable(tmp_path: Path) -> None:
    with pytest.raises(UnreadableFile, match="vanished"):
        read_note_bytes(tmp_path / "gone.md", 1000)
    (tmp_path / "dir.md").mkdir()
    with pytest.raises(UnreadableFile, match="folder"):
        read_note_bytes(tmp_path / "dir.md", 1000)


@pytest.mark.skipif(IS_ROOT, reason="root reads files regardless of chmod 000")
def test_read_without_permission_is_unreadable(tmp_path: Path) -> None:
    path = write(tmp_path, "Locked.md")
    path.chmod(0)
    try:
        with pytest.raises(UnreadableFile, match="permission denied"):
            read_note_bytes(path, 1000)
    finally:
        path.chmod(0o644)


def test_walk_ignores_atomic_write_temp_names(tmp_path: Path) -> None:
    write(tmp_path, ".Page.md.abc123.companion-tmp")
    assert paths(walked(tmp_path)) == []


def test_content_hash_is_sha256_hex() -> None:
    assert content_hash(b"") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"


def test_vault_file_is_plain_data() -> None:
    f = VaultFile("a.md", 1, 2, False)
    assert (f.path, f.size, f.mtime_ns, f.excluded, f.kind) == ("a.md", 1, 2, False, "note")


# -- enclosing_vault (what `init` asks) ------------------------------------------------------------


def test_enclosing_vault_is_the_nearest_folder_holding_dot_obsidian(tmp_path: Path) -> None:
    (tmp_path / "outer" / ".obsidian").mkdir(parents=True)
    (tmp_path / "outer" / "inner" / ".obsidian").mkdir(parents=True)
    (tmp_path / "outer" / "notes").mkdir()
    (tmp_path / "plain" / "SYSTEM.md").parent.mkdir()
    (tmp_path / "plain" / "SYSTEM.md").write_text("x")
    assert enclosing_vault(tmp_path / "outer" / "notes" / "not yet") == (tmp_path / "outer")
    assert enclosing_vault(tmp_path / "outer" / "inner") == (tmp_path / "outer" / "inner")
    # SYSTEM.md alone does not make an Obsidian vault.
    assert enclosing_vault(tmp_path / "plain") is None
