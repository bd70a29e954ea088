"""The watcher daemon: keeps the index, graph and generated notes in step with every edit.

It decides *when*; `Companion` does *what*. One thread — the *writer* — runs every change as a
`WriteTask` from one queue: watcher batches, version bumps, catalog writes, `update` requests and
the vectors the embedding thread computes. Everything else only reads (the socket's search
threads, through the `Companion`'s pooled WAL readers) or only computes (the embedding thread,
which runs the model and never touches SQLite). So there is never a second writer to race with
(design.md, "one writer per vault"), and the `Companion` holds the writer lock for the daemon's
whole life.

Start-up: take the writer lock (a second daemon waits a few seconds, then is refused and told who
holds it); open the index, moving a corrupt database aside; finish any interrupted multi-file
write; reconcile the vault against the index (changes made while down are found by stat and hash);
then watch. The timers — settle, bump, retry, catalog, embedding — are `schedule.Schedule`, pure
state fed with the clock; files the companion writes are recorded by `Companion.wrote`, and the
events they cause are recognised and ignored, so an idle daemon over an idle vault does no work.
"""

from __future__ import annotations

import contextlib
import os
import queue
import signal
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import TYPE_CHECKING, Any, TextIO

from companion.app import Companion
from companion.config import Settings
from companion.daemon.schedule import Schedule, Timing
from companion.daemon.server import ApiServer
from companion.daemon.watcher import Batch, VaultFilter, Watcher
from companion.embed import Embedder, embedder_for, model_info
from companion.errors import CompanionError, VaultLeased
from companion.search.modes import MODES
from companion.sync.embedding import BatchOutcome, Chunk, embed_batch
from companion.sync.reconcile import SyncReport
from companion.vault.obsidian import IgnoreRules
from companion.write.lock import WAIT
from companion.write.state import ensure_state_dir

if TYPE_CHECKING:
    from collections.abc import Sequence

    import numpy as np

    from companion.ingest.report import IngestReport

SLICE = 500  # paths per transaction when a burst arrives
EMBED_REPORT_EVERY = 5.0  # seconds between the console's embedding progress lines


@dataclass(frozen=True, slots=True)
class DaemonOptions:
    debounce: float = 0.25  # quiet time that closes a batch of events
    max_delay: float = 1.0  # a batch is processed at most this long after its first event
    settle: float = 3.0  # quiet time before embedding an edit
    bump_settle: float | None = None  # quiet time before bumping a person's edit (settings')
    catalog_delay: float = 0.5  # index.md is re-rendered this long after the last change
    embed_batch: int = 16  # small, so a save never waits long behind background embedding
    retry_delay: float = 1.0  # an unreadable file is looked at again after this long
    lock_wait: float = WAIT  # how long a second daemon waits for the writer lock (then exit 75)


@dataclass(slots=True)
class WriteTask:
    """A job for the writer thread; `reply` carries its result back to a waiting caller."""

    fn: Callable[[], Any]
    reply: Future[Any] | None = None


_SHUTDOWN = WriteTask(lambda: None)  # wakes the writer so it sees `stopping`


class _LockedEmbedder:
    """One model shared by background embedding and queries: tokenizers are not thread-safe."""

    def __init__(self, inner: Embedder, lock: threading.Lock) -> None:
        self.inner, self.lock = inner, lock
        self.fingerprint, self.dim, self.window = inner.fingerprint, inner.dim, inner.window
        self.min_cosine = inner.min_cosine

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        with self.lock:
            return self.inner.embed(texts)

    def load(self) -> None:
        with self.lock:
            self.inner.load()


