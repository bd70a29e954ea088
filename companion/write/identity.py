"""Which vault folder an index was built from: `.companion/vault-id`, a random id kept with it.

The state folder is found by the vault's path (`config.default_state_dir`), so a vault folder
replaced by another at the same path (`rm -rf build/vault && cp -R vault build/vault`) would
meet the old folder's index: its pages all "removed", its open conflicts closed as if a person
had resolved them — and so never raised again in the new vault. The id tells the two apart:
the index remembers the id of the vault it was built from (`meta.vault_id`, `Companion.sync`);
another id, or none where the index remembers one, is another folder, and the index is rebuilt
from the markdown (it is only a cache). An index from before the id existed adopts the vault's.

The id is written once, atomically, by whoever holds the vault's lease, in the hidden folder the
lease lives in (never indexed, carried by the sync tools that carry the lease). Reading is
forgiving: a missing, unreadable or garbled file is no id.
"""

from __future__ import annotations

import re
import secrets
from pathlib import Path

from companion.errors import CompanionError
from companion.write.atomic import atomic_write, read_regular
from companion.write.lease import LEASE_DIR

ID_PATH = f"{LEASE_DIR}/vault-id"
_ID = re.compile(r"[0-9a-f]{32}")


def read_vault_id(vault: Path) -> str | None:
    """The vault's id, or None when it has none (or the file is not one of ours)."""
    try:
        data = read_regular(vault, ID_PATH, 1024)
    except (OSError, ValueError, CompanionError):  # too large, a folder, a FIFO, a link out
        return None
    text = (data or b"").decode("ascii", "replace").strip()
    return text if _ID.fullmatch(text) else None


def make_vault_id(vault: Path) -> str:
    """Give the vault a new id (the caller holds its lease) and return it."""
    ident = secrets.token_hex(16)
    body = (ident + "\n").encode("ascii")
    atomic_write(vault / ID_PATH, body, None, vault=vault, make_folders=True)
    return ident
