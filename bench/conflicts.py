"""Conflict detection on the product's own path, scored against planted contradictions.

    python -m bench.conflicts --data ../shared/data/conflicts-dev   # + bench/planted, both orders
    python -m bench.conflicts --data ../shared/data/conflicts-dev --doc   # and docs/benchmarks.md

For each corpus (the given one, and bench/planted: our own, another domain) and each order (the
documents' dates ascending, then descending), a fresh vault is made with `Companion.init`, and
the corpus's `sources/` files are dropped into its `sources/` one at a time, each followed by
`Companion.ingest()` — new sources arriving, as a person would drop them. Then
`Companion.conflicts()` (what `companion conflicts --json` prints) is written as REPORTED.json
and scored by the corpus's own scorer (`score_conflicts.py truth.json REPORTED.json`, run as a
subprocess). The documents' dates come from the product (`companion.ingest.dates.source_date`
on the converted text), never from the truth file; truth.json is read by the scorer only.

Vectors come from `COMPANION_EMBED_BACKEND=fake`: detection uses none. Work folders are under
bench/.cache/conflicts/ (kept, to look at the callouts afterwards).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench.common import CACHE, REPO, machine, write_section

WORK = CACHE / "conflicts"
PLANTED = REPO / "bench" / "planted"
BEGIN = (
    "<!-- bench:conflicts:begin (written by `python -m bench.conflicts --doc`; "
    "edits inside are lost) -->"
)
END = "<!-- bench:conflicts:end -->"


def _dated(sources: Path) -> list[tuple[str, Path]]:
    from companion.convert import convert
    from companion.ingest.dates import source_date

    out = []
    for path in sorted(p for p in sources.iterdir() if p.is_file()):
        converted = convert(path.name, path.read_bytes())
        day, _ = source_date(converted, path.name, path.stat().st_mtime)
        out.append((day, path))
    return sorted(out)


def run_order(
    name: str, corpus: Path, scorer: Path, reverse: bool, work: Path = WORK
) -> dict[str, Any]:
    from companion.app import Companion
    from companion.config import load_settings

    order = "reverse" if reverse else "date"
    base = work / f"{name}-{order}"
    shutil.rmtree(base, ignore_errors=True)
    vault, state = base / "vault", base / "state"
    Companion.init(vault)
    app = Companion(load_settings(vault, state_dir=state))
    try:
        files = _dated(corpus / "sources")
        if reverse:
            files.reverse()
        started = time.perf_counter()
        for _, path in files:
            shutil.copy2(path, vault / "sources" / path.name)
            app.ingest([f"sources/{path.name}"])
        seconds = time.perf_counter() - started
        rows = app.conflicts()
        superseded = app.conflicts(superseded=True)
        summary_of = {r.path: r.summary for r in app.store.sources.all() if r.summary}
    finally:
        app.close()
    colocated = _colocated(vault, corpus, summary_of)
    reported = base / "REPORTED.json"
    reported.write_text(json.dumps(rows, indent=1, ensure_ascii=False), encoding="utf-8")
    out = _scored(scorer, corpus / "truth.json", reported)
    return {
        "corpus": name,
        "order": order,
        "documents": len(files),
        "seconds": round(seconds, 2),
        "reported": len(rows),
        "superseded": len(superseded),
        "supersedes_marked": _supersedes_marked(corpus, scorer, superseded, base),
        "colocated": colocated,
        **_score(out),
    }


def _flipped(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A truth list whose supersedes pairs are the targets (the rest decoys), so the scorer can
    score superseded callouts."""
    return [
        {**it, "kind": "contradiction" if it["kind"] == "supersedes" else "near_miss",
         "category": "numeric" if it["kind"] == "supersedes" else "units"}
        for it in items
    ]  # fmt: skip


def _supersedes_marked(
    corpus: Path, scorer: Path, superseded: list[dict[str, Any]], base: Path
) -> dict[str, Any]:
    """The corpus's supersedes pairs shown as superseded callouts, scored like conflicts."""
    truth = json.loads((corpus / "truth.json").read_text(encoding="utf-8"))
    tru, rep = base / "supersedes-truth.json", base / "SUPERSEDED.json"
    tru.write_text(json.dumps(_flipped(truth)), encoding="utf-8")
    rep.write_text(json.dumps(superseded, ensure_ascii=False), encoding="utf-8")
    return _score(_scored(scorer, tru, rep))


