"""The vault on disk, read side: which files it holds and how to read them without changing them.

No SQL, no parsing and no writing here (writes are `companion.write`); everything is plain data (obsidian-rules.md §6, design.md "Interfaces").

- `walk` lists every file (notes, canvases, attachments) with one `os.scandir` pass, taking size and
  mtime from the directory entry. Every name starting with `.` is skipped (`.obsidian`, `.trash`,
  `.git`, our temp files). Trouble never stops the walk: it becomes a `(path, reason)` problem.
  Symlinked folders are followed only when they lead outside the vault and are not one of its
  ancestors (§6); a folder reached twice (a loop) is walked once.
- A folder that cannot be listed (permission denied, I/O error) is *unknown*, not empty: besides its
  problem it is named in `WalkResult.unknown_dirs`, so a sync keeps what it knew of the notes under
  it instead of taking them for deleted. A folder that vanished mid-walk is simply gone.
- A name that is not valid UTF-8 (its undecodable bytes arrive surrogate-escaped) cannot be stored
  or linked to: it is a problem, never a file. `check_path` (one path of a watcher batch) gives the
  same verdicts as `walk`, this one included, and never raises for a path.
- `read_note_bytes` reads a note without ever modifying it, refusing huge and binary files with a
  message.

`content_hash` is sha256: at ~1.5 GB/s with SHA-NI, hashing a 10k-page vault costs tens of
milliseconds, far below parsing, and it matches `sha256sum` output, which helps debugging and the
source ledger."""

from __future__ import annotations

import errno
import hashlib
import os
import stat
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal

from companion.errors import SkippedFile, UnreadableFile
from companion.vault.obsidian import IgnoreRules, WalkProblem

FileKind = Literal["note", "canvas", "attachment"]

# Characters Obsidian refuses in file names (`\ / :` everywhere, `* " < > | ?` for Windows
# compatibility) plus those that break a wikilink to the file (`# ^ [ ] |`).
_REFUSED_CHARS = frozenset('*"\\<>:|?#^[]')
_REFUSED_MSG = "name contains characters Obsidian refuses in links"
_BINARY_SNIFF = 8192
_MB = 1024 * 1024  # the config default is 10 * 1024 * 1024, shown as "10 MB"

# -- walking ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class VaultFile:
    path: str  # vault-relative POSIX path, on-disk spelling (resolve.py normalises for matching)
    size: int
    mtime_ns: int
    excluded: bool  # covered by userIgnoreFilters: still a link target, left out of search/index.md
    # Under the vault's template folder (`IgnoreRules.is_template`): a link target only, never parsed.
    template: bool = False

    @property
    def kind(self) -> FileKind:
        return file_kind(self.path)


def file_kind(path: str) -> FileKind:
    """`.md` notes, `.canvas` canvases, anything else an attachment (the extension case-blind, as
    links and titles treat it)."""
    lower = path.lower()
    if lower.endswith(".md"):
        return "note"
    if lower.endswith(".canvas"):
        return "canvas"
    return "attachment"


@dataclass(frozen=True, slots=True)
class WalkResult:
    files: list[VaultFile]  # sorted by path
    problems: list[WalkProblem]  # sorted by path; app.json problems included
    # Folders that could not be listed (vault-relative, "" for the vault itself), sorted: what was
    # under them is unknown, not deleted.
    unknown_dirs: list[str] = field(default_factory=list)


