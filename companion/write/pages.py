"""Writes to managed pages: compare-and-swap updates (`companion update PAGE --expect-version N`)
and the version bump of a page a person edited.

The page's frontmatter `version` is the concurrency token. An update names the version it was
based on; if the page has moved on (a person edited it, another agent wrote it), the update is
refused with both versions named and nothing is written. Otherwise the new body and property
values are applied as surgical edits (the frontmatter block keeps every byte it had except the
values set), `version` goes up by one, `updated` is stamped, and the file is replaced atomically
after re-checking that its bytes are still the ones that were compared.

Both writes share one read -> check -> edit -> write path (`_read_bytes`, `_parse_page`, `_write_page`). Only
managed pages (under SYSTEM.md's managed folders) can be updated (`check_writable`: what may be
edited); a path that leaves the vault is refused before anything is read (`vault_path`, and
`atomic.landing` for symlinks: where a write may land).
"""

from __future__ import annotations

import os
import posixpath
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from companion.config import Settings
from companion.errors import (
    ChangedOnDisk,
    InvalidProperty,
    MalformedFrontmatter,
    NoteNotFound,
    NotManaged,
    OutsideVault,
    SkippedFile,
    UnreadableFile,
    VersionConflict,
)
from companion.markdown.note import Note
from companion.markdown.parse import parse_note
from companion.vault.walk import content_hash
from companion.write.atomic import atomic_write, landing, read_regular, vault_relative
from companion.write.fmedit import (
    FrontmatterEditError,
    add_items,
    duplicate_keys,
    remove_items,
    set_value,
)

_BOM = b"\xef\xbb\xbf"
_KEY = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_ .-]*")
# A template's placeholders (Obsidian core Templates syntax), filled when a page is created here
# and by ingest (write/wiki.py); `updated` is written in `STAMP_FORMAT` (SYSTEM.md §3).
PLACEHOLDER = re.compile(r"\{\{\s*(title|date|time)(?::[^}]*)?\s*\}\}")
STAMP_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


@dataclass(frozen=True, slots=True)
class VersionWrite:
    """A page written with its version moved from `old_version` to `new_version`."""

    path: str
    old_version: int
    new_version: int
    hash: str  # of the bytes written
    created: bool = False  # a new page (`update --create`)

    def as_json(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "old_version": self.old_version,
            "new_version": self.new_version,
            "changed": True,
            "created": self.old_version == 0 and self.created,
        }


UpdateResult = VersionWrite  # what `update` wrote
Bumped = VersionWrite  # what a version bump wrote


def inside_vault(vault: Path, raw: str) -> str | None:
    """`raw` — a path as a person or an agent writes it: vault-relative, absolute inside the
    vault, with `..` or backslashes — as the vault-relative POSIX path it names (no suffix
    added); None when it leads outside the vault."""
    candidate = Path(raw)
    if candidate.is_absolute():
        try:
            raw = candidate.resolve().relative_to(vault.resolve()).as_posix()
        except ValueError:
            return None
    norm = posixpath.normpath(raw.replace("\\", "/"))
    if norm.startswith("../") or norm == ".." or norm.startswith("/"):
        return None
    return norm


def vault_path(settings: Settings, page: str) -> str:
    """A vault-relative POSIX path for PAGE (`wiki/x.md`, `wiki/x`, or an absolute path inside)."""
    raw = page.strip()
    if not raw:
        raise NoteNotFound("no page given")
    norm = inside_vault(settings.vault, raw)
    if norm is None:
        raise OutsideVault(f"{page} leads outside the vault {settings.vault}; nothing written")
    if not norm.lower().endswith(".md"):
        norm += ".md"
    return norm


def check_writable(settings: Settings, rel: str) -> None:
    """`NotManaged` unless companion may write `rel`: only pages under the managed folders, and
    only where the write lands there too (a symlink in wiki/ to a person's note is refused, as
    ingest refuses it: the note behind it is theirs)."""
    folders = ", ".join(f"{f}/" for f in settings.schema.managed_folders)
    if not settings.schema.is_managed(rel):
        raise NotManaged(
            f"{rel} is not a managed page (managed folders: {folders}); companion never writes "
            "other notes"
        )
    real = vault_relative(settings.vault, landing(settings.vault, rel))
    if real != rel and not settings.schema.is_managed(real):
        raise NotManaged(
            f"{rel} is a link to {real}, which is not a managed page (managed folders: "
            f"{folders}); companion never writes other notes. Nothing written"
        )


