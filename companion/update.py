"""Compare-and-swap writes to managed pages: `companion update PAGE --expect-version N`.

The page's frontmatter `version` is the concurrency token. An update names the version it was
based on; if the page has moved on (a person edited it, another agent wrote it), the update is
refused with both versions named and nothing is written. Otherwise the new body and property
values are applied as surgical edits (the frontmatter block keeps every byte it had except the
values set), `version` goes up by one, `updated` is stamped, and the file is replaced atomically
after re-checking that its bytes are still the ones that were compared.

Only managed pages (under SYSTEM.md's managed folders) can be updated; a path that leaves the
vault is refused before anything is read.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from companion.config import Settings
from companion.errors import ChangedOnDisk, CompanionError, NoteNotFound, VersionConflict
from companion.fmedit import FrontmatterEditError, set_value
from companion.parse import parse_note
from companion.vault import atomic_write, content_hash


class NotManaged(CompanionError):
    pass


class OutsideVault(CompanionError):
    pass


@dataclass(frozen=True, slots=True)
class UpdateResult:
    path: str
    old_version: int | None
    new_version: int
    hash: str  # of the bytes written


def vault_path(settings: Settings, page: str) -> str:
    """A vault-relative POSIX path for PAGE (`wiki/x.md`, `wiki/x`, or an absolute path inside)."""
    raw = page.strip()
    if not raw:
        raise NoteNotFound("no page given")
    candidate = Path(raw)
    if candidate.is_absolute():
        try:
            raw = candidate.resolve().relative_to(settings.vault).as_posix()
        except ValueError:
            raise OutsideVault(
                f"{page} is outside the vault {settings.vault}; nothing written"
            ) from None
    norm = posixpath.normpath(raw.replace("\\", "/"))
    if norm.startswith("../") or norm == ".." or norm.startswith("/"):
        raise OutsideVault(f"{page} leads outside the vault {settings.vault}; nothing written")
    if not norm.lower().endswith(".md"):
        norm += ".md"
    return norm


def _version_of(properties: dict[str, Any]) -> int | None:
    value = properties.get("version")
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def apply_update(
    settings: Settings,
    page: str,
    expect_version: int,
    body: str | None = None,
    properties: dict[str, Any] | None = None,
    now: datetime | None = None,
) -> UpdateResult:
    """Write a new body and/or property values to a managed page if its version is still
    `expect_version`; raise VersionConflict (nothing written) otherwise."""
    rel = vault_path(settings, page)
    if not settings.schema.is_managed(rel):
        folders = ", ".join(f"{f}/" for f in settings.schema.managed_folders)
        raise NotManaged(
            f"{rel} is not a managed page (managed folders: {folders}); companion never writes "
            "other notes"
        )
    target = settings.vault / rel
    try:
        data = target.read_bytes()
    except FileNotFoundError:
        raise NoteNotFound(f"{rel} does not exist in {settings.vault}") from None
    except OSError as exc:
        raise CompanionError(f"cannot read {rel}: {exc.strerror or exc}; nothing written") from exc
    note = parse_note(data, rel)
    if any(p.code == "yaml" for p in note.problems):
        raise CompanionError(
            f"{rel} has malformed frontmatter; fix it before updating. Nothing written"
        )
    current = _version_of(note.properties)
    if current != expect_version:
        raise VersionConflict(
            f"{rel} is at version {current}, not {expect_version} as expected: it changed since you "
            "read it. Nothing was written; read it again and retry."
        )
    text = note.text
    if body is not None:
        head = text[: note.body_start]
        text = head + (body if body.endswith("\n") or not body else body + "\n")
    new_version = (current or 0) + 1
    stamp = (now or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%SZ")
    try:
        for key, value in (properties or {}).items():
            if key in ("version",):
                continue
            text = set_value(text, key, value)
        text = set_value(text, "version", new_version)
        text = set_value(text, "updated", stamp)
    except FrontmatterEditError as exc:
        raise CompanionError(f"{rel}: {exc}; nothing written") from exc
    bom = b"\xef\xbb\xbf" if data.startswith(b"\xef\xbb\xbf") else b""
    new_bytes = bom + text.encode("utf-8")
    try:
        written = atomic_write(target, new_bytes, content_hash(data))
    except ChangedOnDisk as exc:
        raise VersionConflict(
            f"{rel} changed while being updated; nothing written ({exc})"
        ) from exc
    return UpdateResult(rel, current, new_version, written)
