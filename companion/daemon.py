"""The watcher daemon: keeps the index, graph and generated notes in step with every edit.

Wiring, no new rules. One thread — the *writer* — owns the only write connection and runs every
change: watcher batches, version bumps, catalog writes, `update` requests and the vectors the
embedding thread computes. Everything else only reads (the API's search threads) or only computes
(the embedding thread, which never touches SQLite). Work reaches the writer as callables on one
queue, so there is never a second writer to race with (design.md, "one writer per vault").

Start-up: take the writer lock (a second daemon is refused, told who holds it); open the index,
moving a corrupt database aside and rebuilding; reconcile the vault against the index (changes
made while down are found by stat and hash); then watch.

Freshness: text, links, FTS and the graph are updated as soon as a batch is debounced. Embedding
waits until a page has been quiet for the settle window — except when its frontmatter `version`
went up, which is embedded at once. A managed page edited without a bump gets its version bumped
by the companion once settled (a one-value in-place edit). Files the companion writes are
recorded by hash, and the events they cause are ignored: no feedback loops, and an idle daemon
over an idle vault does no work and writes nothing.
"""

from __future__ import annotations

import os
import queue
import signal
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TextIO

import numpy as np

from companion.config import Settings, ensure_state_dir
from companion.embed import Embedder, chunk_chars_for, embedder_for, model_info
from companion.errors import CompanionError, VersionConflict
from companion.generated import append_log, write_catalog
from companion.journal import recover
from companion.lock import WriterLock
from companion.search import Mode, search
from companion.server import ApiServer
from companion.store import Store
from companion.sync import SyncReport, record_run, sync_paths, sync_vault
from companion.update import BumpDeferred, apply_update, bump_in_place, vault_path
from companion.vault import IgnoreRules, content_hash
from companion.vectors import VectorIndex
from companion.watcher import Batch, Watcher

SLICE = 500  # paths per transaction when a burst arrives


@dataclass(frozen=True, slots=True)
class DaemonOptions:
    debounce: float = 0.25  # quiet time that closes a batch of events
    max_delay: float = 1.0  # a batch is processed at most this long after its first event
    settle: float = 3.0  # quiet time before embedding an edit, or bumping a managed page
    catalog_delay: float = 0.5  # index.md is re-rendered this long after the last change
    embed_batch: int = 16  # small, so a save never waits long behind background embedding
    retry_delay: float = 1.0  # an unreadable file is looked at again after this long


