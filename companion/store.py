"""All SQL lives here: schema, migrations, pages, chunks, FTS5, vectors, links, tags, problems.

The database is a cache of the vault (design principle 1): every row can be rebuilt from the
markdown. It is SQLite opened through `apsw`, because the interpreter's built-in `sqlite3` often
cannot load extensions, with `sqlite-vec` loaded for cosine KNN. Opening fails loudly when the
extension cannot be loaded: search never silently degrades to "no vectors".

Schema changes are ordered, named migration functions applied on open (`MIGRATIONS`); the vector
table is created separately by `ensure_vectors` once the embedding model's dimension and
fingerprint are known, and recreated when either changes. Vectors are keyed by
(chunk content hash, model fingerprint), so an unchanged chunk is never embedded twice and a rename
costs nothing.

Writers batch their work in one transaction (`Store.transaction()`); readers use plain queries.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import apsw
import sqlite_vec

from companion.errors import StoreError

# FTS5 column weights for bm25(): title and aliases above headings above body text.
BM25_WEIGHTS = (10.0, 8.0, 2.0, 1.0)
# How a page's text is laid out in its FTS row: the chunks joined (each starts with its heading
# trail), and its distinct headings, once each.
FTS_CHUNK_SEPARATOR = "\n\n"


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


@dataclass(frozen=True, slots=True)
class FileState:
    size: int
    mtime_ns: int
    hash: str
    version: int | None = None


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


def _m0001_initial(db: apsw.Connection) -> None:
    db.execute(
        """
        CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
        CREATE TABLE pages (
            id INTEGER PRIMARY KEY,
            path TEXT NOT NULL UNIQUE,
            kind TEXT NOT NULL,
            title TEXT NOT NULL,
            type TEXT,
            version INTEGER,
            size INTEGER NOT NULL,
            mtime_ns INTEGER NOT NULL,
            hash TEXT NOT NULL,
            properties TEXT NOT NULL DEFAULT '{}',
            aliases TEXT NOT NULL DEFAULT '[]',
            summary TEXT NOT NULL DEFAULT '',
            excluded INTEGER NOT NULL DEFAULT 0,
            generated INTEGER NOT NULL DEFAULT 0
        );
        CREATE TABLE chunks (
            id INTEGER PRIMARY KEY,
            page_id INTEGER NOT NULL REFERENCES pages(id) ON DELETE CASCADE,
            seq INTEGER NOT NULL,
            heading TEXT NOT NULL,
            text TEXT NOT NULL,
            hash TEXT NOT NULL,
            line INTEGER NOT NULL
        );
        CREATE INDEX chunks_page ON chunks(page_id);
        CREATE INDEX chunks_hash ON chunks(hash);
        CREATE VIRTUAL TABLE chunks_fts USING fts5(
            title, aliases, heading, body, tokenize = 'unicode61 remove_diacritics 2'
        );
        CREATE TABLE links (
            id INTEGER PRIMARY KEY,
            page_id INTEGER NOT NULL REFERENCES pages(id) ON DELETE CASCADE,
            raw TEXT NOT NULL,
            path TEXT NOT NULL,
            subpath TEXT,
            display TEXT,
            kind TEXT NOT NULL,
            line INTEGER NOT NULL,
            target TEXT,
            ambiguous INTEGER NOT NULL DEFAULT 0
        );
        CREATE INDEX links_page ON links(page_id);
        CREATE INDEX links_target ON links(target);
        CREATE TABLE tags (
            page_id INTEGER NOT NULL REFERENCES pages(id) ON DELETE CASCADE,
            tag TEXT NOT NULL,
            norm TEXT NOT NULL
        );
        CREATE INDEX tags_page ON tags(page_id);
        CREATE INDEX tags_norm ON tags(norm);
        CREATE TABLE embeddings (
            id INTEGER PRIMARY KEY,
            chunk_hash TEXT NOT NULL,
            model TEXT NOT NULL,
            UNIQUE (chunk_hash, model)
        );
        CREATE TABLE problems (
            path TEXT NOT NULL,
            code TEXT NOT NULL,
            message TEXT NOT NULL,
            line INTEGER
        );
        CREATE INDEX problems_path ON problems(path);
        """
    )


def _m0002_link_names(db: apsw.Connection) -> None:
    """Links carry the key of the name they point at, so a new or deleted file re-resolves only
    the links that could change (not every link in the vault)."""
    from companion.resolve import name_key

    db.execute("ALTER TABLE links ADD COLUMN name TEXT NOT NULL DEFAULT ''")
    rows = [(name_key(path), lid) for lid, path in db.execute("SELECT id, path FROM links")]
    db.cursor().executemany("UPDATE links SET name = ? WHERE id = ?", rows)
    db.execute("CREATE INDEX links_name ON links(name)")


def _m0003_embed_failures(db: apsw.Connection) -> None:
    """Chunks the model failed on, and why: skipped until the model changes or a restart retries."""
    db.execute(
        """
        CREATE TABLE embed_failures (
            chunk_hash TEXT NOT NULL,
            model TEXT NOT NULL,
            reason TEXT NOT NULL,
            at REAL NOT NULL,
            PRIMARY KEY (chunk_hash, model)
        )
        """
    )


def _m0004_porter_stemming(db: apsw.Connection) -> None:
    """BM25 matches word forms (retried ~ retry): the porter stemmer over unicode61. On the
    SciFact dev queries BM25 nDCG@10 went from 0.654 to 0.683 (docs/benchmarks.md)."""
    db.execute(
        """
        DROP TABLE chunks_fts;
        CREATE VIRTUAL TABLE chunks_fts USING fts5(
            title, aliases, heading, body, tokenize = 'porter unicode61 remove_diacritics 2'
        );
        INSERT INTO chunks_fts (rowid, title, aliases, heading, body)
            SELECT c.id, p.title,
                   (SELECT coalesce(group_concat(j.value, ' '), '') FROM json_each(p.aliases) j),
                   c.heading, c.text
            FROM chunks c JOIN pages p ON p.id = c.page_id;
        """
    )


def _m0005_page_fts(db: apsw.Connection) -> None:
    """BM25 scores whole pages, not chunks: one FTS row per page. On the SciFact dev queries BM25
    nDCG@10 rose from 0.687 to 0.701 with hybrid unchanged, and at 10k notes the index has 10k
    rows instead of ~77k, so each query walks far shorter posting lists (docs/benchmarks.md)."""
    db.execute(
        """
        DROP TABLE chunks_fts;
        CREATE VIRTUAL TABLE pages_fts USING fts5(
            title, aliases, headings, body, tokenize = 'porter unicode61 remove_diacritics 2'
        );
        INSERT INTO pages_fts (rowid, title, aliases, headings, body)
            SELECT p.id, p.title,
                   (SELECT coalesce(group_concat(j.value, ' '), '') FROM json_each(p.aliases) j),
                   (SELECT coalesce(group_concat(h, ' '), '')
                      FROM (SELECT DISTINCT heading AS h FROM chunks
                            WHERE page_id = p.id AND heading != '')),
                   (SELECT coalesce(group_concat(t, char(10) || char(10)), '')
                      FROM (SELECT text AS t FROM chunks WHERE page_id = p.id ORDER BY seq))
            FROM pages p
            WHERE p.excluded = 0 AND EXISTS (SELECT 1 FROM chunks c WHERE c.page_id = p.id);
        """
    )


# Ordered, named, append-only: never edit a released migration, add a new one.
MIGRATIONS: tuple[tuple[str, Callable[[apsw.Connection], None]], ...] = (
    ("0001_initial", _m0001_initial),
    ("0002_link_names", _m0002_link_names),
    ("0003_embed_failures", _m0003_embed_failures),
    ("0004_porter_stemming", _m0004_porter_stemming),
    ("0005_page_fts", _m0005_page_fts),
)


def connect(path: Path | str) -> apsw.Connection:
    """Open SQLite with sqlite-vec loaded; raise StoreError (never fall back) if it cannot load."""
    try:
        db = apsw.Connection(str(path))
    except apsw.Error as exc:
        raise StoreError(f"cannot open index database {path}: {exc}") from exc
    try:
        db.enable_load_extension(True)
        db.load_extension(sqlite_vec.loadable_path())
        db.enable_load_extension(False)
    except (apsw.Error, AttributeError) as exc:
        raise StoreError(
            f"cannot load the sqlite-vec extension ({exc}); vector search needs it. "
            "Reinstall with the README's commands (apsw + sqlite-vec)."
        ) from exc
    db.set_busy_timeout(5000)
    db.execute("PRAGMA foreign_keys = ON")
    return db


_UPSERT_PAGE = """
    INSERT INTO pages (path, kind, title, type, version, size, mtime_ns, hash, properties,
                       aliases, summary, excluded, generated)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
    ON CONFLICT(path) DO UPDATE SET
        kind = excluded.kind, title = excluded.title, type = excluded.type,
        version = excluded.version, size = excluded.size, mtime_ns = excluded.mtime_ns,
        hash = excluded.hash, properties = excluded.properties, aliases = excluded.aliases,
        summary = excluded.summary, excluded = excluded.excluded, generated = excluded.generated
    RETURNING id
