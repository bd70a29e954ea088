"""`companion mcp` through the official SDK client over stdio: warm tool-call latency, and a
compare-and-swap race of two clients.

    python -m bench.mcp [--rounds 1000] [--calls 200] [--doc]

A copy of the example vault is indexed (the product's default embedding model) and two
`python -m companion mcp` processes are started, each with its own SDK `ClientSession` — two
agents. Latency: `search` (hybrid) and `read` called `--calls` times each on one warm client,
p50/p95. The race, `--rounds` times: both clients `read` the page, then both send `update` with
the version they read at once; exactly one may win. Counted: rounds with one winner, rounds with
two (a lost update), and at the end whether the page's `version` went up by exactly the number
of wins and holds the last winner's value.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import time
from typing import Any

import anyio
from mcp.client.session import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client

from bench.common import CACHE, REPO, fmt_load, log, machine, open_app, pct, write_section

BEGIN = "<!-- bench:mcp:begin (written by `python -m bench.mcp --doc`; edits inside are lost) -->"
END = "<!-- bench:mcp:end -->"
PAGE = "wiki/entities/Ledger Service.md"


async def _call(s: ClientSession, tool: str, **args: Any) -> dict[str, Any]:
    result = await s.call_tool(tool, args)
    if result.is_error:
        return {"error": " ".join(getattr(c, "text", "") for c in result.content)}
    return dict(result.structured_content or {})


async def _run(vault: str, state: str, calls: int, rounds: int) -> dict[str, Any]:
    args = ["-m", "companion", "mcp", "--vault", vault, "--state-dir", state]
    env = {k: v for k, v in os.environ.items() if not k.startswith("COMPANION_")}
    params = StdioServerParameters(command=sys.executable, args=args, env=env)
    out: dict[str, Any] = {}
    with open(os.devnull, "w") as errlog:
        async with (
            stdio_client(params, errlog=errlog) as (ra, wa),
            ClientSession(ra, wa) as a,
            stdio_client(params, errlog=errlog) as (rb, wb),
            ClientSession(rb, wb) as b,
        ):
            await a.initialize()
            await b.initialize()
            await _call(a, "search", query="warm up")  # the model loads on the first search
            for tool, arg in (
                ("search", {"query": "how are card payments retried"}),
                ("read", {"page": "Ledger Service"}),
            ):
                times = []
                for _ in range(calls):
                    started = time.perf_counter()
                    await _call(a, tool, **arg)
                    times.append(time.perf_counter() - started)
                out[tool] = times
            wins = lost = odd = 0
            start_version = (await _call(a, "read", page=PAGE))["version"]
            last = ""
            for n in range(rounds):
                version = (await _call(a, "read", page=PAGE))["version"]
                got: dict[str, str] = {}

                async def one(
                    s: ClientSession,
                    who: str,
                    v: int = version,
                    n: int = n,
                    got: dict[str, str] = got,
                ) -> None:
                    r = await _call(
                        s,
                        "update",
                        page=PAGE,
                        expect_version=v,
                        properties={"last_writer": f"{who}-{n}"},
                    )
                    got[who] = str(r.get("status") or r.get("error"))

                async with anyio.create_task_group() as tg:
                    tg.start_soon(one, a, "a")
                    tg.start_soon(one, b, "b")
                winners = [w for w, st in got.items() if st == "updated"]
                wins += len(winners) == 1
                lost += len(winners) > 1
                odd += len(winners) == 0 or any(
                    st not in ("updated", "conflict") for st in got.values()
                )
                if len(winners) == 1:
                    last = f"{winners[0]}-{n}"
            final = await _call(a, "read", page=PAGE)
            out["race"] = {
                "rounds": rounds,
                "one_winner": wins,
                "lost_updates": lost,
                "other": odd,
                "version_delta": final["version"] - start_version,
                "last_value_kept": final["frontmatter"].get("last_writer") == last,
            }
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=1000)
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--doc", action="store_true")
    args = parser.parse_args(argv)
    base = CACHE / "mcp"
    shutil.rmtree(base, ignore_errors=True)
    vault, state = base / "vault", base / "state"
    shutil.copytree(REPO / "vault", vault)
    app = open_app(vault, state)
    try:
        log("index the example vault (default model)")
        app.index()
    finally:
        app.close()
    log(f"{args.calls} calls per tool, then {args.rounds} race rounds")
    started = time.perf_counter()
    out = anyio.run(_run, str(vault), str(state), args.calls, args.rounds)
    race = out["race"]
    lines = []
    for tool in ("search", "read"):
        ms = [t * 1000 for t in out[tool]]
        lines.append(
            f"| `{tool}` | {len(ms)} | {statistics.median(ms):.1f} ms | {pct(ms, 95):.1f} ms |"
        )
    print("\n".join(lines))
    print(race, f"({time.perf_counter() - started:.0f} s)")
    if args.doc:
        m = machine()
        text = (
            "## MCP (`python -m bench.mcp`)\n\n"
            f"Measured {m['date']} on {m['cpu']} ({m['cores']} cores), load average "
            f"{fmt_load(list(os.getloadavg()))}, git {m['git']}. Two `companion mcp` processes "
            "over stdio, each driven by the official SDK's `ClientSession`, on a copy of the "
            "example vault indexed with the default model; no daemon (each write takes the "
            "writer lock).\n\n"
            "| tool (warm) | calls | p50 | p95 |\n|---|---|---|---|\n" + "\n".join(lines) + "\n\n"
            f"Compare-and-swap race, {race['rounds']} rounds (both clients read the version, "
            f"then update with it at once): one winner in {race['one_winner']} rounds, "
            f"**lost updates {race['lost_updates']}**, other outcomes {race['other']}; the "
            f"page's version went up by {race['version_delta']} (= the wins) and it holds the "
            f"last winner's value: {race['last_value_kept']}.\n\n"
        )
        write_section(BEGIN, END, text)


if __name__ == "__main__":
    main()
