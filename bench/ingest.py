"""Ingest on the product's own path: `Companion.ingest()` on real vaults, then what it wrote, read
back from disk and checked (bench/ingest_checks.py), and how fast.

    python -m bench.ingest              # = --quick: both corpora, the 100-page PDF under a daemon
    python -m bench.ingest --full       # and the 10k-note vault (also: --big); 3 runs per corpus
    python -m bench.ingest --json out.json --doc     # JSON results; rewrite docs/benchmarks.md's
                                                     # marked ingest section (make bench-ingest)

Vectors come from `COMPANION_EMBED_BACKEND=fake` (a deterministic stand-in, no model) unless
`--real-model` is given; nothing measured here depends on them except search latency's vector
half. Work folders are under bench/.cache/ingest/ (kept, to look at the pages afterwards); the
state folder of every vault is next to it, outside the vault. Nothing asserts a time: it reports.

Corpora, each ingested by `Companion(settings).ingest()` (the text index and the vectors of the
vault's own notes are built first, untimed, so the figure is the ingest's):

- `conflicts-dev`: the 12 documents of /work/shared/data/conflicts-dev/sources copied into
  `sources/` of a fresh vault holding only `sources/` and `wiki/` (the default SYSTEM.md applies);
- `example`: a copy of the repository's example vault (its 5 sources, its people's notes and
  hand-written wiki pages).

Per corpus (bench/ingest_checks.py says exactly how each is decided):

1. pages created, by `type`; ingest's fact bullets (`facts` regions, block id matching the text);
   facts per source;
2. citation validity: one SYSTEM.md §6 citation at the end of every fact, naming a summary page
   that exists and lists the raw file, whose converted text holds the fact's words (normalised
   the same way on both sides);
3. phantom links: links ingest wrote that resolve to nothing (Obsidian's rule);
4. linkage: summary page -> every page it feeds (`mentions`), fed page -> every source it cites
   (its citation resolves there and its `sources` property lists it);
5. orphans: created pages nothing but companion's generated notes (and themselves) link to;
6. co-location (conflicts-dev only): for each planted contradiction of truth.json, is there a page
   holding a fact of each side (the precondition for a conflict check on that page)? Near-misses
   the same, for information. truth.json is read by this benchmark only, never by the product;
7. speed: the outcome's `seconds` per source (median), seconds per 1,000 words (the converted
   text's words), and the wall clock around `Companion.ingest()` (which also holds what no
   outcome counts: the compounding pass that re-plans earlier sources for pages created later,
   the catalog, the embedding); pages touched per source. With `--repeat N` (`--full`: 3) the
   corpus is ingested N times into fresh vaults and each timing is the median over the runs; the
   runs must also produce the same wiki pages (`updated:` stamps aside);
8. idempotency: a second `ingest()` from a freshly opened `Companion` must write nothing (sha256
   of every file of the vault before and after) and report every source `unchanged`.

Then:

9. a 100-page PDF (`bench.ingest_pdf`, ~300 words a page) dropped into `sources/` of a copy of the
   example vault watched by a real `companion watch` subprocess (`COMPANION_SOURCE_SETTLE=0.5`):
   hybrid searches over the daemon's socket (`client.request`) back to back, idle first and
   then while it ingests (a search counts when it overlapped the window from the summary page's
   commit less the outcome's seconds to the daemon's log line), then while the new pages are
   embedded; p50/p95 of each, how long the ingest took (the daemon's own figure from its log
   line, drop -> summary page on disk, drop -> log line); afterwards checks 2-5 on that vault;
10. (`--full`/`--big`) the 12 conflicts-dev sources ingested into a copy of the cached 10,000-note
   synthetic vault (`bench.common.vault_for`, text-indexed, vectors filled with random unit
   vectors through the store so the ingest's own embedding is all that is left): seconds per
   source against the same sources ingested into an empty vault just before and just after it
   (same load; ratio of the medians, target within 2x), by outcome seconds and by wall clock.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import platform
import posixpath
import re
import shutil
import signal
import statistics
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bench import ingest_checks as checks
from bench.common import (
    CACHE,
    DOC,
    REPO,
    companion_bin,
    fmt_load,
    git_state,
    log,
    pct,
    write_section,
)
from bench.ingest_pdf import build_pdf

if TYPE_CHECKING:
    from companion.app import Companion
    from companion.ingest.report import IngestReport

CONFLICTS = REPO.parent / "shared" / "data" / "conflicts-dev"
EXAMPLE = REPO / "vault"
WORK = CACHE / "ingest"
BEGIN = (
    "<!-- bench:ingest:begin (written by `python -m bench.ingest --doc`; edits inside are lost) -->"
)
END = "<!-- bench:ingest:end -->"
PDF_NAME = "meridian-operations-handbook.pdf"
QUERIES = (
    "how are failed card payments retried",
    "ledger failover runbook",
    "idempotency keys on write endpoints",
    "kafka consumer lag",
    "rate limits per merchant",
    "replication lag postmortem",
    "who owns the ledger service",
    "payout scheduler",
    "Harbour Gateway failover",
    "Northwind Cache memory per node",
    "Atlas Scheduler upgrade",
    "Quarry Ledger backups",
)


# -- helpers ---------------------------------------------------------------------------------------


def machine() -> dict[str, Any]:
    """CPU, cores, Python, date (no torch import: the fake backend loads no model)."""
    cpu = "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "usable_cores": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "os": platform.platform(),
        "python": platform.python_version(),
        "git": git_state(),
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
    }


def open_app(vault: Path, state: Path, backend: str | None) -> Companion:
    from companion.app import Companion
    from companion.config import load_settings

    return Companion(load_settings(vault, state_dir=state, embed_backend=backend))


def fresh(path: Path) -> Path:
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    return path


def hashes(vault: Path) -> dict[str, str]:
    """sha256 of every file under the vault, `.companion/` (a state folder inside) excepted."""
    out = {}
    for path in sorted(vault.rglob("*")):
        rel = path.relative_to(vault).as_posix()
        if rel.split("/")[0] == ".companion" or not path.is_file():
            continue
        out[rel] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


def converted(name: str, data: bytes) -> tuple[str, tuple[int, ...]]:
    """(text, page start offsets) of a raw file, by the product's converter."""
    from companion.convert import convert

    result = convert(name, data)
    return result.text, result.pages