class Daemon:
    def __init__(
        self,
        settings: Settings,
        options: DaemonOptions | None = None,
        embedder: Embedder | None = None,
        query_embedder: Embedder | None = None,
        out: TextIO = sys.stderr,
    ) -> None:
        self.settings = settings
        self.options = options or DaemonOptions()
        self.out = out
        self.info = model_info(settings.model, settings.embed_backend)
        if embedder is None:
            # Two instances: a search never waits behind a background embedding batch.
            embedder = embedder_for(self.info, settings.batch_size)
            query_embedder = embedder_for(self.info, settings.batch_size)
        if query_embedder is None or query_embedder is embedder:
            lock = threading.Lock()
            embedder = query_embedder = _LockedEmbedder(embedder, lock)
        self.embedder: Embedder = embedder
        self.query_embedder: Embedder = query_embedder
        o = self.options
        self.bump_settle = settings.bump_settle if o.bump_settle is None else o.bump_settle
        self.schedule = Schedule(
            Timing(
                settle=o.settle,
                bump_settle=self.bump_settle,
                catalog_delay=o.catalog_delay,
                retry_delay=o.retry_delay,
                source_settle=settings.source_settle,
            ),
            settings.schema.is_managed,
            lambda path: path.startswith(settings.schema.sources_folder.rstrip("/") + "/"),
        )
        self.inbox: queue.Queue[WriteTask] = queue.Queue()
        self.jobs: queue.Queue[list[Chunk]] = queue.Queue()
        self.stopping = threading.Event()
        self.started_at = time.time()
        self.embedding = False  # a batch is with the embedding thread
        self._embed_since: float | None = None  # when the console's last embedding line was due
        self._embed_count = 0  # chunks embedded since then
        self._embed_reported = False  # a progress line was printed in this run
        self._counts = Counter(
            {"batches": 0, "bumps": 0, "updates": 0, "ingested": 0}
        )  # what the writer handled
        self.app: Companion | None = None
        self.watcher: Watcher | None = None
        self.server: ApiServer | None = None
        self._threads: list[threading.Thread] = []
        self.read_only: str | None = None  # why this daemon may not write the vault (its owner)
        self._next_takeover = 0.0
        self._writing_since: float | None = None  # when the writer's current task began

    @property
    def counters(self) -> dict[str, int]:
        """Batches, bumps and updates handled; writes made and their echoes ignored."""
        own = self.app.own if self.app is not None else None
        return {
            "batches": self._counts["batches"],
            "own_events_ignored": own.echoes if own else 0,
            "bumps": self._counts["bumps"],
            "updates": self._counts["updates"],
            "ingested": self._counts["ingested"],
            "writes": own.recorded if own else 0,
        }

    # -- lifecycle ------------------------------------------------------------------------------

    def log_line(self, message: str) -> None:
        # A closed terminal (EPIPE, EIO) must not stop the writer: the line is only a report.
        with contextlib.suppress(OSError, ValueError):
            print(f"[{datetime.now():%H:%M:%S}] {message}", file=self.out, flush=True)

    def _app(self) -> Companion:
        assert self.app is not None, "the daemon is not started"
        return self.app

    def start(self) -> None:
        ensure_state_dir(self.settings.state_dir)
        os.chmod(self.settings.state_dir, 0o700)
        # The lock first: a second daemon must not open (let alone repair) the live database.
        try:
            app = Companion(
                self.settings, thorough=True, writer="daemon", lock_wait=self.options.lock_wait
            )
        except VaultLeased as busy:
            # Another companion (another state folder, or a machine syncing this vault) writes
            # it: serve search from our own index, never write the vault, take over on expiry.
            app = Companion(
                self.settings,
                thorough=True,
                writer="daemon (read-only)",
                lock_wait=self.options.lock_wait,
                lease=False,
            )
            self.read_only = str(busy)
            self.log_line(f"read-only: {busy}. Serving search; taking over when that lease expires")
        self.app = app
        try:
            self._start_locked(app)
        except BaseException:
            app.close()
            self.app = None
            raise

    def _start_locked(self, app: Companion) -> None:
        from companion.write.journal import recover

        app.live = True
        app.use_embedder(self.query_embedder)
        app.serve()
        app.on_sync = self._observe
        if self.read_only is None:
            finished = recover(self.settings.state_dir, self.settings.vault)
            if finished:
                self.log_line(finished)
        if app.recovered:
            self.log_line(app.recovered)
        app.prepare_vectors(retry_failed=True)  # a restart retries what failed before
        self.query_embedder.embed(["warm up"])  # load the model now, not on the first search
        self.server = ApiServer(self.settings.state_dir, self._handlers())
        self.server.start()
        # Watch before the start-up scan: an edit made while it runs is then either seen by the
        # scan or queued as an event (processed after it), never missed.
        vault, state = self.settings.vault, self.settings.state_dir
        state_rel = state.relative_to(vault).as_posix() if state.is_relative_to(vault) else None
        accept = VaultFilter(IgnoreRules.load(vault).is_excluded, state_rel)
        self.watcher = Watcher(vault, accept, self.options.debounce, self.options.max_delay)
        self.watcher.start()
        # The start-up scan is the writer's first task: `status` counts it as a write under way
        # (the socket already answers), so `status --wait` does not return before it is done.
        self._writing_since = time.monotonic()
        if self.read_only is None:
            self.reconcile(initial=True, recovered=app.recovered)
            app.adopt_vault_id()  # after the scan: it tells another vault folder apart first
            self.schedule.seed(app.unversioned(), time.monotonic())  # bumps still waiting
            # Sources dropped while nobody watched, and retries still due: one pass, queued
            # behind nothing else, so searches are served while it runs.
            self.inbox.put(WriteTask(partial(self._ingest, None)))
        else:
            app.sync(settled=True)  # our own index only: nothing is written to the vault
            self._next_takeover = time.monotonic() + self.settings.lease_ttl / 4
        self._writing_since = None
        for name, target in (
            ("companion-events", self._pump_events),
            ("companion-embed", self._embed_worker),
            ("companion-vectors", self._load_vectors),
        ):
            thread = threading.Thread(target=target, name=name, daemon=True)
            thread.start()
            self._threads.append(thread)

    def _load_vectors(self) -> None:
        """Load the in-memory vectors now, not on the first search (~1 s at 10k notes, ~9 s at
        100k). A failure here only means the first search loads them."""
        try:
            self._app().load_vectors()
        except Exception as exc:  # the first search tries again, and reports what goes wrong
            self.log_line(f"vectors not loaded ahead of the first search: {exc}")

    def run(self, on_started: Callable[[], None] | None = None) -> None:
        """Start, then serve until SIGINT/SIGTERM or `stop()`; `on_started` runs once the lock
        is held and the vault reconciled (so a refused second daemon never announces itself)."""
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                signal.signal(sig, lambda *_: self.stopping.set())
        self.start()
        if on_started is not None:
            on_started()
        try:
            while not self.stopping.is_set():
                self.tick()
        finally:
            self.shutdown()

    def stop(self) -> None:
        """Ask the writer to stop after its current task (from any thread)."""
        self.stopping.set()
        self.inbox.put(_SHUTDOWN)

    def shutdown(self) -> None:
        """Finish what is in hand, then release everything. The writer's current step has
        already completed (signals only set a flag), so the index is consistent."""
        self.stopping.set()
        self.jobs.put([])  # wakes the embedding thread, which then sees `stopping`
        if self.watcher is not None:
            self.watcher.stop()
        if self.server is not None:
            self.server.stop()
        for thread in self._threads:
            thread.join(timeout=10)
        if self.app is not None:
            self.app.close()  # releases the writer lock
            self.app = None

    # -- the writer thread ----------------------------------------------------------------------

    def call(self, fn: Callable[[], Any], timeout: float = 600.0) -> Any:
        """Run `fn` on the writer thread and wait for its result (from the socket's threads)."""
        future: Future[Any] = Future()
        self.inbox.put(WriteTask(fn, future))
        return future.result(timeout=timeout)

    def tick(self, timeout: float = 0.1) -> None:
        """One step of the writer: run one queued task (or wait a little), then what is due.
        Nothing a task or a file does stops the writer: an error is logged and the loop goes on
        (the failing file keeps its problem in the index and is retried by the schedule)."""
        try:
            task = self.inbox.get(timeout=timeout)
        except queue.Empty:
            pass
        else:
            if task is not _SHUTDOWN:
                self._run(task)
        try:
            self._due_work()
        except Exception as exc:
            self.log_line(f"error in scheduled work: {type(exc).__name__}: {exc}")

    def _run(self, task: WriteTask) -> None:
        self._writing_since = time.monotonic()
        try:
            result = task.fn()
        except BaseException as exc:
            if task.reply is None:
                self.log_line(f"error: {exc}")
            else:
                task.reply.set_exception(exc)
        else:
            if task.reply is not None:
                task.reply.set_result(result)
        finally:
            self._writing_since = None

    def _pump_events(self) -> None:
        assert self.watcher is not None
        while not self.stopping.is_set():
            batch = self.watcher.next_batch(timeout=0.5)
            if batch:
                self.inbox.put(WriteTask(partial(self.process_batch, batch)))

    def _embed_worker(self) -> None:
        while not self.stopping.is_set():
            try:
                job = self.jobs.get(timeout=0.5)
            except queue.Empty:
                continue
            if not job:
                continue  # the wake-up of `shutdown`
            try:
                outcome = embed_batch(self.embedder, job)
            except CompanionError as exc:  # the model cannot load: every batch would fail
                outcome = BatchOutcome(job, error=f"{type(exc).__name__}: {exc}")
            self.inbox.put(WriteTask(partial(self._stored, outcome)))

    def _stored(self, outcome: BatchOutcome) -> None:
        self._app().store_vectors(outcome)
        if outcome.error is not None:
            self.log_line(f"embedding failed for {len(outcome.chunks)} chunks: {outcome.error}")
        self.embedding = False
        self.schedule.embed_check = True  # there may be more
        self._report_embedding(len(outcome.chunks))

    def _report_embedding(self, chunks: int) -> None:
        """A console line on embedding every EMBED_REPORT_EVERY seconds while it runs (done of
        total, and the rate since the last line), and one when it is done."""
        now = time.monotonic()
        if self._embed_since is None:  # a run starts: its first line comes a period later
            self._embed_since, self._embed_count = now, 0
        self._embed_count += chunks
        elapsed = now - self._embed_since
        if elapsed < EMBED_REPORT_EVERY:
            return
        progress = self._app().embedding_progress()
        rate = self._embed_count / elapsed if elapsed > 0 else 0.0
        self.log_line(
            f"embedding: {progress.embedded:,}/{progress.embeddable:,} chunks "
            f"({progress.pct:.1f}%), {rate:,.0f} chunks/s"
        )
        self._embed_since, self._embed_count = now, 0
        self._embed_reported = True

    def _embedding_done(self) -> None:
        """Nothing is left to embed: say so once, if progress was reported on the way."""
        if self._embed_reported:
            progress = self._app().embedding_progress()
            self.log_line(f"embedding done: {progress.embedded:,} chunks have vectors")
        self._embed_since, self._embed_reported = None, False

    # -- changes --------------------------------------------------------------------------------

    def _observe(self, report: SyncReport, settled: bool) -> None:
        """Every sync the `Companion` makes is reported here (see `Companion.on_sync`)."""
        self.schedule.observe(report, time.monotonic(), time.time(), settled)

    def reconcile(self, initial: bool = False, recovered: str | None = None) -> dict[str, Any]:
        """Full scan: pick up everything that changed while nobody watched."""
        from companion.render.log_md import counts_line

        if self.read_only is not None:
            report = self._app().sync()
            return {"added": report.added, "changed": report.changed, "removed": report.removed}
        report, catalog = self._app().reconcile(initial=initial, recovered=recovered)
        for path, why in catalog.refused:
            self.log_line(f"did not write {path}: {why}")
        counts = counts_line(
            len(report.added), len(report.changed), len(report.removed), report.seconds
        )
        self.log_line(f"{'started' if initial else 'reconciled'}: {counts}")
        return {"added": report.added, "changed": report.changed, "removed": report.removed}

    def process_batch(self, batch: Batch) -> SyncReport | None:
        self._counts["batches"] += 1
        if batch.folders:
            self.reconcile()  # a folder appeared, went or moved: rescan rather than guess
            return None
        app = self._app()
        paths = [p for p in sorted(batch.paths) if not app.own.is_echo(p)]
        if not paths:
            return None
        total = SyncReport()
        for start in range(0, len(paths), SLICE):
            total.merge(self._sync_slice(paths[start : start + SLICE]))
            if len(paths) > SLICE:
                self.log_line(f"synced {min(start + SLICE, len(paths))}/{len(paths)} changed files")
        if self.read_only is None:
            app.log_changes(total)
        return total

    def _sync_slice(self, paths: list[str]) -> SyncReport:
        """Sync a slice in one transaction; if it fails, path by path, so one bad path costs only
        itself (it is logged and retried later), never the other edits in its batch."""
        app = self._app()
        try:
            return app.sync_paths(paths)
        except Exception as exc:
            if len(paths) == 1:
                self.log_line(f"could not sync {paths[0]}: {type(exc).__name__}: {exc}")
                self.schedule.retry_later(paths[0], time.monotonic())
                return SyncReport()
        total = SyncReport()
        for path in paths:
            total.merge(self._sync_slice([path]))
        return total

    def _check_lease(self) -> bool:
        """Whether this daemon writes the vault now. A read-only daemon tries to take the lease
        every quarter TTL; a writer that lost it (suspended past the TTL, taken over) becomes
        read-only and says who owns the vault now."""
        app = self._app()
        if self.read_only is None:
            if app.vault_writer:
                return True
            self.read_only = str(app.read_only_error())
            self.log_line(f"lost the vault's lease; read-only now: {self.read_only}")
            self._next_takeover = time.monotonic() + self.settings.lease_ttl / 4
            return False
        now = time.monotonic()
        if now < self._next_takeover:
            return False
        self._next_takeover = now + self.settings.lease_ttl / 4
        if not app.take_lease("daemon"):
            return False
        self.read_only = None
        self.log_line("took over the vault's lease: writing the vault from now on")
        from companion.write.journal import recover

        try:
            finished = recover(self.settings.state_dir, self.settings.vault)
            if finished:
                self.log_line(finished)
            self.reconcile()
        finally:
            self.schedule.seed(app.unversioned(), time.monotonic())  # whatever happened above
        return True

    def _due_work(self) -> None:
        app = self._app()
        writer = self._check_lease()
        # What the schedule hands out leaves the queues `status` counts: from that moment it is
        # a write under way (set first, so no `status` sees it in neither).
        self._writing_since = time.monotonic()
        due = self.schedule.due(time.monotonic())
        if not writer:  # read-only: the vault's owner bumps and catalogs; we only index
            due.bumps, due.catalog = [], False
        busy = bool(due.bumps or due.retries or (due.sources and writer) or due.catalog)
        if not busy:
            self._writing_since = None
        try:
            for path in due.bumps:
                self._bump(path)
            if due.retries:
                self.process_batch(Batch(paths=set(due.retries)))
            if due.sources and writer:
                self._ingest(due.sources)
            if due.catalog and self.schedule.catalog_due is not None:
                due.catalog = False  # the bumps or retries just changed more: render once, later
            if due.catalog:
                written = app.write_generated()
                for path, why in written.refused:
                    self.log_line(f"did not write {path}: {why}")
                self._lint()
        finally:
            if busy:
                self._writing_since = None
        if not self.embedding:
            self._dispatch_embedding()

    def ask_request(self, request: dict[str, Any]) -> dict[str, Any]:
        """MCP `ask` with `save` sent to the daemon: the answer page is written by the single
        writer (an answer without `save` is read in the asking process)."""
        app = self._app()
        save = bool(request.get("save"))
        if save and self.read_only is not None:
            raise app.read_only_error()
        return app.ask(str(request.get("question", "")), save=save).as_json()

    def _lint(self) -> None:
        """Re-lint once a batch has settled (with the catalog), so `status` is current; a
        failure is logged and never stops the writer."""
        try:
            self._app().lint()
        except Exception as exc:
            self.log_line(f"lint failed: {type(exc).__name__}: {exc}")

    def _ingest(self, paths: list[str] | None) -> None:
        """Ingest the sources that settled (or withdraw the deleted ones): one transaction each.
        A failure is logged and never stops the writer; a retry is scheduled when one is due."""
        app = self._app()
        try:
            report = app.ingest(paths, missing_ok=True)
        except Exception as exc:
            self.log_line(f"ingest failed: {type(exc).__name__}: {exc}")
            return
        self._count(report)
        for o in report.outcomes:
            if o.status == "unchanged" and not (o.created or o.updated):
                continue
            if o.problem:
                self.log_line(f"ingest {o.status}: {o.problem}")
            else:
                self.log_line(
                    f"ingest {o.status}: {o.path} -> {o.summary} ({len(o.created)} created, "
                    f"{len(o.updated)} updated, {o.facts} facts, {o.seconds:.2f}s)"
                )
        for path, at in app.ingest_retries():
            self.schedule.ingest_later(path, time.monotonic() + max(0.0, at - time.time()))

    def _dispatch_embedding(self) -> None:
        """Hand the embedding thread its next batch; an idle daemon does not even look."""
        if not self.schedule.embed_check:
            return
        rows = self._app().pending_embedding(self.options.embed_batch * 8)
        job = [(c.hash, c.text) for c in rows if not self.schedule.settling(c.paths)]
        if job:
            self.embedding = True
            self.jobs.put(job[: self.options.embed_batch])
        else:
            self.schedule.nothing_to_embed()  # settling pages raise the flag when they settle
            if not rows:
                self._embedding_done()

    def _bump(self, path: str) -> None:
        """Bump `version` of a managed page a person edited without bumping it (one value)."""
        try:
            outcome = self._app().bump(path)
        except CompanionError as exc:
            self.log_line(str(exc))
            return
        except Exception as exc:  # a full disk, a read-only folder: try again later
            self.log_line(f"could not bump {path}: {type(exc).__name__}: {exc}; will retry")
            self.schedule.defer_bump(path, time.monotonic())
            return
        if outcome == "deferred":
            # The file is not what the index last saw: sync it (if no event is on its way, the
            # index would never catch up and the bump would wait for good), then wait again.
            self.process_batch(Batch(paths={path}))
            self.schedule.defer_bump(path, time.monotonic())
            return
        if outcome == "gone":
            return
        self._counts["bumps"] += 1
        self.log_line(f"bumped {path} to version {outcome.new_version}")

    # -- requests -------------------------------------------------------------------------------

    def _handlers(self) -> dict[str, Callable[[dict[str, Any]], Any]]:
        return {
            "ping": lambda r: {"pid": os.getpid()},
            # Read on the socket's thread, never queued: `status` answers while the writer is
            # held by a long ingest or a hostile note, which is when someone asks.
            "status": lambda r: self.status(),
            "search": self._search,
            # Embedding done/total alone, for a search's "results may be incomplete" note.
            "progress": lambda r: self._app().embedding_progress().as_json(),
            "update": lambda r: self.call(lambda: self.update(r)),
            "index": lambda r: self.call(self.reconcile),
            "ingest": lambda r: self.call(lambda: self.ingest_request(r), timeout=3600.0),
            "add_source": lambda r: self.call(lambda: self.add_source(r), timeout=3600.0),
            "lint": lambda r: self.call(lambda: self._app().lint(fix=bool(r.get("fix"))).as_json()),
            "ask": lambda r: self.call(lambda: self.ask_request(r)),
        }

    def _search(self, request: dict[str, Any]) -> list[dict[str, object]]:
        """Searches run on the socket's thread with a pooled read connection (WAL: readers never
        wait for the writer), so a long write never delays a search."""
        mode = request.get("mode", "hybrid")
        if mode not in MODES:
            raise ValueError(f"unknown search mode {mode!r}; choose one of {', '.join(MODES)}")
        hits = self._app().search(
            str(request.get("query", "")),
            mode=mode,
            limit=int(request.get("limit", 10)),
            require=False,  # the first scan may still be running: no hits yet, not an error
            min_score=None if request.get("min_score") is None else float(request["min_score"]),
            folder=None if request.get("folder") is None else str(request["folder"]),
            tag=None if request.get("tag") is None else str(request["tag"]),
        )
        return [h.as_dict() for h in hits]

    def update(self, request: dict[str, Any]) -> dict[str, Any]:
        """A compare-and-swap write through the single writer (see write/pages.py)."""
        from companion.write.pages import PageChange

        app = self._app()
        if self.read_only is not None:
            raise app.read_only_error()
        expect = request.get("expect_version")
        change = PageChange(
            body=request.get("body"),
            properties=dict(request.get("properties") or {}),
            add={k: list(v) for k, v in (request.get("add") or {}).items()},
            remove={k: list(v) for k, v in (request.get("remove") or {}).items()},
        )
        result = app.update(
            str(request["page"]),
            None if expect is None else int(expect),
            change,
            create=bool(request.get("create")),
        )
        self._counts["updates"] += 1
        return result.as_json()

    def ingest_request(self, request: dict[str, Any]) -> dict[str, Any]:
        """`companion ingest` sent to the daemon: the same run, through the single writer."""
        app = self._app()
        if self.read_only is not None:
            raise app.read_only_error()
        paths = request.get("paths")
        report = app.ingest(
            None if paths is None else [str(p) for p in paths],
            force=bool(request.get("force")),
            dry_run=bool(request.get("dry_run")),
        )
        self._count(report)
        return report.as_json()

    def add_source(self, request: dict[str, Any]) -> dict[str, Any]:
        """MCP `add_source` sent to the daemon: the new file written and ingested by the single
        writer (`data` is the file's bytes in hex: the socket speaks JSON)."""
        app = self._app()
        if self.read_only is not None:
            raise app.read_only_error()
        rel = app.add_source(str(request.get("name", "")), bytes.fromhex(str(request["data"])))
        report = app.ingest([rel])
        self._count(report)
        return {"source": rel, **report.as_json()}

    def _count(self, report: IngestReport) -> None:
        if not report.dry_run:
            done = ("ingested", "reingested")
            self._counts["ingested"] += sum(o.status in done for o in report.outcomes)

    def status(self) -> dict[str, Any]:
        """The daemon's state, read from the socket's thread while the writer goes on.

        The index's counts come through the pooled WAL readers, like a search. The schedule is
        the writer's, read here without a lock: each figure is one `len` of a dict and the recent
        events one copy of a deque, which CPython does whole under the GIL, so an answer may be a
        moment old but is never torn. The writer's task in hand counts as work left (`writing`),
        since the batch it holds is in neither the inbox nor the watcher."""
        app = self._app()
        progress = app.embedding_progress()
        s = self.schedule
        since = self._writing_since
        events = list(s.events)
        return {
            "daemon": {
                "pid": os.getpid(),
                "started": self.started_at,
                "uptime": time.time() - self.started_at,
                "read_only": self.read_only,
                "writing_for": None if since is None else round(time.monotonic() - since, 3),
            },
            "queue": {
                "events": self.inbox.qsize() + int(bool(self.watcher and self.watcher.pending())),
                "writing": int(since is not None),
                "embedding": progress.embeddable - progress.embedded,
                "waiting_to_settle": len(s.unsettled),
                "bumps": len(s.bumps),
                "retries": len(s.retry),
            },
            **progress.as_json(),
            "counters": self.counters,
            "last_events": [{"at": at, "path": p, "what": w} for at, p, w in reversed(events)],
            "failed": [{"path": p, "reason": r} for p, r in app.embed_failures()],
        }
