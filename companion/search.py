"""BM25, vector and hybrid ranking of pages.

BM25 ranks whole pages (one FTS row per page: title, aliases, headings, text); the vector channel
ranks chunks and rolls them up to pages by each page's best chunk. Hybrid search
fuses the two page rankings with Reciprocal Rank Fusion, score = sum over channels of
1 / (k + rank), so a page found by both channels rises and neither channel's raw score scale
matters. Each hit keeps its rank in every channel so `--explain` can show why it is there.

Any user text is a valid query: it is reduced to words and each word is quoted for FTS5, so
quotes, `*`, `-`, `:`, parentheses or `AND`/`NEAR` are searched as text, never parsed as syntax.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from companion.embed import Embedder
from companion.store import Store
from companion.vectors import VectorIndex

Mode = Literal["hybrid", "bm25", "vector"]
MODES: tuple[Mode, ...] = ("hybrid", "bm25", "vector")
# k=2 rather than the customary 60: a channel's top hits count for more, so a page first in one
# channel and far down the other is not buried. SciFact dev hybrid nDCG@10 by k: 60 0.719,
# 20 0.727, 10 0.731, 5 0.735, 2 0.740, 1 0.740 (docs/benchmarks.md).
RRF_K = 2
# Hybrid search then nudges pages linked (either way) with its top GRAPH_TOP hits: each gains
# GRAPH_NUDGE / (k + rank) of that hit. Two measurements pull against each other: on a
# link-suggestion evaluation over 13th-age-srd's own links (bench/link_nudge.py) hybrid nDCG@10
# goes 0.140 -> 0.153 at 0.25 and 0.175 at 0.5; on the example vault's 13 natural queries
# (tests/test_search.py) the right page is first for 12 without the nudge, 13 at 0.05-0.25, and
# 12 again at 0.5, where navigation notes linked with every top hit (Home, Overview) climb above
# the answer. 0.25 helps both; SciFact has no links.
GRAPH_NUDGE = 0.25
GRAPH_TOP = 3
# A hub (a top hit with more links than this) nudges nothing: it would lift its whole
# neighbourhood above real matches.
GRAPH_MAX_LINKS = 50
_WORD = re.compile(r"\w+", re.UNICODE)
# Function words only: "not", "no", "down", "off", "over" and friends carry meaning in notes.
STOP_WORDS = frozenset(
    [
        "a",
        "about",
        "all",
        "am",
        "an",
        "and",
        "any",
        "are",
        "as",
        "at",
        "be",
        "because",
        "been",
        "being",
        "both",
        "but",
        "by",
        "can",
        "could",
        "did",
        "do",
        "does",
        "doing",
        "each",
        "few",
        "for",
        "from",
        "had",
        "has",
        "have",
        "having",
        "he",
        "her",
        "here",
        "hers",
        "herself",
        "him",
        "himself",
        "his",
        "how",
        "i",
        "if",
        "in",
        "into",
        "is",
        "it",
        "its",
        "itself",
        "just",
        "me",
        "more",
        "most",
        "my",
        "myself",
        "now",
        "of",
        "on",
        "once",
        "only",
        "or",
        "other",
        "our",
        "ours",
        "ourselves",
        "own",
        "same",
        "she",
        "should",
        "so",
        "some",
        "such",
        "than",
        "that",
        "the",
        "their",
        "theirs",
        "them",
        "themselves",
        "then",
        "there",
        "these",
        "they",
        "this",
        "those",
        "through",
        "to",
        "too",
        "very",
        "was",
        "we",
        "were",
        "what",
        "when",
        "where",
        "which",
        "while",
        "who",
        "whom",
        "why",
        "will",
        "with",
        "would",
        "you",
        "your",
        "yours",
        "yourself",
        "yourselves",
    ]
)


@dataclass(slots=True)
class Hit:
    path: str
    title: str
    score: float
    rank: int
    ranks: dict[str, int | None] = field(default_factory=dict)
    snippet: str = ""

    def as_dict(self) -> dict[str, object]:
        return {
            "path": self.path,
            "title": self.title,
            "score": round(self.score, 6),
            "rank": self.rank,
            "ranks": self.ranks,
            "snippet": self.snippet,
        }


def _nudges(
    ranked: Sequence[str], neighbours: Mapping[str, Iterable[str]], top: int, max_links: int
) -> Iterator[tuple[int, str]]:
    """(rank of a top hit, a page it is linked with) for every nudge the `top` hits give; a hub
    (more than `max_links` neighbours) gives none."""
    for rank, page in enumerate(ranked[:top], start=1):
        near = [other for other in dict.fromkeys(neighbours.get(page, ())) if other != page]
        if len(near) <= max_links:
            for other in near:
                yield rank, other


def link_nudge(
    scores: Mapping[str, float],
    ranked: Sequence[str],
    neighbours: Mapping[str, Iterable[str]],
    k: int = RRF_K,
    beta: float = GRAPH_NUDGE,
    top: int = GRAPH_TOP,
    max_links: int = GRAPH_MAX_LINKS,
) -> dict[str, float]:
    """Fused scores after the link nudge: every neighbour of the `top` best pages (hubs with
    more than `max_links` neighbours excepted) gains beta / (k + rank of that page); a neighbour
    neither channel found joins the ranking."""
    out = dict(scores)
    for rank, other in _nudges(ranked, neighbours, top, max_links):
        out[other] = out.get(other, 0.0) + beta / (k + rank)
    return out


def fts_query(text: str) -> str | None:
    """An FTS5 MATCH expression for arbitrary user text: each word quoted, OR-ed; None if no words.

    Stop words are dropped when the query has other words: BM25 gives them almost no weight
    (SciFact dev nDCG@10 was the same with and without them), but a word like "the" matches
    nearly every chunk, and scoring all of those dominated query time."""
    seen: dict[str, None] = {}
    for word in _WORD.findall(text):
        seen.setdefault(word.casefold(), None)
    if not seen:
        return None
    words = [w for w in seen if w not in STOP_WORDS] or list(seen)
    return " OR ".join('"' + w.replace('"', '""') + '"' for w in words)


def _page_ranking(rows: list[tuple[str, str, str]]) -> list[tuple[str, str, str]]:
    """Keep each page's first (best) row, preserving order: (path, title, snippet)."""
    seen: set[str] = set()
    pages = []
    for path, title, snippet in rows:
        if path not in seen:
            seen.add(path)
            pages.append((path, title, snippet))
    return pages


