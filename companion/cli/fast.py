"""The `companion` entry point: a plain `companion search` or `status` answered before click loads.

A search through a warm daemon takes the daemon ~20 ms; the process around it is most of the
cost, and importing click and the full CLI is ~25 ms of that. So the entry point first looks
at the arguments itself: a plain `companion search QUERY [--vault P] [--state-dir P] [--mode M]
[--limit N] [--json] [--explain]` goes straight to the daemon's socket (stdlib only). Anything
else — another command, `--help`, an option it does not know, a value out of range, no daemon
running for a hybrid or vector search — is handed to the full click CLI unchanged, which then
parses, validates and answers exactly as it always does. With no daemon, a `--mode bm25` search
is answered here in process: it needs SQLite and the search code, not the model, NumPy or click.
A plain `companion status [VAULT] [--vault P] [--state-dir P] [--json]` is answered here too.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Any

from companion.search.modes import MODES

_VALUE_OPTIONS = {
    "--vault": "vault",
    "--state-dir": "state_dir",
    "--mode": "mode",
    "--limit": "limit",
    "-n": "limit",
    "--min-score": "min_score",
}
_FLAGS = {"--json": "as_json", "--explain": "explain"}


def _value(key: str, value: str) -> Any | None:
    """An option's value as the full CLI would take it, or None where click would refuse it."""
    if key == "limit":
        if not (value.isascii() and value.isdecimal() and len(value) <= 4):
            return None
        return int(value) if 1 <= int(value) <= 1000 else None
    if key == "mode":
        return value if value in MODES else None
    if key == "min_score":
        try:
            score = float(value)
        except ValueError:
            return None
        return score if 0.0 <= score <= 1.0 else None  # NaN too is refused
    return value


def parse_search(args: list[str]) -> dict[str, Any] | None:
    """The options of a plain `search` invocation, or None to let click handle it."""
    opts: dict[str, Any] = {
        "vault": os.environ.get("COMPANION_VAULT") or None,
        "state_dir": os.environ.get("COMPANION_STATE_DIR") or None,
        "mode": "hybrid",
        "limit": 10,
        "as_json": False,
        "explain": False,
        "min_score": None,
    }
    query: str | None = None
    i = 0
    while i < len(args):
        arg = args[i]
        if arg == "--":
            rest = args[i + 1 :]
            if query is not None or len(rest) != 1:
                return None
            query = rest[0]
            break
        # `--limit=5` is click's syntax for long options only (`-n=5` is not).
        name, eq, inline = arg.partition("=") if arg.startswith("--") else (arg, "", "")
        if name in _VALUE_OPTIONS and (eq or i + 1 < len(args)):
            value = inline if eq else args[i + 1]
            i += 1 if eq else 2
            key = _VALUE_OPTIONS[name]
            parsed = _value(key, value)
            if parsed is None:
                return None  # "²", "-3", "ten", a 5,000-digit number: click's message
            opts[key] = parsed
            continue
        if arg in _FLAGS:
            opts[_FLAGS[arg]] = True
            i += 1
            continue
        if arg.startswith("-") or query is not None:
            return None  # --model, --help, -h, an unknown option, a second argument: click's
        query = arg
        i += 1
    if query is None:
        return None
    opts["query"] = query
    return opts


def parse_status(args: list[str]) -> dict[str, Any] | None:
    """The options of a plain `status [VAULT] [--vault P] [--state-dir P] [--json]`, or None to
    let click handle it (`--model`, `--help`, anything unexpected)."""
    opts: dict[str, Any] = {
        "vault": os.environ.get("COMPANION_VAULT") or None,
        "state_dir": os.environ.get("COMPANION_STATE_DIR") or None,
        "as_json": False,
    }
    positional: str | None = None
    i = 0
    while i < len(args):
        arg = args[i]
        name, eq, inline = arg.partition("=") if arg.startswith("--") else (arg, "", "")
        if name in ("--vault", "--state-dir") and (eq or i + 1 < len(args)):
            opts["vault" if name == "--vault" else "state_dir"] = inline if eq else args[i + 1]
            i += 1 if eq else 2
        elif arg == "--json":
            opts["as_json"] = True
            i += 1
        elif arg.startswith("-") or positional is not None:
            return None
        else:
            positional = arg
            i += 1
    if positional:
        opts["vault"] = positional  # the argument wins over --vault, as in the click command
    return opts


