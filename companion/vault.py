"""The vault on disk: where it is, what to skip, which files it holds, how to read and write them.

No SQL and no parsing here; everything is plain data (obsidian-rules.md §6, design.md "Interfaces").

- `find_vault` picks the vault folder: explicit argument, `COMPANION_VAULT`, the nearest enclosing
  folder holding `.obsidian/` or `SYSTEM.md`, then `./vault`.
- `IgnoreRules.load` reads `.obsidian/app.json`. Its `userIgnoreFilters` do not hide files: excluded
  files are still listed (they stay link targets) but carry `excluded=True`, so search and index.md
  can leave them out. A broken app.json yields default rules plus a reported problem, never an
  exception.
- `walk` lists every file (notes, canvases, attachments) with one `os.scandir` pass, taking size and
  mtime from the directory entry. Every name starting with `.` is skipped (`.obsidian`, `.trash`,
  `.git`, our temp files). Trouble never stops the walk: it becomes a `(path, reason)` problem.
  Symlinked folders are followed only when they lead outside the vault and are not one of its
  ancestors (§6); a folder reached twice (a loop) is walked once.
- `read_note_bytes` reads a note without ever modifying it, refusing huge and binary files with a
  message.
- `atomic_write` writes through a temp file in the same folder (fsync, `os.replace`, fsync the
  folder), refusing when the file changed since the caller read it (`ChangedOnDisk`).

`content_hash` is sha256: at ~1.5 GB/s with SHA-NI, hashing a 10k-page vault costs tens of
milliseconds, far below parsing, and it matches `sha256sum` output, which helps debugging and the
source ledger."""

from __future__ import annotations

import errno
import hashlib
import json
import os
import re
import stat
import tempfile
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal, NamedTuple

from companion.errors import ChangedOnDisk, SkippedFile, UnreadableFile, VaultNotFound

FileKind = Literal["note", "canvas", "attachment"]

# Characters Obsidian refuses in file names (`\ / :` everywhere, `* " < > | ?` for Windows
# compatibility) plus those that break a wikilink to the file (`# ^ [ ] |`).
_REFUSED_CHARS = frozenset('*"\\<>:|?#^[]')
_REFUSED_MSG = "name contains characters Obsidian refuses in links"
_BINARY_SNIFF = 8192
_MB = 1024 * 1024  # the config default is 10 * 1024 * 1024, shown as "10 MB"


# -- finding the vault -----------------------------------------------------------------------------


def find_vault(explicit: str | None, cwd: Path) -> Path:
    """The vault folder (absolute, symlinks resolved) or `VaultNotFound` saying what to do."""
    if explicit:
        return _existing_folder(
            cwd / Path(explicit).expanduser(), "the vault given on the command line"
        )
    env = os.environ.get("COMPANION_VAULT")
    if env:
        return _existing_folder(cwd / Path(env).expanduser(), "COMPANION_VAULT")
    start = cwd.resolve()
    fallback = start / "vault"
    for folder in (start, *start.parents):
        if (folder / ".obsidian").is_dir():
            return folder
        if (folder / "SYSTEM.md").is_file():
            # A SYSTEM.md with no .obsidian/ beside it, over a ./vault that is a vault: this is a
            # project folder holding a vault (companion's own checkout is one), not the vault.
            if folder == start and (fallback / ".obsidian").is_dir():
                return fallback
            return folder
    if fallback.is_dir():
        return fallback
    raise VaultNotFound(
        f"no vault found: neither {start} nor any folder above it holds .obsidian/ or SYSTEM.md, "
        f"and {fallback} does not exist. Pass --vault PATH, set COMPANION_VAULT, or run the "
        "command inside the vault."
    )


def _existing_folder(path: Path, origin: str) -> Path:
    if not path.exists():
        raise VaultNotFound(
            f"vault {path} (from {origin}) does not exist. Check the path, or create the folder "
            "first."
        )
    if not path.is_dir():
        raise VaultNotFound(
            f"vault {path} (from {origin}) is not a folder. Point it at the folder that holds "
            "your notes (the one containing .obsidian/)."
        )
    return path.resolve()


# -- ignore rules and app.json ---------------------------------------------------------------------


class WalkProblem(NamedTuple):
    path: str  # vault-relative POSIX path ("" for the vault itself)
    reason: str


