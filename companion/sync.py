"""Reconcile the vault with the index: scan -> plan -> apply.

`scan` walks the vault (stat only) — or, for a watcher batch, stats just the paths it names.
`plan` compares each file's size and mtime with the index and reads, hashes and parses only the
files that differ; a file whose bytes hash the same as before only gets its stat refreshed.
`apply` writes the planned rows in one transaction and, when files appeared or went, re-resolves
the links that could point at them (found by the name key each link is stored with).

Principles kept here: an unreadable file is unknown, not deleted (its rows stay, a problem is
recorded and it is retried next time); a binary, huge or undecodable file is reported with its path
and reason and still exists as a link target; nothing in the vault is ever written by this module.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from companion.config import Settings
from companion.digest import chunk_note, summary_line
from companion.errors import SkippedFile, UnreadableFile
from companion.note import Note
from companion.parse import parse_note
from companion.resolve import Resolver, keys_for_file, name_key
from companion.store import ChunkRow, FileState, LinkRow, PageRow, Store
from companion.vault import (
    IgnoreRules,
    VaultFile,
    check_path,
    content_hash,
    read_note_bytes,
    walk,
)

BATCH = 500
# Measured on 2 cores (docs/benchmarks.md): at 10k notes two spawned workers index ~45% faster
# than one process; at 1k it is a wash (worker start-up eats the gain), so only big batches.
PARALLEL_MIN = 2000
MAX_WORKERS = 4
WALK_CODE = "walk"

Progress = Callable[[int, int], None]
Found = tuple[str, str, int | None]  # (problem code, message, line)


@dataclass(slots=True)
class SyncReport:
    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    touched: int = 0  # stat changed, content identical
    unchanged: int = 0
    relinked: int = 0  # links whose resolution changed because the path set changed
    renamed: list[tuple[str, str]] = field(default_factory=list)  # (old, new): same content hash
    # (old, new) `version` of changed pages whose version changed
    versions: dict[str, tuple[int | None, int | None]] = field(default_factory=dict)
    bumped: list[tuple[str, int, int]] = field(default_factory=list)  # (path, old, new) by `index`
    problems: list[tuple[str, str]] = field(default_factory=list)  # (path, message) found this run
    unreadable: list[str] = field(default_factory=list)  # unknown for now: retry later
    seconds: float = 0.0

    @property
    def changed_anything(self) -> bool:
        return bool(self.added or self.changed or self.removed or self.relinked)

    @property
    def parsed(self) -> int:
        return len(self.added) + len(self.changed)


def record_run(store: Store, report: SyncReport) -> None:
    """Remember the last run that changed something (shown by `companion status`)."""
    summary = {
        "at": time.time(),
        "added": len(report.added),
        "changed": len(report.changed),
        "removed": len(report.removed),
        "seconds": round(report.seconds, 3),
    }
    store.set_meta("last_index", json.dumps(summary))


def file_kind(path: str) -> str:
    lower = path.lower()
    if lower.endswith(".md"):
        return "note"
    if lower.endswith(".canvas"):
        return "canvas"
    return "attachment"


def _json_default(value: Any) -> str:
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value)


def page_row(
    note: Note, file: VaultFile, digest: str, max_chars: int, resolver: Resolver
) -> PageRow:
    """Everything the index stores for a parsed note, links resolved against the vault's paths."""
    props = note.properties
    page_type = props.get("type")
    generated = props.get("generated_by") == "companion"
    # Generated notes (index.md, log.md) are catalogued but never searched or embedded.
    chunks = (
        ()
        if generated
        else tuple(
            ChunkRow(c.seq, c.heading, c.text, c.hash, c.line) for c in chunk_note(note, max_chars)
        )
    )
    links = []
    for link in note.links:
        res = resolver.resolve(link.path, note.path)
        links.append(
            LinkRow(
                link.raw,
                link.path,
                link.subpath,
                link.display,
                link.kind,
                link.line,
                res.target,
                res.ambiguous,
                name_key(link.path),
            )
        )
    return PageRow(
        path=note.path,
        kind=file_kind(note.path),
        title=note.title if note.path.lower().endswith(".md") else note.path.rsplit("/", 1)[-1],
        size=file.size,
        mtime_ns=file.mtime_ns,
        hash=digest,
        type=page_type if isinstance(page_type, str) else None,
        version=note.version,
        properties=json.dumps(props, default=_json_default, ensure_ascii=False, sort_keys=True),
        aliases=note.aliases,
        tags=note.tags,
        summary=summary_line(note),
        excluded=file.excluded,
        generated=generated,
        chunks=chunks,
        links=tuple(links),
    )