def check_request(
    settings: Settings, page: str, body: str | None, properties: dict[str, Any]
) -> str:
    """Everything about an update that can be refused before the vault is looked at: the path
    (inside the vault, a managed page), the property names, and a body that could never be indexed
    (a NUL byte: binary; over the note size limit). Returns the page's vault path."""
    check_properties(properties)
    rel = vault_path(settings, page)
    check_writable(settings, rel)
    if body is not None:
        if "\0" in body:
            raise InvalidProperty(
                f"the new body of {rel} holds a NUL byte (binary content): a note is text, and "
                "the page would stop being indexed. Nothing written"
            )
        if "companion:" in body:
            from companion.write.regions import find_regions

            # A body whose region markers do not pair up would leave a page no writer can edit.
            find_regions(body, f"the new body of {rel}")
        size = len(body.encode("utf-8", "surrogatepass"))
        if size > settings.max_note_bytes:
            raise InvalidProperty(
                f"the new body of {rel} is {size:,} bytes, over the {settings.max_note_bytes:,}-byte "
                "limit for notes (COMPANION_MAX_NOTE_BYTES): the page would stop being indexed. "
                "Nothing written"
            )
    return rel


def check_type(settings: Settings, rel: str, properties: dict[str, Any]) -> None:
    """A `type` set by a writer must be the one its folder holds (SYSTEM.md §2)."""
    if "type" not in properties:
        return
    folder = posixpath.dirname(rel)
    home = settings.schema.type_of(folder)
    if home is not None and properties["type"] != home:
        raise InvalidProperty(
            f"cannot set `type: {properties['type']}` on {rel}: pages in {folder}/ are "
            f"`{home}` (SYSTEM.md: the type must match the folder). Nothing written"
        )


def check_properties(properties: dict[str, Any]) -> None:
    for key in properties:
        if not _KEY.fullmatch(key) or key in ("version", "updated"):
            raise InvalidProperty(
                f"cannot set property {key!r}: names are letters, digits, spaces, `_`, `-`, `.`; "
                "`version` and `updated` are set by companion. Nothing written"
            )


@dataclass(frozen=True, slots=True)
class _Page:
    rel: str
    target: Path
    data: bytes
    note: Note

    @property
    def version(self) -> int:
        return self.note.version or 0


def _read_bytes(settings: Settings, rel: str) -> tuple[Path, bytes]:
    """Where a page's write lands and its current bytes (its path already checked): a regular
    file inside the vault, at most the note size limit — never a FIFO (which would block the
    writer for good), a device or a link out of the vault (`read_regular`)."""
    try:
        data = read_regular(settings.vault, rel, settings.max_note_bytes)
    except OSError as exc:
        raise UnreadableFile(f"cannot read {rel}: {exc.strerror or exc}; nothing written") from exc
    if data is None:
        raise NoteNotFound(f"{rel} does not exist in {settings.vault}")
    return settings.vault / rel, data  # unresolved: atomic_write resolves it again, safely


def _parse_page(rel: str, target: Path, data: bytes) -> _Page:
    note = parse_note(data, rel)
    bad = next((p for p in note.problems if p.code == "utf8"), None)
    if bad is not None:
        # Decoding replaced bytes it could not read: writing the text back would change them.
        raise SkippedFile(
            f"{rel} is not valid UTF-8 ({bad.message}); companion does not rewrite bytes it "
            "cannot read. Nothing written"
        )
    if any(p.code == "yaml" for p in note.problems):
        raise MalformedFrontmatter(
            f"{rel} has malformed frontmatter; fix it before updating. Nothing written"
        )
    twice = duplicate_keys(note.text)
    if twice:
        # YAML reads the last one and an edit cannot know which one a person meant: with
        # `version` twice, compare-and-swap would let every writer win (SYSTEM.md §8).
        keys = ", ".join(f"`{k}`" for k in twice)
        raise MalformedFrontmatter(
            f"{rel}: {keys} given twice in the frontmatter; fix it before updating. Nothing written"
        )
    return _Page(rel, target, data, note)


def _write_page(page: _Page, text: str, vault: Path) -> str:
    """Replace the page with `text` (its BOM kept) if it still holds the bytes read; the hash
    written. `ChangedOnDisk` when it changed meanwhile."""
    bom = _BOM if page.data.startswith(_BOM) else b""
    data = bom + text.encode("utf-8")
    return atomic_write(page.target, data, content_hash(page.data), vault=vault)


