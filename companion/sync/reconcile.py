"""Reconcile the vault with the index: scan -> examine -> apply.

`scan` walks the vault (stat only) — or, for a watcher batch, stats just the paths it names.
`examine` (`page.py`) is given only the files whose size or mtime differ from the index, and reads,
hashes and parses them; a file whose bytes hash the same as before only gets its stat refreshed.
`apply` writes the rows in one transaction and, when files appeared or went, re-resolves
the links that could point at them (found by the name key each link is stored with).

Who changed a managed page decides whether it needs a version bump (SYSTEM.md §8). A write credits
itself only the exact bytes it wrote: `credits` maps each path companion just wrote to the hash of
those bytes. A changed managed page whose bytes are not the credited ones is a person's edit and is
flagged `unversioned` in the index (persisted, so the bump can wait for `bump_settle` across runs) —
even when its `version` went up, because a person may have saved on top of companion's write before
this sync read it. Only a page companion did not just write and whose version rose (a writer outside
this process: another machine's companion, a `git pull`) is taken as versioned by that writer.

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
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from companion.config import Settings
from companion.markdown.resolve import Resolver, keys_for_file
from companion.store.db import Store
from companion.store.rows import FileState, PageRow
from companion.sync.page import FileOutcome, Found, examine
from companion.vault.obsidian import IgnoreRules
from companion.vault.walk import VaultFile, WalkResult, check_path, walk

BATCH = 500
# Measured on 2 cores (docs/benchmarks.md): at 10k notes two spawned workers index ~45% faster
# than one process; at 1k it is a wash (worker start-up eats the gain), so only big batches.
PARALLEL_MIN = 2000
MAX_WORKERS = 4
WALK_CODE = "walk"

Progress = Callable[[int, int], None]


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
    unversioned: list[str] = field(default_factory=list)  # managed pages a person edited
    credited: list[str] = field(
        default_factory=list
    )  # changed to exactly the bytes companion wrote
    problems: list[tuple[str, str]] = field(default_factory=list)  # (path, message) found this run
    unreadable: list[str] = field(default_factory=list)  # unknown for now: retry later
    seconds: float = 0.0

    @property
    def changed_anything(self) -> bool:
        return bool(self.added or self.changed or self.removed or self.relinked)

    @property
    def parsed(self) -> int:
        return len(self.added) + len(self.changed)

    def version_went_up(self, path: str) -> bool:
        """Whether this sync saw `path`'s `version` rise (a writer bumped it with its change)."""
        if path not in self.versions:
            return False
        old, new = self.versions[path]
        return new is not None and (old is None or new > old)

    def merge(self, part: SyncReport) -> None:
        """Add a later sync's report to this one (a burst synced in slices)."""
        self.added += part.added
        self.changed += part.changed
        self.removed += part.removed
        self.touched += part.touched
        self.unchanged += part.unchanged
        self.relinked += part.relinked
        self.renamed += part.renamed
        self.versions.update(part.versions)
        self.unversioned = [p for p in self.unversioned if p not in part.credited]
        self.unversioned += part.unversioned
        self.credited = [p for p in self.credited if p not in part.unversioned]
        self.credited += part.credited
        self.problems += part.problems
        self.unreadable += part.unreadable
        self.seconds += part.seconds


def record_run(store: Store, report: SyncReport) -> None:
    """Remember the last run that changed something (shown by `companion status`)."""
    summary = {
        "at": time.time(),
        "added": len(report.added),
        "changed": len(report.changed),
        "removed": len(report.removed),
        "seconds": round(report.seconds, 3),
    }
    store.meta.set("last_index", json.dumps(summary))


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
    credits: Mapping[str, str] = field(default_factory=dict)  # path -> hash companion wrote


def sync_vault(
    settings: Settings,
    store: Store,
    max_chars: int,
    progress: Progress | None = None,
    credits: Mapping[str, str] | None = None,
) -> SyncReport:
    """Bring the whole index in line with the vault on disk; returns what changed."""
    started = time.perf_counter()
    rules, scanned, current, known = _scan(settings, store)
    path_problems: dict[str, list[Found]] = {}
    for path, reason in scanned.problems:
        path_problems.setdefault(path, []).append((WALK_CODE, reason, None))
    # Files with problems are looked at every run, so a fixed file loses its problem.
    recheck = store.pages.problem_paths() | set(path_problems)
    check = [
        f
        for f in scanned.files
        if _stat_differs(f, known)
        or f.path in recheck
        or known[f.path].hash.startswith("template:") != f.template  # a folder became one
    ]
    plan = _Plan(
        rules,
        check,
        sorted(set(known) - set(current)),
        known,
        path_problems,
        recheck,
        set(current),
        credits or {},
    )
    report = _apply(settings, store, plan, max_chars, progress)
    report.unchanged = len(current) - len(check)
    report.seconds = time.perf_counter() - started
    return report


