"""`companion init`: scaffold a vault — folders, SYSTEM.md, templates — never overwriting a file.

Every file is created through `atomic.atomic_write` with "must not exist yet", so a file that
appears meanwhile (a person's, a sync tool's) is left alone rather than replaced.
"""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

from companion.config import default_system_md
from companion.errors import ChangedOnDisk, VaultExists
from companion.write.atomic import atomic_write

FOLDERS = (
    "sources",
    "wiki/sources",
    "wiki/entities",
    "wiki/concepts",
    "wiki/answers",
    "templates",
    ".obsidian",
)


def init_vault(path: Path) -> list[str]:
    """Scaffold a vault: folders, SYSTEM.md and templates. Never overwrites an existing file.
    Returns what was created (folders end with `/`)."""
    if path.exists() and not path.is_dir():
        raise VaultExists(f"{path} exists and is not a folder; pick another path for the vault")
    try:
        return _scaffold(path)
    except OSError as exc:
        raise VaultExists(f"cannot create the vault at {path}: {exc.strerror or exc}") from exc


def _files() -> dict[str, str]:
    """Vault path -> text of every file a new vault gets."""
    files = {"SYSTEM.md": default_system_md()}
    templates = resources.files("companion") / "defaults" / "templates"
    for item in sorted(templates.iterdir(), key=lambda t: t.name):
        if item.name.endswith(".md"):
            files[f"templates/{item.name}"] = item.read_text(encoding="utf-8")
    files[".obsidian/templates.json"] = json.dumps({"folder": "templates"}, indent=2) + "\n"
    return files


def _scaffold(path: Path) -> list[str]:
    created: list[str] = []
    for folder in FOLDERS:
        target = path / folder
        if not target.exists():
            target.mkdir(parents=True)
            created.append(folder + "/")
    for rel, text in _files().items():
        target = path / rel
        if target.exists():
            continue
        try:
            atomic_write(target, text.encode("utf-8"), "")
        except ChangedOnDisk:
            continue  # it appeared meanwhile: not ours to replace
        created.append(rel)
    return created
