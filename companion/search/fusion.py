"""How channel rankings become one: a convex combination of their scores, then a nudge along links.

score = (1 - VECTOR_WEIGHT) * bm25 / (the query's best bm25) + VECTOR_WEIGHT * cosine, a page
one channel did not return counted at that channel's lowest returned score ("convex combination",
Bruch et al. 2023, with BM25 scaled by its best and the cosine as it is). It replaced Reciprocal
Rank Fusion (1 / (k + rank) summed), which throws the scores away: a note BM25 ranks first only
through a question's filler words beat the note the vectors found far closer. Chosen on the
`tune` half of bench/vault_questions.json and on SciFact dev (docs/benchmarks.md, "Fusion"):
SciFact hybrid nDCG@10 RRF k=2 0.7355 -> 0.7538. Hybrid search then nudges pages linked with its
top hits. `rrf` stays for comparison (bench/) and for callers that have ranks only.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence

# RRF (kept for comparison): k=2 rather than the customary 60. SciFact dev hybrid nDCG@10 by k:
# 60 0.719, 20 0.727, 10 0.731, 5 0.735, 2 0.740, 1 0.740 (docs/benchmarks.md).
RRF_K = 2
# The vector channel's share of the fused score (bench/fusion.py, the channels' own scores fused
# offline by `convex`): SciFact dev nDCG@10 by weight 0.6 0.744, 0.7 0.754, 0.75 0.751, 0.8
# 0.746; the vault questions' tune half hits@1 / MRR@10 0.76 / 0.815, 0.74 / 0.799, 0.76 /
# 0.808, 0.74 / 0.789. 0.75: the best tune half with SciFact above 0.75.
VECTOR_WEIGHT = 0.75
# Hybrid search then nudges pages linked (either way) with its top GRAPH_TOP hits: each gains
# GRAPH_NUDGE / (k + rank) of that hit. Measured with the convex fusion: the vault questions'
# tune half hits@1 / MRR@10 0.76 / 0.810 without the nudge, 0.74 / 0.800 at 0.05, 0.74 / 0.806
# at 0.1, 0.71 / 0.786 at 0.25; the example vault's 13 natural queries all in the top three up
# to 0.05, not from 0.1 (fused scores lie closer together than RRF's: a nudge sized for RRF
# lifts a hub's neighbours over the answer); the link-suggestion evaluation over 13th-age-srd's
# own links (bench/link_nudge.py) hybrid nDCG@10 0.138 without it, 0.150 at 0.25. 0.05 keeps
# links counting a little without costing the natural queries.
GRAPH_NUDGE = 0.05
GRAPH_TOP = 3
# A hub (a top hit with more links than this) nudges nothing: it would lift its whole
# neighbourhood above real matches.
GRAPH_MAX_LINKS = 50


def nudges(
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
    for rank, other in nudges(ranked, neighbours, top, max_links):
        out[other] = out.get(other, 0.0) + beta / (k + rank)
    return out


def convex(
    scores: Mapping[str, Mapping[str, float]], vector_weight: float = VECTOR_WEIGHT
) -> dict[str, float]:
    """Fused scores from each channel's own scores ({"bm25": {page: score}, "vector": {page:
    cosine}}; either may be missing or empty): BM25 divided by the query's best, the cosine as
    it is, a page a channel did not return at that channel's lowest returned score, weighted
    1 - `vector_weight` and `vector_weight`."""
    bm25 = dict(scores.get("bm25") or {})
    vector = dict(scores.get("vector") or {})
    best = max(bm25.values(), default=0.0)
    lexical = {p: s / best for p, s in bm25.items()} if best > 0 else dict.fromkeys(bm25, 0.0)
    low_lexical = min(lexical.values(), default=0.0)
    low_vector = min(vector.values(), default=0.0)
    return {
        page: (1 - vector_weight) * lexical.get(page, low_lexical)
        + vector_weight * vector.get(page, low_vector)
        for page in lexical.keys() | vector.keys()
    }


def rrf_scores(rankings: Mapping[str, Sequence[str]], k: int = RRF_K) -> dict[str, float]:
    """Reciprocal Rank Fusion of channel rankings (best first): each page's sum over channels
    of 1 / (k + rank). Not what hybrid search ships (`convex`); kept to compare against."""
    out: dict[str, float] = {}
    for ranked in rankings.values():
        for rank, page in enumerate(ranked, start=1):
            out[page] = out.get(page, 0.0) + 1.0 / (k + rank)
    return out