def _bare_row(file: VaultFile, digest: str) -> PageRow:
    """A file that exists (a link target) but has no indexed content: attachment or skipped note."""
    name = file.path.rsplit("/", 1)[-1]
    title = name[:-3] if name.lower().endswith(".md") else name
    return PageRow(
        file.path,
        file_kind(file.path),
        title,
        file.size,
        file.mtime_ns,
        digest,
        excluded=file.excluded,
    )


@dataclass(slots=True)
class _Plan:
    """Which files to look at, what went away, and the problems already known for paths."""

    rules: IgnoreRules
    check: list[VaultFile]
    removed: list[str]
    known: dict[str, FileState]
    path_problems: dict[str, list[Found]]  # from walking / stat-ing, by path
    recheck: set[str]  # paths whose problems must be recomputed
    paths: set[str] | None = None  # every current path; None: ask the store (targeted sync)


def sync_vault(
    settings: Settings, store: Store, max_chars: int, progress: Progress | None = None
) -> SyncReport:
    """Bring the whole index in line with the vault on disk; returns what changed."""
    started = time.perf_counter()
    vault = settings.vault
    rules = IgnoreRules.load(vault)
    scanned = walk(vault, rules, skip=_state_inside(settings))
    current = {f.path: f for f in scanned.files}
    known = store.file_states()
    path_problems: dict[str, list[Found]] = {}
    for path, reason in scanned.problems:
        path_problems.setdefault(path, []).append((WALK_CODE, reason, None))
    # Files with problems are looked at every run, so a fixed file loses its problem.
    recheck = store.problem_paths() | set(path_problems)
    check = [
        f
        for f in scanned.files
        if f.path not in known
        or f.path in recheck
        or (known[f.path].size, known[f.path].mtime_ns) != (f.size, f.mtime_ns)
    ]
    plan = _Plan(
        rules, check, sorted(set(known) - set(current)), known, path_problems, recheck, set(current)
    )
    report = _apply(settings, store, plan, max_chars, progress)
    report.unchanged = len(current) - len(check)
    report.seconds = time.perf_counter() - started
    return report


def sync_paths(
    settings: Settings, store: Store, paths: Iterable[str], max_chars: int
) -> SyncReport:
    """Bring the index in line with the disk for just these vault-relative paths (a watcher batch).

    Each path is looked at on disk: a file is (re)indexed when its stat or content changed, a
    path that no longer exists is removed, and a path that cannot be stat-ed is unknown: kept as
    it was, with a problem, and retried. Folders are not expanded here (see the daemon).
    """
    started = time.perf_counter()
    vault = settings.vault
    rules = IgnoreRules.load(vault)
    wanted = sorted(set(paths))
    known = store.file_states(wanted)
    had_problems = store.problem_paths()
    check: list[VaultFile] = []
    removed: list[str] = []
    path_problems: dict[str, list[Found]] = {}
    for rel in wanted:
        state, file, found = check_path(vault, rel, rules)
        if found:
            path_problems[rel] = [(WALK_CODE, p.reason, None) for p in found]
        if state == "file" and file is not None:
            k = known.get(rel)
            if (
                k is None
                or rel in had_problems
                or found
                or (k.size, k.mtime_ns) != (file.size, file.mtime_ns)
            ):
                check.append(file)
        elif state == "missing" and rel in known:
            removed.append(rel)
    recheck = (had_problems & set(wanted)) | set(path_problems)
    plan = _Plan(rules, check, removed, known, path_problems, recheck)
    report = _apply(settings, store, plan, max_chars, None)
    report.unchanged = len(wanted) - len(check) - len(removed)
    report.seconds = time.perf_counter() - started
    return report


