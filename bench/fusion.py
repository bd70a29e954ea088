"""How to fuse BM25 and vectors: candidate fusions on the channels' own rankings, side by side.

    python -m bench.fusion [--doc]

Each channel's ranking (with its own scores) comes from the product's `Companion.search` in bm25
and vector mode, no floor, for every SciFact dev query (../shared/data/scifact-dev, 100 hits)
and every question of bench/vault_questions.json (50 hits; the vaults indexed as
`bench.vault_search` does). They are then fused here by the product's own functions
(`companion.search.fusion.rrf_scores` for Reciprocal Rank Fusion, `convex` for the convex
combination of scores) at several settings, and scored: SciFact nDCG@10, the vault questions'
hits@1 and MRR@10 for the tune half (what a setting may be chosen on) and the test half. The
link nudge and the name stage are left out (they act after fusion); `bench.vault_search` and
`bench.retrieval` measure the shipped pipeline whole.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from bench.common import CACHE, REPO, log, measured, write_section

BEGIN = (
    "<!-- bench:fusion:begin (written by `python -m bench.fusion --doc`; edits inside are lost) -->"
)
END = "<!-- bench:fusion:end -->"
SCIFACT = REPO.parent / "shared" / "data" / "scifact-dev"
LISTS = CACHE / "fusion-lists.json"


def collect() -> dict[str, Any]:
    """Every query's bm25 and vector ranking, (id, own score), best first (cached)."""
    from bench import retrieval
    from bench.vault_search import VAULTS, _app

    if LISTS.is_file():
        return dict(json.loads(LISTS.read_text(encoding="utf-8")))
    out: dict[str, Any] = {"scifact": [], "vaults": []}
    if SCIFACT.is_dir():
        built = retrieval.build(SCIFACT)
        queries = retrieval.load_queries(SCIFACT / "queries.jsonl")
        qrels = retrieval.load_qrels(SCIFACT / "qrels.tsv")
        log("SciFact channels")
        for qid in sorted(q for q in qrels if q in queries and retrieval._relevant(qrels[q])):
            lists = {}
            for mode in ("bm25", "vector"):
                hits = built.app.search(queries[qid], mode=mode, limit=100, min_score=0.0)
                lists[mode] = [(built.docmap.get(h.path), h.scores[mode]) for h in hits]
            out["scifact"].append({"lists": lists, "qrels": qrels[qid]})
        built.app.close()
    data = json.loads((REPO / "bench" / "vault_questions.json").read_text(encoding="utf-8"))
    apps: dict[str, Any] = {}
    log("vault question channels")
    for q in data["questions"]:
        if not VAULTS[q["vault"]].is_dir():
            continue
        if q["vault"] not in apps:
            apps[q["vault"]] = _app(q["vault"], VAULTS[q["vault"]])
        app = apps[q["vault"]]
        lists = {}
        for mode in ("bm25", "vector"):
            hits = app.search(q["q"], mode=mode, limit=50, min_score=0.0)
            lists[mode] = [(h.path, h.scores[mode]) for h in hits]
        out["vaults"].append({"half": q["half"], "right": q["right"], "lists": lists})
    for app in apps.values():
        app.close()
    LISTS.write_text(json.dumps(out), encoding="utf-8")
    return out


