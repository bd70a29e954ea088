"""Retrieval evaluation of companion's search on any BEIR-format folder.

    python -m bench.retrieval --data ../shared/data/scifact-dev [--mode bm25|vector|hybrid|all]

The folder holds `corpus.jsonl` (`_id`, `title`, `text`), `queries.jsonl` (`_id`, `text`) and
`qrels.tsv` (`query-id`, `corpus-id`, `score`, with a header line). The harness

1. writes the corpus as a vault of markdown notes, one per document: the document title is the
   note's title (so its file name, made safe for Obsidian) and the text is the body. The notes live
   under `notes/` so no document can collide with the `index.md`/`log.md` companion generates at the
   vault root. A JSON map (vault path -> doc id) is kept beside the vault;
2. indexes that vault with the product (`Companion.index`: sync, then embedding, both with
   progress), in a cache folder keyed by the corpus content, the model fingerprint (which covers the
   chunking settings and `CHUNKER_VERSION`) and this converter's version. A second run finds the
   index built (re-running `index` is a no-op) and only runs queries; an interrupted run resumes,
   because the product only embeds chunks that have no vector yet;
3. runs every query that has judgments through `Companion.search(query, mode=..., limit=100)`, the
   same call the CLI makes, maps hit paths back to doc ids, and scores the rankings with the
   standard BEIR / trec_eval definitions (`ndcg_at_k`, `recall_at_k`, `mrr_at_k` below).

Nothing here re-implements ranking: every number comes from the product's own code path.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import statistics
import sys
import time
import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CONVERT_VERSION = "v1"  # bump when the corpus -> vault conversion changes what a note contains
NOTES_DIR = "notes"
MAX_STEM_BYTES = 180  # file-name budget (UTF-8 bytes) before " (<id>).md"; NAME_MAX is 255
CACHE_ROOT = Path(__file__).resolve().parent / ".cache"
MODES = ("bm25", "vector", "hybrid")
KS = (10, 100)

# Characters Obsidian refuses in file names (or that break a wikilink to the file), plus `/`.
REFUSED_CHARS = frozenset('*"\\/<>:|?#^[]')

Qrels = dict[str, dict[str, int]]  # query id -> doc id -> graded relevance


# -- metrics (BEIR / trec_eval definitions) --------------------------------------------------------


def _relevant(judged: Mapping[str, int]) -> dict[str, int]:
    return {d: g for d, g in judged.items() if g > 0}


def dcg(gains: Sequence[float]) -> float:
    """Discounted cumulative gain with the log2(rank + 1) discount (rank from 1), linear gains."""
    return sum(g / math.log2(i + 2) for i, g in enumerate(gains))


def ndcg_at_k(ranked: Sequence[str], judged: Mapping[str, int], k: int) -> float:
    """nDCG@k: gain = the qrels grade, ideal DCG over *all* judged-relevant docs (trec_eval's
    ndcg_cut). A doc id repeated in `ranked` counts once (at its first rank)."""
    rel = _relevant(judged)
    if not rel:
        return 0.0
    gains = [float(rel.get(d, 0)) for d in _dedupe(ranked)[:k]]
    ideal = dcg(sorted(map(float, rel.values()), reverse=True)[:k])
    return dcg(gains) / ideal if ideal > 0 else 0.0


def recall_at_k(ranked: Sequence[str], judged: Mapping[str, int], k: int) -> float:
    """Relevant docs in the top k / all relevant docs (grade > 0)."""
    rel = _relevant(judged)
    if not rel:
        return 0.0
    return sum(1 for d in _dedupe(ranked)[:k] if d in rel) / len(rel)


def mrr_at_k(ranked: Sequence[str], judged: Mapping[str, int], k: int) -> float:
    """Reciprocal rank of the first relevant doc within the top k, else 0."""
    rel = _relevant(judged)
    for i, d in enumerate(_dedupe(ranked)[:k], start=1):
        if d in rel:
            return 1.0 / i
    return 0.0


def _dedupe(ranked: Iterable[str]) -> list[str]:
    seen: set[str] = set()
    out = []
    for d in ranked:
        if d not in seen:
            seen.add(d)
            out.append(d)
    return out


def score_query(ranked: Sequence[str], judged: Mapping[str, int]) -> dict[str, float]:
    return {
        "ndcg@10": ndcg_at_k(ranked, judged, 10),
        "recall@10": recall_at_k(ranked, judged, 10),
        "recall@100": recall_at_k(ranked, judged, 100),
        "mrr@10": mrr_at_k(ranked, judged, 10),
    }


def evaluate(runs: Mapping[str, Sequence[str]], qrels: Qrels) -> dict[str, float]:
    """Mean of each metric over the queries of `qrels` that have a relevant doc; a query with no
    run counts as an empty ranking (all zeros)."""
    per = [score_query(runs.get(q, ()), j) for q, j in sorted(qrels.items()) if _relevant(j)]
    if not per:
        return {m: 0.0 for m in ("ndcg@10", "recall@10", "recall@100", "mrr@10")}
    return {m: sum(p[m] for p in per) / len(per) for m in per[0]}


# -- BEIR loading ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Doc:
    id: str
    title: str
    text: str


def load_corpus(path: Path) -> list[Doc]:
    docs = []
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                row = json.loads(line)
                docs.append(
                    Doc(str(row["_id"]), str(row.get("title") or ""), str(row.get("text") or ""))
                )
    return docs


def load_queries(path: Path) -> dict[str, str]:
    out = {}
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                row = json.loads(line)
                out[str(row["_id"])] = str(row["text"])
    return out


def load_qrels(path: Path) -> Qrels:
    qrels: Qrels = {}
    with path.open(encoding="utf-8") as fh:
        for n, line in enumerate(fh):
            parts = line.rstrip("\n").split("\t")
            if len(parts) < 3 or (n == 0 and not parts[2].strip().lstrip("-").isdigit()):
                continue  # header or blank
            qrels.setdefault(parts[0], {})[parts[1]] = int(parts[2])
    return qrels


# -- corpus -> vault -------------------------------------------------------------------------------


def _clip_utf8(text: str, limit: int) -> str:
    """At most `limit` UTF-8 bytes, cut at a word boundary when one is near."""
    if len(text.encode("utf-8")) <= limit:
        return text
    cut = text.encode("utf-8")[:limit].decode("utf-8", "ignore")
    head = cut.rsplit(" ", 1)[0]
    return (head if len(head) >= len(cut) // 2 else cut).rstrip(" .")


def safe_stem(title: str, limit: int = MAX_STEM_BYTES) -> str:
    """A file-name stem Obsidian accepts, as close to `title` as possible ("" when nothing is left).

    Refused characters and control characters become spaces, whitespace runs collapse, leading
    dots/spaces go (a leading dot would hide the file from every vault walker) and so do trailing
    dots/spaces (Windows and sync tools refuse them); the result is NFC and at most `limit` bytes.
    """
    text = unicodedata.normalize("NFC", title)
    text = "".join(
        " " if c in REFUSED_CHARS or unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp") else c
        for c in text
    )
    text = " ".join(text.split()).lstrip(". ").rstrip(". ")
    return _clip_utf8(text, limit)


def _id_label(doc_id: str) -> str:
    label = safe_stem(doc_id, 60)
    return label or "id-" + hashlib.sha256(doc_id.encode()).hexdigest()[:10]


def _key(stem: str) -> str:
    """Names that clash on a case-insensitive file system (and in Obsidian's link resolution)."""
    return unicodedata.normalize("NFC", stem).casefold()


def note_paths(docs: Sequence[Doc]) -> dict[str, str]:
    """Vault path (`notes/<stem>.md`) for each doc id, deterministic for a given corpus.

    The first document (in corpus order) to claim a stem keeps it; a later one with the same
    (case-insensitive) stem gets ` (<doc id>)` appended. A document whose title leaves nothing
    usable is named by its id. Two documents with the same id are an error."""
    ids = [d.id for d in docs]
    if len(set(ids)) != len(ids):
        dupes = sorted({i for i in ids if ids.count(i) > 1})[:5]
        raise ValueError(f"duplicate document ids in corpus: {dupes}")
    stems = {d.id: safe_stem(d.title) or _id_label(d.id) for d in docs}
    used: set[str] = set()
    chosen: dict[str, str] = {}
    later: list[Doc] = []
    for d in docs:
        key = _key(stems[d.id])
        if key in used:
            later.append(d)
        else:
            used.add(key)
            chosen[d.id] = stems[d.id]
    for d in later:
        base = f"{stems[d.id]} ({_id_label(d.id)})"
        name, n = base, 2
        while _key(name) in used:
            name, n = f"{base} {n}", n + 1
        used.add(_key(name))
        chosen[d.id] = name
    return {doc_id: f"{NOTES_DIR}/{stem}.md" for doc_id, stem in chosen.items()}


def note_text(doc: Doc) -> str:
    """The note body: the document text, made safe from being read as frontmatter."""
    text = doc.text.replace("\r\n", "\n").strip()
    if text.startswith("---"):
        text = "\u200b" + text  # a leading `---` line would be parsed as YAML frontmatter
    return text + "\n"


def write_vault(docs: Sequence[Doc], vault: Path) -> dict[str, str]:
    """Write one note per doc under `vault/notes/`; returns {vault path: doc id}.

    Files whose bytes are already right are left untouched (so their mtime stays and the product's
    next sync skips them); stray notes from an earlier conversion are removed."""
    paths = note_paths(docs)
    folder = vault / NOTES_DIR
    folder.mkdir(parents=True, exist_ok=True)
    (vault / ".obsidian").mkdir(exist_ok=True)
    wanted = set()
    for doc in docs:
        rel = paths[doc.id]
        wanted.add(rel)
        target = vault / rel
        data = note_text(doc).encode("utf-8")
        try:
            if target.read_bytes() == data:
                continue
        except FileNotFoundError:
            pass
        target.write_bytes(data)
    for old in folder.glob("*.md"):
        if f"{NOTES_DIR}/{old.name}" not in wanted:
            old.unlink()
    return {rel: doc_id for doc_id, rel in paths.items()}


# -- the cached, indexed vault -----------------------------------------------------------------------


def file_digest(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def cache_dir(data: Path, model_fingerprint: str, root: Path = CACHE_ROOT) -> Path:
    """`<root>/<dataset name>-<key>`: key = corpus bytes + model fingerprint (window, chunk size,
    CHUNKER_VERSION) + converter version. Queries and qrels do not affect the index."""
    key = hashlib.sha256(
        f"{file_digest(data / 'corpus.jsonl')}|{model_fingerprint}|{CONVERT_VERSION}".encode()
    ).hexdigest()[:16]
    name = "".join(c if c.isalnum() or c in "-_." else "_" for c in data.resolve().name) or "data"
    return root / f"{name}-{key}"


class Throttled:
    """A (done, total) progress callback printing a line to stderr at most every `every` seconds."""

    def __init__(self, label: str, every: float = 5.0) -> None:
        self.label, self.every = label, every
        self.started = self.last = time.perf_counter()
        self.first = True

    def __call__(self, done: int, total: int) -> None:
        now = time.perf_counter()
        if self.first:
            self.started = self.last = now
            self.first = False
        if done < total and now - self.last < self.every:
            return
        self.last = now
        elapsed = now - self.started
        rate = done / elapsed if elapsed > 0 else 0.0
        eta = (total - done) / rate if rate > 0 else float("nan")
        pct = 100.0 * done / total if total else 100.0
        print(
            f"  {self.label}: {done}/{total} ({pct:.0f}%) {rate:.1f}/s, {elapsed:.0f}s elapsed,"
            f" ETA {eta:.0f}s",
            file=sys.stderr,
            flush=True,
        )


@dataclass(slots=True)
class Built:
    app: Any  # companion.app.Companion
    docmap: dict[str, str]  # vault path -> doc id
    cache: Path
    timings: dict[str, Any] = field(default_factory=dict)


def build(
    data: Path,
    *,
    model: str | None = None,
    backend: str | None = None,
    embed: bool = True,
    cache_root: Path = CACHE_ROOT,
    rebuild: bool = False,
    log: Callable[[str], None] = lambda s: print(s, file=sys.stderr, flush=True),
) -> Built:
    """Convert (once) and index the corpus with the product; embed when `embed`."""
    from companion.app import Companion
    from companion.config import DEFAULT_EMBED_BACKEND, DEFAULT_MODEL
    from companion.embed import model_info

    backend = backend or os.environ.get("COMPANION_EMBED_BACKEND") or DEFAULT_EMBED_BACKEND
    info = model_info(model or DEFAULT_MODEL, backend)
    cache = cache_dir(data, info.fingerprint, cache_root)
    vault, state, mapfile = cache / "vault", cache / "state", cache / "docmap.json"
    timings: dict[str, Any] = {"cache": str(cache), "model": info.fingerprint}
    if rebuild and cache.exists():
        import shutil

        shutil.rmtree(cache)
    cache.mkdir(parents=True, exist_ok=True)
    if mapfile.is_file():
        docmap = json.loads(mapfile.read_text(encoding="utf-8"))
        log(f"vault: cached, {len(docmap)} notes in {vault}")
    else:
        started = time.perf_counter()
        docs = load_corpus(data / "corpus.jsonl")
        docmap = write_vault(docs, vault)
        tmp = mapfile.with_suffix(".tmp")
        tmp.write_text(json.dumps(docmap, ensure_ascii=False, sort_keys=True), encoding="utf-8")
        os.replace(tmp, mapfile)  # written last: its presence means the vault is complete
        (cache / "key.json").write_text(
            json.dumps(
                {
                    "data": str(data.resolve()),
                    "corpus_sha256": file_digest(data / "corpus.jsonl"),
                    "model": info.fingerprint,
                    "convert": CONVERT_VERSION,
                },
                indent=2,
            )
            + "\n",
            encoding="utf-8",
        )
        timings["convert_s"] = round(time.perf_counter() - started, 2)
        log(f"vault: wrote {len(docmap)} notes to {vault} in {timings['convert_s']}s")
    app = Companion.open(str(vault), state_dir=str(state), model=model, embed_backend=backend)
    started = time.perf_counter()
    result = app.index(
        embed=embed, progress=Throttled("sync"), embed_progress=Throttled("embed", 10.0)
    )
    timings["index_s"] = round(time.perf_counter() - started, 2)
    timings["sync_s"] = round(result.sync.seconds, 2)
    timings["parsed"] = result.sync.parsed
    timings["embedded"] = result.embedded
    timings["embed_s"] = round(result.embed_seconds, 2)
    if result.embedded:
        timings["embed_chunks_per_s"] = round(result.embedded / result.embed_seconds, 1)
    status = app.status().as_json()
    timings["chunks"] = status["chunks"]
    timings["embedded_total"] = status["embedded"]
    log(
        f"index: {result.sync.parsed} notes parsed in {result.sync.seconds:.1f}s, "
        f"{result.embedded} chunks embedded in {result.embed_seconds:.1f}s; "
        f"{status['notes']} notes, {status['chunks']} chunks, "
        f"{status['embedded']}/{status['embeddable']} embedded"
    )
    return Built(app, docmap, cache, timings)


# -- running queries ---------------------------------------------------------------------------------


@dataclass(slots=True)
class ModeResult:
    mode: str
    metrics: dict[str, float]
    queries: int
    median_ms: float
    p95_ms: float
    runs: dict[str, list[str]]  # query id -> ranked doc ids


def run_mode(
    built: Built,
    mode: str,
    queries: Mapping[str, str],
    qrels: Qrels,
    *,
    limit: int = 100,
    progress: Callable[[int, int], None] | None = None,
) -> ModeResult:
    app = built.app
    if mode != "bm25":
        app.embedder.embed(["warm up"])  # load the model outside the timed queries
    qids = [q for q in sorted(qrels) if q in queries and _relevant(qrels[q])]
    runs: dict[str, list[str]] = {}
    latencies = []
    unknown = 0
    for n, qid in enumerate(qids, start=1):
        started = time.perf_counter()
        hits = app.search(queries[qid], mode=mode, limit=limit)
        latencies.append((time.perf_counter() - started) * 1000.0)
        ranked = []
        for hit in hits:
            doc = built.docmap.get(hit.path)
            if doc is None:
                unknown += 1
            else:
                ranked.append(doc)
        runs[qid] = ranked
        if progress is not None:
            progress(n, len(qids))
    if unknown:
        print(f"  warning: {unknown} hits on paths not in the corpus map", file=sys.stderr)
    latencies.sort()
    return ModeResult(
        mode,
        evaluate(runs, {q: qrels[q] for q in qids}),
        len(qids),
        statistics.median(latencies) if latencies else 0.0,
        latencies[min(len(latencies) - 1, int(0.95 * len(latencies)))] if latencies else 0.0,
        runs,
    )


def format_table(results: Sequence[ModeResult]) -> str:
    head = f"{'mode':<8} {'nDCG@10':>8} {'R@10':>7} {'R@100':>7} {'MRR@10':>7} {'queries':>8} {'median ms':>10}"
    lines = [head, "-" * len(head)]
    for r in results:
        m = r.metrics
        lines.append(
            f"{r.mode:<8} {m['ndcg@10']:>8.4f} {m['recall@10']:>7.4f} {m['recall@100']:>7.4f}"
            f" {m['mrr@10']:>7.4f} {r.queries:>8d} {r.median_ms:>10.1f}"
        )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.retrieval",
        description="nDCG@10, Recall@10/100 and MRR@10 of companion search on a BEIR folder.",
    )
    parser.add_argument("--data", required=True, type=Path, help="BEIR folder")
    parser.add_argument("--mode", default="all", choices=[*MODES, "all"])
    parser.add_argument("--limit", type=int, default=100, help="hits per query (default 100)")
    parser.add_argument("--model", default=None, help="embedding model (default: the product's)")
    parser.add_argument(
        "--backend", default=None, help="embedding backend: int8 or torch (default: the product's)"
    )
    parser.add_argument("--cache", type=Path, default=CACHE_ROOT, help="cache root folder")
    parser.add_argument("--rebuild", action="store_true", help="discard the cached vault and index")
    parser.add_argument("--json", action="store_true", help="print results as JSON on stdout")
    parser.add_argument("--save-runs", type=Path, help="write {mode: {query id: [doc ids]}} here")
    args = parser.parse_args(argv)

    data: Path = args.data
    for name in ("corpus.jsonl", "queries.jsonl", "qrels.tsv"):
        if not (data / name).is_file():
            parser.error(f"{data / name} not found: --data must be a BEIR folder")
    modes = list(MODES) if args.mode == "all" else [args.mode]
    queries = load_queries(data / "queries.jsonl")
    qrels = load_qrels(data / "qrels.tsv")
    built = build(
        data,
        model=args.model,
        backend=args.backend,
        embed=any(m != "bm25" for m in modes),
        cache_root=args.cache,
        rebuild=args.rebuild,
    )
    results = []
    try:
        for mode in modes:
            started = time.perf_counter()
            res = run_mode(
                built, mode, queries, qrels, limit=args.limit, progress=Throttled(f"{mode} queries")
            )
            built.timings[f"{mode}_queries_s"] = round(time.perf_counter() - started, 2)
            results.append(res)
    finally:
        built.app.close()
    if args.save_runs:
        args.save_runs.write_text(json.dumps({r.mode: r.runs for r in results}), encoding="utf-8")
    if args.json:
        out = {
            "data": str(data),
            "limit": args.limit,
            "timings": built.timings,
            "modes": {
                r.mode: {
                    **{k: round(v, 4) for k, v in r.metrics.items()},
                    "queries": r.queries,
                    "median_ms": round(r.median_ms, 2),
                    "p95_ms": round(r.p95_ms, 2),
                }
                for r in results
            },
        }
        print(json.dumps(out, indent=2))
    else:
        print(f"{data} (limit={args.limit}, model {built.timings['model']})")
        print(format_table(results))
        print("timings: " + json.dumps(built.timings))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
