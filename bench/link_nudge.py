"""Does the link graph help search? A link-suggestion evaluation on a real vault.

    python -m bench.link_nudge --vault ../shared/data/vaults/13th-age-srd [--queries 400]
    python -m bench.link_nudge --natural    # the example vault's hand-written queries

SciFact has no links, so the graph's value is measured on a vault's own links instead. Each query
is the line of a note that holds a wikilink or markdown link, with the link itself removed: "which
page is this sentence about?", the question a writer asks before linking. The page the link points
at is the one relevant answer. The note the line comes from is treated as not yet written: it is
dropped from the results, and its own links are left out of the graph, so the graph can only help
through *other* notes' links (otherwise the eval would be circular).

Ranking is the product's: `companion.search.search(..., mode=hybrid|bm25|vector)` with its own
nudge off, on the vault indexed with `Companion.index` (cached between runs); then the product's
`link_nudge` is applied with the graph minus the left-out note's links: every page linked (either
direction) with one of the top `m` hits gains `beta / (k + rank)` of that hit, k being the
product's RRF k. The product ships beta = `GRAPH_NUDGE`, m = `GRAPH_TOP`, in hybrid mode only.
"""

from __future__ import annotations

import argparse
import hashlib
import random
import re
import shutil
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from bench.retrieval import CACHE_ROOT, Throttled, mrr_at_k, ndcg_at_k, recall_at_k

REPO = Path(__file__).resolve().parents[1]

_LINK_TEXT = re.compile(r"!?\[\[[^\]]*\]\]|!?\[[^\]]*\]\([^)]*\)|[#*_`>|=~-]+")
_WORD = re.compile(r"\w+")


def build(vault_src: Path, cache_root: Path) -> Any:
    from companion.app import Companion

    key = hashlib.sha256(str(vault_src.resolve()).encode()).hexdigest()[:10]
    cache = cache_root / f"linknudge-{vault_src.name}-{key}"
    vault = cache / "vault"
    if not vault.is_dir():
        shutil.copytree(vault_src, vault)
    app = Companion.open(str(vault), state_dir=str(cache / "state"))
    started = time.perf_counter()
    result = app.index(progress=Throttled("sync"), embed_progress=Throttled("embed", 10.0))
    print(
        f"index: {result.sync.parsed} parsed, {result.embedded} chunks embedded "
        f"in {time.perf_counter() - started:.1f}s",
        file=sys.stderr,
    )
    return app


def make_queries(app: Any, limit: int, seed: int) -> list[tuple[str, str, str]]:
    """(query, source path, target path): one per distinct (source, target) note pair."""
    generated = {p for p, _, _, _, gen in app.store.pages.nodes() if gen}
    seen: set[tuple[str, str]] = set()
    out = []
    texts: dict[str, list[str]] = {}
    for e in app.store.links.edges():
        if (
            e.target is None
            or e.kind not in ("wikilink", "markdown")
            or e.target == e.source
            or not e.target.endswith(".md")
            or e.source in generated
            or e.target in generated
            or (e.source, e.target) in seen
        ):
            continue
        if e.source not in texts:
            path = app.settings.vault / e.source
            texts[e.source] = path.read_text(encoding="utf-8", errors="replace").splitlines()
        line = next((ln for ln in texts[e.source] if e.raw in ln), None)
        if line is None:
            continue
        words = _WORD.findall(_LINK_TEXT.sub(" ", line.replace(e.raw, " ")))
        if len(words) < 4:
            continue
        seen.add((e.source, e.target))
        out.append((" ".join(words), e.source, e.target))
    random.Random(seed).shuffle(out)
    return out[:limit]


def neighbours(app: Any) -> dict[str, set[tuple[str, str]]]:
    """page -> {(neighbour, the page whose link makes them neighbours)}, over searchable pages
    (as `Store.linked_pages` gives them to the product)."""
    hidden = {p for p, _, _, excluded, gen in app.store.pages.nodes() if excluded or gen}
    near: dict[str, set[tuple[str, str]]] = defaultdict(set)
    for e in app.store.links.edges():
        if e.target and e.target != e.source and not {e.source, e.target} & hidden:
            near[e.source].add((e.target, e.source))
            near[e.target].add((e.source, e.source))
    return near


