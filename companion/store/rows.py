"""The rows the index stores and returns: plain frozen data, no SQL code.

The renderer and the graph read these; only `companion.store` builds them from queries.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, NamedTuple

# The one spelling of "searchable" in SQL (pages aliased `p`): generated notes (index.md, log.md)
# and excluded files are never searched, embedded or counted as the vault's own links.
SEARCHABLE = "p.excluded = 0 AND p.generated = 0"


@dataclass(frozen=True, slots=True)
class ChunkRow:
    seq: int
    heading: str
    text: str
    hash: str
    line: int


@dataclass(frozen=True, slots=True)
class LinkRow:
    raw: str
    path: str
    subpath: str | None
    display: str | None
    kind: str
    line: int
    target: str | None
    ambiguous: bool
    name: str = ""  # resolve.name_key(path)


@dataclass(frozen=True, slots=True)
class CalloutRow:
    """A conflict or supersedes callout on a page (companion.conflicts.callouts)."""

    id: str
    status: str  # open | resolved | superseded
    title: str
    opened: str
    resolved: str
    claims: tuple[str, ...]
    sources: tuple[tuple[str, ...], ...]
    line: int


@dataclass(frozen=True, slots=True)
class ClaimRow:
    """The claims of one cited fact line of a wiki page, computed at sync
    (companion.conflicts.serial): `data` the claims as text, `keys` the index keys they are
    filed under, `parser` the fingerprint of the code that computed both."""

    line: str
    data: str
    keys: tuple[str, ...]
    parser: str = ""


@dataclass(frozen=True, slots=True)
class PageRow:
    """Everything the index keeps about one vault file."""

    path: str
    kind: str  # "note" | "canvas" | "attachment"
    title: str
    size: int
    mtime_ns: int
    hash: str
    type: str | None = None
    version: int | None = None
    properties: str = "{}"  # JSON
    aliases: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    summary: str = ""
    excluded: bool = False
    generated: bool = False
    chunks: tuple[ChunkRow, ...] = ()
    links: tuple[LinkRow, ...] = ()
    callouts: tuple[CalloutRow, ...] = ()
    claims: tuple[ClaimRow, ...] = ()  # wiki pages' cited facts (not summaries, not generated)


@dataclass(frozen=True, slots=True)
class FileState:
    size: int
    mtime_ns: int
    hash: str
    version: int | None = None
    unversioned: bool = False  # a person's edit of a managed page, waiting for its version bump
    seen_version: int | None = None  # the highest version the page has had


@dataclass(frozen=True, slots=True)
class EdgeRow:
    source: str
    target: str | None
    raw: str
    path: str
    subpath: str | None
    kind: str
    ambiguous: bool


@dataclass(frozen=True, slots=True)
class CatalogRow:
    path: str
    title: str
    type: str | None
    summary: str


class NodeRow(NamedTuple):
    """A file of the vault as a node of the link graph."""

    path: str
    kind: str
    title: str
    excluded: bool
    generated: bool


class ProblemRow(NamedTuple):
    """A problem found while walking, reading or parsing a file."""

    path: str
    code: str
    message: str
    line: int | None


class LinkToResolve(NamedTuple):
    id: int
    source: str
    path: str
    target: str | None
    ambiguous: bool


class PendingChunk(NamedTuple):
    """A chunk text with no vector yet, and the pages it appears in."""

    hash: str
    text: str
    paths: list[str]


@dataclass(frozen=True, slots=True)
class PageInfo:
    path: str
    kind: str
    title: str
    type: str | None
    version: int | None
    hash: str
    properties: str  # JSON
    aliases: str  # JSON list
    summary: str
    excluded: bool
    generated: bool


@dataclass(frozen=True, slots=True)
class LinkLine:
    """One link as lint reads it: where it is written (note and line) and where it resolves."""

    source: str
    raw: str
    path: str
    subpath: str | None
    kind: str
    line: int
    target: str | None
    ambiguous: bool


@dataclass(frozen=True, slots=True)
class NoteRow:
    """A file of the index as lint reads it: its names, type and properties (JSON)."""

    path: str
    kind: str
    title: str
    type: str | None
    version: int | None
    properties: str
    aliases: str


SourceState = Literal["done", "pending", "retrying", "failed", "skipped", "deleted"]


@dataclass(frozen=True, slots=True)
class SourceRow:
    """One raw file under the sources folder, as the ledger knows it (store/sources.py)."""

    path: str
    state: str  # a SourceState
    hash: str | None = None  # "sha256:<hex>" of the bytes last read
    size: int = 0
    mtime_ns: int = 0
    summary: str | None = None  # vault path of its summary page
    synthesizer: str | None = None
    tries: int = 0
    next_try: float | None = None  # epoch seconds of the next retry (state "retrying")
    problem: str | None = None
    changed_at: float = 0.0
