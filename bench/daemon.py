"""The daemon on its real path: `companion watch` as a subprocess over a 10k-note synthetic vault.

    python -m bench.daemon [--notes 10000] [--edits 30] [--runs 30] [--idle 30] [--no-doc]

(`make bench` runs it too, through bench/run.py.) Steps:

1. A copy of the cached synthetic vault (`bench.common.vault_for`) is text-indexed with
   `Companion(...).index(embed=False)` on a fresh state folder, and its vector table is filled
   through the store's own `add_embeddings` with deterministic random unit vectors
   (`bench.common.fill_vectors`, no real-model sample: embedding 77k chunks on 2 CPUs takes over an
   hour). The daemon therefore starts with nothing pending.
2. `.venv/bin/companion watch VAULT --state-dir STATE` is started as a real subprocess; we time
   until `client.request(state, "ping")` answers, and until a `status` request (which runs on the
   writer thread, so only after the start-up reconcile) answers, and until its queues are empty.
3. Freshness: N times, a unique token is appended to a random note (a plain file append), then
   `client.request(state, "search", query=token, mode="bm25", limit=1)` is polled every 10 ms
   until that note is the top hit; the figure is write -> visible. Between edits we wait 0.5-1.5 s
   (a person saving now and then); the daemon re-embeds each edit with the real model once it has
   settled, concurrently with later edits, as it does for a user.
4. CLI end to end: `companion search QUERY --vault V --state-dir S --json` as a separate process
   per query (wall time of the process, as a user runs it), hybrid and bm25, queries from
   `bench.synth.queries`; the same queries sent with `client.request` from this process (the
   daemon's share); the bare interpreter start (`python -c pass`) as the floor; and one
   `python -X importtime` run of the same command.
5. Idle: once the daemon reports empty queues, 10 s of quiet, then its CPU time over 30 s from
   /proc/PID/stat (utime + stime, all threads; per thread from /proc/PID/task/*/stat), VmRSS and
   VmHWM from /proc/PID/status, and the files of the vault whose (size, mtime) changed during
   the quiet + idle window.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench import common, synth
from bench.common import CACHE, REPO, companion_bin, log, pct

BEGIN = "<!-- bench:daemon:begin (written by `python -m bench.daemon` or `bench.run`) -->"
END = "<!-- bench:daemon:end -->"
CLK_TCK = os.sysconf("SC_CLK_TCK")


# -- /proc -----------------------------------------------------------------------------------------


def cpu_ticks(pid: int) -> int:
    """utime + stime of a process (all its threads), in clock ticks."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # fields 14 and 15 of stat(5)


def thread_ticks(pid: int) -> dict[str, int]:
    """utime + stime per thread, keyed 'name/tid'."""
    out: dict[str, int] = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            stat = (task / "stat").read_text()
        except OSError:
            continue
        name = stat.split("(", 1)[1].rsplit(")", 1)[0]
        fields = stat.rsplit(")", 1)[1].split()
        label = "main (the writer)" if task.name == str(pid) else f"{name}/{task.name}"
        out[label] = int(fields[11]) + int(fields[12])
    return out


def proc_status(pid: int) -> dict[str, float]:
    out: dict[str, float] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM", "RssAnon", "RssFile"):
            out[key + "_mb"] = int(value.split()[0]) / 1024
        elif key == "Threads":
            out["threads"] = int(value)
    return out


def snapshot(root: Path) -> dict[str, tuple[int, int]]:
    """path -> (size, mtime_ns) for every file under root (dot-folders included)."""
    out: dict[str, tuple[int, int]] = {}
    for dirpath, _, files in os.walk(root):
        for name in files:
            p = os.path.join(dirpath, name)
            try:
                st = os.stat(p)
            except OSError:
                continue
            out[os.path.relpath(p, root)] = (st.st_size, st.st_mtime_ns)
    return out


def diff(a: dict[str, tuple[int, int]], b: dict[str, tuple[int, int]]) -> list[str]:
    return sorted(p for p in a.keys() | b.keys() if a.get(p) != b.get(p))


def request(state: Path, op: str, **params: Any) -> Any:
    from companion.daemon import client

    return client.request(state, op, timeout=60.0, **params)


def queues_empty(status: dict[str, Any]) -> bool:
    return not any(status["queue"].values())


def wait_quiet(state: Path, timeout: float) -> tuple[float, dict[str, Any]]:
    """Poll `status` until every queue is empty; (seconds waited, last status)."""
    t0 = time.perf_counter()
    status = request(state, "status")
    while not queues_empty(status) and time.perf_counter() - t0 < timeout:
        time.sleep(0.5)
        status = request(state, "status")
    return time.perf_counter() - t0, status


