"""`status` over the socket while the daemon parses a 2 MB hostile note: how long it waits.

    python -m bench.status [--rounds 12]

A real daemon in this process (real watcher, real socket, the deterministic fake model) over a
two-note vault in a temporary folder. Each round drops `[[` x 1,000,000 into the vault whole
(written beside it, then renamed in) while one client asks `status` again as soon as it is
answered; the real `parse_note` is wrapped only to record when it ran on that file. The calls
whose time on the wire overlaps the parse are kept, and their median and largest round trip
printed with the parse times, the idle round trip (20 calls before the first round) and the load average. `status` is read on the socket's thread, so
what it waits for is the GIL the parse holds, not the parse. Nothing is asserted: the figure
goes to docs/benchmarks.md ("Daemon").
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from companion.config import load_settings
from companion.daemon import client
from companion.daemon.core import Daemon, DaemonOptions
from companion.embed import load_embedder
from companion.markdown.parse import parse_note
from companion.sync import page

HOSTILE = b"[[" * 1_000_000
OPTIONS = DaemonOptions(
    debounce=0.05, max_delay=0.3, settle=30.0, catalog_delay=30.0, retry_delay=0.3, lock_wait=0.5
)


def wait_until(condition: Any, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise SystemExit("timed out")
        time.sleep(0.01)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--rounds", type=int, default=12)
    args = parser.parse_args()

    parses: list[tuple[str, float, float]] = []
    real = parse_note

    def recording(data: bytes, path: str, *a: Any, **kw: Any) -> Any:
        started = time.monotonic()
        try:
            return real(data, path, *a, **kw)
        finally:
            if path.startswith("hostile-"):
                parses.append((path, started, time.monotonic()))

    setattr(page, "parse_note", recording)  # noqa: B010  (mypy: not a re-export) the real parse, timed where it runs

    with tempfile.TemporaryDirectory() as tmp:
        vault = Path(tmp) / "vault"
        vault.mkdir()
        (vault / "Home.md").write_text("# Home\n\nSee [[Other]].\n")
        (vault / "Other.md").write_text("Other.\n")
        settings = load_settings(vault, state_dir=Path(tmp) / "state", embed_backend="fake")
        fake = load_embedder("all-MiniLM-L6-v2", backend="fake")
        daemon = Daemon(settings, OPTIONS, embedder=fake, query_embedder=fake, out=io.StringIO())
        daemon.start()

        def serve() -> None:
            while not daemon.stopping.is_set():
                daemon.tick()

        loop = threading.Thread(target=serve, daemon=True)
        loop.start()
        state = settings.state_dir
        calls: list[tuple[float, float]] = []
        stop = threading.Event()

        def poll() -> None:
            while not stop.is_set():
                sent = time.monotonic()
                client.request(state, "status", timeout=30)
                calls.append((sent, time.monotonic()))

        def indexed(name: str) -> bool:
            hits = client.request(state, "search", query=name.removesuffix(".md"), mode="bm25")
            return any(h["path"] == name for h in hits or [])

        idle = []
        for _ in range(20):
            sent = time.monotonic()
            client.request(state, "status", timeout=30)
            idle.append(time.monotonic() - sent)
        overlapping: list[float] = []
        for round_no in range(args.rounds):
            name = f"hostile-{round_no}.md"
            calls.clear()
            stop.clear()
            poller = threading.Thread(target=poll, daemon=True)
            poller.start()
            time.sleep(0.05)
            staged = vault.parent / name
            staged.write_bytes(HOSTILE + f"\nround{round_no}\n".encode())
            os.replace(staged, vault / name)
            wait_until(lambda n=name: indexed(n))
            stop.set()
            poller.join(timeout=30)
            (vault / name).unlink()
            wait_until(lambda n=name: not indexed(n))
            spans = [(a, b) for p, a, b in parses if p == name]
            overlapping += [
                b - a for a, b in calls if any(a < end and b > start for start, end in spans)
            ]
        daemon.stop()
        loop.join(timeout=30)
        daemon.shutdown()

    parse_s = [b - a for _, a, b in parses]
    print(f"load average {os.getloadavg()[0]:.2f}, {args.rounds} rounds")
    print(f"parse of the 2 MB note: median {statistics.median(parse_s) * 1000:.0f} ms")
    print(f"status with the daemon idle: median {statistics.median(idle) * 1000:.1f} ms")
    if overlapping:
        print(
            f"status calls overlapping a parse: {len(overlapping)}, median "
            f"{statistics.median(overlapping) * 1000:.1f} ms, max {max(overlapping) * 1000:.1f} ms"
        )
    else:
        print("no status call overlapped a parse")


if __name__ == "__main__":
    main()