def changed_since(settings: Settings, store: Store) -> int:
    """How many files differ from the index by their stat (added, changed or gone): the walk
    of `sync_vault` alone, nothing read, hashed or written — for a reader that checks the index
    as it is and should say when the vault has moved on."""
    _, scanned, current, known = _scan(settings, store)
    return sum(1 for f in scanned.files if _stat_differs(f, known)) + len(set(known) - set(current))


def _scan(
    settings: Settings, store: Store
) -> tuple[IgnoreRules, WalkResult, dict[str, VaultFile], dict[str, FileState]]:
    """The vault's files by stat (`current`) beside what the index knows of them (`known`). A
    folder that could not be listed is unknown, not empty: what the index knew under it stays
    in `current`."""
    rules = IgnoreRules.load(settings.vault)
    scanned = walk(settings.vault, rules, skip=_state_inside(settings))
    current = {f.path: f for f in scanned.files}
    known = store.pages.file_states()
    for folder in scanned.unknown_dirs:
        for path in known:
            if (folder == "" or path.startswith(folder + "/")) and path not in current:
                current[path] = VaultFile(path, known[path].size, known[path].mtime_ns, False)
    return rules, scanned, current, known


def _stat_differs(f: VaultFile, known: Mapping[str, FileState]) -> bool:
    """A file the index does not have, or has at another size or mtime."""
    state = known.get(f.path)
    return state is None or (state.size, state.mtime_ns) != (f.size, f.mtime_ns)


