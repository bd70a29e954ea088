"""The store's core: the connection (SQLite through apsw, sqlite-vec loaded), migrations on open,
recovery from a damaged file, transactions — and the gateways that hold the SQL per concern.

The database is a cache of the vault (design principle 1): every row can be rebuilt from the
markdown. It is SQLite opened through `apsw`, because the interpreter's built-in `sqlite3` often
cannot load extensions, with `sqlite-vec` loaded for cosine KNN. Opening fails loudly when the
extension cannot be loaded: search never silently degrades to "no vectors".

A `Store` composes one gateway per group of tables — `pages`, `links`, `vectors`, `ranking`,
`meta` — each over the same connection; gateways never import each other. Writers batch their
work in one transaction (`Store.transaction()`); readers use plain queries.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import apsw

from companion.errors import StoreError
from companion.store.base import Meta
from companion.store.conflicts import Conflicts
from companion.store.links import Links
from companion.store.migrations import applied, migrate
from companion.store.pages import Pages
from companion.store.ranking import Ranking
from companion.store.sources import Sources
from companion.store.vectors import Vectors

# What a damaged database file raises: the caller rebuilds the index from the markdown.
CORRUPTION: tuple[type[Exception], ...] = (apsw.CorruptError, apsw.NotADBError)


def vec0_path() -> str:
    """Where sqlite-vec's loadable extension is, found without importing the `sqlite_vec` package:
    importing it loads NumPy (~40 ms), which a one-shot BM25 search never needs. It is the file
    `sqlite_vec.loadable_path()` names: `vec0` beside the package's `__init__.py`."""
    spec = importlib.util.find_spec("sqlite_vec")
    if spec is None or spec.origin is None:
        raise StoreError(
            "the sqlite-vec package is not installed; vector search needs it. "
            "Reinstall with the README's commands (apsw + sqlite-vec)."
        )
    return os.path.normpath(os.path.join(os.path.dirname(spec.origin), "vec0"))


def connect(path: Path | str) -> apsw.Connection:
    """Open SQLite with sqlite-vec loaded; raise StoreError (never fall back) if it cannot load."""
    try:
        db = apsw.Connection(str(path))
    except apsw.Error as exc:
        raise StoreError(f"cannot open index database {path}: {exc}") from exc
    try:
        db.enable_load_extension(True)
        db.load_extension(vec0_path())
        db.enable_load_extension(False)
    except (apsw.Error, AttributeError) as exc:
        raise StoreError(
            f"cannot load the sqlite-vec extension ({exc}); vector search needs it. "
            "Reinstall with the README's commands (apsw + sqlite-vec)."
        ) from exc
    db.set_busy_timeout(5000)
    db.execute("PRAGMA foreign_keys = ON")
    return db


class Store:
    """The index database. One instance per thread; writes go through `transaction()`."""

    def __init__(self, db: apsw.Connection, path: Path | str) -> None:
        self.db = db
        self.path = path
        self.meta = Meta(db)
        self.pages = Pages(db)
        self.links = Links(db)
        self.vectors = Vectors(db, self.meta)
        self.ranking = Ranking(db)
        self.sources = Sources(db)
        self.conflicts = Conflicts(db)

    @classmethod
    def open(cls, path: Path | str) -> Store:
        db = connect(path)
        if str(path) != ":memory:":
            db.execute("PRAGMA journal_mode = WAL")
            db.execute("PRAGMA synchronous = NORMAL")
        store = cls(db, path)
        try:
            store.migrate()
        except apsw.Error as exc:
            raise StoreError(
                f"index database {path} is unusable ({exc}); run `companion index --rebuild`"
            ) from exc
        return store

    @classmethod
    def open_or_recover(cls, path: Path, thorough: bool = False) -> tuple[Store, str | None]:
        """Open the index; a corrupt or unreadable database is moved aside and a blank one made
        (the caller then rebuilds it from the markdown). Returns the store and what happened.

        `thorough` runs `PRAGMA quick_check` (a full read: about a second at 10k pages), which the
        daemon does once at start; commands only check that the file is a readable database."""
        if not path.exists():
            return cls.open(path), None
        try:
            store = cls.open(path)
            if not thorough or store._scalar("PRAGMA quick_check") == "ok":
                return store, None
            store.close()
        except (StoreError, apsw.Error):
            pass
        aside = path.with_name(f"{path.name}.corrupt-{int(time.time())}")
        path.rename(aside)
        for suffix in ("-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        return cls.open(path), f"the index database was corrupt; moved it to {aside} and rebuilt it"

    def close(self) -> None:
        self.db.close()

    def applied_migrations(self) -> list[str]:
        return applied(self.db)

    def migrate(self) -> list[str]:
        """Apply every migration not yet applied, in order, each in its own transaction."""
        return migrate(self.db)

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        with self.db:
            yield

    def _scalar(self, sql: str, args: tuple[Any, ...] = ()) -> Any:
        """The first column of the first row of a query that always returns one row."""
        row = self.db.execute(sql, args).fetchone()
        assert row is not None, sql
        return row[0]

    def snapshot(self) -> dict[str, list[tuple[Any, ...]]]:
        """Every content row, for tests that prove idempotency and rebuild equivalence."""
        tables = {
            "pages": "SELECT path, kind, title, type, version, size, mtime_ns, hash, properties, aliases, "
            "summary, excluded, generated FROM pages ORDER BY path",
            "chunks": "SELECT p.path, c.seq, c.heading, c.text, c.hash, c.line FROM chunks c "
            "JOIN pages p ON p.id = c.page_id ORDER BY p.path, c.seq",
            "links": "SELECT p.path, l.raw, l.path, l.subpath, l.display, l.kind, l.line, l.target, l.ambiguous "
            "FROM links l JOIN pages p ON p.id = l.page_id ORDER BY p.path, l.id",
            "tags": "SELECT p.path, t.tag FROM tags t JOIN pages p ON p.id = t.page_id ORDER BY p.path, t.tag",
            "embeddings": "SELECT chunk_hash, model FROM embeddings ORDER BY chunk_hash",
            "problems": "SELECT path, code, message, line FROM problems ORDER BY path, rowid",
            "meta": "SELECT key, value FROM meta ORDER BY key",
        }
        return {name: list(self.db.execute(sql)) for name, sql in tables.items()}
