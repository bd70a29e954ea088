"""The store on real SQLite with sqlite-vec: migrations, vectors keyed by model, page rows."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from companion.store.db import Store
from companion.store.migrations import MIGRATIONS
from companion.store.rows import ChunkRow, LinkRow, PageRow


def _page(path: str, text: str = "alpha beta", digest: str = "h1") -> PageRow:
    return PageRow(
        path=path,
        kind="note",
        title=Path(path).stem,
        size=len(text),
        mtime_ns=1,
        hash=digest,
        chunks=(ChunkRow(0, "", text, "c-" + text, 1),),
        links=(LinkRow("[[Other]]", "Other", None, None, "wikilink", 1, None, False),),
        tags=("Tag",),
    )


def test_migrations_apply_in_order_on_a_blank_database(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "index.sqlite")
    assert store.applied_migrations() == [name for name, _ in MIGRATIONS]
    tables = {
        r[0] for r in store.db.execute("SELECT name FROM sqlite_master WHERE type IN ('table')")
    }
    assert {
        "pages",
        "chunks",
        "pages_fts",
        "links",
        "tags",
        "embeddings",
        "problems",
        "meta",
    } <= tables
    store.close()


def test_reopening_applies_no_migration_twice(tmp_path: Path) -> None:
    Store.open(tmp_path / "i.sqlite").close()
    store = Store.open(tmp_path / "i.sqlite")
    assert store.migrate() == []
    store.close()


def test_database_uses_wal_and_has_sqlite_vec_loaded(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "i.sqlite")
    assert store.db.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    version = store.db.execute("SELECT vec_version()").fetchone()
    assert version is not None and str(version[0]).startswith("v")
    store.close()


def test_put_pages_replaces_content_of_an_existing_page(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "i.sqlite")
    with store.transaction():
        store.pages.put([_page("a.md", "first text")])
    with store.transaction():
        store.pages.put([_page("a.md", "second text", "h2")])
    snap = store.snapshot()
    assert [row[3] for row in snap["chunks"]] == ["second text"]
    assert len(snap["links"]) == 1 and len(snap["tags"]) == 1
    assert store.ranking.bm25('"first"', 10) == []
    assert [r[1] for r in store.ranking.bm25('"second"', 10)] == ["a.md"]
    store.close()


def test_deleting_a_page_removes_its_chunks_links_tags_and_fts_rows(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "i.sqlite")
    with store.transaction():
        store.pages.put([_page("a.md"), _page("b.md", "gamma")])
        store.pages.delete(["a.md"])
    snap = store.snapshot()
    assert [p[0] for p in snap["pages"]] == ["b.md"]
    assert {r[0] for r in snap["chunks"]} == {"b.md"}
    assert store.ranking.bm25('"alpha"', 10) == []
    store.close()


def test_vectors_are_keyed_by_chunk_hash_and_model_fingerprint(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "i.sqlite")
    with store.transaction():
        store.pages.put([_page("a.md", "one"), _page("b.md", "one")])  # same chunk text twice
    assert store.vectors.ensure("model-a", 4) is False
    assert store.vectors.pending("model-a") == [("c-one", "one")]  # embedded once, not per page
    store.vectors.add("model-a", [("c-one", np.array([1, 0, 0, 0], dtype=np.float32).tobytes())])
    assert store.vectors.pending("model-a") == []
    nearest = store.vectors.knn(np.array([1, 0.1, 0, 0], dtype=np.float32).tobytes(), 5)
    assert [h for h, _ in nearest] == ["c-one"]
    # A different model drops every vector and queues every chunk again.
    assert store.vectors.ensure("model-b", 8) is True
    assert store.vectors.pending("model-b") == [("c-one", "one")]
    assert store.vectors.knn(np.zeros(8, dtype=np.float32).tobytes(), 5) == []
    store.close()


def test_set_meta_with_the_same_value_changes_no_row(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "i.sqlite")
    store.meta.set("k", "v")
    before = store.db.totalchanges()
    store.meta.set("k", "v")
    assert store.db.totalchanges() == before
    store.close()


def test_fts_migrations_rebuild_the_page_index_from_existing_rows(tmp_path: Path) -> None:
    """A database from before stemming and page-level FTS (chunk rows in chunks_fts) is
    migrated in place: stemmed, one row per page, aliases and headings kept, excluded left out."""
    from companion.store.db import connect

    db = connect(tmp_path / "i.sqlite")
    old = Store(db, tmp_path / "i.sqlite")
    old.applied_migrations()
    for name, step in MIGRATIONS[:3]:
        with db:
            step(db)
            db.execute("INSERT INTO migrations VALUES (?, 0)", (name,))
    with db:
        for pid, (path, aliases, excluded) in enumerate(
            [("Jobs.md", '["Batch work"]', 0), ("Hidden.md", "[]", 1)], start=1
        ):
            db.execute(
                "INSERT INTO pages (id, path, kind, title, size, mtime_ns, hash, aliases, excluded)"
                " VALUES (?, ?, 'note', ?, 1, 1, 'h', ?, ?)",
                (pid, path, Path(path).stem, aliases, excluded),
            )
            for seq, (heading, text) in enumerate(
                [("Schedule", "Schedule\npayments are retried nightly"), ("", "ledger totals")]
            ):
                db.execute(
                    "INSERT INTO chunks (page_id, seq, heading, text, hash, line) "
                    "VALUES (?, ?, ?, ?, ?, 1)",
                    (pid, seq, heading, text, f"c{pid}{seq}"),
                )
                db.execute(
                    "INSERT INTO chunks_fts (title, aliases, heading, body) VALUES (?, '', ?, ?)",
                    (Path(path).stem, heading, text),
                )
    assert old.migrate() == [
        "0004_porter_stemming",
        "0005_page_fts",
        "0006_unversioned",
        "0007_sources",
        "0008_wiki_bullets",
        "0009_conflicts",
        "0010_claims",
    ]
    assert [r[1] for r in old.ranking.bm25('"retry"', 5)] == [
        "Jobs.md"
    ]  # stemmed, excluded left out
    assert [r[1] for r in old.ranking.bm25('"batch"', 5)] == ["Jobs.md"]  # the alias
    assert [r[1] for r in old.ranking.bm25('"ledger"', 5)] == ["Jobs.md"]  # the second chunk too
    assert old.db.execute("SELECT count(*) FROM pages_fts").fetchone() == (1,)
    assert old.db.execute("SELECT headings FROM pages_fts").fetchone() == ("Schedule",)
    old.close()