def walk(vault_root: Path, rules: IgnoreRules, skip: Path | None = None) -> WalkResult:  # noqa: C901 - one scandir pass classifying each entry: splitting it costs a call per file
    """Every file of the vault, plus what could not be walked and why. Never raises for content.

    `skip` prunes a folder (the companion's state folder, when the user put it inside the vault).
    """
    root = os.path.realpath(vault_root)
    skip_real = os.path.realpath(skip) if skip is not None else None
    files: list[VaultFile] = []
    problems: list[WalkProblem] = list(rules.problems)
    unknown_dirs: list[str] = []
    excluded = rules.is_excluded
    template = rules.is_template
    # Real paths of folders already walked: a symlink leading to one of them again is a loop.
    seen: set[str] = {root}
    stack: list[tuple[str, str]] = [(root, "")]  # (absolute real folder, vault-relative prefix)
    while stack:
        folder, prefix = stack.pop()
        try:
            with os.scandir(folder) as it:
                entries = list(it)
        except OSError as exc:
            reason = "permission denied" if isinstance(exc, PermissionError) else exc.strerror
            problems.append(WalkProblem(prefix.rstrip("/"), f"cannot read folder: {reason}"))
            if not isinstance(exc, FileNotFoundError | NotADirectoryError):
                unknown_dirs.append(prefix.rstrip("/"))  # still there: unknown, not empty
            continue
        for entry in entries:
            name = entry.name
            if name.startswith("."):
                continue
            rel = prefix + name
            if not name.isascii() and not _is_utf8(name):
                problems.append(_not_utf8(rel))
                continue
            if not _REFUSED_CHARS.isdisjoint(name):
                # Still listed and indexed: the file is real, only links to it are fragile.
                bad = " ".join(sorted(_REFUSED_CHARS.intersection(name)))
                problems.append(WalkProblem(rel, f"{_REFUSED_MSG}: {bad}"))
            try:
                if entry.is_symlink():
                    target = _symlink_target(entry.path, root, seen, rel, problems)
                    if target is None:
                        continue
                    if target[0] == "dir":
                        seen.add(target[1])
                        if target[1] != skip_real:
                            stack.append((target[1], rel + "/"))
                        continue
                    st = os.stat(entry.path)
                elif entry.is_dir(follow_symlinks=False):
                    if entry.path != skip_real:
                        seen.add(entry.path)
                        stack.append((entry.path, rel + "/"))
                    continue
                else:
                    st = entry.stat(follow_symlinks=False)
            except OSError as exc:  # vanished mid-walk, or a stat refused
                problems.append(WalkProblem(rel, f"cannot stat: {exc.strerror or exc}"))
                continue
            if not stat.S_ISREG(st.st_mode):
                problems.append(
                    WalkProblem(rel, "not a regular file (fifo, socket or device), skipped")
                )
                continue
            files.append(VaultFile(rel, st.st_size, st.st_mtime_ns, excluded(rel), template(rel)))
    if rules.filter_problems():
        # A filter that timed out matches nothing for the whole walk, not just after the path it
        # timed out on: files it excluded earlier in the walk are judged again without it.
        files = [replace(f, excluded=excluded(f.path)) if f.excluded else f for f in files]
        problems += rules.filter_problems()  # judging again may have timed out another filter
    files.sort(key=lambda f: f.path)
    problems.sort(key=lambda p: p.path)
    unknown_dirs.sort()
    return WalkResult(files, problems, unknown_dirs)


def _is_utf8(name: str) -> bool:
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:  # undecodable bytes arrive as surrogates
        return False
    return True


def _not_utf8(rel: str) -> WalkProblem:
    """The problem for a name with undecodable bytes, under the path shown with `?` for each such
    byte: a path that can be stored and printed."""
    shown = rel.encode("utf-8", "replace").decode("utf-8")
    return WalkProblem(shown, "name is not valid UTF-8, skipped; rename it")


def _symlink_target(
    link: str, root: str, seen: set[str], rel: str, problems: list[WalkProblem]
) -> tuple[str, str] | None:
    """("dir" | "file", real path) for a symlink worth following, else None (problem reported)."""
    try:
        st = os.stat(link)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            problems.append(WalkProblem(rel, "symlink loop, not followed"))
        else:
            problems.append(WalkProblem(rel, f"broken symlink ({exc.strerror or exc}), skipped"))
        return None
    real = os.path.realpath(link)
    if not stat.S_ISDIR(st.st_mode):
        return "file", real
    # Obsidian must not follow a link into its own vault or above it: it would see files twice or
    # walk forever (obsidian-rules §6).
    if real == root or root.startswith(real + os.sep) or real == os.sep:
        problems.append(WalkProblem(rel, "symlink to a folder containing the vault, not followed"))
        return None
    if real.startswith(root + os.sep):
        problems.append(WalkProblem(rel, "symlink to a folder inside the vault, not followed"))
        return None
    if real in seen:
        problems.append(WalkProblem(rel, "symlink loop (folder already walked), not followed"))
        return None
    return "dir", real


