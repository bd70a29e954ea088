"""The source ledger: which raw file under `sources/` became which summary page.

Two halves, one truth. What a source *became* lives in the vault, on its summary page
(`source_hash: sha256:<hex>` and the raw paths in `sources`), so the index — pages and their
properties — answers "has this content been ingested?" even after `index --rebuild` from an empty
state (`summaries`). The `sources` table adds what only a running companion needs: the stat a
file was last read at (so an unchanged file is not even hashed), retries and the problem shown
by `status`. Losing the table costs one hash per source, never a re-ingest.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from companion.store.base import Gateway
from companion.store.rows import SourceRow

_COLUMNS = (
    "path, state, hash, size, mtime_ns, summary, synthesizer, tries, next_try, problem, changed_at"
)


def _row(values: tuple[object, ...]) -> SourceRow:
    return SourceRow(*values)  # type: ignore[arg-type]


class Sources(Gateway):
    def summaries(self) -> dict[str, list[str]]:
        """`sha256:<hex>` -> the summary pages (vault paths, sorted) whose `source_hash` it is:
        the ledger as the vault records it."""
        out: dict[str, list[str]] = {}
        for path, digest in self.db.execute(
            """
            SELECT path, json_extract(properties, '$.source_hash') FROM pages
            WHERE type = 'source' AND json_valid(properties)
              AND json_type(properties, '$.source_hash') = 'text'
            ORDER BY path
            """
        ):
            out.setdefault(str(digest).strip().lower(), []).append(path)
        return out

    def summary_pages(self) -> list[tuple[str, dict[str, Any]]]:
        """(path, properties) of every page of type `source`, by path."""
        out = []
        for path, props in self.db.execute(
            "SELECT path, properties FROM pages WHERE type = 'source' ORDER BY path"
        ):
            try:
                data = json.loads(props)
            except ValueError:
                continue
            if isinstance(data, dict):
                out.append((path, data))
        return out

    def get(self, path: str) -> SourceRow | None:
        row = self.db.execute(f"SELECT {_COLUMNS} FROM sources WHERE path = ?", (path,)).fetchone()
        return None if row is None else _row(row)

    def all(self) -> list[SourceRow]:
        return [_row(r) for r in self.db.execute(f"SELECT {_COLUMNS} FROM sources ORDER BY path")]

    def put(self, rows: Iterable[SourceRow]) -> None:
        self.db.executemany(
            f"""
            INSERT INTO sources ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT(path) DO UPDATE SET
                state = excluded.state, hash = excluded.hash, size = excluded.size,
                mtime_ns = excluded.mtime_ns, summary = excluded.summary,
                synthesizer = excluded.synthesizer, tries = excluded.tries,
                next_try = excluded.next_try, problem = excluded.problem,
                changed_at = excluded.changed_at
            """,
            [
                (
                    r.path,
                    r.state,
                    r.hash,
                    r.size,
                    r.mtime_ns,
                    r.summary,
                    r.synthesizer,
                    r.tries,
                    r.next_try,
                    r.problem,
                    r.changed_at,
                )
                for r in rows
            ],
        )

    def delete(self, paths: Iterable[str]) -> None:
        self.db.executemany("DELETE FROM sources WHERE path = ?", [(p,) for p in paths])

    # -- the bullets ingest wrote -----------------------------------------------------------------

    def bullets(self, page: str, summary: str) -> set[str]:
        """Ids of the fact bullets citing `summary` that ingest last wrote on `page`."""
        return {
            r[0]
            for r in self.db.execute(
                "SELECT id FROM wiki_bullets WHERE page = ? AND summary = ?", (page, summary)
            )
        }

    def set_bullets(self, page: str, summary: str, ids: Iterable[str]) -> None:
        self.db.execute("DELETE FROM wiki_bullets WHERE page = ? AND summary = ?", (page, summary))
        self.db.executemany(
            "INSERT OR IGNORE INTO wiki_bullets VALUES (?, ?, ?)",
            [(page, summary, i) for i in sorted(ids)],
        )
