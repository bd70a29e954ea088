"""Vectors: one per (chunk hash, model fingerprint), in a sqlite-vec `vec0` table with cosine distance.

The table is created by `ensure` once the model's dimension and fingerprint are known, and
recreated when either changes. An unchanged chunk is never embedded twice and a rename costs
nothing; vectors no chunk refers to any more are dropped by `drop_unused`. The `vector_epoch` meta
value goes up whenever vectors are removed, so an in-memory copy knows to reload, not append.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence

import apsw

from companion.store.base import Gateway, Meta
from companion.store.rows import SEARCHABLE, PendingChunk


class Vectors(Gateway):
    def __init__(self, db: apsw.Connection, meta: Meta) -> None:
        super().__init__(db)
        self.meta = meta

    def has_table(self) -> bool:
        return (
            self.db.execute("SELECT 1 FROM sqlite_master WHERE name = 'vectors'").fetchone()
            is not None
        )

    def ensure(self, fingerprint: str, dim: int) -> bool:
        """Make the vector table match the model; returns True when old vectors were dropped."""
        current = self.meta.get("vector_model")
        if current == fingerprint and self.meta.get("vector_dim") == str(dim) and self.has_table():
            return False
        with self.db:
            self.db.execute("DROP TABLE IF EXISTS vectors")
            self.db.execute("DELETE FROM embeddings")
            self.db.execute(
                f"CREATE VIRTUAL TABLE vectors USING vec0(embedding float[{int(dim)}] distance_metric=cosine)"
            )
            self.meta.set("vector_model", fingerprint)
            self.meta.set("vector_dim", str(dim))
            self._bump_epoch()
        return current is not None

    def _bump_epoch(self) -> None:
        """Vectors were removed: in-memory copies (search.memory.VectorIndex) must reload, not append."""
        epoch = int(self.meta.get("vector_epoch") or 0) + 1
        self.meta.set("vector_epoch", str(epoch))

    def state(self) -> tuple[str, int]:
        """(epoch, highest embedding id): what an in-memory copy of the vectors must match."""
        epoch = self.meta.get("vector_epoch") or "0"
        return epoch, int(self._scalar("SELECT coalesce(max(id), 0) FROM embeddings"))

    def after(self, fingerprint: str, after_id: int) -> Iterator[tuple[int, str, bytes]]:
        """(embedding id, chunk hash, float32 vector bytes) for ids above `after_id`, in order;
        streamed, so that loading 766k vectors never holds them all as Python objects."""
        if not self.has_table():
            return iter(())
        return iter(
            self.db.execute(
                "SELECT e.id, e.chunk_hash, v.embedding FROM embeddings e "
                "JOIN vectors v ON v.rowid = e.id WHERE e.model = ? AND e.id > ? ORDER BY e.id",
                (fingerprint, after_id),
            )
        )

    def pending(self, fingerprint: str, limit: int | None = None) -> list[tuple[str, str]]:
        """(hash, text) of distinct non-empty chunks with no vector (and no failure) for this model."""
        return [(h, t) for h, t, _ in self.pending_pages(fingerprint, limit)]

    def pending_pages(self, fingerprint: str, limit: int | None = None) -> list[PendingChunk]:
        """Like `pending`, with the paths of the pages each chunk text appears in.

        No GROUP BY: with a LIMIT the scan stops at the first pending chunks it meets, and each
        chunk costs two index lookups, so asking when nothing is pending stays cheap."""
        sql = (
            "SELECT c.hash, c.text, p.path FROM chunks c JOIN pages p ON p.id = c.page_id "
            f"WHERE c.text != '' AND {SEARCHABLE} "
            "AND NOT EXISTS (SELECT 1 FROM embeddings e WHERE e.chunk_hash = c.hash AND e.model = ?1) "
            "AND NOT EXISTS (SELECT 1 FROM embed_failures f WHERE f.chunk_hash = c.hash AND f.model = ?1)"
        )
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        found: dict[str, tuple[str, list[str]]] = {}
        for chunk_hash, text, path in self.db.execute(sql, (fingerprint,)):
            found.setdefault(chunk_hash, (text, []))[1].append(path)
        return [PendingChunk(h, t, paths) for h, (t, paths) in found.items()]

    def record_failures(self, fingerprint: str, hashes: Sequence[str], reason: str) -> None:
        with self.db:
            self.db.cursor().executemany(
                "INSERT OR REPLACE INTO embed_failures VALUES (?, ?, ?, ?)",
                [(h, fingerprint, reason, time.time()) for h in hashes],
            )

    def failures(self, fingerprint: str) -> list[tuple[str, str]]:
        """(page path, reason) for pages with chunks the model failed on."""
        return list(
            self.db.execute(
                "SELECT DISTINCT p.path, f.reason FROM embed_failures f JOIN chunks c ON c.hash = f.chunk_hash "
                "JOIN pages p ON p.id = c.page_id WHERE f.model = ? ORDER BY p.path",
                (fingerprint,),
            )
        )

    def clear_failures(self) -> None:
        self.db.execute("DELETE FROM embed_failures")

    def add(self, fingerprint: str, items: Sequence[tuple[str, bytes]]) -> None:
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

    def drop_unused(self) -> int:
        """Delete vectors no chunk refers to any more (kept until then so renames cost nothing)."""
        ids = [
            r[0]
            for r in self.db.execute(
                "SELECT e.id FROM embeddings e WHERE NOT EXISTS (SELECT 1 FROM chunks c WHERE c.hash = e.chunk_hash)"
            )
        ]
        if ids and self.has_table():
            cur = self.db.cursor()
            cur.executemany("DELETE FROM vectors WHERE rowid = ?", [(i,) for i in ids])
            cur.executemany("DELETE FROM embeddings WHERE id = ?", [(i,) for i in ids])
            self._bump_epoch()
        return len(ids)

    def counts(self, fingerprint: str) -> tuple[int, int]:
        """(distinct non-empty searchable chunk texts, those with a vector for this model)."""
        searchable = (
            f"FROM chunks c JOIN pages p ON p.id = c.page_id WHERE c.text != '' AND {SEARCHABLE}"
        )
        total = self._scalar(f"SELECT count(DISTINCT c.hash) {searchable}")
        done = self._scalar(
            f"SELECT count(DISTINCT c.hash) {searchable} AND EXISTS "
            "(SELECT 1 FROM embeddings e WHERE e.chunk_hash = c.hash AND e.model = ?)",
            (fingerprint,),
        )
        return int(total), int(done)

    def knn(self, vector: bytes, k: int) -> list[tuple[str, float]]:
        """Nearest chunk hashes by cosine distance (empty when no vectors exist yet)."""
        if not self.has_table():
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
