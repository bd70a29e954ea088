"""The library API the CLI (and later the daemon and MCP server) are thin shells over.

`Companion.open` locates the vault and its settings; `index` runs one full pass:
sync the index with the vault -> write index.md when the catalog changed -> append a log.md entry
when anything changed -> index the generated files just written -> embed what has no vector yet.
Text search works as soon as the sync step commits; embedding is resumable because each batch of
vectors is committed as it is computed and only chunks without a vector are ever queued.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import apsw

from companion.config import Settings, default_system_md, ensure_state_dir, load_settings
from companion.embed import Embedder, ModelInfo, chunk_chars_for, embedder_for, model_info
from companion.errors import CompanionError, ModelError, NoteNotFound, NotIndexed
from companion.generated import WriteReport, append_log, write_catalog
from companion.graph import VaultGraph, build_graph
from companion.journal import recover
from companion.render.index_md import INDEX_PATH
from companion.resolve import Resolver
from companion.search import Hit, Mode, search
from companion.store import EdgeRow, Store
from companion.sync import SyncReport, record_run, sync_paths, sync_vault
from companion.update import bump_in_place
from companion.vault import find_vault
from companion.vectors import VectorIndex

EMBED_BATCH = 256
Progress = Callable[[int, int], None]


@dataclass(slots=True)
class IndexResult:
    sync: SyncReport
    catalog: WriteReport
    log: WriteReport
    embedded: int = 0
    embed_seconds: float = 0.0
    embed_pending: int = 0
    reembedded_all: bool = False
    written: list[str] = field(default_factory=list)


class Companion:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        ensure_state_dir(settings.state_dir)
        self.store, self.recovered = Store.open_or_recover(settings.db_path)
        self.recovered_write: str | None = None
        self._model: ModelInfo | None = None
        self._embedder: Embedder | None = None
        self._memory: VectorIndex | None = None

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

    def close(self) -> None:
        self.store.close()

    def __enter__(self) -> Companion:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

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

    def keep_vectors_in_memory(self) -> None:
        """For a long-lived process (a server, a notebook, the benchmarks): vector search then
        answers from an in-memory copy of the vectors, kept in step with the store, instead of
        sqlite-vec's scan. A one-shot command should not: loading every vector costs more than
        the one query it answers."""
        if self._memory is None:
            self._memory = VectorIndex(self.model.fingerprint, self.model.dim)

    @property
    def memory(self) -> VectorIndex | None:
        """The in-memory vectors, once `keep_vectors_in_memory` was called."""
        return self._memory

    def use_embedder(self, embedder: Embedder) -> None:
        """Share an already-loaded model (tests, the daemon) instead of loading another."""
        self._embedder = embedder

    # -- indexing -------------------------------------------------------------------------------

    def rebuild(self) -> None:
        """Forget the index entirely; the next `index` rebuilds it from the markdown."""
        path = self.settings.db_path
        self.store.close()
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        self.store = Store.open(path)

    def sync(self, progress: Progress | None = None) -> SyncReport:
        """Bring the index in line with the vault; a database found damaged on the way is
        rebuilt from the markdown (it is only a cache)."""
        max_chars = chunk_chars_for(self.model.window)
        try:
            return sync_vault(self.settings, self.store, max_chars, progress)
        except (apsw.CorruptError, apsw.NotADBError) as exc:
            self.recovered = f"the index database was damaged ({exc}); rebuilt it from the markdown"
            self.rebuild()
            return sync_vault(self.settings, self.store, max_chars, progress)

    def index(
        self,
        *,
        embed: bool = True,
        progress: Progress | None = None,
        embed_progress: Progress | None = None,
        now: datetime | None = None,
    ) -> IndexResult:
        vault, schema = self.settings.vault, self.settings.schema
        self.recovered_write = recover(self.settings.state_dir, vault)
        report = self.sync(progress)
        report.bumped = self._bump_edited_pages(report)
        catalog = WriteReport()
        if report.changed_anything or not (vault / INDEX_PATH).exists():
            catalog = write_catalog(vault, self.store, schema, self.settings.state_dir)
        log = WriteReport()
        if report.changed_anything or catalog.written or catalog.removed:
            log = append_log(
                vault, "index", _headline(report), _bullets(report, catalog), now or datetime.now()
            )
        result = IndexResult(report, catalog, log)
        result.written = catalog.written + catalog.removed + log.written
        # Index what we just wrote, so the next run finds nothing to do. A generated note can
        # capture links (a user's `[[Index]]` resolves to the root index.md, as in Obsidian), which
        # changes the catalog: re-render until it is stable.
        fresh = list(result.written)
        for _ in range(3):
            if not fresh or not self.sync().relinked:
                break
            more = write_catalog(vault, self.store, schema, self.settings.state_dir)
            fresh = more.written + more.removed
            result.written += [p for p in fresh if p not in result.written]
        if report.changed_anything:
            record_run(self.store, report)
        if embed:
            self.embed_pending(result, embed_progress)
        return result

    def _bump_edited_pages(self, report: SyncReport) -> list[tuple[str, int, int]]:
        """Managed pages a person edited without bumping `version` get it bumped (one value),
        as the daemon does once an edit settles; returns (path, old, new) for each."""
        schema = self.settings.schema
        bumped = []
        for path in report.changed:
            old, new = report.versions.get(path, (None, None))
            went_up = path in report.versions and new is not None and (old is None or new > old)
            known = self.store.file_states([path]).get(path)
            if went_up or not schema.is_managed(path) or known is None:
                continue
            try:
                before, after, _ = bump_in_place(self.settings, path, known.hash)
            except CompanionError:
                continue  # changed again, malformed, or a link outside the vault: left as it is
            bumped.append((path, before, after))
        if bumped:
            paths = [p for p, _, _ in bumped]
            sync_paths(self.settings, self.store, paths, chunk_chars_for(self.model.window))
        return bumped

    def embed_pending(
        self, result: IndexResult | None = None, progress: Progress | None = None
    ) -> int:
        """Embed every chunk with no vector for the current model, committing batch by batch."""
        info = self.model
        result = result or IndexResult(SyncReport(), WriteReport(), WriteReport())
        result.reembedded_all = self.store.ensure_vectors(info.fingerprint, info.dim)
        with self.store.transaction():
            self.store.drop_unused_embeddings()
        pending = self.store.pending_chunks(info.fingerprint)
        result.embed_pending = len(pending)
        if not pending:
            return 0
        # Similar lengths in one batch waste less padding.
        pending.sort(key=lambda item: len(item[1]))
        embedder = self.embedder
        load = getattr(embedder, "load", None)
        if callable(load):
            load()  # the chunks/s a user sees is embedding, not the model's start-up
        started = time.perf_counter()
        done = 0
        if progress is not None:
            progress(0, len(pending))
        for start in range(0, len(pending), EMBED_BATCH):
            batch = pending[start : start + EMBED_BATCH]
            try:
                vectors = embedder.embed([text for _, text in batch])
            except ModelError:
                raise  # the model itself is unusable: say so, do not mark every chunk failed
            except Exception as exc:  # one bad batch must not stop the rest: record why, go on
                reason = f"{type(exc).__name__}: {exc}"
                self.store.record_embed_failures(info.fingerprint, [h for h, _ in batch], reason)
                continue
            self.store.add_embeddings(
                info.fingerprint,
                [(h, v.tobytes()) for (h, _), v in zip(batch, vectors, strict=True)],
            )
            done += len(batch)
            result.embedded = done
            result.embed_seconds = time.perf_counter() - started
            if progress is not None:
                progress(done, len(pending))
        return done

    # -- reading --------------------------------------------------------------------------------

    def require_index(self) -> None:
        """Reading commands on a vault never indexed get a message, not an empty answer."""
        if self.store.get_meta("last_index") is None and not self.store.file_states():
            raise NotIndexed(
                f"{self.settings.vault} has not been indexed yet (state: {self.settings.state_dir}); "
                f"run `companion index {self.settings.vault}` first"
            )

    def search(self, query: str, *, mode: Mode = "hybrid", limit: int = 10) -> list[Hit]:
        self.require_index()
        needs_model = mode != "bm25"
        return search(
            self.store,
            query,
            mode=mode,
            limit=limit,
            embedder=self.embedder if needs_model else None,
            memory=self._memory,
        )

    def vectors_ready(self) -> bool:
        """True when at least some chunks have vectors from the current model."""
        info = self.model
        return (
            self.store.get_meta("vector_model") == info.fingerprint
            and self.store.embedding_counts(info.fingerprint)[1] > 0
        )

    def search_best_effort(
        self, query: str, *, mode: Mode = "hybrid", limit: int = 10
    ) -> tuple[list[Hit], Mode]:
        """Like `search`, but hybrid falls back to BM25 (without loading the model) when no
        vectors exist yet; returns the mode actually used. Vector mode never falls back."""
        if mode == "hybrid" and not self.vectors_ready():
            mode = "bm25"
        return self.search(query, mode=mode, limit=limit), mode

    def graph(self) -> VaultGraph:
        self.require_index()
        return build_graph(self.store)

    def find_page(self, name: str) -> str:
        """A page path from a vault path or a link-style name (`Note`, `folder/Note.md`)."""
        paths = self.store.page_paths()
        if name in paths:
            return name
        target = Resolver(paths).resolve(name.removeprefix("[[").removesuffix("]]"), "").target
        if target is None:
            raise NoteNotFound(
                f"no note named {name!r} in {self.settings.vault}; try `companion search {name!r}`"
            )
        return target

    def backlinks(self, name: str) -> tuple[str, list[EdgeRow]]:
        path = self.find_page(name)
        return path, self.graph().backlinks(path)

    def status(self) -> dict[str, Any]:
        counts = self.store.counts()
        info = self.model
        total, done = self.store.embedding_counts(info.fingerprint)
        if self.store.get_meta("vector_model") != info.fingerprint:
            done = 0
        last = self.store.get_meta("last_index")
        db = self.settings.db_path
        size = sum(
            Path(f"{db}{s}").stat().st_size for s in ("", "-wal") if Path(f"{db}{s}").exists()
        )
        return {
            "vault": str(self.settings.vault),
            "state_dir": str(self.settings.state_dir),
            **counts,
            "embedded": done,
            "embeddable": total,
            "embedded_pct": round(100.0 * done / total, 1) if total else 100.0,
            "model": info.name,
            "model_fingerprint": info.fingerprint,
            "database": str(db),
            "database_bytes": size,
            "last_index": json.loads(last) if last else None,
            "problems": [
                {"path": p, "code": c, "message": m, "line": ln}
                for p, c, m, ln in self.store.problems()
            ],
        }


def _headline(report: SyncReport) -> str:
    return (
        f"{len(report.added)} added, {len(report.changed)} changed, {len(report.removed)} removed"
        f" in {report.seconds:.2f}s"
    )


def _bullets(report: SyncReport, catalog: WriteReport, limit: int = 10) -> list[str]:
    bullets = []
    for label, paths in (
        ("added", report.added),
        ("changed", report.changed),
        ("removed", report.removed),
    ):
        if paths:
            shown = ", ".join(f"`{p}`" for p in paths[:limit])
            more = f" and {len(paths) - limit} more" if len(paths) > limit else ""
            bullets.append(f"{label}: {shown}{more}")
    for path, old, new in report.bumped:
        bullets.append(f"bumped `{path}` version {old} → {new} (edited without a bump)")
    if report.relinked:
        bullets.append(f"{report.relinked} links resolved differently after files appeared or went")
    if catalog.written:
        bullets.append(
            "rewrote " + ", ".join(f"[[{p.removesuffix('.md')}]]" for p in catalog.written)
        )
    for path, why in catalog.refused:
        bullets.append(f"did not write `{path}`: {why}")
    for path, message in report.problems[:limit]:
        bullets.append(f"problem in `{path}`: {message}")
    if len(report.problems) > limit:
        bullets.append(f"{len(report.problems) - limit} more problems: see `companion status`")
    return bullets


def init_vault(path: Path) -> list[str]:
    """Scaffold a vault: folders, SYSTEM.md and templates. Never overwrites an existing file."""
    if path.exists() and not path.is_dir():
        raise CompanionError(f"{path} exists and is not a folder; pick another path for the vault")
    try:
        return _scaffold(path)
    except OSError as exc:
        raise CompanionError(f"cannot create the vault at {path}: {exc.strerror or exc}") from exc


def _scaffold(path: Path) -> list[str]:
    from importlib import resources

    created: list[str] = []
    for folder in (
        "sources",
        "wiki/sources",
        "wiki/entities",
        "wiki/concepts",
        "wiki/answers",
        "templates",
        ".obsidian",
    ):
        target = path / folder
        if not target.exists():
            target.mkdir(parents=True)
            created.append(folder + "/")
    system = path / "SYSTEM.md"
    if not system.exists():
        system.write_text(default_system_md(), encoding="utf-8")
        created.append("SYSTEM.md")
    templates = resources.files("companion") / "defaults" / "templates"
    for item in templates.iterdir():
        if item.name.endswith(".md") and not (path / "templates" / item.name).exists():
            (path / "templates" / item.name).write_text(
                item.read_text(encoding="utf-8"), encoding="utf-8"
            )
            created.append(f"templates/{item.name}")
    templates_json = path / ".obsidian" / "templates.json"
    if not templates_json.exists():
        templates_json.write_text(
            json.dumps({"folder": "templates"}, indent=2) + "\n", encoding="utf-8"
        )
        created.append(".obsidian/templates.json")
    return created
