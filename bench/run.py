"""Benchmarks through companion's own code path (`companion.app.Companion`), never a reimplementation.

    python -m bench.run --quick      # 1k and 10k notes (under 10 minutes on 2 cores)
    python -m bench.run --full       # 1k, 10k and 100k notes

For each vault size (synthetic vaults from `bench.synth`, cached under bench/.cache/):

- cold text index: `Companion(settings).index(embed=False)` on a fresh state folder, in a child
  process so its peak RSS can be read (`os.wait4` rusage of that child); pages/s = files indexed /
  wall time of `index()` (sync + index.md + log.md + the re-sync of what was written);
- re-index with nothing changed: open a `Companion` and run `index(embed=False)` again (median of 3),
  and check that no file was written;
- index.md: `render_index` alone, and `write_catalog` with `Companion.graph()` (queries + graph +
  render + compare, no write since nothing changed);
- search latency in process: `Companion.search(q, mode=...)` for bm25, vector and hybrid, >= 100
  queries drawn from the vault's own headings and phrases (`synth.queries`), after one warm-up query.
  Vectors: embedding every chunk of a 10k vault on 2 CPUs takes far too long, so the vector table is
  filled through the store's own `vectors.add` with the real model's vectors for a sample of
  chunks and deterministic random unit vectors for the rest (KNN cost depends on the row count and
  dimension, not on the values);
- incremental: one page changed -> `index(embed=False)`; changed again -> `index(embed=True)` with
  the model warm (re-embeds only that page's new chunks).

Then the daemon (bench/daemon.py, also runnable alone as `python -m bench.daemon`): `companion
watch` as a subprocess on a 10k vault: save -> visible, `companion search` end to end as separate
processes, idle CPU/RSS and writes.

Once per run, the embedding phase: a small synthetic vault (a few hundred chunks) is text-indexed on
a fresh state, then `Companion.embed_pending()` (the product pipeline) and a raw
`SentenceTransformer.encode` on exactly the same chunk texts with the same batch size are timed,
alternating, best of 3; the figure is the ratio of their throughputs.

Growth: for each cost, the exponent log(t2/t1)/log(n2/n1) between consecutive sizes.
Results: a table on stdout, JSON in bench/.cache/, and the marked section of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import io
import itertools
import json
import math
import os
import pstats
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench import synth
from bench.common import (
    BEGIN,
    CACHE,
    DOC,
    END,
    REPO,
    clean_generated,
    fill_vectors,
    fmt_load,
    fresh_state,
    log,
    machine,
    open_app,
    pct,
    vault_for,
)

# -- vaults ----------------------------------------------------------------------------------------


# -- cold index (child process) --------------------------------------------------------------------


def child_cold(vault: str, state: str, profile: str | None) -> None:
    """Runs in a child: one cold `index(embed=False)`; prints a JSON line."""
    t0 = time.perf_counter()
    app = open_app(Path(vault), Path(state))
    prof = cProfile.Profile() if profile else None
    if prof:
        prof.enable()
    t1 = time.perf_counter()
    result = app.index(embed=False)
    t2 = time.perf_counter()
    if prof:
        prof.disable()
        Path(profile).write_text(_top(prof, 30))  # type: ignore[arg-type]
    counts = app.store.pages.counts()
    app.close()
    print(
        json.dumps(
            {
                "vm_hwm_mb": _vm_hwm_mb(),
                "open_s": t1 - t0,
                "index_s": t2 - t1,
                "sync_s": result.sync.seconds,
                "files": len(result.sync.added),
                "written": result.written,
                **counts,
            }
        )
    )


def _vm_hwm_mb() -> float:
    """This process's peak resident set (VmHWM) since exec, in MB; 0 when /proc is absent."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def _tree_rss_mb(root: int) -> float:
    """Resident memory of a process and all its descendants (the indexer may use worker
    processes), in MB, from /proc; 0 where /proc is absent."""
    parents: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        parents.setdefault(ppid, []).append(int(entry.name))
    total, todo = 0, [root]
    page = os.sysconf("SC_PAGE_SIZE")
    while todo:
        pid = todo.pop()
        todo.extend(parents.get(pid, []))
        with contextlib.suppress(OSError, ValueError, IndexError):
            total += int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * page
    return total / 2**20