def _state_inside(settings: Settings) -> Path | None:
    inside = settings.state_dir.is_relative_to(settings.vault)
    return settings.state_dir if inside else None


def _apply(
    settings: Settings, store: Store, plan: _Plan, max_chars: int, progress: Progress | None
) -> SyncReport:
    """Read, hash and parse the files to check; write every change in one transaction.

    Big batches are parsed in worker processes (`_planned`); rows are written in batches as they
    arrive, so memory stays flat however large the vault is."""
    report = SyncReport(removed=list(plan.removed))
    added = [f.path for f in plan.check if f.path not in plan.known]
    paths = (
        plan.paths
        if plan.paths is not None
        else (set(store.page_paths()) | set(added)) - set(plan.removed)
    )
    resolver = Resolver(paths)
    problems: dict[str, list[Found]] = {}
    written: list[tuple[str, str]] = []  # (path, hash) of rows written, for rename detection
    touched: list[tuple[str, int, int]] = []
    batch: list[PageRow] = []
    with store.transaction():
        store.delete_pages(report.removed)
        planned = _planned(settings, plan, max_chars, resolver, sorted(paths))
        for done, (file, (row, found, same)) in enumerate(planned, 1):
            known = plan.known.get(file.path)
            if found and plan.rules.is_template(file.path):
                # `{{date}}` placeholders are not valid YAML; in a template that is expected.
                found = [p for p in found if p[0] != "yaml"]
            problems[file.path] = plan.path_problems.get(file.path, []) + found
            if any(code == "unreadable" for code, _, _ in found):
                report.unreadable.append(file.path)
            if same:
                touched.append((file.path, file.size, file.mtime_ns))
            elif row is not None:
                batch.append(row)
                written.append((row.path, row.hash))
                if known is None:
                    report.added.append(file.path)
                else:
                    report.changed.append(file.path)
                    if known.version != row.version:
                        report.versions[file.path] = (known.version, row.version)
                if len(batch) >= BATCH:
                    store.put_pages(batch, new=[r.path for r in batch if r.path not in plan.known])
                    batch = []
            if progress is not None and (done % 200 == 0 or done == len(plan.check)):
                progress(done, len(plan.check))
        store.put_pages(batch, new=[r.path for r in batch if r.path not in plan.known])
        store.touch_pages(touched)
        # Problems of paths that are not files (unreadable folders, symlink loops) or gone.
        for path in plan.recheck - {f.path for f in plan.check}:
            problems[path] = plan.path_problems.get(path, [])
        for path, found in problems.items():
            store.replace_problems(path, found)
        appeared = set(report.added) | set(report.removed)
        if appeared:
            names: set[str] = set()
            for path in appeared:
                names |= keys_for_file(path)
            fresh = set(report.added) | set(report.changed)
            report.relinked = _relink(store, resolver, names, skip=fresh)
    report.renamed = _renames(plan, written)
    report.problems = [(p, m) for p, found in problems.items() for _, m, _ in found]
    return report


Planned = tuple[PageRow | None, list[Found], bool]


def _planned(
    settings: Settings, plan: _Plan, max_chars: int, resolver: Resolver, paths: list[str]
) -> Iterator[tuple[VaultFile, Planned]]:
    """`_plan_file` for every file to check, in order; in worker processes for big batches.

    Workers are spawned (not forked: the daemon has threads); each builds its own resolver from
    the vault's paths once, then reads, parses, chunks and resolves. They never touch SQLite, so
    the writer stays single."""
    jobs = [
        (
            settings.vault,
            f,
            plan.known.get(f.path),
            settings.max_note_bytes,
            max_chars,
            f.path in plan.recheck,
        )
        for f in plan.check
    ]
    workers = min(os.cpu_count() or 1, MAX_WORKERS)
    if len(jobs) < PARALLEL_MIN or workers < 2 or not _can_spawn():
        for job in jobs:
            yield job[1], _plan_file(*job, resolver)
        return
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(
        workers, mp_context=context, initializer=_init_worker, initargs=(paths,)
    ) as pool:
        yield from zip(plan.check, pool.map(_plan_job, jobs, chunksize=32), strict=True)


