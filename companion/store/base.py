"""What every gateway of the store shares: the connection, a one-value query, and `meta`."""

from __future__ import annotations

from typing import Any

import apsw


class Gateway:
    """SQL for one group of tables over a connection the `Store` owns (one per thread)."""

    def __init__(self, db: apsw.Connection) -> None:
        self.db = db

    def _scalar(self, sql: str, args: tuple[Any, ...] = ()) -> Any:
        """The first column of the first row of a query that always returns one row."""
        row = self.db.execute(sql, args).fetchone()
        assert row is not None, sql
        return row[0]


class Meta(Gateway):
    """Key/value facts about the index: model fingerprint and dimension, last index run, epochs."""

    def get(self, key: str) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def set(self, key: str, value: str) -> None:
        self.db.execute(
            "INSERT INTO meta VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value "
            "WHERE value IS NOT excluded.value",
            (key, value),
        )