@dataclass(frozen=True, slots=True)
class IgnoreRules:
    """`userIgnoreFilters` and the link-writing settings of `.obsidian/app.json` (or defaults)."""

    prefixes: tuple[str, ...] = ()  # plain filters: a path starting with one is excluded
    patterns: tuple[re.Pattern[str], ...] = ()  # `/regex/` filters, searched anywhere in the path
    attachment_folder: str = "/"  # `attachmentFolderPath`: "/" vault root, "./x" next to the note
    new_link_format: str = "shortest"  # `newLinkFormat`: shortest | relative | absolute
    use_markdown_links: bool = False  # `useMarkdownLinks`
    problems: tuple[WalkProblem, ...] = field(default=())
    # Template folder/files (`templates.json`, `daily-notes.json`): placeholders, not knowledge.
    templates: tuple[str, ...] = ()

    def is_template(self, path: str) -> bool:
        return bool(self.templates) and any(
            path == t or path.startswith(t + "/") for t in self.templates
        )

    def is_excluded(self, path: str) -> bool:
        """Whether Obsidian's "Excluded files" setting (or a template folder) covers this path.
        The vault's SYSTEM.md is the schema, not knowledge: excluded too (still a link target)."""
        if path == "SYSTEM.md" or (self.templates and self.is_template(path)):
            return True
        if not (self.prefixes or self.patterns):
            return False
        if not path.isascii():
            path = unicodedata.normalize("NFC", path)  # filters are typed, hence NFC
        if path.startswith(self.prefixes):
            return True
        return bool(self.patterns) and any(p.search(path) for p in self.patterns)

    @classmethod
    def load(cls, vault_root: Path) -> IgnoreRules:
        rules = cls._load_app_json(vault_root)
        templates = _template_paths(vault_root / ".obsidian")
        return replace(rules, templates=templates) if templates else rules

    @classmethod
    def _load_app_json(cls, vault_root: Path) -> IgnoreRules:
        app_json = vault_root / ".obsidian" / "app.json"
        where = ".obsidian/app.json"
        try:
            raw = app_json.read_bytes()
        except FileNotFoundError:
            return cls()
        except OSError as exc:
            return cls(problems=(WalkProblem(where, f"cannot read: {exc.strerror or exc}"),))
        try:
            data = json.loads(raw)
        except (ValueError, UnicodeDecodeError) as exc:
            return cls(problems=(WalkProblem(where, f"malformed JSON, ignored: {exc}"),))
        if not isinstance(data, dict):
            return cls(problems=(WalkProblem(where, "not a JSON object, ignored"),))
        return cls._from_settings(data, where)

    @classmethod
    def _from_settings(cls, data: Mapping[str, Any], where: str) -> IgnoreRules:
        problems: list[WalkProblem] = []

        def setting(key: str, kind: type, default: Any) -> Any:
            value = data.get(key, default)
            if not isinstance(value, kind):
                problems.append(WalkProblem(where, f"{key} should be a {kind.__name__}, ignored"))
                return default
            return value

        prefixes: list[str] = []
        patterns: list[re.Pattern[str]] = []
        for entry in setting("userIgnoreFilters", list, []):
            if not isinstance(entry, str) or not entry:
                problems.append(WalkProblem(where, f"userIgnoreFilters entry {entry!r} ignored"))
            elif len(entry) > 2 and entry.startswith("/") and entry.endswith("/"):
                # A JS regex. Python's `re` accepts the common subset; what it rejects is reported.
                try:
                    patterns.append(re.compile(entry[1:-1]))
                except re.error as exc:
                    problems.append(WalkProblem(where, f"userIgnoreFilters regex {entry} ({exc})"))
            else:
                prefixes.append(unicodedata.normalize("NFC", entry))
        link_format = setting("newLinkFormat", str, "shortest")
        if link_format not in ("shortest", "relative", "absolute"):
            problems.append(WalkProblem(where, f"newLinkFormat {link_format!r} unknown, ignored"))
            link_format = "shortest"
        return cls(
            prefixes=tuple(prefixes),
            patterns=tuple(patterns),
            attachment_folder=setting("attachmentFolderPath", str, "/") or "/",
            new_link_format=link_format,
            use_markdown_links=setting("useMarkdownLinks", bool, False),
            problems=tuple(problems),
        )


def _template_paths(config: Path) -> tuple[str, ...]:
    """Template folder of the core Templates plugin and the daily-note template, vault-relative."""
    found = []
    for name, key in (("templates.json", "folder"), ("daily-notes.json", "template")):
        try:
            data = json.loads((config / name).read_bytes())
        except (OSError, ValueError):
            continue  # absent or unreadable: there is simply no template setting
        value = data.get(key) if isinstance(data, dict) else None
        if isinstance(value, str) and value.strip("/ "):
            path = unicodedata.normalize("NFC", value.strip("/ "))
            if key == "template" and not path.lower().endswith(".md"):
                path += ".md"
            found.append(path)
    return tuple(found)


# -- walking ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class VaultFile:
    path: str  # vault-relative POSIX path, on-disk spelling (resolve.py normalises for matching)
    size: int
    mtime_ns: int
    excluded: bool  # covered by userIgnoreFilters: still a link target, left out of search/index.md

    @property
    def kind(self) -> FileKind:
        lower = self.path.lower()  # `.MD` counts: links and titles treat the extension case-blind
        if lower.endswith(".md"):
            return "note"
        if lower.endswith(".canvas"):
            return "canvas"
        return "attachment"


