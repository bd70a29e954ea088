"""Reliability: crash a daemon under a person's edits, race CAS writers against each other and a
person, and count what was lost. Real processes and the real CLI only.

    python -m bench.reliability [--vault 13th-age-srd] [--cycles 20] [--writers 8 --updates 200]
    python -m bench.reliability --quick              # small numbers, under ~30 s
    python -m bench.reliability --companion-bin /tmp/before/.venv/bin/companion --quick

Not part of the quick suite (`bench.run`): it measures no speed, it counts losses. Everything runs
on a copy of a shared vault (`/work/shared/data/vaults/NAME`, or any vault folder given as a path)
made under bench/.cache/reliability/ (`--work`), with `COMPANION_STATE_DIR` in a fresh temporary
folder per run and `COMPANION_EMBED_BACKEND=fake` so no model is loaded (a release without the
`fake` backend runs its default model instead; the output says which), and
`COMPANION_BUMP_SETTLE` set to the settle window, so the daemon's version bumps of a person's edits
happen inside each cycle rather than after the product's 5-minute default. The companion is the
command `--companion-bin` names (default: this venv's `companion`), so the same benchmark gives
the before and after of a fix.

Phase 1, kill -9 cycles (`--cycles N`). The copy gets a few managed pages (`wiki/`, `version: 1`),
the person adopts it (`reliability_person.Person`: every file, byte for byte), it is indexed once
(`companion index --no-embed`) and `companion watch` starts. Each cycle: a burst of `--ops` person
edits (appended lines to unmanaged notes and to managed pages, new notes, renames, deletes: plain
file writes a few ms apart) runs in a thread; at a random moment — two cycles in three inside the
burst, the third in the settle window after it, where the daemon bumps versions — the daemon's
process group gets SIGKILL; a new `companion watch` starts at once while the burst goes on. Once
`companion status --json` shows the new daemon and its queues (events, settling, bumps, retries;
not embedding, which writes nothing a check reads) have been empty for a while, the cycle is
checked: the index matches the disk (`index_vs_disk`: every markdown file on disk has a `pages`
row with the sha256 of its bytes — or its stat, for a row the index keeps by stat alone — and no
row names a file that is gone; read from the index database with sqlite3 in read-only mode, which
works the same on an old release's index) and no person's byte changed (`Person.check`: unmanaged
files exact; managed pages exact once the frontmatter `version:`/`updated:` lines — companion's
single values, SYSTEM.md §7–§8 — are removed on both sides; no stray note). A cycle survives when
the daemon was alive when killed, came back and went idle within `--wait` seconds, the index
disagrees about no file it did not already disagree about at the last check (a mismatch is the
cycle's that made it, not every later one's; a new one is looked at again after another settle
window, to tell "reported idle too early" from "never saw it"), and no person's byte changed
(damage found is adopted, so it too is counted once). Two cycles in a row whose daemon never
goes idle stop the phase: the rest would only wait out the same timeout.

Phase 2, CAS writers (`--writers W --updates U`), once without a daemon and once with one (or one
of them: `--no-daemon-only`, `--daemon-only`), each on a fresh copy and state. `--pages K` managed
pages are created (`wiki/`, `version: 1`). W threads each run U updates, every one its own
`companion update` process: read the page (its bytes, its frontmatter `version` V), append the
unique line `writer-W-update-I` to its body, `companion update PAGE --expect-version V --body-file
F --json`; exit 3 (conflict) or 75 (busy) means re-read and retry, up to `--attempts` times; any
other exit is counted as an error (and retried the same way: an old release says "busy" with
exit 1, and its writers should still get their updates in). Meanwhile the person appends a
unique `person-J` line every 0.5–2 s (Obsidian's cadence) to one of the managed pages or one of a
few unmanaged notes. At the end (the
daemon idle; without one, after a last `companion index --no-embed`) a *lost update* is an exit-0
update whose line is not a line of the final page, a *double commit* is two exit-0 updates that
report the same new version of one page (the CAS let both through), and every person line must
still be there (`Person.check`: the managed pages' person lines in order; the unmanaged notes
byte for byte).

The closing note: cycles survived / N, updates lost (must be 0), bytes of people's text changed
(must be 0). The exit status is 1 when any of them is off, when phase 1 stopped early, or when a
command failed outright (an exit other than 0, 3, 75: nothing was proven then), 2 when the
benchmark could not start (no vault, a companion that cannot index a one-note vault).

Time: with the defaults on the ~1,000-note vault, phase 1 takes about 3 minutes on 2 cores when
the daemon behaves (a cycle is the burst, a restart and the 3 s settle) and phase 2 roughly
8 + 6 minutes (1,600 update processes a run); `--quick` (3 cycles, 4 × 5 updates, the ~100-note
vault, settle 1 s) about 30 s.
Losses are reported as found: the product is being fixed while this exists, and a benchmark
that hid them would be worthless.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.common import CACHE, REPO, companion_bin, git_state, log
from bench.reliability_person import Damage, IndexCheck, Person, index_vs_disk, lost_lines

VAULTS = REPO.parent / "shared" / "data" / "vaults"
DEFAULT_VAULT = "13th-age-srd"  # ~1,000 notes: the medium one
QUICK_VAULT = "kepano-obsidian"  # ~100 notes
WORK = CACHE / "reliability"
IDLE_TIMEOUT = 60.0  # an idle daemon over a 1,000-note vault is idle within seconds
GIVE_UP_AFTER = 2  # cycles in a row whose daemon never came back idle: the rest would not either
IDLE_QUIET = 1.5  # seconds of empty queues that count as idle (> the watcher's 1 s max delay)
PERSON_EVERY = (0.5, 2.0)  # seconds between a person's saves in phase 2
PERSON_NOTES = 4  # unmanaged notes the person appends to in phase 2
_VERSION = re.compile(r"^version[ \t]*:[ \t]*(\d+)[ \t]*$", re.MULTILINE)


class BenchError(Exception):
    """The benchmark itself cannot go on (no vault, a daemon that never starts)."""


# -- the CLI as a user runs it ---------------------------------------------------------------------


@dataclass(slots=True)
class Cli:
    """`companion` as separate processes on one vault copy and one state folder."""

    bin: str
    vault: Path
    state: Path
    backend: str | None  # COMPANION_EMBED_BACKEND, or None for the release's default
    # COMPANION_BUMP_SETTLE: a person's edit of a managed page is bumped after this much quiet
    # (the product's default is 5 minutes; here the settle window, so bumps happen in the run).
    bump_settle: float | None = None

    @property
    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("COMPANION_")}
        env["COMPANION_STATE_DIR"] = str(self.state)
        env["TOKENIZERS_PARALLELISM"] = "false"
        if self.backend:
            env["COMPANION_EMBED_BACKEND"] = self.backend
        if self.bump_settle is not None:
            env["COMPANION_BUMP_SETTLE"] = f"{self.bump_settle:g}"
        return env

    def run(self, *args: str, timeout: float = 300.0) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [self.bin, *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def index(self) -> dict[str, Any]:
        done = self.run("index", str(self.vault), "--no-embed", "--json")
        if done.returncode != 0:
            raise BenchError(f"companion index failed ({done.returncode}): {done.stderr[-800:]}")
        result: dict[str, Any] = json.loads(done.stdout)
        return result

    def status(self) -> dict[str, Any] | None:
        """`companion status --json`, or None when it fails (a daemon half-started, say)."""
        try:
            done = self.run("status", "--json", "--vault", str(self.vault), timeout=60)
        except subprocess.TimeoutExpired:
            return None
        if done.returncode != 0:
            return None
        try:
            info: dict[str, Any] = json.loads(done.stdout)
        except json.JSONDecodeError:
            return None
        return info

    def database(self) -> Path:
        info = self.status()
        if info is None or "database" not in info:
            raise BenchError("`companion status --json` does not name the index database")
        return Path(info["database"])


# -- the daemon ------------------------------------------------------------------------------------


@dataclass(slots=True)
class Daemon:
    """`companion watch` as a subprocess in its own process group (so SIGKILL takes its workers
    too, as a crash of the machine would), its output in a log file per start."""

    cli: Cli
    logs: Path
    settle: float
    proc: subprocess.Popen[bytes] | None = None
    starts: int = 0
    tracebacks: list[str] = field(default_factory=list)

    def start(self) -> None:
        self.starts += 1
        self.logs.mkdir(parents=True, exist_ok=True)
        out = open(self._log(), "wb")  # noqa: SIM115 - the child writes it; closed after Popen
        try:
            self.proc = subprocess.Popen(
                [self.cli.bin, "watch", str(self.cli.vault), "--settle", f"{self.settle:g}"],
                env=self.cli.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        finally:
            out.close()

    def _log(self) -> Path:
        return self.logs / f"watch-{self.starts:03d}.log"

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def wait_ready(self, timeout: float) -> float:
        """Seconds until `status --json` shows this daemon (its start-up reconcile is done then:
        the daemon answers `status` on its writer thread)."""
        started = time.perf_counter()
        while time.perf_counter() - started < timeout:
            if not self.alive():
                raise BenchError(f"the daemon exited ({self._exit()}); {self._tail()}")
            info = self.cli.status()
            daemon = (info or {}).get("daemon")
            if daemon and self.proc and daemon.get("daemon", {}).get("pid") == self.proc.pid:
                return time.perf_counter() - started
            time.sleep(0.1)
        raise BenchError(f"the daemon was not ready after {timeout:g}s; {self._tail()}")

    def wait_idle(self, timeout: float) -> float:
        """Seconds until its queues (events, settling pages, bumps, retries) stay empty for
        IDLE_QUIET seconds. Embedding is left out: it writes nothing a check reads."""
        started = time.perf_counter()
        quiet_since: float | None = None
        queue: dict[str, Any] | None = None
        while time.perf_counter() - started < timeout:
            if not self.alive():
                raise BenchError(f"the daemon exited ({self._exit()}); {self._tail()}")
            info = self.cli.status() or {}
            queue = ((info.get("daemon") or {}).get("queue")) or None
            now = time.perf_counter()
            busy = queue is None or any(
                queue.get(k, 0) for k in ("events", "waiting_to_settle", "bumps", "retries")
            )
            if busy:
                quiet_since = None
            elif quiet_since is None:
                quiet_since = now
            elif now - quiet_since >= IDLE_QUIET:
                return now - started
            time.sleep(0.2)
        raise BenchError(
            f"the daemon was not idle after {timeout:g}s (its queue: {queue}); {self._tail()}"
        )

    def kill9(self) -> bool:
        """SIGKILL the daemon's process group; False when it was already dead."""
        assert self.proc is not None
        was_alive = False
        if self.proc.returncode is None:  # not reaped yet: its pid, and so its group, are ours
            was_alive = _running(self.proc.pid)
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait()
        self._scan()
        return was_alive

    def stop(self) -> None:
        """SIGTERM (a clean stop), SIGKILL if it has not stopped within 30 s."""
        if self.proc is None:
            return
        if self.alive():
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self._scan()
        self.proc = None

    def _exit(self) -> str:
        code = self.proc.poll() if self.proc else None
        return f"exit code {code}"

    def _tail(self) -> str:
        try:
            text = self._log().read_text(errors="replace")
        except OSError:
            return "no log"
        return "its log ends: " + " | ".join(text.strip().splitlines()[-6:])

    def _scan(self) -> None:
        """Keep the last line of every traceback the daemon printed (an error it survived)."""
        try:
            lines = self._log().read_text(errors="replace").splitlines()
        except OSError:
            return
        for i, line in enumerate(lines):
            if line.startswith("Traceback"):
                rest = [x for x in lines[i + 1 :] if x and not x.startswith(" ")]
                self.tracebacks.append(f"{self._log().name}: {rest[0] if rest else line}")


