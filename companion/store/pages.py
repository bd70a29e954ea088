"""Pages: every vault file's row with its chunks, FTS row, links and tags; problems; counts.

`put` writes a batch of pages with one `executemany` per table (chunk and claim ids assigned
here), the write path of a cold index of 100k notes; the caller holds the transaction. A wiki
page's claims (`PageRow.claims`, one row per distinct cited fact line) go to `claims`, their index
keys to `claim_keys` (read by `companion.store.conflicts.Conflicts.candidates`).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

import apsw

from companion.store.base import Gateway
from companion.store.rows import (
    SEARCHABLE,
    CatalogRow,
    FileState,
    NodeRow,
    NoteRow,
    PageInfo,
    PageRow,
    ProblemRow,
)

# How a page's text is laid out in its FTS row: the chunks joined (each starts with its heading
# trail), and its distinct headings, once each.
FTS_CHUNK_SEPARATOR = "\n\n"

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


class Pages(Gateway):
    def file_states(self, paths: Iterable[str] | None = None) -> dict[str, FileState]:
        """Stat, hash and version of every indexed file (or of the given paths only)."""
        sql = "SELECT path, size, mtime_ns, hash, version, unversioned, seen_version FROM pages"
        if paths is None:
            rows = list(self.db.execute(sql))
        else:
            rows = [r for p in paths for r in self.db.execute(sql + " WHERE path = ?", (p,))]
        return {
            path: FileState(size, mtime, digest, version, bool(flag), seen)
            for path, size, mtime, digest, version, flag, seen in rows
        }

    def empty(self) -> bool:
        """Nothing indexed yet (a new state folder, a rebuild)."""
        return self.db.execute("SELECT 1 FROM pages LIMIT 1").fetchone() is None

    def vault_notes(self) -> int:
        """Notes and canvases, companion's generated notes not counted."""
        sql = (
            "SELECT count(*) FROM pages WHERE kind IN ('note', 'canvas') AND generated = 0 "
            "AND hash NOT LIKE 'template:%'"  # templates are link targets, not notes
        )
        return int(self._scalar(sql))

    def flag_unversioned(self, flags: Iterable[tuple[str, bool]]) -> None:
        """Mark managed pages as edited by a person and waiting for their version bump (True),
        or as versioned (False: companion wrote these bytes, or a writer raised the version)."""
        self.db.cursor().executemany(
            "UPDATE pages SET unversioned = ? WHERE path = ?", [(int(f), p) for p, f in flags]
        )

    def raise_seen(self, paths: Iterable[str]) -> None:
        """Remember each page's highest version (after its row was written)."""
        self.db.cursor().executemany(
            "UPDATE pages SET seen_version = max(coalesce(seen_version, 0), coalesce(version, 0))"
            " WHERE path = ?",
            [(p,) for p in paths],
        )

    def pending(self) -> dict[str, tuple[str, int]]:
        """path -> (hash, highest version) of every page waiting for its version bump."""
        sql = (
            "SELECT path, hash, max(coalesce(seen_version, 0), coalesce(version, 0)) "
            "FROM pages WHERE unversioned = 1"
        )
        return {p: (h, int(v)) for p, h, v in self.db.execute(sql)}

    def adopt_pending(self, pending: dict[str, int]) -> list[str]:
        """Flag the given pages (path -> highest version known elsewhere) as waiting for a bump,
        if indexed and not flagged yet; returns those newly flagged."""
        cur = self.db.cursor()
        adopted = []
        for path, seen in pending.items():
            row = cur.execute(
                "UPDATE pages SET unversioned = 1, "
                "seen_version = max(coalesce(seen_version, 0), ?) "
                "WHERE path = ? AND unversioned = 0 RETURNING path",
                (seen, path),
            ).fetchone()
            if row is not None:
                adopted.append(path)
        return adopted

    def unversioned(self) -> list[tuple[str, int]]:
        """(path, mtime_ns) of every page waiting for its version bump."""
        sql = "SELECT path, mtime_ns FROM pages WHERE unversioned = 1 ORDER BY path"
        return [(p, m) for p, m in self.db.execute(sql)]

    def put(self, pages: Sequence[PageRow], new: Iterable[str] = ()) -> None:
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
        callout_rows: list[tuple[Any, ...]] = []
        claim_rows: list[tuple[Any, ...]] = []
        key_rows: list[tuple[Any, ...]] = []
        next_claim = int(self._scalar("SELECT coalesce(max(id), 0) + 1 FROM claims"))
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
            callout_rows.extend(
                (
                    page_id,
                    c.id,
                    c.status,
                    c.title,
                    c.opened,
                    c.resolved,
                    json.dumps(c.claims, ensure_ascii=False),
                    json.dumps(c.sources, ensure_ascii=False),
                    c.line,
                )
                for c in page.callouts
            )
            for claim in page.claims:
                claim_rows.append((next_claim, page_id, claim.line, claim.data, claim.parser))
                key_rows.extend((page_id, key, next_claim) for key in claim.keys)
                next_claim += 1
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
        if callout_rows:
            cur.executemany(
                "INSERT INTO callouts (page_id, id, status, title, opened, resolved, claims, "
                "sources, line) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                callout_rows,
            )
        if claim_rows:
            cur.executemany(
                "INSERT INTO claims (id, page_id, line, data, parser) VALUES (?, ?, ?, ?, ?)",
                claim_rows,
            )
        if key_rows:
            cur.executemany(
                "INSERT INTO claim_keys (page_id, key, claim) VALUES (?, ?, ?)", key_rows
            )

    @staticmethod
    def _clear_page_content(cur: apsw.Cursor, page_id: int) -> None:
        cur.execute("DELETE FROM pages_fts WHERE rowid = ?", (page_id,))
        cur.execute("DELETE FROM chunks WHERE page_id = ?", (page_id,))
        cur.execute("DELETE FROM links WHERE page_id = ?", (page_id,))
        cur.execute("DELETE FROM tags WHERE page_id = ?", (page_id,))
        cur.execute("DELETE FROM callouts WHERE page_id = ?", (page_id,))
        cur.execute("DELETE FROM claim_keys WHERE page_id = ?", (page_id,))
        cur.execute("DELETE FROM claims WHERE page_id = ?", (page_id,))

    def touch(self, stats: Iterable[tuple[str, int, int]]) -> None:
        """Record a new size/mtime for files whose content hash did not change."""
        self.db.cursor().executemany(
            "UPDATE pages SET size = ?, mtime_ns = ? WHERE path = ?",
            [(s, m, p) for p, s, m in stats],
        )

    def delete(self, paths: Iterable[str]) -> None:
        cur = self.db.cursor()
        for path in paths:
            row = cur.execute("SELECT id FROM pages WHERE path = ?", (path,)).fetchone()
            if row is None:
                continue
            self._clear_page_content(cur, row[0])
            cur.execute("DELETE FROM pages WHERE id = ?", (row[0],))

    def get(self, path: str) -> PageInfo | None:
        row = self.db.execute(
            "SELECT path, kind, title, type, version, hash, properties, aliases, summary, excluded, "
            "generated FROM pages WHERE path = ?",
            (path,),
        ).fetchone()
        if row is None:
            return None
        path_, kind, title, type_, version, hash_, props, aliases, summary, excl, gen = row
        return PageInfo(
            path_,
            kind,
            title,
            type_,
            version,
            hash_,
            props,
            aliases,
            summary,
            bool(excl),
            bool(gen),
        )

    def paths(self) -> list[str]:
        return [r[0] for r in self.db.execute("SELECT path FROM pages ORDER BY path")]

    def titles(self) -> dict[str, str]:
        """path -> title of every file in the index (the catalog links by title)."""
        return dict(self.db.execute("SELECT path, title FROM pages"))

    def known(
        self, paths: Sequence[str] | None = None
    ) -> list[tuple[str, str, str | None, list[str]]]:
        """(path, title, type, aliases) of every note (or of those of `paths` that are notes):
        what ingest matches names against."""
        sql = "SELECT path, title, type, aliases FROM pages WHERE kind = 'note' AND generated = 0"
        if paths is None:
            rows = list(self.db.execute(sql + " ORDER BY path"))
        else:
            rows = [r for p in paths for r in self.db.execute(sql + " AND path = ?", (p,))]
        return [
            (path, title, typ, [str(a) for a in json.loads(aliases or "[]") if isinstance(a, str)])
            for path, title, typ, aliases in rows
        ]

    def lint_rows(self) -> list[NoteRow]:
        """Every indexed file but generated and excluded ones: what lint checks."""
        return [
            NoteRow(*row)
            for row in self.db.execute(
                "SELECT path, kind, title, type, version, properties, aliases FROM pages p "
                f"WHERE {SEARCHABLE} ORDER BY path"
            )
        ]

    def nodes(self) -> list[NodeRow]:
        """(path, kind, title, excluded, generated) for every file in the index."""
        return [
            NodeRow(p, k, t, bool(e), bool(g))
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

    def problems(self) -> list[ProblemRow]:
        return [
            ProblemRow(*r)
            for r in self.db.execute(
                "SELECT path, code, message, line FROM problems ORDER BY path, rowid"
            )
        ]

    def counts(self) -> dict[str, int]:
        """The vault's counts, defined once (docs/architecture.md, "Counts") and shown the same
        by status, graph, index.md and lint: `notes` the notes and canvases index.md lists (not
        generated, not excluded); `links` every link written in them; `unresolved` those links
        that resolve to no file (orphans: `Links.orphans`, added by `Companion.status`)."""
        one = self._scalar
        own = f"FROM links l JOIN pages p ON p.id = l.page_id WHERE {SEARCHABLE}"
        return {
            "notes": int(
                one(
                    f"SELECT count(*) FROM pages p WHERE kind IN ('note', 'canvas') AND {SEARCHABLE}"
                )
            ),
            "attachments": int(one("SELECT count(*) FROM pages WHERE kind = 'attachment'")),
            "chunks": int(one("SELECT count(*) FROM chunks")),
            # The vault's own links: those of the generated catalog would count every note again.
            "links": int(one(f"SELECT count(*) {own}")),
            "unresolved": int(one(f"SELECT count(*) {own} AND l.target IS NULL")),
            "problems": int(one("SELECT count(*) FROM problems")),
        }
