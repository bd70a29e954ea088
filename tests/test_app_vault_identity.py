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
        app.ingest(dry_run=True)
        assert read_vault_id(vault) is None  # a dry run writes nothing, not even the id
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


@pytest.mark.parametrize("odd", ["too large", "a folder", "garbled"])
def test_an_odd_vault_id_file_is_no_id_and_no_crash(tmp_path: Path, odd: str) -> None:
    vault = harbour_vault(tmp_path / "vault")
    target = vault / ID_PATH
    target.parent.mkdir(parents=True, exist_ok=True)
    if odd == "too large":
        target.write_text("0" * 4096)
    elif odd == "a folder":
        target.mkdir()
    else:
        target.write_bytes(b"\xff\xfe not an id")
    with app_for(vault) as app:
        app.index(embed=False)  # no crash: the index works
        assert app.store.pages.empty() is False
    if odd == "a folder":
        assert target.is_dir() and read_vault_id(vault) is None  # left as it is
    else:
        assert read_vault_id(vault) is not None  # companion's own file, given a real id
