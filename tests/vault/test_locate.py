"""Where the vault is (companion/vault/locate.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from companion.errors import VaultNotFound
from companion.vault.locate import find_vault


def test_a_folder_inside_a_vault_is_not_taken_for_a_vault(tmp_path: Path) -> None:
    vault = tmp_path / "notes"
    (vault / ".obsidian").mkdir(parents=True)
    (vault / "sources").mkdir()
    with pytest.raises(VaultNotFound, match=r"inside the Obsidian vault .*--vault "):
        find_vault(str(vault / "sources"), tmp_path)
    assert find_vault(str(vault), tmp_path) == vault.resolve()
    (vault / "sources" / ".obsidian").mkdir()  # a vault of its own inside: that one is a vault
    assert find_vault(str(vault / "sources"), tmp_path) == (vault / "sources").resolve()