def _running(pid: int) -> bool:
    """True unless the process has exited (a zombie not yet reaped has exited)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


# -- setting up a copy -----------------------------------------------------------------------------


def managed_page(title: str) -> bytes:
    """A managed concept page at version 1, with SYSTEM.md's required properties."""
    return (
        "---\n"
        "type: concept\n"
        "version: 1\n"
        "tags: [reliability]\n"
        "sources: []\n"
        "updated: 2026-01-01T00:00:00Z\n"
        "---\n"
        f"# {title}\n\n"
        "A page that the reliability benchmark's person and writers share.\n"
    ).encode()


def fresh_copy(source: Path, work: Path, name: str) -> Path:
    """A copy of `source` at work/name/vault (never the source itself)."""
    dest = (work / name / "vault").resolve()
    if dest == source.resolve() or dest.is_relative_to(source.resolve()):
        raise BenchError(f"the working copy {dest} would be inside the vault {source}")
    shutil.rmtree(dest.parent, ignore_errors=True)
    dest.parent.mkdir(parents=True)
    shutil.copytree(source, dest, symlinks=True)
    return dest


def is_managed_for(vault: Path) -> Callable[[str], bool]:
    """The vault's own SYSTEM.md (or the default one) decides what is managed."""
    from companion.config import load_settings

    with tempfile.TemporaryDirectory() as scratch:
        managed: Callable[[str], bool] = load_settings(vault, state_dir=scratch).schema.is_managed
        return managed