LIST_KEYS = ("tags", "aliases", "sources", "related")  # SYSTEM.md §3: always YAML lists


@dataclass(frozen=True, slots=True)
class PageChange:
    """What an update asks for: a new body, property values (always strings, from `--set`),
    items added to or removed from list properties (`--add` / `--remove`)."""

    body: str | None = None
    properties: dict[str, Any] = field(default_factory=dict)
    add: dict[str, list[str]] = field(default_factory=dict)
    remove: dict[str, list[str]] = field(default_factory=dict)

    @property
    def keys(self) -> list[str]:
        return [*self.properties, *self.add, *self.remove]


@dataclass(frozen=True, slots=True)
class Unchanged:
    """An update that would change nothing: nothing was written, the version stays."""

    path: str
    version: int

    def as_json(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "old_version": self.version,
            "new_version": self.version,
            "changed": False,
        }


def check_change(rel: str, note: Note, change: PageChange) -> None:
    """Refuse `--set` on a list property (it would replace the list with a string) and `--add`
    / `--remove` on a property that holds something other than a list."""
    for key in change.properties:
        if key in LIST_KEYS or isinstance(note.properties.get(key), list):
            raise InvalidProperty(
                f"{rel}: `{key}` is a list; change it with --add {key}=ITEM or --remove "
                f"{key}=ITEM (repeatable), not --set. Nothing written"
            )
    for key in change.add:
        value = note.properties.get(key)
        if key in LIST_KEYS and isinstance(value, str):
            continue  # `tags: payments`: becomes a list holding it and the new items
        if value is not None and not isinstance(value, list):
            raise InvalidProperty(
                f"{rel}: `{key}` is not a list (it is {value!r}); --add/--remove change list "
                "properties only. Nothing written"
            )
    for key in change.remove:
        value = note.properties.get(key)
        if value is not None and not isinstance(value, list):
            raise InvalidProperty(
                f"{rel}: `{key}` is not a list (it is {value!r}); --add/--remove change list "
                "properties only. Nothing written"
            )


def _items(value: Any) -> list[Any]:
    """A list property's items (a single value, as in `tags: payments`, is a list of one)."""
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _edited(rel: str, note: Note, change: PageChange) -> str:
    """The page's text with the change applied (version and `updated` not yet touched); values
    already as asked are left alone, so an update that changes nothing is seen as such."""
    text = note.text
    if change.body is not None:
        body = change.body if change.body.endswith("\n") or not change.body else change.body + "\n"
        text = text[: note.body_start] + body
    props = note.properties
    try:
        for key, value in change.properties.items():
            if props.get(key) != value:
                text = set_value(text, key, value)
        for key, items in change.add.items():
            have = _items(props.get(key))
            new = [i for i in dict.fromkeys(items) if i not in have]
            if new:
                text = add_items(text, key, new)
        for key, items in change.remove.items():
            have = _items(props.get(key))
            gone = [i for i in dict.fromkeys(items) if i in have]
            if gone:
                text = remove_items(text, key, gone)
    except FrontmatterEditError as exc:
        raise MalformedFrontmatter(f"{rel}: {exc}; nothing written") from exc
    return text


def _stamped(rel: str, text: str, version: int, now: datetime | None) -> str:
    stamp = (now or datetime.now(UTC)).strftime(STAMP_FORMAT)
    try:
        return set_value(set_value(text, "version", version), "updated", stamp)
    except FrontmatterEditError as exc:
        raise MalformedFrontmatter(f"{rel}: {exc}; nothing written") from exc