def cold_index(vault: Path, n: int, profile: Path | None = None) -> dict[str, Any]:
    clean_generated(vault)
    state = fresh_state(f"cold-{n}")
    cmd = [sys.executable, "-m", "bench.run", "_cold", str(vault), str(state)]
    if profile:
        cmd += ["--profile-out", str(profile)]
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    tree_peak = [0.0]
    done = threading.Event()

    def sample() -> None:  # peak of the summed RSS of the child and its workers, every 50 ms
        while not done.wait(0.05):
            tree_peak[0] = max(tree_peak[0], _tree_rss_mb(proc.pid))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out = proc.stdout.read()
    done.set()
    sampler.join()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"cold index child failed ({proc.returncode})")
    data: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    data["child_wall_s"] = time.perf_counter() - started
    # ru_maxrss of the child is unreliable here: Linux folds the parent's peak RSS at fork time
    # into the child's maxrss when it execs (fs/exec.c), and the parent holds torch and the
    # model by then. VmHWM, read by the child itself, is the peak of its own address space.
    data["ru_maxrss_mb"] = usage.ru_maxrss / 1024  # Linux: kilobytes
    # With worker processes, the sum over the process tree (sampled) is the honest peak.
    data["tree_peak_rss_mb"] = tree_peak[0]
    data["peak_rss_mb"] = max(data["vm_hwm_mb"] or data["ru_maxrss_mb"], tree_peak[0])
    data["pages_per_s"] = data["files"] / data["index_s"]
    data["state"] = str(state)
    return data


# -- in-process measurements -----------------------------------------------------------------------


def reindex_unchanged(vault: Path, state: Path, repeat: int = 3) -> dict[str, Any]:
    """The first re-run after a cold index is recorded apart: it should change nothing, but
    reports what it wrote when it does (a product bug); then the median of `repeat` runs."""
    app = open_app(vault, state)
    t0 = time.perf_counter()
    first = app.index(embed=False)
    first_s = time.perf_counter() - t0
    app.close()
    times, opened, written, changed = [], [], [], []
    for _ in range(repeat):
        t0 = time.perf_counter()
        app = open_app(vault, state)
        t1 = time.perf_counter()
        result = app.index(embed=False)
        t2 = time.perf_counter()
        app.close()
        opened.append(t2 - t0)
        times.append(t2 - t1)
        written.append(len(result.written))
        changed.append(result.sync.changed_anything)
    return {
        "first_rerun_s": first_s,
        "first_rerun_written": first.written,
        "first_rerun_relinked": first.sync.relinked,
        "index_s": statistics.median(times),
        "open_and_index_s": statistics.median(opened),
        "files_written": max(written),
        "changed_anything": any(changed),
    }


def catalog_times(app: Any, repeat: int = 3) -> dict[str, Any]:
    """`render_index` alone, and the catalog write as `Companion.index` makes it
    (`Companion.write_generated`: the store's queries, the rendering, and the comparison with
    what is on disk; nothing is written on an unchanged vault)."""
    from companion.render.index_md import render_index

    store, schema = app.store, app.settings.schema
    render, total, graph_s = [], [], []
    notes: dict[str, str] = {}
    for _ in range(repeat):
        t0 = time.perf_counter()
        app.graph()
        t1 = time.perf_counter()
        rows = store.pages.catalog()
        titles = store.pages.titles()
        unresolved = store.links.unresolved()
        orphans = store.links.orphans()
        t2 = time.perf_counter()
        notes = render_index(rows, orphans, unresolved, schema, titles)
        t3 = time.perf_counter()
        report = app.write_generated()
        t4 = time.perf_counter()
        graph_s.append(t1 - t0)
        render.append(t3 - t2)
        total.append(t4 - t3)
        assert not report.written, report.written
    return {
        "render_index_s": statistics.median(render),
        "graph_s": statistics.median(graph_s),
        "write_catalog_s": statistics.median(total),
        "write_catalog_builds_graph": False,
        "catalog_notes": len(notes),
        "index_md_kb": round(len(notes["index.md"].encode()) / 1024, 1),
    }