def converted_text(name: str, data: bytes) -> str:
    return converted(name, data)[0]


def _median(values: list[float]) -> float:
    return float(statistics.median(values)) if values else 0.0


# -- one corpus ------------------------------------------------------------------------------------


def setup_conflicts(vault: Path) -> None:
    (vault / "wiki").mkdir(parents=True)
    shutil.copytree(CONFLICTS / "sources", vault / "sources")


def setup_example(vault: Path) -> None:
    shutil.copytree(EXAMPLE, vault)
    for rel in ("index.md", "log.md", "CONFLICT.md"):  # generated, ignored by git: not the vault's
        (vault / rel).unlink(missing_ok=True)
    shutil.rmtree(vault / "index", ignore_errors=True)


def speed(report: IngestReport, vault: Path, wall: float) -> dict[str, Any]:
    done = [o for o in report.outcomes if o.status in ("ingested", "reingested")]
    words = {
        o.path: len(converted_text(o.path, (vault / o.path).read_bytes()).split()) for o in done
    }
    seconds = [o.seconds for o in done]
    touched = [len(o.created) + len(o.updated) for o in done]
    total_words = sum(words.values())
    return {
        "sources": len(done),
        "words": total_words,
        "words_reported": sum(o.words for o in done),
        "seconds_per_source_median": _median(seconds),
        "seconds_per_source_max": max(seconds, default=0.0),
        "seconds_sum": sum(seconds),
        "seconds_per_1000_words": 1000 * sum(seconds) / total_words if total_words else 0.0,
        "wall_s": wall,
        "wall_per_source": wall / len(done) if done else 0.0,
        "wall_per_1000_words": 1000 * wall / total_words if total_words else 0.0,
        "created_pages": len({p for o in done for p in o.created}),
        "updated_pages": len({p for o in done for p in o.updated}),
        "pages_touched_median": _median([float(t) for t in touched]),
        "pages_touched_max": max(touched, default=0),
        "per_source": [
            {
                "path": o.path,
                "words": words[o.path],
                "seconds": round(o.seconds, 4),
                "created": len(o.created),
                "updated": len(o.updated),
                "facts": o.facts,
            }
            for o in done
        ],
    }


