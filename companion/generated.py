"""Writing the notes the companion generates: index.md (+ sub-indexes) and log.md.

A generated note is only ever written when (a) it does not exist, or (b) it carries the
`generated_by: companion` marker — so a human's own `index.md` or `log.md` is never overwritten —
and only when its content actually changes (idempotency: rewriting identical content does not
touch the file). Every write re-checks the hash it read; the catalog's notes are written together
as one journaled transaction (`journal.write_files`), log.md atomically (`vault.atomic_write`).
log.md is append-only: the new entry is added after the existing bytes, which are kept exactly.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from companion.config import Schema
from companion.errors import ChangedOnDisk
from companion.journal import write_files
from companion.render.index_md import GENERATED_KEY, INDEX_PATH, SUBINDEX_FOLDER, render_index
from companion.render.log_md import LOG_HEADER, LOG_PATH, log_entry
from companion.store import Store
from companion.vault import atomic_write, content_hash


@dataclass(slots=True)
class WriteReport:
    written: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    refused: list[tuple[str, str]] = field(default_factory=list)  # (path, why)


def is_generated(data: bytes) -> bool:
    """True when the bytes start with frontmatter holding `generated_by: companion`."""
    head = data[:400].decode("utf-8", "replace").lstrip("\ufeff")
    if not head.startswith("---"):
        return False
    end = head.find("\n---", 3)
    return end != -1 and f"{GENERATED_KEY}: companion" in head[:end]


def _changed_generated(
    vault: Path, path: str, text: str, report: WriteReport
) -> tuple[bytes, str] | None:
    """(new bytes, hash of the current file or "" when absent) if `path` may and must be written."""
    target = vault / path
    data = text.encode("utf-8")
    try:
        current = target.read_bytes()
    except FileNotFoundError:
        current = None
    except OSError as exc:
        report.refused.append((path, f"cannot read it: {exc.strerror or exc}"))
        return None
    if current is not None and not is_generated(current):
        report.refused.append(
            (
                path,
                "exists and was not written by companion; rename it so companion can write its catalog",
            )
        )
        return None
    if current == data:
        return None
    return data, "" if current is None else content_hash(current)


def write_catalog(vault: Path, store: Store, schema: Schema, state_dir: Path) -> WriteReport:
    """Render index.md and its sub-indexes from the store; write those that changed, all of them
    or none (one journaled transaction)."""
    rows = store.catalog()
    titles = {p: t for p, _, t, _, _ in store.node_rows()}
    notes = render_index(rows, store.orphans(), store.unresolved_links(), schema, titles)
    report = WriteReport()
    changes: dict[Path, tuple[bytes, str | None]] = {}
    for path, text in notes.items():
        change = _changed_generated(vault, path, text, report)
        if change is not None:
            changes[vault / path] = change
    if changes:
        try:
            write_files(state_dir, changes)
        except OSError as exc:  # a read-only vault, a full disk: the index is still current
            report.refused.append((INDEX_PATH, f"cannot write the catalog: {exc.strerror or exc}"))
            return report
        except ChangedOnDisk as exc:
            report.refused.append(
                (INDEX_PATH, f"a catalog note changed while being written; retried ({exc})")
            )
            return report
        report.written = sorted(p.relative_to(vault).as_posix() for p in changes)
    # Sub-indexes from an earlier, bigger catalog that are no longer rendered.
    folder = vault / SUBINDEX_FOLDER
    if folder.is_dir():
        for stale in sorted(folder.glob("*.md")):
            rel = f"{SUBINDEX_FOLDER}/{stale.name}"
            if rel not in notes and is_generated(stale.read_bytes()):
                stale.unlink()
                report.removed.append(rel)
    return report


def append_log(
    vault: Path, op: str, headline: str, bullets: list[str], when: datetime
) -> WriteReport:
    report = WriteReport()
    target = vault / LOG_PATH
    try:
        current = target.read_bytes()
    except FileNotFoundError:
        current = None
    except OSError as exc:
        report.refused.append((LOG_PATH, f"cannot read it: {exc.strerror or exc}"))
        return report
    if current is not None and not is_generated(current):
        report.refused.append(
            (LOG_PATH, "exists and was not written by companion; rename it to keep a log")
        )
        return report
    base = current if current is not None else LOG_HEADER.encode("utf-8")
    if not base.endswith(b"\n"):
        base += b"\n"
    data = base + log_entry(op, headline, bullets, when).encode("utf-8")
    try:
        atomic_write(target, data, "" if current is None else content_hash(current))
    except ChangedOnDisk as exc:
        report.refused.append((LOG_PATH, f"changed while being written ({exc})"))
        return report
    except OSError as exc:
        report.refused.append((LOG_PATH, f"cannot write it: {exc.strerror or exc}"))
        return report
    report.written.append(LOG_PATH)
    return report