def _colocated(vault: Path, corpus: Path, summary_of: dict[str, str]) -> dict[str, Any]:
    """How many planted contradictions the detector could see at all: both sides written as
    facts on one page (bench/ingest_checks.py's co-location, from the corpus's truth file — the
    bench reads it, the product never does). The rest are ingest's misses, not detection's."""
    from bench import ingest as bench_ingest
    from bench import ingest_checks as checks

    truth = json.loads((corpus / "truth.json").read_text(encoding="utf-8"))
    scanned = checks.scan(vault)
    sources = checks.Sources(vault, bench_ingest.converted)
    found = checks.colocation(scanned, truth, summary_of, sources, "contradiction")
    return {
        "items": found["items"],
        "colocated": found["colocated"],
        "misses": [f"{m['id']}: {m['why']}" for m in found["misses"]],
    }


EXAMPLE = REPO / "vault"
EXAMPLE_LIST = REPO / "bench" / "example_conflicts.json"


def run_example(scorer: Path, work: Path = WORK) -> dict[str, Any]:
    """The example vault as `make run` ingests it (a copy of vault/, all its sources in one
    `ingest()`), its conflicts scored against bench/example_conflicts.json's contradictions and
    its superseded facts against the list's supersedes pairs (the same scorer, given a copy of
    the list in which those pairs are the targets)."""
    from companion.app import Companion
    from companion.config import load_settings

    base = work / "example"
    shutil.rmtree(base, ignore_errors=True)
    vault, state = base / "vault", base / "state"
    shutil.copytree(EXAMPLE, vault)
    app = Companion(load_settings(vault, state_dir=state))
    try:
        app.ingest()
        rows = app.conflicts()
        superseded = app.conflicts(superseded=True)
    finally:
        app.close()
    items = json.loads(EXAMPLE_LIST.read_text(encoding="utf-8"))
    flipped = _flipped(items)
    out: dict[str, Any] = {"corpus": "example vault (make run)"}
    for name, reported, truth in (
        ("conflicts", rows, items),
        ("superseded", superseded, flipped),
    ):
        rep = base / f"{name}.json"
        rep.write_text(json.dumps(reported, indent=1, ensure_ascii=False), encoding="utf-8")
        tru = base / f"{name}-truth.json"
        tru.write_text(json.dumps(truth, indent=1, ensure_ascii=False), encoding="utf-8")
        out[name] = {"reported": len(reported), **_score(_scored(scorer, tru, rep))}
    return out


