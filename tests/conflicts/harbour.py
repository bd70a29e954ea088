"""The two small dated sources the conflict tests ingest: a runbook and a later review that
contradicts its recovery time objective (4 hours / two hours) and restates its retention in
other words (14 days / a fortnight), and the helpers that put them in a vault."""

from __future__ import annotations

import re
from pathlib import Path

from companion.app import Companion
from companion.config import load_settings

RUNBOOK = """---
date: 2025-01-10
---
# Harbour Gateway runbook

Harbour Gateway is the payment switch of the port authority. Harbour Gateway keeps every
settlement file for 14 days. The recovery time objective of Harbour Gateway is 4 hours.
"""
REVIEW = """---
date: 2025-06-02
---
# Harbour Gateway review

Harbour Gateway has kept settlement files for a fortnight since go-live. The recovery time
objective of Harbour Gateway has been two hours ever since go-live.
"""
PAGE = "wiki/entities/Harbour Gateway.md"
_CALLOUT = re.compile(r"\n> \[!conflict\][^\n]*(?:\n>[^\n]*)*\n\n\^conflict-[0-9a-f]{6}\n")


def harbour_vault(root: Path, runbook: str = RUNBOOK, review: str = REVIEW) -> Path:
    """A new vault at `root` with both sources in `sources/` (nothing ingested yet)."""
    Companion.init(root)
    (root / "sources" / "gateway-runbook.md").write_text(runbook, encoding="utf-8")
    (root / "sources" / "gateway-review.md").write_text(review, encoding="utf-8")
    return root


def app_for(vault: Path) -> Companion:
    """The vault's companion, its state folder beside the vault."""
    return Companion(load_settings(vault, state_dir=vault.parent / "state"))


def resolve_by_deleting(vault: Path) -> str:
    """What a person does: correct the claim and delete the callout with its block id. Returns
    the conflict's id."""
    page = vault / PAGE
    text = page.read_text(encoding="utf-8")
    ident = re.search(r"\^(conflict-[0-9a-f]{6})", text)
    assert ident is not None
    text = _CALLOUT.sub("", text).replace("is 4 hours", "is 2 hours")
    page.write_text(text, encoding="utf-8")
    return ident.group(1)