def sync_paths(
    settings: Settings,
    store: Store,
    paths: Iterable[str],
    max_chars: int,
    credits: Mapping[str, str] | None = None,
    force: bool = False,
) -> SyncReport:
    """Bring the index in line with the disk for just these vault-relative paths (a watcher batch).
    `force` reads and hashes them whatever their stat says (a same-size save in the same clock
    tick as the last read keeps its size and mtime).

    Each path is looked at on disk: a file is (re)indexed when its stat or content changed, a
    path that no longer exists is removed, and a path that cannot be stat-ed is unknown: kept as
    it was, with a problem, and retried. Folders are not expanded here (see the daemon).
    """
    started = time.perf_counter()
    vault = settings.vault
    rules = IgnoreRules.load(vault)
    credited = set(credits or ())
    looked = [(rel, *check_path(vault, rel, rules)) for rel in sorted(set(paths))]
    path_problems: dict[str, list[Found]] = {}
    for _, _, _, found in looked:
        for problem in found:  # keyed by the problem's own (printable) path
            path_problems.setdefault(problem.path, []).append((WALK_CODE, problem.reason, None))
    # A name the store cannot hold (not valid UTF-8) is "ignored" with its problem: only the
    # others are looked up, so one bad path never costs the rest of its batch.
    wanted = [rel for rel, state, _, _ in looked if state != "ignored"]
    known = store.pages.file_states(wanted)
    had_problems = store.pages.problem_paths()
    check: list[VaultFile] = []
    removed: list[str] = []
    for rel, state, file, found in looked:
        if state == "ignored":
            continue
        if state == "file" and file is not None:
            k = known.get(rel)
            if (
                k is None
                or rel in had_problems
                or found
                or force
                or rel in credited  # a same-size write in the same clock tick keeps its stat
                or (k.size, k.mtime_ns) != (file.size, file.mtime_ns)
            ):
                check.append(file)
        elif state == "missing" and rel in known:
            removed.append(rel)
    recheck = (had_problems & set(wanted)) | set(path_problems)
    plan = _Plan(rules, check, removed, known, path_problems, recheck, None, credits or {})
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

    Big batches are parsed in worker processes (`_examined`); rows are written in batches as they
    arrive, so memory stays flat however large the vault is."""
    report = SyncReport(removed=list(plan.removed))
    added = [f.path for f in plan.check if f.path not in plan.known]
    paths = (
        plan.paths
        if plan.paths is not None
        else (set(store.pages.paths()) | set(added)) - set(plan.removed)
    )
    resolver = Resolver(paths)
    problems: dict[str, list[Found]] = {}
    written: list[tuple[str, str]] = []  # (path, hash) of rows written, for rename detection
    touched: list[tuple[str, int, int]] = []
    batch: list[PageRow] = []
    with store.transaction():
        store.pages.delete(report.removed)
        planned = _examined(settings, plan, max_chars, resolver, sorted(paths))
        for done, (file, (row, found, same)) in enumerate(planned, 1):
            known = plan.known.get(file.path)
            problems[file.path] = plan.path_problems.get(file.path, []) + found
            if any(code == "unreadable" for code, _, _ in found):
                report.unreadable.append(file.path)
            if same:
                touched.append((file.path, file.size, file.mtime_ns))
            elif row is not None:
                batch.append(row)
                written.append((row.path, row.hash))
                _record(report, settings, plan, row, known)
                if len(batch) >= BATCH:
                    store.pages.put(batch, new=[r.path for r in batch if r.path not in plan.known])
                    batch = []
            if progress is not None and (done % 200 == 0 or done == len(plan.check)):
                progress(done, len(plan.check))
        store.pages.put(batch, new=[r.path for r in batch if r.path not in plan.known])
        report.renamed = _renames(plan, written)
        _flag(store, settings, plan, report)
        store.pages.touch(touched)
        report.touched = len(touched)
        # Problems of paths that are not files (unreadable folders, symlink loops) or gone.
        for path in plan.recheck - {f.path for f in plan.check}:
            problems[path] = plan.path_problems.get(path, [])
        for path, found in problems.items():
            store.pages.replace_problems(path, found)
        appeared = set(report.added) | set(report.removed)
        if appeared:
            names: set[str] = set()
            for path in appeared:
                names |= keys_for_file(path)
            fresh = set(report.added) | set(report.changed)
            report.relinked = _relink(store, resolver, names, skip=fresh)
    report.problems = [(p, m) for p, found in problems.items() for _, m, _ in found]
    return report


def _flag(store: Store, settings: Settings, plan: _Plan, report: SyncReport) -> None:
    """Record who changed each managed page (`_record`): a person's edit waits for its bump, in
    the index; a renamed page keeps its waiting bump."""
    for old, new in report.renamed:
        if plan.known[old].unversioned and settings.schema.is_managed(new):
            report.unversioned.append(new)
    store.pages.flag_unversioned(
        [(p, True) for p in report.unversioned] + [(p, False) for p in report.credited]
    )
    store.pages.raise_seen(report.added + report.changed)


def _record(
    report: SyncReport, settings: Settings, plan: _Plan, row: PageRow, known: FileState | None
) -> None:
    """Report a new or changed file; for a changed managed page, who made the change: companion
    (these exact bytes were its write, or a writer elsewhere raised the version) or a person
    (everything else: it needs a version bump)."""
    if known is None:
        report.added.append(row.path)
        if row.path in plan.credits and settings.schema.is_managed(row.path):
            # A page companion just created, saved over before this sync read it.
            credited = plan.credits[row.path] == row.hash
            (report.credited if credited else report.unversioned).append(row.path)
        return
    report.changed.append(row.path)
    if known.version != row.version:
        report.versions[row.path] = (known.version, row.version)
    if not settings.schema.is_managed(row.path):
        return
    if row.path in plan.credits:
        person = plan.credits[row.path] != row.hash
    else:
        # A version raised elsewhere (another companion that bumped the edit, a `git pull`) is
        # that writer's.
        person = not report.version_went_up(row.path)
    (report.unversioned if person else report.credited).append(row.path)


def _examined(
    settings: Settings, plan: _Plan, max_chars: int, resolver: Resolver, paths: list[str]
) -> Iterator[tuple[VaultFile, FileOutcome]]:
    """`page.examine` for every file to check, in order; in worker processes for big batches.

    Workers are spawned (not forked: the daemon has threads); each builds its own resolver from
    the vault's paths once, then reads, parses, chunks and resolves. They never touch SQLite, so
    the writer stays single."""
    sources = settings.schema.sources_folder.rstrip("/") + "/"
    jobs = [
        (
            settings.vault,
            f,
            plan.known.get(f.path),
            settings.max_note_bytes,
            max_chars,
            f.path in plan.recheck,
            f.path.startswith(sources),
        )
        for f in plan.check
    ]
    workers = min(os.cpu_count() or 1, MAX_WORKERS)
    if len(jobs) < PARALLEL_MIN or workers < 2 or not _can_spawn():
        for job in jobs:
            yield job[1], examine(*job, resolver)
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


def _plan_job(job: tuple[Path, VaultFile, FileState | None, int, int, bool, bool]) -> FileOutcome:
    assert _worker_resolver is not None, "worker not initialised"
    return examine(*job, _worker_resolver)


def _renames(plan: _Plan, written: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """(old, new) pairs: a removed file whose content hash reappears under a new path."""
    gone = {plan.known[p].hash: p for p in plan.removed if p in plan.known}
    return [(gone[h], p) for p, h in written if p not in plan.known and h in gone]


def _relink(store: Store, resolver: Resolver, names: set[str], skip: set[str]) -> int:
    """Re-resolve links that could point at files that appeared or went (by name key), except
    those of pages just written (resolved on the way in). Returns how many changed target."""
    updates = []
    for link_id, source, link_path, target, ambiguous in store.links.to_resolve(names):
        if source in skip:
            continue
        res = resolver.resolve(link_path, source)
        if (res.target, res.ambiguous) != (target, ambiguous):
            updates.append((res.target, res.ambiguous, link_id))
    store.links.set_targets(updates)
    return len(updates)
