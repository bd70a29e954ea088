"""Every named error, with messages that say how to fix the problem.

Library code raises these; only the shells (the CLI, the daemon's socket) turn them into exit
codes (design.md, "Interfaces"): 1 user error, 2 usage error, 3 conflict, 75 busy (another process
is the vault's writer: try again; sysexits' EX_TEMPFAIL), anything else an internal failure.
Standard library only: the CLI's fast path imports this module.
"""

from __future__ import annotations

EXIT_USER = 1
EXIT_CONFLICT = 3
EXIT_BUSY = 75  # sysexits.h EX_TEMPFAIL: "try again later"
EXIT_INTERNAL = 70  # sysexits.h EX_SOFTWARE


class CompanionError(Exception):
    """Base class: a problem the user can act on. `exit_code` is what the CLI exits with."""

    exit_code = EXIT_USER


class VaultNotFound(CompanionError):
    """No vault where one was given or looked for."""


class VaultExists(CompanionError):
    """`init` was pointed at something that cannot become a vault (a file, an unwritable place)."""


class StateDirError(CompanionError):
    """The state folder (index, lock, socket) cannot be created or written."""


class ConfigError(CompanionError):
    """A setting (flag, environment variable, SYSTEM.md frontmatter) is invalid."""


class StoreError(CompanionError):
    """The index database is missing a capability (sqlite-vec, FTS5) or is unusable."""


class ModelError(CompanionError):
    """The embedding model cannot be loaded."""


class NotIndexed(CompanionError):
    """A reading command on a vault whose index is empty."""


class NoteNotFound(CompanionError):
    """No note by that path or name."""


class AmbiguousName(NoteNotFound):
    """A name that two or more notes answer to (an alias two pages share); `candidates` lists
    them, so the caller can name one by its path."""

    def __init__(self, message: str, candidates: list[str]) -> None:
        super().__init__(message)
        self.candidates = candidates


class NotManaged(CompanionError):
    """A write aimed at a note outside SYSTEM.md's managed folders: those belong to people."""


class OutsideVault(CompanionError):
    """A path (or the symlink it is) that leads outside the vault: never written."""


class InvalidProperty(CompanionError):
    """A frontmatter property name or value companion will not write."""


class MalformedFrontmatter(CompanionError):
    """A page whose frontmatter cannot be parsed (or edited in place): nothing is written to it."""


class RegionError(CompanionError):
    """Companion-owned region markers (SYSTEM.md §7) that are unmatched, nested or repeated."""


class VersionConflict(CompanionError):
    """The page's version is not the one the writer expected: nothing was written."""

    exit_code = EXIT_CONFLICT


class ChangedOnDisk(CompanionError):
    """A file changed (or appeared, or vanished) since it was read: nothing was written; retry later."""

    exit_code = EXIT_CONFLICT


class WriterBusy(CompanionError):
    """Another process holds the vault's writer lock and did not let go within the wait."""

    exit_code = EXIT_BUSY


class DaemonRunning(CompanionError):
    """An operation a running daemon forbids (it is the vault's writer): stop it first."""


class UnreadableFile(CompanionError):
    """A file could not be read now (permissions, vanished, half-written): unknown, not deleted."""


class SkippedFile(CompanionError):
    """A file that is deliberately not indexed (binary, too large): reported, never modified."""


class UnknownRequest(CompanionError):
    """A request over the daemon's socket with an operation it does not know."""


class DaemonError(CompanionError):
    """The daemon answered a request with an error (its message and exit code, passed on)."""

    def __init__(self, message: str, exit_code: int = EXIT_USER) -> None:
        super().__init__(message)
        self.exit_code = exit_code


class NotRegularFile(UnreadableFile):
    """A file companion must read or replace is a FIFO, socket, device or folder: it is never
    opened for reading (a FIFO would block forever) nor replaced; nothing written."""


class FileTooLarge(UnreadableFile):
    """A file companion must read before rewriting it is over the size limit (or keeps growing):
    it is read no further and nothing is written."""


class VaultLeased(WriterBusy):
    """Another companion (any state folder, this machine or one syncing the vault) holds the
    vault's lease, `.companion/lease.json`; `owner` is what the lease says (None: not a lease)."""

    def __init__(self, message: str, owner: object = None) -> None:
        super().__init__(message)
        self.owner = owner


class LeaseLost(WriterBusy):
    """This process held the vault's lease, but another took it over (it was suspended or could
    not renew within the TTL): it must stop writing."""


class LeaseUnusable(CompanionError):
    """The vault's lease cannot be kept: `.companion` is a file or a symlink, a folder sits where
    the lease file goes, or the vault cannot be written."""


class SourceError(CompanionError):
    """A raw source under `sources/` cannot be ingested as it is (corrupt, encrypted, empty, not
    text): the message says what and where; the source is left untouched and nothing is written."""


class UnsupportedFormat(SourceError):
    """A source whose suffix no converter handles, or one SYSTEM.md's `ingest.formats` leaves out."""


class SourceTooLarge(SourceError):
    """A source over `ingest.max_source_bytes`: reported, never truncated."""


class SynthesisFailed(CompanionError):
    """A synthesizer gave no usable result for a source (an LLM endpoint down, slow, refusing,
    or answering outside the schema). `retryable`: worth trying again later. Nothing is written."""

    def __init__(self, message: str, *, retryable: bool = True) -> None:
        super().__init__(message)
        self.retryable = retryable


class PageRefused(CompanionError):
    """A wiki page ingest would write is not one it may write in place (a symlink to another file,
    a page in a linked folder): nothing of that source is written; the reason is shown."""