@dataclass(frozen=True, slots=True)
class WalkResult:
    files: list[VaultFile]  # sorted by path
    problems: list[WalkProblem]  # sorted by path; app.json problems included


def walk(vault_root: Path, rules: IgnoreRules, skip: Path | None = None) -> WalkResult:
    """Every file of the vault, plus what could not be walked and why. Never raises for content.

    `skip` prunes a folder (the companion's state folder, when the user put it inside the vault).
    """
    root = os.path.realpath(vault_root)
    skip_real = os.path.realpath(skip) if skip is not None else None
    files: list[VaultFile] = []
    problems: list[WalkProblem] = list(rules.problems)
    excluded = rules.is_excluded
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
            continue
        for entry in entries:
            name = entry.name
            if name.startswith("."):
                continue
            rel = prefix + name
            if not name.isascii():
                try:
                    name.encode("utf-8")
                except UnicodeEncodeError:  # undecodable bytes arrive as surrogates
                    shown = rel.encode("utf-8", "replace").decode("utf-8")
                    problems.append(
                        WalkProblem(shown, "name is not valid UTF-8, skipped; rename it")
                    )
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
            files.append(VaultFile(rel, st.st_size, st.st_mtime_ns, excluded(rel)))
    files.sort(key=lambda f: f.path)
    problems.sort(key=lambda p: p.path)
    return WalkResult(files, problems)


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


# -- writing ---------------------------------------------------------------------------------------


def inside_vault(vault_root: Path, path: Path) -> bool:
    """Whether `path`, symlinks followed, is inside the vault: never write outside it."""
    root = os.path.realpath(vault_root)
    return os.path.realpath(path).startswith(root + os.sep)


def content_hash(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def atomic_write(abs_path: Path, data: bytes, expected_hash: str | None) -> str:
    """Replace `abs_path` with `data` atomically; return the sha256 hex of `data`.

    `expected_hash`: None writes unconditionally; "" means the file must not exist yet; any other
    value must equal the hash of the current file (a missing file counts as changed). Otherwise
    `ChangedOnDisk` is raised and nothing is written. The check runs after the temp file is synced,
    just before the rename, to keep the race window with an editor as short as we can make it.
    When the file already holds exactly `data`, nothing is written (no mtime change, no echo).
    An existing file keeps its permission bits; a symlink is written through, not replaced.
    OSError (disk full, read-only folder) propagates; the temp file is removed.
    """
    path = Path(os.path.realpath(abs_path))
    new_hash = content_hash(data)
    folder = path.parent
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{path.name}.", suffix=".companion-tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        current, mode = _current(path)
        if expected_hash is not None:
            _check_unchanged(path, current, expected_hash)
        if current is not None and content_hash(current) == new_hash:
            os.unlink(tmp)
            return new_hash
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    fsync_folder(folder)
    return new_hash


def _current(path: Path) -> tuple[bytes | None, int]:
    """(bytes or None when missing, permission bits the new file should get)."""
    try:
        with open(path, "rb") as fh:
            return fh.read(), stat.S_IMODE(os.fstat(fh.fileno()).st_mode)
    except FileNotFoundError:
        return None, 0o666 & ~_umask()


def _check_unchanged(path: Path, current: bytes | None, expected_hash: str) -> None:
    if expected_hash == "":
        if current is not None:
            raise ChangedOnDisk(
                f"{path} appeared since it was checked; nothing written, retry later"
            )
        return
    if current is None:
        raise ChangedOnDisk(f"{path} was deleted since it was read; nothing written")
    if content_hash(current) != expected_hash:
        raise ChangedOnDisk(
            f"{path} changed on disk since it was read (someone is editing it); nothing written, "
            "retry later"
        )


def _umask() -> int:
    # os.umask can only be read by setting it, which races with other threads creating files;
    # Linux exposes it read-only in /proc.
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    return 0o022


def fsync_folder(folder: Path) -> None:
    """Make the rename itself durable. Not possible on every platform (Windows): best effort."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


# -- one path --------------------------------------------------------------------------------------

PathState = Literal["file", "missing", "folder", "unreadable", "ignored"]


def check_path(
    vault_root: Path, rel: str, rules: IgnoreRules
) -> tuple[PathState, VaultFile | None, list[WalkProblem]]:
    """What one vault-relative path is now, for a watcher batch: the same verdicts `walk` gives.

    "missing" only when the OS says the file does not exist; any other error is "unreadable"
    (unknown, never treated as deleted).
    """
    if not rel or any(part.startswith(".") for part in rel.split("/")):
        return "ignored", None, []
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
    return "file", VaultFile(rel, st.st_size, st.st_mtime_ns, rules.is_excluded(rel)), problems
