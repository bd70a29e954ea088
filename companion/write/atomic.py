"""Writing one file safely: atomic replace, re-checked against what was read, never out of the vault.

A vault is a folder a person (and their sync tools) own, so every file companion reads before a
write, and every file it writes, stages or deletes, can be hostile: a FIFO where `log.md` should
be, a symlink from `index.md` to `/dev/zero`, a symlinked folder leading out of the vault, a name
as long as the OS allows. The rules, all decided here:

- **Resolved by companion, one component at a time** (`resolve`). A vault path is walked from an
  open descriptor of the vault root: each folder is opened with `O_NOFOLLOW` relative to the one
  before (`dir_fd`), so a folder swapped for a symlink meanwhile fails instead of being followed.
  A symlink met on the way — the file itself or any parent folder — is read (`readlink`) and
  followed by companion only while it stays inside the vault; one that leaves it (or a chain of
  more than 40) is `OutsideVault`, before anything is opened, created or removed. `landing` is
  the one place that decides where a write may land, and reads and deletes go through the same
  walk.
- **A symlink inside the vault that points inside it is written through, never replaced.** The
  link is the person's arrangement (a note kept in two places, `log.md` kept in an archive
  folder): replacing it with a regular file would silently split it in two, and refusing would
  make companion unable to keep a linked note it may write. The walk indexes a file symlink as its
  target's bytes, so writing the target is exactly what the index saw. Callers are told the real
  path (`Landed.rel`) so they can report it.
- **Reads are bounded and never block** (`read_regular`, `read_landed`): opened with `O_NOFOLLOW |
  O_NONBLOCK` (opening a FIFO never waits for a writer), then `fstat` on the open descriptor: only
  a regular file is read (`NotRegularFile` otherwise, naming what it is), and at most `limit + 1`
  bytes (`FileTooLarge` beyond `limit`), so a file that grows while being read cannot run away.
  Hashes of the current file (the compare in compare-and-swap, `OwnWrites`) stream it in chunks.
- **Temp names are short and fixed-length**: `.<16 hex digits>.companion-tmp` in the target's
  folder, whatever the target's name (a legal 255-byte name plus a prefix and suffix would be
  `ENAMETOOLONG`). The leading dot hides them from the walk and the watcher; `TEMP_SUFFIX` is what
  `journal.recover` looks for after a crash. Created `O_EXCL | O_NOFOLLOW`.
- **Modes are what an editor would leave.** A replaced file keeps its permission bits (the temp is
  created 0600 and `fchmod`ed to them before it holds any byte). A new file is created with 0666
  and the kernel applies the process umask (and any default ACL) exactly as it does for a person's
  editor: the umask is never read, so there is nothing to race with (`os.umask` can only be read
  by setting it, process-wide). State files are not written here (`journal` creates its own 0600).

`atomic_write` writes through such a temp (fsync, rename within the open folder, fsync the folder),
refusing when the file changed since the caller read it (`ChangedOnDisk`). `OwnWrites` remembers
the hash of every file the companion wrote, so the watcher events its own writes cause are
recognised (the file still holds exactly those bytes) and ignored.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import posixpath
import secrets
import stat
from dataclasses import dataclass
from pathlib import Path

from companion.errors import ChangedOnDisk, FileTooLarge, NotRegularFile, OutsideVault
from companion.vault.walk import content_hash

# Every file the companion stages is `.<16 hex>` + this (dot-prefixed: the walk and the watcher
# never list them); `journal.recover` deletes strays left by a crash.
TEMP_SUFFIX = ".companion-tmp"
_TEMP_TOKEN_BYTES = 8  # 16 hex digits: 31-byte temp names, collisions retried (O_EXCL)
_MAX_LINKS = 40  # symlinks followed in one resolution, as Linux's own limit (then ELOOP)
_CHUNK = 1 << 20

_O_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_O_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_O_DIRECTORY = getattr(os, "O_DIRECTORY", 0)
_O_NONBLOCK = getattr(os, "O_NONBLOCK", 0)
_ROOT_FLAGS = os.O_RDONLY | _O_DIRECTORY | _O_CLOEXEC  # the vault root itself may be a link
_FOLDER_FLAGS = os.O_RDONLY | _O_DIRECTORY | _O_NOFOLLOW | _O_CLOEXEC
_READ_FLAGS = os.O_RDONLY | _O_NOFOLLOW | _O_NONBLOCK | _O_CLOEXEC
_TEMP_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | _O_NOFOLLOW | _O_CLOEXEC


# -- where a path lands --------------------------------------------------------------------------


@dataclass(slots=True)
class Landed:
    """Where a vault path lands: an open descriptor of its (real) folder and the name in it.

    `folder` and `name` are the real vault-relative place, symlinks inside the vault followed;
    `linked` says whether a symlink was followed on the way. The caller closes it (`close`, or
    use it as a context manager)."""

    dir_fd: int
    folder: str  # vault-relative POSIX path of the real folder, "" for the vault root
    name: str
    linked: bool

    @property
    def rel(self) -> str:
        """The real vault-relative path of the file."""
        return f"{self.folder}/{self.name}" if self.folder else self.name

    def close(self) -> None:
        if self.dir_fd >= 0:
            os.close(self.dir_fd)
            self.dir_fd = -1

    def __enter__(self) -> Landed:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


def resolve(vault: Path, rel: str, *, make_folders: bool = False) -> Landed:
    """Where vault-relative `rel` lands, every component checked (see the module docstring).

    `OutsideVault` when `rel` or a symlink on the way leads out of the vault. The last component
    may be anything, or missing (the caller checks what it finds there); a missing folder on the
    way is created (mode 0777 less the umask, like a person's) with `make_folders`, otherwise
    `FileNotFoundError`. A file where a folder should be: `NotADirectoryError`; too many links:
    `OSError(ELOOP)`; `rel` naming the vault root or a folder reached through a link to it:
    `IsADirectoryError`."""
    parts = _parts(vault, rel)
    root_fd = os.open(vault, _ROOT_FLAGS)
    try:
        return _walk(vault, root_fd, rel, parts, make_folders)
    finally:
        os.close(root_fd)


def _parts(vault: Path, rel: str) -> list[str]:
    norm = posixpath.normpath(rel.replace(os.sep, "/")) if rel else ""
    if norm.startswith("/") or norm == ".." or norm.startswith("../"):
        raise OutsideVault(f"{rel} leads outside the vault {vault}; nothing written")
    return [p for p in norm.split("/") if p not in ("", ".")]


def _walk(vault: Path, root_fd: int, rel: str, parts: list[str], make_folders: bool) -> Landed:
    fd = os.dup(root_fd)
    done: list[str] = []  # the real folders walked so far, from the root
    links = made = 0
    linked = False
    try:
        while parts:
            name = parts.pop(0)
            try:
                st = os.stat(name, dir_fd=fd, follow_symlinks=False)
            except FileNotFoundError:
                if not parts:
                    break  # a file to create
                if not make_folders:
                    raise
                made += 1
                if made > _MAX_LINKS:  # removed again each time it is made: give up
                    raise
                with contextlib.suppress(FileExistsError):  # made meanwhile: look again
                    os.mkdir(name, 0o777, dir_fd=fd)
                parts.insert(0, name)
                continue
            if stat.S_ISLNK(st.st_mode):
                links += 1
                if links > _MAX_LINKS:
                    raise OSError(errno.ELOOP, os.strerror(errno.ELOOP), rel)
                link = "/".join([*done, name])
                target = os.readlink(name, dir_fd=fd)
                inside = _inside(vault, "/".join(done), target, rel, link)
                parts = [p for p in inside.split("/") if p] + parts
                os.close(fd)
                fd = os.dup(root_fd)
                done = []
                linked = True
                continue
            if not parts:
                break  # the file itself: whatever it is, the caller decides
            if not stat.S_ISDIR(st.st_mode):
                where = "/".join([*done, name])
                raise NotADirectoryError(errno.ENOTDIR, os.strerror(errno.ENOTDIR), where)
            # O_NOFOLLOW: a folder swapped for a symlink since the stat fails here (ELOOP/ENOTDIR)
            child = os.open(name, _FOLDER_FLAGS, dir_fd=fd)
            os.close(fd)
            fd = child
            done.append(name)
        else:
            raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), rel or str(vault))
    except BaseException:
        os.close(fd)
        raise
    return Landed(fd, "/".join(done), name, linked)


def _inside(vault: Path, folder: str, target: str, rel: str, link: str) -> str:
    """The vault-relative path symlink `link` (in real folder `folder`) points to, or
    `OutsideVault`. Lexical first: every folder walked so far is real, so `..` is exact."""
    root_real = os.path.realpath(vault)
    base = posixpath.join(root_real, folder)
    candidate = posixpath.normpath(posixpath.join(base, target))
    for spelled in (candidate, os.path.realpath(candidate)):
        # The realpath is a second chance only, for a link spelled through a symlinked parent of
        # the vault (/home/me/notes -> /data/notes): the result is walked and checked again.
        if spelled == root_real:
            return ""
        if spelled.startswith(root_real.rstrip("/") + "/"):
            return spelled[len(root_real.rstrip("/")) + 1 :]
    via = f"{link} is a link to {target}" if link != rel else f"it is a link to {target}"
    raise OutsideVault(f"{rel} leads outside the vault {vault} ({via}); nothing written")


def inside_vault(vault_root: Path, path: Path) -> bool:
    """Whether `path`, symlinks followed, is inside the vault (a quick check for planning, e.g.
    `init --dry-run`; writes themselves are placed by `resolve`, which checks every component)."""
    root = os.path.realpath(vault_root)
    return os.path.realpath(path).startswith(root + os.sep)


def open_folder(vault: Path, rel: str) -> Landed:
    """The vault folder `rel` ("" for the root), walked as `resolve` walks, opened: a `Landed`
    whose `dir_fd` is the folder itself (`name` ""). `NotADirectoryError` when it is not one."""
    if not _parts(vault, rel):
        return Landed(os.open(vault, _ROOT_FLAGS), "", "", False)
    with resolve(vault, rel) as landed:
        # O_NOFOLLOW | O_DIRECTORY: whatever is there now must be a real folder
        fd = os.open(landed.name, _FOLDER_FLAGS, dir_fd=landed.dir_fd)
        return Landed(fd, landed.rel, "", landed.linked)


def landing(vault: Path, rel: str) -> Path:
    """The absolute path a write to vault-relative `rel` lands on (symlinks inside the vault
    followed, so the link itself is never replaced), or `OutsideVault` when it — or a symlink on
    the way, a parent folder included — leads out of the vault. The one place that decides where a
    write may land. A path that cannot be walked (a missing folder, a loop) is returned as given:
    reading or writing it then fails with the OS's own error."""
    try:
        with resolve(vault, rel) as landed:
            return vault / landed.rel
    except OSError:
        return vault / rel


def vault_relative(vault: Path, path: Path) -> str:
    """`path` (absolute, or relative to the working folder) as a path relative to `vault`, or
    `OutsideVault`. Lexical: symlinks are `resolve`'s to follow."""
    here = os.path.abspath(path)
    for root in (os.path.abspath(vault), os.path.realpath(vault)):
        if here.startswith(root.rstrip(os.sep) + os.sep):
            return here[len(root.rstrip(os.sep)) + 1 :].replace(os.sep, "/")
    parent = os.path.realpath(os.path.dirname(here))  # the vault spelled through a symlink
    root = os.path.realpath(vault)
    if parent == root:
        return os.path.basename(here)
    if parent.startswith(root + os.sep):
        return f"{parent[len(root) + 1 :]}/{os.path.basename(here)}".replace(os.sep, "/")
    raise OutsideVault(f"{path} is outside the vault {vault}; nothing written")


# -- reading -------------------------------------------------------------------------------------


def read_regular(vault: Path, rel: str, limit: int) -> bytes | None:
    """The bytes of the regular file at vault-relative `rel` (None when absent), read safely:
    resolved inside the vault (`OutsideVault`), never blocking (a FIFO is refused, not opened for
    a writer to appear), only a regular file (`NotRegularFile`), at most `limit` bytes
    (`FileTooLarge`). Other OS errors (permissions, a loop) propagate as `OSError`."""
    return read_landed(vault, rel, limit)[0]


def read_landed(vault: Path, rel: str, limit: int) -> tuple[bytes | None, str]:
    """`read_regular`, and the real vault path the bytes were read from (a symlink followed)."""
    try:
        landed = resolve(vault, rel)
    except FileNotFoundError:
        return None, rel  # a folder on the way is missing: so is the file
    with landed:
        return read_at(landed.dir_fd, landed.name, limit, rel), landed.rel


def read_at(dir_fd: int, name: str, limit: int, what: str) -> bytes | None:
    """The bytes of regular file `name` in the open folder `dir_fd` (None when absent), at most
    `limit`; `what` names it in errors."""
    opened = _open_regular(dir_fd, name, what)
    if opened is None:
        return None
    fd, size = opened
    try:
        if size > limit:
            raise FileTooLarge(_too_large(what, size, limit))
        chunks: list[bytes] = []
        total = 0
        while True:
            # Never more than limit + 1 bytes in all: the file may grow while it is read.
            chunk = os.read(fd, min(_CHUNK, limit + 1 - total))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
            if total > limit:
                raise FileTooLarge(_too_large(what, total, limit, growing=True))
        return b"".join(chunks)
    finally:
        os.close(fd)


def _open_regular(dir_fd: int, name: str, what: str) -> tuple[int, int] | None:
    """(open descriptor, size) of regular file `name`, None when absent; `NotRegularFile` for
    anything else (checked before opening, so a device or FIFO is never opened, and again on the
    open descriptor, which is what counts)."""
    try:
        st = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
    except FileNotFoundError:
        return None
    if stat.S_ISLNK(st.st_mode):  # `resolve` followed it: it was swapped in since
        raise ChangedOnDisk(
            f"{what} became a symlink while being read; nothing written, retry later"
        )
    if not stat.S_ISREG(st.st_mode):
        raise _not_regular(what, st.st_mode)
    try:
        fd = os.open(name, _READ_FLAGS, dir_fd=dir_fd)
    except FileNotFoundError:
        return None
    except OSError as exc:
        if exc.errno in (errno.ELOOP, errno.EMLINK):  # O_NOFOLLOW met a symlink: swapped meanwhile
            raise ChangedOnDisk(
                f"{what} became a symlink while being read; nothing written, retry later"
            ) from exc
        raise
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise _not_regular(what, st.st_mode)
    except BaseException:
        os.close(fd)
        raise
    return fd, st.st_size


def _kind(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "a named pipe (FIFO)"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode):
        return "a character device"
    if stat.S_ISBLK(mode):
        return "a block device"
    if stat.S_ISDIR(mode):
        return "a folder"
    return "not a regular file"


def _not_regular(what: str, mode: int) -> NotRegularFile:
    return NotRegularFile(
        f"{what} is {_kind(mode)}, not a regular file: companion neither reads nor replaces it; "
        "nothing written. Remove or rename it"
    )


def _too_large(what: str, size: int, limit: int, growing: bool = False) -> str:
    grew = " and still growing" if growing else ""
    return (
        f"{what} is over {limit:,} bytes{grew} ({size:,} read), more than companion reads to "
        "rewrite a file; nothing written. Move it aside (companion starts a new one)"
    )


def hash_at(dir_fd: int, name: str, what: str) -> tuple[str, int] | None:
    """(sha256 hex, permission bits) of regular file `name` in folder `dir_fd`, streamed (memory
    stays bounded however big it is); None when absent; `NotRegularFile` for anything else."""
    opened = _open_regular(dir_fd, name, what)
    if opened is None:
        return None
    fd, _ = opened
    try:
        digest = hashlib.sha256()
        while chunk := os.read(fd, _CHUNK):
            digest.update(chunk)
        return digest.hexdigest(), stat.S_IMODE(os.fstat(fd).st_mode)
    finally:
        os.close(fd)


def hash_regular(vault: Path, rel: str) -> str | None:
    """The sha256 hex of the regular file at vault-relative `rel`, or None when it is absent,
    outside the vault, not a regular file or unreadable: it never blocks on a FIFO."""
    try:
        with resolve(vault, rel) as landed:
            found = hash_at(landed.dir_fd, landed.name, rel)
    except (OSError, OutsideVault, NotRegularFile, ChangedOnDisk):
        return None
    return found[0] if found is not None else None


# -- writing -------------------------------------------------------------------------------------


def atomic_write(
    abs_path: Path,
    data: bytes,
    expected_hash: str | None,
    *,
    vault: Path | None = None,
    make_folders: bool = False,
) -> str:
    """Replace `abs_path` with `data` atomically; return the sha256 hex of `data`.

    `expected_hash`: None writes unconditionally; "" means the file must not exist yet; any other
    value must equal the hash of the current file (a missing file counts as changed). Otherwise
    `ChangedOnDisk` is raised and nothing is written. The check runs again after the temp file is
    synced, just before the rename, to keep the race window with an editor as short as we can.
    When the file already holds exactly `data`, nothing is written (no mtime change, no echo).

    `vault`: the folder the write must stay inside (`abs_path` must be under it); every component
    from there is checked (`resolve`): a symlink inside it is written through, not replaced; one
    leading out of it is `OutsideVault`. Without it, `abs_path`'s own folder is that boundary.
    `make_folders`: create missing folders on the way (inside `vault`, never through a link out).
    A current file that is not a regular file (FIFO, device, folder) is `NotRegularFile`: never
    opened for reading, never replaced. Modes: see the module docstring. OSError (disk full,
    read-only folder) propagates; the temp file is removed.
    """
    root = vault if vault is not None else abs_path.parent
    rel = vault_relative(root, abs_path)
    with resolve(root, rel, make_folders=make_folders) as landed:
        return _replace_at(landed, data, expected_hash, str(abs_path))


def _replace_at(landed: Landed, data: bytes, expected_hash: str | None, what: str) -> str:
    new_hash = content_hash(data)
    current = hash_at(landed.dir_fd, landed.name, what)
    if expected_hash is not None:
        _check_unchanged(what, current, expected_hash)
    if current is not None and current[0] == new_hash:
        return new_hash
    temp = stage_temp(landed.dir_fd, data, current[1] if current is not None else None)
    try:
        if expected_hash is not None:
            _check_unchanged(what, hash_at(landed.dir_fd, landed.name, what), expected_hash)
        os.replace(temp, landed.name, src_dir_fd=landed.dir_fd, dst_dir_fd=landed.dir_fd)
    except BaseException:
        unlink_at(landed.dir_fd, temp)
        raise
    fsync_fd(landed.dir_fd)
    return new_hash


def stage_temp(dir_fd: int, data: bytes, mode: int | None, prefix: str = "") -> str:
    """Write `data` to a new temp file in folder `dir_fd` and fsync it; return its name
    (`.{prefix}<16 hex digits>{TEMP_SUFFIX}`: a prefix lets its owner recognise its strays).

    `mode`: the permission bits of the file it will replace, or None for a new file (0666 less
    the umask, applied by the kernel). A replacement's temp is created 0600 and set to `mode`
    before any byte is in it, so its content is never readable by more than the file it
    replaces."""
    for _ in range(100):
        name = f".{prefix}{secrets.token_hex(_TEMP_TOKEN_BYTES)}{TEMP_SUFFIX}"
        try:
            fd = os.open(name, _TEMP_FLAGS, 0o600 if mode is not None else 0o666, dir_fd=dir_fd)
        except FileExistsError:
            continue
        break
    else:  # pragma: no cover - 100 collisions of 64 random bits
        raise FileExistsError(errno.EEXIST, "no free temp name", name)
    try:
        if mode is not None:
            os.fchmod(fd, mode)
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        os.fsync(fd)
    except BaseException:
        os.close(fd)
        unlink_at(dir_fd, name)
        raise
    os.close(fd)
    return name


def unlink_at(dir_fd: int, name: str) -> None:
    """Remove `name` from the open folder `dir_fd` (never through a symlinked folder); gone
    already is fine."""
    with contextlib.suppress(FileNotFoundError):
        os.unlink(name, dir_fd=dir_fd)


def _check_unchanged(what: str, current: tuple[str, int] | None, expected_hash: str) -> None:
    if expected_hash == "":
        if current is not None:
            raise ChangedOnDisk(
                f"{what} appeared since it was checked; nothing written, retry later"
            )
        return
    if current is None:
        raise ChangedOnDisk(f"{what} was deleted since it was read; nothing written")
    if current[0] != expected_hash:
        raise ChangedOnDisk(
            f"{what} changed on disk since it was read (someone is editing it); nothing written, "
            "retry later"
        )


def fsync_fd(dir_fd: int) -> None:
    """Make a rename in the open folder durable. Not possible everywhere: best effort."""
    with contextlib.suppress(OSError):
        os.fsync(dir_fd)


def fsync_folder(folder: Path) -> None:
    """Make the rename itself durable. Not possible on every platform (Windows): best effort."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        fsync_fd(fd)
    finally:
        os.close(fd)


class OwnWrites:
    """What the companion itself wrote: vault path -> hash of the bytes it wrote there.

    A watcher event for a recorded path whose file still holds exactly those bytes is the echo of
    our own write and is ignored; any other bytes are a new edit (and the record is dropped). The one
    place that decides what counts as our own write. Files are hashed through `hash_regular`: a
    FIFO or device put where we wrote never blocks the daemon's writer thread."""

    def __init__(self, vault: Path) -> None:
        self.vault = vault
        self._written: dict[str, str] = {}
        self.echoes = 0  # events recognised as our own and ignored
        self.recorded = 0  # writes recorded

    def record(self, path: str, written_hash: str | None = None) -> None:
        """Remember a write; without its hash, the file's current bytes are taken as ours."""
        self.recorded += 1
        if written_hash is None:
            written_hash = hash_regular(self.vault, path)
            if written_hash is None:
                return
        self._written[path] = written_hash

    def is_echo(self, path: str) -> bool:
        """True for an event caused by our own write (the file still holds what we wrote)."""
        written = self._written.get(path)
        if written is None:
            return False
        if hash_regular(self.vault, path) == written:
            self.echoes += 1
            return True
        del self._written[path]
        return False