def check_vault(
    vault: Path, report: IngestReport, truth: list[dict[str, Any]] | None
) -> dict[str, Any]:
    created = [p for o in report.outcomes for p in o.created]
    summary_of = {o.path: o.summary for o in report.outcomes if o.summary}
    scanned = checks.scan(vault)
    sources = checks.Sources(vault, converted)
    out: dict[str, Any] = {
        "pages": checks.pages_and_facts(scanned, created, summary_of),
        "citations": checks.check_citations(scanned, sources),
        "phantoms": checks.phantom_links(scanned, created),
        "linkage": checks.linkage(scanned),
        "orphans": checks.orphans(scanned, created),
        "updated_pages": len({p for o in report.outcomes for p in o.updated}),
        "statuses": dict(Counter(o.status for o in report.outcomes)),
        "problems": [
            {"path": o.path, "status": o.status, "problem": o.problem}
            for o in report.outcomes
            if o.problem
        ],
    }
    if truth is not None:
        out["colocation"] = checks.colocation(scanned, truth, summary_of, sources, "contradiction")
        out["colocation_near_miss"] = checks.colocation(
            scanned, truth, summary_of, sources, "near_miss"
        )
    return out


def ingest_fresh(
    name: str, setup: Callable[[Path], None], backend: str | None
) -> tuple[IngestReport, float, float, Path, Path]:
    """One corpus into a fresh vault: (report, ingest wall clock, index seconds, vault, state)."""
    work = fresh(WORK / name)
    vault, state = work / "vault", work / "state"
    setup(vault)
    app = open_app(vault, state, backend)
    try:
        t0 = time.perf_counter()
        app.index()  # the vault's own notes, text and vectors: not the ingest's cost
        index_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        report = app.ingest()
        wall = time.perf_counter() - t0
    finally:
        app.close()
    return report, wall, index_s, vault, state


def wiki_digest(vault: Path) -> str:
    """sha256 over wiki/ with the `updated:` stamps taken out: equal for equal ingests."""
    h = hashlib.sha256()
    for path in sorted((vault / "wiki").rglob("*.md")):
        text = path.read_text(encoding="utf-8")
        kept = [line for line in text.split("\n") if not line.startswith("updated:")]
        h.update(path.relative_to(vault).as_posix().encode() + b"\0")
        h.update("\n".join(kept).encode() + b"\0")
    return h.hexdigest()


def run_corpus(
    name: str,
    setup: Callable[[Path], None],
    backend: str | None,
    truth: list[dict[str, Any]] | None = None,
    repeat: int = 1,
) -> dict[str, Any]:
    """The corpus ingested into a fresh vault and checked; `repeat` - 1 more fresh ingests for
    the speed figures (medians over the runs) and to see the pages come out the same."""
    report, wall, index_s, vault, state = ingest_fresh(name, setup, backend)
    log(f"{name}: ingested {len(report.outcomes)} sources in {wall:.2f}s")
    out: dict[str, Any] = {"vault": str(vault), "index_s": index_s}
    out.update(check_vault(vault, report, truth))
    out["speed"] = speed(report, vault, wall)
    out["idempotency"] = second_ingest(vault, state, backend)
    out["report"] = report.as_json()
    digests = [wiki_digest(vault)]
    runs = [out["speed"]]
    for r in range(1, repeat):
        again, wall, _, vault, _ = ingest_fresh(f"{name}-{r + 1}", setup, backend)
        runs.append(speed(again, vault, wall))
        digests.append(wiki_digest(vault))
        log(f"{name}: run {r + 1} of {repeat}: {wall:.2f}s")
    out["speed_runs"] = runs
    out["speed"] = median_speed(runs)
    out["deterministic"] = len(set(digests)) == 1
    return out