def start_daemon(
    vault: Path, state: Path, logfile: Path
) -> tuple[subprocess.Popen[bytes], dict[str, Any]]:
    cmd = [str(companion_bin()), "watch", str(vault), "--state-dir", str(state)]
    t0 = time.perf_counter()
    out = logfile.open("wb")
    env = dict(os.environ)
    env.pop("TOKENIZERS_PARALLELISM", None)  # bench.run sets it; a user's shell does not
    proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, cwd=REPO, env=env)
    out.close()
    times: dict[str, Any] = {"cmd": " ".join(cmd)}
    deadline = t0 + 600
    while time.perf_counter() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"daemon exited with {proc.returncode}: {logfile.read_text()[-2000:]}")
        try:
            if request(state, "ping") is not None:
                break
        except Exception:
            pass
        time.sleep(0.05)
    times["ping_s"] = time.perf_counter() - t0
    status = request(state, "status")  # served by the writer: after the start-up reconcile
    times["ready_s"] = time.perf_counter() - t0
    _, status = wait_quiet(state, 300)
    times["quiet_s"] = time.perf_counter() - t0
    times["status_at_ready"] = status
    return proc, times


def stop_daemon(proc: subprocess.Popen[bytes]) -> dict[str, Any]:
    t0 = time.perf_counter()
    proc.send_signal(signal.SIGTERM)
    try:
        code = proc.wait(60)
    except subprocess.TimeoutExpired:
        proc.kill()
        code = proc.wait()
    return {"stop_s": time.perf_counter() - t0, "exit_code": code}


# -- measurements ----------------------------------------------------------------------------------


def freshness(vault: Path, state: Path, edits: int, seed: int) -> dict[str, Any]:
    rnd = random.Random(seed)
    notes = sorted(
        p.relative_to(vault).as_posix()
        for p in vault.rglob("*.md")
        if not p.relative_to(vault).as_posix().startswith(("index", "log.md"))
    )
    times, polls, misses, managed = [], [], 0, 0
    for i in range(edits):
        rel = notes[rnd.randrange(len(notes))]
        managed += rel.startswith("wiki/")
        token = f"zqfresh{i:03d}x{rnd.getrandbits(32):08x}"
        path = vault / rel
        t0 = time.perf_counter()
        with path.open("a", encoding="utf-8") as fh:
            fh.write(f"\n\nFreshness probe {token}.\n")
        n = 0
        while True:
            n += 1
            hits = request(state, "search", query=token, mode="bm25", limit=1)
            if hits and hits[0]["path"] == rel:
                times.append(time.perf_counter() - t0)
                break
            if time.perf_counter() - t0 > 30:
                misses += 1
                break
            time.sleep(0.01)
        polls.append(n)
        time.sleep(rnd.uniform(0.5, 1.5))
    return {
        "edits": edits,
        "visible": len(times),
        "missed_after_30s": misses,
        "managed_pages_edited": managed,
        "p50_s": pct(times, 50),
        "p95_s": pct(times, 95),
        "max_s": max(times),
        "min_s": min(times),
        "times_s": [round(t, 4) for t in times],
        "polls_median": statistics.median(polls),
    }


def _wall(cmd: list[str]) -> tuple[float, subprocess.CompletedProcess[str]]:
    t0 = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO)
    return time.perf_counter() - t0, done


def cli_search(vault: Path, state: Path, qs: list[str], runs: int) -> dict[str, Any]:
    exe = str(companion_bin())
    out: dict[str, Any] = {}
    floor = [_wall([sys.executable, "-c", "pass"])[0] for _ in range(10)]
    out["python_c_pass_ms"] = statistics.median(floor) * 1e3
    for mode in ("hybrid", "bm25"):
        base = ["--vault", str(vault), "--state-dir", str(state), "--json", "--mode", mode]
        _wall([exe, "search", qs[0], *base])  # warm-up (page cache)
        times, empty = [], 0
        for q in qs[:runs]:
            seconds, done = _wall([exe, "search", q, *base])
            if done.returncode != 0:
                raise SystemExit(f"companion search failed ({done.returncode}): {done.stderr}")
            if "in process" in done.stderr or not done.stdout.strip():
                raise SystemExit(f"companion search did not use the daemon: {done.stderr}")
            empty += not json.loads(done.stdout)
            times.append(seconds)
        inproc = []
        for q in qs[:runs]:  # the daemon's share: the same request from this (warm) process
            t0 = time.perf_counter()
            request(state, "search", query=q, mode=mode, limit=10)
            inproc.append(time.perf_counter() - t0)
        out[mode] = {
            "runs": len(times),
            "p50_ms": pct(times, 50) * 1e3,
            "p95_ms": pct(times, 95) * 1e3,
            "max_ms": max(times) * 1e3,
            "empty_results": empty,
            "request_p50_ms": pct(inproc, 50) * 1e3,
            "request_p95_ms": pct(inproc, 95) * 1e3,
        }
    out["importtime"] = importtime(
        [exe, "search", qs[0], "--vault", str(vault), "--state-dir", str(state), "--json"]
    )
    return out


