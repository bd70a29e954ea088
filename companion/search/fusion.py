"""How channel rankings become one: Reciprocal Rank Fusion, then a nudge along links.

score = sum over channels of 1 / (k + rank), so a page found by both channels rises and neither
channel's raw score scale matters; hybrid search then nudges pages linked with its top hits.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence

# k=2 rather than the customary 60: a channel's top hits count for more, so a page first in one
# channel and far down the other is not buried. SciFact dev hybrid nDCG@10 by k: 60 0.719,
# 20 0.727, 10 0.731, 5 0.735, 2 0.740, 1 0.740 (docs/benchmarks.md).
RRF_K = 2
# Hybrid search then nudges pages linked (either way) with its top GRAPH_TOP hits: each gains
# GRAPH_NUDGE / (k + rank) of that hit. Two measurements pull against each other: on a
# link-suggestion evaluation over 13th-age-srd's own links (bench/link_nudge.py) hybrid nDCG@10
# goes 0.140 -> 0.153 at 0.25 and 0.175 at 0.5; on the example vault's 13 natural queries
# (tests/search/test_rank.py) the right page is first for 12 without the nudge, 13 at 0.05-0.25, and
# 12 again at 0.5, where navigation notes linked with every top hit (Home, Overview) climb above
# the answer. 0.25 helps both; SciFact has no links.
GRAPH_NUDGE = 0.25
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
