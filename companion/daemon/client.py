"""Talking to a running daemon over its Unix socket. Standard library only.

This module is on the CLI's fast path: a search against a warm daemon must not import torch,
sentence-transformers, numpy or networkx, so it imports nothing of the package but `errors`
(standard library only). The protocol is one JSON object per line each way: a request
`{"op": ..., ...}` and a reply `{"ok": true, "result": ...}` or
`{"ok": false, "error": ..., "exit_code": N}`.
"""

from __future__ import annotations

import json
import socket
import time
from pathlib import Path
from typing import Any

from companion.errors import EXIT_BUSY, EXIT_INTERNAL, DaemonError

SOCKET_NAME = "daemon.sock"
CONNECT_WAIT = 30.0  # seconds a client keeps trying while the daemon's accept queue is full

__all__ = ["SOCKET_NAME", "DaemonError", "request", "socket_path"]


def socket_path(state_dir: Path) -> Path:
    return state_dir / SOCKET_NAME


def request(state_dir: Path, op: str, timeout: float = 600.0, **params: Any) -> Any | None:
    """Send one request; None when no daemon listens (so the caller works in process)."""
    path = socket_path(state_dir)
    if not path.exists():
        return None
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    deadline = time.monotonic() + min(timeout, CONNECT_WAIT)
    while True:
        try:
            sock.connect(str(path))
            break
        except (ConnectionRefusedError, FileNotFoundError):
            sock.close()
            return None  # a stale socket from a daemon that died: nobody is listening
        except BlockingIOError:
            # The daemon's accept queue is full (a burst of clients): it is there, just busy.
            if time.monotonic() >= deadline:
                sock.close()
                raise DaemonError(
                    f"the daemon did not accept the connection within {CONNECT_WAIT:g}s "
                    "(too many clients at once); try again",
                    EXIT_BUSY,
                ) from None
            time.sleep(0.01)
    try:
        sock.sendall(json.dumps({"op": op, **params}).encode() + b"\n")
        reply = _read_line(sock)
    finally:
        sock.close()
    if not reply:
        raise DaemonError("the daemon closed the connection without answering", EXIT_INTERNAL)
    message = json.loads(reply)
    if not message.get("ok"):
        raise DaemonError(str(message.get("error")), int(message.get("exit_code", 1)))
    return message.get("result")


def _read_line(sock: socket.socket) -> bytes:
    parts = []
    while True:
        chunk = sock.recv(65536)
        if not chunk:
            break
        parts.append(chunk)
        if chunk.endswith(b"\n"):
            break
    return b"".join(parts)
