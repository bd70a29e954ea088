"""The simulated person of `bench.reliability`, and the checks that judge what is left on disk.

The person edits a vault the way a person with an editor does — plain file writes, no lock, no
companion API: new notes, appended lines, renames, deletes. Every change is made *and* recorded
here, so `Person.check` can say, byte for byte, whether what the person wrote is still on disk.

What "the person's text" is, precisely:

- **Every file the person has** (the vault as copied, plus what the person created, renamed or
  deleted since) — markdown, attachments and `.obsidian/` alike: companion may write none of it
  but a managed page's frontmatter values and the bodies `companion update` is asked to write.
- **Unmanaged files** must hold exactly the bytes the person left.
- **Managed pages the person alone writes** (the kill cycles) are compared with their frontmatter
  `version:` and `updated:` lines removed on both sides (`strip_companion_values`): those single
  values are companion's to set (SYSTEM.md §7–§8: a bump edits `version`, an update also stamps
  `updated`); every other byte must be the person's.
- **Managed pages shared with CAS writers** (the concurrency runs) get bodies rewritten by
  `companion update`, so they cannot be compared byte for byte. There the person's text is a list
  of lines — the page's lines when the person created it (without `version:`/`updated:`) and
  every line the person appended since — that must all still be there, in order, each intact.
- Files that appear and are neither the person's nor companion's generated notes (`index.md`,
  `log.md`, `CONFLICT.md` at the root, `index/`) are *stray*: companion must not create them (a
  note the person deleted that comes back is one). New files inside dot-folders (`.companion/`,
  say) are not notes — Obsidian and companion both skip dot-folders — so they are listed
  (`Person.hidden`) rather than counted; dot-folder files the person already had (`.obsidian/`)
  are compared byte for byte like any other.

The person appends with `O_APPEND` (one `write` of the whole line): the person's side has no
read-modify-write window of its own, so a line that goes missing was lost by whoever rewrote the
file, never by the person racing themself.

The other checks live here too, as plain functions over files: `index_vs_disk` (every markdown
file on disk indexed with its content hash, read from the index database through the standard
library's sqlite3 in read-only mode — version-independent, so the same check runs against an old
release's index) and `lost_lines` (the CAS writers' committed lines missing from the final files).
"""

from __future__ import annotations

import difflib
import hashlib
import os
import random
import re
import sqlite3
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

GENERATED_FILES = frozenset({"index.md", "log.md", "CONFLICT.md"})
GENERATED_FOLDER = "index/"
_COMPANION_VALUE = re.compile(rb"(?:version|updated)[ \t]*:")


def is_generated(rel: str) -> bool:
    """Paths companion's generated notes may occupy (only when the person has no file there)."""
    return rel in GENERATED_FILES or rel.startswith(GENERATED_FOLDER)


def vault_files(vault: Path) -> dict[str, bytes]:
    """Every regular file under `vault` (dot-folders included), by POSIX relative path."""
    out: dict[str, bytes] = {}
    for folder, dirs, files in os.walk(vault):
        dirs.sort()
        for name in files:
            path = Path(folder, name)
            if path.is_file() and not path.is_symlink():
                out[path.relative_to(vault).as_posix()] = path.read_bytes()
    return out


def strip_companion_values(data: bytes) -> bytes:
    """`data` without the frontmatter lines that are companion's to set (`version:`, `updated:`);
    the body and every other frontmatter byte are kept. No frontmatter: `data` unchanged."""
    lines = data.splitlines(keepends=True)
    if not lines or lines[0].rstrip(b"\r\n") != b"---":
        return data
    kept = [lines[0]]
    for i, line in enumerate(lines[1:], start=1):
        if line.rstrip(b"\r\n") in (b"---", b"..."):
            return b"".join(kept + lines[i:])
        if not _COMPANION_VALUE.match(line):
            kept.append(line)
    return data  # no closing fence: not frontmatter, compare every byte


