"""`companion ask` on the example vault's natural questions, with the real model, for a person
to judge, and its time per answer.

    python -m bench.ask [--doc]

The example vault is copied and ingested as `make run` does (its sources become wiki pages),
indexed with the default embedding model, and each of the hand-written natural questions of
`bench.link_nudge --natural` (tests/search/test_rank.py) is asked offline through the product's
`Companion.ask`. It prints each answer's sentences with their citations; whether the cited
sentence holds the answer is a person's judgement (listed in the closing note), not computed
here. The time per answer (median of the questions, after one warm-up) goes to
docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import time

from bench.common import CACHE, REPO, fmt_load, log, machine, open_app, write_section

BEGIN = "<!-- bench:ask:begin (written by `python -m bench.ask --doc`; edits inside are lost) -->"
END = "<!-- bench:ask:end -->"


def _dev(app: object) -> None:
    """The tuning set: each question, whether one of its three sentences holds a wanted string."""
    import json

    data = json.loads((REPO / "bench" / "ask_dev.json").read_text(encoding="utf-8"))
    right = 0
    for item in data["questions"]:
        answer = app.ask(item["q"])  # type: ignore[attr-defined]
        texts = [p.text for p in answer.cited()][:3]
        ok = any(w.lower() in t.lower() for w in item["want"] for t in texts)
        right += ok
        print(f"{'ok ' if ok else 'MISS'} {item['q']}")
        if not ok:
            for t in texts:
                print(f"      - {t[:120]}")
    print(f"dev: {right} of {len(data['questions'])}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--doc", action="store_true")
    parser.add_argument(
        "--backend", default=None, help="embedding backend (default: the product's)"
    )
    parser.add_argument(
        "--dev",
        action="store_true",
        help="instead: the development questions (bench/ask_dev.json), checked by their strings",
    )
    args = parser.parse_args(argv)
    sys.path.insert(0, str(REPO))
    from tests.search.test_rank import NATURAL_QUERIES

    vault = CACHE / "ask" / "vault"
    state = CACHE / "ask" / "state"
    shutil.rmtree(CACHE / "ask", ignore_errors=True)
    shutil.copytree(REPO / "vault", vault)
    app = open_app(vault, state, backend=args.backend)
    try:
        log("ingest and index the example vault")
        app.ingest()
        app.index()
        app.ask("warm up")
        if args.dev:
            _dev(app)
            return
        times = []
        for i, (question, right) in enumerate(NATURAL_QUERIES, 1):
            started = time.perf_counter()
            answer = app.ask(question)
            times.append(time.perf_counter() - started)
            print(f"\n{i:2}. {question}   (the note a person chose: {right})")
            for text, passage in [(p.text, p) for p in answer.cited()][:3]:
                print(f"    - {text[:160]}  ({passage.citation})")
    finally:
        app.close()
    median = statistics.median(times)
    print(f"\nmedian {median * 1000:.0f} ms per answer over {len(times)} questions")
    if args.doc:
        m = machine()
        text = (
            "## Ask (`python -m bench.ask`)\n\n"
            f"Measured {m['date']} on {m['cpu']} ({m['cores']} cores), load average "
            f"{fmt_load(list(os.getloadavg()))}, git {m['git']}. The example vault ingested and "
            f"indexed with the default model; {len(times)} natural questions asked offline "
            "through `Companion.ask` (hybrid search, then the best sentences of the hits).\n\n"
            f"| questions | median per answer | slowest |\n|---|---|---|\n"
            f"| {len(times)} | {median * 1000:.0f} ms | {max(times) * 1000:.0f} ms |\n\n"
            "Whether each cited sentence holds the answer is judged by hand (closing note of the "
            "issue that built `ask`).\n\n"
        )
        write_section(BEGIN, END, text)


if __name__ == "__main__":
    main()
