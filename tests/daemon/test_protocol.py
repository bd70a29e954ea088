"""The daemon's socket protocol with a real Unix socket: one JSON line each way, many clients at
once, slow clients cut off, malformed requests answered with a usage error."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from companion.daemon import client
from companion.daemon.server import ApiServer
from companion.errors import DaemonError


def _slow_echo(request: dict[str, Any]) -> Any:
    time.sleep(0.05)  # long enough that a burst of clients queues up behind the first ones
    return {"echo": request.get("value")}


def _needs_page(request: dict[str, Any]) -> Any:
    return request["page"]


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ApiServer]:
    api = ApiServer(tmp_path, {"echo": _slow_echo, "update": _needs_page}, idle_timeout=0.3)
    api.start()
    yield api
    api.stop()


def test_a_hundred_concurrent_clients_all_get_their_answers(
    server: ApiServer, tmp_path: Path
) -> None:
    answers: dict[int, Any] = {}
    errors: list[BaseException] = []

    def ask(i: int) -> None:
        try:
            answers[i] = client.request(tmp_path, "echo", timeout=30, value=i)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=ask, args=(i,)) for i in range(100)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert errors == []
    assert answers == {i: {"echo": i} for i in range(100)}


def test_a_client_that_never_finishes_its_request_is_cut_off(
    server: ApiServer, tmp_path: Path
) -> None:
    idle = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    idle.connect(str(client.socket_path(tmp_path)))
    idle.sendall(b'{"op": "echo"')  # no newline, ever
    idle.settimeout(5)
    started = time.monotonic()
    assert idle.recv(100) == b""  # the server closed it
    assert time.monotonic() - started < 3
    idle.close()
    assert client.request(tmp_path, "echo", value="still serving") == {"echo": "still serving"}


def test_a_request_missing_a_field_is_a_usage_error_not_a_crash(
    server: ApiServer, tmp_path: Path
) -> None:
    with pytest.raises(DaemonError, match="malformed request: 'page' is missing") as refused:
        client.request(tmp_path, "update")
    assert refused.value.exit_code == 2


def test_a_line_that_is_not_json_is_a_usage_error(server: ApiServer, tmp_path: Path) -> None:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as raw:
        raw.connect(str(client.socket_path(tmp_path)))
        raw.sendall(b"this is not json\n")
        reply = json.loads(raw.makefile("rb").readline())
    assert reply["ok"] is False and reply["exit_code"] == 2
    assert reply["error"].startswith("malformed request")
