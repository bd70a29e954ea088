"""Git history of what companion writes (optional, off by default: `git: true` in SYSTEM.md's
frontmatter or `COMPANION_GIT=1`).

When the vault is inside a git work tree, each companion operation that writes files is one
commit of exactly those files, with exactly the bytes companion wrote, and the operation's
`log.md` headline as its message. Nothing else goes in: the commit is built through a temporary
index (`GIT_INDEX_FILE`) that starts from `HEAD`'s tree and gets only companion's blobs, so the
person's changes to other files, staged or not, are neither committed nor disturbed. (A managed
page companion rewrites holds what the person saved in it — a version bump keeps every other
byte — so that page's commit carries their edit too: they are the bytes companion wrote.) `HEAD` moves by
`update-ref` with the old value given (a commit made meanwhile is never overwritten: the commit
is retried on top of it). The person's own index is then told of companion's files only where
it still held what `HEAD` held before (so `git status` does not show companion's commit as a
staged reversal); an entry the person staged is left as it is. A busy `index.lock` is retried
for a moment, then reported. Never a push, never a branch switch, never a hook: plumbing only.

Without git installed, or with the vault outside a work tree, `GitHistory` says so once (its
`problem`) and does nothing.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path

LOCK_TRIES = 20  # × 0.1 s: how long a busy index.lock is waited for
IDENTITY = {"GIT_AUTHOR_NAME": "companion", "GIT_AUTHOR_EMAIL": "companion@localhost"}


class GitError(Exception):
    pass


class GitHistory:
    """Commits for one vault; `problem` is why it cannot (None when it can)."""

    def __init__(self, vault: Path) -> None:
        self.vault = vault
        self.problem: str | None = None
        self.top: Path | None = None
        self.reported = False
        if shutil.which("git") is None:
            self.problem = "git history is on (COMPANION_GIT / SYSTEM.md `git: true`), but git is not installed: nothing is committed"
            return
        try:
            done = self._git(["rev-parse", "--show-toplevel"], check=False)
        except GitError as exc:
            self.problem = f"git history is on, but git does not run ({exc}): nothing is committed"
            return
        if done.returncode != 0:
            self.problem = f"git history is on, but {vault} is not inside a git work tree: nothing is committed (run `git init` there)"
            return
        self.top = Path(done.stdout.decode().strip())
        if self._git(["symbolic-ref", "-q", "HEAD"], check=False).returncode != 0:
            self.problem = (
                "git history is on, but HEAD is detached (not on a branch): nothing is committed, "
                "so nothing lands where a checkout would lose it"
            )
            return
        self._identity = self._git(["config", "user.email"], check=False).returncode != 0

    def _git(
        self,
        args: list[str],
        *,
        data: bytes | None = None,
        env: Mapping[str, str] | None = None,
        check: bool = True,
    ) -> subprocess.CompletedProcess[bytes]:
        full = {**os.environ, "GIT_TERMINAL_PROMPT": "0", **(env or {})}
        try:
            done = subprocess.run(
                ["git", *args],
                cwd=self.vault,
                input=data,
                capture_output=True,
                env=full,
                timeout=60,
            )
        except (OSError, subprocess.SubprocessError) as exc:
            raise GitError(f"git {args[0]}: {exc}") from None
        if check and done.returncode != 0:
            raise GitError(f"git {args[0]}: {done.stderr.decode('utf-8', 'replace').strip()}")
        return done

    def commit(self, files: Mapping[str, bytes], message: str) -> str | None:
        """Commit `files` (vault path → the bytes companion wrote) with `message`; the commit id,
        or None when there is nothing to commit (or git history cannot work here)."""
        if self.problem is not None or self.top is None or not files:
            return None
        prefix = self.vault.resolve().relative_to(self.top.resolve()).as_posix()
        paths = {(f"{prefix}/{rel}" if prefix != "." else rel): data for rel, data in files.items()}
        blobs = {
            path: self._git(["hash-object", "-w", "--stdin"], data=data).stdout.decode().strip()
            for path, data in paths.items()
        }
        env = {**(IDENTITY if self._identity else {})}
        for _ in range(5):
            head = self._git(["rev-parse", "--verify", "-q", "HEAD"], check=False)
            parent = head.stdout.decode().strip() if head.returncode == 0 else None
            with tempfile.TemporaryDirectory(prefix="companion-git-") as tmp:
                index_env = {**env, "GIT_INDEX_FILE": str(Path(tmp) / "index")}
                if parent:
                    self._git(["read-tree", parent], env=index_env)
                before = self._entries(list(blobs), parent)
                for path, blob in blobs.items():
                    self._git(
                        ["update-index", "--add", "--cacheinfo", f"100644,{blob},{path}"],
                        env=index_env,
                    )
                tree = self._git(["write-tree"], env=index_env).stdout.decode().strip()
            if (
                parent
                and tree == self._git(["rev-parse", f"{parent}^{{tree}}"]).stdout.decode().strip()
            ):
                return None  # HEAD already holds these bytes
            args = ["commit-tree", tree, "-m", message, *(["-p", parent] if parent else [])]
            commit = self._git(args, env=env).stdout.decode().strip()
            moved = self._git(["update-ref", "HEAD", commit, parent or "0" * 40], check=False)
            if moved.returncode == 0:
                self._sync_index(blobs, before)
                return commit
        raise GitError("HEAD kept moving while companion committed; its files are left uncommitted")

    def _entries(self, paths: list[str], parent: str | None) -> dict[str, str | None]:
        """What HEAD held at each path before the commit (blob id, None when absent)."""
        out: dict[str, str | None] = dict.fromkeys(paths)
        if parent:
            listed = self._git(["ls-tree", parent, "--", *paths]).stdout.decode()
            for line in listed.splitlines():
                meta, _, path = line.partition("\t")
                out[path] = meta.split()[2]
        return out

    def _sync_index(self, blobs: Mapping[str, str], before: Mapping[str, str | None]) -> None:
        """Tell the person's index of companion's new blobs where it still held HEAD's old
        entry (or none): their own staged changes are left alone."""
        staged = self._git(["ls-files", "-s", "--", *blobs], check=False).stdout.decode()
        held = {}
        for line in staged.splitlines():
            meta, _, path = line.partition("\t")
            held[path] = meta.split()[1]
        for path, blob in blobs.items():
            if held.get(path) != before.get(path):
                continue  # the person staged something else here
            for _ in range(LOCK_TRIES):
                done = self._git(
                    ["update-index", "--add", "--cacheinfo", f"100644,{blob},{path}"], check=False
                )
                if done.returncode == 0:
                    break
                if b"index.lock" not in done.stderr:
                    raise GitError(
                        f"git update-index: {done.stderr.decode('utf-8', 'replace').strip()}"
                    )
                time.sleep(0.1)
            else:
                raise GitError(
                    "the git index is locked (index.lock: another git command is running); the "
                    "commit is made, your index was not updated for " + path
                )
