"""Links: every outgoing link with its resolution; the catalog's view of them (orphans, unresolved)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from companion.store.base import Gateway
from companion.store.rows import SEARCHABLE, EdgeRow, LinkLine, LinkToResolve


class Links(Gateway):
    def to_resolve(self, names: Iterable[str] | None = None) -> list[LinkToResolve]:
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
        return [LinkToResolve(lid, src, lp, tgt, bool(amb)) for lid, src, lp, tgt, amb in rows]

    def set_targets(self, updates: Iterable[tuple[str | None, bool, int]]) -> None:
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

    def lines(self) -> list[LinkLine]:
        """Every link written in a non-generated, non-excluded file, with its line."""
        return [
            LinkLine(src, raw, lp, sub, kind, line, tgt, bool(amb))
            for src, raw, lp, sub, kind, line, tgt, amb in self.db.execute(
                "SELECT p.path, l.raw, l.path, l.subpath, l.kind, l.line, l.target, l.ambiguous "
                f"FROM links l JOIN pages p ON p.id = l.page_id WHERE {SEARCHABLE} "
                "ORDER BY p.path, l.line, l.id"
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
                  AND {SEARCHABLE} AND p.kind != 'attachment'
                """,
                (*paths, *paths),
            )
        )

    def orphans(self) -> list[str]:
        """Notes no other non-generated note links to (generated and excluded notes aside)."""
        return [
            r[0]
            for r in self.db.execute(
                f"""
                SELECT p.path FROM pages p
                WHERE p.kind IN ('note', 'canvas') AND {SEARCHABLE}
                  AND NOT EXISTS (
                    SELECT 1 FROM links l JOIN pages s ON s.id = l.page_id
                    WHERE l.target = p.path AND s.id != p.id AND s.generated = 0)
                ORDER BY p.path
                """
            )
        ]

    def unresolved(self) -> list[tuple[str, str]]:
        """(source path, link path) of unresolved links from non-generated notes."""
        return [
            (src, lp)
            for src, lp in self.db.execute(
                "SELECT DISTINCT p.path, l.path FROM links l JOIN pages p ON p.id = l.page_id "
                f"WHERE l.target IS NULL AND {SEARCHABLE} ORDER BY p.path, l.path"
            )
        ]