LINE = re.compile(r"import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)")
HEAVY = ("numpy", "torch", "sentence_transformers", "transformers", "apsw", "networkx", "yaml")


def importtime(cmd: list[str]) -> dict[str, Any]:
    """`python -X importtime` of the console script: top-level imports by cumulative time."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", *cmd], capture_output=True, text=True, cwd=REPO
    )
    rows = []
    for line in done.stderr.splitlines():
        m = LINE.match(line)
        if m:
            rows.append((int(m[1]), int(m[2]), len(m[3]) // 2, m[4]))
    top = sorted((r for r in rows if r[2] == 0), key=lambda r: -r[1])
    by_self = sorted(rows, key=lambda r: -r[0])
    modules = {r[3] for r in rows}
    return {
        "modules": len(rows),
        "total_ms": sum(r[1] for r in rows if r[2] == 0) / 1e3,
        "top_cumulative": [(name, cum / 1e3) for _, cum, _, name in top[:12]],
        "top_self": [(name, s / 1e3) for s, _, _, name in by_self[:8]],
        "heavy_imported": sorted(h for h in HEAVY if h in modules),
        "companion_modules": sorted(m for m in modules if m.startswith("companion")),
    }


def idle(
    proc: subprocess.Popen[bytes], vault: Path, state: Path, quiet: float, window: float
) -> dict[str, Any]:
    waited, status_before = wait_quiet(state, 300)
    before = snapshot(vault)
    state_before = snapshot(state)
    time.sleep(quiet)
    pid = proc.pid
    c0, th0, w0 = cpu_ticks(pid), thread_ticks(pid), time.perf_counter()
    time.sleep(window)
    c1, th1, w1 = cpu_ticks(pid), thread_ticks(pid), time.perf_counter()
    mem = proc_status(pid)
    after = snapshot(vault)
    state_after = snapshot(state)
    status_after = request(state, "status")
    wall = w1 - w0
    threads = {k: (th1[k] - th0.get(k, 0)) / CLK_TCK for k in th1}
    busy = sorted(((k, v) for k, v in threads.items() if v > 0), key=lambda kv: -kv[1])
    return {
        "waited_for_queues_s": waited,
        "quiet_s": quiet,
        "window_s": wall,
        "cpu_s": (c1 - c0) / CLK_TCK,
        "cpu_pct": 100.0 * (c1 - c0) / CLK_TCK / wall,
        "threads_busy": [(k, round(v, 2)) for k, v in busy[:8]],
        **mem,
        "vault_files_changed": diff(before, after),
        "state_files_changed": diff(state_before, state_after),
        "counters_before": status_before["counters"],
        "counters_after": status_after["counters"],
    }


def tick_query_cost(vault: Path, state: Path, repeat: int = 20) -> dict[str, Any]:
    """What the writer's idle tick runs every 100 ms (`Daemon._dispatch_embedding` ->
    `Store.pending_chunk_pages(fp, limit=embed_batch * 8)`), timed on a read connection."""
    from companion.config import load_settings
    from companion.daemon.core import DaemonOptions
    from companion.embed import model_info
    from companion.store.db import Store

    settings = load_settings(vault, state_dir=state)
    fp = model_info(settings.model).fingerprint
    store = Store.open(settings.db_path)
    try:
        limit = DaemonOptions().embed_batch * 8
        times = []
        for _ in range(repeat):
            t0 = time.perf_counter()
            rows = store.vectors.pending_pages(fp, limit=limit)
            times.append(time.perf_counter() - t0)
    finally:
        store.close()
    return {"pending": len(rows), "p50_ms": pct(times, 50) * 1e3, "min_ms": min(times) * 1e3}


def bench_daemon(
    notes: int = 10_000,
    seed: int = 1,
    edits: int = 30,
    runs: int = 30,
    idle_window: float = 30.0,
    keep: bool = False,
) -> dict[str, Any]:
    from companion.daemon.core import DaemonOptions

    data: dict[str, Any] = {
        "notes": notes,
        "seed": seed,
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "git": common.git_state(),
        "load_start": list(os.getloadavg()),
    }
    opts = DaemonOptions()
    data["options"] = {
        "debounce_s": opts.debounce,
        "max_delay_s": opts.max_delay,
        "settle_s": opts.settle,
        "catalog_delay_s": opts.catalog_delay,
        "embed_batch": opts.embed_batch,
    }
    src, _ = common.vault_for(notes, seed)
    vault = CACHE / f"daemon-vault-{notes}-s{seed}"
    shutil.rmtree(vault, ignore_errors=True)
    log(f"daemon: copying the {notes:,}-note vault -> {vault}")
    shutil.copytree(src, vault, symlinks=True)
    state = common.fresh_state(f"daemon-{notes}")
    app = common.open_app(vault, state)
    try:
        t0 = time.perf_counter()
        result = app.index(embed=False)
        data["index_s"] = time.perf_counter() - t0
        data["files"] = len(result.sync.added)
        data["vectors"] = common.fill_vectors(app, seed, real=0)
        data["chunks"] = app.store.pages.counts().get("chunks")
    finally:
        app.close()
    log(f"daemon: indexed in {data['index_s']:.1f}s, {data['vectors']['vectors']:,} random vectors")
    qs = [q for q, _ in synth.queries(vault, max(runs, 1) + 1, seed)]
    logfile = CACHE / f"daemon-{notes}.log"
    proc, start = start_daemon(vault, state, logfile)
    data["start"] = start
    data["pid"] = proc.pid
    data["mem_after_start"] = proc_status(proc.pid)
    log(
        f"daemon: ping after {start['ping_s']:.1f}s, ready (reconcile done) after "
        f"{start['ready_s']:.1f}s, queues empty after {start['quiet_s']:.1f}s"
    )
    try:
        data["freshness"] = fr = freshness(vault, state, edits, seed)
        log(f"daemon: freshness p50 {fr['p50_s'] * 1e3:.0f} ms, p95 {fr['p95_s'] * 1e3:.0f} ms")
        data["cli"] = cli = cli_search(vault, state, qs[1:], runs)
        log(
            f"daemon: CLI search p50 hybrid {cli['hybrid']['p50_ms']:.0f} ms, bm25 "
            f"{cli['bm25']['p50_ms']:.0f} ms"
        )
        data["idle"] = idl = idle(proc, vault, state, 10.0, idle_window)
        log(
            f"daemon: idle CPU {idl['cpu_pct']:.1f}%, RSS {idl['VmRSS_mb']:.0f} MB, "
            f"files written {len(idl['vault_files_changed'])}"
        )
    finally:
        data["stop"] = stop_daemon(proc)
    data["tick_query"] = tick_query_cost(vault, state)
    data["daemon_log"] = logfile.read_text(errors="replace").splitlines()[-40:]
    data["load_end"] = list(os.getloadavg())
    if not keep:
        shutil.rmtree(vault, ignore_errors=True)
    return data


# -- report ----------------------------------------------------------------------------------------


def render(d: dict[str, Any]) -> str:
    o, fr, cli, idl, st = d["options"], d["freshness"], d["cli"], d["idle"], d["start"]
    it = cli["importtime"]
    load = f"{common.fmt_load(d['load_start'])} at start, {common.fmt_load(d['load_end'])} at end"
    top = ", ".join(f"`{n}` {ms:.0f}" for n, ms in it["top_cumulative"][:8])
    threads = ", ".join(f"{n} {s:.2f}s" for n, s in idl["threads_busy"][:5]) or "none"
    changed = idl["vault_files_changed"]
    lines = [
        f"Daemon ({d.get('date', '')}, git {d.get('git', '?')}): a {d['notes'] // 1000}k-note vault ({d['files']:,} files, {d['chunks']:,} "
        f"chunks; `companion watch` as a subprocess; vectors: {d['vectors']['vectors']:,} "
        f"deterministic random unit vectors via `add_embeddings`, none real). Debounce "
        f"{o['debounce_s']} s, max delay {o['max_delay_s']} s, settle {o['settle_s']} s, catalog "
        f"delay {o['catalog_delay_s']} s. Load average {load}.",
        "",
        "| metric | value | target |",
        "|---|---:|---|",
        f"| start: `ping` answers / start-up reconcile done / queues empty, s | "
        f"{st['ping_s']:.1f} / {st['ready_s']:.1f} / {st['quiet_s']:.1f} |  |",
        f"| save -> visible in daemon bm25 search, p50 / p95 (max), ms ({fr['visible']}/"
        f"{fr['edits']} edits, {fr['managed_pages_edited']} on managed pages) | "
        f"{fr['p50_s'] * 1e3:.0f} / {fr['p95_s'] * 1e3:.0f} "
        f"({fr['max_s'] * 1e3:.0f}) | p95 <= 1,000 |",
    ]
    for mode in ("hybrid", "bm25"):
        c = cli[mode]
        target = "p50 <= 100" if mode == "hybrid" else ""
        lines.append(
            f"| `companion search --json --mode {mode}`, own process, p50 / p95, ms "
            f"({c['runs']} runs) | {c['p50_ms']:.0f} / {c['p95_ms']:.0f} | {target} |"
        )
    for mode in ("hybrid", "bm25"):
        c = cli[mode]
        lines.append(
            f"| of which the daemon: same {mode} request from a warm process, p50 / p95, ms | "
            f"{c['request_p50_ms']:.0f} / {c['request_p95_ms']:.0f} |  |"
        )
    lines += [
        f"| `python -c pass` (interpreter start, the floor), ms | {cli['python_c_pass_ms']:.0f} "
        "|  |",
        f"| CLI imports (`-X importtime`, top level), ms / modules | {it['total_ms']:.0f} / "
        f"{it['modules']} |  |",
        f"| idle: CPU over {idl['window_s']:.0f} s after {idl['quiet_s']:.0f} s quiet | "
        f"{idl['cpu_s']:.2f} s = {idl['cpu_pct']:.1f}% of a core |  |",
        f"| idle: VmRSS / VmHWM, MB | {idl['VmRSS_mb']:.0f} / {idl['VmHWM_mb']:.0f} |  |",
        f"| idle: vault files written during quiet + idle window | {len(changed)} | 0 |",
        "",
        f"CLI import time, top level by cumulative ms: {top}. Heavy packages imported: "
        f"{', '.join(it['heavy_imported']) or 'none'}. Idle CPU by thread: {threads}. "
        f"`Store.pending_chunk_pages(fp, limit={d['options']['embed_batch'] * 8})` (what "
        f"`Daemon._dispatch_embedding` asks the writer's store), timed after the run on a read "
        f"connection with nothing pending: {d['tick_query']['p50_ms']:.0f} ms.",
    ]
    if changed:
        lines.append(f"Files written while idle: {', '.join(changed[:10])}.")
    return "\n".join(lines) + "\n"


def section(d: dict[str, Any]) -> str:
    return f"{BEGIN}\n{render(d)}{END}\n"


def write_doc(d: dict[str, Any]) -> None:
    """Replace the daemon block inside the generated section (insert it before its end marker
    when absent), leaving the rest of the section as the last `bench.run` wrote it."""
    text = common.DOC.read_text(encoding="utf-8")
    block = section(d).rstrip("\n")
    if BEGIN in text and END in text:
        head, rest = text.split(BEGIN, 1)
        _, tail = rest.split(END, 1)
        text = head + block + tail
    elif common.END in text:
        head, tail = text.split(common.END, 1)
        text = head.rstrip("\n") + "\n\n" + block + "\n" + common.END + tail
    else:
        text = text.rstrip("\n") + f"\n\n## Results\n\n{common.BEGIN}\n{block}\n{common.END}\n"
    common.DOC.write_text(text, encoding="utf-8")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--notes", type=int, default=10_000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--edits", type=int, default=30, help="freshness probes (>= 30)")
    ap.add_argument("--runs", type=int, default=30, help="CLI runs per mode (>= 30)")
    ap.add_argument("--idle", type=float, default=30.0, help="idle window, seconds")
    ap.add_argument("--keep", action="store_true", help="keep the vault copy")
    ap.add_argument("--no-doc", action="store_true", help="do not rewrite docs/benchmarks.md")
    args = ap.parse_args(argv)
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    CACHE.mkdir(parents=True, exist_ok=True)
    data = bench_daemon(args.notes, args.seed, args.edits, args.runs, args.idle, args.keep)
    data["machine"] = common.machine()
    (CACHE / "results-daemon.json").write_text(json.dumps(data, indent=1, default=str))
    print(render(data))
    if not args.no_doc:
        write_doc(data)
        log(f"wrote {common.DOC.relative_to(REPO)}")


if __name__ == "__main__":
    main()