def _scored(scorer: Path, truth: Path, reported: Path) -> str:
    """What the corpus's scorer prints for `reported` against `truth` (run as it documents)."""
    return subprocess.run(
        [sys.executable, str(scorer), str(truth), str(reported)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout


def _score(out: str) -> dict[str, Any]:
    def num(label: str) -> float:
        m = re.search(rf"^{label}: ([\d.]+)", out, re.M)
        return float(m.group(1)) if m else 0.0

    missed = re.findall(r"^  (\w\d\d) \[(\w+)\] (.*)$", out.split("unmatched reports")[0], re.M)
    unmatched = re.findall(r"^  #\d+ \[(.*)\]$", out, re.M)
    return {
        "tp": int(num("TP")),
        "fp": int(num("FP")),
        "fn": int(num("FN")),
        "precision": num("precision"),
        "recall": num("recall"),
        "f1": num("F1"),
        "missed": [f"{i} ({c}): {t}" for i, c, t in missed],
        "false_positives": unmatched,
    }


def section(results: list[dict[str, Any]], example: dict[str, Any] | None = None) -> str:
    m = machine()
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    out = [
        "## Conflict detection (`python -m bench.conflicts`)\n",
        f"Measured {m['date']} on {m['cpu']} ({m['cores']} cores, {m['ram_gb']} GB), load "
        f"average {load}, git {m['git']}. Extractive path, offline, no LLM. Each "
        "corpus is ingested one document at a time into a fresh vault, in date order and in "
        "reverse; `companion conflicts --json` is scored by the corpus's own scorer.\n",
        "| corpus | order | reported | TP | FP | FN | precision | recall | F1 | superseded "
        "(planted pairs among them) | both sides on one page |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        c, m = r["colocated"], r["supersedes_marked"]
        out.append(
            f"| {r['corpus']} | {r['order']} | {r['reported']} | {r['tp']} | {r['fp']} | "
            f"{r['fn']} | {r['precision']:.2f} | {r['recall']:.2f} | {r['f1']:.2f} | "
            f"{r['superseded']} ({m['tp']} of {m['tp'] + m['fn']}) | "
            f"{c['colocated']} of {c['items']} |"
        )
    out.append("")
    for r in results:
        out.append(
            f"**{r['corpus']}, {r['order']} order** — missed: "
            + ("; ".join(r["missed"]) or "none")
            + ". False positives: "
            + ("; ".join(r["false_positives"]) or "none")
            + ". Not both on one page (ingest's part): "
            + ("; ".join(r["colocated"]["misses"]) or "none")
            + ".\n"
        )
    if example is not None:
        out.append(
            "**The example vault** (`make run`: vault/ copied, all five sources ingested at once), "
            "against the committed list bench/example_conflicts.json:\n"
        )
        out.append(
            "| shown as | reported | listed and shown | listed, not shown | shown, not listed |"
        )
        out.append("|---|---|---|---|---|")
        for name in ("conflicts", "superseded"):
            e = example[name]
            out.append(f"| {name} | {e['reported']} | {e['tp']} | {e['fn']} | {e['fp']} |")
        out.append("")
        for name in ("conflicts", "superseded"):
            e = example[name]
            out.append(
                f"Example vault {name}: not shown — "
                + ("; ".join(e["missed"]) or "none")
                + "; shown but not listed — "
                + ("; ".join(e["false_positives"]) or "none")
                + ".\n"
            )
    return "\n".join(out) + "\n"


def write_doc(text: str) -> None:
    write_section(BEGIN, END, text)


def _print_example(example: dict[str, Any]) -> None:
    for name in ("conflicts", "superseded"):
        e = example[name]
        print(
            f"example vault {name:11} reported {e['reported']:2}  listed and shown {e['tp']} "
            f"of {e['tp'] + e['fn']}; shown, not listed {e['fp']}"
        )
        for line in e["missed"]:
            print(f"    not shown: {line}")
        for line in e["false_positives"]:
            print(f"    not listed: {line}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m bench.conflicts", description=__doc__.split("\n")[0]
    )
    ap.add_argument(
        "--data", type=Path, help="a corpus folder: sources/, truth.json, score_conflicts.py"
    )
    ap.add_argument("--no-planted", action="store_true", help="skip bench/planted")
    ap.add_argument("--doc", action="store_true", help="write the results into docs/benchmarks.md")
    ap.add_argument("--json", type=Path, help="write the results as JSON")
    ap.add_argument("--work", type=Path, default=WORK, help=f"work folder (default {WORK})")
    ap.add_argument(
        "--no-example", action="store_true", help="skip the example vault (make run's list)"
    )
    args = ap.parse_args(argv)
    os.environ.setdefault("COMPANION_EMBED_BACKEND", "fake")
    corpora: list[tuple[str, Path, Path]] = []
    if args.data is not None:
        if not (args.data / "truth.json").is_file():
            print(
                f"{args.data}: no truth.json (a corpus has sources/, truth.json, score_conflicts.py)",
                file=sys.stderr,
            )
            return 1
        corpora.append((args.data.name, args.data, args.data / "score_conflicts.py"))
    if not args.no_planted:
        scorer = corpora[0][2] if corpora else None
        if scorer is None:
            print(
                "bench/planted is scored with a corpus's score_conflicts.py: give --data",
                file=sys.stderr,
            )
            return 1
        corpora.append(("planted (bench/planted)", PLANTED, scorer))
    results = []
    for name, corpus, scorer in corpora:
        for reverse in (False, True):
            r = run_order(name.split(" ")[0], corpus, scorer, reverse, args.work)
            r["corpus"] = name
            results.append(r)
            print(
                f"{name:28} {r['order']:8} reported {r['reported']:3}  TP {r['tp']:2} FP {r['fp']:2} "
                f"FN {r['fn']:2}  P={r['precision']:.2f} R={r['recall']:.2f} F1={r['f1']:.2f}  "
                f"superseded {r['superseded']}  ({r['seconds']} s)"
            )
            for line in r["missed"]:
                print(f"    missed {line}")
            for line in r["false_positives"]:
                print(f"    false positive: {line}")
            c, m = r["colocated"], r["supersedes_marked"]
            print(f"    supersedes pairs marked superseded: {m['tp']} of {m['tp'] + m['fn']}")
            print(f"    both sides on one page: {c['colocated']} of {c['items']}")
            for line in c["misses"]:
                print(f"    not on one page: {line}")
    example = None
    if not args.no_example and corpora:
        example = run_example(corpora[0][2], args.work)
        _print_example(example)
    if args.json:
        args.json.write_text(json.dumps({"corpora": results, "example": example}, indent=2))
    if args.doc:
        write_doc(section(results, example))
    return 0


if __name__ == "__main__":
    sys.exit(main())
