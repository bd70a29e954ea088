"""`companion mcp` through the official SDK's own client, over a real stdio subprocess.

Each test builds a small vault in a temporary folder (a managed wiki page, a person's note that
links to it, a source), indexes it with the real CLI, and starts `python -m companion mcp` as
an MCP client would. Writes are checked on disk: what the tools say is what the files hold, and
every refused call leaves every file of the vault byte for byte as it was.
"""

from __future__ import annotations

import dataclasses
import io
import json
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp.client.session import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client

from companion.app import Companion
from companion.embed import Embedder
from tests.helpers import run_cli, write

pytestmark = pytest.mark.slow  # MCP server processes: the full suite runs them

PAGE = "wiki/entities/Kestrel Broker.md"
PAGE_TEXT = """---
type: entity
version: 1
aliases: [kestrel]
---
The Kestrel broker carries the yard's telemetry.
"""
NOTE = "people/Ann Okafor.md"
ENV = {"COMPANION_EMBED_BACKEND": "fake"}
TOOLS = {"search", "read", "update", "add_source", "conflicts", "lint", "ask", "status"}


@dataclasses.dataclass
class Vault:
    root: Path
    state: Path

    def args(self, *extra: str) -> list[str]:
        return [
            "-m",
            "companion",
            "mcp",
            "--vault",
            str(self.root),
            "--state-dir",
            str(self.state),
            *extra,
        ]

    def files(self) -> dict[str, bytes]:
        return {
            p.relative_to(self.root).as_posix(): p.read_bytes()
            for p in sorted(self.root.rglob("*"))
            if p.is_file() and ".companion" not in p.parts
        }


@pytest.fixture
def vault(tmp_path: Path) -> Vault:
    root = tmp_path / "vault"
    Companion.init(root)
    write(root, PAGE, PAGE_TEXT)
    write(root, NOTE, "Ann looks after the [[Kestrel Broker]].\n")
    v = Vault(root, tmp_path / "state")
    done = run_cli("index", str(root), "--state-dir", str(v.state), env=ENV)
    assert done.returncode == 0, done.stderr
    return v


def _env() -> dict[str, str]:
    env = {k: val for k, val in os.environ.items() if not k.startswith("COMPANION_")}
    return {**env, **ENV}


@asynccontextmanager
async def session(v: Vault, *extra: str) -> AsyncIterator[ClientSession]:
    params = StdioServerParameters(command=sys.executable, args=v.args(*extra), env=_env())
    with open(os.devnull, "w") as errlog:
        async with (
            stdio_client(params, errlog=errlog) as (read, write_),
            ClientSession(read, write_) as s,
        ):
            await s.initialize()
            yield s


async def call(s: ClientSession, tool: str, **args: Any) -> dict[str, Any]:
    """A tool's structured result; a tool error as {"error": its message}."""
    result = await s.call_tool(tool, args)
    if result.is_error:
        return {"error": " ".join(getattr(c, "text", "") for c in result.content)}
    assert result.structured_content is not None
    return dict(result.structured_content)


def run(coro: Any) -> Any:
    return anyio.run(lambda: coro)


def test_every_tool_and_resource_answers_with_what_the_cli_gives(vault: Vault) -> None:
    async def go() -> None:
        async with session(vault) as s:
            listed = await s.list_tools()
            assert {t.name for t in listed.tools} == TOOLS
            found = await call(s, "search", query="kestrel telemetry", mode="bm25", limit=5)
            cli = run_cli(
                "search",
                "kestrel telemetry",
                "--mode",
                "bm25",
                "--limit",
                "5",
                "--json",
                "--vault",
                str(vault.root),
                "--state-dir",
                str(vault.state),
                env=ENV,
            )
            assert [h["path"] for h in found["hits"]] == [h["path"] for h in json.loads(cli.stdout)]
            assert found["hits"][0]["path"] == PAGE
            page = await call(s, "read", page="kestrel")  # an alias only one note has
            assert page["path"] == PAGE and page["version"] == 1
            assert page["frontmatter"]["type"] == "entity"
            assert [b["source"] for b in page["backlinks"]] == [NOTE]
            note = await call(s, "read", page="Ann Okafor")
            assert [(x["raw"], x["target"]) for x in note["links"]] == [
                ("[[Kestrel Broker]]", PAGE)
            ]
            done = await call(
                s, "update", page=PAGE, expect_version=1, properties={"status": "reviewed"}
            )
            assert done["status"] == "updated" and done["new_version"] == 2
            assert (await call(s, "conflicts"))["conflicts"] == []
            said = await call(s, "ask", question="what does the kestrel broker carry")
            assert said["answer"][0]["path"] == PAGE
            health = await call(s, "lint")
            assert health["counts"]["broken-link"] == 0 and "findings" in health
            status = await call(s, "status")
            assert status["notes"] >= 2 and status["conflicts_open"] == 0
            resources = await s.list_resources()
            assert {str(r.uri) for r in resources.resources} == {
                f"companion://vault/{n}" for n in ("index.md", "SYSTEM.md", "CONFLICT.md")
            }
            schema = await s.read_resource("companion://vault/SYSTEM.md")
            assert "managed_folders" in getattr(schema.contents[0], "text", "")

    run(go())
    text = (vault.root / PAGE).read_text(encoding="utf-8")
    assert "status: reviewed" in text and "version: 2" in text


