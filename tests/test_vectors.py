"""The daemon's in-memory vectors answer exactly as sqlite-vec does, and follow the store."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from companion.vectors import VectorIndex
from conftest import OpenApp

NOTES: dict[str, str | bytes] = {
    f"n{i}.md": f"# Topic {i}\n\nA paragraph about subject {i}: {'harbour tides' if i % 2 else 'mountain passes'}.\n"
    for i in range(12)
}


def test_in_memory_neighbours_match_sqlite_vec_and_follow_additions_and_removals(
    make_vault: Callable[..., Path], open_app: OpenApp
) -> None:
    vault = make_vault(NOTES)
    app = open_app(vault)
    app.index()
    info = app.model
    memory = VectorIndex(info.fingerprint, info.dim)
    assert memory.refresh(app.store)
    query = np.asarray(app.embedder.embed(["tides in the harbour"])[0], dtype=np.float32)
    exact = app.store.knn(query.tobytes(), 5)
    mine = memory.nearest(query, 5)
    assert [h for h, _ in mine] == [h for h, _ in exact]
    assert np.allclose([d for _, d in mine], [d for _, d in exact], atol=1e-5)
    # New embeddings are appended, removals reload.
    (vault / "new.md").write_text("Lighthouses guide ships through fog.\n", encoding="utf-8")
    app.index()
    memory.refresh(app.store)
    assert memory.size == len(app.store.vectors_after(info.fingerprint, 0))
    (vault / "new.md").unlink()
    app.index()  # drops the vector nobody uses any more
    memory.refresh(app.store)
    assert memory.size == len(app.store.vectors_after(info.fingerprint, 0)) == 12  # one per note
    fog = np.asarray(app.embedder.embed(["fog and lighthouses"])[0], dtype=np.float32)
    assert [h for h, _ in memory.nearest(fog, 3)] == [h for h, _ in app.store.knn(fog.tobytes(), 3)]


def test_search_with_vectors_in_memory_ranks_exactly_as_with_sqlite_vec(
    make_vault: Callable[..., Path], open_app: OpenApp
) -> None:
    """Hybrid search overlaps the in-memory KNN with BM25 on a worker thread: same answers."""
    vault = make_vault(NOTES)
    one_shot = open_app(vault)
    one_shot.index()
    resident = open_app(vault)
    resident.keep_vectors_in_memory()
    for query in ("tides in the harbour", "mountain passes", "subject 7", "???"):
        for mode in ("vector", "hybrid"):
            a = one_shot.search(query, mode=mode, limit=5)
            b = resident.search(query, mode=mode, limit=5)
            assert [(h.path, h.ranks, h.snippet) for h in a] == [
                (h.path, h.ranks, h.snippet) for h in b
            ], (query, mode)
    assert resident._memory is not None and resident._memory.size == 12