def add_pages(person: Person, prefix: str, n: int) -> list[str]:
    pages = [f"wiki/concepts/{prefix} {i + 1}.md" for i in range(n)]
    for rel, title in zip(pages, (Path(p).stem for p in pages), strict=True):
        person.create(rel, managed_page(title))
    return pages


# -- phase 1: kill -9 cycles -----------------------------------------------------------------------


@dataclass(slots=True)
class Cycle:
    n: int
    ops: int
    kill_at_s: float
    in_burst: bool
    was_alive: bool
    ready_s: float | None = None
    idle_s: float | None = None
    index: IndexCheck | None = None
    new_mismatches: list[str] = field(default_factory=list)  # not mismatched at the last check
    persists: bool | None = None  # the new ones still there after a further settle window
    damage: list[Damage] = field(default_factory=list)
    error: str = ""

    @property
    def survived(self) -> bool:
        return (
            self.was_alive
            and not self.error
            and self.index is not None
            and not self.index.error
            and not self.new_mismatches
            and not self.damage
        )

    def as_json(self) -> dict[str, Any]:
        return {
            "cycle": self.n,
            "ops": self.ops,
            "kill_at_s": round(self.kill_at_s, 3),
            "kill_in_burst": self.in_burst,
            "daemon_alive_at_kill": self.was_alive,
            "restart_to_ready_s": None if self.ready_s is None else round(self.ready_s, 2),
            "ready_to_idle_s": None if self.idle_s is None else round(self.idle_s, 2),
            "index": self.index.as_json() if self.index else None,
            "index_new_mismatches": self.new_mismatches,
            "index_mismatch_persists": self.persists,
            "damage": [d.as_json() for d in self.damage],
            "person_bytes_changed": sum(d.bytes for d in self.damage),
            "error": self.error,
            "survived": self.survived,
        }


