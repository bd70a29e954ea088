"""companion: keeps an Obsidian vault indexed, linked and searchable; the markdown is the truth.

The public face, loaded lazily (PEP 562) so that `import companion` stays free of SQLite, NumPy
and click — the CLI's fast path imports this package first:

    from companion import Companion
    with Companion.open("~/notes") as app:
        app.index()
        hits = app.search("retry policy")

Everything else is internal and may move; `docs/architecture.md` says where it lives.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

__all__ = [
    "Companion",
    "CompanionError",
    "Hit",
    "IndexResult",
    "Settings",
    "Status",
    "SyncReport",
    "__version__",
    "load_settings",
]

_HOMES = {
    "Companion": "companion.app",
    "IndexResult": "companion.app",
    "Status": "companion.app",
    "CompanionError": "companion.errors",
    "Hit": "companion.search.rank",
    "Settings": "companion.config",
    "load_settings": "companion.config",
    "SyncReport": "companion.sync.reconcile",
}

if TYPE_CHECKING:
    from companion.app import Companion, IndexResult, Status
    from companion.config import Settings, load_settings
    from companion.errors import CompanionError
    from companion.search.rank import Hit
    from companion.sync.reconcile import SyncReport


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'companion' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(home), name)