def test_a_stale_version_is_a_conflict_result_and_writes_nothing(vault: Vault) -> None:
    async def go() -> dict[str, Any]:
        async with session(vault) as s:
            return await call(s, "update", page=PAGE, expect_version=7, body="Replaced.\n")

    before = vault.files()
    result = run(go())
    assert result["status"] == "conflict" and "version" in result["message"]
    assert vault.files() == before


def test_two_clients_racing_on_one_version_exactly_one_wins_each_round(vault: Vault) -> None:
    rounds = 5

    async def go() -> list[list[str]]:
        outcomes: list[list[str]] = []
        async with session(vault) as a, session(vault) as b:
            for n in range(rounds):
                version = (await call(a, "read", page=PAGE))["version"]
                got: list[str] = []

                async def one(
                    s: ClientSession,
                    who: str,
                    version: int = version,
                    n: int = n,
                    got: list[str] = got,
                ) -> None:
                    r = await call(
                        s,
                        "update",
                        page=PAGE,
                        expect_version=version,
                        properties={"last_writer": f"{who}-{n}"},
                    )
                    got.append(r.get("status") or r["error"])

                async with anyio.create_task_group() as tg:
                    tg.start_soon(one, a, "a")
                    tg.start_soon(one, b, "b")
                outcomes.append(sorted(got))
        return outcomes

    outcomes = run(go())
    assert outcomes == [["conflict", "updated"]] * rounds
    text = (vault.root / PAGE).read_text(encoding="utf-8")
    assert f"version: {1 + rounds}" in text  # every win is one version; no update was lost


def test_hostile_arguments_are_clear_errors_and_change_nothing(
    vault: Vault, tmp_path: Path
) -> None:
    allowed = tmp_path / "inbox"
    allowed.mkdir()
    secret = tmp_path / "secret.txt"
    secret.write_text("do not copy", encoding="utf-8")
    (allowed / "link.txt").symlink_to(secret)

    async def go() -> dict[str, str]:
        async with session(vault, "--allow-import", str(allowed)) as s:
            out = {}
            for name, tool, args in (
                ("dotdot", "update", {"page": "../outside.md", "expect_version": 1, "body": "x"}),
                ("person", "update", {"page": NOTE, "expect_version": 0, "body": "x"}),
                ("huge", "update", {"page": PAGE, "expect_version": 1, "body": "x" * 50_000_000}),
                (
                    "key",
                    "update",
                    {"page": PAGE, "expect_version": 1, "properties": {"version": 9}},
                ),
                (
                    "type",
                    "update",
                    {"page": PAGE, "expect_version": 1, "properties": {"type": "concept"}},
                ),
                (
                    "regions",
                    "update",
                    {
                        "page": PAGE,
                        "expect_version": 1,
                        "body": "%% companion:begin facts %%\n- x\n",
                    },
                ),
                ("outside", "add_source", {"path": str(secret)}),
                ("symlink", "add_source", {"path": str(allowed / "link.txt")}),
                ("ssh", "add_source", {"path": "~/.ssh/id_rsa"}),
                ("format", "add_source", {"name": "tool.exe", "text": "MZ"}),
                ("missing", "read", {"page": "No Such Note"}),
                ("read-out", "read", {"page": "../../etc/passwd"}),
            ):
                out[name] = (await call(s, tool, **args)).get("error", "")
            return out

    before = vault.files()
    errors = run(go())
    assert "outside the vault" in errors["dotdot"]
    assert "leads outside the vault" in errors["read-out"]
    assert "not a managed page" in errors["person"]
    assert "over the" in errors["huge"] and "limit" in errors["huge"]
    assert "version" in errors["key"]
    assert "the type must match the folder" in errors["type"]
    assert "has no `end` marker" in errors["regions"]
    for name in ("outside", "symlink", "ssh"):
        assert "outside the folders this server may import from" in errors[name], name
    assert "unsupported format" in errors["format"]
    assert "no note named" in errors["missing"]
    assert vault.files() == before