def changed_bytes(expected: bytes, actual: bytes) -> int:
    """How many bytes of `expected` are not intact in `actual`, plus the bytes `actual` has that
    `expected` does not (a line-level diff: a changed line counts whole, on both sides)."""
    if expected == actual:
        return 0
    a, b = expected.splitlines(keepends=True), actual.splitlines(keepends=True)
    total = 0
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if op != "equal":
            total += sum(map(len, a[i1:i2])) + sum(map(len, b[j1:j2]))
    return total


def missing_in_order(wanted: list[bytes], actual: bytes) -> list[bytes]:
    """The lines of `wanted` that `actual` does not hold as an ordered subsequence of its lines
    (greedy: each wanted line is looked for after the previous one found)."""
    have = [line.rstrip(b"\r") for line in actual.split(b"\n")]
    missing, at = [], 0
    for line in wanted:
        try:
            at = have.index(line, at) + 1
        except ValueError:
            missing.append(line)
    return missing


@dataclass(frozen=True, slots=True)
class Damage:
    """One way the person's text is not on disk as the person left it."""

    path: str
    what: str  # "changed" | "missing" | "lines missing" | "stray"
    bytes: int
    lines: int = 0  # person lines missing (shared pages)
    detail: str = ""

    def as_json(self) -> dict[str, object]:
        return {
            "path": self.path,
            "what": self.what,
            "bytes": self.bytes,
            "lines": self.lines,
            "detail": self.detail,
        }


