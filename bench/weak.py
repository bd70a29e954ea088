"""Where the default model's cosines part related from unrelated: the floor under vector-only hits.

    python -m bench.weak [--doc]

The example vault indexed with the default model, searched through the product's `search` in
vector mode with no floor (`min_score=0`). For gibberish and off-topic queries it prints the
best cosine any note reaches; for the hand-written natural questions (tests/search/test_rank.py)
and the example vault's judged questions (bench/vault_questions.json) the cosine of the note a
person chose. The floor (`companion.embed.base.MIN_COSINE`) must sit between the two: above every
unrelated query's best, below the right notes. Only notes no lexical match found are held to it,
so a right note below it is still shown when it holds the question's words; the table says how
many right notes would be hidden were the vector channel alone.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys

from bench.common import CACHE, REPO, log, measured, open_app, write_section

BEGIN = "<!-- bench:weak:begin (written by `python -m bench.weak --doc`; edits inside are lost) -->"
END = "<!-- bench:weak:end -->"

UNRELATED = [
    "zzzzqqqxx",
    "asdfgh qwerty",
    "blorp fnord",
    "xyzzy plugh",
    "lorem ipsum dolor sit amet",
    "!!!???",
    "purple elephant dances on mars",
    "recipe for banana bread",
    "who won the world cup in 1998",
    "best hiking trails in the alps",
]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--doc", action="store_true")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(REPO))
    from companion.embed.base import MIN_COSINE
    from tests.search.test_rank import NATURAL_QUERIES

    judged = json.loads((REPO / "bench" / "vault_questions.json").read_text(encoding="utf-8"))
    questions = list(NATURAL_QUERIES) + [
        (q["q"], q["right"][0]) for q in judged["questions"] if q["vault"] == "example"
    ]
    vault, state = CACHE / "weak" / "vault", CACHE / "weak" / "state"
    shutil.rmtree(CACHE / "weak", ignore_errors=True)
    shutil.copytree(REPO / "vault", vault)
    app = open_app(vault, state)
    try:
        log("index the example vault with the default model")
        app.index()
        best = []
        for query in UNRELATED:
            hits = app.search(query, mode="vector", limit=1, min_score=0.0)
            best.append(hits[0].scores["vector"] if hits else 0.0)
            print(f"unrelated {best[-1]:.3f}  {query}")
        right: list[float | None] = []
        for query, path in questions:
            hits = app.search(query, mode="vector", limit=1000, min_score=0.0)
            found = next((h.scores["vector"] for h in hits if h.path == path), None)
            right.append(found)
            shown = "absent" if found is None else f"{found:.3f}"
            print(f"right     {shown}  {query}  ->  {path}")
    finally:
        app.close()
    scores = [r for r in right if r is not None]
    below = sum(1 for r in scores if r < MIN_COSINE)
    print(
        f"\nunrelated best: max {max(best):.3f}, median {statistics.median(best):.3f}; right notes: "
        f"min {min(scores):.3f}, median {statistics.median(scores):.3f}; "
        f"{below} of {len(right)} below the floor {MIN_COSINE}"
    )
    if args.doc:
        text = (
            "## Weak matches (`python -m bench.weak`)\n\n"
            f"{measured()} The example vault indexed with "
            "the default model, searched in vector mode with no floor: the best cosine of "
            f"{len(UNRELATED)} gibberish and off-topic queries, and the cosine of the right note "
            f"of {len(right)} questions (the 13 natural ones and the example vault's judged "
            "questions of bench/vault_questions.json).\n\n"
            "| | max | median | min |\n|---|---|---|---|\n"
            f"| unrelated queries, best note | {max(best):.3f} | {statistics.median(best):.3f} "
            f"| {min(best):.3f} |\n"
            f"| questions, the right note | {max(scores):.3f} | {statistics.median(scores):.3f} "
            f"| {min(scores):.3f} |\n\n"
            f"The floor under vector-only hits is {MIN_COSINE} (`companion search --min-score`): "
            f"{below} of {len(right)} right notes fall below it (shown anyway when they hold the "
            "question's words: only notes no lexical match found are held to the floor).\n\n"
        )
        write_section(BEGIN, END, text)


if __name__ == "__main__":
    main()