def kill_cycles(args: argparse.Namespace, source: Path, rng: random.Random) -> dict[str, Any]:
    vault = fresh_copy(source, args.work, "cycles")
    state = Path(tempfile.mkdtemp(prefix="companion-reliability-cycles-"))
    cli = Cli(args.companion_bin, vault, state, args.backend, args.settle)
    person = Person(vault, is_managed_for(vault))
    person.adopt()
    add_pages(person, "Reliability cycle page", args.pages)
    log(f"cycles: indexing the copy {vault} ({len(person.expected)} files)")
    cli.index()
    database = cli.database()
    baseline = index_vs_disk(vault, database)
    daemon = Daemon(cli, args.work / "cycles" / "logs", args.settle)
    cycles: list[Cycle] = []
    known = baseline.paths()  # index mismatches already reported (the baseline's, at first)
    aborted = ""
    try:
        daemon.start()
        daemon.wait_ready(args.wait)
        daemon.wait_idle(args.wait)
        for n in range(1, args.cycles + 1):
            if not daemon.alive():  # the last restart failed: one more try
                daemon.start()
                daemon.wait_ready(args.wait)
            cycle = one_cycle(args, n, daemon, person, database, rng, known)
            cycles.append(cycle)
            if len(cycles) >= GIVE_UP_AFTER and all(c.error for c in cycles[-GIVE_UP_AFTER:]):
                raise BenchError(
                    f"the daemon did not come back idle {GIVE_UP_AFTER} cycles in a row; "
                    f"stopped after cycle {n} of {args.cycles}"
                )
    except BenchError as exc:
        aborted = str(exc)
        log(f"cycles: {aborted}")
    finally:
        daemon.stop()
        if not args.keep:
            shutil.rmtree(state, ignore_errors=True)
    return {
        "vault_copy": str(vault),
        "baseline_index": baseline.as_json(),
        "cycles": [c.as_json() for c in cycles],
        "survived": sum(c.survived for c in cycles),
        "ran": len(cycles),
        "aborted": aborted,
        "index_mismatched_at_end": len(cycles[-1].index.paths())
        if cycles and cycles[-1].index
        else 0,
        "person_ops": dict(person.ops),
        "person_bytes_changed": sum(d.bytes for c in cycles for d in c.damage),
        "hidden_files": sorted(person.hidden),
        "daemon_starts": daemon.starts,
        "daemon_tracebacks": daemon.tracebacks,
    }


def one_cycle(
    args: argparse.Namespace,
    n: int,
    daemon: Daemon,
    person: Person,
    database: Path,
    rng: random.Random,
    known: set[str],
) -> Cycle:
    """A burst of person edits; SIGKILL at a random moment (two in three inside the burst, the
    rest in the settle window after it); a new daemon at once; wait until it is idle; check."""
    gap = args.gap_ms / 1000
    burst_s = args.ops * gap
    in_burst = rng.random() < 2 / 3
    high = burst_s if in_burst else burst_s + args.settle + 1.0
    kill_at = rng.uniform(0 if in_burst else burst_s, high)
    edits = random.Random(rng.random())

    def burst() -> None:
        for i in range(args.ops):
            person.random_edit(edits, f"c{n}-{i}")
            time.sleep(edits.uniform(0, 2 * gap))

    thread = threading.Thread(target=burst, name=f"burst-{n}")
    thread.start()
    time.sleep(kill_at)
    cycle = Cycle(n, args.ops, kill_at, in_burst, daemon.kill9())
    restarted = time.perf_counter()
    daemon.start()  # at once: the burst may still be going on
    thread.join()
    try:
        daemon.wait_ready(args.wait)
        cycle.ready_s = time.perf_counter() - restarted
        cycle.idle_s = daemon.wait_idle(args.wait)
    except BenchError as exc:
        cycle.error = str(exc)
    cycle.index = index_vs_disk(person.vault, database)
    # A mismatch an earlier cycle reported is that cycle's; this one answers for the new ones.
    cycle.new_mismatches = sorted(cycle.index.paths() - known)
    if cycle.new_mismatches and not cycle.error:
        # Told apart for whoever fixes it: a daemon that reported idle too early (cleared), or
        # changes it never saw (persists: no event is coming for them).
        time.sleep(args.settle + 2.0)
        later = index_vs_disk(person.vault, database).paths()
        cycle.persists = bool(later & set(cycle.new_mismatches))
    known.clear()
    known.update(cycle.index.paths())
    cycle.damage = person.check()
    person.accept(cycle.damage)  # the next cycle counts only what it loses itself
    log(
        f"cycle {n}/{args.cycles}: killed at {kill_at:.2f}s "
        f"({'in the burst' if in_burst else 'after it'}), ready "
        f"{_s(cycle.ready_s)}, idle {_s(cycle.idle_s)}, index {cycle.index.summary()}"
        + (f", {len(cycle.new_mismatches)} new" if cycle.new_mismatches else "")
        + (
            ""
            if cycle.persists is None
            else " (persists)"
            if cycle.persists
            else " (cleared later)"
        )
        + ", "
        f"person bytes changed {sum(d.bytes for d in cycle.damage)}"
        + (f"; {cycle.error}" if cycle.error else "")
    )
    return cycle


def _s(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds:.1f}s"


# -- phase 2: CAS writers --------------------------------------------------------------------------


def read_page(path: Path) -> tuple[int, str]:
    """(frontmatter `version`, body) of a page as a writer reads it; no version: 0."""
    text = path.read_bytes().decode("utf-8")
    if text.startswith("---\n"):
        end = text.find("\n---\n", 3)
        if end != -1:
            match = _VERSION.search(text[4:end])
            return (int(match.group(1)) if match else 0), text[end + 5 :]
    return 0, text


