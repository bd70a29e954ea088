"""The search modes, in a module of their own: the CLI's fast entry point names them without
loading the ranking code (standard library only)."""

from __future__ import annotations

from typing import Literal

Mode = Literal["hybrid", "bm25", "vector"]
MODES: tuple[Mode, ...] = ("hybrid", "bm25", "vector")
