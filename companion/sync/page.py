"""One file -> what the index keeps of it: read, hash, parse, chunk, resolve its links.

`examine` is the per-file step of a sync. It runs in worker processes for big batches (it never
touches SQLite: the writer stays single), so everything it returns pickles.

A raw source that is not markdown (a `.txt`, `.html` or `.pdf` under the sources folder) is
indexed by its converted text (`companion.convert`), so sources stay searchable (their hits say
`kind: source`); it keeps the attachment kind (it is not a note of the catalog or the graph) and
no links are taken from it (source text is data). One that cannot be converted stays a bare row:
ingest reports why.

A wiki page (under `wiki/`, not a summary under `wiki/sources/`, not generated) also gets the
claims of each of its cited fact lines (`_claims`: `companion.conflicts.detect.cited_lines`,
`claims`, serialised by `companion.conflicts.serial`, with their index keys), so conflict
detection looks a new fact's candidates up in the index instead of parsing the page again. They
are computed here, in the workers, once per changed page.

A template (a file under the vault's template folder, `VaultFile.template`) is indexed like an
attachment: a bare row, so links to it resolve, but it is never read or parsed. It is a pattern for
notes, not knowledge: its `{{date}}` placeholders are not YAML (so no problem to report), its
example links are not links (no backlinks, no unresolved targets), and it has no chunks to search.
"""

from __future__ import annotations

import dataclasses
import json
import os
from datetime import date, datetime
from pathlib import Path
from typing import Any, NamedTuple

from companion.conflicts.callouts import callouts
from companion.errors import SkippedFile, UnreadableFile
from companion.markdown.digest import chunk_note, summary_line
from companion.markdown.note import Note
from companion.markdown.parse import parse_note
from companion.markdown.resolve import Resolver, name_key
from companion.store.rows import CalloutRow, ChunkRow, ClaimRow, FileState, LinkRow, PageRow
from companion.vault.walk import VaultFile, content_hash, file_kind, read_note_bytes

Found = tuple[str, str, int | None]  # (problem code, message, line)


class FileOutcome(NamedTuple):
    """What examining one file gave: a row to write (None: nothing to write), its problems, and
    whether its content is unchanged (only its stat needs refreshing)."""

    row: PageRow | None
    problems: list[Found]
    unchanged: bool


def _json_default(value: Any) -> str:
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value)


def page_row(
    note: Note, file: VaultFile, digest: str, max_chars: int, resolver: Resolver
) -> PageRow:
    """Everything the index stores for a parsed note, links resolved against the vault's paths."""
    props = note.properties
    page_type = props.get("type")
    generated = props.get("generated_by") == "companion"
    # Generated notes (index.md, log.md) are catalogued but never searched or embedded.
    chunks = (
        ()
        if generated
        else tuple(
            ChunkRow(c.seq, c.heading, c.text, c.hash, c.line) for c in chunk_note(note, max_chars)
        )
    )
    links = []
    for link in note.links:
        res = resolver.resolve(link.path, note.path)
        links.append(
            LinkRow(
                link.raw,
                link.path,
                link.subpath,
                link.display,
                link.kind,
                link.line,
                res.target,
                res.ambiguous,
                name_key(link.path),
            )
        )
    return PageRow(
        path=note.path,
        kind=file_kind(note.path),
        title=note.title if note.path.lower().endswith(".md") else note.path.rsplit("/", 1)[-1],
        size=file.size,
        mtime_ns=file.mtime_ns,
        hash=digest,
        type=page_type if isinstance(page_type, str) else None,
        version=note.version,
        properties=json.dumps(props, default=_json_default, ensure_ascii=False, sort_keys=True),
        aliases=note.aliases,
        tags=note.tags,
        summary=summary_line(note),
        excluded=file.excluded,
        generated=generated,
        chunks=chunks,
        links=tuple(links),
        callouts=tuple(
            CalloutRow(c.id, c.status, c.title, c.opened, c.resolved, c.claims, c.sources, c.line)
            for c in callouts(note.text)
        )
        if "^conflict-" in note.text or "^superseded-" in note.text
        else (),
        claims=() if generated else _claims(note),
    )


def _claims(note: Note) -> tuple[ClaimRow, ...]:
    """The claim rows of a wiki page's cited fact lines, one per distinct line (module docstring);
    none for any other note. Title and aliases as ingest gives them to detection: the file's stem
    and the note's aliases."""
    path = note.path
    if not path.startswith("wiki/") or path.startswith("wiki/sources/"):
        return ()
    if not path.lower().endswith(".md") or "[[wiki/sources/" not in note.text:
        return ()
    from companion.conflicts.claims import linked_names
    from companion.conflicts.detect import cited_lines, claim_keys, claims_of
    from companion.conflicts.serial import dumps, parser

    title = path.rsplit("/", 1)[-1].removesuffix(".md")
    aliases = tuple(note.aliases)
    fingerprint = parser()
    rows = []
    entities = linked_names(note.text)
    for line in dict.fromkeys(cited_lines(note.text)):
        found = claims_of(line, path, title, aliases, entities)
        rows.append(ClaimRow(line, dumps(found), claim_keys(found), fingerprint))
    return tuple(rows)


