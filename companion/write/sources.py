"""The file name a source gets when an agent hands one over (MCP `add_source`): made safe here,
where every byte written to a vault is decided.

A name is a file name, never a path: folders, `..`, separators and drive letters are dropped, so
a name can only land directly in the sources folder. The characters Obsidian refuses in file
names, control characters and leading dots go; spaces collapse; the stem is cut to 96 characters;
a device name (`CON`, `nul.tar.md`) gets a suffix; invisible direction marks are dropped; a name
never starts with `-`. A name without a suffix is a markdown source
(`.md`). The suffix must be one ingest reads (`check_suffix`). A taken name is never reused:
`name (2).md`, `name (3).md` … (sources are never overwritten).
"""

from __future__ import annotations

import re
from collections.abc import Callable

from companion.errors import SourceError

_REFUSED = re.compile(r'[*"<>|?#^\[\]:\\/\x00-\x1f\x7f]')
_SPACES = re.compile(r"\s+")
# Direction overrides and other invisible format characters: a name must read as it is.
_INVISIBLE = re.compile("[\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]")
_RESERVED = re.compile(r"(?i)(?:con|prn|aux|nul|com[0-9]|lpt[0-9])")
_MAX_STEM = 96


def safe_source_name(name: str) -> str:
    """`name` as a file name for the sources folder (see the module docstring)."""
    base = re.split(r"[\\/]", name.strip())[-1]  # a path's last part: never a folder
    base = _SPACES.sub(" ", _REFUSED.sub("", _INVISIBLE.sub("", base))).strip(" .-")
    stem, dot, suffix = base.rpartition(".")
    if not dot or not re.fullmatch(r"[A-Za-z0-9]{1,8}", suffix):
        stem, suffix = base, "md"
    stem = stem.strip(" .")[:_MAX_STEM].strip(" .")
    if not any(ch.isalnum() for ch in stem):
        raise SourceError(
            f"{name!r} leaves no usable file name (letters or digits are needed); nothing written"
        )
    if _RESERVED.fullmatch(stem.split(".")[0].strip()):
        stem = f"{stem} (source)"  # `CON`, `nul.tar`: Windows reserves the name before any dot
    return f"{stem}.{suffix.lower()}"


def free_name(name: str, taken: Callable[[str], bool], limit: int = 1000) -> str:
    """`name`, or `stem (2).suffix`, `stem (3).suffix` … : the first that `taken` says is free
    (`taken` compares case-insensitively: `Notes.md` and `notes.md` are one file on macOS and
    Windows, where the vault may be synced)."""
    if not taken(name):
        return name
    stem, _, suffix = name.rpartition(".")
    for n in range(2, limit + 2):
        candidate = f"{stem} ({n}).{suffix}"
        if not taken(candidate):
            return candidate
    raise SourceError(f"{limit} sources are already named like {name!r}; choose another name")