"""


def _page_values(page: PageRow) -> tuple[Any, ...]:
    return (
        page.path,
        page.kind,
        page.title,
        page.type,
        page.version,
        page.size,
        page.mtime_ns,
        page.hash,
        page.properties,
        json.dumps(page.aliases),
        page.summary,
        int(page.excluded),
        int(page.generated),
    )


class Store:
    """The index database. One instance per thread; writes go through `transaction()`."""

    def __init__(self, db: apsw.Connection, path: Path | str) -> None:
        self.db = db
        self.path = path

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

    # -- schema ---------------------------------------------------------------------------------

    def applied_migrations(self) -> list[str]:
        self.db.execute(
            "CREATE TABLE IF NOT EXISTS migrations (name TEXT PRIMARY KEY, applied_at REAL)"
        )
        return [r[0] for r in self.db.execute("SELECT name FROM migrations ORDER BY rowid")]

    def migrate(self) -> list[str]:
        """Apply every migration not yet applied, in order, each in its own transaction."""
        done = set(self.applied_migrations())
        applied = []
        for name, step in MIGRATIONS:
            if name in done:
                continue
            with self.db:
                step(self.db)
                self.db.execute("INSERT INTO migrations VALUES (?, ?)", (name, time.time()))
            applied.append(name)
        return applied

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        with self.db:
            yield

    def _scalar(self, sql: str, args: tuple[Any, ...] = ()) -> Any:
        """The first column of the first row of a query that always returns one row."""
        row = self.db.execute(sql, args).fetchone()
        assert row is not None, sql
        return row[0]

    def get_meta(self, key: str) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def set_meta(self, key: str, value: str) -> None:
        self.db.execute(
            "INSERT INTO meta VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value "
            "WHERE value IS NOT excluded.value",
            (key, value),
        )

    # -- pages ----------------------------------------------------------------------------------

    def file_states(self, paths: Iterable[str] | None = None) -> dict[str, FileState]:
        """Stat, hash and version of every indexed file (or of the given paths only)."""
        sql = "SELECT path, size, mtime_ns, hash, version FROM pages"
        if paths is None:
            rows = list(self.db.execute(sql))
        else:
            rows = [r for p in paths for r in self.db.execute(sql + " WHERE path = ?", (p,))]
        return {
            path: FileState(size, mtime, digest, version)
            for path, size, mtime, digest, version in rows
        }

    def put_pages(self, pages: Sequence[PageRow], new: Iterable[str] = ()) -> None:
        """Insert or replace pages with their chunks, FTS rows, links and tags (caller's
        transaction). Paths in `new` are known not to be indexed yet: nothing to clear first.
        Rows are written with one executemany per table, chunk ids assigned here."""
        cur = self.db.cursor()
        fresh = set(new)
        next_chunk = int(self._scalar("SELECT coalesce(max(id), 0) + 1 FROM chunks"))
        chunk_rows: list[tuple[Any, ...]] = []
        fts_rows: list[tuple[Any, ...]] = []
        link_rows: list[tuple[Any, ...]] = []
        tag_rows: list[tuple[Any, ...]] = []
        for page in pages:
            row = cur.execute(_UPSERT_PAGE, _page_values(page)).fetchone()
            page_id = row[0]  # type: ignore[index]  # RETURNING always yields the row
            if page.path not in fresh:
                self._clear_page_content(cur, page_id)
            # Excluded files are never searched, and attachments have no text: no FTS row.
            if not page.excluded and page.chunks:
                fts_rows.append(
                    (
                        page_id,
                        page.title,
                        " ".join(page.aliases),
                        " ".join(dict.fromkeys(c.heading for c in page.chunks if c.heading)),
                        FTS_CHUNK_SEPARATOR.join(c.text for c in page.chunks),
                    )
                )
            for chunk in page.chunks:
                chunk_rows.append(
                    (
                        next_chunk,
                        page_id,
                        chunk.seq,
                        chunk.heading,
                        chunk.text,
                        chunk.hash,
                        chunk.line,
                    )
                )
                next_chunk += 1
            link_rows.extend(
                (
                    page_id,
                    k.raw,
                    k.path,
                    k.subpath,
                    k.display,
                    k.kind,
                    k.line,
                    k.target,
                    int(k.ambiguous),
                    k.name,
                )
                for k in page.links
            )
            tag_rows.extend((page_id, tag, tag.casefold()) for tag in page.tags)
        if chunk_rows:
            cur.executemany(
                "INSERT INTO chunks (id, page_id, seq, heading, text, hash, line) VALUES (?, ?, ?, ?, ?, ?, ?)",
                chunk_rows,
            )

        if fts_rows:
            cur.executemany(
                "INSERT INTO pages_fts (rowid, title, aliases, headings, body) VALUES (?, ?, ?, ?, ?)",
                fts_rows,
            )
        if link_rows:
            cur.executemany(
                "INSERT INTO links (page_id, raw, path, subpath, display, kind, line, target, "
                "ambiguous, name) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                link_rows,
            )
        if tag_rows:
            cur.executemany("INSERT INTO tags (page_id, tag, norm) VALUES (?, ?, ?)", tag_rows)

    @staticmethod
    def _clear_page_content(cur: apsw.Cursor, page_id: int) -> None:
        cur.execute("DELETE FROM pages_fts WHERE rowid = ?", (page_id,))
        cur.execute("DELETE FROM chunks WHERE page_id = ?", (page_id,))
        cur.execute("DELETE FROM links WHERE page_id = ?", (page_id,))
        cur.execute("DELETE FROM tags WHERE page_id = ?", (page_id,))

    def touch_pages(self, stats: Iterable[tuple[str, int, int]]) -> None:
        """Record a new size/mtime for files whose content hash did not change."""
        self.db.cursor().executemany(
            "UPDATE pages SET size = ?, mtime_ns = ? WHERE path = ?",
            [(s, m, p) for p, s, m in stats],
        )

    def delete_pages(self, paths: Iterable[str]) -> None:
        cur = self.db.cursor()
        for path in paths:
            row = cur.execute("SELECT id FROM pages WHERE path = ?", (path,)).fetchone()
            if row is None:
                continue
            self._clear_page_content(cur, row[0])
            cur.execute("DELETE FROM pages WHERE id = ?", (row[0],))

    def page(self, path: str) -> dict[str, Any] | None:
        cur = self.db.execute(
            "SELECT path, kind, title, type, version, hash, properties, aliases, summary, excluded, generated "
            "FROM pages WHERE path = ?",
            (path,),
        )
        row = cur.fetchone()
        if row is None:
            return None
        names = [d[0] for d in cur.getdescription()]
        return dict(zip(names, row, strict=True))

    def page_paths(self) -> list[str]:
        return [r[0] for r in self.db.execute("SELECT path FROM pages ORDER BY path")]

    # -- links ----------------------------------------------------------------------------------

    def links_to_resolve(
        self, names: Iterable[str] | None = None
    ) -> list[tuple[int, str, str, str | None, bool]]:
        """(link id, source path, link path, current target, current ambiguous) for every link,
        or only for links whose name key is in `names`."""
        sql = (
            "SELECT l.id, p.path, l.path, l.target, l.ambiguous FROM links l "
            "JOIN pages p ON p.id = l.page_id"
        )
        if names is None:
            rows = self.db.execute(sql)
        else:
            wanted = sorted(set(names))
            if not wanted:
                return []
            self.db.execute("CREATE TEMP TABLE IF NOT EXISTS wanted_names (name TEXT PRIMARY KEY)")
            self.db.execute("DELETE FROM temp.wanted_names")
            self.db.cursor().executemany(
                "INSERT OR IGNORE INTO temp.wanted_names VALUES (?)", [(n,) for n in wanted]
            )
            rows = self.db.execute(sql + " WHERE l.name IN (SELECT name FROM temp.wanted_names)")
        return [(lid, src, lp, tgt, bool(amb)) for lid, src, lp, tgt, amb in rows]

    def set_link_targets(self, updates: Iterable[tuple[str | None, bool, int]]) -> None:
        self.db.cursor().executemany(
            "UPDATE links SET target = ?, ambiguous = ? WHERE id = ?",
            [(t, int(a), i) for t, a, i in updates],
        )

    def edges(self) -> list[EdgeRow]:
        return [
            EdgeRow(src, tgt, raw, lp, sub, kind, bool(amb))
            for src, tgt, raw, lp, sub, kind, amb in self.db.execute(
                "SELECT p.path, l.target, l.raw, l.path, l.subpath, l.kind, l.ambiguous "
                "FROM links l JOIN pages p ON p.id = l.page_id ORDER BY p.path, l.line, l.id"
            )
        ]

    def linked_pages(self, paths: Sequence[str]) -> list[tuple[str, str, str]]:
        """(page, neighbour, neighbour's title) for every resolved link between one of `paths`
        and another searchable page (a note or canvas, not an attachment), in either direction."""
        if not paths:
            return []
        marks = ",".join("?" * len(paths))
        return list(
            self.db.execute(
                f"""
                SELECT p.path, t.path, t.title FROM links l
                JOIN pages p ON p.id = l.page_id JOIN pages t ON t.path = l.target
                WHERE p.path IN ({marks}) AND t.path != p.path
                  AND t.excluded = 0 AND t.generated = 0 AND t.kind != 'attachment'
                UNION
                SELECT t.path, p.path, p.title FROM links l
                JOIN pages p ON p.id = l.page_id JOIN pages t ON t.path = l.target
                WHERE l.target IN ({marks}) AND p.path != t.path
                  AND p.excluded = 0 AND p.generated = 0 AND p.kind != 'attachment'
                """,
                (*paths, *paths),
            )
        )

    def node_rows(self) -> list[tuple[str, str, str, bool, bool]]:
        """(path, kind, title, excluded, generated) for every file in the index."""
        return [
            (p, k, t, bool(e), bool(g))
            for p, k, t, e, g in self.db.execute(
                "SELECT path, kind, title, excluded, generated FROM pages ORDER BY path"
            )
        ]

    # -- catalog --------------------------------------------------------------------------------

    def catalog(self) -> list[CatalogRow]:
        """Notes for index.md: not generated, not excluded."""
        return [
            CatalogRow(path, title, typ, summary)
            for path, title, typ, summary in self.db.execute(
                """
                SELECT path, title, type, summary FROM pages
                WHERE kind IN ('note', 'canvas') AND generated = 0 AND excluded = 0
                ORDER BY path
                """
            )
        ]

    def orphans(self) -> list[str]:
        """Notes no other non-generated note links to (generated and excluded notes aside)."""
        return [
            r[0]
            for r in self.db.execute(
                """
                SELECT p.path FROM pages p
                WHERE p.kind IN ('note', 'canvas') AND p.generated = 0 AND p.excluded = 0
                  AND NOT EXISTS (
                    SELECT 1 FROM links l JOIN pages s ON s.id = l.page_id
                    WHERE l.target = p.path AND s.id != p.id AND s.generated = 0)
                ORDER BY p.path
                """
            )
        ]

    def unresolved_links(self) -> list[tuple[str, str]]:
        """(source path, link path) of unresolved links from non-generated notes."""
        return [
            (src, lp)
            for src, lp in self.db.execute(
                "SELECT DISTINCT p.path, l.path FROM links l JOIN pages p ON p.id = l.page_id "
                "WHERE l.target IS NULL AND p.generated = 0 AND p.excluded = 0 ORDER BY p.path, l.path"
            )
        ]

    # -- problems -------------------------------------------------------------------------------

    def replace_problems(self, path: str, problems: Iterable[tuple[str, str, int | None]]) -> None:
        rows = list(problems)
        existing = list(
            self.db.execute(
                "SELECT code, message, line FROM problems WHERE path = ? ORDER BY rowid", (path,)
            )
        )
        if existing == rows:
            return
        self.db.execute("DELETE FROM problems WHERE path = ?", (path,))
        self.db.cursor().executemany(
            "INSERT INTO problems (path, code, message, line) VALUES (?, ?, ?, ?)",
            [(path, *r) for r in rows],
        )

    def problem_paths(self) -> set[str]:
        return {r[0] for r in self.db.execute("SELECT DISTINCT path FROM problems")}

    def problems(self) -> list[tuple[str, str, str, int | None]]:
        return list(
            self.db.execute("SELECT path, code, message, line FROM problems ORDER BY path, rowid")
        )

    # -- search ---------------------------------------------------------------------------------

    def bm25(
        self, match: str, limit: int, weights: Sequence[float] = BM25_WEIGHTS
    ) -> list[tuple[int, str, str, float]]:
        """Best pages for an FTS5 MATCH expression: (page id, path, title, score), best first.

        The ranking query touches the FTS table alone; joining pages inside it made SQLite join
        every match before sorting. Snippets are a separate call (`snippets`), made only for
        the hits a search finally shows."""
        w = ", ".join(str(float(x)) for x in weights)
        return list(
            self.db.execute(
                f"""
                WITH top AS (
                    SELECT rowid AS id, bm25(pages_fts, {w}) AS score FROM pages_fts
                    WHERE pages_fts MATCH ?1 ORDER BY score LIMIT ?2
                )
                SELECT top.id, p.path, p.title, top.score FROM top JOIN pages p ON p.id = top.id
                WHERE p.excluded = 0 AND p.generated = 0 ORDER BY top.score
                """,
                (match, limit),
            )
        )

    def snippets(self, match: str, page_ids: Sequence[int]) -> dict[int, str]:
        """page id -> a fragment of its text around the matched words, marked with `**`."""
        if not page_ids:
            return {}
        ids = ",".join(str(int(i)) for i in page_ids)
        return dict(
            self.db.execute(
                f"SELECT rowid, snippet(pages_fts, 3, '**', '**', '…', 16) FROM pages_fts "
                f"WHERE pages_fts MATCH ? AND rowid IN ({ids})",
                (match,),
            )
        )

    def knn(self, vector: bytes, k: int) -> list[tuple[str, float]]:
        """Nearest chunk hashes by cosine distance (empty when no vectors exist yet)."""
        if not self._has_vectors():
            return []
        return list(
            self.db.execute(
                """
                SELECT e.chunk_hash, v.distance
                FROM (SELECT rowid, distance FROM vectors WHERE embedding MATCH ? AND k = ?) v
                JOIN embeddings e ON e.id = v.rowid ORDER BY v.distance
                """,
                (vector, k),
            )
        )

    def chunks_for_hashes(self, hashes: Sequence[str]) -> list[tuple[str, str, str, str]]:
        """(hash, path, title, text) for searchable chunks with those content hashes."""
        if not hashes:
            return []
        marks = ",".join("?" * len(hashes))
        return list(
            self.db.execute(
                f"SELECT c.hash, p.path, p.title, c.text FROM chunks c JOIN pages p ON p.id = c.page_id "
                f"WHERE c.hash IN ({marks}) AND p.excluded = 0 AND p.generated = 0 ORDER BY p.path, c.seq",
                tuple(hashes),
            )
        )

    # -- embeddings -----------------------------------------------------------------------------

    def _has_vectors(self) -> bool:
        return (
            self.db.execute("SELECT 1 FROM sqlite_master WHERE name = 'vectors'").fetchone()
            is not None
        )

    def ensure_vectors(self, fingerprint: str, dim: int) -> bool:
        """Make the vector table match the model; returns True when old vectors were dropped."""
        current = self.get_meta("vector_model")
        if (
            current == fingerprint
            and self.get_meta("vector_dim") == str(dim)
            and self._has_vectors()
        ):
            return False
        with self.db:
            self.db.execute("DROP TABLE IF EXISTS vectors")
            self.db.execute("DELETE FROM embeddings")
            self.db.execute(
                f"CREATE VIRTUAL TABLE vectors USING vec0(embedding float[{int(dim)}] distance_metric=cosine)"
            )
            self.set_meta("vector_model", fingerprint)
            self.set_meta("vector_dim", str(dim))
            self._bump_vector_epoch()
        return current is not None

    def _bump_vector_epoch(self) -> None:
        """Vectors were removed: in-memory copies (vectors.VectorIndex) must reload, not append."""
        epoch = int(self.get_meta("vector_epoch") or 0) + 1
        self.set_meta("vector_epoch", str(epoch))

    def vector_state(self) -> tuple[str, int]:
        """(epoch, highest embedding id): what an in-memory copy of the vectors must match."""
        epoch = self.get_meta("vector_epoch") or "0"
        return epoch, int(self._scalar("SELECT coalesce(max(id), 0) FROM embeddings"))

    def vectors_after(self, fingerprint: str, after_id: int) -> Iterator[tuple[int, str, bytes]]:
        """(embedding id, chunk hash, float32 vector bytes) for ids above `after_id`, in order;
        streamed, so that loading 766k vectors never holds them all as Python objects."""
        if not self._has_vectors():
            return iter(())
        return iter(
            self.db.execute(
                "SELECT e.id, e.chunk_hash, v.embedding FROM embeddings e "
                "JOIN vectors v ON v.rowid = e.id WHERE e.model = ? AND e.id > ? ORDER BY e.id",
                (fingerprint, after_id),
            )
        )

    def pending_chunks(self, fingerprint: str, limit: int | None = None) -> list[tuple[str, str]]:
        """(hash, text) of distinct non-empty chunks with no vector (and no failure) for this model."""
        return [(h, t) for h, t, _ in self.pending_chunk_pages(fingerprint, limit)]

    def pending_chunk_pages(
        self, fingerprint: str, limit: int | None = None
    ) -> list[tuple[str, str, list[str]]]:
        """Like `pending_chunks`, with the paths of the pages each chunk text appears in.

        No GROUP BY: with a LIMIT the scan stops at the first pending chunks it meets, and each
        chunk costs two index lookups, so asking when nothing is pending stays cheap."""
        sql = (
            "SELECT c.hash, c.text, p.path FROM chunks c JOIN pages p ON p.id = c.page_id "
            "WHERE c.text != '' AND p.generated = 0 AND p.excluded = 0 "
            "AND NOT EXISTS (SELECT 1 FROM embeddings e WHERE e.chunk_hash = c.hash AND e.model = ?1) "
            "AND NOT EXISTS (SELECT 1 FROM embed_failures f WHERE f.chunk_hash = c.hash AND f.model = ?1)"
        )
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        found: dict[str, tuple[str, list[str]]] = {}
        for digest, text, path in self.db.execute(sql, (fingerprint,)):
            found.setdefault(digest, (text, []))[1].append(path)
        return [(h, t, paths) for h, (t, paths) in found.items()]

    def record_embed_failures(self, fingerprint: str, hashes: Sequence[str], reason: str) -> None:
        with self.db:
            self.db.cursor().executemany(
                "INSERT OR REPLACE INTO embed_failures VALUES (?, ?, ?, ?)",
                [(h, fingerprint, reason, time.time()) for h in hashes],
            )

    def embed_failures(self, fingerprint: str) -> list[tuple[str, str]]:
        """(page path, reason) for pages with chunks the model failed on."""
        return list(
            self.db.execute(
                "SELECT DISTINCT p.path, f.reason FROM embed_failures f JOIN chunks c ON c.hash = f.chunk_hash "
                "JOIN pages p ON p.id = c.page_id WHERE f.model = ? ORDER BY p.path",
                (fingerprint,),
            )
        )

    def clear_embed_failures(self) -> None:
        self.db.execute("DELETE FROM embed_failures")

    def add_embeddings(self, fingerprint: str, items: Sequence[tuple[str, bytes]]) -> None:
        with self.db:
            cur = self.db.cursor()
            for chunk_hash, blob in items:
                row = cur.execute(
                    "INSERT INTO embeddings (chunk_hash, model) VALUES (?, ?) ON CONFLICT DO NOTHING RETURNING id",
                    (chunk_hash, fingerprint),
                ).fetchone()
                if row is not None:
                    cur.execute(
                        "INSERT INTO vectors (rowid, embedding) VALUES (?, ?)", (row[0], blob)
                    )

    def drop_unused_embeddings(self) -> int:
        """Delete vectors no chunk refers to any more (kept until then so renames cost nothing)."""
        ids = [
            r[0]
            for r in self.db.execute(
                "SELECT e.id FROM embeddings e WHERE NOT EXISTS (SELECT 1 FROM chunks c WHERE c.hash = e.chunk_hash)"
            )
        ]
        if ids and self._has_vectors():
            cur = self.db.cursor()
            cur.executemany("DELETE FROM vectors WHERE rowid = ?", [(i,) for i in ids])
            cur.executemany("DELETE FROM embeddings WHERE id = ?", [(i,) for i in ids])
            self._bump_vector_epoch()
        return len(ids)

    def embedding_counts(self, fingerprint: str) -> tuple[int, int]:
        """(distinct non-empty searchable chunk texts, those with a vector for this model)."""
        searchable = (
            "FROM chunks c JOIN pages p ON p.id = c.page_id "
            "WHERE c.text != '' AND p.excluded = 0 AND p.generated = 0"
        )
        total = self._scalar(f"SELECT count(DISTINCT c.hash) {searchable}")
        done = self._scalar(
            f"SELECT count(DISTINCT c.hash) {searchable} AND EXISTS "
            "(SELECT 1 FROM embeddings e WHERE e.chunk_hash = c.hash AND e.model = ?)",
            (fingerprint,),
        )
        return int(total), int(done)

    # -- status ---------------------------------------------------------------------------------

    def counts(self) -> dict[str, int]:
        one = self._scalar
        own_links = "FROM links l JOIN pages p ON p.id = l.page_id WHERE p.generated = 0"
        return {
            "notes": int(one("SELECT count(*) FROM pages WHERE kind IN ('note', 'canvas')")),
            "attachments": int(one("SELECT count(*) FROM pages WHERE kind = 'attachment'")),
            "chunks": int(one("SELECT count(*) FROM chunks")),
            # The vault's own links: those of the generated catalog would count every note again.
            "links": int(one(f"SELECT count(*) {own_links}")),
            "unresolved": int(one(f"SELECT count(*) {own_links} AND l.target IS NULL")),
            "problems": int(one("SELECT count(*) FROM problems")),
        }

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
