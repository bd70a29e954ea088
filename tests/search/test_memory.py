"""The daemon's in-memory vectors answer exactly as sqlite-vec does, and follow the store."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from companion.app import Companion
from companion.search.memory import VectorIndex
from companion.search.rank import search
from tests.helpers import OpenApp

NOTES: dict[str, str | bytes] = {
    f"n{i}.md": f"# Topic {i}\n\nA paragraph about subject {i}: {'harbour tides' if i % 2 else 'mountain passes'}.\n"
    for i in range(12)
}


@pytest.mark.quality
def test_in_memory_neighbours_match_sqlite_vec_and_follow_additions_and_removals(
    make_vault: Callable[..., Path], open_app: OpenApp
) -> None:
    vault = make_vault(NOTES)
    app = open_app(vault, real=True)  # a real model's vectors: no exact ties to order
    app.index()
    info = app.model
    memory = VectorIndex(info.fingerprint, info.dim)
    assert memory.refresh(app.store)
    query = np.asarray(app.embedder.embed(["tides in the harbour"])[0], dtype=np.float32)
    exact = app.store.vectors.knn(query.tobytes(), 5)
    mine = memory.nearest(query, 5)
    assert [h for h, _ in mine] == [h for h, _ in exact]
    assert np.allclose([d for _, d in mine], [d for _, d in exact], atol=1e-5)
    # New embeddings are appended, removals reload.
    (vault / "new.md").write_text("Lighthouses guide ships through fog.\n", encoding="utf-8")
    app.index()
    memory.refresh(app.store)
    assert memory.size == len(list(app.store.vectors.after(info.fingerprint, 0)))
    (vault / "new.md").unlink()
    app.index()  # drops the vector nobody uses any more
    memory.refresh(app.store)
    assert (
        memory.size == len(list(app.store.vectors.after(info.fingerprint, 0))) == 12
    )  # one per note
    fog = np.asarray(app.embedder.embed(["fog and lighthouses"])[0], dtype=np.float32)
    assert [h for h, _ in memory.nearest(fog, 3)] == [
        h for h, _ in app.store.vectors.knn(fog.tobytes(), 3)
    ]


@pytest.mark.quality
def test_search_with_vectors_in_memory_ranks_exactly_as_with_sqlite_vec(
    make_vault: Callable[..., Path], open_app: OpenApp
) -> None:
    """Hybrid search overlaps the in-memory KNN with BM25 on a worker thread: same answers."""
    vault = make_vault(NOTES)
    one_shot = open_app(vault, real=True)
    one_shot.index()
    resident = open_app(vault, real=True)
    resident.keep_vectors_in_memory()
    for query in ("tides in the harbour", "mountain passes", "subject 7", "???"):
        for mode in ("vector", "hybrid"):
            a = one_shot.search(query, mode=mode, limit=5)
            b = resident.search(query, mode=mode, limit=5)
            assert [(h.path, h.ranks, h.snippet) for h in a] == [
                (h.path, h.ranks, h.snippet) for h in b
            ], (query, mode)
    assert resident.memory is not None and resident.memory.size == 12


@pytest.fixture
def app(make_vault: Callable[..., Path], open_app: OpenApp) -> Companion:
    """The twelve notes, indexed and embedded."""
    indexed = open_app(make_vault(NOTES))
    indexed.index()
    return indexed


def test_above_the_float_limit_vectors_are_kept_as_int8_and_rank_as_exact_ones(
    app: Companion,
) -> None:
    info = app.model
    exact = VectorIndex(info.fingerprint, info.dim)
    small = VectorIndex(info.fingerprint, info.dim, float_limit=4)  # int8 from the 5th vector
    assert exact.refresh(app.store) and small.refresh(app.store)
    assert small.quantized and not exact.quantized and small.size == exact.size == 12
    assert small.matrix.nbytes * 4 == exact.matrix.nbytes  # a quarter of the memory
    for text in ("tides in the harbour", "mountain passes", "subject 3"):
        query = np.asarray(app.embedder.embed([text])[0], dtype=np.float32)
        a, b = exact.nearest(query, 12), small.nearest(query, 12)
        assert [h for h, _ in a[:6]] == [h for h, _ in b[:6]]
        assert np.allclose([d for _, d in a], [d for _, d in b], atol=5e-3)


def test_a_copy_over_the_limit_is_dropped_and_sqlite_vec_answers(app: Companion) -> None:
    info = app.model
    memory = VectorIndex(info.fingerprint, info.dim, max_in_memory=5)
    assert not memory.refresh(app.store)
    assert memory.size == 0 and memory.matrix.nbytes == 0
    hits = search(
        app.store, "tides in the harbour", mode="vector", embedder=app.embedder, memory=memory
    )
    assert hits and hits == search(
        app.store, "tides in the harbour", mode="vector", embedder=app.embedder
    )