@dataclass(slots=True)
class WriterTally:
    committed: list[tuple[str, str]] = field(default_factory=list)  # (page, line) of exit-0 updates
    versions: list[tuple[str, int]] = field(default_factory=list)  # (page, new version) reported
    conflicts: int = 0
    busy: int = 0
    gave_up: int = 0
    errors: Counter[int] = field(default_factory=Counter)
    error_samples: list[str] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)  # wall time of each exit-0 update process
    lock: threading.Lock = field(default_factory=threading.Lock)


def writer(
    cli: Cli,
    w: int,
    updates: int,
    pages: list[str],
    tally: WriterTally,
    attempts: int,
    seed: int,
    body_file: Path,
) -> None:
    """One CAS writer: `updates` times read -> append `writer-W-update-I` -> update, retrying a
    conflict (3) or a busy writer (75) from a fresh read, up to `attempts` times."""
    rng = random.Random(seed)
    for i in range(updates):
        line = f"writer-{w}-update-{i}"
        page = rng.choice(pages)
        for _ in range(attempts):
            version, body = read_page(cli.vault / page)
            body_file.write_text(body + line + "\n", encoding="utf-8")
            started = time.perf_counter()
            try:
                done = cli.run(
                    "update",
                    page,
                    "--expect-version",
                    str(version),
                    "--body-file",
                    str(body_file),
                    "--vault",
                    str(cli.vault),
                    "--json",
                    timeout=120,
                )
                code, out, err = done.returncode, done.stdout, done.stderr
            except subprocess.TimeoutExpired:
                code, out, err = -1, "", "timed out after 120 s"
            elapsed = time.perf_counter() - started
            with tally.lock:
                if code == 0:
                    tally.committed.append((page, line))
                    tally.seconds.append(elapsed)
                    with contextlib.suppress(ValueError, KeyError, TypeError):
                        tally.versions.append((page, int(json.loads(out)["new_version"])))
                    break
                if code in (3, 75):
                    if code == 3:
                        tally.conflicts += 1
                    else:
                        tally.busy += 1
                else:
                    tally.errors[code] += 1
                    if len(tally.error_samples) < 5:
                        tail = err.strip().splitlines()[-1:] or ["(no output)"]
                        tally.error_samples.append(f"exit {code}: {tail[0][:300]}")
            time.sleep(rng.uniform(0.02, 0.2))  # re-read after a moment, as an agent would
        else:
            with tally.lock:
                tally.gave_up += 1
    body_file.unlink(missing_ok=True)


def cas_run(
    args: argparse.Namespace, source: Path, with_daemon: bool, rng: random.Random
) -> dict[str, Any]:
    label = "daemon" if with_daemon else "no daemon"
    folder = "cas-daemon" if with_daemon else "cas-no-daemon"
    vault = fresh_copy(source, args.work, folder)
    state = Path(tempfile.mkdtemp(prefix="companion-reliability-cas-"))
    cli = Cli(args.companion_bin, vault, state, args.backend, args.settle)
    person = Person(vault, is_managed_for(vault))
    person.adopt()
    pages = add_pages(person, "Reliability CAS page", args.pages)
    notes = person.notes(managed=False)
    if not notes:
        raise BenchError(f"{source} has no unmanaged markdown note for the person to edit")
    notes = sorted(rng.sample(notes, min(PERSON_NOTES, len(notes))))
    for page in pages:
        person.share(page)
    cli.index()
    daemon = Daemon(cli, args.work / folder / "logs", args.settle)
    tally = WriterTally()
    stop = threading.Event()
    person_rng = random.Random(rng.random())

    def simulated_person() -> None:
        j = 0
        while not stop.wait(person_rng.uniform(*PERSON_EVERY)):
            target = person_rng.choice(pages if person_rng.random() < 0.5 else notes)
            person.append(target, f"person-{j}")
            j += 1

    log(
        f"cas ({label}): {args.writers} writers x {args.updates} updates on {len(pages)} pages, "
        f"the person on {len(pages)} managed + {len(notes)} unmanaged pages"
    )
    started = time.perf_counter()
    wall = 0.0
    index_check = IndexCheck(error="not checked")
    try:
        if with_daemon:
            daemon.start()
            daemon.wait_ready(args.wait)  # its start-up reconcile is done: the writers may go
        threads = [
            threading.Thread(
                target=writer,
                args=(
                    cli,
                    w,
                    args.updates,
                    pages,
                    tally,
                    args.attempts,
                    rng.randrange(2**31),
                    args.work / folder / f"writer-{w}.md",
                ),
                name=f"writer-{w}",
            )
            for w in range(args.writers)
        ]
        someone = threading.Thread(target=simulated_person, name="person")
        someone.start()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        stop.set()
        someone.join()
        wall = time.perf_counter() - started
        if with_daemon:
            daemon.wait_idle(args.wait)
            index_check = index_vs_disk(vault, cli.database())
        else:
            cli.index()  # what a person's next `companion index` makes of it (bumps included)
            index_check = index_vs_disk(vault, cli.database())
    finally:
        stop.set()
        daemon.stop()
        if not args.keep:
            shutil.rmtree(state, ignore_errors=True)
    lost = lost_lines(vault, tally.committed)
    doubles = sum(n - 1 for n in Counter(tally.versions).values() if n > 1)
    damage = person.check()
    person_lines_lost = sum(d.lines for d in damage)
    finals = {p: read_page(vault / p)[0] for p in pages}
    result = {
        "mode": label,
        "vault_copy": str(vault),
        "writers": args.writers,
        "updates_each": args.updates,
        "pages": len(pages),
        "committed": len(tally.committed),
        "conflicts": tally.conflicts,
        "busy": tally.busy,
        "gave_up": tally.gave_up,
        "errors": dict(tally.errors),
        "error_samples": tally.error_samples,
        "lost_updates": len(lost),
        "lost_samples": [f"{p}: {line}" for p, line in lost[:5]],
        "double_commits": doubles,
        "person_lines": person.appended,
        "person_lines_lost": person_lines_lost,
        "person_bytes_changed": sum(d.bytes for d in damage),
        "damage": [d.as_json() for d in damage[:20]],
        "hidden_files": sorted(person.hidden),
        "final_versions": finals,
        "index": index_check.as_json(),
        "update_p50_s": round(statistics.median(tally.seconds), 3) if tally.seconds else None,
        "wall_s": round(wall, 1),
        "daemon_tracebacks": daemon.tracebacks,
    }
    log(
        f"cas ({label}): {len(tally.committed)} committed, {tally.conflicts} conflicts, "
        f"{tally.busy} busy, {tally.gave_up} gave up, errors {dict(tally.errors) or 0}; "
        f"lost updates {len(lost)}, double commits {doubles}, person lines lost "
        f"{person_lines_lost}/{person.appended}, person bytes changed {result['person_bytes_changed']}"
        f", index {index_check.summary()} ({wall:.0f}s)"
    )
    return result


