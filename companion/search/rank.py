"""BM25, vector and hybrid ranking of pages.

BM25 ranks whole pages (one FTS row per page: title, aliases, headings, text); the vector channel
ranks chunks and rolls them up to pages by each page's best chunk. Hybrid search
fuses the two with a convex combination of their own scores (`fusion.convex`: BM25 scaled by
the query's best, the cosine as it is), nudges pages linked with its top hits, and puts the
notes the query names first (`named`). Each hit keeps its rank and own score in every channel
so `--explain` can show why it is there; a page only the vector channel found, below the
model's floor, is none (`min_cosine`).

Any user text is a valid query (`query.fts_query`). Fusion and the link nudge are `fusion`; the
in-memory vector copy of a long-lived process is `memory`. NumPy is imported only when a vector
is computed, so a BM25 search in a fresh process loads neither it nor the model.
"""

from __future__ import annotations

import json
import re
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from companion.search.fusion import (
    GRAPH_MAX_LINKS,
    GRAPH_NUDGE,
    GRAPH_TOP,
    RRF_K,
    VECTOR_WEIGHT,
    convex,
    link_nudge,
    nudges,
)
from companion.search.modes import MODES, Mode
from companion.search.query import STOP_WORDS, fts_query

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
    heading: str = ""  # the heading trail of the note's best part ("" before any heading)
    line: int | None = None  # the 1-based line that part starts on

    def as_dict(self) -> dict[str, object]:
        return {
            "path": self.path,
            "kind": self.kind,
            "title": self.title,
            "score": round(self.score, 6),
            "rank": self.rank,
            "ranks": self.ranks,
            "scores": {k: None if v is None else round(v, 4) for k, v in self.scores.items()},
            "heading": self.heading,
            "line": self.line,
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
    best: dict[str, str] | None = None,
) -> Ranked:
    """Pages by their best chunk's cosine distance. `nearest`: the chunk hashes already being
    found in memory on another thread (see `search`); `best`, when given, is filled with each
    page's best chunk hash."""
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
    if best is not None:
        for h, p, _, _ in rows:
            best.setdefault(p, h)
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


MAX_NAME_WORDS = 5  # a longer query is a question, not a note's name
NAMED_FIRST = 3  # notes whose name merely holds the query's words, put first at most


def _name_words(text: str) -> list[str]:
    """A name as words: case-folded, split at anything that is not a letter or digit."""
    return re.findall(r"[^\W_]+", text.casefold())


def named(store: Store, query: str) -> list[tuple[str, str]]:
    """(path, title) of the notes `query` names, as Obsidian's quick switcher puts them first:
    those whose title or an alias is the query (case, spaces and punctuation aside: `fighter`
    is `Fighter`, not `Fighter-Multiclass`), then at most NAMED_FIRST whose title or alias holds
    every word of it (`japan trip`: `2023 Japan Trip`), fewest other words first. A query of
    more than MAX_NAME_WORDS words names nothing; function words are left out of it."""
    words = _name_words(query)
    if not words or len(words) > MAX_NAME_WORDS:
        return []
    meaning = [w for w in words if w not in STOP_WORDS] or words
    exact: list[tuple[str, str]] = []
    holding: list[tuple[int, str, str]] = []
    for path, title, aliases in store.ranking.named(meaning):
        names = [title, *(a for a in json.loads(aliases or "[]") if isinstance(a, str))]
        forms = [_name_words(n) for n in names]
        if any(f == words for f in forms):
            exact.append((path, title))
            continue
        extra = [len(f) - len(meaning) for f in forms if set(meaning) <= set(f)]
        if extra:
            holding.append((min(extra), path, title))
    holding.sort()
    return exact + [(path, title) for _, path, title in holding[:NAMED_FIRST]]


def _by_name(store: Store, query: str, fused: dict[str, Hit]) -> None:
    """Give each note the query names its `name` rank (`named`), adding it when neither channel
    found it (a note with only frontmatter has no text to find); every other hit's is None."""
    channels = [*next(iter(fused.values())).ranks] if fused else ["bm25", "vector", "links"]
    for hit in fused.values():
        hit.ranks["name"] = None
    for rank, (path, title) in enumerate(named(store, query), start=1):
        if path not in fused:
            fused[path] = Hit(path, title, 0.0, 0, {**dict.fromkeys(channels), "name": None})
            fused[path].scores = dict.fromkeys(c for c in channels if c != "links")
        fused[path].ranks["name"] = rank


