"""`init`'s scaffold: what it plans, what it writes, and what it never touches.

Real folders in tmp_path; "nothing written" is checked by comparing the whole tree (paths and
bytes) before and after.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from companion.errors import ConfigError, VaultExists
from companion.write.scaffold import apply_init, init_target, init_vault, plan_init
from tests.helpers import write

SHIPPED = ["answer.md", "concept.md", "entity.md", "source.md"]


def tree(root: Path) -> dict[str, bytes | None]:
    """Every path under `root` with its bytes (None for folders)."""
    return {
        p.relative_to(root).as_posix(): None if p.is_dir() else p.read_bytes()
        for p in sorted(root.rglob("*"))
    }


def existing_vault(root: Path, templates: str | None = "Templates") -> Path:
    (root / ".obsidian").mkdir(parents=True)
    if templates is not None:
        write(root, ".obsidian/templates.json", json.dumps({"folder": templates}))
    write(root, "notes/Lighthouse.md", "A note about lighthouses.\n")
    return root


# -- a new vault -----------------------------------------------------------------------------------


def test_a_new_vault_gets_every_folder_and_file_as_before(tmp_path: Path) -> None:
    created = init_vault(tmp_path / "new")
    assert created == [
        "sources/",
        "wiki/sources/",
        "wiki/entities/",
        "wiki/concepts/",
        "wiki/answers/",
        "templates/",
        ".obsidian/",
        "SYSTEM.md",
        *(f"templates/{name}" for name in SHIPPED),
        ".obsidian/templates.json",
    ]
    config = json.loads((tmp_path / "new/.obsidian/templates.json").read_text())
    assert config == {"folder": "templates"}
    assert init_vault(tmp_path / "new") == []  # the second time: everything is there


# -- an existing vault -----------------------------------------------------------------------------


def test_an_existing_vault_gets_only_what_is_missing_in_its_own_templates_folder(
    tmp_path: Path,
) -> None:
    vault = existing_vault(tmp_path / "v")
    write(vault, "Templates/entity.md", "my own entity template\n")
    write(vault, "SYSTEM.md", "---\nschema_version: 1\n---\nmine\n")
    before = tree(vault)
    plan = plan_init(vault)
    assert plan.existing and plan.templates == "Templates"
    assert plan.templates_from == ".obsidian/templates.json"
    created = [s.rel for s in apply_init(plan) if s.action == "create"]
    assert "templates/" not in created and not (vault / "templates").exists()
    assert [c for c in created if c.startswith("Templates/")] == [
        "Templates/answer.md",
        "Templates/concept.md",
        "Templates/source.md",
    ]
    after = tree(vault)
    # Nothing that was there changed, templates.json included.
    assert {k: after[k] for k in before} == before


def test_the_templater_plugins_folder_is_used_when_the_core_plugin_names_none(
    tmp_path: Path,
) -> None:
    vault = existing_vault(tmp_path / "v", templates=None)
    write(
        vault,
        ".obsidian/plugins/templater-obsidian/data.json",
        json.dumps({"templates_folder": "Meta/Templater"}),
    )
    created = init_vault(vault)
    assert {f"Meta/Templater/{name}" for name in SHIPPED} <= set(created)
    assert not (vault / "templates").exists()
    # The core plugin had no settings file: it now names the same folder.
    assert json.loads((vault / ".obsidian/templates.json").read_text()) == {
        "folder": "Meta/Templater"
    }


def test_a_templates_json_naming_no_folder_means_no_templates_are_added(tmp_path: Path) -> None:
    vault = existing_vault(tmp_path / "v", templates=None)
    write(vault, ".obsidian/templates.json", "{}")
    plan = plan_init(vault)
    assert plan.templates is None and "names no template folder" in plan.templates_from
    created = [s.rel for s in apply_init(plan) if s.action == "create"]
    assert not any("emplates" in rel for rel in created)
    assert (vault / ".obsidian/templates.json").read_text() == "{}"


@pytest.mark.parametrize("text", ['{"folder": ', '{"folder": "../elsewhere"}'])
def test_a_templates_json_that_cannot_be_used_is_refused_and_nothing_written(
    tmp_path: Path, text: str
) -> None:
    vault = existing_vault(tmp_path / "v", templates=None)
    write(vault, ".obsidian/templates.json", text)
    before = tree(vault)
    with pytest.raises(ConfigError, match=r"templates\.json: .*Nothing was written"):
        plan_init(vault)
    assert tree(vault) == before
    assert not (tmp_path / "elsewhere").exists()


def test_the_folders_come_from_the_vaults_own_system_md(tmp_path: Path) -> None:
    vault = existing_vault(tmp_path / "v")
    write(
        vault,
        "SYSTEM.md",
        "---\nschema_version: 1\nmanaged_folders: [kb]\nsources_folder: raw\n"
        "page_types:\n  person: {folder: kb/people, required: [type]}\n---\nours\n",
    )
    created = init_vault(vault)
    assert created[:2] == ["raw/", "kb/people/"]
    assert not (vault / "wiki").exists() and not (vault / "sources").exists()


def test_a_file_that_appears_between_plan_and_write_is_kept(tmp_path: Path) -> None:
    vault = existing_vault(tmp_path / "v")
    plan = plan_init(vault)
    write(vault, "SYSTEM.md", "a person's SYSTEM.md, written meanwhile\n")
    done = {s.rel: (s.action, s.why) for s in apply_init(plan)}
    assert done["SYSTEM.md"] == ("keep", "it appeared meanwhile")
    assert (vault / "SYSTEM.md").read_text() == "a person's SYSTEM.md, written meanwhile\n"


def test_a_templates_folder_that_links_out_of_the_vault_gets_nothing(tmp_path: Path) -> None:
    vault = existing_vault(tmp_path / "v")
    outside = tmp_path / "shared templates"
    outside.mkdir()
    (vault / "Templates").symlink_to(outside, target_is_directory=True)
    plan = plan_init(vault)
    skipped = {s.rel: s.why for s in plan.steps if s.action == "skip"}
    assert set(skipped) == {f"Templates/{name}" for name in SHIPPED}
    assert all("outside the vault" in why for why in skipped.values())
    list(apply_init(plan))
    assert list(outside.iterdir()) == []


def test_a_symlink_swapped_in_after_the_plan_cannot_lead_a_write_out(tmp_path: Path) -> None:
    vault = existing_vault(tmp_path / "v")
    (vault / "Templates").mkdir()
    plan = plan_init(vault)
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (vault / "Templates").rmdir()
    (vault / "Templates").symlink_to(outside, target_is_directory=True)
    done = {s.rel: s.action for s in apply_init(plan)}
    assert {done[f"Templates/{name}"] for name in SHIPPED} == {"skip"}
    assert list(outside.iterdir()) == []
    assert done["SYSTEM.md"] == "create" and (vault / "SYSTEM.md").is_file()


def test_a_file_where_a_folder_belongs_is_refused_and_nothing_written(tmp_path: Path) -> None:
    vault = existing_vault(tmp_path / "v")
    write(vault, "sources", "a file, not a folder\n")
    before = tree(vault)
    with pytest.raises(VaultExists, match=r"sources exists and is not a folder.*Nothing"):
        plan_init(vault)
    assert tree(vault) == before


# -- which folder init works on --------------------------------------------------------------------


def test_no_path_inside_a_vault_means_that_vault_and_elsewhere_dot_vault(tmp_path: Path) -> None:
    vault = existing_vault(tmp_path / "v")
    deep = vault / "notes" / "deeper"
    deep.mkdir()
    assert init_target(None, deep) == vault.resolve()
    assert init_target(None, vault) == vault.resolve()
    (tmp_path / "elsewhere").mkdir()
    assert init_target(None, tmp_path / "elsewhere") == tmp_path / "elsewhere" / "vault"


def test_a_path_inside_a_vault_is_refused_naming_the_vault(tmp_path: Path) -> None:
    vault = existing_vault(tmp_path / "v")
    for inside in (Path("v/notes"), Path("v/notes/new vault"), vault / "brand new"):
        with pytest.raises(VaultExists) as refused:
            init_target(inside, tmp_path)
        message = str(refused.value)
        assert f"is inside the vault {vault.resolve()}" in message
        assert f"companion init {vault.resolve()}" in message
    assert not (vault / "notes" / "new vault").exists() and not (vault / "brand new").exists()
    # Its root, and folders outside any vault, are fine.
    assert init_target(Path("v"), tmp_path) == vault
    assert init_target(Path("new"), tmp_path) == tmp_path / "new"
