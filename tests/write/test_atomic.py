"""Writing one file: atomic replace, re-checked against the hash that was read, and never a hang,
a runaway read or a write out of the vault, whatever the vault holds (real files, real FIFOs,
real symlinks to devices and to folders outside the vault)."""

from __future__ import annotations

import contextlib
import errno
import os
import re
import stat
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

import pytest

from companion.errors import (
    ChangedOnDisk,
    CompanionError,
    FileTooLarge,
    NotRegularFile,
    OutsideVault,
    UnreadableFile,
)
from companion.vault.walk import content_hash
from companion.write.atomic import (
    TEMP_SUFFIX,
    OwnWrites,
    atomic_write,
    landing,
    read_landed,
    read_regular,
)
from tests.helpers import write

T = TypeVar("T")

# How long a call may block before the test gives up on it. Not a performance bound: every call
# below returns at once by design; this only turns a regression (a blocking open of a FIFO, an
# endless read) into a failure instead of a hung test run.
BLOCKED = 60.0

LONG_NAME = "L" * 252 + ".md"  # 255 bytes: the longest name the filesystem allows


def finishes(call: Callable[[], T]) -> T:
    """`call()`'s result or exception, run in a thread so that a call that blocks forever (the
    defect these tests guard against) fails the test instead of hanging the run."""
    outcome: dict[str, object] = {}

    def run() -> None:
        try:
            outcome["value"] = call()
        except BaseException as exc:  # handed to the test below
            outcome["error"] = exc

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(BLOCKED)
    if thread.is_alive():
        pytest.fail(f"still blocked after {BLOCKED:.0f}s: it waits on a FIFO or reads forever")
    if "error" in outcome:
        raise outcome["error"]  # type: ignore[misc]
    return outcome["value"]  # type: ignore[return-value]


@pytest.fixture
def fifos() -> Iterator[Callable[[Path], Path]]:
    """Make real FIFOs; afterwards, open each for writing without blocking, which releases a
    reader a regression left blocked in open() (so the thread does not outlive the test)."""
    made: list[Path] = []

    def make(path: Path) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        os.mkfifo(path)
        made.append(path)
        return path

    yield make
    for path in made:
        with contextlib.suppress(OSError):  # ENXIO: no reader waiting, nothing to release
            os.close(os.open(path, os.O_WRONLY | os.O_NONBLOCK))


def tree(root: Path) -> dict[str, bytes | str]:
    """Every entry under `root`: file bytes, or what else it is (a symlink's target, "fifo")."""
    found: dict[str, bytes | str] = {}
    for folder, dirs, files in os.walk(root):
        for name in dirs + files:
            path = Path(folder, name)
            rel = path.relative_to(root).as_posix()
            if path.is_symlink():
                found[rel] = "-> " + os.readlink(path)
            elif stat.S_ISFIFO(path.lstat().st_mode):
                found[rel] = "fifo"
            elif path.is_file():
                found[rel] = path.read_bytes()
    return found


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def umask_027() -> Iterator[int]:
    """A umask other than the usual 022, so that a mode coming from it is told apart."""
    old = os.umask(0o027)
    yield 0o027
    os.umask(old)


# -- atomic_write ----------------------------------------------------------------------------------


def test_atomic_write_creates_and_returns_hash(tmp_path: Path) -> None:
    path = tmp_path / "New.md"
    assert atomic_write(path, b"hello", None) == content_hash(b"hello")
    assert path.read_bytes() == b"hello"
    assert [p.name for p in tmp_path.iterdir()] == ["New.md"]  # no temp file left behind


def test_atomic_write_with_matching_hash_replaces(tmp_path: Path) -> None:
    path = write(tmp_path, "Page.md", b"v1")
    atomic_write(path, b"v2", content_hash(b"v1"))
    assert path.read_bytes() == b"v2"


def test_atomic_write_refuses_when_the_file_changed(tmp_path: Path) -> None:
    path = write(tmp_path, "Page.md", b"v1")
    expected = content_hash(b"v1")
    path.write_bytes(b"edited by a human")
    with pytest.raises(ChangedOnDisk, match="changed on disk"):
        atomic_write(path, b"v2", expected)
    assert path.read_bytes() == b"edited by a human"
    assert [p.name for p in tmp_path.iterdir()] == ["Page.md"]
    assert issubclass(ChangedOnDisk, CompanionError)


