"""The index knows which vault folder it was built from (`.companion/vault-id`): a folder
replaced by another at the same path gets a rebuilt index, not the old folder's memory.

The defect it prevents: `rm -rf build/vault && cp -R vault build/vault && make run` met the old
copy's state folder (found by path), whose sync took every conflict callout for deleted — closed
as resolved — so the new vault's ingest raised none of them ("no open conflicts").
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from companion.write.identity import ID_PATH, read_vault_id
from tests.conflicts.harbour import app_for, harbour_vault

pytestmark = pytest.mark.slow  # real ingests


def test_a_vault_folder_replaced_at_the_same_path_gets_a_fresh_index(tmp_path: Path) -> None:
    vault = harbour_vault(tmp_path / "vault")
    with app_for(vault) as app:
        app.index(embed=False)
        app.ingest()
        first = [r["id"] for r in app.conflicts()]
    assert len(first) == 1
    ident = read_vault_id(vault)
    assert ident is not None

    shutil.rmtree(vault)  # a new copy of the same sources, in a new folder at the same path
    harbour_vault(vault)
    with app_for(vault) as app:
        app.index(embed=False)
        assert app.recovered is not None and "built from another folder" in app.recovered
        app.ingest()
        assert [r["id"] for r in app.conflicts()] == first  # raised again, not taken for resolved
    assert read_vault_id(vault) not in (None, ident)


def test_the_same_folder_keeps_its_index_and_an_index_from_before_ids_adopts_it(
    tmp_path: Path,
) -> None:
    vault = harbour_vault(tmp_path / "vault")
    with app_for(vault) as app:
        app.index(embed=False)
        app.ingest()
        ident = read_vault_id(vault)
        app.index(embed=False)
        assert app.recovered is None and read_vault_id(vault) == ident
        # An index made before vault ids: no id remembered, none in the vault.
        app.store.db.execute("DELETE FROM meta WHERE key = 'vault_id'")
    (vault / ID_PATH).unlink()
    with app_for(vault) as app:
        report = app.index(embed=False)
        assert app.recovered is None and report.sync.added == []  # adopted, not rebuilt
        assert len(app.conflicts()) == 1
        assert app.store.meta.get("vault_id") == read_vault_id(vault) is not None
