"""Parsing hostile notes: every input of `bench.pathological` through the real `parse_note`.

    python -m bench.parse              # the table, and exit 1 when a threshold fails
    python -m bench.parse --runs 9     # more runs per cell (the median is kept)
    python -m bench.parse --only wikilink-opens,yaml-alias-bomb

Each scaled input is built at 100 KB and 200 KB (and the 2 MB case of the defect report for
`wikilink-opens`), parsed `--runs` times in this process after one warm-up, and the median wall
time kept. The digest the sync makes of every note (`chunk_note` + `summary_line`) is timed the
same way, beside it. Thresholds, for parse and digest alike:

- at most 100 ms per 100 KB (`PER_100KB`), at every size;
- doubling the input costs at most 2.5x (`DOUBLING`); for 200 KB -> 2 MB, at most 10 x 1.25.
  Times under `FLOOR` (2 ms) are raised to it before a ratio is taken: a 0.1 ms parse that
  becomes 0.3 ms is timer noise, not growth.

The fixed inputs (a YAML alias bomb, circular aliases, a `version` SQLite cannot store, a canvas
nested past the recursion limit) are a few hundred bytes: each must parse in `PER_100KB` too.
This is not part of `bench.run --quick` and writes no results file: it answers pass or fail, on
whatever machine runs it (the load average is printed with the table).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable

from bench.pathological import FIXED, FIXED_PATHS, LARGE, SCALED
from companion.markdown.digest import chunk_note, summary_line
from companion.markdown.parse import parse_note

PER_100KB = 0.100  # seconds
DOUBLING = 2.5
FLOOR = 0.002  # seconds
SIZES = (100_000, 200_000)
MAX_CHARS = 1000  # chunk size for the digest column (the default model's window is about this)


def median_time(fn: Callable[[], object], runs: int) -> float:
    fn()  # warm-up: compiled patterns, caches
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def measure(data: bytes, path: str, runs: int) -> tuple[float, float]:
    """(median parse seconds, median digest seconds) of one file."""
    note = parse_note(data, path)
    parse_s = median_time(lambda: parse_note(data, path), runs)
    digest_s = median_time(lambda: (chunk_note(note, MAX_CHARS), summary_line(note)), runs)
    return parse_s, digest_s


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:9.2f}"


def _budget(size: int) -> float:
    return PER_100KB * max(1.0, size / 100_000)


def check_scaled(name: str, runs: int, failures: list[str]) -> list[str]:
    """Table rows for one scaled input; failed thresholds are appended to `failures`."""
    sizes = list(SIZES) + ([LARGE[name]] if name in LARGE else [])
    results: dict[int, tuple[float, float]] = {}
    rows = []
    for size in sizes:
        data = SCALED[name](size)
        results[size] = measure(data, "n.md", runs if size <= 200_000 else max(1, runs // 2))
        parse_s, digest_s = results[size]
        notes = []
        for what, t in (("parse", parse_s), ("digest", digest_s)):
            if t > _budget(size):
                notes.append(f"{what} over {_budget(size) * 1000:.0f} ms")
        prev = sizes[sizes.index(size) - 1] if size != sizes[0] else None
        ratio_cells = ["", ""]
        if prev is not None:
            limit = DOUBLING if size == 2 * prev else (size / prev) * DOUBLING / 2
            for i, what in enumerate(("parse", "digest")):
                ratio = max(results[size][i], FLOOR) / max(results[prev][i], FLOOR)
                ratio_cells[i] = f"{ratio:5.2f}x"
                if ratio > limit:
                    notes.append(f"{what} grew {ratio:.2f}x for {size / prev:.0f}x the input")
        for note in notes:
            failures.append(f"{name} at {size:,} bytes: {note}")
        rows.append(
            f"{name:24} {len(data):>10,} {_ms(parse_s)} {ratio_cells[0]:>7} "
            f"{_ms(digest_s)} {ratio_cells[1]:>7}  {'; '.join(notes) or 'ok'}"
        )
    return rows


def check_fixed(name: str, runs: int, failures: list[str]) -> str:
    data = FIXED[name]()
    path = FIXED_PATHS.get(name, "n.md")
    parse_s, digest_s = measure(data, path, runs)
    note = parse_note(data, path)
    codes = ",".join(p.code for p in note.problems) or "-"
    verdict = "ok"
    if parse_s > PER_100KB or digest_s > PER_100KB:
        verdict = f"over {PER_100KB * 1000:.0f} ms"
        failures.append(f"{name}: {verdict}")
    return (
        f"{name:24} {len(data):>10,} {_ms(parse_s)} {'':>7} {_ms(digest_s)} {'':>7}  "
        f"{verdict} (problems: {codes})"
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="parse_note on hostile inputs (see module docstring)")
    ap.add_argument("--runs", type=int, default=5, help="timed runs per cell (median kept)")
    ap.add_argument("--only", help="comma-separated input names")
    args = ap.parse_args(argv)
    wanted = set(args.only.split(",")) if args.only else None
    unknown = (wanted or set()) - set(SCALED) - set(FIXED)
    if unknown:
        ap.error(f"unknown input(s): {', '.join(sorted(unknown))}")
    load = "/".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"parse_note on hostile inputs; median of {args.runs} runs; load {load}")
    print(
        f"{'input':24} {'bytes':>10} {'parse ms':>9} {'x2':>7} {'digest ms':>9} {'x2':>7}  verdict"
    )
    failures: list[str] = []
    for name in SCALED:
        if wanted is None or name in wanted:
            for row in check_scaled(name, args.runs, failures):
                print(row, flush=True)
    for name in FIXED:
        if wanted is None or name in wanted:
            print(check_fixed(name, args.runs, failures), flush=True)
    if failures:
        print(f"\n{len(failures)} threshold(s) failed:", file=sys.stderr)
        for failure in failures:
            print(f"  {failure}", file=sys.stderr)
        return 1
    print(
        f"\nall within {PER_100KB * 1000:.0f} ms per 100 KB and {DOUBLING}x per doubling",
        flush=True,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