def apply_update(
    settings: Settings,
    page: str,
    expect_version: int,
    change: PageChange,
    now: datetime | None = None,
    indexed_hash: str | None = None,
) -> UpdateResult | Unchanged:
    """Apply `change` to a managed page if its version is still `expect_version`; raise
    VersionConflict (nothing written) otherwise. A page without a `version` is at version 0.
    With `indexed_hash` (what the index last saw), a page whose bytes differ — saved since it was
    indexed — is a conflict too: a write is only ever based on bytes companion has accounted
    for. An update that would change nothing writes nothing (`Unchanged`)."""
    rel = check_request(settings, page, change.body, dict.fromkeys(change.keys))
    current = _parse_page(rel, *_read_bytes(settings, rel))
    if current.version != expect_version:
        raise VersionConflict(
            f"{rel} is at version {current.version}, not {expect_version} as expected"
            + (": it changed since you read it" if current.version > expect_version else "")
            + ". Nothing was written; read it again and retry."
        )
    if indexed_hash is not None and content_hash(current.data) != indexed_hash:
        raise VersionConflict(
            f"{rel} was saved again just now (its version ({current.version}) is bumped for "
            "that edit first). Nothing was written; read it again and retry."
        )
    check_change(rel, current.note, change)
    text = _edited(rel, current.note, change)
    if text == current.note.text:
        return Unchanged(rel, current.version)
    new_version = current.version + 1
    text = _stamped(rel, text, new_version, now)
    try:
        written = _write_page(current, text, settings.vault)
    except ChangedOnDisk as exc:
        raise VersionConflict(
            f"{rel} changed while being updated; nothing written ({exc})"
        ) from exc
    return UpdateResult(rel, current.version, new_version, written)


def create_page(
    settings: Settings,
    page: str,
    template: str,
    change: PageChange,
    now: datetime | None = None,
) -> UpdateResult:
    """Create a new managed page at version 1 from its type's `template` (placeholders
    `{{title}}` and `{{date…}}` filled in), with `change` applied. `VersionConflict` when the
    page exists already (nothing written): update it with --expect-version instead."""
    rel = check_request(settings, page, change.body, dict.fromkeys(change.keys))
    target = landing(settings.vault, rel)
    if os.path.lexists(target):
        raise VersionConflict(
            f"{rel} already exists; update it with --expect-version (its `version`) instead of "
            "--create. Nothing was written."
        )
    moment = now or datetime.now(UTC)
    title = posixpath.basename(rel)[:-3]
    text = PLACEHOLDER.sub(
        lambda m: title if m.group(1) == "title" else moment.strftime(STAMP_FORMAT),
        template,
    )
    note = parse_note(text.encode("utf-8"), rel)
    if any(p.code == "yaml" for p in note.problems):
        raise MalformedFrontmatter(
            f"the template for {rel} has malformed frontmatter once filled in; nothing written"
        )
    check_change(rel, note, change)
    text = _stamped(rel, _edited(rel, note, change), 1, moment)
    try:
        written = atomic_write(
            settings.vault / rel, text.encode("utf-8"), "", vault=settings.vault, make_folders=True
        )
    except ChangedOnDisk as exc:
        raise VersionConflict(f"{rel} appeared while being created; nothing written") from exc
    return UpdateResult(rel, 0, 1, written, created=True)


def bump_in_place(settings: Settings, rel: str, indexed_hash: str, floor: int = 0) -> Bumped | None:
    """Bump `version` of a managed page a person edited without bumping it: a one-value edit,
    every other byte kept. The new version is above both the page's and `floor` (the highest it
    has had: a version wound back is never handed out again).

    None when the file no longer holds the bytes the index saw (it is being edited: bump it after
    the next sync); `CompanionError` when it cannot be bumped at all."""
    what = f"not bumping {rel}"
    try:
        check_writable(settings, rel)  # a link in wiki/ to a person's note: theirs, never bumped
    except NotManaged as exc:
        raise NotManaged(f"{what}: {exc}") from None
    try:
        target, data = _read_bytes(settings, rel)
    except OutsideVault:
        raise OutsideVault(f"{what}: it links to a file outside the vault") from None
    except (NoteNotFound, UnreadableFile, ChangedOnDisk):
        return None  # gone, unreadable or swapped meanwhile: the next sync looks again
    if content_hash(data) != indexed_hash:
        return None  # changed again since it was indexed: still being edited
    try:
        current = _parse_page(rel, target, data)
    except MalformedFrontmatter as exc:
        why = (
            str(exc)
            .removeprefix(f"{rel}: ")
            .removesuffix("; fix it before updating. Nothing written")
        )
        raise MalformedFrontmatter(
            f"{what}: {why}; fix the frontmatter to have it bumped"
        ) from None
    new_version = max(current.version, floor) + 1
    try:
        text = set_value(current.note.text, "version", new_version)
    except FrontmatterEditError as exc:
        raise MalformedFrontmatter(f"{what}: {exc}") from exc
    try:
        written = _write_page(current, text, settings.vault)
    except ChangedOnDisk:
        return None
    return Bumped(rel, current.version, new_version, written)
