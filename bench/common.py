"""What the benchmarks share: where things are, the synthetic vaults, opening the product's own
`Companion`, filling vectors, the machine's description and the results document's markers.

`bench.run` (the suites) and `bench.daemon` (the daemon's freshness and latency) both import this
module and never each other.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from bench import synth

REPO = Path(__file__).resolve().parents[1]
CACHE = REPO / "bench" / ".cache"
DOC = REPO / "docs" / "benchmarks.md"
BEGIN = "<!-- bench:results:begin (written by `python -m bench.run`; edits inside are lost) -->"
END = "<!-- bench:results:end -->"
GENERATED = ("index.md", "log.md")
REAL_SAMPLE = 128  # chunks embedded with the real model when filling the vector table


def log(msg: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def _synth_version() -> str:
    import hashlib

    return hashlib.sha256(Path(synth.__file__).read_bytes()).hexdigest()[:12]


def vault_for(n: int, seed: int) -> tuple[Path, dict[str, Any]]:
    """A cached synthetic vault of n notes (regenerated when the generator changed)."""
    path = CACHE / f"vault-{n}-s{seed}"
    marker = CACHE / f"vault-{n}-s{seed}.json"
    version = _synth_version()
    if marker.exists():
        info = json.loads(marker.read_text())
        if info.get("version") == version and path.is_dir():
            clean_generated(path)
            return path, info
    log(f"generating {n:,}-note vault (seed {seed}) -> {path}")
    stats = synth.generate(n, path, seed)
    deg = np.array(stats.in_degree)
    info = {
        "version": version,
        "notes": stats.notes,
        "attachments": stats.attachments,
        "words": stats.words,
        "megabytes": round(stats.bytes / 1e6, 1),
        "links": stats.links,
        "unresolved_links": stats.unresolved_links,
        "ambiguous_links": stats.ambiguous_links,
        "in_degree_median": int(np.median(deg)),
        "in_degree_max": int(deg.max()),
        "generate_s": round(stats.seconds, 2),
    }
    marker.write_text(json.dumps(info, indent=1))
    return path, info


def clean_generated(vault: Path) -> None:
    """Remove what an earlier index run wrote into the vault (index.md, index/, log.md)."""
    for name in GENERATED:
        (vault / name).unlink(missing_ok=True)
    shutil.rmtree(vault / "index", ignore_errors=True)


def fresh_state(name: str) -> Path:
    state = CACHE / "state" / name
    shutil.rmtree(state, ignore_errors=True)
    state.parent.mkdir(parents=True, exist_ok=True)
    return state


def open_app(vault: Path, state: Path, backend: str | None = None) -> Any:
    from companion.app import Companion
    from companion.config import load_settings

    return Companion(load_settings(vault, state_dir=state, embed_backend=backend))


def fill_vectors(app: Any, seed: int, real: int = REAL_SAMPLE) -> dict[str, Any]:
    """Vectors for every pending chunk via the store's own vectors.add: the real model for a
    deterministic sample of `real` chunks (0: the model is not loaded), random unit vectors for
    the rest."""
    info = app.model
    store = app.store
    t0 = time.perf_counter()
    store.vectors.ensure(info.fingerprint, info.dim)
    pending = sorted(store.vectors.pending(info.fingerprint))
    rng = np.random.default_rng(seed)
    real_ix = set(rng.choice(len(pending), size=min(real, len(pending)), replace=False))
    sample = [pending[i] for i in sorted(real_ix)]
    vecs = app.embedder.embed([t for _, t in sample]) if sample else np.zeros((0, info.dim))
    store.vectors.add(
        info.fingerprint, [(h, v.tobytes()) for (h, _), v in zip(sample, vecs, strict=True)]
    )
    rest = [h for i, (h, _) in enumerate(pending) if i not in real_ix]
    for start in range(0, len(rest), 20_000):
        part = rest[start : start + 20_000]
        r = rng.standard_normal((len(part), info.dim)).astype(np.float32)
        r /= np.linalg.norm(r, axis=1, keepdims=True)
        store.vectors.add(
            info.fingerprint, [(h, v.tobytes()) for h, v in zip(part, r, strict=True)]
        )
    return {"vectors": len(pending), "real": len(sample), "fill_s": time.perf_counter() - t0}


def pct(values: list[float], q: float) -> float:
    return float(np.percentile(np.array(values), q))


def git_state() -> str:
    """HEAD, and whether companion/ differs from it (benchmarks run the working tree)."""
    try:
        rev = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "companion"], cwd=REPO, capture_output=True, text=True
        ).stdout.strip()
    except OSError:
        return "?"
    return rev + (" + uncommitted changes in companion/" if dirty else "")


def machine() -> dict[str, Any]:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_gb = 0.0
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                mem_gb = int(line.split()[1]) / 1024 / 1024
    except OSError:
        pass
    import apsw
    import sentence_transformers
    import torch

    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "usable_cores": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "ram_gb": round(mem_gb, 1),
        "os": platform.platform(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "sentence_transformers": sentence_transformers.__version__,
        "sqlite": apsw.sqlite_lib_version(),
        "git": git_state(),
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
    }


def write_section(begin: str, end: str, text: str) -> None:
    """Put `text` between the `begin` and `end` markers of docs/benchmarks.md (appended with the
    markers at the end when they are not there yet); the rest of the file is left as it is."""
    doc = DOC.read_text(encoding="utf-8")
    if begin in doc and end in doc:
        head, rest = doc.split(begin, 1)
        _, tail = rest.split(end, 1)
        doc = f"{head}{begin}\n{text}{end}{tail}"
    else:
        doc = doc.rstrip("\n") + f"\n\n{begin}\n{text}{end}\n"
    DOC.write_text(doc, encoding="utf-8")


def fmt_load(load: list[float]) -> str:
    return "/".join(f"{x:.2f}" for x in load)


def measured() -> str:
    """ "Measured <date> on <cpu> (<n> cores), load average <1/5/15>, git <commit>." for a
    benchmark section of docs/benchmarks.md."""
    m = machine()
    return (
        f"Measured {m['date']} on {m['cpu']} ({m['cores']} cores), load average "
        f"{fmt_load(list(os.getloadavg()))}, git {m['git']}."
    )


def companion_bin() -> Path:
    """The `companion` command of the interpreter running the benchmark (its venv)."""
    here = Path(sys.executable).parent / "companion"
    return here if here.exists() else REPO / ".venv" / "bin" / "companion"