def median_speed(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The first run's figures with every timing replaced by its median over the runs."""
    out = dict(runs[0])
    for key in (
        "seconds_per_source_median",
        "seconds_per_source_max",
        "seconds_sum",
        "seconds_per_1000_words",
        "wall_s",
        "wall_per_source",
        "wall_per_1000_words",
    ):
        out[key] = _median([r[key] for r in runs])
    out["runs"] = len(runs)
    return out


def second_ingest(vault: Path, state: Path, backend: str | None) -> dict[str, Any]:
    """`ingest()` again from a freshly opened Companion (as a second `companion ingest` would)."""
    before = hashes(vault)
    app = open_app(vault, state, backend)
    try:
        t0 = time.perf_counter()
        again = app.ingest()
        wall = time.perf_counter() - t0
    finally:
        app.close()
    after = hashes(vault)
    written = sorted(p for p in before.keys() | after.keys() if before.get(p) != after.get(p))
    return {
        "files_written": len(written),
        "written": written[:20],
        "statuses": dict(Counter(o.status for o in again.outcomes)),
        "wall_s": wall,
    }


# -- the PDF under a daemon ------------------------------------------------------------------------


def _search(state: Path, query: str) -> float:
    from companion.daemon import client

    t0 = time.perf_counter()
    hits = client.request(state, "search", query=query, mode="hybrid", limit=10)
    seconds = time.perf_counter() - t0
    if hits is None:
        raise RuntimeError("the daemon stopped answering")
    return seconds


def _latency(samples: list[float]) -> dict[str, Any]:
    if not samples:
        return {"n": 0}
    return {
        "n": len(samples),
        "p50_ms": pct(samples, 50) * 1e3,
        "p95_ms": pct(samples, 95) * 1e3,
        "max_ms": max(samples) * 1e3,
    }


def _wait(
    what: str, done: Callable[[], bool], timeout: float, proc: subprocess.Popen[bytes]
) -> None:
    deadline = time.monotonic() + timeout
    while not done():
        if proc.poll() is not None:
            raise RuntimeError(f"the daemon exited ({proc.returncode}) waiting for {what}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out after {timeout:g}s waiting for {what}")
        time.sleep(0.1)


def _quiet(state: Path) -> bool:
    from companion.daemon import client

    with contextlib.suppress(Exception):
        status = client.request(state, "status", timeout=60.0)
        return status is not None and not any(status["queue"].values())
    return False


_INGEST_LINE = re.compile(
    r"ingest (?P<status>\w+): sources/" + re.escape(PDF_NAME) + r" -> (?P<summary>\S+) "
    r"\((?P<created>\d+) created, (?P<updated>\d+) updated, (?P<facts>\d+) facts, "
    r"(?P<seconds>[\d.]+)s\)"
)


def pdf_under_daemon(backend: str | None, pages: int, idle_queries: int) -> dict[str, Any]:
    work = fresh(WORK / "pdf")
    vault, state, logfile = work / "vault", work / "state", work / "daemon.log"
    setup_example(vault)
    data, words = build_pdf(pages)
    staged = work / PDF_NAME
    staged.write_bytes(data)
    converted = converted_text(PDF_NAME, data)  # pypdf reads it before the daemon has to
    env = dict(os.environ, COMPANION_SOURCE_SETTLE="0.5")
    if backend:
        env["COMPANION_EMBED_BACKEND"] = backend
    cmd = [str(companion_bin()), "watch", str(vault), "--state-dir", str(state)]
    out = logfile.open("wb")
    proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, cwd=REPO, env=env)
    out.close()
    result: dict[str, Any] = {
        "pages": pages,
        "words": len(converted.split()),
        "words_written": words,
        "bytes": len(data),
        "cmd": " ".join(cmd),
    }
    try:
        t0 = time.perf_counter()
        summaries = vault / "wiki" / "sources"

        def started() -> bool:
            return summaries.is_dir() and len(list(summaries.glob("*.md"))) >= 5 and _quiet(state)

        _wait("the start-up ingest of the 5 sources", started, 300, proc)
        result["startup_s"] = time.perf_counter() - t0
        time.sleep(1.0)
        idle = [_search(state, QUERIES[i % len(QUERIES)]) for i in range(idle_queries)]
        result["idle"] = _latency(idle)

        summary = summaries / (PDF_NAME.removesuffix(".pdf") + ".md")
        samples: list[tuple[float, float]] = []  # (start, seconds) from the drop
        dropped = time.perf_counter()
        os.replace(staged, vault / "sources" / PDF_NAME)
        line = None
        appeared: float | None = None
        i = 0
        while line is None:
            if proc.poll() is not None:
                raise RuntimeError(f"the daemon exited ({proc.returncode})")
            if time.perf_counter() - dropped > 600:
                raise RuntimeError("the PDF was not ingested within 600 s")
            start = time.perf_counter() - dropped
            samples.append((start, _search(state, QUERIES[i % len(QUERIES)])))
            i += 1
            if appeared is None and summary.exists():
                appeared = time.perf_counter() - dropped
            text = logfile.read_text(encoding="utf-8", errors="replace")
            line = _INGEST_LINE.search(text)
            if line is None and f"sources/{PDF_NAME}" in text and "ingest failed" in text:
                raise RuntimeError(f"the daemon could not ingest the PDF: {text[-1000:]}")
        finished = time.perf_counter() - dropped
        ingest_s = float(line.group("seconds"))
        # When the daemon started on it (after the settle): its first pass ends with the commit
        # that writes the summary page, and the log line comes after the compounding pass.
        begun = (appeared if appeared is not None else finished) - ingest_s
        # A search counts as during the ingest when any part of it overlapped the ingest.
        during = [s for t, s in samples if t <= finished and t + s >= begun]
        result.update(
            {
                "status": line.group("status"),
                "created": int(line.group("created")),
                "updated": int(line.group("updated")),
                "facts": int(line.group("facts")),
                "ingest_s": ingest_s,
                "drop_to_log_s": finished,
                "drop_to_summary_s": appeared,
                "during": _latency(during),
                "drop_to_done": _latency([s for _, s in samples]),
            }
        )
        after: list[float] = []
        t1 = time.perf_counter()
        while not _quiet(state) and time.perf_counter() - t1 < 300:
            after.extend(_search(state, QUERIES[j % len(QUERIES)]) for j in range(20))
        result["embedding_after_s"] = time.perf_counter() - t1
        result["during_embedding"] = _latency(after)
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            result["exit_code"] = proc.wait(60)
        except subprocess.TimeoutExpired:
            proc.kill()
            result["exit_code"] = proc.wait()
    result["checks"] = pdf_checks(vault)
    return result


