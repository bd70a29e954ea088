"""`companion init`: scaffold a vault — folders, SYSTEM.md, templates — never overwriting a file.

Planned first, then done, so that `--dry-run` shows exactly what a real run does:

- `init_target` picks the folder. No PATH: the vault the current folder is in (the nearest folder
  above holding `.obsidian/`), else `./vault` as before. A PATH inside an existing vault is refused
  (naming that vault) unless it is the vault's root: companion never makes a vault inside a vault.
- `plan_init` reads the folder (nothing is written) and lists every step: each folder and file a
  vault gets, marked as there already (left alone), to create, or skipped with a reason. Folders
  come from the vault's own SYSTEM.md when it has one. Templates go to the folder the vault
  already uses for them — the core Templates plugin's `.obsidian/templates.json` (`folder`), else
  the Templater plugin's `templates_folder` — so Obsidian shows them and `index` treats them as
  templates; a new vault gets `templates/` and a templates.json naming it. A templates.json that
  cannot be read is refused (we cannot tell where templates belong); one that names no folder
  means no templates are added (a folder nobody configured would be indexed as notes).
- `apply_init` carries the plan out. Every file is created through `atomic.atomic_write` with
  "must not exist yet", so a file that appears meanwhile (a person's, a sync tool's) is left alone
  rather than replaced, and inside the vault only: the plan skips what a symlink leads out of it
  (`atomic.inside_vault`), and the write itself is placed inside it (`atomic_write(vault=...)`).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Literal

from companion.config import default_system_md, load_schema, parse_schema
from companion.errors import ChangedOnDisk, ConfigError, OutsideVault, VaultExists
from companion.vault.locate import enclosing_vault
from companion.vault.obsidian import CORE_TEMPLATES, templates_folder_settings
from companion.write.atomic import atomic_write, inside_vault

DEFAULT_TEMPLATES = "templates"
OBSIDIAN = ".obsidian"

Action = Literal["create", "keep", "skip"]


@dataclass(frozen=True, slots=True)
class Step:
    """One folder (`rel` ends with `/`) or file of the scaffold and what init does with it."""

    rel: str  # vault-relative
    action: Action
    text: str | None = None  # a file's text (None for folders)
    why: str = ""  # for "skip": the reason


@dataclass(frozen=True, slots=True)
class InitPlan:
    root: Path  # the vault folder, as given (or found)
    existing: bool  # it already is a vault (holds .obsidian/)
    templates: str | None  # the template folder filled, vault-relative; None: no templates added
    # Where that folder was read from (a settings file); "" for the default; when None, why none.
    templates_from: str
    steps: list[Step] = field(default_factory=list)


def init_target(path: Path | None, cwd: Path) -> Path:
    """The folder `init` works on: PATH (not inside another vault), or the vault `cwd` is in, or
    `cwd/vault`. `VaultExists` when PATH lies inside a vault without being its root."""
    if path is None:
        return enclosing_vault(cwd) or cwd / "vault"
    given = cwd / path.expanduser()
    vault = enclosing_vault(given)
    if vault is not None and vault != given.resolve():
        raise VaultExists(
            f"{path} is inside the vault {vault}; companion does not create a vault inside a "
            f"vault. To add what that vault is missing, run `companion init {vault}`; for a new "
            "vault, pick a folder outside it. Nothing was written"
        )
    return given


def plan_init(root: Path) -> InitPlan:
    """What `init` would do at `root`; reads only. `VaultExists`/`ConfigError` (nothing written)
    when `root` cannot become a vault or its settings cannot be read."""
    if root.exists() and not root.is_dir():
        raise VaultExists(f"{root} exists and is not a folder; pick another path for the vault")
    existing = (root / OBSIDIAN).is_dir()
    templates, templates_from, write_config = _templates_folder(root)
    system_md = default_system_md()
    try:
        # The vault's own SYSTEM.md says where its page types live; a new one gets the default.
        own = (root / "SYSTEM.md").is_file()
        schema = load_schema(root) if own else parse_schema(system_md, "default SYSTEM.md")
    except ConfigError as exc:
        raise ConfigError(f"{exc}. Nothing was written") from exc
    folders = [schema.sources_folder, *(t.folder for t in schema.page_types)]
    if templates is not None:
        folders.append(templates)
    folders.append(OBSIDIAN)
    files: list[tuple[str, str]] = [("SYSTEM.md", system_md)]
    if templates is not None:
        files += [(f"{templates}/{name}", text) for name, text in _shipped_templates()]
    if write_config:
        files.append((CORE_TEMPLATES, json.dumps({"folder": templates}, indent=2) + "\n"))
    steps = [_folder_step(root, rel) for rel in dict.fromkeys(f for f in folders if f)]
    steps += [_file_step(root, rel, text) for rel, text in files]
    return InitPlan(root, existing, templates, templates_from, steps)


def apply_init(plan: InitPlan) -> Iterator[Step]:
    """Carry the plan out, yielding each step as it turned out (a file that appeared meanwhile is
    "keep"), so the caller can say what was done even if a later step fails. `VaultExists` when
    the OS refuses (an unwritable place), naming the path."""
    for step in plan.steps:
        target = plan.root / step.rel
        if step.action != "create":
            yield step
            continue
        if plan.root.exists() and not inside_vault(plan.root, target):
            # A symlink swapped in since the plan: mkdir would follow it out of the vault.
            yield Step(step.rel, "skip", why="a symlink on the way leads outside the vault")
            continue
        try:
            if step.text is None:
                target.mkdir(parents=True, exist_ok=True)
            else:
                # Placed component by component inside the vault: a symlink swapped in since the
                # plan cannot lead the write out of it.
                atomic_write(target, step.text.encode("utf-8"), "", vault=plan.root)
        except ChangedOnDisk:
            yield Step(step.rel, "keep", why="it appeared meanwhile")  # not ours to replace
            continue
        except OutsideVault:
            yield Step(step.rel, "skip", why="a symlink on the way leads outside the vault")
            continue
        except OSError as exc:
            raise VaultExists(
                f"cannot create {target}: {exc.strerror or exc}; only what is listed as created "
                "was written"
            ) from exc
        yield step


def init_vault(path: Path) -> list[str]:
    """Scaffold a vault at `path` (never overwriting a file); returns what was created (folders
    end with `/`). The one-call form of `plan_init` + `apply_init`."""
    return [s.rel for s in apply_init(plan_init(path)) if s.action == "create"]


def _templates_folder(root: Path) -> tuple[str | None, str, bool]:
    """(template folder to fill or None, where it comes from, whether to create templates.json)."""
    core, templater = templates_folder_settings(root)
    if core.problem is not None:
        raise ConfigError(_unreadable(root, core.where, core.problem))
    if core.folder is not None:
        return core.folder, core.where, False
    if templater.folder is not None:
        return templater.folder, templater.where, not core.exists
    if templater.problem is not None:
        raise ConfigError(_unreadable(root, templater.where, templater.problem))
    if core.exists:
        return (
            None,
            f"{core.where} names no template folder: no templates added. Choose one in Obsidian "
            "(Settings → Templates → Template folder location), then run init again",
            False,
        )
    return DEFAULT_TEMPLATES, "", True


def _unreadable(root: Path, where: str, problem: str) -> str:
    return (
        f"{root / where}: {problem}. init cannot tell which folder the vault keeps its templates "
        "in; fix the file (or set the folder again in Obsidian), then run init again. Nothing "
        "was written"
    )


def _folder_step(root: Path, rel: str) -> Step:
    target = root / rel
    if target.is_dir():
        return Step(rel + "/", "keep")
    if target.exists() or target.is_symlink():
        raise VaultExists(
            f"{target} exists and is not a folder, but the vault needs a folder there; rename it, "
            "then run init again. Nothing was written"
        )
    if root.exists() and not inside_vault(root, target):
        return Step(rel + "/", "skip", why="a symlink on the way leads outside the vault")
    return Step(rel + "/", "create")


def _file_step(root: Path, rel: str, text: str) -> Step:
    target = root / rel
    if target.exists() or target.is_symlink():
        return Step(rel, "keep", text)
    if root.exists() and not inside_vault(root, target):
        return Step(rel, "skip", text, "a symlink on the way leads outside the vault")
    return Step(rel, "create", text)


def _shipped_templates() -> list[tuple[str, str]]:
    """(file name, text) of the page templates companion ships."""
    folder = resources.files("companion") / "defaults" / "templates"
    return [
        (item.name, item.read_text(encoding="utf-8"))
        for item in sorted(folder.iterdir(), key=lambda t: t.name)
        if item.name.endswith(".md")
    ]