# -- report ----------------------------------------------------------------------------------------


def headline(data: dict[str, Any]) -> dict[str, Any]:
    cycles = data.get("cycles")
    runs = data.get("cas", [])
    person_bytes = sum(r["person_bytes_changed"] for r in runs)
    if cycles:
        person_bytes += sum(c["person_bytes_changed"] for c in cycles["cycles"])
    out: dict[str, Any] = {
        "cycles_survived": cycles["survived"] if cycles else None,
        "cycles": cycles["ran"] if cycles else None,
        "cycles_planned": data["options"]["cycles"],
        "updates_lost": sum(r["lost_updates"] for r in runs),
        "double_commits": sum(r["double_commits"] for r in runs),
        "person_bytes_changed": person_bytes,
        "command_errors": sum(sum(r["errors"].values()) for r in runs),
    }
    out["ok"] = (
        (
            cycles is None
            or (cycles["survived"] == data["options"]["cycles"] and not cycles["aborted"])
        )
        and out["updates_lost"] == 0
        and out["person_bytes_changed"] == 0
        and out["command_errors"] == 0
        and not data.get("aborted")
    )
    return out


def render(data: dict[str, Any]) -> str:
    o = data["options"]
    lines = [
        f"companion reliability — {data['companion']} ({data['version']}), git {data['git']}",
        f"vault: copy of {data['vault']}; embeddings: {data['embeddings']}; daemon --settle "
        f"{o['settle']:g}; seed {o['seed']}",
    ]
    if data.get("cycles"):
        lines += render_cycles(data["cycles"], o)
    if data.get("cas"):
        lines += render_cas(data["cas"], o)
    h = data["headline"]
    lines += [""]
    if data.get("aborted"):
        lines.append(f"ABORTED: {data['aborted']}")
    if h["cycles_planned"] == 0:
        cycles_line = "cycles survived: not run (--cycles 0)"
    else:
        survived = "-" if h["cycles_survived"] is None else h["cycles_survived"]
        cycles_line = f"cycles survived: {survived}/{h['cycles_planned']}"
    lines += [
        cycles_line,
        f"updates lost: {h['updates_lost']} (must be 0)"
        + (f"; double commits: {h['double_commits']}" if h["double_commits"] else ""),
        f"bytes of people's text changed: {h['person_bytes_changed']} (must be 0)",
    ]
    if h["command_errors"]:
        lines.append(f"commands that failed outright (not 0/3/75): {h['command_errors']}")
    lines.append("PASS" if h["ok"] else "FAIL")
    return "\n".join(lines)


