"""What the daemon tests share: short timers, and the loop that runs a daemon in a thread."""

from __future__ import annotations

import threading

from companion.daemon.core import Daemon, DaemonOptions

FAST = DaemonOptions(
    debounce=0.1,
    max_delay=0.5,
    settle=0.6,
    bump_settle=0.6,
    catalog_delay=0.2,
    retry_delay=0.3,
    lock_wait=0.5,
)


def serve(daemon: Daemon) -> None:
    """The daemon's loop, as `companion watch` runs it, until it is asked to stop."""
    try:
        while not daemon.stopping.is_set():
            daemon.tick()
    finally:
        daemon.shutdown()


def serve_in_thread(daemon: Daemon) -> threading.Thread:
    thread = threading.Thread(target=serve, args=(daemon,), daemon=True)
    thread.start()
    return thread
