"""What an ingest run reports: one `SourceOutcome` per source it looked at, and notes on what
it decided not to do. Plain data; `as_json` is what `companion ingest --json` and the daemon print."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(slots=True)
class SourceOutcome:
    path: str
    status: str  # ingested | reingested | duplicate | unchanged | skipped | retrying | failed | withdrawn
    summary: str | None = None
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    facts: int = 0
    dropped: int = 0
    words: int = 0
    seconds: float = 0.0
    problem: str | None = None
    changes: list[str] = field(default_factory=list)  # a dry run: what each page would get
    conflicts: list[str] = field(default_factory=list)  # "conflict-xxxxxx page: title" opened
    superseded: list[str] = field(default_factory=list)  # "superseded-xxxxxx page: title"

    def as_json(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "status": self.status,
            "summary": self.summary,
            "created": self.created,
            "updated": self.updated,
            "facts": self.facts,
            "dropped": self.dropped,
            "words": self.words,
            "seconds": round(self.seconds, 3),
            "problem": self.problem,
            **({"changes": self.changes} if self.changes else {}),
            "conflicts": self.conflicts,
            "superseded": self.superseded,
        }


@dataclass(slots=True)
class IngestReport:
    outcomes: list[SourceOutcome] = field(default_factory=list)
    dry_run: bool = False
    notes: list[str] = field(default_factory=list)  # what the run decided not to do, and why

    @property
    def written(self) -> bool:
        return any(o.created or o.updated for o in self.outcomes) and not self.dry_run

    def as_json(self) -> dict[str, Any]:
        return {
            "dry_run": self.dry_run,
            "sources": [o.as_json() for o in self.outcomes],
            "notes": self.notes,
        }
