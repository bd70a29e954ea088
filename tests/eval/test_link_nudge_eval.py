"""The link-suggestion evaluation (bench/link_nudge.py): how queries are made from a vault's own
links, and that the left-out note's links never help its own query."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from bench.link_nudge import make_queries, neighbours, nudged
from tests.helpers import OpenApp

NOTES: dict[str, str | bytes] = {
    "Harbour.md": "# Harbour\n\nThe night keeper writes the tide tables for [[Lighthouse]] every evening.\n",
    "Lighthouse.md": "# Lighthouse\n\nA tower with a lamp. See [[Keeper]].\n",
    "Keeper.md": "# Keeper\n\nShort. [[Lighthouse]]\n",
    "Orchard.md": "# Orchard\n\nApples and [[Keeper|the one who keeps]] nothing else to say here.\n",
}


def test_queries_are_the_linking_line_without_the_link(
    make_vault: Callable[..., Path], open_app: OpenApp
) -> None:
    app = open_app(make_vault(NOTES))
    app.index(embed=False)
    queries = make_queries(app, 100, seed=1)
    by_pair = {(src, tgt): q for q, src, tgt in queries}
    # "Short. [[Lighthouse]]" has fewer than 4 words once the link is gone: no query from it.
    assert set(by_pair) == {
        ("Harbour.md", "Lighthouse.md"),
        ("Lighthouse.md", "Keeper.md"),
        ("Orchard.md", "Keeper.md"),
    }
    query = by_pair[("Harbour.md", "Lighthouse.md")]
    assert "Lighthouse" not in query and "tide tables" in query
    assert "keeps" not in by_pair[("Orchard.md", "Keeper.md")]  # the shown text goes too
    assert all("index.md" not in (src, tgt) for _, src, tgt in queries)


def test_the_left_out_notes_links_never_nudge_its_own_query(
    make_vault: Callable[..., Path], open_app: OpenApp
) -> None:
    app = open_app(make_vault(NOTES))
    app.index(embed=False)
    near = neighbours(app)
    # Harbour is the note being written: its link to Lighthouse must not lift Lighthouse.
    hits = [("Harbour.md", 0.5), ("Orchard.md", 0.3)]
    ranked = nudged(hits, near, "Harbour.md", beta=0.5, m=3, max_links=50)
    assert "Lighthouse.md" not in ranked
    assert ranked[:2] == ["Harbour.md", "Orchard.md"] and "Keeper.md" in ranked  # via Orchard
