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
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from companion.config import Settings
from companion.errors import ChangedOnDisk, CompanionError, NoteNotFound, VersionConflict
from companion.fmedit import FrontmatterEditError, set_value
from companion.parse import parse_note
from companion.vault import atomic_write, content_hash, inside_vault


class NotManaged(CompanionError):
    pass


class OutsideVault(CompanionError):
    pass


@dataclass(frozen=True, slots=True)
class UpdateResult:
    path: str
    old_version: int
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


_KEY = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_ .-]*")


def apply_update(
    settings: Settings,
    page: str,
    expect_version: int,
    body: str | None = None,
    properties: dict[str, Any] | None = None,
    now: datetime | None = None,
    indexed_hash: str | None = None,
) -> UpdateResult:
    """Write a new body and/or property values to a managed page if its version is still
    `expect_version`; raise VersionConflict (nothing written) otherwise. A page without a
    `version` is at version 0. With `indexed_hash` (what the index last saw), a page edited since
    — a person's edit still waiting for its version bump — is a conflict too."""
    for key in properties or {}:
        if not _KEY.fullmatch(key) or key == "version":
            raise CompanionError(
                f"cannot set property {key!r}: names are letters, digits, spaces, `_`, `-`, `.`; "
                "`version` is set by companion. Nothing written"
            )
    rel = vault_path(settings, page)
    if not settings.schema.is_managed(rel):
        folders = ", ".join(f"{f}/" for f in settings.schema.managed_folders)
        raise NotManaged(
            f"{rel} is not a managed page (managed folders: {folders}); companion never writes "
            "other notes"
        )
    target = settings.vault / rel
    if not inside_vault(settings.vault, target):
        raise OutsideVault(f"{rel} is a link to a file outside the vault; nothing written")
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
    current = note.version or 0
    if current != expect_version:
        raise VersionConflict(
            f"{rel} is at version {current}, not {expect_version} as expected"
            + (": it changed since you read it" if current > expect_version else "")
            + ". Nothing was written; read it again and retry."
        )
    if indexed_hash is not None and content_hash(data) != indexed_hash:
        raise VersionConflict(
            f"{rel} was edited and its version ({current}) will be bumped once the edit settles "
            "(a few seconds). Nothing was written; read it again then and retry."
        )
    text = note.text
    if body is not None:
        head = text[: note.body_start]
        text = head + (body if body.endswith("\n") or not body else body + "\n")
    new_version = current + 1
    stamp = (now or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%SZ")
    try:
        for key, value in (properties or {}).items():
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


class BumpDeferred(CompanionError):
    """The page changed again since it was indexed: bump it after the next sync."""


def bump_in_place(settings: Settings, rel: str, indexed_hash: str) -> tuple[int, int, str]:
    """Bump `version` of a managed page a person edited without bumping it: a one-value edit,
    every other byte kept. Returns (old version, new version, hash written).

    Raises BumpDeferred when the file no longer holds the bytes the index saw (it is being
    edited: wait for the next sync) and CompanionError when it cannot be bumped at all."""
    target = settings.vault / rel
    if not inside_vault(settings.vault, target):
        raise OutsideVault(f"not bumping {rel}: it links to a file outside the vault")
    try:
        data = target.read_bytes()
    except OSError as exc:
        raise BumpDeferred(f"{rel}: {exc.strerror or exc}") from exc
    if content_hash(data) != indexed_hash:
        raise BumpDeferred(f"{rel} changed again since it was indexed")
    note = parse_note(data, rel)
    if any(p.code == "yaml" for p in note.problems):
        raise CompanionError(f"not bumping {rel}: its frontmatter is malformed")
    current = note.version or 0
    try:
        text = set_value(note.text, "version", current + 1)
    except FrontmatterEditError as exc:
        raise CompanionError(f"not bumping {rel}: {exc}") from exc
    bom = b"\xef\xbb\xbf" if data.startswith(b"\xef\xbb\xbf") else b""
    try:
        written = atomic_write(target, bom + text.encode("utf-8"), indexed_hash)
    except ChangedOnDisk as exc:
        raise BumpDeferred(str(exc)) from exc
    return current, current + 1, written