def test_atomic_write_refuses_when_the_file_vanished(tmp_path: Path) -> None:
    with pytest.raises(ChangedOnDisk, match="deleted"):
        atomic_write(tmp_path / "Gone.md", b"v2", content_hash(b"v1"))
    assert not (tmp_path / "Gone.md").exists()


def test_atomic_write_empty_expected_hash_means_must_not_exist(tmp_path: Path) -> None:
    atomic_write(tmp_path / "Fresh.md", b"a", "")
    with pytest.raises(ChangedOnDisk, match="appeared"):
        atomic_write(tmp_path / "Fresh.md", b"b", "")
    assert (tmp_path / "Fresh.md").read_bytes() == b"a"


def test_atomic_write_keeps_the_file_mode(tmp_path: Path) -> None:
    path = write(tmp_path, "Mode.md", b"v1")
    path.chmod(0o640)
    atomic_write(path, b"v2", None)
    assert stat.S_IMODE(path.stat().st_mode) == 0o640


def test_atomic_write_of_identical_content_does_not_touch_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, "Same.md", b"same")
    os.utime(path, ns=(1_000_000_000, 1_000_000_000))
    assert atomic_write(path, b"same", content_hash(b"same")) == content_hash(b"same")
    assert path.stat().st_mtime_ns == 1_000_000_000


def test_atomic_write_through_a_symlink_keeps_the_link(tmp_path: Path) -> None:
    target = write(tmp_path, "real.md", b"v1")
    os.symlink("real.md", tmp_path / "link.md")
    atomic_write(tmp_path / "link.md", b"v2", None)
    assert (tmp_path / "link.md").is_symlink()
    assert target.read_bytes() == b"v2"


def test_a_255_byte_name_is_written_through_a_short_temp_name(tmp_path: Path) -> None:
    """The temp name used to be `.<name>.<random>.companion-tmp`: ENAMETOOLONG for any name over
    ~230 bytes, which escaped and killed the daemon on every edit of such a page."""
    path = write(tmp_path, LONG_NAME, b"v1")
    atomic_write(path, b"v2", content_hash(b"v1"), vault=tmp_path)
    atomic_write(tmp_path / ("N" * 251 + ".md"), b"new", "", vault=tmp_path)
    assert path.read_bytes() == b"v2"
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([LONG_NAME, "N" * 251 + ".md"])