class _LockedEmbedder:
    """One model shared by background embedding and queries: tokenizers are not thread-safe."""

    def __init__(self, inner: Embedder, lock: threading.Lock) -> None:
        self.inner, self.lock = inner, lock
        self.fingerprint, self.dim, self.window = inner.fingerprint, inner.dim, inner.window

    def embed(self, texts: Any) -> np.ndarray:
        with self.lock:
            return self.inner.embed(texts)


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
        self.max_chars = chunk_chars_for(self.info.window)
        if embedder is None:
            # Two instances: a search never waits behind a background embedding batch.
            embedder = embedder_for(self.info, settings.batch_size)
            query_embedder = embedder_for(self.info, settings.batch_size)
        if query_embedder is None or query_embedder is embedder:
            lock = threading.Lock()
            embedder = query_embedder = _LockedEmbedder(embedder, lock)
        self.embedder: Embedder = embedder
        self.query_embedder: Embedder = query_embedder
        self.inbox: queue.Queue[tuple[Callable[[], Any], Future[Any] | None]] = queue.Queue()
        self.jobs: queue.Queue[list[tuple[str, str]]] = queue.Queue()
        self.stopping = threading.Event()
        self.started_at = time.time()
        self.own: dict[str, str] = {}  # path -> hash of the bytes we wrote there
        self.unsettled: dict[str, float] = {}  # path -> monotonic time of its last change
        self.bumps: dict[str, float] = {}  # managed path edited without a bump -> last change
        self.retry: dict[str, float] = {}  # unreadable path -> when to look again
        self.attempts: dict[str, int] = {}  # unreadable path -> failed reads in a row (back-off)
        self.catalog_due: float | None = None
        self.embed_busy = False
        self.embed_check = True  # something may be waiting for a vector: look (cheap, not free)
        self.events: deque[tuple[float, str, str]] = deque(maxlen=20)
        self.counters = {
            "batches": 0,
            "own_events_ignored": 0,
            "bumps": 0,
            "updates": 0,
            "writes": 0,
        }
        self.lock = WriterLock(settings.state_dir / "writer.lock")
        self._readers: queue.Queue[Store] = queue.Queue()
        self.memory = VectorIndex(self.info.fingerprint, self.info.dim)
        self.store: Store | None = None
        self.watcher: Watcher | None = None
        self.server: ApiServer | None = None
        self._threads: list[threading.Thread] = []

    # -- lifecycle ------------------------------------------------------------------------------

    def say(self, message: str) -> None:
        print(f"[{datetime.now():%H:%M:%S}] {message}", file=self.out, flush=True)

    def start(self) -> None:
        ensure_state_dir(self.settings.state_dir)
        os.chmod(self.settings.state_dir, 0o700)
        self.lock.acquire("daemon")
        try:
            self._start_locked()
        except BaseException:
            self.lock.release()
            raise

    def _start_locked(self) -> None:
        finished = recover(self.settings.state_dir, self.settings.vault)
        if finished:
            self.say(finished)
        self.store, recovered = Store.open_or_recover(self.settings.db_path, thorough=True)
        if recovered:
            self.say(recovered)
        self.store.clear_embed_failures()  # a restart retries what failed before
        self.store.ensure_vectors(self.info.fingerprint, self.info.dim)
        self.query_embedder.embed(["warm up"])  # load the model now, not on the first search
        self.server = ApiServer(self.settings.state_dir, self._handlers())
        self.server.start()
        self.reconcile(initial=True, recovered=recovered)
        vault = self.settings.vault
        rules = IgnoreRules.load(vault)
        state = self.settings.state_dir
        state_rel = state.relative_to(vault).as_posix() if state.is_relative_to(vault) else None

        def accept(rel: str) -> bool:
            if state_rel and (rel == state_rel or rel.startswith(state_rel + "/")):
                return False
            return not rules.is_excluded(rel)

        self.watcher = Watcher(vault, accept, self.options.debounce, self.options.max_delay)
        self.watcher.start()
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
            reader = Store.open(self.settings.db_path)
        except Exception:
            return
        try:
            self.memory.refresh(reader)
        except Exception as exc:  # the first search tries again, and reports what goes wrong
            self.say(f"vectors not loaded ahead of the first search: {exc}")
        finally:
            reader.close()

    def run(self, on_started: Callable[[], None] | None = None) -> None:
        """Start, then serve until SIGINT/SIGTERM or `stop()`; `on_started` runs once the lock
        is held and the vault reconciled (so a refused second daemon never announces itself)."""
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                signal.signal(sig, lambda *_: self.stop())
        self.start()
        if on_started is not None:
            on_started()
        try:
            while not self.stopping.is_set():
                self.tick()
        finally:
            self.shutdown()

    def stop(self) -> None:
        self.stopping.set()

    def shutdown(self) -> None:
        """Finish what is in hand, then release everything. The writer's current step has
        already completed (signals only set a flag), so the index is consistent."""
        self.stopping.set()
        if self.watcher is not None:
            self.watcher.stop()
        if self.server is not None:
            self.server.stop()
        for thread in self._threads:
            thread.join(timeout=10)
        if self.store is not None:
            self.store.close()
            self.store = None
        while not self._readers.empty():
            self._readers.get_nowait().close()
        self.lock.release()

    # -- the writer thread ----------------------------------------------------------------------

    def call(self, fn: Callable[[], Any], timeout: float = 600.0) -> Any:
        """Run `fn` on the writer thread and wait for its result (from API threads)."""
        future: Future[Any] = Future()
        self.inbox.put((fn, future))
        return future.result(timeout=timeout)

    def tick(self, timeout: float = 0.1) -> None:
        """One step of the writer: run one queued job (or wait a little), then due work."""
        try:
            fn, future = self.inbox.get(timeout=timeout)
        except queue.Empty:
            pass
        else:
            try:
                result = fn()
            except BaseException as exc:
                if future is None:
                    self.say(f"error: {exc}")
                else:
                    future.set_exception(exc)
            else:
                if future is not None:
                    future.set_result(result)
        self._due_work()

    def _store(self) -> Store:
        assert self.store is not None, "the daemon is not started"
        return self.store

    def _pump_events(self) -> None:
        assert self.watcher is not None
        while not self.stopping.is_set():
            batch = self.watcher.next_batch(timeout=0.5)
            if batch:
                self.inbox.put((lambda b=batch: self.process_batch(b), None))  # type: ignore[misc]

    def _embed_worker(self) -> None:
        while not self.stopping.is_set():
            try:
                job = self.jobs.get(timeout=0.5)
            except queue.Empty:
                continue
            try:
                vectors = self.embedder.embed([text for _, text in job])
            except Exception as exc:
                reason = f"{type(exc).__name__}: {exc}"
                self.inbox.put((lambda j=job, r=reason: self._embed_failed(j, r), None))  # type: ignore[misc]
                continue
            items = [(h, v.tobytes()) for (h, _), v in zip(job, vectors, strict=True)]
            self.inbox.put((lambda i=items: self._store_vectors(i), None))  # type: ignore[misc]

    def _store_vectors(self, items: list[tuple[str, bytes]]) -> None:
        self._store().add_embeddings(self.info.fingerprint, items)
        self.embed_busy = False
        self.embed_check = True  # there may be more

    def _embed_failed(self, job: list[tuple[str, str]], reason: str) -> None:
        self._store().record_embed_failures(self.info.fingerprint, [h for h, _ in job], reason)
        self.say(f"embedding failed for {len(job)} chunks: {reason}")
        self.embed_busy = False
        self.embed_check = True

    # -- changes --------------------------------------------------------------------------------

    def reconcile(self, initial: bool = False, recovered: str | None = None) -> dict[str, Any]:
        """Full scan: pick up everything that changed while nobody watched."""
        store = self._store()
        report = sync_vault(self.settings, store, self.max_chars)
        with store.transaction():
            store.drop_unused_embeddings()
        # At start-up the changes were made while nobody watched: they are quiet, embed them now.
        self._after_sync(report, log=False, settled=initial)
        bullets = [
            f"{len(report.added)} added, {len(report.changed)} changed, {len(report.removed)} removed"
        ]
        bullets += [f"renamed `{a}` → `{b}`" for a, b in report.renamed][:20]
        if recovered:
            bullets.append(recovered)
        if report.changed_anything or recovered:
            op = "start" if initial else "reconcile"
            self._log(op, f"{len(store.page_paths())} files in {report.seconds:.2f}s", bullets)
        self._write_catalog()
        record_run(store, report)
        self.say(
            f"{'started' if initial else 'reconciled'}: {len(report.added)} added, "
            f"{len(report.changed)} changed, {len(report.removed)} removed in {report.seconds:.2f}s"
        )
        return {"added": report.added, "changed": report.changed, "removed": report.removed}

    def process_batch(self, batch: Batch) -> SyncReport | None:
        self.counters["batches"] += 1
        if batch.folders:
            self.reconcile()  # a folder appeared, went or moved: rescan rather than guess
            return None
        paths = [p for p in sorted(batch.paths) if not self._is_own_echo(p)]
        if not paths:
            return None
        total = SyncReport()
        for start in range(0, len(paths), SLICE):
            part = paths[start : start + SLICE]
            report = sync_paths(self.settings, self._store(), part, self.max_chars)
            _merge(total, report)
            if len(paths) > SLICE:
                self.say(f"synced {min(start + SLICE, len(paths))}/{len(paths)} changed files")
        self._after_sync(total, log=True)
        return total

    def _is_own_echo(self, path: str) -> bool:
        """True for an event caused by our own write (the file still holds what we wrote)."""
        written = self.own.get(path)
        if written is None:
            return False
        try:
            current = content_hash((self.settings.vault / path).read_bytes())
        except OSError:
            current = None
        if current == written:
            self.counters["own_events_ignored"] += 1
            return True
        del self.own[path]
        return False

    def _after_sync(self, report: SyncReport, log: bool, settled: bool = False) -> None:
        now = time.monotonic()
        schema = self.settings.schema
        if report.added or report.changed:
            self.embed_check = True
        for path in report.added + report.changed + report.removed:
            self.attempts.pop(path, None)  # read (or gone) at last: no more back-off
        for path in report.added + report.changed:
            if not settled:
                self.unsettled[path] = now
            self.events.append((time.time(), path, "added" if path in report.added else "changed"))
        for path in report.changed:
            old, new = report.versions.get(path, (0, 0))
            if path in report.versions and new is not None and (old is None or new > old):
                self.unsettled.pop(path, None)  # the writer bumped it: embed at once
                self.bumps.pop(path, None)
            elif schema.is_managed(path):
                self.bumps[path] = now - (self.options.settle if settled else 0.0)
        for path in report.removed:
            self.unsettled.pop(path, None)
            self.bumps.pop(path, None)
            self.events.append((time.time(), path, "removed"))
        for path in report.unreadable:
            # Back off (1 s, 2 s, 4 s … at most a minute): a file that stays unreadable must not
            # keep the writer busy, and it is never dropped from the index meanwhile.
            tries = self.attempts[path] = self.attempts.get(path, 0) + 1
            self.retry[path] = now + min(60.0, self.options.retry_delay * 2 ** (tries - 1))
        if report.changed_anything:
            self.catalog_due = now + self.options.catalog_delay
        if log and (report.added or report.removed):
            bullets = [f"renamed `{a}` → `{b}`" for a, b in report.renamed]
            moved = {a for a, _ in report.renamed} | {b for _, b in report.renamed}
            bullets += [f"added `{p}`" for p in report.added if p not in moved][:20]
            bullets += [f"removed `{p}`" for p in report.removed if p not in moved][:20]
            self._log("sync", f"{len(report.added)} added, {len(report.removed)} removed", bullets)

    def _due_work(self) -> None:
        now = time.monotonic()
        settle = self.options.settle
        for path, at in list(self.unsettled.items()):
            if now - at >= settle:
                del self.unsettled[path]
                self.embed_check = True  # settled: its chunks may be embedded now
        for path, at in list(self.bumps.items()):
            if now - at >= settle:
                del self.bumps[path]
                self._bump(path)
        due = [p for p, at in self.retry.items() if at <= now]
        if due:
            for path in due:
                del self.retry[path]
            self.process_batch(Batch(paths=set(due)))
        if self.catalog_due is not None and now >= self.catalog_due:
            self.catalog_due = None
            self._write_catalog()
        if not self.embed_busy:
            self._dispatch_embedding()

    def _dispatch_embedding(self) -> None:
        """Hand the embedding thread its next batch; an idle daemon does not even look."""
        if not self.embed_check:
            return
        rows = self._store().pending_chunk_pages(
            self.info.fingerprint, limit=self.options.embed_batch * 8
        )
        job = [(h, t) for h, t, paths in rows if not all(p in self.unsettled for p in paths)]
        if job:
            self.embed_busy = True
            self.jobs.put(job[: self.options.embed_batch])
        else:
            self.embed_check = False  # settling pages set it again when they settle

    def _bump(self, path: str) -> None:
        """Bump `version` of a managed page a person edited without bumping it (one value)."""
        known = self._store().file_states([path]).get(path)
        if known is None:
            return  # gone: nothing to bump
        try:
            old, new, written = bump_in_place(self.settings, path, known.hash)
        except BumpDeferred:
            self.bumps[path] = time.monotonic()  # still being edited: wait for it to settle
            return
        except CompanionError as exc:
            self.say(str(exc))
            return
        self._wrote([path], {path: written})
        self.counters["bumps"] += 1
        self._log("bump", f"`{path}` version {old} → {new}", [])
        self.say(f"bumped {path} to version {new}")

    def _wrote(self, paths: Iterable[str], hashes: dict[str, str] | None = None) -> None:
        """Record our own writes (their events will be ignored) and index them right away."""
        listed = list(paths)
        for path in listed:
            digest = (hashes or {}).get(path)
            if digest is None:
                try:
                    digest = content_hash((self.settings.vault / path).read_bytes())
                except OSError:
                    continue
            self.own[path] = digest
        self.counters["writes"] += len(listed)
        report = sync_paths(self.settings, self._store(), listed, self.max_chars)
        self._after_sync(report, log=False)

    def _write_catalog(self) -> None:
        result = write_catalog(
            self.settings.vault, self._store(), self.settings.schema, self.settings.state_dir
        )
        for path, why in result.refused:
            self.say(f"did not write {path}: {why}")
        if result.written or result.removed:
            self._wrote(result.written + result.removed)

    def _log(self, op: str, headline: str, bullets: list[str]) -> None:
        result = append_log(self.settings.vault, op, headline, bullets, datetime.now())
        if result.written:
            self._wrote(result.written)

    # -- requests -------------------------------------------------------------------------------

    def _handlers(self) -> dict[str, Callable[[dict[str, Any]], Any]]:
        return {
            "ping": lambda r: {"pid": os.getpid()},
            "status": lambda r: self.call(self.status),
            "search": self._search,
            "update": lambda r: self.call(lambda: self.update(r)),
            "index": lambda r: self.call(self.reconcile),
        }

    def _search(self, request: dict[str, Any]) -> list[dict[str, object]]:
        """Searches run on the API thread with a pooled read connection (WAL: readers never
        wait for the writer), so a long write never delays a search."""
        mode: Mode = request.get("mode", "hybrid")
        limit = int(request.get("limit", 10))
        try:
            reader = self._readers.get_nowait()
        except queue.Empty:
            reader = Store.open(self.settings.db_path)
        try:
            hits = search(
                reader,
                str(request.get("query", "")),
                mode=mode,
                limit=limit,
                embedder=self.query_embedder if mode != "bm25" else None,
                memory=self.memory,
            )
        finally:
            self._readers.put(reader)
        return [h.as_dict() for h in hits]

    def update(self, request: dict[str, Any]) -> dict[str, Any]:
        """A compare-and-swap write through the single writer (see update.py)."""
        page = vault_path(self.settings, str(request["page"]))
        if page in self.bumps:
            raise VersionConflict(
                f"{page} was just edited and its version will be bumped once the edit settles "
                f"({self.options.settle:g}s of quiet). Nothing was written; read it again then."
            )
        known = self._store().file_states([page]).get(page)
        result = apply_update(
            self.settings,
            page,
            int(request["expect_version"]),
            body=request.get("body"),
            properties=request.get("properties") or {},
            indexed_hash=known.hash if known else None,
        )
        self._wrote([result.path], {result.path: result.hash})
        self.counters["updates"] += 1
        self._log(
            "update", f"`{result.path}` version {result.old_version} → {result.new_version}", []
        )
        return {
            "path": result.path,
            "old_version": result.old_version,
            "new_version": result.new_version,
        }

    def status(self) -> dict[str, Any]:
        store = self._store()
        total, done = store.embedding_counts(self.info.fingerprint)
        pending = total - done
        return {
            "daemon": {
                "pid": os.getpid(),
                "started": self.started_at,
                "uptime": time.time() - self.started_at,
            },
            "queue": {
                "events": self.inbox.qsize() + int(bool(self.watcher and self.watcher.pending())),
                "embedding": pending,
                "waiting_to_settle": len(self.unsettled),
                "bumps": len(self.bumps),
                "retries": len(self.retry),
            },
            "embedded": done,
            "embeddable": total,
            "embedded_pct": round(100.0 * done / total, 1) if total else 100.0,
            "counters": dict(self.counters),
            "last_events": [{"at": at, "path": p, "what": w} for at, p, w in reversed(self.events)],
            "failed": [
                {"path": p, "reason": r} for p, r in store.embed_failures(self.info.fingerprint)
            ],
        }


def _merge(total: SyncReport, part: SyncReport) -> None:
    total.added += part.added
    total.changed += part.changed
    total.removed += part.removed
    total.renamed += part.renamed
    total.unreadable += part.unreadable
    total.problems += part.problems
    total.versions.update(part.versions)
    total.relinked += part.relinked
    total.seconds += part.seconds