def render_cycles(cycles: dict[str, Any], o: dict[str, Any]) -> list[str]:
    b = cycles["baseline_index"]
    lines = [
        "",
        f"Phase 1 — kill -9 cycles ({cycles['ran']} of {o['cycles']}, {o['ops']} person edits "
        f"a burst; baseline index {'ok' if b['ok'] else 'NOT ok'}, {b['files']} markdown files)",
        "",
        "| cycle | killed at | daemon alive | restart→ready | →idle | index = disk | "
        "person bytes changed | survived |",
        "|---:|---|---|---:|---:|---|---:|---|",
    ]
    notes = []
    for c in cycles["cycles"]:
        idx = c["index"]
        where = "burst" if c["kill_in_burst"] else "settle"
        lines.append(
            f"| {c['cycle']} | {c['kill_at_s']:.2f}s ({where}) | "
            f"{'yes' if c['daemon_alive_at_kill'] else 'NO'} | "
            f"{_s(c['restart_to_ready_s'])} | {_s(c['ready_to_idle_s'])} | "
            f"{_index_cell(c)} | "
            f"{c['person_bytes_changed']} | {'yes' if c['survived'] else 'NO'} |"
        )
        if idx and c["index_new_mismatches"]:
            shown = ", ".join(c["index_new_mismatches"][:3])
            notes.append(f"  cycle {c['cycle']}: index: {_index_text(idx)}; new: {shown}")
        for d in c["damage"][:3]:
            notes.append(f"  cycle {c['cycle']}: {d['what']} {d['path']} ({d['bytes']} bytes)")
        if c["error"]:
            notes.append(f"  cycle {c['cycle']}: {c['error'][:300]}")
    ops = ", ".join(f"{k} {v}" for k, v in sorted(cycles["person_ops"].items()))
    lines.append(
        f"\nperson edits: {ops}; daemon starts: {cycles['daemon_starts']}; files the index "
        f"disagrees about after the last cycle: {cycles['index_mismatched_at_end']}"
    )
    notes += [f"  daemon traceback: {t}" for t in cycles["daemon_tracebacks"][:5]]
    notes += _hidden(cycles["hidden_files"], "phase 1")
    if cycles["cycles"] and cycles["cycles"][-1]["index"]:
        notes += _excluded(cycles["cycles"][-1]["index"], "phase 1, last cycle")
    if cycles["aborted"]:
        notes.append(f"  phase 1 stopped: {cycles['aborted']}")
    return lines + notes


def render_cas(runs: list[dict[str, Any]], o: dict[str, Any]) -> list[str]:
    lines = [
        "",
        f"Phase 2 — CAS writers ({o['writers']} × {o['updates']} updates on {o['pages']} "
        f"managed pages, each `companion update --expect-version`; a person appending every "
        f"{PERSON_EVERY[0]:g}–{PERSON_EVERY[1]:g} s)",
        "",
        "| run | exit 0 | exit 3 | exit 75 | gave up | other exits | lost updates | "
        "double commits | person lines lost | person bytes changed | index = disk | "
        "update p50 | wall |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|",
    ]
    notes = []
    for r in runs:
        m = r["mode"]
        errors = ", ".join(f"{n}× exit {k}" for k, n in r["errors"].items()) or "0"
        lines.append(
            f"| {m} | {r['committed']} | {r['conflicts']} | {r['busy']} | "
            f"{r['gave_up']} | {errors} | {r['lost_updates']} | {r['double_commits']} | "
            f"{r['person_lines_lost']}/{r['person_lines']} | {r['person_bytes_changed']} | "
            f"{'yes' if r['index']['ok'] else 'NO'} | "
            f"{_s(r['update_p50_s'])} | {r['wall_s']:.0f}s |"
        )
        notes += [f"  {m}: {x}" for x in r["error_samples"][:3]]
        notes += [f"  {m}: lost {x}" for x in r["lost_samples"][:3]]
        notes += [
            f"  {m}: person text {d['what']} {d['path']} ({d['bytes']} bytes)"
            + (f": {d['detail']}" if d["detail"] else "")
            for d in r["damage"][:3]
        ]
        if not r["index"]["ok"]:
            notes.append(f"  {m}: index: {_index_text(r['index'])}")
        notes += _excluded(r["index"], m)
        notes += [f"  {m}: daemon traceback: {t}" for t in r["daemon_tracebacks"][:3]]
        notes += _hidden(r["hidden_files"], m)
    return lines + notes


def _excluded(idx: dict[str, Any], where: str) -> list[str]:
    paths = idx.get("excluded_stale") or []
    if not paths:
        return []
    return [
        f"  {where}: {len(paths)} excluded files' rows are behind the disk (not counted: "
        f"companion does not follow excluded files), e.g. {paths[0]}"
    ]


def _hidden(paths: list[str], where: str) -> list[str]:
    if not paths:
        return []
    shown = ", ".join(paths[:5]) + (f" and {len(paths) - 5} more" if len(paths) > 5 else "")
    return [f"  {where}: new files in the vault's dot-folders (not notes, not counted): {shown}"]


def _index_cell(c: dict[str, Any]) -> str:
    """The cycle's "index = disk" cell: yes, or how many files are new mismatches (and whether
    they persisted), or only mismatches an earlier cycle already reported."""
    idx, new = c["index"], c["index_new_mismatches"]
    if idx is None:
        return "-"
    if idx["error"]:
        return "NO (unreadable)"
    if idx["ok"]:
        return "yes"
    if not new:
        return "earlier ones only"
    persists = c["index_mismatch_persists"]
    when = "" if persists is None else ", persist" if persists else ", cleared later"
    return f"NO: {len(new)} new{when}"


def _index_text(idx: dict[str, Any]) -> str:
    kinds = ("unindexed", "stale", "ghosts")
    parts = [f"{len(idx[k])} {k} (e.g. {idx[k][0]})" for k in kinds if idx[k]]
    return ", ".join(parts) + (idx["error"] or "")


# -- main ------------------------------------------------------------------------------------------