def bm25_pages(store: Store, match: str | None, depth: int) -> list[tuple[int, str, str]]:
    """(page id, path, title) for the best pages, best first; no snippets yet (see `search`)."""
    if match is None:
        return []
    return [(page_id, path, title) for page_id, path, title, _ in store.bm25(match, depth)]


def vector_pages(
    store: Store,
    embedder: Embedder,
    query: str,
    depth: int,
    memory: VectorIndex | None = None,
    nearest: Future[list[tuple[str, float]]] | None = None,
) -> list[tuple[str, str, str]]:
    """Pages by their best chunk's cosine distance. `nearest`: the chunk hashes already being
    found in memory on another thread (see `search`)."""
    if nearest is not None:
        found = nearest.result()
    elif not query.strip():
        return []
    else:
        vector = _query_vector(embedder, query)
        if memory is not None and memory.refresh(store):
            found = memory.nearest(vector, depth)  # a long-lived process: vectors in memory
        else:
            found = store.knn(vector.tobytes(), depth)
    if not found:
        return []
    order = {h: i for i, (h, _) in enumerate(found)}
    rows = store.chunks_for_hashes(list(order))
    rows.sort(key=lambda r: order[r[0]])
    return _page_ranking([(path, title, _snippet(text)) for _, path, title, text in rows])


