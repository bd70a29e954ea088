"""watchdog events -> debounced batches of vault-relative paths. An event source, no logic.

Every event is reduced to the paths it touches (a move touches both ends); a filter drops what the
companion must never react to (dot-folders such as `.obsidian/` with its `workspace.json`, the
state folder, excluded paths). A batch is handed out once the vault has been quiet for `debounce`
seconds, or `max_delay` seconds after its first event, so a burst of saves becomes one batch and a
long burst still makes progress. Folder events are reported as folders so the consumer can rescan
them (a moved folder moves everything inside it).

What a path's change *means* (created, modified, deleted, renamed, unreadable) is decided later by
looking at the disk, never from the event type: events arrive out of order, editors save through
temporary files, and only the disk knows the truth.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer


@dataclass(slots=True)
class Batch:
    paths: set[str] = field(default_factory=set)  # files touched (vault-relative POSIX)
    folders: set[str] = field(default_factory=set)  # folders created, moved or deleted
    first_at: float = 0.0

    def __bool__(self) -> bool:
        return bool(self.paths or self.folders)


class _Handler(FileSystemEventHandler):
    def __init__(self, watcher: Watcher) -> None:
        self.watcher = watcher

    def on_any_event(self, event: FileSystemEvent) -> None:
        if event.event_type in ("opened", "closed_no_write"):
            return  # reads, not changes
        if event.is_directory and event.event_type in ("modified", "closed"):
            return  # a folder's mtime moves with every file saved in it: the file event suffices
        paths = [event.src_path]
        dest = getattr(event, "dest_path", "")
        if dest:
            paths.append(dest)
        self.watcher.push([os.fsdecode(p) for p in paths], event.is_directory)


class Watcher:
    def __init__(
        self,
        root: Path,
        accept: Callable[[str], bool],
        debounce: float = 0.25,
        max_delay: float = 1.0,
    ) -> None:
        self.root = os.path.realpath(root)
        self.accept = accept
        self.debounce = debounce
        self.max_delay = max_delay
        self._cond = threading.Condition()
        self._batch = Batch()
        self._last_event = 0.0
        self._stopped = False
        self._observer: Any = None

    def start(self) -> None:
        self._observer = Observer()
        self._observer.schedule(_Handler(self), self.root, recursive=True)
        self._observer.daemon = True
        self._observer.start()

    def stop(self) -> None:
        if self._observer is not None:
            self._observer.stop()
            self._observer.join(timeout=5)
            self._observer = None
        with self._cond:
            self._stopped = True
            self._cond.notify_all()  # a consumer waiting in next_batch returns at once

    def _relative(self, path: str) -> str | None:
        if not path.startswith(self.root):
            path = os.path.realpath(path)
            if not path.startswith(self.root):
                return None
        rel = path[len(self.root) :].lstrip(os.sep).replace(os.sep, "/")
        if not rel or any(part.startswith(".") for part in rel.split("/")):
            return None  # the root itself, dot-folders, editors' hidden temp files
        return rel if self.accept(rel) else None

    def push(self, paths: list[str], is_directory: bool) -> None:
        rels = [r for r in (self._relative(p) for p in paths) if r is not None]
        if not rels:
            return
        with self._cond:
            now = time.monotonic()
            if not self._batch:
                self._batch.first_at = now
            (self._batch.folders if is_directory else self._batch.paths).update(rels)
            self._last_event = now
            self._cond.notify_all()

    def pending(self) -> bool:
        with self._cond:
            return bool(self._batch)

    def next_batch(self, timeout: float) -> Batch | None:
        """The next debounced batch, or None when nothing is ready within `timeout` seconds."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                now = time.monotonic()
                if self._batch:
                    quiet = now - self._last_event >= self.debounce
                    overdue = now - self._batch.first_at >= self.max_delay
                    if quiet or overdue:
                        batch, self._batch = self._batch, Batch()
                        return batch
                    wait = (
                        min(self._last_event + self.debounce, self._batch.first_at + self.max_delay)
                        - now
                    )
                else:
                    wait = deadline - now
                if now >= deadline or self._stopped:
                    return None
                self._cond.wait(max(0.001, min(wait, deadline - now)))


class VaultFilter:
    """Which changed paths the daemon reacts to: not the state folder (when it sits inside the
    vault), not what Obsidian's settings exclude (`userIgnoreFilters`, template folders)."""

    __slots__ = ("is_excluded", "state_rel")

    def __init__(self, is_excluded: Callable[[str], bool], state_rel: str | None) -> None:
        self.is_excluded = is_excluded
        self.state_rel = state_rel

    def __call__(self, rel: str) -> bool:
        state = self.state_rel
        if state and (rel == state or rel.startswith(state + "/")):
            return False
        return not self.is_excluded(rel)

    def __repr__(self) -> str:
        return f"VaultFilter(state_rel={self.state_rel!r})"
