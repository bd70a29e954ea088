"""When the daemon does what: the settle, bump, retry, catalog and embedding timers, as pure state.

`Schedule` is told what each sync changed (`observe`, with the time) and asked what is due
(`due`, with the time); it never reads a clock, a file or the index, so it is tested with a fake
clock. The daemon's writer thread feeds it `time.monotonic()` and carries out what it returns
through `Companion`.

The rules:

- a changed page is embedded once it has been quiet for `settle` seconds — at once when the
  change is companion's own write (a writer bumped the version with its change);
- a person's editing session on a managed page costs one version bump (SYSTEM.md §8): the bump
  comes once the page has been quiet for `bump_settle` (default 5 minutes; every further save
  restarts the wait), not after each pause — Obsidian saves every ~2 s, and a pause to think is not
  a finished edit. A writer that needs the page sooner bumps it itself (`Companion.update`); a bump
  that finds the page changed again is deferred. Text search and embedding follow every save
  (`settle`), not the bump;
- a file that could not be read is looked at again after 1 s, 2 s, 4 s … at most a minute: it must
  not keep the writer busy, and it is never dropped from the index meanwhile;
- a file under the sources folder is ingested once it has been quiet for `source_settle` (default
  5 s: a copy in progress keeps changing size and mtime, and every change restarts the wait); a
  deleted one too (its facts are withdrawn); a source whose synthesis failed comes back when its
  retry is due (`ingest_later`);
- index.md is re-rendered `catalog_delay` after the last change;
- the embedding thread is handed work only when something may be waiting (`embed_check`): an idle
  daemon over an idle vault does not even look.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from companion.sync.reconcile import SyncReport


@dataclass(frozen=True, slots=True)
class Timing:
    settle: float = 3.0  # quiet time before embedding an edit
    bump_settle: float = 300.0  # quiet time before a person's edit of a managed page is bumped
    catalog_delay: float = 0.5  # index.md is re-rendered this long after the last change
    retry_delay: float = 1.0  # an unreadable file is looked at again after this long (doubling)
    max_retry_delay: float = 60.0
    source_settle: float = 5.0  # quiet time before a dropped or changed source is ingested


@dataclass(slots=True)
class Due:
    """What the writer should do now."""

    bumps: list[str] = field(default_factory=list)
    retries: list[str] = field(default_factory=list)
    catalog: bool = False
    sources: list[str] = field(default_factory=list)  # sources to ingest (or withdraw) now

    def __bool__(self) -> bool:
        return bool(self.bumps or self.retries or self.catalog or self.sources)


class Schedule:
    def __init__(
        self,
        timing: Timing,
        is_managed: Callable[[str], bool],
        is_source: Callable[[str], bool] = lambda _path: False,
    ) -> None:
        self.timing = timing
        self.is_managed = is_managed
        self.is_source = is_source
        self.sources: dict[str, float] = {}  # source path -> when it may be ingested
        self.unsettled: dict[str, float] = {}  # path -> time of its last change
        self.bumps: dict[str, float] = {}  # managed path edited without a bump -> last change
        self.retry: dict[str, float] = {}  # unreadable path -> when to look again
        self.attempts: dict[str, int] = {}  # unreadable path -> failed reads in a row
        self.catalog_due: float | None = None
        self.embed_check = True  # something may be waiting for a vector: look (cheap, not free)
        self.events: deque[tuple[float, str, str]] = deque(maxlen=20)  # (wall time, path, what)

    def observe(self, report: SyncReport, now: float, wall: float, settled: bool = False) -> None:
        """Take in what a sync changed. `settled`: the changes were made while nobody watched
        (the start-up scan), so they are quiet already."""
        if report.added or report.changed:
            self.embed_check = True
        for path in report.added + report.changed + report.removed:
            self.attempts.pop(path, None)  # read (or gone) at last: no more back-off
        for path in report.added + report.changed:
            if not settled:
                self.unsettled[path] = now
            self.events.append((wall, path, "added" if path in report.added else "changed"))
        for path in report.credited:
            self.unsettled.pop(path, None)  # companion's own write: embed at once
            self.bumps.pop(path, None)  # versioned with the change
        if not settled:  # at start-up the daemon asks which pages wait, and since when (`seed`)
            for path in report.unversioned:
                self.bumps[path] = now  # every save restarts the wait
        for path in report.removed:
            self.unsettled.pop(path, None)
            self.bumps.pop(path, None)
            self.events.append((wall, path, "removed"))
        for path in report.added + report.changed + report.removed:
            if self.is_source(path):
                self.sources[path] = now + (0.0 if settled else self.timing.source_settle)
        for path in report.unreadable:
            self.retry_later(path, now)
        if report.changed_anything:
            self.catalog_due = now + self.timing.catalog_delay

    def due(self, now: float) -> Due:
        """What is due at `now`; each item is handed out once."""
        settle = self.timing.settle
        due = Due()
        for path, at in list(self.unsettled.items()):
            if now - at >= settle:
                del self.unsettled[path]
                self.embed_check = True  # settled: its chunks may be embedded now
        for path, at in list(self.bumps.items()):
            if now - at >= self.timing.bump_settle:
                del self.bumps[path]
                due.bumps.append(path)
        for path, at in list(self.retry.items()):
            if at <= now:
                del self.retry[path]
                due.retries.append(path)
        for path, at in list(self.sources.items()):
            if at <= now:
                del self.sources[path]
                due.sources.append(path)
        due.sources.sort()
        if self.catalog_due is not None and now >= self.catalog_due:
            self.catalog_due = None
            due.catalog = True
        return due

    def retry_later(self, path: str, now: float) -> None:
        """Look at `path` again after a back-off that doubles with each failure in a row."""
        tries = self.attempts[path] = self.attempts.get(path, 0) + 1
        delay = min(self.timing.max_retry_delay, self.timing.retry_delay * 2 ** (tries - 1))
        self.retry[path] = now + delay

    def ingest_later(self, path: str, at: float) -> None:
        """Ingest `path` again at `at` (a synthesis to retry), unless a change brings it sooner."""
        self.sources[path] = min(self.sources.get(path, at), at)

    def seed(self, waiting: list[tuple[str, float]], now: float) -> None:
        """Pages already waiting for their bump at start-up, with the seconds since their last
        save (the index keeps the flag; the file's mtime says when): the wait continues."""
        for path, age in waiting:
            self.bumps[path] = now - age

    def defer_bump(self, path: str, now: float) -> None:
        """The bump found the page changed again: wait for it to settle once more."""
        self.bumps[path] = now

    def bump_pending(self, path: str) -> bool:
        """A person's edit of `path` is waiting for its version bump."""
        return path in self.bumps

    def settling(self, paths: list[str]) -> bool:
        """Every one of these pages is still being edited: do not embed their chunk yet."""
        return all(p in self.unsettled for p in paths)

    def nothing_to_embed(self) -> None:
        """The embedding thread found no work; settling pages raise the flag again."""
        self.embed_check = False