# -- reading ---------------------------------------------------------------------------------------


def read_note_bytes(abs_path: Path, max_bytes: int) -> bytes:
    """The file's bytes, opened read-only. `UnreadableFile` for "try again later", `SkippedFile` for
    files that will not be indexed as they are (too large, binary)."""
    try:
        with open(abs_path, "rb") as fh:
            size = os.fstat(fh.fileno()).st_size
            if size > max_bytes:
                raise SkippedFile(_too_large(abs_path, size, max_bytes))
            # Read one byte past the limit: the file may have grown since fstat.
            data = fh.read(max_bytes + 1)
    except IsADirectoryError as exc:
        raise UnreadableFile(f"{abs_path}: is a folder, not a file") from exc
    except FileNotFoundError as exc:
        raise UnreadableFile(f"{abs_path}: vanished before it could be read") from exc
    except PermissionError as exc:
        raise UnreadableFile(
            f"{abs_path}: permission denied; make it readable (chmod u+r) to index it"
        ) from exc
    except OSError as exc:
        raise UnreadableFile(f"{abs_path}: cannot read ({exc.strerror or exc})") from exc
    if len(data) > max_bytes:
        raise SkippedFile(_too_large(abs_path, len(data), max_bytes))
    if b"\0" in data[:_BINARY_SNIFF]:
        suffix = abs_path.suffix or "text"
        raise SkippedFile(
            f"{abs_path}: binary content in a {suffix} file (a NUL byte), not indexed"
        )
    return data


def _too_large(path: Path, size: int, limit: int) -> str:
    return (
        f"{path}: file is {_megabytes(size)}, over the {_megabytes(limit)} limit for notes; "
        "raise it with COMPANION_MAX_NOTE_BYTES"
    )


def _megabytes(n: int) -> str:
    return f"{n / _MB:.1f}".removesuffix(".0") + " MB"


def content_hash(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# -- one path --------------------------------------------------------------------------------------

PathState = Literal["file", "missing", "folder", "unreadable", "ignored"]


def check_path(
    vault_root: Path, rel: str, rules: IgnoreRules
) -> tuple[PathState, VaultFile | None, list[WalkProblem]]:
    """What one vault-relative path is now, for a watcher batch: the same verdicts `walk` gives.

    "missing" only when the OS says the file does not exist; any other error is "unreadable"
    (unknown, never treated as deleted). A path with a name that is not valid UTF-8 (in any part:
    `walk` would not go into such a folder either) is "ignored" with the problem `walk` reports,
    under the same shown path. Never raises for a path.
    """
    parts = rel.split("/")
    if not rel or any(part.startswith(".") for part in parts):
        return "ignored", None, []
    if not rel.isascii():
        for i, part in enumerate(parts):
            if not _is_utf8(part):
                return "ignored", None, [_not_utf8("/".join(parts[: i + 1]))]
    problems: list[WalkProblem] = []
    name = rel.rpartition("/")[2]
    if not _REFUSED_CHARS.isdisjoint(name):
        bad = " ".join(sorted(_REFUSED_CHARS.intersection(name)))
        problems.append(WalkProblem(rel, f"{_REFUSED_MSG}: {bad}"))
    path = os.path.join(vault_root, rel)
    try:
        st = os.stat(path)
    except FileNotFoundError:
        if os.path.islink(path):
            return "unreadable", None, [WalkProblem(rel, "broken symlink, skipped")]
        return "missing", None, []
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return "unreadable", None, [WalkProblem(rel, "symlink loop, not followed")]
        return "unreadable", None, [WalkProblem(rel, f"cannot stat: {exc.strerror or exc}")]
    if stat.S_ISDIR(st.st_mode):
        return "folder", None, []
    if not stat.S_ISREG(st.st_mode):
        return (
            "unreadable",
            None,
            [WalkProblem(rel, "not a regular file (fifo, socket or device), skipped")],
        )
    before = set(rules.filter_problems())
    excluded = rules.is_excluded(rel)
    # A filter that timed out on this very path: reported here, once (it matches nothing now).
    problems += [p for p in rules.filter_problems() if p not in before]
    file = VaultFile(rel, st.st_size, st.st_mtime_ns, excluded, rules.is_template(rel))
    return "file", file, problems
