"""Talking to a running daemon over its Unix socket. Standard library only.

This module is on the CLI's fast path: a search against a warm daemon must not import torch,
sentence-transformers, numpy or networkx, so it imports nothing of the package but the socket
path convention. The protocol is one JSON object per line each way: a request
`{"op": ..., ...}` and a reply `{"ok": true, "result": ...}` or
`{"ok": false, "error": ..., "exit_code": N}`.
"""

from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import Any

SOCKET_NAME = "daemon.sock"


class DaemonError(Exception):
    """The daemon answered with an error; `exit_code` is what the CLI should exit with."""

    def __init__(self, message: str, exit_code: int = 1) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def socket_path(state_dir: Path) -> Path:
    return state_dir / SOCKET_NAME


def request(state_dir: Path, op: str, timeout: float = 600.0, **params: Any) -> Any | None:
    """Send one request; None when no daemon listens (so the caller works in process)."""
    path = socket_path(state_dir)
    if not path.exists():
        return None
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    try:
        sock.connect(str(path))
    except (ConnectionRefusedError, FileNotFoundError):
        sock.close()
        return None  # a stale socket from a daemon that died: nobody is listening
    try:
        sock.sendall(json.dumps({"op": op, **params}).encode() + b"\n")
        reply = _read_line(sock)
    finally:
        sock.close()
    if not reply:
        raise DaemonError("the daemon closed the connection without answering", 70)
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
