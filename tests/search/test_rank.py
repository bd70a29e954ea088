"""Search on the example vault with the real model: natural queries, modes, hostile input."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from pathlib import Path

import pytest

from companion.app import Companion
from companion.search.query import fts_query
from tests.helpers import OpenApp

NATURAL_QUERIES = [
    ("how are card payments retried", "services/payments/Retry Policy.md"),
    ("Idempotency-Key header 24 hours", "services/payments/Idempotency Keys.md"),
    ("why were customers charged twice", "incidents/2024-03-14 Duplicate Card Charges.md"),
    ("how many requests per second can a merchant send", "services/payments/Rate Limits.md"),
    ("what to do when the ledger database primary goes down", "runbooks/Ledger Failover.md"),
    ("settlement file recon break", "services/ledger/Reconciliation.md"),
    ("when do sellers get paid", "services/payouts/Payout Scheduler.md"),
    ("webhook signature HMAC-SHA256", "services/notifications/Webhook Delivery.md"),
    ("debits equal credits posting rules", "services/ledger/Double-Entry Model.md"),
    ("merchant dashboards showed stale balances", "incidents/2024-08-02 Ledger Replication Lag.md"),
    ("consumer group falling behind on Kafka", "runbooks/Kafka Consumer Lag.md"),
    (
        "why services publish events instead of calling each other",
        "adr/ADR-003 Use Kafka for Domain Events.md",
    ),
    ("LightGBM fraud model", "services/risk/Fraud Scoring.md"),
]

HOSTILE_QUERIES = [
    "",
    "   ",
    '"',
    '"unbalanced',
    "*",
    "payments*",
    "-ledger",
    "ledger -kafka",
    "title:ledger",
    "a:b:c",
    "(",
    "())(",
    "AND",
    "OR NOT",
    "ledger AND",
    "NEAR(ledger kafka)",
    "ledger NEAR/2 kafka",
    "^",
    "'; DROP TABLE pages; --",
    "台帳 データベース",
    "Сверка баланса",
    "مدفوعات",
    "🙂 payments",
    "\x00",
    "a" * 5000,
    "{x}",
    "[[Payments]]",
    "#tag",
    "$$",
    "%%",
    "\\",
    "ledger\nkafka",
]


@pytest.mark.parametrize(("query", "expected"), NATURAL_QUERIES)
def test_example_vault_answers_natural_queries_in_the_top_three(
    example_app: Companion, query: str, expected: str
) -> None:
    hits = example_app.search(query, mode="hybrid", limit=3)
    assert expected in [h.path for h in hits], [h.path for h in hits]


def test_hybrid_hits_report_each_channels_rank(example_app: Companion) -> None:
    hits = example_app.search("how are card payments retried", mode="hybrid", limit=5)
    top = hits[0]
    # links: the rank of the top hit it links with; name: its rank among the notes the query names
    assert set(top.ranks) == {"bm25", "vector", "links", "name"}
    assert top.rank == 1 and top.score > 0 and top.snippet
    assert [h.rank for h in hits] == list(range(1, len(hits) + 1))
    assert all(a.score >= b.score for a, b in itertools.pairwise(hits))


def test_each_hit_carries_each_channels_own_score(example_app: Companion) -> None:
    hybrid = example_app.search("ledger failover", mode="hybrid")
    top = hybrid[0]
    assert top.ranks["bm25"] is not None and top.scores["bm25"] is not None
    assert top.scores["bm25"] > 0  # BM25 with its sign flipped: higher is better
    assert all(h.scores["vector"] is None or -1 <= h.scores["vector"] <= 1 for h in hybrid)
    # One channel: the score is that channel's own, not 1/(rank + k) whatever the query.
    for mode in ("bm25", "vector"):
        hits = example_app.search("ledger failover", mode=mode)  # type: ignore[arg-type]
        assert [h.score for h in hits] == [h.scores[mode] for h in hits]
        assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    other = example_app.search("webhook signature", mode="vector")
    assert other[0].score != hits[0].score


def test_gibberish_finds_nothing_but_a_question_without_its_words_still_does(
    example_app: Companion,
) -> None:
    for mode in ("hybrid", "vector"):
        assert example_app.search("zzzzqqqxx", mode=mode) == []  # type: ignore[arg-type]
        assert len(example_app.search("zzzzqqqxx", mode=mode, min_score=0.0)) == 10  # type: ignore[arg-type]
    # the model's floor keeps what is close in meaning, lexical match or not
    hits = example_app.search("when do sellers get paid", mode="vector")
    assert "services/payouts/Payout Scheduler.md" in [h.path for h in hits[:3]]


def test_a_weak_vector_only_hit_is_dropped_and_a_lexical_match_kept(
    make_vault: Callable[..., Path], open_app: OpenApp
) -> None:
    app = open_app(make_vault(LINKED_NOTES))
    app.index()
    from companion.search.rank import search

    query = "tides and fog logged every night"
    every = search(app.store, query, mode="hybrid", embedder=app.embedder, graph_nudge=0.0)
    floor = search(
        app.store, query, mode="hybrid", embedder=app.embedder, graph_nudge=0.0, min_cosine=0.99
    )
    assert any(h.ranks["bm25"] is None for h in every)  # the vectors found more
    assert [h.path for h in floor] == [h.path for h in every if h.ranks["bm25"] is not None]


def test_title_and_alias_matches_rank_above_body_mentions(example_app: Companion) -> None:
    hits = example_app.search("Redis", mode="bm25", limit=3)
    assert hits[0].path == "data/Redis Cache.md"


def test_excluded_folders_are_left_out_of_search(example_app: Companion) -> None:
    hits = example_app.search("legacy monolith", mode="bm25", limit=20)
    assert "archive/Legacy Monolith Notes.md" not in [h.path for h in hits]


@pytest.mark.parametrize("query", HOSTILE_QUERIES)
@pytest.mark.parametrize("mode", ["bm25", "hybrid"])
def test_any_text_is_a_valid_query(example_app: Companion, query: str, mode: str) -> None:
    hits = example_app.search(query, mode=mode, limit=5)  # type: ignore[arg-type]
    assert isinstance(hits, list)


def test_fts_query_quotes_every_word_and_ignores_syntax() -> None:
    assert fts_query('title:"x" NEAR (y*)') == '"title" OR "x" OR "near" OR "y"'
    assert fts_query("-- ** ()") is None


def test_fts_query_drops_stop_words_unless_nothing_else_is_left() -> None:
    assert fts_query("what to do when the primary goes down") == '"primary" OR "goes" OR "down"'
    assert fts_query("the and of") == '"the" OR "and" OR "of"'


LINKED_NOTES: dict[str, str | bytes] = {
    "Lighthouse.md": "# Lighthouse\n\nThe keeper logs tides and fog every night. See [[Keeper Rota]].\n",
    "Keeper Rota.md": "# Keeper Rota\n\nWho climbs the tower, week by week.\n",
    "Orchard.md": "# Orchard\n\nApple trees and cider presses.\n",
    "Bakery.md": "# Bakery\n\nBread, ovens and flour; no links here.\n",
    "Tower.md": "# Tower\n\nThe tides and fog diagram: ![[tides diagram.png]]\n",
    "tides diagram.png": b"\x89PNG\r\n\x1a\n" + bytes(64),
}


def test_hybrid_nudges_pages_linked_with_its_top_hits_and_says_so(
    make_vault: Callable[..., Path], open_app: OpenApp
) -> None:
    app = open_app(make_vault(LINKED_NOTES))
    app.index()
    from companion.search.rank import search

    query = "tides and fog logged every night"
    plain = search(app.store, query, mode="hybrid", embedder=app.embedder, graph_nudge=0.0)
    nudged = search(app.store, query, mode="hybrid", embedder=app.embedder)
    assert plain[0].path == nudged[0].path == "Lighthouse.md"
    before = {h.path: h for h in plain}
    after = {h.path: h for h in nudged}
    # The rota is linked from the top hit: it gains, and its `links` rank names that hit's rank.
    assert after["Keeper Rota.md"].score > before["Keeper Rota.md"].score
    assert after["Keeper Rota.md"].ranks["links"] == 1
    assert after["Bakery.md"].ranks["links"] is None
    assert after["Bakery.md"].score == before["Bakery.md"].score
    # The generated catalog links to every note but never joins a ranking through its links,
    # and an attachment has no text to search: neither joins through links, nor through BM25.
    assert "index.md" not in after and "tides diagram.png" not in after
    assert all(h.path != "tides diagram.png" for h in app.search("tides diagram", mode="bm25"))
    # The single channels are never nudged.
    for mode in ("bm25", "vector"):
        hits = search(app.store, query, mode=mode, embedder=app.embedder)
        assert all("links" not in h.ranks for h in hits)


def test_link_nudge_adds_a_share_of_each_top_hits_score_to_its_neighbours() -> None:
    from companion.search.fusion import link_nudge

    scores = {"a": 1 / 3, "b": 1 / 4, "c": 1 / 5}
    out = link_nudge(scores, ["a", "b", "c"], {"a": ["c", "d"], "c": ["a"]}, k=2, beta=0.5, top=2)
    assert out["c"] == pytest.approx(1 / 5 + 0.5 / 3)
    assert out["d"] == pytest.approx(0.5 / 3)  # found by no channel: joins through its link
    assert out["a"] == scores["a"] and out["b"] == scores["b"]  # c is not in the top 2


def test_a_hub_among_the_top_hits_nudges_nothing() -> None:
    from companion.search.fusion import link_nudge

    hub = {"hub": [f"n{i}" for i in range(60)]}
    out = link_nudge({"hub": 0.5}, ["hub"], hub, k=2, beta=0.5, top=3, max_links=50)
    assert out == {"hub": 0.5}
    out = link_nudge({"hub": 0.5}, ["hub"], hub, k=2, beta=0.5, top=3, max_links=60)
    assert len(out) == 61


NAMED_NOTES: dict[str, str | bytes] = {
    "Classes/Fighter.md": "A martial class.\n",
    "Multiclass/Fighter-Multiclass.md": (
        "Fighter multiclass rules: a fighter multiclass fighter gains fighter talents as a "
        "fighter does, fighter fighter fighter.\n"
    ),
    "Notes/2023 Japan Trip.md": "---\nstart: 2023-09-12\nloc: ['[[Kyoto]]']\n---\n",
    "Notes/Packing.md": "What to pack for the japan trip: the japan trip needs a rail pass.\n",
    "Policies/Retry Policy.md": "---\naliases: [Card Retry Rules]\n---\nHow cards are retried.\n",
    "Cards.md": "Card retry rules are strict: card retry rules, card retry rules.\n",
}


def test_a_notes_name_or_alias_puts_that_note_first(
    make_vault: Callable[..., Path], open_app: OpenApp
) -> None:
    app = open_app(make_vault(NAMED_NOTES))
    app.index()
    first = {
        q: app.search(q, mode="hybrid")[0] for q in ("Fighter", "japan trip", "card retry rules")
    }
    assert first["Fighter"].path == "Classes/Fighter.md"  # not the note that says it most
    assert first["Fighter"].ranks["name"] == 1
    # a note with only frontmatter has no text, and is found by its name
    assert first["japan trip"].path == "Notes/2023 Japan Trip.md"
    assert first["card retry rules"].path == "Policies/Retry Policy.md"  # an alias
    # a question is no name; and bm25 and vector stay single channels
    question = app.search("what should I pack for the japan trip", mode="hybrid")
    assert question[0].ranks["name"] is None
    assert "name" not in app.search("Fighter", mode="bm25")[0].ranks


def test_convex_fusion_weighs_the_channels_own_scores() -> None:
    from companion.search.fusion import VECTOR_WEIGHT, convex, rrf_scores

    # BM25 first only through filler words, far from the question in meaning; the answer,
    # found by the vectors far closer and by BM25 only weakly: the answer wins (RRF put the BM25 first on top).
    scores = {
        "bm25": {"Catalog.md": 3.1, "Failover.md": 0.7, "Team.md": 2.8},
        "vector": {"Failover.md": 0.64, "Catalog.md": 0.38, "Other.md": 0.30},
    }
    fused = convex(scores)
    assert max(fused, key=fused.__getitem__) == "Failover.md"
    ranks = {c: sorted(s, key=s.__getitem__, reverse=True) for c, s in scores.items()}
    by_rank = rrf_scores(ranks)
    assert max(by_rank, key=by_rank.__getitem__) == "Catalog.md"  # what RRF made of it
    w = VECTOR_WEIGHT
    assert fused["Failover.md"] == pytest.approx((1 - w) * 0.7 / 3.1 + w * 0.64)
    # a page one channel did not return counts at that channel's lowest returned score
    assert fused["Team.md"] == pytest.approx((1 - w) * 2.8 / 3.1 + w * 0.30)
    assert fused["Other.md"] == pytest.approx((1 - w) * 0.7 / 3.1 + w * 0.30)
    # one channel empty: the other's order stands
    only = convex({"bm25": scores["bm25"], "vector": {}})
    assert sorted(only, key=only.__getitem__, reverse=True) == [
        "Catalog.md",
        "Team.md",
        "Failover.md",
    ]


def test_rrf_scores_sum_reciprocal_ranks() -> None:
    from companion.search.fusion import rrf_scores

    fused = rrf_scores({"bm25": ["a", "b"], "vector": ["b", "c"]}, k=2)
    assert fused == pytest.approx({"a": 1 / 3, "b": 1 / 4 + 1 / 3, "c": 1 / 4})


def test_a_note_the_vectors_find_far_closer_beats_one_bm25_ranks_first_by_filler_words(
    example_app: Companion,
) -> None:
    from companion.search.rank import search

    query = "what to do when the ledger database primary goes down"
    store, model = example_app.store, example_app.embedder
    top = search(store, query, mode="hybrid", embedder=model, graph_nudge=0.0)[0]  # fusion alone
    assert top.path == "runbooks/Ledger Failover.md"
    assert top.ranks["vector"] == 1 and (top.ranks["bm25"] or 99) > 3  # BM25 put others first


SCOPED_NOTES: dict[str, str | bytes] = {
    "work/Beacon.md": (
        "---\ntags: [project/alpha]\n---\n# Beacon\n"
        + "Keepers walk the cliff path at dusk and count the gulls. " * 30
        + "\n\n## Fuel\nThe beacon burns lamp oil nightly.\n"
    ),
    "work/Harbour.md": "---\ntags: [harbour]\n---\nThe harbour stores lamp oil for the beacon.\n",
    "home/Lamp.md": "---\ntags: [project]\n---\nLamp oil for the kitchen lamp.\n",
}


def test_hits_say_where_in_the_note_and_can_be_kept_to_a_folder_or_tag(
    make_vault: Callable[..., Path], open_app: OpenApp
) -> None:
    app = open_app(make_vault(SCOPED_NOTES))
    app.index()
    every = app.search("lamp oil", mode="hybrid")
    beacon = next(h for h in every if h.path == "work/Beacon.md")
    assert beacon.heading == "Beacon > Fuel"  # the part that holds the words, and its line
    lines = str(SCOPED_NOTES["work/Beacon.md"]).split("\n")
    assert beacon.line is not None and "lamp oil" in lines[beacon.line - 1]
    assert {h.path for h in app.search("lamp oil", folder="work/")} == {
        "work/Beacon.md",
        "work/Harbour.md",
    }
    # a tag holds its nested tags; the `#` and case do not matter
    assert {h.path for h in app.search("lamp oil", tag="#Project")} == {
        "work/Beacon.md",
        "home/Lamp.md",
    }
    assert [h.path for h in app.search("lamp oil", folder="work", tag="harbour")] == [
        "work/Harbour.md"
    ]
    assert app.search("lamp oil", folder="nowhere") == []
    assert all(h.line for h in app.search("lamp oil", mode="bm25"))