def created_by_log(vault: Path, headline: str) -> list[str]:
    """The pages log.md's `ingest | <headline>` entry says were created (the daemon's ingest
    report stays in the daemon; its log entry is the record a person sees)."""
    text = (vault / "log.md").read_text(encoding="utf-8")
    entry = text.split(f"] ingest | {headline}\n", 1)[-1].split("\n## ", 1)[0]
    out: list[str] = []
    for line in entry.splitlines():
        if line.startswith("- created: "):
            out += [link + ".md" for link in checks.links_in(line)]
    return out


def pdf_checks(vault: Path) -> dict[str, Any]:
    """Checks 2-5 on the daemon's vault, every ingested source included."""
    created = created_by_log(vault, "Meridian Operations Handbook")
    scanned = checks.scan(vault)
    sources = checks.Sources(vault, converted)
    return {
        "created": len(created),
        "citations": checks.check_citations(scanned, sources),
        "phantoms": checks.phantom_links(scanned, created),
        "linkage": checks.linkage(scanned),
        "orphans": checks.orphans(scanned, created),
    }


# -- the 10k-note vault ----------------------------------------------------------------------------


def big_vault(backend: str | None, notes: int, seed: int) -> dict[str, Any]:
    """The conflicts-dev sources into the big vault, between two ingests into an empty vault
    (the same load for both figures: the ratio is taken against those two)."""
    from bench.common import fill_vectors, vault_for

    cached, info = vault_for(notes, seed)
    work = fresh(WORK / "big")
    vault, state = work / "vault", work / "state"
    log(f"big: copying the {notes:,}-note vault")
    shutil.copytree(cached, vault)
    shutil.copytree(CONFLICTS / "sources", vault / "sources", dirs_exist_ok=True)
    app = open_app(vault, state, backend)
    try:
        t0 = time.perf_counter()
        app.index(embed=False)
        index_s = time.perf_counter() - t0
        vectors = fill_vectors(app, seed, real=0)
        log(f"big: indexed in {index_s:.1f}s, {vectors['vectors']:,} random vectors; ingesting")
        empty = [speed(*_small(backend))]
        t0 = time.perf_counter()
        report = app.ingest()
        wall = time.perf_counter() - t0
        empty.append(speed(*_small(backend)))
    finally:
        app.close()
    out: dict[str, Any] = {"notes": notes, "vault_info": info, "index_s": index_s}
    out.update(check_vault(vault, report, None))
    out["speed"] = speed(report, vault, wall)
    out["empty_runs"] = empty
    out["empty_median"] = _median([e["seconds_per_source_median"] for e in empty])
    base = out["empty_median"]
    out["ratio"] = out["speed"]["seconds_per_source_median"] / base if base else None
    return out


def _small(backend: str | None) -> tuple[IngestReport, Path, float]:
    report, wall, _, vault, _ = ingest_fresh("big-empty", setup_conflicts, backend)
    return report, vault, wall


# -- output ----------------------------------------------------------------------------------------


def _cell(value: Any) -> str:
    return "–" if value is None else str(value)