def _ranked(scores: dict[str, float]) -> list[str]:
    return [p for p, _ in sorted(scores.items(), key=lambda kv: (-kv[1], str(kv[0])))]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--doc", action="store_true")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(REPO))
    from bench.retrieval import ndcg_at_k
    from companion.search.fusion import RRF_K, VECTOR_WEIGHT, convex, rrf_scores

    data = collect()

    def fused(lists: dict[str, list[list[Any]]], kind: str, value: float) -> list[str]:
        if kind == "rrf":
            ranks = {c: [str(p) for p, _ in items] for c, items in lists.items()}
            return _ranked(rrf_scores(ranks, int(value)))
        return _ranked(
            convex({c: {str(p): s for p, s in items} for c, items in lists.items()}, value)
        )

    def vault(kind: str, value: float, half: str) -> tuple[float, float]:
        items = [x for x in data["vaults"] if x["half"] == half]
        at1 = mrr = 0.0
        for x in items:
            ranked = fused(x["lists"], kind, value)[:10]
            first = next((i for i, p in enumerate(ranked, 1) if p in x["right"]), None)
            at1 += first == 1
            mrr += 1.0 / first if first else 0.0
        n = len(items) or 1
        return at1 / n, mrr / n

    rows = []
    settings = [("rrf", k) for k in (1, 2, 5, 10, 60)] + [
        ("convex", w) for w in (0.5, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85)
    ]
    for kind, value in settings:
        sci = [
            ndcg_at_k(
                fused(x["lists"], kind, value), {k: int(v) for k, v in x["qrels"].items()}, 10
            )
            for x in data["scifact"]
        ]
        tune, test = vault(kind, value, "tune"), vault(kind, value, "test")
        shipped = (kind, value) in (("rrf", RRF_K), ("convex", VECTOR_WEIGHT))
        label = f"{'RRF k' if kind == 'rrf' else 'convex, vector weight'} {value:g}"
        halves = [sci[0::2], sci[1::2]]  # the queries in id order, alternately: a fixed split
        rows.append(
            f"| {'**' + label + '**' if shipped else label} | "
            f"{sum(sci) / max(len(sci), 1):.4f} | "
            + " / ".join(f"{sum(h) / max(len(h), 1):.4f}" for h in halves)
            + f" | {tune[0]:.2f} / {tune[1]:.3f} | {test[0]:.2f} / {test[1]:.3f} |"
        )
    text = (
        "| fusion | SciFact dev nDCG@10 | SciFact halves (even / odd query ids) | "
        "vault tune h@1 / MRR@10 | vault test h@1 / MRR@10 |\n"
        "|---|---|---|---|---|\n" + "\n".join(rows) + "\n"
    )

    def order(x: dict[str, Any], label: str) -> list[str]:
        if label in x["lists"]:
            return [str(p) for p, _ in x["lists"][label]]
        return fused(x["lists"], "convex", VECTOR_WEIGHT)

    per_channel = []
    for label in ("bm25", "vector", "hybrid (convex)"):
        firsts = []
        for x in data["scifact"]:
            relevant = {k for k, v in x["qrels"].items() if int(v) > 0}
            ranked = order(x, label)[:10]
            firsts.append(next((i for i, p in enumerate(ranked, 1) if p in relevant), None))
        n = len(firsts) or 1
        per_channel.append(
            f"| {label} | {sum(f == 1 for f in firsts) / n:.3f} | "
            f"{sum(1 for f in firsts if f and f <= 3) / n:.3f} | "
            f"{sum(1 / f for f in firsts if f) / n:.4f} |"
        )
    text += (
        "\nSciFact dev, per channel (a hit: any judged-relevant abstract):\n\n"
        "| channel | hits@1 | hits@3 | MRR@10 |\n|---|---|---|---|\n"
        + "\n".join(per_channel)
        + "\n"
    )
    print(text)
    if args.doc:
        write_section(
            BEGIN,
            END,
            "## Fusion (`python -m bench.fusion`)\n\n"
            f"{measured()} Each channel's own ranking from "
            "the product (bm25 and vector mode, no floor), fused by the product's `rrf_scores` "
            f"and `convex` at each setting: {len(data['scifact'])} SciFact dev queries and "
            f"{len(data['vaults'])} judged vault questions (tune / test halves). Before the link "
            "nudge and the name stage; the shipped pipeline whole is in the sections of "
            "`bench.vault_search` and `bench.retrieval`. Bold: what ships (RRF for comparison).\n\n"
            + text
            + "\n",
        )


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    main()
