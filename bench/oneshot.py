"""One-shot CLI cost: `companion search --mode bm25 --json` and `companion status --json` in a
fresh process each, no daemon, on a copy of a shared vault — what an agent pays per call when no
daemon runs.

    python -m bench.oneshot [--vault ../shared/data/vaults/ttrpg-share] [--passes 3] [--hybrid 5]

The vault is copied into bench/.cache first: indexing writes index.md and log.md into a vault,
and the shared vaults must stay as they are. The copy is indexed once (text only), then each of
the queries in bench/oneshot_queries.txt runs as its own `.venv/bin/companion` process, after one
warm-up run, for `--passes` passes; the figure is the median of the passes' p50s. `status --json`
is timed the same way (20 runs a pass). `--hybrid N` also times N one-shot hybrid searches, which
load the embedding model in the process (after embedding the copy once), to set beside the
daemon's figure. It ends with the `-X importtime` top 10 of one BM25 search. Nothing here
asserts a time: the results go to docs/benchmarks.md by hand, with the load average.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

from bench.common import CACHE, REPO, companion_bin, fmt_load, git_state, log

QUERIES = REPO / "bench" / "oneshot_queries.txt"
DEFAULT_VAULT = REPO.parent / "shared" / "data" / "vaults" / "ttrpg-share"


def queries() -> list[str]:
    lines = QUERIES.read_text(encoding="utf-8").splitlines()
    return [q.strip() for q in lines if q.strip() and not q.startswith("#")]


def timed(cmd: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({done.returncode}): {done.stderr[-500:]}")
    return elapsed


def passes(cmds: list[list[str]], env: dict[str, str], n: int) -> dict[str, object]:
    timed(cmds[0], env)  # warm-up: the page cache, the .pyc files
    p50s = []
    for _ in range(n):
        times = [timed(cmd, env) for cmd in cmds]
        p50s.append(statistics.median(times) * 1000)
    return {
        "p50_ms": round(statistics.median(p50s), 1),
        "pass_p50s_ms": [round(p, 1) for p in p50s],
    }


def importtime_top(cmd: list[str], env: dict[str, str], top: int = 10) -> list[str]:
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "companion", *cmd[1:]],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    rows = []
    for line in done.stderr.splitlines():  # "import time: self [us] | cumulative | name"
        parts = line.split("|")
        if line.startswith("import time:") and len(parts) == 3 and parts[1].strip().isdigit():
            rows.append((int(parts[1]), parts[2].strip()))
    rows.sort(reverse=True)
    return [f"{us / 1000:7.1f} ms  {name}" for us, name in rows[:top]]


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m bench.oneshot", description=__doc__)
    ap.add_argument("--vault", type=Path, default=DEFAULT_VAULT)
    ap.add_argument("--passes", type=int, default=3)
    ap.add_argument("--hybrid", type=int, default=0, help="also time N one-shot hybrid searches")
    args = ap.parse_args(argv)
    if not args.vault.is_dir():
        raise SystemExit(f"no vault at {args.vault}")
    root = CACHE / "oneshot"
    copy, state = root / args.vault.name, root / f"{args.vault.name}-state"
    shutil.rmtree(root, ignore_errors=True)
    shutil.copytree(args.vault, copy, symlinks=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("COMPANION_")}
    env["COMPANION_STATE_DIR"] = str(state)
    bin_ = str(companion_bin())
    log(f"indexing a copy of {args.vault} (text only)")
    subprocess.run(
        [bin_, "index", str(copy), "--no-embed"], env=env, check=True, capture_output=True
    )
    search = [
        [bin_, "search", q, "--mode", "bm25", "--json", "--vault", str(copy)] for q in queries()
    ]
    status = [[bin_, "status", "--json", "--vault", str(copy)]] * 20
    log(f"git {git_state()}, load {fmt_load(list(os.getloadavg()))}")
    bm25 = passes(search, env, args.passes)
    log(
        f"one-shot search --mode bm25 --json: p50 {bm25['p50_ms']} ms (passes {bm25['pass_p50s_ms']})"
    )
    st = passes(status, env, args.passes)
    log(f"one-shot status --json: p50 {st['p50_ms']} ms (passes {st['pass_p50s_ms']})")
    if args.hybrid:
        log("embedding the copy once for hybrid searches")
        subprocess.run([bin_, "index", str(copy)], env=env, check=True, capture_output=True)
        hybrid = [
            [bin_, "search", q, "--json", "--vault", str(copy)] for q in queries()[: args.hybrid]
        ]
        hy = passes(hybrid, env, 1)
        log(f"one-shot search (hybrid) --json: p50 {hy['p50_ms']} ms over {args.hybrid} queries")
    log(f"load after: {fmt_load(list(os.getloadavg()))}")
    print("-X importtime, one BM25 search, top 10 by cumulative time:")
    for row in importtime_top(search[0], env):
        print("  " + row)


if __name__ == "__main__":
    main()
