"""`companion lint` timed on real vaults and on a 10k synthetic one, with a sample to hand-check.

    python -m bench.lint [--data ../shared/data] [--doc] [--sample 20]

Each vault of `<data>/vaults` is copied to bench/.cache (the shared copy is never written),
indexed with the real sync path (`Companion.index(embed=False)`: lint reads no vectors), and
linted five times with the product's own `Companion.lint`; the median is reported, with the
findings per kind. The synthetic vault is `bench.synth`'s 10,000 notes (cached). For each real
vault it prints a sample of findings — spread over the kinds, the same sample every run — for a
person to judge, and writes the figures (not the judgements) into docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import time
from pathlib import Path
from typing import Any

from bench.common import CACHE, REPO, fmt_load, log, machine, open_app, vault_for, write_section

BEGIN = "<!-- bench:lint:begin (written by `python -m bench.lint --doc`; edits inside are lost) -->"
END = "<!-- bench:lint:end -->"
RUNS = 5


def _lint(vault: Path, name: str) -> dict[str, Any]:
    state = CACHE / "state" / f"lint-{name}"
    shutil.rmtree(state, ignore_errors=True)
    app = open_app(vault, state, backend="fake")
    try:
        started = time.perf_counter()
        app.index(embed=False)
        index_s = time.perf_counter() - started
        times = []
        report = None
        for _ in range(RUNS):
            report = app.lint()
            times.append(report.seconds)
        assert report is not None
        notes = app.status().counts.get("notes", 0)
    finally:
        app.close()
    return {
        "name": name,
        "notes": notes,
        "index_s": index_s,
        "median_s": statistics.median(times),
        "times": times,
        "counts": report.summary()["counts"],
        "findings": report.findings,
    }


def _sample(findings: list[Any], size: int) -> list[Any]:
    """Round-robin over the kinds, in file order within each: every kind is seen."""
    by_kind: dict[str, list[Any]] = {}
    for f in findings:
        by_kind.setdefault(f.kind, []).append(f)
    picked: list[Any] = []
    while len(picked) < size and any(by_kind.values()):
        for kind in list(by_kind):
            if by_kind[kind] and len(picked) < size:
                items = by_kind[kind]
                step = max(1, len(items) // 5)
                picked.append(items.pop(min(len(items) - 1, step - 1)))
    return picked


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data")
    parser.add_argument(
        "--doc", action="store_true", help="write the figures into docs/benchmarks.md"
    )
    parser.add_argument("--sample", type=int, default=20)
    parser.add_argument("--synthetic", type=int, default=10_000)
    args = parser.parse_args(argv)
    rows = []
    vaults = (
        sorted(p for p in (args.data / "vaults").iterdir() if p.is_dir())
        if (args.data / "vaults").is_dir()
        else []
    )
    for source in vaults:
        copy = CACHE / "lint-vaults" / source.name
        shutil.rmtree(copy, ignore_errors=True)
        shutil.copytree(source, copy, symlinks=True)
        log(f"lint {source.name}")
        row = _lint(copy, source.name)
        rows.append(row)
        print(
            f"\n== {source.name}: {row['notes']} notes, lint median {row['median_s'] * 1000:.0f} ms"
        )
        print("   " + ", ".join(f"{k} {n}" for k, n in row["counts"].items() if n))
        for i, f in enumerate(_sample(row["findings"], args.sample), 1):
            where = f"{f.path}:{f.line}" if f.line else f.path
            print(f"   {i:2}. {where}: {f.kind}: {f.message}")
    if args.synthetic:
        vault, _ = vault_for(args.synthetic, 1)
        log(f"lint synthetic {args.synthetic:,}")
        row = _lint(vault, f"synthetic-{args.synthetic}")
        rows.append(row)
        print(
            f"\n== synthetic {args.synthetic:,}: {row['notes']} notes, lint median "
            f"{row['median_s'] * 1000:.0f} ms"
        )
    if args.doc:
        m = machine()
        import os

        lines = [
            "## Lint (`python -m bench.lint`)",
            "",
            f"Measured {m['date']} on {m['cpu']} ({m['cores']} cores, {m['ram_gb']} GB), load average "
            f"{fmt_load(list(os.getloadavg()))}, git {m['git']}. Each vault copied, indexed "
            "(`index(embed=False)`), then `Companion.lint()` five times; median.",
            "",
            "| vault | notes | lint median | runs (ms) | findings per kind |",
            "|---|---|---|---|---|",
        ]
        for r in rows:
            kinds = ", ".join(f"{k} {n}" for k, n in r["counts"].items() if n) or "none"
            runs = ", ".join(f"{t * 1000:.0f}" for t in r["times"])
            lines.append(
                f"| {r['name']} | {r['notes']:,} | {r['median_s'] * 1000:.0f} ms | {runs} | {kinds} |"
            )
        write_section(BEGIN, END, "\n".join(lines) + "\n\n")


if __name__ == "__main__":
    main()
