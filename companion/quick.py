"""The `companion` entry point: `companion search` answered by a running daemon, before click loads.

A search through a warm daemon takes the daemon ~20 ms; the process around it is most of the
cost, and importing click and the full CLI is ~25 ms of that. So the entry point first looks
at the arguments itself: a plain `companion search QUERY [--vault P] [--state-dir P] [--mode M]
[--limit N] [--json] [--explain]` goes straight to the daemon's socket (stdlib only). Anything
else — another command, `--help`, an option it does not know, a value out of range, no daemon
running — is handed to the full click CLI unchanged, which then parses, validates and answers
exactly as it always does.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Any

MODES = ("hybrid", "bm25", "vector")
_VALUE_OPTIONS = {
    "--vault": "vault",
    "--state-dir": "state_dir",
    "--mode": "mode",
    "--limit": "limit",
    "-n": "limit",
}
_FLAGS = {"--json": "as_json", "--explain": "explain"}


def parse_search(args: list[str]) -> dict[str, Any] | None:
    """The options of a plain `search` invocation, or None to let click handle it."""
    opts: dict[str, Any] = {
        "vault": os.environ.get("COMPANION_VAULT") or None,
        "state_dir": os.environ.get("COMPANION_STATE_DIR") or None,
        "mode": "hybrid",
        "limit": 10,
        "as_json": False,
        "explain": False,
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
            if key == "limit":
                if not (value.isascii() and value.isdecimal() and len(value) <= 4):
                    return None  # "²", "-3", "ten", a 5,000-digit number: click's message
                if not 1 <= int(value) <= 1000:
                    return None
                opts[key] = int(value)
            elif key == "mode" and value not in MODES:
                return None
            else:
                opts[key] = value
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


def render_hits(
    hits: list[dict[str, Any]], *, as_json: bool, explain: bool, footer: str = ""
) -> str:
    """What `companion search` prints (the full CLI renders through this too)."""
    import json

    if as_json:
        return json.dumps(hits, indent=2, ensure_ascii=False)
    if not hits:
        return "no results"
    lines = []
    for hit in hits:
        lines.append(f"{hit['rank']:>2}. {hit['title']}  ({hit['path']})")
        if explain:
            ranks = ", ".join(f"{c} #{r}" if r else f"{c} -" for c, r in hit["ranks"].items())
            lines.append(f"    score {hit['score']:.5f}: {ranks}")
        if hit["snippet"]:
            lines.append(f"    {hit['snippet']}")
    if explain and footer:
        lines.append(footer)
    return "\n".join(lines)


def _search_through_daemon(opts: dict[str, Any]) -> bool:
    """Print the daemon's answer and return True; False when no daemon answers (or the vault
    cannot be found: the full CLI says why)."""
    from companion import client
    from companion.config import resolve_state_dir
    from companion.errors import CompanionError
    from companion.vault import find_vault

    started = time.perf_counter()
    try:
        state = resolve_state_dir(find_vault(opts["vault"], Path.cwd()), opts["state_dir"])
    except (CompanionError, OSError):
        return False  # no vault here: the full CLI says so, with the usual message and code
    try:
        hits = client.request(
            state, "search", query=opts["query"], mode=opts["mode"], limit=opts["limit"]
        )
    except client.DaemonError as exc:  # the daemon answered with an error: as the full CLI says it
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(exc.exit_code)
    if hits is None:
        return False
    elapsed = time.perf_counter() - started
    footer = f"({opts['mode']} search daemon, {elapsed * 1000:.0f} ms)"
    text = render_hits(hits, as_json=opts["as_json"], explain=opts["explain"], footer=footer)
    try:
        sys.stdout.write(text + "\n")
    except UnicodeEncodeError:  # a terminal that cannot show a title: never fail a search on it
        sys.stdout.flush()
        sys.stdout.buffer.write((text + "\n").encode("utf-8", "replace"))
    return True


def main() -> None:
    args = sys.argv[1:]
    if args[:1] == ["search"]:
        opts = parse_search(args[1:])
        try:
            if opts is not None and _search_through_daemon(opts):
                return
        except KeyboardInterrupt:
            print("interrupted", file=sys.stderr)
            sys.exit(130)
    from companion.cli import main as full_cli

    full_cli()
