"""The entry point's fast path: only plain `search` invocations skip click; the rest go to click."""

from __future__ import annotations

import pytest

from companion.cli.fast import parse_search
from companion.cli.output import render_hits


@pytest.fixture(autouse=True)
def _no_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("COMPANION_VAULT", raising=False)
    monkeypatch.delenv("COMPANION_STATE_DIR", raising=False)


def test_plain_search_options_are_parsed_as_click_would() -> None:
    opts = parse_search(
        ["ledger retries", "--vault", "v", "--state-dir=s", "--mode", "bm25", "-n", "3", "--json"]
    )
    assert opts == {
        "query": "ledger retries",
        "vault": "v",
        "state_dir": "s",
        "mode": "bm25",
        "limit": 3,
        "as_json": True,
        "explain": False,
        "min_score": None,
    }
    assert parse_search(["--min-score", "0.45", "x"])["min_score"] == 0.45  # type: ignore[index]
    for refused in ("1.5", "-0.1", "nan", "high"):  # click's message, from the full CLI
        assert parse_search(["--min-score", refused, "x"]) is None
    assert parse_search(["--explain", "--limit=7", "x"]) == {
        **parse_search(["x"]),  # type: ignore[dict-item]
        "limit": 7,
        "explain": True,
    }
    assert parse_search(["--", "-ledger kafka"])["query"] == "-ledger kafka"  # type: ignore[index]


def test_the_environment_supplies_vault_and_state_as_click_envvars_do(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("COMPANION_VAULT", "/notes")
    monkeypatch.setenv("COMPANION_STATE_DIR", "/state")
    opts = parse_search(["q", "--vault", "/other"])
    assert opts is not None and opts["vault"] == "/other" and opts["state_dir"] == "/state"


@pytest.mark.parametrize(
    "args",
    [
        [],  # no query: click says what is missing
        ["--help"],
        ["q", "-h"],
        ["q", "--model", "m"],  # a model only matters in process: click's path
        ["q", "--mode", "fuzzy"],
        ["q", "--limit", "0"],
        ["q", "--limit", "1001"],
        ["q", "--limit", "ten"],
        ["q", "-n", "²"],  # a digit to str.isdigit, not to click
        ["q", "-n", "9" * 5000],
        ["q", "-n=5"],  # click takes `=` on long options only
        ["q", "--limit"],
        ["q", "r"],
        ["q", "--frobnicate"],
        ["--", "a", "b"],
        ["q", "--", "r"],
    ],
)
def test_anything_unusual_is_left_to_click(args: list[str]) -> None:
    assert parse_search(args) is None


def test_rendering_is_shared_with_the_full_cli() -> None:
    hits = [
        {
            "rank": 1,
            "title": "Retry Policy",
            "path": "services/Retry Policy.md",
            "score": 0.5,
            "ranks": {"bm25": 1, "vector": None, "links": None},
            "scores": {"bm25": 7.25, "vector": None},
            "snippet": "cards are **retried**",
        }
    ]
    text = render_hits(hits, as_json=False, explain=True, footer="(hybrid search daemon, 9 ms)")
    assert text.splitlines() == [
        " 1. Retry Policy  (services/Retry Policy.md)",
        "    score 0.50000: bm25 #1 (7.25), vector -, links -",
        "    cards are **retried**",
        "(hybrid search daemon, 9 ms)",
    ]
    assert (
        render_hits([], as_json=False, explain=False) == ""
    )  # stderr says why (`nothing_matched`)
    assert render_hits([], as_json=True, explain=False) == "[]"