def _time_queries(app: Any, qs: list[tuple[str, str]], mode: str) -> dict[str, Any]:
    app.search(qs[0][0], mode=mode, limit=10)  # warm-up (loads the model once)
    times, found = [], 0
    for q, src in qs:
        t0 = time.perf_counter()
        hits = app.search(q, mode=mode, limit=10)
        times.append(time.perf_counter() - t0)
        found += any(h.path == src for h in hits)
    return {
        "p50_ms": pct(times, 50) * 1e3,
        "p95_ms": pct(times, 95) * 1e3,
        "mean_ms": statistics.fmean(times) * 1e3,
        "queries": len(qs),
        "source_in_top10": round(found / len(qs), 3),
    }


def search_latency(
    app: Any, qs: list[tuple[str, str]], profile: Path | None = None
) -> dict[str, Any]:
    """`Companion.search` per mode. Vector and hybrid twice: as a one-shot command runs them
    (sqlite-vec scans the vector table) and as a long-lived process does after
    `keep_vectors_in_memory()` (the daemon's path; the first query loads the copy, timed apart)."""
    out: dict[str, Any] = {"bm25": _time_queries(app, qs, "bm25")}
    for mode in ("vector", "hybrid"):
        out[f"{mode}_sqlite_vec"] = _time_queries(app, qs, mode)
    app.keep_vectors_in_memory()
    t0 = time.perf_counter()
    app.search(qs[0][0], mode="vector", limit=10)
    out["memory_load_s"] = time.perf_counter() - t0
    # Above vectors.MAX_IN_MEMORY the copy is not kept and sqlite-vec answers: say so.
    out["in_memory"] = app.memory.refresh(app.store)
    for mode in ("vector", "hybrid"):
        out[mode] = _time_queries(app, qs, mode)
    if profile:  # a separate, untimed pass under the profiler
        prof = cProfile.Profile()
        prof.enable()
        for q, _ in qs[:50]:
            app.search(q, mode="hybrid", limit=10)
        prof.disable()
        profile.write_text(_top(prof, 30))
    return out


