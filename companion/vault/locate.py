"""Where the vault is: an explicit path, `COMPANION_VAULT`, the nearest enclosing vault, `./vault`.

`enclosing_vault` is the stricter question `init` asks: which folder holding `.obsidian/` (what
makes a folder an Obsidian vault) a path is in, if any.

Standard library only: the CLI's fast path finds the daemon's socket through this module without
loading anything else.
"""

from __future__ import annotations

import os
from pathlib import Path

from companion.errors import VaultNotFound


def find_vault(explicit: str | None, cwd: Path) -> Path:
    """The vault folder (absolute, symlinks resolved) or `VaultNotFound` saying what to do."""
    if explicit:
        return _existing_folder(
            cwd / Path(explicit).expanduser(), "the vault given on the command line"
        )
    env = os.environ.get("COMPANION_VAULT")
    if env:
        return _existing_folder(cwd / Path(env).expanduser(), "COMPANION_VAULT")
    start = cwd.resolve()
    fallback = start / "vault"
    for folder in (start, *start.parents):
        if (folder / ".obsidian").is_dir():
            return folder
        if (folder / "SYSTEM.md").is_file():
            # A SYSTEM.md with no .obsidian/ beside it, over a ./vault that is a vault: this is a
            # project folder holding a vault (companion's own checkout is one), not the vault.
            if folder == start and (fallback / ".obsidian").is_dir():
                return fallback
            return folder
    if fallback.is_dir():
        return fallback
    raise VaultNotFound(
        f"no vault found: neither {start} nor any folder above it holds .obsidian/ or SYSTEM.md, "
        f"and {fallback} does not exist. Pass --vault PATH, set COMPANION_VAULT, or run the "
        "command inside the vault."
    )


def enclosing_vault(path: Path) -> Path | None:
    """The nearest folder at or above `path` (made absolute, symlinks resolved; it need not exist
    yet) that holds `.obsidian/`, or None: the Obsidian vault `path` is in."""
    start = path.resolve()
    for folder in (start, *start.parents):
        if (folder / ".obsidian").is_dir():
            return folder
    return None


def _existing_folder(path: Path, origin: str) -> Path:
    if not path.exists():
        raise VaultNotFound(
            f"vault {path} (from {origin}) does not exist. Check the path, or create the folder "
            "first."
        )
    if not path.is_dir():
        raise VaultNotFound(
            f"vault {path} (from {origin}) is not a folder. Point it at the folder that holds "
            "your notes (the one containing .obsidian/)."
        )
    resolved = path.resolve()
    if not (resolved / ".obsidian").is_dir() and not (resolved / "SYSTEM.md").is_file():
        outer = enclosing_vault(resolved.parent)
        if outer is not None:
            # A folder inside a vault (its sources/, say) taken for a vault would get a catalog,
            # a log and a lease of its own, written among the notes of the real one.
            raise VaultNotFound(
                f"{resolved} (from {origin}) is a folder inside the Obsidian vault {outer}; "
                f"pass the vault itself: --vault {outer}"
            )
    return resolved
