"""`Companion`: the one composition root. The CLI, the daemon (and the MCP server next) are shells
over its operations; none of them wires the store, sync, the writers or the model itself.

What it owns:

- *reading*: `search`, `graph`, `backlinks`, `status` — no lock; a long-lived process (`serve`)
  answers searches from pooled WAL readers, so a search never waits for a write;
- *writing*: `index`, `reconcile`, `sync_paths`, `update`, `bump`, `wrote`, `write_generated`,
  `log`, `embed_pending`, `store_vectors` — every one holds the vault's single-writer lock while it
  runs (`writing`): a one-shot command for that one operation, the daemon for its lifetime
  (`hold_writer`). A second writer waits `lock_wait` seconds, then gets `WriterBusy` (exit 75);
- *who is told*: every sync's report goes to `on_sync`, which is how the daemon's schedule learns
  what changed without the daemon calling the store.

`index` and the daemon are two schedules over the same operations: `index` runs them once, in
order (sync -> bump edited pages -> catalog -> log -> embed); the daemon runs them when its timers
say (`daemon/schedule.py`). A `Companion` the daemon drives is `live`: the daemon keeps the index
current itself, so `update` neither re-indexes before it writes nor embeds after.

One-shot speed: a BM25 search or `status` in a fresh process loads SQLite and nothing else heavy
(docs/benchmarks.md), so the modules only writing, the graph or vectors need are imported inside
the operations that use them.
"""

from __future__ import annotations

import contextlib
import json
import queue
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from companion.config import Settings, load_settings
from companion.embed import Embedder, ModelInfo, chunk_chars_for, embedder_for, model_info
from companion.errors import CompanionError, NoteNotFound, NotIndexed, VaultLeased
from companion.search.rank import Hit, Mode, search
from companion.store.db import CORRUPTION, Store
from companion.vault.locate import find_vault
from companion.write.atomic import OwnWrites
from companion.write.generated import WriteReport
from companion.write.lock import LOCK_NAME, WAIT, WriterLock
from companion.write.state import ensure_state_dir

if TYPE_CHECKING:
    from companion.ask.answer import Answer
    from companion.graph import VaultGraph
    from companion.ingest.plan import Plan
    from companion.ingest.report import IngestReport
    from companion.lint.checks import Finding
    from companion.search.memory import VectorIndex
    from companion.store.rows import EdgeRow, PendingChunk
    from companion.sync.embedding import BatchOutcome
    from companion.sync.reconcile import SyncReport
    from companion.write.git import GitHistory
    from companion.write.pages import Bumped, PageChange, Unchanged, UpdateResult

# Chunks embedded and committed per step of `embed_pending`: the progress bar moves after each,
# so at the bundled model's 40-70 chunks/s on 2 cores it moves about twice a second. 256 and 32
# embedded a 1,000-note vault (7,767 chunks) at the same 67 chunks/s.
EMBED_BATCH = 32
Progress = Callable[[int, int], None]
SyncListener = Callable[["SyncReport", bool], None]  # (report, changes already settled)


@dataclass(slots=True)
class IndexResult:
    sync: SyncReport
    catalog: WriteReport
    log: WriteReport
    bumped: list[tuple[str, int, int]] = field(default_factory=list)  # (path, old, new)
    not_bumped: list[tuple[str, str]] = field(default_factory=list)  # (path, why): refused
    embedded: int = 0
    embed_seconds: float = 0.0
    embed_pending: int = 0
    reembedded_all: bool = False
    interrupted: bool = False  # the CLI's Ctrl-C during embedding: what was done is kept
    written: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class EmbeddingProgress:
    embedded: int  # distinct chunk texts with a vector from the current model
    embeddable: int  # distinct non-empty searchable chunk texts

    @property
    def pct(self) -> float:
        return round(100.0 * self.embedded / self.embeddable, 1) if self.embeddable else 100.0

    def as_json(self) -> dict[str, Any]:
        return {"embedded": self.embedded, "embeddable": self.embeddable, "embedded_pct": self.pct}


@dataclass(slots=True)
class Status:
    vault: str
    state_dir: str
    counts: dict[str, int]
    embedding: EmbeddingProgress
    model: str
    model_fingerprint: str
    database: str
    database_bytes: int
    last_index: dict[str, Any] | None
    problems: list[dict[str, Any]]
    daemon: dict[str, Any] | None = None  # what a running daemon adds (its pid, queue, events)
    vault_writer: str | None = None  # who holds the vault's lease, when one does
    sources: dict[str, Any] = field(default_factory=dict)  # the ingest ledger's counts and problems
    conflicts_open: int = 0  # conflict callouts open on the vault's pages (CONFLICT.md)
    conflict_queue: str | None = None  # why CONFLICT.md is not written, when it is not
    lint: dict[str, Any] | None = None  # the last lint run: when, how long, findings per kind

    def as_json(self) -> dict[str, Any]:
        return {
            "vault": self.vault,
            "state_dir": self.state_dir,
            **self.counts,
            **self.embedding.as_json(),
            "model": self.model,
            "model_fingerprint": self.model_fingerprint,
            "database": self.database,
            "database_bytes": self.database_bytes,
            "last_index": self.last_index,
            "problems": self.problems,
            "daemon": self.daemon,
            "vault_writer": self.vault_writer,
            "sources": self.sources,
            "conflicts_open": self.conflicts_open,
            "conflict_queue": self.conflict_queue,
            "lint": self.lint,
        }


