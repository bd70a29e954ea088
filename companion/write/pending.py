"""The bumps a person's edits are waiting for, kept with the vault: `.companion/pending.json`.

The index flags a managed page a person edited until companion bumps its version (SYSTEM.md §8),
but the index is a cache: `index --rebuild`, a new state folder, or another companion taking the
vault over (write/lease.py) starts from nothing and would take the edited page for versioned — and
a writer that read the old version would then overwrite the person's text. So the vault's writer
also keeps the list beside its lease, in the same hidden folder (never indexed, carried by the
sync tools that carry the lease), and whoever indexes the vault next flags those pages again.

Each entry is `path -> {"hash", "version"}`: the bytes seen when it was flagged and the highest
version the page has had (a bump goes above it, so a version a stale editor buffer wound back is
never reused). Reading is forgiving — a missing, unreadable or garbled file is an empty list (the
worst that follows is the old behaviour); writing is atomic and only by the lease's holder.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from companion.write.atomic import atomic_write, landing, read_regular
from companion.write.lease import LEASE_DIR

PENDING_PATH = f"{LEASE_DIR}/pending.json"
LIMIT = 16 * 1024 * 1024  # 100k pages waiting is ~12 MB; anything larger is not ours


def load_pending(vault: Path) -> dict[str, dict[str, Any]]:
    """The pages waiting for a bump, as the vault's last writer left them ({} when unknown)."""
    try:
        data = read_regular(vault, PENDING_PATH, LIMIT)
        parsed = json.loads(data) if data else {}
    except (OSError, ValueError, RecursionError):
        return {}
    pages = parsed.get("pages") if isinstance(parsed, dict) else None
    if not isinstance(pages, dict):
        return {}
    return {
        path: entry
        for path, entry in pages.items()
        if isinstance(path, str) and isinstance(entry, dict)
    }


def save_pending(vault: Path, pages: dict[str, dict[str, Any]]) -> None:
    """Replace the list (atomically); an empty list is no file at all."""
    if not pages:
        target = landing(vault, PENDING_PATH)  # never through a link out of the vault
        if target.is_file() and not target.is_symlink():
            target.unlink()
        return
    body = json.dumps({"format": 1, "pages": pages}, sort_keys=True, indent=1) + "\n"
    atomic_write(vault / PENDING_PATH, body.encode("utf-8"), None, vault=vault, make_folders=True)