def _query_vector(embedder: Embedder, query: str) -> np.ndarray:
    return np.asarray(embedder.embed([query])[0], dtype=np.float32)


_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def _nearest_in_memory(
    embedder: Embedder, memory: VectorIndex, query: str, depth: int
) -> Future[list[tuple[str, float]]]:
    """Embed the query and scan the in-memory vectors on a worker thread. Neither touches the
    database, and both release the GIL (ONNX Runtime, NumPy), so they overlap the BM25 query."""
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="companion-knn")
    return _pool.submit(lambda: memory.nearest(_query_vector(embedder, query), depth))


def _nudge_by_links(store: Store, fused: dict[str, Hit], k: int, beta: float) -> None:
    ranked = [h.path for h in sorted(fused.values(), key=lambda h: (-h.score, h.path))]
    neighbours: dict[str, list[str]] = {}
    titles: dict[str, str] = {}
    for page, other, title in store.linked_pages(ranked[:GRAPH_TOP]):
        neighbours.setdefault(page, []).append(other)
        titles[other] = title
    scores = link_nudge({p: h.score for p, h in fused.items()}, ranked, neighbours, k, beta)
    channels = [*next(iter(fused.values())).ranks, "links"]
    for hit in fused.values():
        hit.ranks["links"] = None
    for rank, other in _nudges(ranked, neighbours, GRAPH_TOP, GRAPH_MAX_LINKS):
        if other not in fused:  # found by neither channel: joins through its links
            fused[other] = Hit(other, titles[other], 0.0, 0, dict.fromkeys(channels))
        if fused[other].ranks["links"] is None:  # ranks ascend: the first is the best
            fused[other].ranks["links"] = rank
    for page, score in scores.items():
        fused[page].score = score


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
) -> list[Hit]:
    """Rank pages for `query`. Vector and hybrid modes need an embedder; hybrid without vectors
    yet (embedding still running) is simply BM25 ranked through RRF. Hybrid hits carry a
    "links" rank too: the rank of the best top hit they are linked with, if any."""
    depth = max(50, limit * 2)  # deeper lists changed nothing on the SciFact dev queries
    channels: dict[str, list[tuple[str, str, str]]] = {}
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
        nearest = _nearest_in_memory(embedder, memory, query, depth)
    if mode in ("bm25", "hybrid"):
        pages = bm25_pages(store, match, depth)
        bm25_ids = {path: page_id for page_id, path, _ in pages}
        channels["bm25"] = [(path, title, "") for _, path, title in pages]
    if mode in ("vector", "hybrid"):
        if embedder is None:
            raise ValueError(f"{mode} search needs an embedder")
        channels["vector"] = vector_pages(store, embedder, query, depth, memory, nearest)
    fused: dict[str, Hit] = {}
    for channel, ranked in channels.items():
        for rank, (path, title, snippet) in enumerate(ranked, start=1):
            hit = fused.get(path)
            if hit is None:
                hit = fused[path] = Hit(path, title, 0.0, 0, {c: None for c in channels}, snippet)
            hit.ranks[channel] = rank
            hit.score += 1.0 / (rrf_k + rank)
            if snippet and not hit.snippet:
                hit.snippet = snippet
    if mode == "hybrid" and graph_nudge and fused:
        _nudge_by_links(store, fused, rrf_k, graph_nudge)
    hits = sorted(fused.values(), key=lambda h: (-h.score, h.path))[:limit]
    for i, hit in enumerate(hits, start=1):
        hit.rank = i
    # FTS snippets highlight the matched words; made for the hits shown only (each one tokenizes
    # its whole page), which is most of what BM25 costs when made for every ranked page.
    shown = [bm25_ids[h.path] for h in hits if h.path in bm25_ids]
    if match is not None and shown:
        snippets = store.snippets(match, shown)
        for hit in hits:
            fragment = snippets.get(bm25_ids.get(hit.path, -1), "")
            if fragment:
                hit.snippet = " ".join(fragment.split())
    return hits