def _json_dict(raw: str) -> dict[str, Any]:
    try:
        value = json.loads(raw or "{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


@dataclass(slots=True)
class LintReport:
    """What `lint` found (and, with --fix, the pages it fixed)."""

    findings: list[Finding]
    fixed: list[str]
    seconds: float
    skipped: list[str] = field(default_factory=list)  # `path: why` a fix was not written
    fix_run: bool = False
    note: str | None = None  # the index is older than the vault (a one-shot run says so)

    def summary(self) -> dict[str, Any]:
        from companion.lint.checks import counts

        return {
            "at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "seconds": round(self.seconds, 3),
            "counts": counts(self.findings),
            "findings": len(self.findings),
        }

    def as_json(self) -> dict[str, Any]:
        return {
            **self.summary(),
            "fixed": self.fixed,
            "not_fixed": self.skipped,
            "fix_run": self.fix_run,
            "note": self.note,
            "findings": [f.as_json() for f in self.findings],
        }


def _news(report: SyncReport) -> tuple[list[str], list[str], list[str]]:
    """What people added, changed and removed: companion's own generated notes changed elsewhere
    (by another companion, a second machine, a sync tool) are not news for the log."""
    from companion.render.index_md import is_generated_path

    added, changed, removed = (
        [p for p in paths if not is_generated_path(p)]
        for paths in (report.added, report.changed, report.removed)
    )
    return added, changed, removed


class Companion:
    def __init__(
        self,
        settings: Settings,
        *,
        thorough: bool = False,
        writer: str | None = None,
        lock_wait: float = WAIT,
        lease: bool = True,
    ) -> None:
        """Open the vault's index (moving a damaged database aside; `thorough` checks every page
        of it first, as the daemon does at start). With `writer` (a role, e.g. "daemon"), take the
        writer lock first and hold it until `close`: nothing is opened, checked or repaired
        before this process is the vault's writer. `lease=False` takes only the state folder's
        lock: a read-only daemon keeps its own index current but never writes to the vault
        (another companion holds the vault's lease, write/lease.py)."""
        self.settings = settings
        ensure_state_dir(settings.state_dir)
        self.lock_wait = lock_wait
        self._lock = WriterLock(
            settings.state_dir / LOCK_NAME, vault=settings.vault, ttl=settings.lease_ttl
        )
        self.read_only = writer is not None and not lease  # a read-only daemon (see `writing`)
        if writer is not None:
            self._lock.acquire(writer, wait=lock_wait, lease=lease)
        try:
            self.store, self.recovered = Store.open_or_recover(settings.db_path, thorough)
        except BaseException:
            self._lock.release()
            raise
        self.recovered_write: str | None = None
        self._pending_kept: dict[str, dict[str, Any]] | None = None
        self._credits: dict[str, str] = {}  # path -> hash companion wrote, not yet confirmed
        # Conflicts whose callouts an ingest took off with the fact they disputed: forgotten by
        # the next CONFLICT.md write, not closed as resolved (a source back with the fact
        # raises them again).
        self._withdrawn: set[str] = set()
        self.own = OwnWrites(settings.vault)
        self.on_sync: SyncListener | None = None
        self.live = False  # driven by a daemon, which keeps the index current itself
        self._model: ModelInfo | None = None
        self._embedder: Embedder | None = None
        self._memory: VectorIndex | None = None
        self._readers: queue.Queue[tuple[int, Store]] | None = None
        self._generation = 0  # database files opened: a reader of an older one is closed
        self._git: GitHistory | None = None  # write/git.py, when `settings.git` and first needed
        self._git_pending: dict[str, bytes] = {}

    @classmethod
    def open(
        cls,
        vault: str | None = None,
        *,
        state_dir: str | None = None,
        model: str | None = None,
        embed_backend: str | None = None,
        cwd: Path | None = None,
    ) -> Companion:
        root = find_vault(vault, cwd or Path.cwd())
        return cls(
            load_settings(root, state_dir=state_dir, model=model, embed_backend=embed_backend)
        )

    @staticmethod
    def init(path: Path) -> list[str]:
        """Scaffold a vault at `path` (never overwriting a file); returns what was created."""
        from companion.write.scaffold import init_vault

        return init_vault(path)

    def _close_readers(self) -> None:
        if self._readers is not None:
            while not self._readers.empty():
                self._readers.get_nowait()[1].close()

    def close(self) -> None:
        self.store.close()
        self._close_readers()
        if self._memory is not None:
            self._memory.close()
        self._lock.release()

    def __enter__(self) -> Companion:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- the writer lock ------------------------------------------------------------------------

    @contextlib.contextmanager
    def writing(
        self, role: str, *, vault: bool = True, wait: float | None = None
    ) -> Iterator[None]:
        """Hold the writer lock for one operation: the state folder's lock and — for an
        operation that writes to the vault (`vault`) — the vault's lease. Already held: nothing
        to take (the lease is checked, so a writer that lost it stops). A process holding only
        the state folder's lock (a read-only daemon) is refused vault writes, naming the owner.
        `wait`: how long to wait for another writer (default `lock_wait`), then `WriterBusy`."""
        lock = self._lock
        if lock.state_held:
            if not vault or lock.held or lock.lost:
                if vault:
                    lock.ensure()  # LeaseLost when another companion took the vault over
                yield
                return
            if self.read_only:
                raise self.read_only_error()
            # A one-shot holding the index only (e.g. `index` while it embeds) writes the vault
            # now: the lease for this operation only, so it is never held through embedding.
            lock.acquire(role, wait=self.lock_wait)
            try:
                yield
            finally:
                if lock.lease is not None:
                    lock.lease.release()
            return
        lock.acquire(role, wait=self.lock_wait if wait is None else wait, lease=vault)
        try:
            yield
        finally:
            lock.release()

    def _may_write(self) -> None:
        """Right before a write to the vault: the lease is still ours (a process suspended past
        its TTL, taken over meanwhile, must not write when it wakes)."""
        self._lock.ensure()

    def read_only_error(self) -> VaultLeased:
        """Why this companion may not write to the vault: another one holds its lease."""
        owner = self._lock.owner()
        who = owner.describe() if owner is not None else "another companion"
        return VaultLeased(
            f"this companion is read-only: the vault {self.settings.vault} is written by {who}; "
            "it takes over when that lease expires. Nothing written",
            owner,
        )

    def take_lease(self, role: str) -> bool:
        """Try once, without waiting, to take the vault's lease (a read-only daemon whose
        owner may have gone); True when this companion may write to the vault now."""
        from companion.errors import WriterBusy

        try:
            self._lock.acquire(role, wait=0.0)
        except WriterBusy:
            return False
        self.read_only = not self._lock.held
        return self._lock.held

    @property
    def vault_writer(self) -> bool:
        """Whether this companion holds the vault's lease (may write to the vault)."""
        return self._lock.held

    def hold_writer(self, role: str) -> None:
        """Take the writer lock until `close` (a long-lived writer; the daemon passes `writer=`
        to the constructor instead, so it holds the lock before the index is opened)."""
        if not self._lock.held:
            self._lock.acquire(role, wait=self.lock_wait)

    # -- model ----------------------------------------------------------------------------------

    @property
    def model(self) -> ModelInfo:
        if self._model is None:
            self._model = model_info(self.settings.model, self.settings.embed_backend)
        return self._model

    @property
    def embedder(self) -> Embedder:
        if self._embedder is None:
            self._embedder = embedder_for(self.model, self.settings.batch_size)
        return self._embedder

    def use_embedder(self, embedder: Embedder) -> None:
        """Share an already-loaded model (tests, the daemon) instead of loading another."""
        self._embedder = embedder

    def keep_vectors_in_memory(self) -> None:
        """For a long-lived process (a server, a notebook, the benchmarks): vector search then
        answers from an in-memory copy of the vectors, kept in step with the store, instead of
        sqlite-vec's scan. A one-shot command should not: loading every vector costs more than
        the one query it answers."""
        if self._memory is None:
            from companion.search.memory import VectorIndex

            self._memory = VectorIndex(self.model.fingerprint, self.model.dim)

    @property
    def memory(self) -> VectorIndex | None:
        """The in-memory vectors, once `keep_vectors_in_memory` was called."""
        return self._memory

    def serve(self) -> None:
        """Become a long-lived server: vectors in memory, and searches on pooled read
        connections (WAL: they never wait for the writer), so any thread may search."""
        self.keep_vectors_in_memory()
        if self._readers is None:
            self._readers = queue.Queue()

    def load_vectors(self) -> None:
        """Load the in-memory vectors now rather than on the first search."""
        if self._memory is None:
            return
        with self._reading() as store:
            self._memory.refresh(store)

    @contextlib.contextmanager
    def _reading(self) -> Iterator[Store]:
        if self._readers is None:
            yield self.store
            return
        try:
            generation, reader = self._readers.get_nowait()
        except queue.Empty:
            generation = self._generation  # read before opening: a rebuild moves it on after
            reader = Store.open(self.settings.db_path)
        try:
            yield reader
        finally:
            if generation == self._generation:
                self._readers.put((generation, reader))
            else:  # the database was rebuilt meanwhile: this one may read the removed file
                reader.close()

    @property
    def _max_chars(self) -> int:
        return chunk_chars_for(self.model.window)

    # -- syncing --------------------------------------------------------------------------------

    def _told(self, report: SyncReport, settled: bool = False) -> SyncReport:
        for path in report.credited + report.unversioned + report.removed:
            self._credits.pop(path, None)  # settled: companion's bytes, or a person's
        if report.unversioned or report.credited or report.removed or report.renamed:
            self._keep_pending()
        if self.on_sync is not None:
            self.on_sync(report, settled)
        return report

    # -- waiting bumps, kept with the vault (write/pending.py) -----------------------------------

    def _keep_pending(self) -> None:
        """The vault's writer keeps the list of pages waiting for a bump beside its lease, so a
        rebuilt index or another companion taking over still knows them. Written only when it
        changed, and never by a read-only companion."""
        from companion.write.pending import load_pending, save_pending

        if not self._lock.held:
            return
        pages = {p: {"hash": h, "version": v} for p, (h, v) in self.store.pages.pending().items()}
        if self._pending_kept is None:
            self._pending_kept = load_pending(self.settings.vault)
        if pages == self._pending_kept:
            return
        try:
            save_pending(self.settings.vault, pages)
        except (OSError, CompanionError):
            return  # the flags are still in the index; the list is retried on the next change
        self._pending_kept = pages

    def adopt_pending(self) -> list[str]:
        """Flag the pages the vault's last writer left waiting for a bump (its list beside the
        lease) that this index does not know as waiting: a rebuilt index, a new state folder,
        a take-over. Returns those flagged."""
        from companion.write.pending import load_pending

        wanted = {}
        for path, entry in load_pending(self.settings.vault).items():
            version = entry.get("version")
            if self.settings.schema.is_managed(path):
                wanted[path] = version if isinstance(version, int) else 0
        if not wanted:
            return []
        with self.writing("companion index", vault=False), self.store.transaction():
            return self.store.pages.adopt_pending(wanted)

    def rebuild(self) -> None:
        """Forget the index entirely; the next `index` rebuilds it from the markdown."""
        from companion.write.state import remove_database

        with self.writing("companion index --rebuild", vault=False):
            self.store.close()
            self._generation += 1  # readers handed out now are closed when they come back
            self._close_readers()  # they still read the file being removed
            remove_database(self.settings.db_path)
            self.store = Store.open(self.settings.db_path)
            self._generation += 1  # and a reader opened while the file was being replaced
            if self._memory is not None:  # its vectors were the old database's
                from companion.search.memory import VectorIndex

                self._memory.close()
                self._memory = VectorIndex(self.model.fingerprint, self.model.dim)

    def sync(self, progress: Progress | None = None, *, settled: bool = False) -> SyncReport:
        """Bring the whole index in line with the vault; a database found damaged on the way is
        rebuilt from the markdown (it is only a cache)."""
        from companion.sync.reconcile import sync_vault

        with self.writing("companion index", vault=False):
            replaced = self._other_vault()
            if replaced is not None:
                self.recovered = replaced
                self.rebuild()
            self._remember_vault()
            try:
                report = sync_vault(
                    self.settings, self.store, self._max_chars, progress, self._credits
                )
            except CORRUPTION as exc:
                self.recovered = (
                    f"the index database was damaged ({exc}); rebuilt it from the markdown"
                )
                self.rebuild()
                report = sync_vault(
                    self.settings, self.store, self._max_chars, progress, self._credits
                )
            return self._told(report, settled)

    def _vault_ids(self) -> tuple[str | None, str | None] | None:
        """(the id this index remembers, the id the vault holds) — write/identity.py — or None
        when the index is damaged (the sync rebuilds it anyway)."""
        from companion.write.identity import read_vault_id

        try:
            known = self.store.meta.get("vault_id")
        except CORRUPTION:
            return None
        return known, read_vault_id(self.settings.vault)

    def _other_vault(self) -> str | None:
        """Why this index is another vault folder's, or None when it is this one's, or cannot
        tell (an index from before vault ids, or a damaged one)."""
        from companion.write.identity import ID_PATH

        ids = self._vault_ids()
        if ids is None or ids[0] is None or ids[0] == ids[1]:
            return None
        why = "is missing" if ids[1] is None else "differs"
        return (
            f"the index in {self.settings.state_dir} was built from another folder at this path "
            f"(the vault's {ID_PATH} {why}): rebuilt it from the markdown"
        )

    def adopt_vault_id(self) -> None:
        """Give the vault its id when it has none and record it (the daemon's start, which
        runs no `index`); a read-only companion only records one the vault has."""
        if self.read_only:
            self._remember_vault()
            return
        with self.writing("companion watch"):
            self._remember_vault(create=True)

    def _remember_vault(self, *, create: bool = False) -> None:
        """Record the vault's id in the index; with `create` (an `index` run, which holds the
        vault's lease and writes it anyway), give the vault one first when it has none (never a
        read-only companion, nor a dry run: they only read)."""
        from companion.write.identity import make_vault_id

        ids = self._vault_ids()
        if ids is None:
            return
        known, ours = ids
        if ours is None and create and not self.read_only:
            try:
                ours = make_vault_id(self.settings.vault)
            except CompanionError:  # e.g. a folder in its place: the index works without one
                return
        if ours is not None and ours != known:
            self.store.meta.set("vault_id", ours)

    def sync_paths(
        self, paths: list[str], credits: dict[str, str] | None = None, *, force: bool = False
    ) -> SyncReport:
        """Bring the index in line with the disk for just these vault paths (a watcher batch).
        `credits`: path -> hash of the bytes companion just wrote there (sync/reconcile.py);
        `force`: hash them whatever their stat says."""
        from companion.sync.reconcile import sync_paths

        with self.writing("companion sync", vault=False):
            wanted = {**self._credits, **(credits or {})}
            report = sync_paths(
                self.settings, self.store, paths, self._max_chars, wanted, force=force
            )
            return self._told(report)

    def wrote(self, paths: list[str], hashes: dict[str, str] | None = None) -> SyncReport:
        """Record files companion just wrote as its own (their watcher events are ignored) and
        index them right away. Each is credited with exactly the bytes written (`hashes`): if a
        person saved in between, the sync sees other bytes, and that edit gets its own bump."""
        for path in paths:
            self.own.record(path, (hashes or {}).get(path))
        if self.settings.git:
            self._git_record(paths, hashes or {})
        # Kept until a sync has read the file (one that finds it changing while being read
        # cannot say whose bytes it holds, and must not fall back on "the version went up").
        self._credits.update(hashes or {})
        return self.sync_paths(paths)

    # -- git history (optional) ---------------------------------------------------------------

    def _git_record(self, paths: list[str], hashes: dict[str, str]) -> None:
        """Keep the bytes companion just wrote for the operation's commit (write/git.py); the
        operation ends with its log.md entry, or with the catalog: commit then."""
        import sys

        from companion.render.log_md import LOG_PATH
        from companion.vault.walk import content_hash
        from companion.write.git import GitHistory

        if self._git is None:
            self._git = GitHistory(self.settings.vault)
        if self._git.problem is not None:
            if not self._git.reported:
                self._git.reported = True
                print(f"note: {self._git.problem}", file=sys.stderr)
            return
        for path in paths:
            data = (self.settings.vault / path).read_bytes() if path in hashes else None
            if data is not None and content_hash(data) == hashes[path]:
                self._git_pending[path] = data  # exactly companion's bytes, or nothing
        if LOG_PATH in paths and LOG_PATH in self._git_pending:
            heads = [  # `## [2026-12-01 10:02] update | ...` -> `update | ...`
                line.partition("] ")[2].strip()
                for line in self._git_pending[LOG_PATH].decode("utf-8", "replace").splitlines()
                if line.startswith("## [")
            ]
            self._git_flush(heads[-1] if heads else "companion: log.md")

    def _git_flush(self, message: str) -> None:
        """Commit what is pending (files written after the operation's log entry: the catalog)."""
        import sys

        from companion.write.git import GitError

        if not self._git_pending or self._git is None or self._git.problem is not None:
            return
        pending, self._git_pending = self._git_pending, {}
        try:
            self._git.commit(pending, message)
        except GitError as exc:
            print(f"note: git history: {exc}", file=sys.stderr)

    def index(
        self,
        *,
        embed: bool = True,
        rebuild: bool = False,
        progress: Progress | None = None,
        embed_progress: Progress | None = None,
        now: datetime | None = None,
    ) -> IndexResult:
        """One full pass: sync the index with the vault -> bump managed pages edited without a
        bump -> write index.md when the catalog changed -> append a log.md entry when anything
        changed -> embed what has no vector yet. Text search works as soon as the sync commits;
        embedding commits batch by batch, so Ctrl-C loses nothing."""
        from companion.render.log_md import counts_line, index_bullets, rebuild_line
        from companion.sync.reconcile import record_run
        from companion.write.journal import recover

        with self.writing("companion index"):
            if rebuild:
                self.rebuild()
            self.recovered_write = recover(self.settings.state_dir, self.settings.vault)
            try:
                fresh = self.store.pages.empty()
            except CORRUPTION:
                fresh = True  # the sync rebuilds the damaged index from the markdown
            report = self.sync(progress)  # it tells another vault folder's index apart first
            self._remember_vault(create=True)
            self.adopt_pending()  # a rebuilt index must not forget a person's waiting edit
            bumped, not_bumped = self._bump_settled()
            # Every run: a crash between the sync's commit and the catalog write must not leave
            # index.md stale for good (rendering compares, and writes only what differs).
            catalog = self.write_generated()
            log, logged = WriteReport(), None
            refused = not_bumped + catalog.refused
            added, changed, removed = _news(report)
            if fresh:
                notes = self.store.pages.vault_notes()
                bullets = index_bullets(
                    [], [], [], bumped, 0, catalog.written, refused, report.problems
                )
                log, logged = self._log("rebuild", rebuild_line(notes), bullets, now)
            elif added or changed or removed or report.relinked or catalog.touched or bumped:
                counts = counts_line(len(added), len(changed), len(removed), report.seconds)
                bullets = index_bullets(
                    added,
                    changed,
                    removed,
                    bumped,
                    report.relinked,
                    catalog.written,
                    refused,
                    report.problems,
                )
                log, logged = self._log("index", counts, bullets, now)
            if logged is not None and logged.relinked:  # e.g. a person's [[log]] resolves now
                catalog.merge(self.write_generated())
            result = IndexResult(report, catalog, log, bumped, not_bumped=not_bumped)
            result.written = catalog.touched + log.written
            if report.changed_anything:
                record_run(self.store, report)
        if embed:  # the vault's lease is not held while embedding; Ctrl-C keeps every batch
            self.embed_pending(result, embed_progress)
        return result

    def reconcile(
        self, *, initial: bool = False, recovered: str | None = None
    ) -> tuple[SyncReport, WriteReport]:
        """The daemon's full rescan: pick up everything that changed while nobody watched, with a
        log entry when something did. At start-up (`initial`) those changes are already quiet.
        Returns the sync's report and what the catalog write did (refusals included)."""
        from companion.render.log_md import counts_line, rebuild_line
        from companion.sync.reconcile import record_run

        with self.writing("companion daemon"):
            fresh = self.store.pages.empty()
            report = self.sync(settled=initial)
            self.adopt_pending()
            with self.store.transaction():
                self.store.vectors.drop_unused()
            added, changed, removed = _news(report)
            if fresh:
                notes = self.store.pages.vault_notes()
                self.log("rebuild", rebuild_line(notes), [recovered] if recovered else [])
            elif added or changed or removed or report.relinked or recovered:
                bullets = [counts_line(len(added), len(changed), len(removed))]
                bullets += [f"renamed `{a}` → `{b}`" for a, b in report.renamed][:20]
                if recovered:
                    bullets.append(recovered)
                files = f"{len(self.store.pages.paths())} files in {report.seconds:.2f}s"
                self.log("start" if initial else "reconcile", files, bullets)
            catalog = self.write_generated()
            record_run(self.store, report)
            return report, catalog

    def log_changes(self, report: SyncReport) -> WriteReport:
        """The daemon's log entry for a watcher batch that added or removed files."""
        from companion.render.log_md import change_bullets, counts_line

        added, _, removed = _news(report)
        if not (added or removed):
            return WriteReport()
        headline = counts_line(len(added), None, len(removed))
        return self.log("sync", headline, change_bullets(added, removed, report.renamed))

    # -- writing generated notes ----------------------------------------------------------------

    def write_generated(self) -> WriteReport:
        """Render index.md (and its sub-indexes) from the index and write what changed, then index
        what was written. A generated note can capture links (a person's `[[Index]]` resolves to
        the root index.md, as in Obsidian), which changes the catalog: re-render until stable."""
        from companion.render.index_md import SUBINDEX_FOLDER, render_index
        from companion.write.generated import write_notes

        total = WriteReport()
        with self.writing("companion index"):
            total.merge(self._write_conflicts())  # first: the catalog lists CONFLICT.md
            for _ in range(3):
                pages, links = self.store.pages, self.store.links
                titles = pages.titles()
                notes = render_index(
                    pages.catalog(),
                    links.orphans(),
                    links.unresolved(),
                    self.settings.schema,
                    titles,
                    pages.counts()["unresolved"],
                )
                state = self.settings.state_dir
                self._may_write()
                report = write_notes(self.settings.vault, state, notes, SUBINDEX_FOLDER, "catalog")
                total.merge(report)
                if not report.touched or not self.wrote(report.touched, report.hashes).relinked:
                    break
        if self.settings.git:
            self._git_flush("catalog | " + ", ".join(sorted(self._git_pending)))
        return total

    def _read_back_queue(
        self, queue: str, records: dict[str, Any], callouts: list[Any], day: str
    ) -> None:
        """What a CONFLICT.md the companion wrote says that this index does not know (a rebuild,
        a new state folder): its resolved conflicts, recorded closed; and its open ones whose
        callout is on no page (deleted while the index was away), recorded to be closed now."""
        from companion.conflicts.callouts import open_rows, resolved_rows
        from companion.store.conflicts import Record

        store = self.store.conflicts
        for ident, (title, page, closed) in resolved_rows(queue).items():
            if ident not in records:
                records[ident] = Record(ident, title, page, "", "", "", "", "", closed or day)
                store.record(records[ident])
        on_pages = {c.id for c in callouts}
        for ident, (title, page) in open_rows(queue).items():
            if ident not in records and ident not in on_pages:
                records[ident] = Record(ident, title, page, "", "", "", "", "", "")
                store.record(records[ident])

    def _write_conflicts(self) -> WriteReport:
        """CONFLICT.md from the callouts the pages hold (SYSTEM.md §9), and the record of every
        conflict: one seen open is remembered; one whose callout is gone or marked resolved is
        closed, once, with its log.md entry; after a rebuild, the closures CONFLICT.md lists are
        read back first, so a resolved conflict is never raised again."""
        from companion.store.conflicts import Record
        from companion.write.atomic import read_regular
        from companion.write.conflicts import CONFLICT_PATH, ConflictEntry, conflict_md
        from companion.write.generated import is_generated, write_notes

        store = self.store.conflicts
        try:
            held = read_regular(self.settings.vault, CONFLICT_PATH, 16 * 1024 * 1024)
        except CompanionError as exc:  # a FIFO, a symlink out of the vault: not ours to write
            return WriteReport(refused=[(CONFLICT_PATH, str(exc))])
        ours = held is not None and is_generated(held)
        callouts = store.callouts()
        records = {r.id: r for r in store.records()}
        if not callouts and not records and not ours:
            return WriteReport()  # no conflict ever: no CONFLICT.md either
        raw = self._raw_sources()
        day = datetime.now().date().isoformat()
        closures: list[str] = []
        with self.store.transaction():
            if ours and held is not None:
                self._read_back_queue(held.decode("utf-8", "replace"), records, callouts, day)
            open_now: dict[str, ConflictEntry] = {}
            resolved_now: set[str] = set()
            for c in callouts:
                if c.status == "resolved":
                    resolved_now.add(c.id)
                if c.status != "open" or c.id in open_now:
                    continue
                self._withdrawn.discard(c.id)  # shown again: a later removal is a person's
                sources = [raw(s[0]) if s else "" for s in (*c.sources, (), ())][:2]
                claims = [*c.claims, "", ""][:2]
                open_now[c.id] = ConflictEntry(
                    c.id, c.conflict, c.page, c.title, sources[0], sources[1], c.opened
                )
                if c.id not in records or records[c.id].closed:
                    r = Record(
                        c.id,
                        c.conflict,
                        c.page,
                        claims[0],
                        claims[1],
                        sources[0],
                        sources[1],
                        c.opened,
                        "",
                    )
                    store.record(r)
                    store.reopen(c.id)
                    records[c.id] = r
            for ident, r in records.items():
                if not r.closed and ident not in open_now and ident in self._withdrawn:
                    store.forget([ident])  # the disputed fact is gone: no resolution to keep
                    self._withdrawn.discard(ident)
                elif not r.closed and ident not in open_now:
                    store.close(ident, day)
                    how = "marked resolved" if ident in resolved_now else "callout removed"
                    closures.append(f"closed: {r.title} (`{ident}`, {how})")
            resolved = [
                ConflictEntry(
                    r.id,
                    r.title,
                    r.page,
                    r.page.rsplit("/", 1)[-1].removesuffix(".md"),
                    r.a_source,
                    r.b_source,
                    r.opened,
                    r.closed or day,
                )
                for r in store.records()
                if r.closed
            ]
        text = conflict_md(list(open_now.values()), resolved)
        self._may_write()
        report = write_notes(
            self.settings.vault,
            self.settings.state_dir,
            {CONFLICT_PATH: text},
            None,
            "conflict queue",
        )
        if report.touched:
            self.wrote(report.touched, report.hashes)
        if closures:
            self.log("conflict", f"{len(closures)} conflict(s) closed", closures)
        # After the closures are logged: a page that cannot be rewritten now never costs its
        # closure's entry. The rewrite gets no log entry of its own: the closure above (or an
        # earlier run's) is the event; the rewrite only takes the page off CONFLICT.md's backlinks.
        closed_on = {r.id: r.closed for r in store.records() if r.closed}
        report.merge(self._rewrite_resolved(closed_on, day))
        return report

    def _rewrite_resolved(self, closed: dict[str, str], day: str) -> WriteReport:
        """Rewrite every resolved callout that still links `[[CONFLICT]]` without the link
        (`write.conflicts.write_resolved`; SYSTEM.md §9), so that the pages linking to CONFLICT.md
        are the ones with an open conflict. `closed`: id -> the day its conflict was closed, the
        date the rewritten callout shows.

        A companion write like any other: only a managed page (a person's page outside the
        managed folders is never written, whatever callout it holds), compared against the bytes
        the index saw, its `version` bumped with `updated` stamped (as ingest and `update` do).
        A page holding a person's edit not yet bumped waits for that bump (SYSTEM.md §8: a
        writer never folds a person's edit into its own version, and the person may still be
        editing); a page saved since the sync is left as the person saved it. Either is
        rewritten on a later sync. A page that cannot be versioned is refused, with the reason."""
        from companion.write.atomic import landing, vault_relative
        from companion.write.conflicts import CONFLICT_PATH, write_resolved

        report = WriteReport()
        vault = self.settings.vault
        # Cheap first cut, one query: only pages linked with CONFLICT.md can still hold the link.
        linked = {page for _, page, _ in self.store.links.linked_pages([CONFLICT_PATH])}
        wanted: dict[str, dict[str, str]] = {}
        for c in self.store.conflicts.callouts("resolved"):
            if c.page in linked and self.settings.schema.is_managed(c.page):
                wanted.setdefault(c.page, {})[c.id] = closed.get(c.id) or day
        states = self.store.pages.file_states(list(wanted))
        for page, days in wanted.items():
            known = states.get(page)
            if known is None or known.unversioned:
                continue  # the person's edit gets its own version first; retried after it
            try:
                if vault_relative(vault, landing(vault, page)) != page:
                    continue  # a link to a page elsewhere: not written through
                self._may_write()
                outcome = write_resolved(
                    vault,
                    page,
                    known.hash,
                    days,
                    datetime.now(),
                    floor=known.seen_version or 0,
                    limit=self.settings.max_note_bytes,
                )
            except CompanionError as exc:  # malformed frontmatter, a link out of the vault
                report.refused.append((page, str(exc)))
                continue
            if outcome is not None:
                report.written.append(page)
                report.hashes[page] = outcome.hash
        if report.written:
            self.wrote(report.written, report.hashes)
        return report

    def log(
        self, op: str, headline: str, bullets: list[str], now: datetime | None = None
    ) -> WriteReport:
        """Append one entry to log.md (created when absent) and index it."""
        return self._log(op, headline, bullets, now)[0]

    def _log(
        self, op: str, headline: str, bullets: list[str], now: datetime | None
    ) -> tuple[WriteReport, SyncReport | None]:
        from companion.render.log_md import LOG_HEADER, LOG_PATH, log_entry
        from companion.write.generated import append_entry

        with self.writing("companion log"):
            entry = log_entry(op, headline, bullets, now or datetime.now())
            self._may_write()
            result = append_entry(self.settings.vault, LOG_PATH, LOG_HEADER, entry)
            synced = self.wrote(result.written, result.hashes) if result.written else None
            return result, synced

    # -- writing pages --------------------------------------------------------------------------

    def page_path(self, page: str) -> str:
        """The vault path an `update` of PAGE would write (`OutsideVault` if it leaves the vault)."""
        from companion.write.pages import vault_path

        return vault_path(self.settings, page)

    def _named_page(self, page: str) -> str:
        """PAGE as `update` takes it: a vault path that exists as given, else the note the name
        resolves to (`find_page`: as a wikilink would, else an alias one note has). A name that
        resolves nowhere is left as given, for the path checks to refuse with their message;
        an ambiguous one raises `AmbiguousName` with the candidates."""
        from companion.errors import AmbiguousName

        try:
            rel = self.page_path(page)
        except CompanionError:
            return page  # refused by the path checks, with their message
        if (self.settings.vault / rel).is_file():
            return page
        try:
            return self.find_page(page)
        except AmbiguousName:
            raise
        except CompanionError:
            return page

    def update(
        self,
        page: str,
        expect_version: int | None,
        change: PageChange | None = None,
        *,
        create: bool = False,
        now: datetime | None = None,
        log: bool = True,
    ) -> UpdateResult | Unchanged:
        """Compare-and-swap write of a managed page (see write/pages.py): refused with
        `VersionConflict` (nothing written) unless the page is still at `expect_version`; one
        log entry; an update that changes nothing writes nothing (`Unchanged`). `create` makes a
        new page at version 1 from its type's template instead.

        The page's bytes must be ones companion has accounted for: the index is brought up to
        date first (a one-shot run indexes the vault; the daemon syncs the page, whose last save
        the watcher may not have delivered yet), and a person's edit still waiting for its
        version bump is bumped now, N -> N+1 — so a writer that read N gets a conflict, re-reads
        the person's text and retries, instead of overwriting it."""
        from companion.write.pages import (
            PageChange,
            Unchanged,
            apply_update,
            check_request,
            check_type,
            create_page,
        )

        change = change or PageChange()
        if not create:
            page = self._named_page(page)
        rel = check_request(self.settings, page, change.body, dict.fromkeys(change.keys))
        check_type(self.settings, rel, change.properties)
        with self.writing("companion update"):
            rel = self.page_path(page)
            template = self._template_for(rel) if create else ""  # refused before any work
            if not self.live:
                self.index(embed=False)  # pick up (and version) edits made since the last index
            # The page itself is hashed whatever its stat says: its bytes now are what the
            # version check below is about (the watcher may not have delivered the last save,
            # and a same-size save in the same clock tick keeps its stat).
            self.sync_paths([rel], force=True)
            if create:
                self._may_write()
                result: UpdateResult | Unchanged = create_page(
                    self.settings, rel, template, change, now
                )
            else:
                if expect_version is None:
                    raise ValueError("expect_version is required unless creating the page")
                known = self.store.pages.file_states([rel]).get(rel)
                if known is not None and known.unversioned:
                    self.bump(rel)  # the person's edit gets its own version first
                    known = self.store.pages.file_states([rel]).get(rel)
                self._may_write()
                result = apply_update(
                    self.settings,
                    rel,
                    expect_version,
                    change,
                    now=now,
                    indexed_hash=known.hash if known else None,
                )
            if isinstance(result, Unchanged):
                return result
            self.wrote([result.path], {result.path: result.hash})
            change_line = (
                f"`{result.path}` created at version 1"
                if create
                else f"`{result.path}` version {result.old_version} → {result.new_version}"
            )
            if log:
                self.log("update", change_line, [], now)
            if not self.live and log:
                self.write_generated()
        if not self.live:
            self.embed_pending()  # the vault's lease is not held while embedding
        return result

    # -- ingest ---------------------------------------------------------------------------------

    def source_path(self, path: str | Path) -> str:
        """The vault path of a source named on the command line (absolute, relative to the working
        folder, or vault-relative); `OutsideVault` unless it is under the sources folder."""
        import os

        from companion.errors import OutsideVault

        folder = self.settings.schema.sources_folder.strip("/")
        vault = self.settings.vault
        given = Path(path)
        candidates = [given] if given.is_absolute() else [Path.cwd() / given, vault / given]
        for candidate in candidates:
            absolute = Path(os.path.abspath(candidate))
            try:
                rel = absolute.relative_to(vault).as_posix()
            except ValueError:
                continue
            if rel.startswith(folder + "/") and (
                os.path.lexists(absolute) or candidate is candidates[-1]
            ):
                return rel
        raise OutsideVault(
            f"{path} is not under the vault's {folder}/ folder: sources are ingested from there "
            f"only. Copy it into {vault / folder}/ first (or use --copy)"
        )

    def copy_source(self, path: str | Path) -> str:
        """Copy a file from outside the vault into the sources folder (`ingest --copy`); its vault
        path. The same bytes already there are reused; a different file of that name is refused
        (sources are never overwritten)."""
        from companion.errors import SourceError
        from companion.vault.walk import content_hash
        from companion.write.atomic import atomic_write, read_regular

        given = Path(path)
        if not given.is_file():
            raise SourceError(f"{path}: no such file to copy into the sources folder")
        from companion.convert import check_suffix

        check_suffix(given.name, self.settings.schema.ingest.formats)  # never copy what is skipped
        limit = self.settings.schema.ingest.max_source_bytes
        if given.stat().st_size > limit:
            raise SourceError(
                f"{path} is over the {limit / 1e6:,.1f} MB limit for sources "
                "(`ingest.max_source_bytes` in SYSTEM.md); not copied"
            )
        data = given.read_bytes()
        rel = f"{self.settings.schema.sources_folder.strip('/')}/{given.name}"
        with self.writing("companion ingest --copy"):
            there = read_regular(self.settings.vault, rel, limit + 1)
            if there is not None:
                if there == data:
                    return rel
                raise SourceError(
                    f"{rel} already exists with other content; sources are never overwritten. "
                    "Rename your file and copy it again"
                )
            self._may_write()
            atomic_write(
                self.settings.vault / rel, data, "", vault=self.settings.vault, make_folders=True
            )
            self.wrote([rel], {rel: content_hash(data)})
        return rel

    def add_source(self, name: str, data: bytes) -> str:
        """Write a new source handed over as bytes (MCP `add_source`) into the sources folder
        under a safe, free name (write/sources.py: never a path, never an existing file's);
        its vault path. Refused before anything is written: a format ingest does not read, a
        file over `ingest.max_source_bytes`. The caller ingests it."""
        import os

        from companion.convert import check_suffix
        from companion.errors import SourceError
        from companion.vault.walk import content_hash
        from companion.write.atomic import atomic_write
        from companion.write.sources import free_name, safe_source_name

        file_name = safe_source_name(name)
        check_suffix(file_name, self.settings.schema.ingest.formats)
        limit = self.settings.schema.ingest.max_source_bytes
        if len(data) > limit:
            raise SourceError(
                f"{file_name}: {len(data):,} bytes is over the {limit / 1e6:,.1f} MB limit for "
                "sources (`ingest.max_source_bytes` in SYSTEM.md); nothing written"
            )
        folder = self.settings.schema.sources_folder.strip("/")
        vault = self.settings.vault

        def taken(n: str) -> bool:
            there = vault / folder
            names = {x.casefold() for x in os.listdir(there)} if there.is_dir() else set()
            return os.path.lexists(there / n) or n.casefold() in names

        with self.writing("companion add_source"):
            rel = f"{folder}/{free_name(file_name, taken)}"
            self._may_write()
            atomic_write(vault / rel, data, "", vault=vault, make_folders=True)
            self.wrote([rel], {rel: content_hash(data)})
        return rel

    def ingest(
        self,
        paths: list[str] | None = None,
        *,
        force: bool = False,
        dry_run: bool = False,
        missing_ok: bool = False,
        now: datetime | None = None,
    ) -> IngestReport:
        """Ingest sources into wiki pages (companion/ingest/pipeline.py): every source under the
        sources folder that is new or changed, or only `paths` (vault paths under it). Each source's
        pages and its log.md entry are one journaled transaction; index.md follows."""
        from companion.ingest.pipeline import Ingester
        from companion.ingest.synth import choose

        synthesizer = choose(self.settings)  # a bad LLM setting is refused before any work
        # A dry run writes nothing to the vault (no catalog, no log, not even the lease): it
        # brings only the index, in the state folder, up to date.
        with self.writing("companion ingest", vault=not dry_run):
            if dry_run and not self.live:
                self.sync()
            elif not self.live:
                self.index(embed=False)
            folders = {t.name: t.folder for t in self.settings.schema.page_types}

            def template(type_name: str) -> str:
                return self._template_for(f"{folders.get(type_name, 'wiki')}/page.md")

            ingester = Ingester(
                self.settings,
                self.store,
                synthesizer,
                templates=template,
                commit=lambda plan, title, bullets: self._commit_plan(plan, title, bullets, now),
                settle=self._settle_edits,
                **({"now": lambda: now} if now is not None else {}),
            )
            if paths is not None:
                if self.live:  # the watcher may not have delivered a file dropped just now
                    self.sync_paths(paths)
                    ingester.view.refresh()
                present = set(ingester.sources())
                missing = [p for p in paths if p not in present]
                if missing and not missing_ok:
                    raise NoteNotFound(
                        f"no source {missing[0]} in the vault (sources are files under "
                        f"{self.settings.schema.sources_folder}/)"
                    )
                paths = [p for p in paths if p in present]  # a deleted one: withdrawn below
            report = ingester.run(paths, force=force, dry_run=dry_run)
            if report.written:
                generated = self.write_generated()
                report.notes.extend(f"did not write {p}: {why}" for p, why in generated.refused)
        if report.written and not self.live:
            self.embed_pending()
        return report

    def ingest_retries(self) -> list[tuple[str, float]]:
        """(source, epoch seconds) of every source whose synthesis is to be tried again."""
        return [
            (row.path, row.next_try or 0.0)
            for row in self.store.sources.all()
            if row.state == "retrying"
        ]

    def _settle_edits(self, paths: list[str], recheck: bool) -> bool:
        """Bump the version of every page among `paths` holding a person's edit not yet bumped
        (SYSTEM.md §8: a writer never folds a person's edit into its own version). The files are
        looked at again first when the daemon runs (its watcher may lag a save) or when a write
        was refused because a page changed; a one-shot run indexed the vault just before."""
        if self.live or recheck:
            self.sync_paths(paths, force=True)
        states = self.store.pages.file_states(paths)
        bumped = False
        for path in paths:
            known = states.get(path)
            if known is not None and known.unversioned:
                bumped = not isinstance(self.bump(path), str) or bumped
        return bumped

    def _commit_plan(
        self, plan: Plan, title: str, bullets: list[str], now: datetime | None
    ) -> None:
        """Write one source's pages and its log.md entry as one journaled transaction (all or
        nothing, replayed after a crash), then index what was written. `ChangedOnDisk` when a
        page changed since it was read: nothing is written."""
        from companion.errors import PageRefused
        from companion.ingest.neutral import neutralise
        from companion.render.log_md import LOG_HEADER, LOG_PATH, log_entry
        from companion.vault.walk import content_hash
        from companion.write.atomic import landing, read_regular, vault_relative
        from companion.write.generated import is_generated
        from companion.write.journal import write_files

        vault = self.settings.vault
        changes: dict[Path, tuple[bytes, str | None]] = {}
        written: dict[str, str] = {}
        for page in plan.writes:
            real = vault_relative(vault, landing(vault, page.rel))
            if real != page.rel or not self.settings.schema.is_managed(real):
                raise PageRefused(
                    f"{page.rel} would land on {real}: not a managed page; nothing written"
                )
            data = page.text.encode("utf-8")
            changes[vault / page.rel] = (data, page.expected)
            written[page.rel] = content_hash(data)
        headline = neutralise(title)[:120] or "a source"
        entry = log_entry("ingest", headline, bullets, now or datetime.now())
        log = read_regular(vault, LOG_PATH, 64 * 1024 * 1024)
        if log is None or is_generated(log):
            base = log if log is not None else LOG_HEADER.encode("utf-8")
            if not base.endswith(b"\n"):
                base += b"\n"
            data = base + entry.encode("utf-8")
            changes[vault / LOG_PATH] = (data, content_hash(log) if log is not None else "")
            written[LOG_PATH] = content_hash(data)
        self._may_write()
        write_files(self.settings.state_dir, changes, vault=vault)
        self._withdrawn.update(plan.withdrawn)
        self.wrote(list(written), written)

    def _template_for(self, rel: str) -> str:
        """The template a new page at `rel` is shaped by: its type (from its folder, SYSTEM.md §2)
        in the vault's templates folder, else the one companion ships."""
        from importlib import resources

        from companion.errors import NotManaged
        from companion.vault.obsidian import IgnoreRules

        folder = rel.rpartition("/")[0]
        types = [t for t in self.settings.schema.page_types if t.folder == folder]
        if not types:
            folders = ", ".join(f"{t.folder}/ ({t.name})" for t in self.settings.schema.page_types)
            raise NotManaged(
                f"cannot create {rel}: new pages go in a page type's folder ({folders}), "
                "SYSTEM.md §2. Nothing written"
            )
        name = f"{types[0].name}.md"
        for tfolder in IgnoreRules.load(self.settings.vault).templates:
            candidate = self.settings.vault / tfolder / name
            if candidate.is_file() and not candidate.is_symlink():
                return candidate.read_text(encoding="utf-8", errors="replace")
        shipped = resources.files("companion") / "defaults" / "templates" / name
        return shipped.read_text(encoding="utf-8")

    def _bump_one(self, path: str) -> Bumped | Literal["deferred", "gone"]:
        from companion.write.pages import bump_in_place

        known = self.store.pages.file_states([path]).get(path)
        if known is None or not known.unversioned or not self.settings.schema.is_managed(path):
            return "gone"  # not indexed, versioned meanwhile, or no longer managed
        self._may_write()
        bumped = bump_in_place(self.settings, path, known.hash, known.seen_version or 0)
        return "deferred" if bumped is None else bumped

    def bump(self, path: str) -> Bumped | Literal["deferred", "gone"]:
        """Bump `version` of a managed page a person edited (one value), with its log entry.
        "deferred": it changed again since it was indexed (still being edited); "gone": not in
        the index, or nothing to bump. `CompanionError` when it cannot be bumped at all."""
        with self.writing("companion bump"):
            outcome = self._bump_one(path)
            if isinstance(outcome, str):
                return outcome
            self.wrote([path], {path: outcome.hash})
            self.log("bump", f"`{path}` version {outcome.old_version} → {outcome.new_version}", [])
            return outcome

    def unversioned(self) -> list[tuple[str, float]]:
        """(path, seconds since its last save) of every page waiting for its version bump."""
        now = time.time_ns()
        return [(p, max(0, now - m) / 1e9) for p, m in self.store.pages.unversioned()]

    def _bump_settled(self) -> tuple[list[tuple[str, int, int]], list[tuple[str, str]]]:
        """`index`'s bumps: every page a person edited whose last save is at least
        `bump_settle` old (younger edits are still being made: a later run, the daemon, or the
        next writer that needs the page bumps them). Pages that cannot be bumped are left as
        they are, with the reason (`refused`: reported and logged, retried next run)."""
        from companion.errors import CompanionError

        bumped: dict[str, Bumped] = {}
        refused: list[tuple[str, str]] = []
        for path, age in self.unversioned():
            if age < self.settings.bump_settle:
                continue
            try:
                outcome = self._bump_one(path)
            except CompanionError as exc:  # malformed, duplicate keys, a link out of the vault
                refused.append((path, str(exc)))
                continue
            if not isinstance(outcome, str):
                bumped[path] = outcome
        if bumped:
            self.wrote(list(bumped), {p: b.hash for p, b in bumped.items()})
        return [(p, b.old_version, b.new_version) for p, b in bumped.items()], refused

    # -- embedding ------------------------------------------------------------------------------

    def embed_pending(
        self, result: IndexResult | None = None, progress: Progress | None = None
    ) -> int:
        """Embed every chunk with no vector for the current model, committing batch by batch."""
        from companion.sync.embedding import embed_batch, store_batch
        from companion.sync.reconcile import SyncReport

        with self.writing("companion index", vault=False):
            info = self.model
            result = result or IndexResult(SyncReport(), WriteReport(), WriteReport())
            result.reembedded_all = self.store.vectors.ensure(info.fingerprint, info.dim)
            with self.store.transaction():
                self.store.vectors.drop_unused()
            pending = self.store.vectors.pending(info.fingerprint)
            result.embed_pending = len(pending)
            if not pending:
                return 0
            pending.sort(key=lambda item: len(item[1]))  # similar lengths waste less padding
            embedder = self.embedder
            embedder.load()  # the chunks/s a user sees is embedding, not the model's start-up
            started = time.perf_counter()
            done = 0
            if progress is not None:
                progress(0, len(pending))
            for start in range(0, len(pending), EMBED_BATCH):
                outcome = embed_batch(embedder, pending[start : start + EMBED_BATCH])
                store_batch(self.store, info.fingerprint, outcome)
                if outcome.vectors is None:
                    continue
                done += outcome.done
                result.embedded = done
                result.embed_seconds = time.perf_counter() - started
                if progress is not None:
                    progress(done, len(pending))
            return done

    def prepare_vectors(self, *, retry_failed: bool = False) -> None:
        """Make the vector table match the model (the daemon, at start); `retry_failed` forgets
        chunks the model failed on before, so they are tried again."""
        with self.writing("companion daemon", vault=False):
            if retry_failed:
                self.store.vectors.clear_failures()
            self.store.vectors.ensure(self.model.fingerprint, self.model.dim)

    def pending_embedding(self, limit: int) -> list[PendingChunk]:
        """Chunks with no vector yet (and the pages they appear in), for the daemon's embedding
        thread."""
        return self.store.vectors.pending_pages(self.model.fingerprint, limit)

    def store_vectors(self, outcome: BatchOutcome) -> None:
        """Record a batch computed elsewhere (the daemon's embedding thread)."""
        from companion.sync.embedding import store_batch

        with self.writing("companion daemon", vault=False):
            store_batch(self.store, self.model.fingerprint, outcome)

    # -- reading --------------------------------------------------------------------------------

    def require_index(self) -> None:
        """Reading commands on a vault never indexed get a message, not an empty answer."""
        with self._reading() as store:
            if store.meta.get("last_index") is None and not store.pages.file_states():
                raise NotIndexed(
                    f"{self.settings.vault} has not been indexed yet (state: "
                    f"{self.settings.state_dir}); run `companion index {self.settings.vault}` first"
                )

    def search(
        self,
        query: str,
        *,
        mode: Mode = "hybrid",
        limit: int = 10,
        require: bool = True,
        min_score: float | None = None,
        folder: str | None = None,
        tag: str | None = None,
    ) -> list[Hit]:
        """Rank pages for `query`. `require=False` answers an index never built with no hits
        instead of `NotIndexed` (the daemon, whose first scan may still be running).
        `min_score`: the cosine below which a page only the vector channel found is no hit
        (default: the model's `min_cosine`; 0 shows every one). `folder` (vault-relative) and
        `tag` (with or without `#`) keep only the notes under it and with it."""
        folder = folder.strip().strip("/").removeprefix("./").strip("/") if folder else None
        tag = tag.strip().lstrip("#").casefold() if tag else None

        if require:
            self.require_index()
        with self._reading() as store:
            hits = search(
                store,
                query,
                mode=mode,
                limit=limit,
                embedder=self.embedder if mode != "bm25" else None,
                memory=self._memory,
                min_cosine=(
                    None
                    if mode == "bm25"
                    else self.embedder.min_cosine
                    if min_score is None
                    else min_score
                ),
                folder=folder or None,
                tag=tag or None,
            )
        schema = self.settings.schema
        sources = schema.sources_folder.rstrip("/") + "/"
        for hit in hits:
            if hit.path.startswith(sources):
                hit.kind = "source"
            elif schema.is_managed(hit.path):
                hit.kind = "wiki"
        return hits

    def vectors_ready(self) -> bool:
        """True when at least some chunks have vectors from the current model."""
        return self.embedding_progress().embedded > 0

    def search_best_effort(
        self,
        query: str,
        *,
        mode: Mode = "hybrid",
        limit: int = 10,
        min_score: float | None = None,
        folder: str | None = None,
        tag: str | None = None,
    ) -> tuple[list[Hit], Mode]:
        """Like `search`, but hybrid falls back to BM25 (without loading the model) when no
        vectors exist yet; returns the mode actually used. Vector mode never falls back."""
        if mode == "hybrid" and not self.vectors_ready():
            mode = "bm25"
        found = self.search(
            query, mode=mode, limit=limit, min_score=min_score, folder=folder, tag=tag
        )
        return found, mode

    def graph(self) -> VaultGraph:
        from companion.graph import build_graph

        self.require_index()
        with self._reading() as store:
            return build_graph(store.pages.nodes(), store.links.edges())

    def find_page(self, name: str) -> str:
        """A note's vault path from what a person or an agent calls it, the one name resolution
        every lookup (`read`, `backlinks`, `update`, MCP) shares: a vault path; else the name as
        a wikilink would resolve it (`Note`, `folder/Note.md`, `[[Note]]`, `[[Note#Heading]]`);
        else an alias (or title) exactly one note holds, case-insensitively — lookups accept
        aliases, though a wikilink never resolves one. `NoteNotFound` when nothing answers,
        `AmbiguousName` (with the candidates) when several notes do."""
        from companion.errors import AmbiguousName
        from companion.markdown.resolve import Resolver
        from companion.write.pages import inside_vault

        self.require_index()
        link = name.strip().removeprefix("[[").removesuffix("]]").split("|", 1)[0]
        link = link.split("#", 1)[0].strip()
        # A path is taken as the vault path it names (as `update` takes it); one that leaves
        # the vault names no note of it.
        if link.startswith("/") or ".." in link.replace("\\", "/").split("/"):
            inside = inside_vault(self.settings.vault, link)
            if inside is None:
                raise NoteNotFound(
                    f"{name!r} leads outside the vault {self.settings.vault}: companion reads "
                    "only the vault's notes (give a vault path or a note's name)"
                )
            link = inside
        with self._reading() as store:
            paths = store.pages.paths()
            if name in paths:
                return name
            if link in paths:
                return link
            found = Resolver(paths).resolve(link, "") if link else None
            if found is not None and found.target is not None:
                return found.target
            folded = link.casefold()
            owners = sorted(
                path
                for path, title, _type, aliases in store.pages.known()
                if folded and folded in {a.casefold() for a in (title, *aliases)}
            )
        if len(owners) == 1:
            return owners[0]
        if owners:
            raise AmbiguousName(
                f"{name!r} names {len(owners)} notes: "
                + ", ".join(owners)
                + "; give the vault path of the one you mean",
                owners,
            )
        raise NoteNotFound(
            f"no note named {name!r} in {self.settings.vault}; try `companion search {name!r}`"
        )

    def read_note(self, name: str, heading: str | None = None) -> dict[str, Any]:
        """One note as `companion read --json` and MCP `read` give it: its path, title,
        frontmatter, `version`, text, the notes linking to it (backlinks), its own links
        (outgoing, each with where it resolves) and the open conflicts shown on it. `heading`:
        `text` is only that heading's section (`section`); `NoteNotFound` lists the note's
        headings when it has no such one."""
        from companion.markdown.parse import parse_note
        from companion.write.atomic import read_regular

        path = self.find_page(name)
        data = read_regular(self.settings.vault, path, self.settings.max_note_bytes)
        if data is None:
            raise NoteNotFound(
                f"{path} is in the index but no longer in the vault; run `companion index`"
            )
        note = parse_note(data, path)
        text = note.text
        if heading is not None:
            from companion.markdown.note import section

            found = section(note, heading)
            if found is None:
                have = ", ".join(repr(h.text) for h in note.headings) or "none"
                raise NoteNotFound(f"{path} has no heading {heading!r} (its headings: {have})")
            text = found
        graph = self.graph()
        outgoing = [e for e in graph.edges if e.source == path]
        return {
            "path": path,
            "title": note.title,
            # YAML dates and times as ISO text: what JSON can carry.
            "frontmatter": json.loads(json.dumps(note.properties, default=str)),
            "version": note.version,
            "text": text,
            "heading": heading,
            "backlinks": [
                {"source": e.source, "raw": e.raw, "subpath": e.subpath, "kind": e.kind}
                for e in graph.backlinks(path)
            ],
            "links": [
                {
                    "raw": e.raw,
                    "target": e.target,
                    "subpath": e.subpath,
                    "kind": e.kind,
                    "ambiguous": e.ambiguous,
                }
                for e in outgoing
            ],
            "conflicts": [c for c in self.conflicts() if c["page"] == path],
        }

    def backlinks(self, name: str) -> tuple[str, list[EdgeRow]]:
        path = self.find_page(name)
        return path, self.graph().backlinks(path)

    def links(self, name: str) -> tuple[str, list[EdgeRow]]:
        """The links written in the note `name` (resolved as `find_page`), in the order written,
        each with where it resolves (`target` None: unresolved)."""
        path = self.find_page(name)
        return path, [e for e in self.graph().edges if e.source == path]

    # -- ask --------------------------------------------------------------------------------------

    def ask(self, question: str, *, save: bool = False, now: datetime | None = None) -> Answer:
        """An answer to `question` made of the vault's own sentences, each cited (companion/ask/
        answer.py); with an LLM configured, prose from the same passages, every sentence checked
        to cite one. `save` files it as an answer page under wiki/answers/ (version 1)."""
        from companion.ask.answer import Answer, check_prose, llm_messages, pick

        if not question.strip():
            raise ValueError("ask needs a question")
        hits, _ = self.search_best_effort(question, mode="hybrid", limit=8)
        notes = self._ask_notes([hit.path for hit in hits])
        answer = Answer(question, pick(question, notes, self.embedder))
        if answer.passages and (
            self.settings.llm_url or self.settings.schema.ingest.synthesizer == "llm"
        ):
            from companion.ingest.synth import choose
            from companion.ingest.synth.llm import LLMSynthesizer

            llm = choose(self.settings)
            if isinstance(llm, LLMSynthesizer):
                try:
                    prose = llm.chat(llm_messages(question, answer.passages))
                except CompanionError as exc:
                    answer.note = (
                        f"the LLM gave no answer ({exc}); the sentences below are the vault's own"
                    )
                else:
                    kept, answer.dropped = check_prose(prose, answer.passages)
                    if kept:
                        answer.sentences, answer.by = kept, llm.name
                    else:
                        answer.note = "no sentence of the LLM's answer cited a passage; the sentences below are the vault's own"
        if save:
            if not answer.passages:
                raise NoteNotFound(
                    "nothing in the vault answers this question: no answer page written"
                )
            answer.saved = self._save_answer(answer, now)
        return answer

    def _ask_notes(self, paths: list[str]) -> list[tuple[str, list[tuple[str, str]]]]:
        """The sentences of the first six notes among the hits `paths` that can be evidence:
        earlier answers left out (the notes they cite are), and each managed page's template
        lines (`ask.answer.boilerplate`)."""
        from companion.ask.answer import boilerplate, candidates
        from companion.write.atomic import read_regular

        answers = self.settings.schema.folder_of("answer")
        notes: list[tuple[str, list[tuple[str, str]]]] = []
        templates: dict[str, re.Pattern[str] | None] = {}  # a managed folder's boilerplate
        for path in paths:
            if answers and path.startswith(answers + "/"):
                continue  # an earlier answer is no evidence: the notes it cites are
            if not path.endswith(".md") or len(notes) >= 6:
                continue
            try:
                data = read_regular(self.settings.vault, path, self.settings.max_note_bytes)
            except (CompanionError, OSError):
                continue
            if data is None:
                continue
            folder = path.rpartition("/")[0]
            if folder not in templates:
                typed = self.settings.schema.type_of(folder) is not None
                templates[folder] = boilerplate(self._template_for(path)) if typed else None
            notes.append((path, candidates(path, data, templates[folder])))
        return notes

    def _save_answer(self, answer: Answer, now: datetime | None) -> str:
        import os

        from companion.write.pages import PageChange
        from companion.write.wiki import safe_title

        folder = self.settings.schema.folder_of("answer") or "wiki/answers"
        title = (safe_title(answer.question.rstrip(" ?!.")) or "").lstrip("-").strip() or "Answer"
        rel = f"{folder}/{title}.md"
        there = self.settings.vault / folder
        if there.is_dir():  # one page per question, whatever its case (macOS/Windows copies)
            rel = next(
                (
                    f"{folder}/{n}"
                    for n in os.listdir(there)
                    if n.casefold() == f"{title}.md".casefold()
                ),
                rel,
            )
        body = (
            "%% companion:begin answer %%\n"
            + answer.markdown()
            + "\n%% companion:end answer %%\n\n"
            "## Follow-up\nYour own notes on this answer (outside the markers).\n"
        )
        cited = list(dict.fromkeys(f"[[{p.path.removesuffix('.md')}]]" for p in answer.cited()))
        if os.path.lexists(self.settings.vault / rel):
            from companion.errors import VersionConflict

            # The page may hold the person's follow-up and edits: it is never rewritten.
            raise VersionConflict(
                f"an answer to this question is saved already: {rel}. Nothing written; "
                "read it (`companion read`), or delete or rename that page to save a new answer"
            )
        change = PageChange(body, {"question": answer.question}, {"sources": cited}, {})
        self.update(rel, None, change, create=True, now=now)
        return rel

    # -- lint -------------------------------------------------------------------------------------

    def lint(self, *, fix: bool = False, now: datetime | None = None) -> LintReport:
        """Check the vault (companion/lint/checks.py) from the index and the managed pages'
        text; with `fix`, apply the safe fixes — each page one versioned compare-and-swap write,
        the run one log.md entry naming the pages — and check again. The run's counts and time
        are kept for `status`."""
        from companion.errors import WriterBusy

        started = time.perf_counter()
        note = None
        if fix and not self.live:
            # A write: like `update`, a one-shot run first indexes what changed since the last
            # run (and versions people's edits), so the fixes are computed from the vault as
            # it is.
            with self.writing("companion lint --fix"):
                self.index(embed=False)
        elif not self.live:
            # A read checks the index as it stands (nothing is written, no lock is waited for)
            # and says when the vault has moved on since.
            from companion.sync.reconcile import changed_since

            with self._reading() as store:
                moved = changed_since(self.settings, store)
            if moved:
                note = (
                    f"{moved:,} file{'s' if moved != 1 else ''} changed since the last index run "
                    "and no daemon is running: these findings are from the index as it was; "
                    "run `companion index` (or keep `companion watch` running) to include them"
                )
        findings = self._lint_findings()
        fixed: list[str] = []
        skipped: list[str] = []
        if fix and any(f.fixable for f in findings):
            managed = {
                f.path for f in findings if f.fixable and self.settings.schema.is_managed(f.path)
            }
            bumped, refused = self._bump_before_fix(sorted(managed))
            skipped.extend(f"{path}: {why}" for path, why in refused.items())
            if bumped:
                findings = self._lint_findings()  # their lines and versions as they are now
            fixed, not_written = self._lint_fix([f for f in findings if f.path not in refused], now)
            skipped.extend(not_written)
            findings = self._lint_findings()
        report = LintReport(findings, fixed, time.perf_counter() - started, skipped, fix, note)
        try:
            with self.writing("companion lint", vault=False, wait=0.0 if not fix else None):
                self.store.meta.set("last_lint", json.dumps(report.summary()))
        except WriterBusy:
            pass  # status shows the run before; this one's findings are in the report
        return report

    def _lint_findings(self) -> list[Finding]:
        from companion.lint.checks import LintInput, Note, lint
        from companion.write.atomic import read_regular

        self.require_index()
        with self._reading() as store:
            rows = store.pages.lint_rows()
            links = store.links.lines()
            orphans = store.links.orphans()
        notes = [
            Note(r.path, r.kind, r.title, r.type, r.version, _json_dict(r.properties),
                 tuple(a for a in json.loads(r.aliases or "[]") if isinstance(a, str)))
            for r in rows
        ]  # fmt: skip
        schema = self.settings.schema
        texts: dict[str, str] = {}
        for n in notes:
            if n.kind == "note" and schema.is_managed(n.path):
                try:
                    data = read_regular(self.settings.vault, n.path, self.settings.max_note_bytes)
                except (CompanionError, OSError):
                    continue  # unreadable now: the index reports it (status → problems)
                if data is not None:
                    texts[n.path] = data.decode("utf-8", "replace")
        return lint(
            LintInput(
                schema,
                notes,
                links,
                texts,
                orphans,
            )
        )  # fmt: skip

    def _bump_before_fix(self, pages: list[str]) -> tuple[bool, dict[str, str]]:
        """Pages to fix that a person edited without a version bump get their bump now (as
        `update` gives it), so each fix's compare-and-swap is on the version the person's text
        has. Returns whether any page was bumped, and why each page that cannot be was not
        (it is then not fixed)."""
        from companion.errors import CompanionError

        bumped = False
        refused: dict[str, str] = {}
        with self.writing("companion lint --fix"):
            self.sync_paths(pages, force=True)  # a last save the index has not seen yet
            states = self.store.pages.file_states(pages)
            for path in pages:
                state = states.get(path)
                if state is None or not state.unversioned:
                    continue
                try:
                    bumped = not isinstance(self.bump(path), str) or bumped
                except CompanionError as exc:
                    refused[path] = str(exc)
        return bumped, refused

    def _lint_fix(
        self, findings: list[Finding], now: datetime | None
    ) -> tuple[list[str], list[str]]:
        """Each page's safe fixes as one update (CAS on the version read now): the pages fixed,
        and `path: why` for each page whose fixes could not be written."""
        from companion.markdown.parse import parse_note
        from companion.write.pages import PageChange
        from companion.write.wiki import cited_sources

        by_page: dict[str, list[Finding]] = {}
        for f in findings:
            if f.fixable and self.settings.schema.is_managed(f.path):
                by_page.setdefault(f.path, []).append(f)
        fixed: list[str] = []
        skipped: list[str] = []
        for path, fixes in sorted(by_page.items()):
            with self._reading() as store:
                info = store.pages.get(path)
            data = (self.settings.vault / path).read_bytes()
            try:
                text = data.decode("utf-8").removeprefix("\ufeff")  # as the parser reads it
            except UnicodeDecodeError:
                skipped.append(f"{path}: not valid UTF-8; nothing written")
                continue
            lines = text.split("\n")
            add: dict[str, list[str]] = {}
            remove: dict[str, list[str]] = {}
            for f in fixes:
                if f.kind == "citation-format" and f.fix is not None and 0 < f.line <= len(lines):
                    lines[f.line - 1] = f.fix + ("\r" if lines[f.line - 1].endswith("\r") else "")
            new_text = "\n".join(lines)
            # The body as the file holds it (its line endings kept), after the fixes above,
            # cut where the parser (and so the write) puts the end of the frontmatter.
            start = parse_note(new_text.encode("utf-8"), path).body_start
            body = new_text[start:] if new_text != text else None
            if body is not None or any(f.kind == "sources-mismatch" for f in fixes):
                # The citations as they stand after the fixes: what `sources` must list.
                wanted = [f"[[{s}]]" for s in cited_sources(new_text[start:])]
                held = _json_dict(info.properties if info else "{}").get("sources")
                held_list = [str(x) for x in held] if isinstance(held, list) else []
                add["sources"] = [w for w in wanted if w not in held_list]
                remove["sources"] = [h for h in held_list if h not in wanted]
            if not (body is not None or add.get("sources") or remove.get("sources")):
                continue
            version = info.version if info and info.version is not None else 0
            change = PageChange(body, {}, add, remove)
            try:
                result = self.update(path, version, change, now=now, log=False)
            except CompanionError as exc:
                skipped.append(f"{path}: {exc}")  # changed meanwhile, or not safely editable
                continue
            if getattr(result, "changed", True):
                fixed.append(path)
        if fixed:
            self.log(
                "lint",
                f"fixed {len(fixed)} page{'s' if len(fixed) != 1 else ''}",
                [f"`{p}`" for p in fixed],
                now,
            )
            if not self.live:
                self.write_generated()
        return fixed, skipped

    def last_lint(self) -> dict[str, Any] | None:
        with self._reading() as store:
            raw = store.meta.get("last_lint")
        return json.loads(raw) if raw else None

    def embedding_progress(self) -> EmbeddingProgress:
        """How much of the vault has vectors from the current model."""
        info = self.model
        with self._reading() as store:
            total, done = store.vectors.counts(info.fingerprint)
            if store.meta.get("vector_model") != info.fingerprint:
                done = 0
        return EmbeddingProgress(done, total)

    def embed_failures(self) -> list[tuple[str, str]]:
        """(page path, reason) for pages with chunks the model failed on."""
        with self._reading() as store:
            return store.vectors.failures(self.model.fingerprint)

    def counts(self) -> dict[str, int]:
        """The vault's one set of counts (docs/architecture.md, "Counts")."""
        with self._reading() as store:
            return {**store.pages.counts(), "orphans": len(store.links.orphans())}

    def status(self) -> Status:
        info = self.model
        db = self.settings.db_path
        size = sum(
            Path(f"{db}{s}").stat().st_size for s in ("", "-wal") if Path(f"{db}{s}").exists()
        )
        owner = self._lock.owner()  # who writes the vault (its lease), for a daemon-less status
        counts = self.counts()
        with self._reading() as store:
            last = store.meta.get("last_index")
            problems = [p._asdict() for p in store.pages.problems()]
            rows = store.sources.all()
            prefix = self.settings.schema.sources_folder.rstrip("/") + "/"
            formats = self.settings.schema.ingest.formats
            files = [
                p
                for p in store.pages.paths()
                if p.startswith(prefix) and p.lower().endswith(tuple(formats))
            ]
        seen = {row.path for row in rows}
        unseen = [p for p in files if p not in seen]
        states: dict[str, int] = {}
        for row in rows:
            states[row.state] = states.get(row.state, 0) + 1
        sources = {
            "ingested": states.get("done", 0),
            "pending": [
                {"path": r.path, "state": r.state, "problem": r.problem, "tries": r.tries}
                for r in rows
                if r.state != "done"
            ]
            + [  # present, but no ingest has looked at them yet
                {"path": p, "state": "new", "problem": None, "tries": 0} for p in unseen
            ],
        }
        return Status(
            vault=str(self.settings.vault),
            state_dir=str(self.settings.state_dir),
            counts=counts,
            embedding=self.embedding_progress(),
            model=info.name,
            model_fingerprint=info.fingerprint,
            database=str(db),
            database_bytes=size,
            last_index=json.loads(last) if last else None,
            problems=problems,
            vault_writer=owner.describe() if owner is not None else None,
            sources=sources,
            conflicts_open=len({c.id for c in self.store.conflicts.callouts("open")}),
            conflict_queue=self.conflict_queue_note(),
            lint=self.last_lint(),
        )

    def conflict_queue_note(self) -> str | None:
        """Why CONFLICT.md is not the companion's queue, when it is a person's note."""
        from companion.write.atomic import read_regular
        from companion.write.conflicts import CONFLICT_PATH
        from companion.write.generated import is_generated

        try:
            held = read_regular(self.settings.vault, CONFLICT_PATH, 4096)
        except CompanionError:
            return None
        if held is None or is_generated(held):
            return None
        return (
            f"{CONFLICT_PATH} is a note of yours: companion does not write its conflict queue "
            "there (rename it to let it; the callouts on the pages are still written)"
        )

    def conflicts(
        self, include_resolved: bool = False, superseded: bool = False
    ) -> list[dict[str, Any]]:
        """Open conflicts (with `include_resolved`, resolved ones too), one per id, as
        `companion conflicts --json` prints them: a, b (the two claims), a_source, b_source (the
        raw source files), page, title, id, status, opened, closed. With `superseded`, the
        supersedes callouts instead (a the replaced fact, b the one replacing it; `superseded`
        the date it holds from, also in `opened`)."""
        raw = self._raw_sources()
        closed = {r.id: r.closed for r in self.store.conflicts.records() if r.closed}
        out: dict[str, dict[str, Any]] = {}
        for c in self.store.conflicts.callouts():
            if c.id in out or (c.status == "superseded") != superseded:
                continue
            if c.status == "resolved" and not include_resolved:
                continue
            claims = [*c.claims, "", ""][:2]
            sources = [raw(s[0]) if s else None for s in (*c.sources, (), ())][:2]
            out[c.id] = {
                "a": claims[0], "b": claims[1], "a_source": sources[0], "b_source": sources[1],
                "page": c.page, "title": c.conflict, "id": c.id, "status": c.status,
                "opened": c.opened or None, "closed": closed.get(c.id),
                **({"superseded": c.opened or None} if superseded else {}),
            }  # fmt: skip
        if include_resolved and not superseded:
            for r in self.store.conflicts.records():
                if r.closed and r.id not in out:
                    out[r.id] = {
                        "a": r.a, "b": r.b, "a_source": r.a_source or None,
                        "b_source": r.b_source or None, "page": r.page, "title": r.title,
                        "id": r.id, "status": "resolved", "opened": r.opened or None,
                        "closed": r.closed,
                    }  # fmt: skip
        return list(out.values())

    def _raw_sources(self) -> Callable[[str], str]:
        """Summary page (without `.md`) -> the raw source file it summarises: from the ingest
        ledger, else from the summary page's own `sources` property (a rebuilt index knows the
        pages before any ingest has run), else the summary page itself."""
        ledger = {
            r.summary.removesuffix(".md"): r.path for r in self.store.sources.all() if r.summary
        }

        def raw(summary: str) -> str:
            if summary in ledger:
                return ledger[summary]
            page = self.store.pages.get(summary + ".md")
            if page is not None:
                listed = json.loads(page.properties or "{}").get("sources")
                for item in listed if isinstance(listed, list) else [listed]:
                    m = re.search(r"\[\[([^\]|#]+)", str(item or ""))
                    if m is not None:
                        return m.group(1)
            return summary

        return raw