def _bare_row(file: VaultFile, digest: str) -> PageRow:
    """A file that exists (a link target) but has no indexed content: attachment or skipped note."""
    name = file.path.rsplit("/", 1)[-1]
    title = name[:-3] if name.lower().endswith(".md") else name
    return PageRow(
        file.path,
        file_kind(file.path),
        title,
        file.size,
        file.mtime_ns,
        digest,
        excluded=file.excluded,
    )


CONVERTED = (".txt", ".html", ".htm", ".pdf")  # raw sources indexed by their converted text


def examine(
    vault: Path,
    file: VaultFile,
    known: FileState | None,
    max_bytes: int,
    max_chars: int,
    recheck: bool,
    source: bool,
    resolver: Resolver,
) -> FileOutcome:
    """(row to write or None, problems, content unchanged) for one file that may have changed.
    `source`: the file is under the sources folder."""
    if file.template:
        # Link targets only, like attachments. A stamp of their own: when a note that became a
        # template (or a template that stopped being one) is examined, its row is rewritten.
        return _bare_or_same(file, f"template:{file.size}:{file.mtime_ns}", known, [])
    if source and file.path.lower().endswith(CONVERTED):
        return _converted_source(vault, file, known, max_bytes, max_chars, recheck, resolver)
    if file_kind(file.path) == "attachment":
        # Attachments are link targets only: their stat is their identity, nothing is read.
        return _bare_or_same(file, f"stat:{file.size}:{file.mtime_ns}", known, [])
    try:
        data = read_note_bytes(vault / file.path, max_bytes)
    except UnreadableFile as exc:
        # Unknown, not deleted: keep whatever the index had and try again next time.
        return FileOutcome(None, [("unreadable", _reason(exc, vault / file.path), None)], False)
    except SkippedFile as exc:
        stamp = f"skipped:{file.size}:{file.mtime_ns}"
        return _bare_or_same(
            file, stamp, known, [("skipped", _reason(exc, vault / file.path), None)]
        )
    if _stat_of(vault / file.path) != (file.size, file.mtime_ns):
        # Half-written (an editor or sync tool is still at it): unknown for now, retried later.
        return FileOutcome(
            None, [("unreadable", "changed while being read; will retry", None)], False
        )
    digest = content_hash(data)
    same = known is not None and known.hash == digest
    if same and not recheck:
        return FileOutcome(None, [], True)
    note = parse_note(data, file.path)
    found = [(p.code, p.message, p.line) for p in note.problems]
    if source:  # a raw source's `version` is the document's own (`2.0`), not companion's token
        found = [f for f in found if f[0] != "version"]
    if same:
        return FileOutcome(None, found, True)  # parsed again only to report its problems afresh
    return FileOutcome(page_row(note, file, digest, max_chars, resolver), found, False)


def _converted_source(
    vault: Path,
    file: VaultFile,
    known: FileState | None,
    max_bytes: int,
    max_chars: int,
    recheck: bool,
    resolver: Resolver,
) -> FileOutcome:
    from companion.convert import convert
    from companion.errors import SourceError

    stamp = f"stat:{file.size}:{file.mtime_ns}"
    if file.size > max_bytes:
        return _bare_or_same(file, stamp, known, [])  # ingest reports a source over its limit
    try:
        with open(vault / file.path, "rb") as fh:  # a PDF holds NUL bytes: not a note's read
            data = fh.read(max_bytes + 1)
    except OSError as exc:
        why = f"cannot read ({exc.strerror or exc})"
        return FileOutcome(None, [("unreadable", why, None)], False)
    if len(data) > max_bytes:
        return _bare_or_same(file, stamp, known, [])
    digest = content_hash(data)
    if known is not None and known.hash == digest and not recheck:
        return FileOutcome(None, [], True)
    try:
        converted = convert(file.path, data)
    except SourceError:
        return _bare_or_same(file, stamp, known, [])  # not text: ingest says why
    note = parse_note(converted.text.encode("utf-8"), file.path)
    row = page_row(note, file, digest, max_chars, resolver)
    title = converted.title or file.path.rsplit("/", 1)[-1]
    return FileOutcome(dataclasses.replace(row, links=(), title=title), [], False)


def _stat_of(path: Path) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_size, st.st_mtime_ns


def _reason(exc: Exception, path: Path) -> str:
    """The error's message without the path it starts with: problems are shown by path already."""
    return str(exc).removeprefix(f"{path}: ")


def _bare_or_same(
    file: VaultFile, stamp: str, known: FileState | None, found: list[Found]
) -> FileOutcome:
    if known is not None and known.hash == stamp:
        return FileOutcome(None, found, True)
    return FileOutcome(_bare_row(file, stamp), found, False)