def _place(store: Store, hits: list[Hit], query: str, best: dict[str, str]) -> None:
    """Each hit's heading and line: its best vector chunk's, else the chunk holding most of the
    query's words (the first of equals)."""
    words = {w.casefold() for w in re.findall(r"\w+", query)} - STOP_WORDS
    chosen: dict[str, tuple[int, str, int]] = {}  # path -> (-overlap, heading, line), best first
    for path, digest, heading, line, text in store.ranking.places([h.path for h in hits]):
        if best.get(path) == digest:
            chosen[path] = (-(1 << 30), heading, line)
            continue
        held = {w.casefold() for w in re.findall(r"\w+", f"{heading} {text}")}
        here = (-len(words & held), heading, line)
        if path not in chosen or here[0] < chosen[path][0]:
            chosen[path] = here
    for hit in hits:
        if hit.path in chosen:
            _, hit.heading, hit.line = chosen[hit.path]


def _fuse(
    channels: dict[str, Ranked], vector_weight: float, min_cosine: float | None
) -> dict[str, Hit]:
    """The channels' rankings as one (`fusion.convex` of their own scores), each hit keeping
    every channel's rank and own score. A page only the vector channel found, with a cosine below `min_cosine`, is
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
            if snippet and not hit.snippet:
                hit.snippet = snippet
    # One channel: its own score; hybrid: the channels' own scores combined (`fusion.convex`).
    own_scores = {c: {p: s for p, _, _, s in ranked} for c, ranked in channels.items()}
    if len(channels) == 1:
        for path, score in next(iter(own_scores.values())).items():
            fused[path].score = score
    else:
        for path, score in convex(own_scores, vector_weight).items():
            fused[path].score = score
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
    vector_weight: float = VECTOR_WEIGHT,
    memory: VectorIndex | None = None,
    graph_nudge: float = GRAPH_NUDGE,
    min_cosine: float | None = None,
    folder: str | None = None,
    tag: str | None = None,
) -> list[Hit]:
    """Rank pages for `query`. Vector and hybrid modes need an embedder; hybrid without vectors
    yet (embedding still running) is simply BM25 in its own order. Hybrid hits carry a
    "links" rank too: the rank of the best top hit they are linked with, if any. A page that
    no lexical match found and whose best chunk's cosine is below `min_cosine` is no hit (None:
    every page the channels return is). `folder` and `tag` keep the notes under that folder and
    with that tag (`Ranking.in_scope`), looking deeper into each channel to fill `limit`."""
    depth = max(50, limit * 2)  # deeper lists changed nothing on the SciFact dev queries
    scope = None if folder is None and tag is None else store.ranking.in_scope(folder, tag)
    if scope is not None:
        depth = max(depth, 500)  # most pages the channels find may be out of scope
    channels: dict[str, Ranked] = {}
    match = fts_query(query) if mode in ("bm25", "hybrid") else None
    bm25_ids: dict[str, int] = {}
    best: dict[str, str] = {}  # page -> its best vector chunk
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
        channels["vector"] = vector_pages(store, embedder, query, depth, memory, nearest, best)
    if scope is not None:
        channels = {c: [row for row in ranked if row[0] in scope] for c, ranked in channels.items()}
    fused = _fuse(channels, vector_weight, min_cosine)
    if mode == "hybrid" and graph_nudge and fused:
        _nudge_by_links(store, fused, rrf_k, graph_nudge)
    if mode != "hybrid":
        hits = sorted(fused.values(), key=lambda h: (-h.score, h.path))[:limit]
    else:
        _by_name(store, query, fused)
        if scope is not None:  # the link nudge and the names may bring in notes out of scope
            fused = {path: hit for path, hit in fused.items() if path in scope}
        hits = sorted(
            fused.values(),
            key=lambda h: (h.ranks["name"] is None, h.ranks["name"] or 0, -h.score, h.path),
        )[:limit]
    for i, hit in enumerate(hits, start=1):
        hit.rank = i
    _place(store, hits, query, best)
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