@dataclass(slots=True)
class Person:
    """A person editing `vault` with plain file writes, keeping a record of what they wrote.

    `managed` says which paths are managed pages (compared modulo `version`/`updated`); pages
    passed to `share` are also written by CAS writers (only the person's lines are checked)."""

    vault: Path
    managed: Callable[[str], bool]
    expected: dict[str, bytes] = field(default_factory=dict)
    shared: dict[str, list[bytes]] = field(default_factory=dict)
    appended: int = 0  # lines appended so far (the person's edits, for the report)
    ops: dict[str, int] = field(default_factory=dict)
    hidden: set[str] = field(default_factory=set)  # new files seen inside dot-folders

    def adopt(self) -> None:
        """Take the vault as it is now as the person's (before companion has touched it)."""
        self.expected = vault_files(self.vault)
        self.shared = {}

    def share(self, rel: str) -> None:
        """From now on `rel` (a managed page) is also written by CAS writers."""
        data = self.expected.pop(rel)
        self.shared[rel] = strip_companion_values(data).rstrip(b"\n").split(b"\n")

    # -- the person's edits ---------------------------------------------------------------------

    def _count(self, op: str) -> None:
        self.ops[op] = self.ops.get(op, 0) + 1

    def create(self, rel: str, data: bytes) -> None:
        path = self.vault / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "xb") as f:  # a new note never replaces one
            f.write(data)
        self.expected[rel] = data
        self._count("create")

    def append(self, rel: str, line: str) -> None:
        """Append one line with a single O_APPEND write (as an editor saving a new last line)."""
        known = self.expected.get(rel)
        text = line.encode() + b"\n"
        if known is not None and known and not known.endswith(b"\n"):
            text = b"\n" + text  # the note's last line stays as it was
        fd = os.open(self.vault / rel, os.O_WRONLY | os.O_APPEND)
        try:
            os.write(fd, text)
        finally:
            os.close(fd)
        if rel in self.shared:
            self.shared[rel].append(line.encode())
        else:
            self.expected[rel] = (known or b"") + text
        self.appended += 1
        self._count("append")

    def rename(self, rel: str, new: str) -> None:
        os.rename(self.vault / rel, self.vault / new)
        self.expected[new] = self.expected.pop(rel)
        self._count("rename")

    def delete(self, rel: str) -> None:
        (self.vault / rel).unlink()
        del self.expected[rel]
        self._count("delete")

    def notes(self, *, managed: bool) -> list[str]:
        """The person's markdown notes (managed pages or the others), sorted; shared pages and the
        paths of generated notes are left out."""
        return sorted(
            rel
            for rel in self.expected
            if rel.lower().endswith(".md")
            and not rel.startswith(".")
            and "/." not in rel
            and self.managed(rel) == managed
            and not is_generated(rel)
        )

    def random_edit(self, rng: random.Random, tag: str) -> None:
        """One edit of a burst: mostly appended lines (to unmanaged notes, some to managed
        pages), and new notes, renames and deletes of unmanaged notes."""
        notes, pages = self.notes(managed=False), self.notes(managed=True)
        roll = rng.random()
        if roll < 0.45 and notes:
            self.append(rng.choice(notes), f"person-{tag}: an appended line")
        elif roll < 0.65 and pages:
            self.append(rng.choice(pages), f"person-{tag}: a line on a managed page")
        elif roll < 0.8 or not notes:
            folder = Path(rng.choice(notes)).parent.as_posix() if notes else "."
            rel = f"{folder}/Person note {tag}.md".removeprefix("./")
            self.create(
                rel, f"# Person note {tag}\n\nWritten during a burst; see [[Index]].\n".encode()
            )
        elif roll < 0.92:
            old = rng.choice(notes)
            new = f"{old[: -len('.md')]} renamed {tag}.md"
            self.rename(old, new)
        else:
            self.delete(rng.choice(notes))

    # -- the check ------------------------------------------------------------------------------

    def check(self) -> list[Damage]:
        """Every way the vault now differs from what the person wrote (empty: nothing lost)."""
        disk = vault_files(self.vault)
        damage: list[Damage] = []
        for rel, want in sorted(self.expected.items()):
            have = disk.get(rel)
            if have is None:
                damage.append(Damage(rel, "missing", len(want)))
                continue
            if self.managed(rel):
                want, have = strip_companion_values(want), strip_companion_values(have)
            if have != want:
                damage.append(Damage(rel, "changed", changed_bytes(want, have)))
        for rel, lines in sorted(self.shared.items()):
            have = disk.get(rel)
            if have is None:
                damage.append(Damage(rel, "missing", sum(len(x) + 1 for x in lines)))
                continue
            gone = missing_in_order(lines, have)
            if gone:
                shown = ", ".join(x.decode(errors="replace") for x in gone[:3])
                lost = sum(len(x) + 1 for x in gone)
                damage.append(Damage(rel, "lines missing", lost, len(gone), shown))
        for rel in sorted(disk.keys() - self.expected.keys() - self.shared.keys()):
            if any(part.startswith(".") for part in rel.split("/")):
                self.hidden.add(rel)
            elif not is_generated(rel):
                damage.append(Damage(rel, "stray", len(disk[rel])))
        return damage

    def accept(self, damage: Iterable[Damage]) -> None:
        """Take the damaged files as they now are, so that a later check counts only new
        damage (a loss found in one cycle is reported once, not again in every cycle after)."""
        for d in damage:
            path = self.vault / d.path
            if d.path in self.shared:
                have = path.read_bytes() if path.is_file() else b""
                gone = set(missing_in_order(self.shared[d.path], have))
                self.shared[d.path] = [x for x in self.shared[d.path] if x not in gone]
            elif path.is_file():
                self.expected[d.path] = path.read_bytes()
            else:
                self.expected.pop(d.path, None)


# -- the index against the disk --------------------------------------------------------------------


