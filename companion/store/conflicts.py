"""Conflicts in the index: the callouts pages hold, and the record of every conflict seen.

`callouts` rows are derived (written with their page by `Pages.put`, gone with it). The
`conflict_record` table remembers each conflict id once seen open — its title, page, claims and
sources — so that when its callout leaves every page the conflict is known to be *closed* (and
logged once), and CONFLICT.md can list it as resolved. A rebuilt index reads the resolved ids back
from CONFLICT.md (`companion.conflicts.callouts.resolved_rows`, `open_rows`) and records them
closed.

`claims` and `claim_keys` rows are derived too (a wiki page's cited facts' claims, computed at
sync): `candidates` looks up the stored claims of one page filed under any of a new claim's keys
(one indexed query on `(page_id, key)`), `claim_state` says whether they can be trusted for the
page's current bytes (its hash, and the fingerprints of the code that computed them).
"""

from __future__ import annotations

import json
from collections.abc import Collection
from dataclasses import dataclass

import apsw


@dataclass(frozen=True, slots=True)
class CalloutAt:
    page: str
    title: str  # the page's title
    id: str
    status: str
    conflict: str  # the callout's title
    opened: str
    claims: tuple[str, ...]
    sources: tuple[tuple[str, ...], ...]


@dataclass(frozen=True, slots=True)
class Record:
    id: str
    title: str
    page: str
    a: str
    b: str
    a_source: str
    b_source: str
    opened: str
    closed: str


@dataclass(frozen=True, slots=True)
class ClaimState:
    """What a page's stored claims were computed from: the page's bytes (`hash`), its `aliases`
    (the names claims() is given), the fingerprints of the code (`parsers`, none: no claims)."""

    hash: str
    aliases: tuple[str, ...]
    parsers: frozenset[str]


class Conflicts:
    def __init__(self, db: apsw.Connection) -> None:
        self.db = db

    def callouts(self, status: str | None = None) -> list[CalloutAt]:
        """Every callout on an indexed page (of one `status`), by page path and line."""
        sql = (
            "SELECT p.path, p.title, c.id, c.status, c.title, c.opened, c.claims, c.sources "
            "FROM callouts c JOIN pages p ON p.id = c.page_id"
        )
        args: tuple[str, ...] = ()
        if status is not None:
            sql += " WHERE c.status = ?"
            args = (status,)
        sql += " ORDER BY p.path, c.line"
        return [
            CalloutAt(
                path,
                title,
                ident,
                st,
                head,
                opened,
                tuple(json.loads(claims)),
                tuple(tuple(s) for s in json.loads(sources)),
            )
            for path, title, ident, st, head, opened, claims, sources in self.db.execute(sql, args)
        ]

    def ids(self) -> set[str]:
        """Every id a callout on some page holds, whatever its status."""
        return {r[0] for r in self.db.execute("SELECT DISTINCT id FROM callouts")}

    def records(self) -> list[Record]:
        return [
            Record(*row)
            for row in self.db.execute(
                "SELECT id, title, page, a, b, a_source, b_source, opened, closed "
                "FROM conflict_record ORDER BY opened, id"
            )
        ]

    def record(self, r: Record) -> None:
        """Remember a conflict (caller's transaction); an existing record keeps its dates."""
        self.db.execute(
            "INSERT INTO conflict_record VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT(id) DO UPDATE SET title = excluded.title, page = excluded.page, "
            "closed = CASE WHEN excluded.closed != '' THEN excluded.closed ELSE closed END",
            (r.id, r.title, r.page, r.a, r.b, r.a_source, r.b_source, r.opened, r.closed),
        )

    def close(self, ident: str, day: str) -> None:
        self.db.execute(
            "UPDATE conflict_record SET closed = ? WHERE id = ? AND closed = ''", (day, ident)
        )

    def forget(self, idents: Collection[str]) -> None:
        """Drop the records of open conflicts (caller's transaction): their callouts were taken
        off because the fact they disputed is gone, which is no resolution to remember."""
        for ident in idents:
            self.db.execute("DELETE FROM conflict_record WHERE id = ? AND closed = ''", (ident,))

    def reopen(self, ident: str) -> None:
        self.db.execute("UPDATE conflict_record SET closed = '' WHERE id = ?", (ident,))

    def closed(self) -> set[str]:
        return {r[0] for r in self.db.execute("SELECT id FROM conflict_record WHERE closed != ''")}

    # -- the claim index ----------------------------------------------------------------------------

    def candidates(self, page: str, keys: Collection[str]) -> list[tuple[str, str]]:
        """(line, data) of every stored claim row of `page` filed under any of `keys`, each
        once, in the page's order."""
        wanted = list(dict.fromkeys(keys))
        if not wanted:
            return []
        row = self.db.execute("SELECT id FROM pages WHERE path = ?", (page,)).fetchone()
        if row is None:
            return []
        marks = ", ".join("?" * len(wanted))
        sql = (
            "SELECT c.line, c.data FROM claims c WHERE c.id IN (SELECT k.claim FROM claim_keys k "
            f"WHERE k.page_id = ? AND k.key IN ({marks})) ORDER BY c.id"
        )
        return [(line, data) for line, data in self.db.execute(sql, (row[0], *wanted))]

    def claim_state(self, page: str) -> ClaimState | None:
        """What `page`'s stored claims were computed from, or None when it is not indexed."""
        row = self.db.execute(
            "SELECT id, hash, aliases FROM pages WHERE path = ?", (page,)
        ).fetchone()
        if row is None:
            return None
        parsers = self.db.execute("SELECT DISTINCT parser FROM claims WHERE page_id = ?", (row[0],))
        aliases = json.loads(row[2] or "[]")
        return ClaimState(
            str(row[1]),
            tuple(str(a) for a in aliases),
            frozenset(str(p[0]) for p in parsers),
        )