_worker_resolver: Resolver | None = None


def _init_worker(paths: list[str]) -> None:
    global _worker_resolver
    _worker_resolver = Resolver(paths)


def _can_spawn() -> bool:
    """Spawned workers re-import `__main__`: impossible for `python -c` or code read from stdin."""
    main = sys.modules.get("__main__")
    path = getattr(main, "__file__", None)
    return bool(path) and os.path.exists(str(path))


def _plan_job(job: tuple[Path, VaultFile, FileState | None, int, int, bool]) -> Planned:
    assert _worker_resolver is not None, "worker not initialised"
    return _plan_file(*job, _worker_resolver)


def _renames(plan: _Plan, written: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """(old, new) pairs: a removed file whose content hash reappears under a new path."""
    gone = {plan.known[p].hash: p for p in plan.removed if p in plan.known}
    return [(gone[h], p) for p, h in written if p not in plan.known and h in gone]


def _plan_file(
    vault: Path,
    file: VaultFile,
    known: FileState | None,
    max_bytes: int,
    max_chars: int,
    recheck: bool,
    resolver: Resolver,
) -> Planned:
    """(row to write or None, problems, content unchanged) for one file that may have changed."""
    if file_kind(file.path) == "attachment":
        # Attachments are link targets only: their stat is their identity, nothing is read.
        return _bare_or_same(file, f"stat:{file.size}:{file.mtime_ns}", known, [])
    try:
        data = read_note_bytes(vault / file.path, max_bytes)
    except UnreadableFile as exc:
        # Unknown, not deleted: keep whatever the index had and try again next time.
        return None, [("unreadable", _reason(exc, vault / file.path), None)], False
    except SkippedFile as exc:
        stamp = f"skipped:{file.size}:{file.mtime_ns}"
        return _bare_or_same(
            file, stamp, known, [("skipped", _reason(exc, vault / file.path), None)]
        )
    if _stat_of(vault / file.path) != (file.size, file.mtime_ns):
        # Half-written (an editor or sync tool is still at it): unknown for now, retried later.
        return None, [("unreadable", "changed while being read; will retry", None)], False
    digest = content_hash(data)
    same = known is not None and known.hash == digest
    if same and not recheck:
        return None, [], True
    note = parse_note(data, file.path)
    found = [(p.code, p.message, p.line) for p in note.problems]
    if same:
        return None, found, True  # parsed again only to report its problems afresh
    return page_row(note, file, digest, max_chars, resolver), found, False


def _stat_of(path: Path) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_size, st.st_mtime_ns


def _reason(exc: Exception, path: Path) -> str:
    """The error's message without the path it starts with: problems are shown by path already."""
    return str(exc).removeprefix(f"{path}: ")


def _bare_or_same(
    file: VaultFile, stamp: str, known: FileState | None, found: list[tuple[str, str, int | None]]
) -> tuple[PageRow | None, list[tuple[str, str, int | None]], bool]:
    if known is not None and known.hash == stamp:
        return None, found, True
    return _bare_row(file, stamp), found, False


def _relink(store: Store, resolver: Resolver, names: set[str], skip: set[str]) -> int:
    """Re-resolve links that could point at files that appeared or went (by name key), except
    those of pages just written (resolved on the way in). Returns how many changed target."""
    updates = []
    for link_id, source, link_path, target, ambiguous in store.links_to_resolve(names):
        if source in skip:
            continue
        res = resolver.resolve(link_path, source)
        if (res.target, res.ambiguous) != (target, ambiguous):
            updates.append((res.target, res.ambiguous, link_id))
    store.set_link_targets(updates)
    return len(updates)
