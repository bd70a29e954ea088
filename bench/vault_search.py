"""Search as a person judges it: the judged vault questions, per channel and fused.

    python -m bench.vault_search [--doc] [--half tune|test|all]

bench/vault_questions.json holds questions written by browsing four vaults (the example vault and
the three of ../shared/data/vaults) before any search was run, each with the notes that answer it
and a fixed half: `tune` (what a ranking change may be chosen on) and `test` (reported only).
Each vault is copied into a cache folder and indexed with the product and the default model
(`Companion.index`; a second run reuses it), then every question is searched through
`Companion.search` in bm25, vector and hybrid mode, the CLI's own call. A question is right at k
when one of its notes is among the first k hits. Reported per channel, per vault and pooled, for
each half: hits@1, hits@3 and MRR@10 (1 / the rank of the first right note within ten, else 0).
Nothing here ranks: every number comes from the product's code path.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

from bench.common import CACHE, REPO, log, measured, open_app, write_section

BEGIN = (
    "<!-- bench:vault-search:begin (written by `python -m bench.vault_search --doc`; "
    "edits inside are lost) -->"
)
END = "<!-- bench:vault-search:end -->"
VAULTS = {
    "example": REPO / "vault",
    "13th-age-srd": REPO.parent / "shared" / "data" / "vaults" / "13th-age-srd",
    "kepano-obsidian": REPO.parent / "shared" / "data" / "vaults" / "kepano-obsidian",
    "ttrpg-share": REPO.parent / "shared" / "data" / "vaults" / "ttrpg-share",
}
MODES = ("bm25", "vector", "hybrid")


def _app(name: str, source: Path) -> Any:
    """The vault `name` copied and indexed once (indexing writes index.md into the copy)."""
    root = CACHE / "vault-search" / name
    vault, state = root / "vault", root / "state"
    if not (root / "done").exists():
        shutil.rmtree(root, ignore_errors=True)
        shutil.copytree(source, vault, ignore=shutil.ignore_patterns(".git"))
        app = open_app(vault, state)
        log(f"index {name}")
        app.index()
        (root / "done").write_text("indexed\n", encoding="utf-8")
        return app
    return open_app(vault, state)


def _first_right(paths: list[str], right: list[str]) -> int | None:
    return next((i for i, p in enumerate(paths[:10], 1) if p in right), None)


def evaluate(questions: list[dict[str, Any]]) -> dict[tuple[str, str, str], list[int | None]]:
    """(vault, half, mode) -> the rank of the first right note of each question (None: not in
    the first ten)."""
    out: dict[tuple[str, str, str], list[int | None]] = defaultdict(list)
    by_vault: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for q in questions:
        by_vault[q["vault"]].append(q)
    for name, items in by_vault.items():
        source = VAULTS[name]
        if not source.is_dir():
            log(f"skip {name}: {source} is absent")
            continue
        app = _app(name, source)
        try:
            for q in items:
                for mode in MODES:
                    hits = app.search(q["q"], mode=mode, limit=10)
                    first = _first_right([h.path for h in hits], q["right"])
                    out[(name, q["half"], mode)].append(first)
                    if mode == "hybrid" and first != 1:
                        print(f"  {name} [{q['half']}] hybrid #{first}: {q['q']}")
        finally:
            app.close()
    return out


def _figures(firsts: list[int | None]) -> tuple[float, float, float]:
    n = len(firsts) or 1
    at1 = sum(1 for f in firsts if f == 1) / n
    at3 = sum(1 for f in firsts if f is not None and f <= 3) / n
    mrr = sum(1.0 / f for f in firsts if f is not None) / n
    return at1, at3, mrr


def table(results: dict[tuple[str, str, str], list[int | None]], half: str) -> str:
    halves = ("tune", "test") if half == "all" else (half,)
    lines = [
        "| vault | half | questions | " + " | ".join(f"{m} h@1 / h@3 / MRR@10" for m in MODES),
        "|---|---|---|" + "---|" * len(MODES),
    ]
    names = sorted({v for v, _, _ in results}, key=list(VAULTS).index)
    for h in halves:
        for name in [*names, "pooled"]:
            row = []
            count = 0
            for mode in MODES:
                firsts = [
                    f
                    for (v, hh, m), fs in results.items()
                    if hh == h and m == mode and (name == "pooled" or v == name)
                    for f in fs
                ]
                count = len(firsts)
                at1, at3, mrr = _figures(firsts)
                row.append(f"{at1:.2f} / {at3:.2f} / {mrr:.3f}")
            label = f"**{name}**" if name == "pooled" else name
            lines.append(f"| {label} | {h} | {count} | " + " | ".join(row) + " |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--doc", action="store_true")
    parser.add_argument("--half", choices=("tune", "test", "all"), default="all")
    args = parser.parse_args(argv)
    data = json.loads((REPO / "bench" / "vault_questions.json").read_text(encoding="utf-8"))
    questions = [q for q in data["questions"] if args.half in ("all", q["half"])]
    results = evaluate(questions)
    text = table(results, args.half)
    print(text)
    if args.doc:
        write_section(
            BEGIN,
            END,
            "## Search on judged vault questions (`python -m bench.vault_search`)\n\n"
            f"{measured()} {len(questions)} questions of "
            "bench/vault_questions.json (written by browsing the vaults before any search ran), "
            "searched with the default model through `Companion.search`; hits@1, hits@3 (one of "
            "the question's notes first, in the first three) and MRR@10, per channel, per vault "
            "and pooled, for the half fusion may be chosen on (tune) and the one only reported "
            "(test).\n\n" + text + "\n",
        )


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    main()
