"""Named errors with messages that say how to fix the problem.

Library code raises these; only the CLI turns them into exit codes (design.md, "Interfaces"):
1 user error, 2 usage error, 3 conflict, anything else an internal failure.
"""

from __future__ import annotations


class CompanionError(Exception):
    """Base class: a problem the user can act on. `exit_code` is what the CLI exits with."""

    exit_code = 1


class VaultNotFound(CompanionError):
    pass


class StateDirError(CompanionError):
    pass


class ConfigError(CompanionError):
    pass


class StoreError(CompanionError):
    """The index database is missing a capability (sqlite-vec, FTS5) or is unusable."""


class ModelError(CompanionError):
    """The embedding model cannot be loaded."""


class NotIndexed(CompanionError):
    """A reading command on a vault whose index is empty."""


class NoteNotFound(CompanionError):
    pass


class VersionConflict(CompanionError):
    exit_code = 3


class UnreadableFile(CompanionError):
    """A file could not be read now (permissions, vanished, half-written): unknown, not deleted."""


class SkippedFile(CompanionError):
    """A file that is deliberately not indexed (binary, too large): reported, never modified."""


class ChangedOnDisk(CompanionError):
    """A file changed (or appeared, or vanished) since it was read: nothing was written; retry later."""

    exit_code = 3
