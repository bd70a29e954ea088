"""The search modes, and the note a search carries while embedding is incomplete, in a module of
their own: the CLI's fast entry point uses them without loading the ranking code (standard
library only)."""

from __future__ import annotations

from typing import Literal

Mode = Literal["hybrid", "bm25", "vector"]
MODES: tuple[Mode, ...] = ("hybrid", "bm25", "vector")


def partial_note(embedded: int, embeddable: int) -> str | None:
    """What a hybrid or vector search says while embedding is incomplete (None when complete)."""
    if not embeddable or embedded >= embeddable:
        return None
    return (
        f"note: vectors for {100.0 * embedded / embeddable:.1f}% of chunks "
        f"({embedded:,} of {embeddable:,}); results may be incomplete"
    )
