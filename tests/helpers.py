"""What tests share besides fixtures: where the repository and the shared data are, and small
helpers. Import it as `from tests.helpers import …` (fixtures live in conftest.py)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from companion.app import Companion

REPO = Path(__file__).resolve().parents[1]
EXAMPLE_VAULT = REPO / "vault"
SHARED_DATA = REPO.parent / "shared" / "data"
REAL_VAULTS = SHARED_DATA / "vaults"

requires_shared = pytest.mark.skipif(
    not REAL_VAULTS.is_dir(),
    reason=f"shared test data not found at {REAL_VAULTS} (only in the project's CI)",
)

OpenApp = Callable[..., "Companion"]


def run_cli(
    *args: str, cwd: Path | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """`python -m companion ARGS` in a real process, with none of the caller's `COMPANION_*`
    settings but those in `env`."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("COMPANION_")}
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "companion", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=full_env,
        timeout=300,
    )


def copy_example_vault(dest: Path) -> Path:
    """The example vault without the notes companion generates (index.md, log.md, index/)."""
    ignore = shutil.ignore_patterns("index.md", "log.md", "index")
    return Path(shutil.copytree(EXAMPLE_VAULT, dest, ignore=ignore))


def wait_until(
    condition: Callable[[], object], timeout: float = 30.0, what: str = "condition"
) -> None:
    """Poll `condition` until it holds (AssertionError naming `what` after `timeout` seconds)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


def write(root: Path, rel: str, data: str | bytes = "x") -> Path:
    """Write text or bytes at `root/rel` (folders made as needed); returns the path."""
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, str):
        path.write_text(data, encoding="utf-8")
    else:
        path.write_bytes(data)
    return path


# Tests about unreadable files run their process with the capabilities that bypass file modes
# dropped: CI runs as root, and root reads a chmod-000 file anyway.
DROP_CAPS = ["--bounding-set=-dac_override,-dac_read_search", "--inh-caps=-all"]


def unprivileged(command: list[str]) -> list[str]:
    """`command` as a process file modes apply to: through `setpriv` when running as root (it
    stays uid 0, owner of the test's files), unchanged otherwise; skips without setpriv."""
    if os.geteuid() != 0:
        return command
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("running as root, and no setpriv to drop the capabilities that bypass modes")
    return [setpriv, *DROP_CAPS, *command]