def corpus_rows(c: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(metric, value, target) rows for one corpus."""
    p, cit, ph, lk, orp, sp = (
        c["pages"],
        c["citations"],
        c["phantoms"],
        c["linkage"],
        c["orphans"],
        c["speed"],
    )
    types = ", ".join(f"{n} {t}" for t, n in p["created_by_type"].items()) or "none"
    rows = [
        ("sources ingested / words", f"{sp['sources']} / {sp['words']:,}", ""),
        ("pages created (by type)", f"{p['created']} ({types})", ""),
        ("existing pages updated", str(c["updated_pages"]), ""),
        (
            "fact bullets (on pages)",
            f"{p['facts']} ({p['fact_pages']})",
            "",
        ),
        (
            "facts per source: median (min–max)",
            f"{p['facts_per_source_median']:g} ({p['facts_per_source_min']}–"
            f"{p['facts_per_source_max']})",
            "",
        ),
        (
            "citation validity",
            f"{cit['valid']}/{cit['facts']} ({cit['pct']:.1f}%)",
            "100%",
        ),
        ("phantom links (of links written)", f"{ph['phantoms']} (of {ph['links']})", "0"),
        ("linkage violations", str(lk["violations"]), "0"),
        ("orphan pages (of created)", f"{orp['orphans']} (of {orp['created']})", "0"),
    ]
    if "colocation" in c:
        co, nm = c["colocation"], c["colocation_near_miss"]
        rows.append(("contradictions co-located", f"{co['colocated']}/{co['items']}", ""))
        rows.append(
            ("near-misses co-located (information)", f"{nm['colocated']}/{nm['items']}", "")
        )
    idem = c["idempotency"]
    statuses = ", ".join(f"{n} {s}" for s, n in sorted(idem["statuses"].items()))
    rows += [
        (
            "seconds per source: median (max), median of the runs",
            f"{sp['seconds_per_source_median']:.3f} ({sp['seconds_per_source_max']:.3f})",
            "",
        ),
        (
            "seconds per 1,000 words (outcomes / wall)",
            f"{sp['seconds_per_1000_words']:.3f} / {sp['wall_per_1000_words']:.3f}",
            "",
        ),
        (
            "`Companion.ingest()` wall clock, s (per source)",
            f"{sp['wall_s']:.2f} ({sp['wall_per_source']:.3f})",
            "",
        ),
        (
            "pages touched per source: median (max)",
            f"{sp['pages_touched_median']:g} ({sp['pages_touched_max']})",
            "",
        ),
        (
            f"same pages from every fresh ingest ({sp.get('runs', 1)} runs)",
            "yes" if c.get("deterministic", True) else "NO",
            "yes",
        ),
        (
            "second ingest: files written (statuses)",
            f"{idem['files_written']} ({statuses}; {idem['wall_s']:.2f} s)",
            "0",
        ),
    ]
    return rows


def render(data: dict[str, Any]) -> str:
    m = data["machine"]
    corpora = data["corpora"]
    names = list(corpora)
    lines = [
        f"Run: `{' '.join(['python -m bench.ingest', *data['argv']])}` on "
        f"{m['date']}, git {m['git']}; embeddings: {data['embeddings']}.",
        "",
        f"Machine: {m['cpu']}, {m['cores']} cores ({m['usable_cores']} usable); {m['os']}; "
        f"Python {m['python']}.",
        "",
        f"Load average (1/5/15 min) at start {fmt_load(data['load_start'])}, at end "
        f"{fmt_load(data['load_end'])}.",
        "",
        "| metric | " + " | ".join(f"`{n}`" for n in names) + " | target |",
        "|---|" + "---:|" * len(names) + "---|",
    ]
    table = {n: corpus_rows(c) for n, c in corpora.items()}
    labels: list[tuple[str, str]] = []
    for rows in table.values():
        for label, _, target in rows:
            if label not in [x for x, _ in labels]:
                labels.append((label, target))
    for label, target in labels:
        cells = []
        for n in names:
            found = [v for lab, v, _ in table[n] if lab == label]
            cells.append(found[0] if found else "–")
        lines.append(f"| {label} | " + " | ".join(cells) + f" | {target} |")
    for n, c in corpora.items():
        lines += _details(n, c)
    pdf = data.get("pdf")
    if pdf:
        lines += ["", *_pdf_lines(pdf)]
    big = data.get("big")
    if big:
        lines += ["", *_big_lines(big)]
    return "\n".join(lines) + "\n"


def _details(name: str, c: dict[str, Any]) -> list[str]:
    out: list[str] = []
    for f in c["citations"]["first_failures"][:5]:
        out.append(f"- `{name}` citation failure on `{f['page']}`: {f['why']}: “{f['bullet']}”")
    for f in c["phantoms"]["list"][:5]:
        out.append(f"- `{name}` phantom link on `{f['page']}` ({f['where']}): `{f['link']}`")
    for f in c["linkage"]["list"][:5]:
        out.append(f"- `{name}` linkage: {f['kind']}: `{f['page']}` → `{f['detail']}`")
    for rel in c["orphans"]["list"][:5]:
        out.append(f"- `{name}` orphan: `{rel}`")
    for rel in c["idempotency"]["written"][:5]:
        out.append(f"- `{name}` second ingest wrote `{rel}`")
    for p in c["problems"][:5]:
        out.append(f"- `{name}` {p['status']}: {p['problem']}")
    for key, label in (("colocation", "contradiction"), ("colocation_near_miss", "near-miss")):
        for miss in c.get(key, {}).get("misses", []):
            out.append(
                f"- `{name}` {label} {miss['id']} ({miss['subject']}) not co-located: "
                f"{miss['why']}; a on {_pages(miss['a_pages'])}; b on {_pages(miss['b_pages'])}"
            )
    return ["", *out] if out else []


def _pages(paths: list[str]) -> str:
    return ", ".join(posixpath.basename(p).removesuffix(".md") for p in paths) or "no page"


def _pdf_lines(p: dict[str, Any]) -> list[str]:
    idle, during, emb = p["idle"], p["during"], p["during_embedding"]

    def lat(d: dict[str, Any]) -> str:
        return (
            f"{d['p50_ms']:.1f} / {d['p95_ms']:.1f} (max {d['max_ms']:.0f}, n={d['n']})"
            if d.get("n")
            else "–"
        )

    appeared = p["drop_to_summary_s"]
    summary_s = "–" if appeared is None else f"{appeared:.2f}"
    out = [
        f"The {p['pages']}-page PDF ({p['words']:,} words, {p['bytes'] / 1e3:,.0f} kB) dropped "
        "into `sources/` of a copy of the example vault under `companion watch` "
        "(`COMPANION_SOURCE_SETTLE=0.5`); hybrid searches over the daemon's socket, back to back:",
        "",
        "| figure | value | target |",
        "|---|---:|---|",
        f"| ingest, the daemon's figure (outcome seconds), s | {p['ingest_s']:.2f} | |",
        f"| drop → summary page on disk, s | {summary_s} | |",
        f"| drop → ingest logged, s | {p['drop_to_log_s']:.2f} | |",
        f"| pages created / updated, facts | {p['created']} / {p['updated']}, {p['facts']} | |",
        f"| search p50 / p95, idle, ms | {lat(idle)} | |",
        f"| search p50 / p95 during the ingest, ms | {lat(during)} | p95 ≤ 250 |",
        f"| search p50 / p95 while the new pages are embedded ({p['embedding_after_s']:.1f} s), "
        f"ms | {lat(emb)} | |",
    ]
    ch = p.get("checks")
    if ch:
        cit = ch["citations"]
        out.append(
            f"| afterwards, whole vault: citation validity; phantom links; linkage violations; "
            f"orphans of the PDF's {ch['created']} created pages | {cit['valid']}/{cit['facts']}; "
            f"{ch['phantoms']['phantoms']}; {ch['linkage']['violations']}; "
            f"{ch['orphans']['orphans']} | 100%; 0; 0; 0 |"
        )
    return out


def _big_lines(b: dict[str, Any]) -> list[str]:
    sp = b["speed"]
    empty = b["empty_runs"]
    ratio = "–" if b["ratio"] is None else f"{b['ratio']:.2f}×"
    pages = f"{b['pages']['created']} / {b['updated_pages']}"
    wall_empty = _median([e["wall_per_source"] for e in empty])
    wall_ratio = f"{sp['wall_per_source'] / wall_empty:.2f}×" if wall_empty else "–"
    small_pages = f"{empty[0]['created_pages']} / {empty[0]['updated_pages']}"
    return [
        f"The 12 conflicts-dev sources into a copy of the {b['notes']:,}-note synthetic vault "
        f"(text-indexed in {b['index_s']:.1f} s, random vectors), against the same sources into "
        "an empty vault just before and just after it (median of the two):",
        "",
        "| figure | 10k vault | empty vault | target |",
        "|---|---:|---:|---|",
        f"| seconds per source, median | {sp['seconds_per_source_median']:.3f} | "
        f"{b['empty_median']:.3f} | |",
        f"| ratio (10k / empty) | {ratio} | | ≤ 2× |",
        f"| wall clock per source (ratio) | {sp['wall_per_source']:.3f} ({wall_ratio}) | "
        f"{wall_empty:.3f} | |",
        f"| seconds per 1,000 words | {sp['seconds_per_1000_words']:.3f} | "
        f"{_median([e['seconds_per_1000_words'] for e in empty]):.3f} | |",
        f"| `Companion.ingest()` wall clock, s | {sp['wall_s']:.2f} | "
        f"{_median([e['wall_s'] for e in empty]):.2f} | |",
        f"| pages created / updated | {pages} | {small_pages} | |",
        f"| citation validity | {b['citations']['valid']}/{b['citations']['facts']} | | 100% |",
        f"| phantom links; linkage violations; orphans | {b['phantoms']['phantoms']}; "
        f"{b['linkage']['violations']}; {b['orphans']['orphans']} | | 0; 0; 0 |",
    ]


def text_table(data: dict[str, Any]) -> str:
    """The same figures as a plain table for the terminal."""
    out = []
    for name, c in data["corpora"].items():
        out.append(f"== {name}")
        for label, value, target in corpus_rows(c):
            out.append(f"  {label:<58} {value:<40} {target}")
    return "\n".join(out) + "\n"


def write_doc(section: str) -> None:
    write_section(BEGIN, END, section)


# -- main ------------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(
        prog="python -m bench.ingest",
        description="ingest on the product's path: what it writes, checked, and how fast",
    )
    mode = ap.add_mutually_exclusive_group()
    mode.add_argument("--quick", action="store_true", help="checks 1-9 (the default)")
    mode.add_argument("--full", action="store_true", help="1-9 and the 10k-note vault")
    ap.add_argument("--big", action="store_true", help="add the 10k-note vault to --quick")
    ap.add_argument("--no-daemon", action="store_true", help="skip the PDF under a daemon")
    ap.add_argument("--real-model", action="store_true", help="the default embedding model")
    ap.add_argument("--pdf-pages", type=int, default=100)
    ap.add_argument("--idle-queries", type=int, default=200, help="searches before the drop")
    ap.add_argument(
        "--repeat", type=int, help="fresh ingests of each corpus for the timings (1; --full 3)"
    )
    ap.add_argument("--notes", type=int, default=10_000, help="notes in the big vault")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--json", type=Path, help="write the results as JSON to this file")
    ap.add_argument("--doc", action="store_true", help="rewrite docs/benchmarks.md's section")
    return ap.parse_args(argv)


def shown_args(argv: list[str]) -> list[str]:
    """The options that change what is measured (not where the results go)."""
    out, skip = [], False
    for arg in argv:
        if skip:
            skip = False
        elif arg == "--json":
            skip = True
        elif arg != "--doc" and not arg.startswith("--json="):
            out.append(arg)
    return out


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    backend = None if args.real_model else "fake"
    if backend:
        os.environ["COMPANION_EMBED_BACKEND"] = backend
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    truth = json.loads((CONFLICTS / "truth.json").read_text(encoding="utf-8"))
    started = time.perf_counter()
    data: dict[str, Any] = {
        "mode": "full" if args.full else "quick",
        "argv": shown_args(sys.argv[1:] if argv is None else argv),
        "machine": machine(),
        "embeddings": "the default model" if args.real_model else "COMPANION_EMBED_BACKEND=fake",
        "load_start": list(os.getloadavg()),
        "corpora": {},
    }
    log(f"load {fmt_load(data['load_start'])}; work in {WORK}")
    repeat = args.repeat or (3 if args.full else 1)
    data["corpora"]["conflicts-dev"] = run_corpus(
        "conflicts-dev", setup_conflicts, backend, truth, repeat
    )
    data["corpora"]["example"] = run_corpus("example", setup_example, backend, None, repeat)
    if not args.no_daemon:
        log(f"pdf: {args.pdf_pages} pages under `companion watch`")
        data["pdf"] = pdf_under_daemon(backend, args.pdf_pages, args.idle_queries)
    if args.full or args.big:
        data["big"] = big_vault(backend, args.notes, args.seed)
    data["load_end"] = list(os.getloadavg())
    data["total_s"] = time.perf_counter() - started
    section = render(data)
    print(text_table(data))
    print(section)
    if args.json:
        args.json.write_text(json.dumps(data, indent=1, default=str), encoding="utf-8")
        log(f"wrote {args.json}")
    if args.doc:
        write_doc(section)
        log(f"wrote {DOC.relative_to(REPO)}")
    log(f"done in {data['total_s']:.0f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
