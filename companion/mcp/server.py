"""`companion mcp`: the vault's verbs for AI agents, over stdio, on the official MCP SDK.

A thin shell, like the CLI and the daemon: every tool is one `Companion` operation, and every
answer is the JSON the matching CLI command prints (`search` gives `companion search --json`'s
hits, `conflicts` the rows of `companion conflicts --json`). The tools, their arguments and
their results are listed in the README.

**One writer.** When a daemon watches the vault, writes (`update`, `add_source`) are sent to it
over its socket: it is the single writer. Otherwise each write opens its own `Companion`, which
takes the vault's writer lock for that one operation (waiting as the CLI does, then `busy`).
Writes in this process are one at a time (a lock), so two agents' calls never interleave here,
and two servers on one vault meet at the writer lock and the compare-and-swap of `update`:
exactly one of two writers holding the same version wins; the other gets a `conflict` result.

**Reads never wait for a write.** Reads go to one long-lived reading `Companion` (its own lock
serialises reads with each other only); they read the index as the last sync left it (a
daemon keeps it current) and the page's text from disk.

**Results and errors.** A stale `expect_version` is a result, `{"status": "conflict", ...}`,
not an error: the agent re-reads and retries. A vault written by another companion gives
`{"status": "read_only", ...}`. Everything else an agent can get wrong (a path out of the
vault or out of `wiki/`, a page that is not there, a body over the note limit, text that is not
valid Unicode — a lone surrogate a JSON string can carry) is a tool error whose message says
what and where, with nothing written. A path given to `add_source` is read only inside the
folders the server was started with (`--allow-import DIR`).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal

from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ResourceError, ToolError

from companion.app import Companion
from companion.config import Settings
from companion.daemon import client
from companion.errors import (
    EXIT_BUSY,
    EXIT_CONFLICT,
    CompanionError,
    DaemonError,
    VaultLeased,
    VersionConflict,
)
from companion.search.modes import partial_note

Mode = Literal["hybrid", "bm25", "vector"]
Status = Literal["open", "all", "resolved", "superseded"]

INSTRUCTIONS = """\
Tools for one Obsidian vault kept by companion. The markdown is the truth; wiki/ holds pages
companion maintains from the files in sources/, every fact cited. Search first (`search`), read
a page (`read`: its text, `version`, links and open conflicts), and change a managed page with
`update`, giving the `version` you read as `expect_version`: a `conflict` result means someone
wrote it since: read it again and retry. `add_source` files a new source and ingests it.
`conflicts` lists facts that cannot both be true; SYSTEM.md (a resource) is the vault's schema.
"""


def _lone_surrogate(value: Any, where: str = "") -> str | None:
    """Where in `value` (a decoded JSON value) a lone surrogate is (`text`, `properties.owner`,
    `a name in properties`, with the character's index), or None."""
    if isinstance(value, str):
        for i, ch in enumerate(value):
            if 0xD800 <= ord(ch) <= 0xDFFF:
                return f"`{where or 'the value'}` (character {i})"
        return None
    if isinstance(value, dict):
        for key, item in value.items():
            inner = f"{where}.{key}" if where else str(key)
            found = _lone_surrogate(key, f"a name in {where or 'the arguments'}") or (
                _lone_surrogate(item, inner)
            )
            if found:
                return found
    if isinstance(value, list):
        for item in value:
            found = _lone_surrogate(item, where)
            if found:
                return found
    return None


def _check_text(value: Any, what: str = "") -> None:
    """Refuse text that is not valid Unicode — a lone surrogate (`\\ud800` in a JSON string)
    cannot be written as UTF-8 — in a value or any string inside it (for `VaultTools` called
    directly; over stdio `InvalidText` has answered such a request already)."""
    where = _lone_surrogate(value, what)
    if where is not None:
        raise ToolError(
            f"argument {where} is not valid Unicode (a lone surrogate); nothing written"
        )


class InvalidText:
    """Requests whose JSON carried text that is not valid Unicode. JSON can escape a lone
    surrogate (`"\\ud800"`); the SDK's parser refuses the whole line and answers nothing, so
    the client would wait for ever. `guard` reads stdin first: such a line goes on with each
    surrogate replaced (U+FFFD) and its request id noted, and the tool answers that id with an
    error that says what and where, writing nothing."""

    def __init__(self) -> None:
        self._ids: dict[str, str] = {}
        self._lock = threading.Lock()

    def check(self, line: str) -> str:
        import json

        try:
            message = json.loads(line)
        except ValueError:
            return line  # the SDK answers a line that is no JSON
        params = message.get("params") if isinstance(message, dict) else None
        if isinstance(params, dict) and isinstance(params.get("arguments"), dict):
            params = params["arguments"]  # a tool call: say which argument
        where = _lone_surrogate(params)
        if where is None:
            return line
        if "id" in message:
            with self._lock:
                self._ids[str(message["id"])] = where
        message["params"] = _replace_surrogates(message["params"])
        return json.dumps(message) + "\n"

    def refuse(self, request_id: str) -> None:
        with self._lock:
            where = self._ids.pop(str(request_id), None)
        if where is not None:
            raise ToolError(
                f"argument {where} is not valid Unicode (a lone surrogate); nothing read or written"
            )

    async def guard(self, lines: Any) -> Any:
        async for line in lines:
            yield self.check(line)


def _replace_surrogates(value: Any) -> Any:
    if isinstance(value, str):
        return "".join("\ufffd" if 0xD800 <= ord(c) <= 0xDFFF else c for c in value)
    if isinstance(value, dict):
        return {_replace_surrogates(k): _replace_surrogates(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_replace_surrogates(v) for v in value]
    return value


class VaultTools:
    """What the tools do, without the protocol: one vault, its reader, its write lock."""

    def __init__(self, settings: Settings, allow_import: list[Path] | None = None) -> None:
        self.settings = settings
        self.allow_import = [Path(os.path.realpath(p)) for p in allow_import or []]
        self._reader: Companion | None = None
        self._read_lock = threading.Lock()
        self._write_lock = threading.Lock()

    def close(self) -> None:
        if self._reader is not None:
            self._reader.close()
            self._reader = None

    # -- plumbing -------------------------------------------------------------------------------

    @contextmanager
    def reading(self) -> Iterator[Companion]:
        with self._read_lock:
            if self._reader is None:
                self._reader = Companion(self.settings)
            yield self._reader

    def _daemon(self, op: str, **params: Any) -> Any | None:
        return client.request(self.settings.state_dir, op, **params)

    def _write(self, op: str, request: dict[str, Any], local: Callable[[Companion], Any]) -> Any:
        """A write: through the daemon when one runs, else in a `Companion` of its own (which
        takes the writer lock for this one operation), one at a time in this process."""
        remote = self._daemon(op, **request)
        if remote is not None:
            return remote
        with self._write_lock, Companion(self.settings) as app:
            return local(app)

    # -- the tools ------------------------------------------------------------------------------

    def search(
        self,
        query: str,
        mode: Mode = "hybrid",
        limit: int = 10,
        min_score: float | None = None,
        folder: str | None = None,
        tag: str | None = None,
    ) -> dict[str, Any]:
        _check_text(query, "query")
        if not 1 <= limit <= 1000:
            raise ToolError(f"limit must be 1-1000, not {limit}")
        if min_score is not None and not 0.0 <= min_score <= 1.0:
            raise ToolError(f"min_score must be a cosine from 0 to 1, not {min_score}")
        for value, name in ((folder, "folder"), (tag, "tag")):
            if value is not None:
                _check_text(value, name)
        remote = self._daemon(
            "search",
            query=query,
            mode=mode,
            limit=limit,
            min_score=min_score,
            folder=folder,
            tag=tag,
        )
        with self.reading() as app:
            progress = app.embedding_progress()
            note = None if mode == "bm25" else partial_note(progress.embedded, progress.embeddable)
            if remote is not None:
                return {"mode": mode, "hits": remote, "note": note}
            found, used = app.search_best_effort(
                query, mode=mode, limit=limit, min_score=min_score, folder=folder, tag=tag
            )
            return {"mode": used, "hits": [h.as_dict() for h in found], "note": note}

    def read(self, page: str, heading: str | None = None) -> dict[str, Any]:
        _check_text(page, "page")
        if heading is not None:
            _check_text(heading, "heading")
        with self.reading() as app:
            return app.read_note(page, heading=heading)

    def conflicts(self, status: Status = "open") -> dict[str, Any]:
        with self.reading() as app:
            if status == "superseded":
                rows = app.conflicts(superseded=True)
            else:
                rows = app.conflicts(include_resolved=status != "open")
                if status == "resolved":
                    rows = [r for r in rows if r["status"] == "resolved"]
            return {"status": status, "conflicts": rows}

    def ask(self, question: str, save: bool = False) -> dict[str, Any]:
        """`companion ask --json`; with `save`, a write (the answer page), under the lock."""
        _check_text(question, "question")
        if save:

            def local(app: Companion) -> Any:
                return app.ask(question, save=True).as_json()

            return dict(self._write("ask", {"question": question, "save": True}, local))
        with self.reading() as app:
            return app.ask(question).as_json()

    def lint(self, fix: bool = False) -> dict[str, Any]:
        """`companion lint --json`: with `fix`, a write (through the daemon, else the lock)."""
        if fix:
            return dict(
                self._write("lint", {"fix": True}, lambda app: app.lint(fix=True).as_json())
            )
        remote = self._daemon("lint", fix=False)
        if remote is not None:
            return dict(remote)
        with self.reading() as app:
            return app.lint().as_json()

    def status(self) -> dict[str, Any]:
        with self.reading() as app:
            info = app.status().as_json()
        daemon = self._daemon("status", timeout=5)
        info["daemon"] = daemon.get("daemon") if isinstance(daemon, dict) else None
        return info

    def update(
        self,
        page: str,
        expect_version: int | None = None,
        body: str | None = None,
        properties: dict[str, Any] | None = None,
        add: dict[str, list[str]] | None = None,
        remove: dict[str, list[str]] | None = None,
        create: bool = False,
    ) -> dict[str, Any]:
        from companion.write.pages import PageChange

        request: dict[str, Any] = {
            "page": page,
            "expect_version": expect_version,
            "body": body,
            "properties": properties or {},
            "add": add or {},
            "remove": remove or {},
            "create": create,
        }
        _check_text(request)
        if create and expect_version not in (None, 0):
            raise ToolError("create makes a new page: leave out expect_version (or give 0)")
        if not create and expect_version is None:
            raise ToolError("expect_version is required: the `version` you read (see `read`)")

        def local(app: Companion) -> Any:
            change = PageChange(body, request["properties"], request["add"], request["remove"])
            return app.update(page, expect_version, change, create=create).as_json()

        try:
            result = self._write("update", request, local)
        except VersionConflict as exc:
            return {"status": "conflict", "page": page, "message": str(exc)}
        except VaultLeased as exc:
            return {"status": "read_only", "page": page, "message": str(exc)}
        except DaemonError as exc:
            if exc.exit_code == EXIT_CONFLICT:
                return {"status": "conflict", "page": page, "message": str(exc)}
            if exc.exit_code == EXIT_BUSY and "read-only" in str(exc):
                return {"status": "read_only", "page": page, "message": str(exc)}
            raise
        status = "unchanged" if result.get("changed") is False else "updated"
        if create and status == "updated":
            status = "created"
        return {"status": status, **result}

    def add_source(
        self, name: str = "", text: str | None = None, path: str | None = None
    ) -> dict[str, Any]:
        _check_text({"name": name, "text": text, "path": path})
        if (text is None) == (path is None):
            raise ToolError("give the source as `text` or as a `path` to import, not both")
        if path is not None:
            data, name = self._import(path, name)
        else:
            assert text is not None
            if not name.strip():
                raise ToolError("a source given as text needs a `name` (e.g. `meeting-notes.md`)")
            if "\0" in text:
                raise ToolError(
                    f"{name}: the text holds a NUL byte (binary content); nothing written"
                )
            data = text.encode("utf-8")

        def local(app: Companion) -> Any:
            rel = app.add_source(name, data)
            return {"source": rel, **app.ingest([rel]).as_json()}

        request = {"name": name, "data": data.hex()}
        return dict(self._write("add_source", request, local))

    def _import(self, path: str, name: str) -> tuple[bytes, str]:
        """The bytes of a file an agent names by path: only inside an `--allow-import` folder
        (the real path, symlinks followed), only a regular file."""
        if "\0" in path:
            raise ToolError("the path holds a NUL byte; nothing read or written")
        real = Path(os.path.realpath(os.path.expanduser(path)))
        if not any(real == root or root in real.parents for root in self.allow_import):
            allowed = ", ".join(str(p) for p in self.allow_import) or "none (no --allow-import)"
            raise ToolError(
                f"{path} is outside the folders this server may import from ({allowed}); "
                "nothing read or written"
            )
        if not real.is_file():
            raise ToolError(f"{path} is not a regular file; nothing read or written")
        limit = self.settings.schema.ingest.max_source_bytes
        if real.stat().st_size > limit:
            raise ToolError(
                f"{path} is over the {limit / 1e6:,.1f} MB limit for sources; nothing written"
            )
        return real.read_bytes(), name.strip() or real.name

    def resource(self, name: str) -> str:
        """A generated or schema note's text. A vault without its own SYSTEM.md follows the
        default schema: that text is served. No CONFLICT.md yet means no conflict was opened."""
        from companion.config import default_system_md
        from companion.write.atomic import read_regular

        try:
            data = read_regular(self.settings.vault, name, self.settings.max_note_bytes)
        except (CompanionError, OSError) as exc:
            raise ResourceError(f"{name}: {exc}") from None
        if data is not None:
            return data.decode("utf-8", "replace")
        if name == "SYSTEM.md":
            return default_system_md()
        if name == "CONFLICT.md":
            return "# Conflicts\n\nNo conflict has been opened in this vault.\n"
        raise ResourceError(f"{name} is not in the vault yet: `companion index` writes it")


def _tool(
    invalid: InvalidText,
) -> Callable[[Callable[..., dict[str, Any]]], Callable[..., dict[str, Any]]]:
    """A tool's body, guarded: a request whose text was not valid Unicode is refused, and a
    companion error becomes a tool error with its message (the agent reads it)."""
    import functools

    def wrap(fn: Callable[..., dict[str, Any]]) -> Callable[..., dict[str, Any]]:
        @functools.wraps(fn)
        def call(*args: Any, **kwargs: Any) -> dict[str, Any]:
            ctx = kwargs.pop("ctx", None)
            if ctx is not None:
                invalid.refuse(ctx.request_id)
            try:
                return fn(*args, **kwargs)
            except CompanionError as exc:
                raise ToolError(str(exc)) from None

        return call

    return wrap


def build(tools: VaultTools, invalid: InvalidText | None = None) -> MCPServer[Any]:
    """The MCP server over `tools` (tested through the SDK's own client)."""
    from companion import __version__

    guarded = _tool(invalid or InvalidText())

    server: MCPServer[Any] = MCPServer(
        "companion", instructions=INSTRUCTIONS, version=__version__, log_level="WARNING"
    )

    @server.tool(title="Search the vault")
    @guarded
    def search(
        query: str,
        mode: Mode = "hybrid",
        limit: int = 10,
        min_score: float | None = None,
        folder: str | None = None,
        tag: str | None = None,
        ctx: Context | None = None,
    ) -> dict[str, Any]:
        """Hybrid (BM25 + vectors) search of the vault's notes; `mode` bm25 or vector for one
        channel; `min_score`: the cosine below which a note only the vectors found is left out
        (default 0.3); `folder`, `tag`: only notes under that folder, with that tag. Returns
        {"mode", "hits": [{rank, path, title, heading, line, snippet, score, ranks, scores}]},
        the hits of `companion search --json`; no hits when nothing matched."""
        return tools.search(query, mode, limit, min_score, folder, tag)

    @server.tool(title="Read a note")
    @guarded
    def read(page: str, heading: str | None = None, ctx: Context | None = None) -> dict[str, Any]:
        """One note by vault path or name (as a wikilink resolves it, else an alias only one note
        has): {path, title, frontmatter, version, text, backlinks, links, conflicts}; with
        `heading`, `text` is only that heading's section."""
        return tools.read(page, heading)

    @server.tool(title="Update a managed page")
    @guarded
    def update(
        page: str,
        expect_version: int | None = None,
        body: str | None = None,
        properties: dict[str, Any] | None = None,
        add: dict[str, list[str]] | None = None,
        remove: dict[str, list[str]] | None = None,
        create: bool = False,
        ctx: Context | None = None,
    ) -> dict[str, Any]:
        """Compare-and-swap write of a page under wiki/: written only if its `version` is still
        `expect_version` (the version `read` gave). `body` replaces the text after the
        frontmatter; `properties` sets single values (not `version`/`updated`); `add`/`remove`
        change list properties; `create` makes a new page at version 1. Returns {"status":
        "updated"|"created"|"unchanged"|"conflict"|"read_only", ...}: on `conflict`, read the
        page again and retry."""
        return tools.update(page, expect_version, body, properties, add, remove, create)

    @server.tool(title="Add a source and ingest it")
    @guarded
    def add_source(
        name: str = "", text: str | None = None, path: str | None = None, ctx: Context | None = None
    ) -> dict[str, Any]:
        """File a new source into sources/ (a safe name, never overwriting one: `name (2).md`)
        and ingest it into cited wiki pages. Give `text` with a `name` (`notes.md`, `spec.txt`),
        or the `path` of a file inside a folder the server allows (--allow-import). Returns
        {"source": its vault path, "sources": [{path, status, created, updated, conflicts, ...}]}."""
        return tools.add_source(name, text, path)

    @server.tool(title="List conflicts")
    @guarded
    def conflicts(status: Status = "open", ctx: Context | None = None) -> dict[str, Any]:
        """Facts on wiki pages that cannot both be true: `open` (default), `resolved`, `all`,
        or `superseded` (facts a newer source changed). Rows as `companion conflicts --json`:
        {a, b, a_source, b_source, page, title, id, status, opened, closed}."""
        return tools.conflicts(status)

    @server.tool(title="Ask the vault")
    @guarded
    def ask(question: str, save: bool = False, ctx: Context | None = None) -> dict[str, Any]:
        """An answer made of the vault's own sentences, each cited [[note#heading]] (prose
        from a local LLM when one is configured, every sentence checked to cite a passage):
        {question, by, answer: [{text, citation, path}], passages, dropped, note, saved}.
        `save` files it as a page under wiki/answers/."""
        return tools.ask(question, save)

    @server.tool(title="Check the vault's health")
    @guarded
    def lint(fix: bool = False, ctx: Context | None = None) -> dict[str, Any]:
        """`companion lint --json`: {counts, findings: [{path, line, kind, message, fix,
        fixable}], fixed}. Kinds: broken-link, missing-page, ambiguous-link, orphan, schema,
        citation-format, uncited-fact, sources-mismatch, stale, duplicate, open-conflict,
        bad-name. `fix` applies the safe fixes on wiki pages (versioned writes)."""
        return tools.lint(fix)

    @server.tool(title="Vault status")
    @guarded
    def status(ctx: Context | None = None) -> dict[str, Any]:
        """Counts, embedding progress, sources pending, open conflicts, and the daemon if one
        runs: `companion status --json`."""
        return tools.status()

    for name, what in (
        ("index.md", "The vault's catalog: every note, by section, with one line each."),
        ("SYSTEM.md", "The vault's schema: page types, citations, regions, conflicts."),
        ("CONFLICT.md", "The open conflicts, each linking to its callout."),
    ):
        server.add_resource(_resource(tools, name, what))
    return server


def _resource(tools: VaultTools, name: str, what: str) -> Any:
    from mcp.server.mcpserver.resources import FunctionResource

    return FunctionResource.from_function(
        lambda: tools.resource(name),
        uri=f"companion://vault/{name}",
        name=name,
        description=what,
        mime_type="text/markdown",
    )


def serve(settings: Settings, allow_import: list[Path] | None = None) -> None:
    """Serve the vault over stdio until the client closes the pipe."""
    import sys

    import anyio
    from mcp.server.stdio import stdio_server

    tools = VaultTools(settings, allow_import)
    invalid = InvalidText()
    server = build(tools, invalid)

    async def run() -> None:
        # stdin as UTF-8 text (a byte that is not UTF-8 reads as U+FFFD), through the guard;
        # then what MCPServer.run_stdio_async does, with that stdin.
        with open(sys.stdin.fileno(), encoding="utf-8", errors="replace", closefd=False) as raw:
            lines = invalid.guard(anyio.wrap_file(raw))
            async with stdio_server(stdin=lines) as (read, write):
                low = server._lowlevel_server
                await low.run(read, write, low.create_initialization_options())

    try:
        anyio.run(run)
    finally:
        tools.close()


__all__ = ["VaultTools", "build", "serve"]