def _status(opts: dict[str, Any]) -> bool:
    import json

    from companion.cli.output import echo, render_status
    from companion.cli.status import status_info
    from companion.errors import CompanionError

    try:
        info = status_info(opts["vault"], opts["state_dir"])
    except CompanionError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(exc.exit_code)
    except Exception:
        return False  # a damaged database, a bug: the full CLI answers and says so, as always
    echo(json.dumps(info, indent=2, ensure_ascii=False) if opts["as_json"] else render_status(info))
    return True


def _locate(opts: dict[str, Any]) -> Any | None:
    """The state folder for the options' vault, or None when there is no vault here (the full
    CLI then says so, with the usual message and code)."""
    from companion.config import resolve_state_dir
    from companion.errors import CompanionError
    from companion.vault.locate import find_vault

    try:
        return resolve_state_dir(find_vault(opts["vault"], Path.cwd()), opts["state_dir"])
    except (CompanionError, OSError):
        return None


def _search_through_daemon(opts: dict[str, Any], state: Path) -> bool:
    """Print the daemon's answer and return True; False when no daemon answers."""
    from companion.cli.output import echo, nothing_matched, render_hits, search_footer
    from companion.daemon import client
    from companion.search.modes import partial_note

    started = time.perf_counter()
    try:
        hits = client.request(
            state,
            "search",
            query=opts["query"],
            mode=opts["mode"],
            limit=opts["limit"],
            min_score=opts["min_score"],
        )
    except client.DaemonError as exc:  # the daemon answered with an error: as the full CLI says it
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(exc.exit_code)
    if hits is None:
        return False
    footer = search_footer(opts["mode"], "daemon", started)
    if opts["mode"] != "bm25":
        try:
            now = client.request(state, "progress") or {}
        except client.DaemonError:
            now = {}  # a daemon from before `progress`: no note, the hits stand
        note = partial_note(now.get("embedded", 0), now.get("embeddable", 0))
        if note:
            print(note, file=sys.stderr)
    if not hits:
        print(nothing_matched(opts["query"], opts["mode"], opts["min_score"]), file=sys.stderr)
    if hits or opts["as_json"]:
        echo(render_hits(hits, as_json=opts["as_json"], explain=opts["explain"], footer=footer))
    return True


def _search_in_process(opts: dict[str, Any]) -> bool:
    """A BM25 search with no daemon: SQLite and the search code, neither the model nor click.
    False (let the full CLI answer, and report) on anything unexpected."""
    from companion.app import Companion
    from companion.cli.output import echo, nothing_matched, render_hits, search_footer
    from companion.errors import CompanionError

    started = time.perf_counter()
    try:
        with Companion.open(opts["vault"], state_dir=opts["state_dir"]) as app:
            hits = [
                h.as_dict() for h in app.search(opts["query"], mode="bm25", limit=opts["limit"])
            ]
    except CompanionError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(exc.exit_code)
    except Exception:
        return False
    footer = search_footer("bm25", "in process", started)
    if not hits:
        print(
            nothing_matched(opts["query"], "bm25", opts["min_score"], in_process=True),
            file=sys.stderr,
        )
    if hits or opts["as_json"]:
        echo(render_hits(hits, as_json=opts["as_json"], explain=opts["explain"], footer=footer))
    return True


def main() -> None:
    args = sys.argv[1:]
    if args[:1] == ["status"] and (status := parse_status(args[1:])) is not None:
        try:
            if _status(status):
                return
        except KeyboardInterrupt:
            print("interrupted", file=sys.stderr)
            sys.exit(130)
    if args[:1] == ["search"]:
        opts = parse_search(args[1:])
        try:
            state = _locate(opts) if opts is not None else None
            if opts is not None and state is not None:
                if _search_through_daemon(opts, state):
                    return
                if opts["mode"] == "bm25" and _search_in_process(opts):
                    return
        except KeyboardInterrupt:
            print("interrupted", file=sys.stderr)
            sys.exit(130)
    from companion.cli.main import main as full_cli

    full_cli()