def test_text_that_is_not_valid_unicode_gets_an_answer_that_says_where(vault: Vault) -> None:
    """A lone surrogate can only arrive as raw JSON (the SDK's client will not send one)."""
    proc = subprocess.Popen(
        [sys.executable, *vault.args()],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env=_env(),
    )
    assert proc.stdin is not None and proc.stdout is not None

    def send(line: str) -> None:
        assert proc.stdin is not None
        proc.stdin.write(line.encode("utf-8") + b"\n")
        proc.stdin.flush()

    before = vault.files()
    try:
        send(
            json.dumps(
                {
                    "jsonrpc": "2.0",
                    "id": 1,
                    "method": "initialize",
                    "params": {
                        "protocolVersion": "2025-11-25",
                        "capabilities": {},
                        "clientInfo": {"name": "raw", "version": "0"},
                    },
                }
            )
        )
        assert json.loads(proc.stdout.readline())["id"] == 1
        send(json.dumps({"jsonrpc": "2.0", "method": "notifications/initialized"}))
        send(
            '{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"add_source",'
            '"arguments":{"name":"notes.md","text":"broken \\ud800 text"}}}'
        )
        reply = json.loads(proc.stdout.readline())
    finally:
        proc.stdin.close()
        proc.wait(timeout=20)
        proc.stdout.close()
    assert reply["id"] == 2 and reply["result"]["isError"] is True
    message = reply["result"]["content"][0]["text"]
    assert "argument `text` (character 7) is not valid Unicode" in message
    assert vault.files() == before


def test_add_source_never_overwrites_and_ingests_the_new_file(vault: Vault) -> None:
    async def go() -> list[dict[str, Any]]:
        async with session(vault) as s:
            first = await call(
                s,
                "add_source",
                name="yard/../notes",
                text=("# Yard notes\n\nThe Kestrel Broker keeps telemetry for 9 days.\n"),
            )
            second = await call(
                s, "add_source", name="Notes.md", text="# Other\n\nSomething else.\n"
            )
            return [first, second]

    first, second = run(go())
    assert first["source"] == "sources/notes.md" and second["source"] == "sources/Notes (2).md"
    outcome = first["sources"][0]
    assert outcome["status"] == "ingested" and PAGE in outcome["updated"]
    assert "9 days" in (vault.root / PAGE).read_text(encoding="utf-8")
    assert (vault.root / "sources/notes.md").read_text(encoding="utf-8").startswith("# Yard notes")


def test_with_a_daemon_running_the_writes_go_through_it(vault: Vault, embedder: Embedder) -> None:
    from companion.config import load_settings
    from companion.daemon.core import Daemon
    from tests.daemon.support import FAST, serve_in_thread

    settings = load_settings(vault.root, state_dir=vault.state, embed_backend="fake")
    log = io.StringIO()
    daemon = Daemon(settings, FAST, embedder=embedder, query_embedder=embedder, out=log)
    daemon.start()
    thread = serve_in_thread(daemon)
    try:

        async def go() -> tuple[dict[str, Any], dict[str, Any]]:
            async with session(vault) as s:
                done = await call(
                    s, "update", page=PAGE, expect_version=1, properties={"status": "ok"}
                )
                said = await call(
                    s, "ask", question="what does the kestrel broker carry", save=True
                )
                return done, said

        result, said = run(go())
        assert result["status"] == "updated"
        assert daemon.counters["updates"] == 1  # the daemon wrote it, not the server
        assert said["saved"] and (vault.root / said["saved"]).is_file()  # written by the daemon
    finally:
        daemon.stop()
        thread.join(timeout=20)


def test_under_another_companions_lease_a_write_is_a_read_only_result(
    vault: Vault, tmp_path: Path
) -> None:
    from companion.config import load_settings

    owner = Companion(
        load_settings(vault.root, state_dir=tmp_path / "other-state"), writer="daemon"
    )
    try:

        async def go() -> dict[str, Any]:
            async with session(vault) as s:
                return await call(s, "update", page=PAGE, expect_version=1, body="Mine now.\n")

        before = vault.files()
        result = run(go())
    finally:
        owner.close()
    assert result["status"] == "read_only" and "already has a writer" in result["message"]
    assert vault.files() == before
