"""The daemon's local API: a Unix socket only the vault's owner can open (mode 0600, no TCP port).

Each connection carries one JSON request line and gets one JSON reply line (see client.py).
Requests are served on their own threads; handlers that write hand their work to the daemon's
single writer and wait for it, so the socket never becomes a second writer.
"""

from __future__ import annotations

import contextlib
import json
import os
import socketserver
import sys
import threading
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from companion.daemon.client import socket_path
from companion.errors import EXIT_INTERNAL, CompanionError, UnknownRequest

Handler = Callable[[dict[str, Any]], Any]


# Connections waiting to be accepted: the default of 5 made a burst of concurrent `companion
# search` calls fail (the kernel refuses a connect when the queue is full).
BACKLOG = 128
# A client that connects and never finishes its request line is cut off after this long, so idle
# connections cannot pile up threads.
IDLE_TIMEOUT = 10.0


class _Server(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True
    request_queue_size = BACKLOG
    handlers: dict[str, Handler]
    idle_timeout: float


class _Connection(socketserver.StreamRequestHandler):
    server: _Server

    def setup(self) -> None:
        self.request.settimeout(self.server.idle_timeout)
        super().setup()

    def handle(self) -> None:
        try:
            line = self.rfile.readline(16 * 1024 * 1024)
        except (TimeoutError, OSError):
            return  # a slow or vanished client: nothing to answer
        try:
            request = json.loads(line)
            handler = self.server.handlers.get(str(request.get("op")))
            if handler is None:
                raise UnknownRequest(f"unknown request {request.get('op')!r}")
            reply: dict[str, Any] = {"ok": True, "result": handler(request)}
        except CompanionError as exc:
            reply = {"ok": False, "error": str(exc), "exit_code": exc.exit_code}
        except (ValueError, AttributeError, TypeError) as exc:
            reply = {"ok": False, "error": f"malformed request: {exc}", "exit_code": 2}
        except KeyError as exc:
            reply = {"ok": False, "error": f"malformed request: {exc} is missing", "exit_code": 2}
        except Exception as exc:  # a bug must not take the daemon down: report it, keep serving
            traceback.print_exc(file=sys.stderr)
            reply = {"ok": False, "error": f"internal error: {exc!r}", "exit_code": EXIT_INTERNAL}
        with contextlib.suppress(OSError):  # the client went away before its answer
            self.wfile.write(json.dumps(reply, ensure_ascii=False).encode() + b"\n")


class ApiServer:
    def __init__(
        self, state_dir: Path, handlers: dict[str, Handler], idle_timeout: float = IDLE_TIMEOUT
    ) -> None:
        self.path = socket_path(state_dir)
        self.handlers = handlers
        self.idle_timeout = idle_timeout
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self.path.unlink(missing_ok=True)  # a socket left by a killed daemon (we hold the lock)
        old_umask = os.umask(0o177)  # the socket is born 0600: no window where others can connect
        try:
            server = _Server(str(self.path), _Connection)
        finally:
            os.umask(old_umask)
        os.chmod(self.path, 0o600)
        server.handlers = self.handlers
        server.idle_timeout = self.idle_timeout
        self._server = server
        # The poll interval is how long `stop` waits for the loop to notice (0.5 s by default):
        # a daemon stops promptly, and the selector costs nothing between polls.
        self._thread = threading.Thread(
            target=server.serve_forever, args=(0.05,), name="companion-api", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        self.path.unlink(missing_ok=True)
