"""BM25, vector and hybrid ranking of pages.

BM25 ranks whole pages (one FTS row per page: title, aliases, headings, text); the vector channel
ranks chunks and rolls them up to pages by each page's best chunk. Hybrid search
fuses the two page rankings with Reciprocal Rank Fusion, score = sum over channels of
1 / (k + rank), so a page found by both channels rises and neither channel's raw score scale
matters. Each hit keeps its rank in every channel so `--explain` can show why it is there.

Any user text is a valid query (`query.fts_query`). Fusion and the link nudge are `fusion`; the
in-memory vector copy of a long-lived process is `memory`. NumPy is imported only when a vector
is computed, so a BM25 search in a fresh process loads neither it nor the model.
"""

from __future__ import annotations

from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from companion.search.fusion import (
    GRAPH_MAX_LINKS,
    GRAPH_NUDGE,
    GRAPH_TOP,
    RRF_K,
    link_nudge,
    nudges,
)
from companion.search.modes import MODES, Mode
from companion.search.query import fts_query

if TYPE_CHECKING:  # NumPy and the model load only for vector search: BM25 needs neither
    import numpy as np

    from companion.embed import Embedder
    from companion.search.memory import VectorIndex
    from companion.store.db import Store

__all__ = ["MODES", "Hit", "Mode", "search"]


@dataclass(slots=True)
class Hit:
    path: str
    title: str
    score: float
    rank: int
    ranks: dict[str, int | None] = field(default_factory=dict)
    snippet: str = ""
    kind: str = "note"  # "source": a raw file under the sources folder; "wiki": a managed page
    # Each channel's own score: "bm25" (FTS5's BM25, sign flipped: higher is better) and
    # "vector" (the cosine of the query and the page's best chunk); None where it did not find it.
    scores: dict[str, float | None] = field(default_factory=dict)

    def as_dict(self) -> dict[str, object]:
        return {
            "path": self.path,
            "kind": self.kind,
            "title": self.title,
            "score": round(self.score, 6),
            "rank": self.rank,
            "ranks": self.ranks,
            "scores": {k: None if v is None else round(v, 4) for k, v in self.scores.items()},
            "snippet": self.snippet,
        }


Ranked = list[tuple[str, str, str, float]]  # (path, title, snippet, the channel's own score)


def _page_ranking(rows: Ranked) -> Ranked:
    """Keep each page's first (best) row, preserving order: (path, title, snippet, score)."""
    seen: set[str] = set()
    pages = []
    for row in rows:
        if row[0] not in seen:
            seen.add(row[0])
            pages.append(row)
    return pages


def bm25_pages(store: Store, match: str | None, depth: int) -> list[tuple[int, str, str, float]]:
    """(page id, path, title, BM25 score: higher is better) for the best pages, best first; no
    snippets yet (see `search`)."""
    if match is None:
        return []
    return [(i, path, title, -score) for i, path, title, score in store.ranking.bm25(match, depth)]


def vector_pages(
    store: Store,
    embedder: Embedder,
    query: str,
    depth: int,
    memory: VectorIndex | None = None,
    nearest: Future[list[tuple[str, float]]] | None = None,
) -> Ranked:
    """Pages by their best chunk's cosine distance. `nearest`: the chunk hashes already being
    found in memory on another thread (see `search`)."""
    if nearest is not None:
        found = nearest.result()
    elif not query.strip():
        return []
    else:
        vector = query_vector(embedder, query)
        if memory is not None and memory.refresh(store):
            found = memory.nearest(vector, depth)  # a long-lived process: vectors in memory
        else:
            found = store.vectors.knn(vector.tobytes(), depth)
    if not found:
        return []
    order = {h: i for i, (h, _) in enumerate(found)}
    cosine = {h: 1.0 - distance for h, distance in found}
    rows = store.ranking.chunks_for_hashes(list(order))
    rows.sort(key=lambda r: order[r[0]])
    return _page_ranking([(p, title, _snippet(text), cosine[h]) for h, p, title, text in rows])


def query_vector(embedder: Embedder, query: str) -> np.ndarray:
    import numpy as np

    return np.asarray(embedder.embed([query])[0], dtype=np.float32)