def incremental(app: Any, vault: Path, qs: list[tuple[str, str]]) -> dict[str, Any]:
    """Change one page (append a paragraph), re-index text; change again, re-index + re-embed."""
    # A typical page: the median-sized note among the query sources.
    sources = sorted({src for _, src in qs}, key=lambda p: (vault / p).stat().st_size)
    page = sources[len(sources) // 2]
    target = vault / page
    original = target.read_bytes()
    st = target.stat()
    out: dict[str, Any] = {"page": page, "page_kb": round(len(original) / 1024, 1)}
    try:
        for step, embed in (("text", False), ("text_and_embed", True)):
            extra = (
                f"\n\nBenchmark edit {step}: the ledger retry policy changed at {time.time()}.\n"
            )
            target.write_bytes(target.read_bytes() + extra.encode())
            t0 = time.perf_counter()
            result = app.index(embed=embed)
            seconds = time.perf_counter() - t0
            out[f"{step}_s"] = seconds
            out[f"{step}_changed"] = result.sync.changed
            out[f"{step}_sync_s"] = result.sync.seconds
            out[f"{step}_files_written"] = len(result.written)
            if embed:
                out["embedded_chunks"] = result.embedded
                out["embed_s"] = result.embed_seconds
    finally:
        target.write_bytes(original)
        os.utime(target, ns=(st.st_atime_ns, st.st_mtime_ns))
    return out


def embedding_ratio(seed: int, notes: int, rounds: int = 3) -> dict[str, Any]:
    """The product's pipeline (`Companion.embed_pending`) with each backend vs a raw fp32
    `SentenceTransformer.encode` on exactly the same chunk texts and batch size, best of `rounds`,
    in alternating order. int8/raw is the speed-up the default backend buys; torch/raw is the
    pipeline's own overhead."""
    from companion.embed import load_embedder, model_info
    from companion.embed.torch import SentenceTransformerEmbedder

    vault = CACHE / f"embed-vault-{notes}-s{seed}"
    synth.generate(notes, vault, seed + 1000)
    app = open_app(vault, fresh_state("embed-0"))
    app.index(embed=False)
    info = app.model
    app.store.vectors.ensure(info.fingerprint, info.dim)
    texts = [t for _, t in app.store.vectors.pending(info.fingerprint)]
    app.close()
    reference = SentenceTransformerEmbedder(model_info(info.name, "torch"))
    t0 = time.perf_counter()
    model = reference._load()
    load_s = time.perf_counter() - t0
    batch = reference.batch_size
    model.encode(texts[:64], batch_size=batch, show_progress_bar=False)  # warm-up
    embedders = {b: load_embedder(info.name, batch, b) for b in ("int8", "torch")}
    loads: dict[str, float] = {}
    for backend, embedder in embedders.items():
        t0 = time.perf_counter()
        embedder.embed(texts[:64])  # loads (int8: the cached export) and warms up
        loads[backend] = time.perf_counter() - t0
    runs: dict[str, list[float]] = {"raw": [], "int8": [], "torch": []}
    for r in range(rounds):
        order = ["raw", "int8", "torch"]
        for which in order if r % 2 == 0 else order[::-1]:
            if which == "raw":
                t0 = time.perf_counter()
                model.encode(texts, batch_size=batch, show_progress_bar=False)
                runs["raw"].append(time.perf_counter() - t0)
                continue
            app = open_app(vault, fresh_state(f"embed-{which}-{r + 1}"), which)
            app.use_embedder(embedders[which])
            app.index(embed=False)
            t0 = time.perf_counter()
            done = app.embed_pending()
            runs[which].append(time.perf_counter() - t0)
            app.close()
            assert done == len(texts), (done, len(texts))
    import torch

    best = {k: min(v) for k, v in runs.items()}
    return {
        "chunks": len(texts),
        "mean_chunk_chars": round(statistics.fmean(len(t) for t in texts)),
        "batch_size": batch,
        "torch_threads": torch.get_num_threads(),
        "model_load_s": load_s,
        "backend_load_s": loads,
        "runs_s": runs,
        "chunks_per_s": {k: len(texts) / v for k, v in best.items()},
        "ratio": {k: best["raw"] / best[k] for k in ("int8", "torch")},
    }


def _top(prof: cProfile.Profile, n: int) -> str:
    buf = io.StringIO()
    stats = pstats.Stats(prof, stream=buf)
    stats.sort_stats("tottime").print_stats(n)
    buf.write("\n--- by cumulative time ---\n")
    stats.sort_stats("cumulative").print_stats(n)
    return buf.getvalue()


# -- machine, table, doc ---------------------------------------------------------------------------


def exponent(n1: int, t1: float, n2: int, t2: float) -> float | None:
    if t1 <= 0 or t2 <= 0:
        return None
    return math.log(t2 / t1) / math.log(n2 / n1)


def growth(results: dict[int, dict[str, Any]]) -> list[tuple[str, list[str]]]:
    sizes = sorted(results)
    costs: dict[str, Callable[[dict[str, Any]], float]] = {
        "cold index time": lambda r: r["cold"]["index_s"],
        "cold index peak RSS": lambda r: r["cold"]["peak_rss_mb"],
        "re-index unchanged": lambda r: r["reindex"]["index_s"],
        "incremental (text)": lambda r: r["incremental"]["text_s"],
        "incremental (+embed)": lambda r: r["incremental"]["text_and_embed_s"],
        "search bm25 p50": lambda r: r["search"]["bm25"]["p50_ms"],
        "search vector p50": lambda r: r["search"]["vector"]["p50_ms"],
        "search hybrid p50": lambda r: r["search"]["hybrid"]["p50_ms"],
        "render_index": lambda r: r["catalog"]["render_index_s"],
        "write_catalog (as index() calls it)": lambda r: r["catalog"]["write_catalog_s"],
        "Companion.graph()": lambda r: r["catalog"]["graph_s"],
    }
    rows = []
    for name, get in costs.items():
        cells = []
        for a, b in itertools.pairwise(sizes):
            e = exponent(a, get(results[a]), b, get(results[b]))
            cells.append("–" if e is None else f"{e:.2f}")
        rows.append((name, cells))
    return rows


def _k(n: int) -> str:
    return f"{n // 1000}k" if n >= 1000 else str(n)


def render_results(data: dict[str, Any]) -> str:
    m = data["machine"]
    res: dict[int, dict[str, Any]] = {int(k): v for k, v in data["sizes"].items()}
    sizes = sorted(res)
    heads = [_k(n) for n in sizes]
    lines = [
        f"Run: `python -m bench.run --{data['mode']}` on {m['date']}, seed {data['seed']}, "
        f"git {m['git']}.",
        "",
        f"Machine: {m['cpu']}, {m['cores']} cores ({m['usable_cores']} usable), {m['ram_gb']} GB RAM; "
        f"{m['os']}; Python {m['python']}, torch {m['torch']}, sentence-transformers "
        f"{m['sentence_transformers']}, SQLite {m['sqlite']}.",
        "",
        f"Load average (1/5/15 min) at start {fmt_load(data['load_start'])}, at end "
        f"{fmt_load(data['load_end'])}: other work shares these cores, so treat differences under "
        "~20% as noise.",
        "",
        "| metric | " + " | ".join(heads) + " | target |",
        "|---|" + "---:|" * len(sizes) + "---|",
    ]

    def row(name: str, fmt: Any, target: str = "") -> None:
        cells = []
        for n in sizes:
            try:
                cells.append(fmt(res[n]))
            except (KeyError, TypeError):
                cells.append("–")
        lines.append(f"| {name} | " + " | ".join(cells) + f" | {target} |")

    row("vault: files (notes + attachments)", lambda r: f"{r['cold']['files']:,}")
    row(
        "vault: words / MB",
        lambda r: f"{r['vault']['words'] / 1e6:.1f}M / {r['vault']['megabytes']}",
    )
    row("vault: chunks / links", lambda r: f"{r['cold']['chunks']:,} / {r['cold']['links']:,}")
    row("cold index (`index(embed=False)`), s", lambda r: f"{r['cold']['index_s']:.2f}")
    row("cold index, pages/s", lambda r: f"{r['cold']['pages_per_s']:,.0f}", "10k: >= 1,750")
    row("  of which sync (parse, resolve, FTS, links), s", lambda r: f"{r['cold']['sync_s']:.2f}")
    row(
        "cold index peak RSS (child + its workers), MB",
        lambda r: f"{r['cold']['peak_rss_mb']:,.0f}",
        "10k: <= 1,024",
    )
    row(
        "re-index, nothing changed, s (files written)",
        lambda r: f"{r['reindex']['index_s']:.3f} ({r['reindex']['files_written']})",
        "10k: < 0.5, 0 files",
    )
    row(
        "first re-index after cold: files written",
        lambda r: str(len(r["reindex"]["first_rerun_written"])),
        "0",
    )
    row("one page changed: re-index text, s", lambda r: f"{r['incremental']['text_s']:.3f}")
    row(
        "one page changed: re-index + re-embed, s (chunks)",
        lambda r: (
            f"{r['incremental']['text_and_embed_s']:.3f} ({r['incremental']['embedded_chunks']})"
        ),
    )
    searches = [
        ("bm25", "bm25", ""),
        ("vector, vectors in memory (daemon, long-lived process)", "vector", ""),
        ("hybrid, vectors in memory (daemon, long-lived process)", "hybrid", "10k: p50 <= 20"),
        ("vector, sqlite-vec scan (one-shot command)", "vector_sqlite_vec", ""),
        ("hybrid, sqlite-vec scan (one-shot command)", "hybrid_sqlite_vec", ""),
    ]
    for label, key, target in searches:
        row(
            f"search {label}: p50 / p95, ms",
            lambda r, k=key: (
                f"{r['search'][k]['p50_ms']:.1f} / {r['search'][k]['p95_ms']:.1f}"
                + (
                    ""
                    if r["search"].get("in_memory", True) or k == "bm25" or "sqlite" in k
                    else " (sqlite-vec answered: too many vectors to keep)"
                )
            ),
            target,
        )
    row(
        "loading the vectors into memory (first query), s",
        lambda r: f"{r['search']['memory_load_s']:.2f}",
    )
    row(
        "source note in top 10 (bm25 / vector / hybrid)",
        lambda r: " / ".join(
            f"{r['search'][m]['source_in_top10']:.2f}" for m in ("bm25", "vector", "hybrid")
        ),
    )
    row(
        "`render_index` (index.md + sub-indexes), ms",
        lambda r: f"{r['catalog']['render_index_s'] * 1e3:.1f}",
    )
    row(
        "`write_catalog` as `index()` calls it (queries, render, compare), ms",
        lambda r: f"{r['catalog']['write_catalog_s'] * 1e3:.0f}",
    )
    row("`Companion.graph()` (networkx), ms", lambda r: f"{r['catalog']['graph_s'] * 1e3:.0f}")
    row(
        "vectors in table (real model / random)",
        lambda r: f"{r['vectors']['vectors']:,} ({r['vectors']['real']} real)",
    )
    e = data.get("embedding")
    if e and "chunks_per_s" in e:
        cps, ratio = e["chunks_per_s"], e["ratio"]
        lines += [
            "",
            f"Embedding phase: {e['chunks']} chunks (mean {e['mean_chunk_chars']} chars), batch "
            f"{e['batch_size']}, torch threads {e['torch_threads']}, best of "
            f"{len(e['runs_s']['raw'])} alternating runs. The pipeline is `embed_pending`, the "
            "product's path; raw is `SentenceTransformer.encode` in fp32 on the same texts.",
            "",
            "| path | chunks/s | vs raw fp32 `encode` | target |",
            "|---|---:|---:|---|",
            f"| raw fp32 `encode` | {cps['raw']:.1f} | 100% | |",
            f"| pipeline, int8 backend (default) | {cps['int8']:.1f} | {ratio['int8'] * 100:.0f}% "
            "| >= 85%, more with int8 |",
            f"| pipeline, torch backend (fp32) | {cps['torch']:.1f} | {ratio['torch'] * 100:.0f}% "
            "| >= 85% |",
        ]
    if data.get("daemon"):
        from bench import daemon

        lines += ["", daemon.section(data["daemon"]).rstrip("\n")]
    if len(sizes) > 1:
        pairs = [f"{_k(a)}→{_k(b)}" for a, b in itertools.pairwise(sizes)]
        lines += [
            "",
            "Growth exponent log(t2/t1)/log(n2/n1) (1 = linear in vault size, 0 = flat):",
            "",
            "| cost | " + " | ".join(pairs) + " |",
            "|---|" + "---:|" * len(pairs),
        ]
        for name, cells in growth(res):
            lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def write_doc(section: str) -> None:
    text = DOC.read_text(encoding="utf-8") if DOC.exists() else f"# Benchmarks\n\n{BEGIN}\n{END}\n"
    if BEGIN not in text or END not in text:
        text = text.rstrip("\n") + f"\n\n## Results\n\n{BEGIN}\n{END}\n"
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    DOC.write_text(f"{head}{BEGIN}\n{section}{END}{tail}", encoding="utf-8")


# -- main ------------------------------------------------------------------------------------------


def bench_size(n: int, seed: int, nq: int, profile: bool) -> dict[str, Any]:
    vault, vinfo = vault_for(n, seed)
    prof_dir = CACHE / "profiles"
    prof_dir.mkdir(parents=True, exist_ok=True)
    log(f"{_k(n)}: cold index")
    if profile:  # a separate, untimed run: cProfile roughly doubles the cost of Python code
        cold_index(vault, n, prof_dir / f"cold-{_k(n)}.txt")
    cold = cold_index(vault, n)
    log(
        f"{_k(n)}: cold {cold['index_s']:.1f}s = {cold['pages_per_s']:.0f} pages/s, "
        f"peak RSS {cold['peak_rss_mb']:.0f} MB"
    )
    state = Path(cold["state"])
    reindex = reindex_unchanged(vault, state)
    log(f"{_k(n)}: re-index unchanged {reindex['index_s']:.3f}s")
    app = open_app(vault, state)
    try:
        catalog = catalog_times(app)
        log(f"{_k(n)}: render_index {catalog['render_index_s'] * 1e3:.0f} ms")
        vectors = fill_vectors(app, seed)
        log(f"{_k(n)}: {vectors['vectors']:,} vectors in {vectors['fill_s']:.1f}s")
        qs = synth.queries(vault, nq, seed)
        search = search_latency(
            app, qs, prof_dir / f"search-hybrid-{_k(n)}.txt" if profile else None
        )
        log(
            f"{_k(n)}: search p50 bm25 {search['bm25']['p50_ms']:.1f} ms, vector "
            f"{search['vector']['p50_ms']:.1f} ms, hybrid {search['hybrid']['p50_ms']:.1f} ms"
        )
        inc = incremental(app, vault, qs)
        log(f"{_k(n)}: one page: text {inc['text_s']:.3f}s, +embed {inc['text_and_embed_s']:.3f}s")
    finally:
        app.close()
        clean_generated(vault)
    return {
        "vault": vinfo,
        "cold": cold,
        "reindex": reindex,
        "catalog": catalog,
        "vectors": vectors,
        "search": search,
        "incremental": inc,
    }


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "_cold":
        ap = argparse.ArgumentParser()
        ap.add_argument("cmd")
        ap.add_argument("vault")
        ap.add_argument("state")
        ap.add_argument("--profile-out")
        a = ap.parse_args(argv)
        child_cold(a.vault, a.state, a.profile_out)
        return
    ap = argparse.ArgumentParser(description="companion benchmarks (see docs/benchmarks.md)")
    group = ap.add_mutually_exclusive_group()
    group.add_argument("--quick", action="store_true", help="1k and 10k notes (default)")
    group.add_argument("--full", action="store_true", help="1k, 10k and 100k notes")
    ap.add_argument("--sizes", help="comma-separated note counts, overriding the mode's")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--queries", type=int, default=120, help="queries per mode and size (>= 100)")
    ap.add_argument("--embed-notes", type=int, default=0, help="notes in the embedding-ratio vault")
    ap.add_argument("--profile", action="store_true", help="cProfile cold index and hybrid search")
    ap.add_argument("--no-doc", action="store_true", help="do not rewrite docs/benchmarks.md")
    ap.add_argument("--no-daemon", action="store_true", help="skip the daemon benchmark")
    ap.add_argument("--daemon-notes", type=int, default=10_000, help="notes in the daemon vault")
    args = ap.parse_args(argv)
    mode = "full" if args.full else "quick"
    sizes = (
        [int(s) for s in args.sizes.split(",")]
        if args.sizes
        else ([1000, 10_000, 100_000] if args.full else [1000, 10_000])
    )
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    CACHE.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    data: dict[str, Any] = {
        "mode": mode,
        "seed": args.seed,
        "machine": machine(),
        "load_start": list(os.getloadavg()),
        "sizes": {},
    }
    log(f"{mode} mode, sizes {sizes}; load {fmt_load(data['load_start'])}")
    for n in sizes:
        data["sizes"][str(n)] = bench_size(n, args.seed, args.queries, args.profile)
    log("embedding phase: pipeline vs raw encode")
    data["embedding"] = embedding_ratio(
        args.seed, args.embed_notes or (25 if mode == "quick" else 100)
    )
    e = data["embedding"]
    cps = e["chunks_per_s"]
    log(
        f"embedding: {e['chunks']} chunks/s: raw fp32 {cps['raw']:.1f}, pipeline int8 "
        f"{cps['int8']:.1f} ({e['ratio']['int8']:.2f}x), torch {cps['torch']:.1f} "
        f"({e['ratio']['torch']:.2f}x)"
    )
    if not args.no_daemon:
        from bench import daemon

        log(f"daemon: `companion watch` on a {_k(args.daemon_notes)} vault (bench/daemon.py)")
        data["daemon"] = daemon.bench_daemon(args.daemon_notes, args.seed)
    data["load_end"] = list(os.getloadavg())
    data["total_s"] = time.perf_counter() - started
    section = render_results(data)
    (CACHE / f"results-{mode}.json").write_text(json.dumps(data, indent=1, default=str))
    print(section)
    if not args.no_doc:
        write_doc(section)
        log(f"wrote {DOC.relative_to(REPO)}")
    log(f"done in {data['total_s']:.0f}s")


if __name__ == "__main__":
    main()