@dataclass(slots=True)
class IndexCheck:
    """Markdown on disk against the index's `pages` rows: the three ways they can disagree."""

    files: int = 0
    unindexed: list[str] = field(default_factory=list)  # on disk, no row
    stale: list[str] = field(default_factory=list)  # a row whose content hash is not the file's
    ghosts: list[str] = field(default_factory=list)  # a row for a file that is not on disk
    excluded_stale: list[str] = field(default_factory=list)  # stale rows of excluded files
    error: str = ""

    @property
    def ok(self) -> bool:
        return not (self.unindexed or self.stale or self.ghosts or self.error)

    def paths(self) -> set[str]:
        """Every path the index and the disk disagree about."""
        return {*self.unindexed, *self.stale, *self.ghosts}

    def summary(self) -> str:
        if self.error:
            return f"error: {self.error}"
        if self.ok:
            return f"ok ({self.files} files)" + (f"; {self.note()}" if self.excluded_stale else "")
        parts = []
        for label, paths in (
            ("unindexed", self.unindexed),
            ("stale", self.stale),
            ("ghosts", self.ghosts),
        ):
            if paths:
                parts.append(f"{len(paths)} {label} (e.g. {paths[0]})")
        return ", ".join(parts)

    def note(self) -> str:
        """What is reported without failing the check: excluded files whose row is behind."""
        if not self.excluded_stale:
            return ""
        return (
            f"{len(self.excluded_stale)} excluded files' rows behind the disk (not counted: "
            f"companion does not follow excluded files), e.g. {self.excluded_stale[0]}"
        )

    def as_json(self) -> dict[str, object]:
        return {
            "ok": self.ok,
            "files": self.files,
            "unindexed": self.unindexed,
            "stale": self.stale,
            "ghosts": self.ghosts,
            "excluded_stale": self.excluded_stale,
            "error": self.error,
        }


def _markdown(rel: str) -> bool:
    # Dot-named files and folders are not part of the vault for Obsidian nor for companion.
    return rel.lower().endswith(".md") and not any(p.startswith(".") for p in rel.split("/"))


_SHA256 = re.compile(r"[0-9a-f]{64}")


def index_vs_disk(vault: Path, database: Path) -> IndexCheck:
    """Every markdown file on disk indexed as it is now, and no row for a markdown file that is
    gone. "As it is now": the row's hash is the sha256 of the file's bytes — or, for a file the
    index keeps by its stat alone (a row whose hash is not a sha256, e.g. a file in an excluded
    templates folder that is never read), the row's size and mtime are the file's. A stale row
    of an *excluded* file (`.obsidian` ignore rules, the templates folder) is listed apart and
    does not fail the check: companion indexes no content of those and its watcher skips them
    by design. Read-only (`mode=ro`): a WAL reader beside a running daemon, changing nothing."""
    result = IndexCheck()
    files = {rel: data for rel, data in vault_files(vault).items() if _markdown(rel)}
    result.files = len(files)
    try:
        db = sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=30)
        try:
            sql = "SELECT path, hash, size, mtime_ns, excluded FROM pages"
            rows = {row[0]: row[1:] for row in db.execute(sql) if _markdown(row[0])}
        finally:
            db.close()
    except sqlite3.Error as exc:
        result.error = f"cannot read {database}: {exc}"
        return result
    result.unindexed = sorted(files.keys() - rows.keys())
    result.ghosts = sorted(rows.keys() - files.keys())
    for rel in sorted(files.keys() & rows.keys()):
        digest, size, mtime_ns, excluded = rows[rel]
        if _SHA256.fullmatch(str(digest)):
            current = hashlib.sha256(files[rel]).hexdigest() == digest
        else:
            st = (vault / rel).stat()
            current = (st.st_size, st.st_mtime_ns) == (size, mtime_ns)
        if not current:
            (result.excluded_stale if excluded else result.stale).append(rel)
    return result


# -- the CAS writers' lines ------------------------------------------------------------------------


def lost_lines(vault: Path, committed: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    """(page, line) pairs — updates that exited 0 — whose line is not a whole line of the final
    page (a page that is gone loses every line it had)."""
    cache: dict[str, set[bytes]] = {}
    lost = []
    for page, line in committed:
        if page not in cache:
            try:
                data = (vault / page).read_bytes()
            except FileNotFoundError:
                data = b""
            cache[page] = {x.rstrip(b"\r") for x in data.split(b"\n")}
        if line.encode() not in cache[page]:
            lost.append((page, line))
    return lost