def embeddings_for(bin_: str) -> tuple[str | None, str]:
    """`fake` when the companion has it (no model), else its default backend, said plainly."""
    with tempfile.TemporaryDirectory(prefix="companion-reliability-probe-") as tmp:
        vault = Path(tmp) / "vault"
        vault.mkdir()
        (vault / "Probe.md").write_text("# Probe\n")
        cli = Cli(bin_, vault, Path(tmp) / "state", "fake")
        done = cli.run("index", str(vault), "--no-embed", "--json", timeout=120)
    if done.returncode == 0:
        return "fake", "COMPANION_EMBED_BACKEND=fake (a deterministic stand-in: no model loaded)"
    why = (done.stderr.strip().splitlines() or ["?"])[-1][:200]
    if "backend" not in done.stderr:
        raise BenchError(f"{bin_} cannot index a one-note vault ({done.returncode}): {why}")
    return None, (
        f"this companion has no `fake` backend ({why}); its default model runs. Embedding is "
        "left out of the idle wait (it writes nothing a check reads)"
    )


def version_of(bin_: str) -> str:
    try:
        done = subprocess.run([bin_, "--version"], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise BenchError(f"cannot run {bin_}: {exc}") from exc
    return done.stdout.strip() or done.stderr.strip()[-200:]


def resolve_vault(name: str) -> Path:
    candidate = Path(name).expanduser()
    path = candidate if candidate.is_dir() else VAULTS / name
    if not path.is_dir():
        known = ", ".join(sorted(p.name for p in VAULTS.iterdir())) if VAULTS.is_dir() else "none"
        raise BenchError(f"no vault {name!r}: not a folder, nor one of {VAULTS} ({known})")
    return path.resolve()


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(
        prog="python -m bench.reliability",
        description="kill -9 cycles and CAS writers against a person's edits: what is lost",
    )
    ap.add_argument("--vault", help=f"a vault under {VAULTS} or a path (default {DEFAULT_VAULT})")
    ap.add_argument("--companion-bin", help="the companion command (default: this venv's)")
    ap.add_argument("--quick", action="store_true", help="small numbers (under ~30 s)")
    ap.add_argument("--cycles", type=int, help="kill -9 cycles (default 20; 0 skips phase 1)")
    ap.add_argument("--ops", type=int, help="person edits per burst (default 40)")
    ap.add_argument("--gap-ms", type=float, default=25.0, help="mean ms between burst edits")
    ap.add_argument("--writers", type=int, help="concurrent CAS writers (default 8)")
    ap.add_argument("--updates", type=int, help="updates per writer (default 200; 0 skips phase 2)")
    ap.add_argument("--pages", type=int, help="managed pages the writers share (default 4)")
    ap.add_argument("--attempts", type=int, default=100, help="tries per update (exit 3/75)")
    ap.add_argument("--settle", type=float, help="the daemon's --settle (default 3, quick 1)")
    only = ap.add_mutually_exclusive_group()
    only.add_argument("--daemon-only", action="store_true", help="phase 2 with a daemon only")
    only.add_argument("--no-daemon-only", action="store_true", help="phase 2 without one only")
    ap.add_argument(
        "--wait",
        type=float,
        help=f"seconds to wait for a daemon to be ready, then idle (default {IDLE_TIMEOUT:g}, quick 20)",
    )
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--work", type=Path, default=WORK, help="where the vault copies go")
    ap.add_argument("--keep", action="store_true", help="keep the state folders")
    ap.add_argument("--json", action="store_true", help="print the results as JSON")
    args = ap.parse_args(argv)
    quick = args.quick
    defaults = {
        "cycles": 3 if quick else 20,
        "ops": 20 if quick else 40,
        "writers": 4 if quick else 8,
        "updates": 5 if quick else 200,
        "pages": 2 if quick else 4,
        "settle": 1.0 if quick else 3.0,
        "wait": 20.0 if quick else IDLE_TIMEOUT,
        "vault": QUICK_VAULT if quick else DEFAULT_VAULT,
    }
    for key, value in defaults.items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    args.companion_bin = str(args.companion_bin or companion_bin())
    args.work = args.work.resolve()
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        source = resolve_vault(args.vault)
        version = version_of(args.companion_bin)
        args.backend, embeddings = embeddings_for(args.companion_bin)
    except BenchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    rng = random.Random(args.seed)
    data: dict[str, Any] = {
        "companion": args.companion_bin,
        "version": version,
        "git": git_state(),
        "vault": str(source),
        "embeddings": embeddings,
        "options": {
            k: getattr(args, k)
            for k in ("cycles", "ops", "writers", "updates", "pages", "attempts", "settle", "seed")
        },
        "cas": [],
    }
    log(f"{args.companion_bin} ({version}) on a copy of {source}; embeddings: {embeddings}")
    started = time.perf_counter()
    try:
        if args.cycles > 0:
            data["cycles"] = kill_cycles(args, source, rng)
        if args.updates > 0 and args.writers > 0:
            modes = [False, True]
            if args.daemon_only:
                modes = [True]
            elif args.no_daemon_only:
                modes = [False]
            for with_daemon in modes:
                data["cas"].append(cas_run(args, source, with_daemon, rng))
    except BenchError as exc:
        data["aborted"] = str(exc)
        log(f"aborted: {exc}")
    data["total_s"] = round(time.perf_counter() - started, 1)
    data["headline"] = headline(data)
    print(json.dumps(data, indent=1, default=str) if args.json else render(data))
    log(f"done in {data['total_s']:.0f}s")
    return 0 if data["headline"]["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
