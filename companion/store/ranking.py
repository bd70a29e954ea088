"""Ranking queries: BM25 over the page FTS table, snippets, and chunk rows for vector hits."""

from __future__ import annotations

from collections.abc import Sequence

from companion.store.base import Gateway
from companion.store.rows import SEARCHABLE

# FTS5 column weights for bm25(): title and aliases above headings above body text.
BM25_WEIGHTS = (10.0, 8.0, 2.0, 1.0)


class Ranking(Gateway):
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
                WHERE {SEARCHABLE} ORDER BY top.score
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

    def chunks_for_hashes(self, hashes: Sequence[str]) -> list[tuple[str, str, str, str]]:
        """(hash, path, title, text) for searchable chunks with those content hashes."""
        if not hashes:
            return []
        marks = ",".join("?" * len(hashes))
        return list(
            self.db.execute(
                f"SELECT c.hash, p.path, p.title, c.text FROM chunks c JOIN pages p ON p.id = c.page_id "
                f"WHERE c.hash IN ({marks}) AND {SEARCHABLE} ORDER BY p.path, c.seq",
                tuple(hashes),
            )
        )

    def named(self, words: Sequence[str], limit: int = 200) -> list[tuple[str, str, str]]:
        """(path, title, aliases as JSON) of the searchable notes whose title or an alias holds
        every one of `words` (lower-case, matched as substrings here; the caller checks whole
        words). Reads the pages table, not the text index: a note with only frontmatter has no
        text to index, and is still found by its name."""
        if not words:
            return []
        clauses = []
        params: list[str] = []
        for word in words:
            pattern = "%" + word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
            clauses.append(
                "(lower(p.title) LIKE ? ESCAPE '\\' OR lower(p.aliases) LIKE ? ESCAPE '\\')"
            )
            params += [pattern, pattern]
        return list(
            self.db.execute(
                f"SELECT p.path, p.title, p.aliases FROM pages p WHERE p.kind = 'note' AND "
                f"{SEARCHABLE} AND {' AND '.join(clauses)} ORDER BY length(p.title), p.path "
                f"LIMIT {int(limit)}",
                params,
            )
        )

    def places(self, paths: Sequence[str]) -> list[tuple[str, str, str, int, str]]:
        """(path, chunk hash, heading trail, 1-based line, text) of every chunk of `paths`, in
        page order: where in a hit the best part of it is."""
        if not paths:
            return []
        marks = ",".join("?" * len(paths))
        return list(
            self.db.execute(
                f"SELECT p.path, c.hash, c.heading, c.line, c.text FROM chunks c "
                f"JOIN pages p ON p.id = c.page_id WHERE p.path IN ({marks}) ORDER BY p.path, c.seq",
                tuple(paths),
            )
        )

    def in_scope(self, folder: str | None, tag: str | None) -> set[str]:
        """Paths of the searchable notes under `folder` (a vault-relative folder, "" the whole
        vault) carrying `tag` (case-insensitive, without `#`; a nested tag's parent matches:
        `project` holds `#project/alpha`). Either may be None (no condition)."""
        clauses: list[str] = [SEARCHABLE]
        params: list[object] = []
        if folder:
            escaped = folder.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            clauses.append("p.path LIKE ? ESCAPE '\\'")
            params.append(escaped + "/%")
        if tag:
            clauses.append(
                "EXISTS (SELECT 1 FROM tags t WHERE t.page_id = p.id AND "
                "(t.norm = ? OR substr(t.norm, 1, ?) = ?))"
            )
            params += [tag, len(tag) + 1, tag + "/"]
        return {
            row[0]
            for row in self.db.execute(
                f"SELECT p.path FROM pages p WHERE {' AND '.join(clauses)}", params
            )
        }
