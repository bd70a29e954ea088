"""A folder the walk cannot list is unknown, not empty (`WalkResult.unknown_dirs`).

The walk runs in a real subprocess that cannot bypass file modes: tests run as root here, and root
lists a chmod-000 folder anyway. As root, the subprocess is started through `setpriv` with the two
capabilities that bypass file modes (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH) dropped from its
bounding set; it stays uid 0, the owner of the temporary files, so everything but the locked
folders stays readable. Each test first checks, in that process, that the folder really cannot be
listed, and skips (saying why) when it can.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import REPO, unprivileged, write

WALK = """
import json, os, sys
from pathlib import Path
from companion.vault.obsidian import IgnoreRules
from companion.vault.walk import walk

root, locked = Path(sys.argv[1]), sys.argv[2:]
listable = []
for rel in locked:
    try:
        os.listdir(root / rel)
        listable.append(rel)
    except PermissionError:
        pass
result = walk(root, IgnoreRules.load(root))
print(json.dumps({
    "listable": listable,
    "files": [f.path for f in result.files],
    "problems": {p.path: p.reason for p in result.problems},
    "unknown_dirs": result.unknown_dirs,
}))
"""


def walk_unprivileged(root: Path, *locked: str) -> dict[str, Any]:
    """The walk of `root` as a process that file modes apply to; skips if none can be had."""
    command = unprivileged([sys.executable, "-c", WALK, str(root), *locked])
    done = subprocess.run(command, capture_output=True, text=True, cwd=REPO, timeout=60)
    if done.returncode != 0 and "setpriv" in done.stderr:
        pytest.skip(f"setpriv could not drop the capabilities: {done.stderr.strip()}")
    assert done.returncode == 0, done.stderr
    out: dict[str, Any] = json.loads(done.stdout)
    if out["listable"]:
        pytest.skip(
            f"the walking process can still list {out['listable']} after chmod 000: it is "
            "privileged in a way this test cannot drop, so the scenario cannot be built"
        )
    return out


@pytest.fixture
def lock() -> Iterator[list[Path]]:
    """Folders to make unreadable (chmod 000); their modes are restored afterwards so that
    pytest can remove them."""
    locked: list[Path] = []
    yield locked
    for folder in locked:
        folder.chmod(0o755)


def test_a_folder_that_cannot_be_listed_is_unknown_not_empty(
    tmp_path: Path, lock: list[Path]
) -> None:
    write(tmp_path, "ok.md")
    write(tmp_path, "locked/secret.md")
    write(tmp_path, "notes/inner lock/deep/note.md")
    write(tmp_path, "notes/open.md")
    for rel in ("locked", "notes/inner lock"):
        (tmp_path / rel).chmod(0)
        lock.append(tmp_path / rel)
    out = walk_unprivileged(tmp_path, "locked", "notes/inner lock")
    assert out["files"] == ["notes/open.md", "ok.md"]
    # Named vault-relative, so a sync can keep every note it knew under them.
    assert out["unknown_dirs"] == ["locked", "notes/inner lock"]
    assert out["problems"] == {
        "locked": "cannot read folder: permission denied",
        "notes/inner lock": "cannot read folder: permission denied",
    }


def test_a_vault_that_cannot_be_listed_is_unknown_as_a_whole(
    tmp_path: Path, lock: list[Path]
) -> None:
    vault = tmp_path / "vault"
    write(vault, "note.md")
    vault.chmod(0)
    lock.append(vault)
    out = walk_unprivileged(vault, ".")
    assert out["files"] == []
    assert out["unknown_dirs"] == [""]  # everything in it is unknown: nothing may be removed


def test_a_readable_vault_has_no_unknown_folders(tmp_path: Path) -> None:
    write(tmp_path, "a/b/c.md")
    write(tmp_path, "d.md")
    out = walk_unprivileged(tmp_path)
    assert out["files"] == ["a/b/c.md", "d.md"] and out["unknown_dirs"] == []