def test_a_crash_mid_write_leaves_a_short_hidden_temp_with_the_suffix(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What the walk, the watcher (dot names) and `journal.recover` (TEMP_SUFFIX) recognise."""

    def killed(*_: object, **__: object) -> None:
        raise SystemExit("kill -9 before the rename")

    path = write(tmp_path, LONG_NAME, b"v1")
    monkeypatch.setattr("companion.write.atomic.os.replace", killed)
    with pytest.raises(SystemExit):
        atomic_write(path, b"v2", None, vault=tmp_path)
    monkeypatch.undo()
    assert path.read_bytes() == b"v1"
    assert [p.name for p in tmp_path.iterdir()] == [LONG_NAME]  # the temp was removed
    from companion.write.journal import recover

    names: list[str] = []
    real_open = os.open

    def spy(name: object, *args: object, **kwargs: object) -> int:
        names.append(str(name))
        return real_open(name, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr("companion.write.atomic.os.open", spy)
    monkeypatch.setattr("companion.write.atomic.os.replace", killed)
    monkeypatch.setattr("companion.write.atomic.unlink_at", lambda *_: None)  # a real kill -9
    with pytest.raises(SystemExit):
        atomic_write(path, b"v2", None, vault=tmp_path)
    monkeypatch.undo()
    temps = [n for n in names if n.endswith(TEMP_SUFFIX)]
    assert len(temps) == 1 and re.fullmatch(r"\.[0-9a-f]{16}\.companion-tmp", temps[0])
    assert (tmp_path / temps[0]).exists()
    assert recover(tmp_path / "state-not-used", tmp_path) is not None
    assert [p.name for p in tmp_path.iterdir()] == [LONG_NAME]


def test_a_new_file_gets_the_mode_an_editor_would_give_it(tmp_path: Path, umask_027: int) -> None:
    """mkstemp's 0600 made every new note unreadable to the rest of the system (a sync daemon
    running as another user, a web server publishing the vault)."""
    atomic_write(tmp_path / "New.md", b"x", "", vault=tmp_path)
    assert mode(tmp_path / "New.md") == 0o666 & ~umask_027 == 0o640


def test_a_replaced_file_keeps_its_mode_whatever_the_umask(tmp_path: Path, umask_027: int) -> None:
    for bits in (0o600, 0o644, 0o664):
        path = write(tmp_path, f"Mode{bits:o}.md", b"v1")
        path.chmod(bits)
        atomic_write(path, b"v2", content_hash(b"v1"), vault=tmp_path)
        assert (path.read_bytes(), mode(path)) == (b"v2", bits)


def test_a_fifo_is_never_opened_nor_replaced(tmp_path: Path, fifos: Callable[[Path], Path]) -> None:
    fifo = fifos(tmp_path / "wiki" / "Page.md")
    with pytest.raises(NotRegularFile, match=r"Page\.md is a named pipe \(FIFO\).*nothing written"):
        finishes(lambda: atomic_write(fifo, b"text", None, vault=tmp_path))
    assert stat.S_ISFIFO(fifo.lstat().st_mode)
    assert [p.name for p in fifo.parent.iterdir()] == ["Page.md"]  # no temp left


def test_a_symlink_out_of_the_vault_is_never_written_through(tmp_path: Path) -> None:
    vault, outside = tmp_path / "vault", tmp_path / "outside"
    secret = write(outside, "secret.md", b"private\n")
    write(vault, "Real.md")
    os.symlink(secret, vault / "Evil.md")
    with pytest.raises(OutsideVault, match=r"Evil\.md leads outside the vault"):
        atomic_write(vault / "Evil.md", b"pwned", None, vault=vault)
    assert tree(outside) == {"secret.md": b"private\n"}
    assert tree(vault) == {"Real.md": b"x", "Evil.md": f"-> {secret}"}


def test_a_symlinked_parent_folder_out_of_the_vault_is_refused(tmp_path: Path) -> None:
    """Only the last component used to be checked by callers that realpath()ed it themselves;
    every component is checked now, and nothing is created or staged in the outside folder."""
    vault, outside = tmp_path / "vault", tmp_path / "outside"
    outside.mkdir()
    (vault / "wiki").mkdir(parents=True)
    os.symlink(outside, vault / "wiki" / "concepts")
    for rel in ("wiki/concepts/New.md", "wiki/concepts/deeper/New.md"):
        with pytest.raises(OutsideVault, match="wiki/concepts is a link to"):
            atomic_write(vault / rel, b"x", "", vault=vault, make_folders=True)
    assert tree(outside) == {}


def test_a_relative_symlink_climbing_out_is_refused(tmp_path: Path) -> None:
    vault = tmp_path / "vault"
    write(tmp_path, "outside.md", b"private")
    (vault / "a").mkdir(parents=True)
    os.symlink("../../outside.md", vault / "a" / "Up.md")
    with pytest.raises(OutsideVault):
        atomic_write(vault / "a" / "Up.md", b"pwned", None, vault=vault)
    assert (tmp_path / "outside.md").read_bytes() == b"private"


def test_a_symlink_inside_the_vault_is_written_through_and_stays_a_link(tmp_path: Path) -> None:
    vault = tmp_path / "vault"
    real = write(vault, "archive/Real.md", b"v1")
    os.symlink("archive", vault / "shelf")  # a linked folder
    os.symlink(str(real), vault / "Abs.md")  # an absolute link into the vault
    atomic_write(vault / "shelf" / "Real.md", b"v2", content_hash(b"v1"), vault=vault)
    atomic_write(vault / "Abs.md", b"v3", content_hash(b"v2"), vault=vault)
    assert real.read_bytes() == b"v3"
    assert (vault / "shelf").is_symlink() and (vault / "Abs.md").is_symlink()
    assert sorted(p.name for p in real.parent.iterdir()) == ["Real.md"]


def test_landing_resolves_links_inside_and_refuses_parents_leading_out(tmp_path: Path) -> None:
    vault, outside = tmp_path / "vault", tmp_path / "outside"
    outside.mkdir()
    write(vault, "wiki/concepts/Real.md")
    os.symlink("Real.md", vault / "wiki" / "concepts" / "Link.md")
    os.symlink(outside, vault / "wiki" / "entities")
    assert landing(vault, "wiki/concepts/Link.md") == vault / "wiki/concepts/Real.md"
    assert landing(vault, "wiki/missing/New.md") == vault / "wiki/missing/New.md"
    with pytest.raises(OutsideVault, match="wiki/entities is a link to"):
        landing(vault, "wiki/entities/X.md")


# -- read_regular ---------------------------------------------------------------------------------


def test_reading_a_fifo_is_refused_at_once_naming_it(
    tmp_path: Path, fifos: Callable[[Path], Path]
) -> None:
    """An open() of a FIFO waits for a writer forever: `companion index` hung on a FIFO named
    index.md, holding the writer lock, deaf to SIGTERM."""
    fifos(tmp_path / "index.md")
    with pytest.raises(NotRegularFile, match=r"index\.md is a named pipe \(FIFO\)") as caught:
        finishes(lambda: read_regular(tmp_path, "index.md", 1000))
    assert isinstance(caught.value, UnreadableFile) and caught.value.exit_code == 1
    assert "nothing written" in str(caught.value)


def test_reading_through_a_link_to_a_fifo_inside_the_vault_is_refused(
    tmp_path: Path, fifos: Callable[[Path], Path]
) -> None:
    fifos(tmp_path / "pipes" / "p")
    os.symlink("pipes/p", tmp_path / "log.md")
    with pytest.raises(NotRegularFile, match="named pipe"):
        finishes(lambda: read_regular(tmp_path, "log.md", 1000))


@pytest.mark.parametrize("device", ["/dev/zero", "/dev/urandom"])
def test_a_link_to_an_endless_device_is_refused_without_reading(
    tmp_path: Path, device: str
) -> None:
    """log.md -> /dev/zero used to be read until memory ran out."""
    os.symlink(device, tmp_path / "log.md")
    with pytest.raises(OutsideVault, match=f"it is a link to {device}"):
        finishes(lambda: read_regular(tmp_path, "log.md", 1 << 30))


def test_a_file_over_the_limit_is_refused(tmp_path: Path) -> None:
    write(tmp_path, "log.md", b"x" * 1001)
    with pytest.raises(FileTooLarge, match=r"log\.md is over 1,000 bytes"):
        read_regular(tmp_path, "log.md", 1000)
    assert read_regular(tmp_path, "log.md", 1001) == b"x" * 1001


def test_reading_absent_files_folders_and_loops(tmp_path: Path) -> None:
    (tmp_path / "folder.md").mkdir()
    os.symlink("loop.md", tmp_path / "loop.md")
    assert read_regular(tmp_path, "nothing.md", 10) is None
    assert read_regular(tmp_path, "no/such/folder.md", 10) is None
    with pytest.raises(NotRegularFile, match=r"folder\.md is a folder"):
        read_regular(tmp_path, "folder.md", 10)
    with pytest.raises(OSError) as caught:
        read_regular(tmp_path, "loop.md", 10)
    assert caught.value.errno == errno.ELOOP
    with pytest.raises(OutsideVault):
        read_regular(tmp_path, "../escape.md", 10)


def test_a_link_inside_the_vault_is_read_through_and_its_real_path_told(tmp_path: Path) -> None:
    write(tmp_path, "archive/log.md", b"entries\n")
    os.symlink("archive/log.md", tmp_path / "log.md")
    assert read_landed(tmp_path, "log.md", 100) == (b"entries\n", "archive/log.md")
    assert read_landed(tmp_path, "absent.md", 100) == (None, "absent.md")


def test_own_writes_never_block_on_a_fifo_put_where_we_wrote(
    tmp_path: Path, fifos: Callable[[Path], Path]
) -> None:
    """The daemon's writer thread asks `is_echo` of every changed path."""
    own = OwnWrites(tmp_path)
    path = write(tmp_path, "index.md", b"ours")
    own.record("index.md")
    assert own.is_echo("index.md")
    path.unlink()
    fifos(path)
    own.record("index.md", content_hash(b"ours"))
    assert finishes(lambda: own.is_echo("index.md")) is False
    own.record("index.md")  # without a hash: the FIFO is not read, nothing recorded
    assert finishes(lambda: own.is_echo("index.md")) is False


def test_the_state_folder_is_private_from_the_start(tmp_path: Path) -> None:
    """It holds the index of the vault's text: no other local user may read it, daemon or not."""
    from companion.write.state import ensure_state_dir

    state = ensure_state_dir(tmp_path / "deep" / "state")
    assert stat.S_IMODE(state.stat().st_mode) == 0o700


def test_concurrent_starts_on_one_state_folder_all_find_it_writable(tmp_path: Path) -> None:
    """Every process used to write and unlink the same probe file: one start's unlink made
    another's fail with "No such file or directory"."""
    import threading

    from companion.write.state import ensure_state_dir

    errors: list[BaseException] = []

    def start() -> None:
        try:
            for _ in range(50):
                ensure_state_dir(tmp_path / "state")
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=start) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert list((tmp_path / "state").iterdir()) == []  # no probe left behind