def _nudge_by_links(store: Store, fused: dict[str, Hit], k: int, beta: float) -> None:
    ranked = [h.path for h in sorted(fused.values(), key=lambda h: (-h.score, h.path))]
    neighbours: dict[str, list[str]] = {}
    titles: dict[str, str] = {}
    for page, other, title in store.links.linked_pages(ranked[:GRAPH_TOP]):
        neighbours.setdefault(page, []).append(other)
        titles[other] = title
    scores = link_nudge({p: h.score for p, h in fused.items()}, ranked, neighbours, k, beta)
    channels = [*next(iter(fused.values())).ranks, "links"]
    for hit in fused.values():
        hit.ranks["links"] = None
    for rank, other in nudges(ranked, neighbours, GRAPH_TOP, GRAPH_MAX_LINKS):
        if other not in fused:  # found by neither channel: joins through its links
            fused[other] = Hit(other, titles[other], 0.0, 0, dict.fromkeys(channels))
        if fused[other].ranks["links"] is None:  # ranks ascend: the first is the best
            fused[other].ranks["links"] = rank
    for page, score in scores.items():
        fused[page].score = score


def _fuse(channels: dict[str, Ranked], rrf_k: int, min_cosine: float | None) -> dict[str, Hit]:
    """Reciprocal Rank Fusion of the channels' rankings, each hit keeping every channel's rank
    and own score. A page only the vector channel found, with a cosine below `min_cosine`, is
    left out: no match, however the model ranks it (a gibberish query's nearest chunks are still
    someone's nearest)."""
    fused: dict[str, Hit] = {}
    for channel, ranked in channels.items():
        for rank, (path, title, snippet, own) in enumerate(ranked, start=1):
            hit = fused.get(path)
            if hit is None:
                hit = fused[path] = Hit(path, title, 0.0, 0, dict.fromkeys(channels), snippet)
                hit.scores = dict.fromkeys(channels)
            hit.ranks[channel] = rank
            hit.scores[channel] = own
            hit.score += 1.0 / (rrf_k + rank)
            if snippet and not hit.snippet:
                hit.snippet = snippet
    if min_cosine is not None and "vector" in channels:
        for path, hit in list(fused.items()):
            cosine = hit.scores.get("vector")
            if hit.ranks.get("bm25") is None and cosine is not None and cosine < min_cosine:
                del fused[path]
    return fused


def _snippet(text: str, limit: int = 160) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def search(
    store: Store,
    query: str,
    *,
    mode: Mode = "hybrid",
    limit: int = 10,
    embedder: Embedder | None = None,
    rrf_k: int = RRF_K,
    memory: VectorIndex | None = None,
    graph_nudge: float = GRAPH_NUDGE,
    min_cosine: float | None = None,
) -> list[Hit]:
    """Rank pages for `query`. Vector and hybrid modes need an embedder; hybrid without vectors
    yet (embedding still running) is simply BM25 ranked through RRF. Hybrid hits carry a
    "links" rank too: the rank of the best top hit they are linked with, if any. A page that
    no lexical match found and whose best chunk's cosine is below `min_cosine` is no hit (None:
    every page the channels return is)."""
    depth = max(50, limit * 2)  # deeper lists changed nothing on the SciFact dev queries
    channels: dict[str, Ranked] = {}
    match = fts_query(query) if mode in ("bm25", "hybrid") else None
    bm25_ids: dict[str, int] = {}
    nearest = None
    if (
        mode == "hybrid"
        and embedder is not None
        and memory is not None
        and query.strip()
        and memory.refresh(store)
    ):
        nearest = memory.nearest_soon(lambda: query_vector(embedder, query), depth)
    if mode in ("bm25", "hybrid"):
        pages = bm25_pages(store, match, depth)
        bm25_ids = {path: page_id for page_id, path, _, _ in pages}
        channels["bm25"] = [(path, title, "", score) for _, path, title, score in pages]
    if mode in ("vector", "hybrid"):
        if embedder is None:
            raise ValueError(f"{mode} search needs an embedder")
        channels["vector"] = vector_pages(store, embedder, query, depth, memory, nearest)
    fused = _fuse(channels, rrf_k, min_cosine)
    if mode == "hybrid" and graph_nudge and fused:
        _nudge_by_links(store, fused, rrf_k, graph_nudge)
    if mode != "hybrid":
        for hit in fused.values():  # one channel: its own score, not a rank in disguise
            hit.score = hit.scores.get(mode) or 0.0
    hits = sorted(fused.values(), key=lambda h: (-h.score, h.path))[:limit]
    for i, hit in enumerate(hits, start=1):
        hit.rank = i
    # FTS snippets highlight the matched words; made for the hits shown only (each one tokenizes
    # its whole page), which is most of what BM25 costs when made for every ranked page.
    shown = [bm25_ids[h.path] for h in hits if h.path in bm25_ids]
    if match is not None and shown:
        snippets = store.ranking.snippets(match, shown)
        for hit in hits:
            fragment = snippets.get(bm25_ids.get(hit.path, -1), "")
            if fragment:
                hit.snippet = " ".join(fragment.split())
    return hits