def nudged(
    hits: list[tuple[str, float]],
    near: dict[str, set[tuple[str, str]]],
    left_out: str,
    beta: float,
    m: int,
    max_links: int,
) -> list[str]:
    """The product's `link_nudge`, with the graph of a vault where `left_out` is not written."""
    from companion.search.fusion import link_nudge

    ranked = [p for p, _ in hits]
    graph = {
        page: [o for o, owner in near.get(page, ()) if left_out not in (o, owner)]
        for page in ranked[:m]
    }
    scores = link_nudge(dict(hits), ranked, graph, beta=beta, top=m, max_links=max_links)
    return sorted(scores, key=lambda p: (-scores[p], p))


def natural_queries(cache_root: Path) -> None:
    """The other side: the example vault's hand-written queries (tests/search/test_rank.py), each with
    the one page that answers it. How many come first, by nudge strength?"""
    from companion.search.rank import search

    sys.path.insert(0, str(REPO))
    from tests.search.test_rank import NATURAL_QUERIES

    app = build(REPO / "vault", cache_root)
    print(
        f"{'beta':>5} {'first':>6} {'MRR@10':>7}   ({len(NATURAL_QUERIES)} example-vault queries)"
    )
    for beta in (0.0, 0.05, 0.1, 0.25, 0.5, 1.0):
        first, rr = 0, 0.0
        for query, want in NATURAL_QUERIES:
            hits = search(app.store, query, mode="hybrid", embedder=app.embedder, graph_nudge=beta)
            paths = [h.path for h in hits]
            first += paths[:1] == [want]
            rr += 1 / (paths.index(want) + 1) if want in paths else 0.0
        print(f"{beta:>5} {first:>6} {rr / len(NATURAL_QUERIES):>7.3f}")
    app.close()


def main(argv: list[str] | None = None) -> int:
    from companion.search.rank import search

    ap = argparse.ArgumentParser(prog="python -m bench.link_nudge", description=__doc__)
    ap.add_argument("--vault", type=Path, help="a vault whose links make the queries")
    ap.add_argument(
        "--natural", action="store_true", help="instead: the example vault's natural queries"
    )
    ap.add_argument("--queries", type=int, default=400)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--cache", type=Path, default=CACHE_ROOT)
    args = ap.parse_args(argv)
    if args.natural:
        natural_queries(args.cache)
        return 0
    if args.vault is None:
        ap.error("--vault is required (or --natural)")
    app = build(args.vault, args.cache)
    app.keep_vectors_in_memory()
    queries = make_queries(app, args.queries, args.seed)
    near = neighbours(app)
    print(f"{len(queries)} queries from {args.vault.name}'s links", file=sys.stderr)
    settings = [(0.0, 0, 0)] + [
        (b, m, cap) for b in (0.25, 0.5, 1.0) for m in (3, 10) for cap in (50, 100_000)
    ]
    print(
        f"{'mode':<7} {'beta':>5} {'top m':>5} {'max links':>9} {'nDCG@10':>8} {'R@10':>6} {'MRR@10':>7}"
    )
    for mode in ("bm25", "vector", "hybrid"):
        fused = []
        for query, source, target in queries:
            found = search(
                app.store,
                query,
                mode=mode,
                limit=51,
                embedder=app.embedder,
                memory=app.memory,
                graph_nudge=0.0,  # the product's nudge would use the left-out note's links
            )
            hits = [(h.path, h.score) for h in found if h.path != source][:50]
            fused.append((hits, source, target))
        for beta, m, cap in settings:
            runs, qrels = {}, {}
            for i, (hits, source, target) in enumerate(fused):
                runs[str(i)] = nudged(hits, near, source, beta, m, cap)
                qrels[str(i)] = {target: 1}
            ndcg = sum(ndcg_at_k(runs[q], qrels[q], 10) for q in runs) / len(runs)
            rec = sum(recall_at_k(runs[q], qrels[q], 10) for q in runs) / len(runs)
            mrr = sum(mrr_at_k(runs[q], qrels[q], 10) for q in runs) / len(runs)
            print(
                f"{mode:<7} {beta:>5} {m:>5} {cap:>9} {ndcg:>8.4f} {rec:>6.4f} {mrr:>7.4f}",
                flush=True,
            )
    app.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
