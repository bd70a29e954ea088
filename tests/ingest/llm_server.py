"""A real OpenAI-compatible chat-completions server on 127.0.0.1, for tests of the LLM synthesizer.

`LLMServer` is an `http.server.ThreadingHTTPServer` on port 0 (the OS picks a free one), serving
in a thread. Every request it receives is recorded (`requests`: method, path, headers, body) so a
test can assert what the client sent. What it answers is decided per test by `handler`, a
function from the received request to a `Reply` (status, body, headers, and misbehaviours: a
`delay` before answering, a `content_length` larger than the body it then sends before closing,
a `drip` pause between bytes). The helpers build the usual answers:

- `completion(content, finish_reason=..., refusal=...)`: a chat-completions body;
- `answer(payload)`: a 200 whose message content is `payload` as JSON;
- `quoting(build)`: a handler that answers `build(source_text)`, the source text being what the
  client put between its delimiter lines (`Received.source()`): a good answer built from the
  request, as a cooperative model would give.

Only `/v1/chat/completions` answers; any other path is a 404, as on a real server. A handler that
raises is answered with a 500 and recorded in `errors` (the `llm_server` context manager re-raises
it on exit, so a broken test handler cannot pass for a client that handles 500s). Waits are
interruptible: stopping the server ends a slow answer at once, so no test waits out a sleep.

Standard library only; nothing leaves the loopback interface.
"""

from __future__ import annotations

import contextlib
import json
import re
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

CHAT_PATH = "/v1/chat/completions"
# The client's delimiter lines (companion/ingest/synth/llm.py, the user message).
_SOURCE = re.compile(r"<<<BEGIN SOURCE (\w+)>>>\n(.*)\n<<<END SOURCE \1>>>", re.S)


@dataclass(frozen=True)
class Received:
    """One request as the server received it. `headers` keys are lowercase."""

    method: str
    path: str
    headers: Mapping[str, str]
    body: bytes

    def json(self) -> dict[str, Any]:
        data = json.loads(self.body)
        assert isinstance(data, dict)
        return data

    def message(self, role: str) -> str:
        """The content of the first message with `role`."""
        for message in self.json()["messages"]:
            if message["role"] == role:
                content = message["content"]
                assert isinstance(content, str)
                return content
        raise AssertionError(f"no {role} message in the request")

    def source(self) -> str:
        """The source text the client sent, between its delimiter lines."""
        found = _SOURCE.search(self.message("user"))
        assert found, "no delimited source in the user message"
        return found.group(2)

    def response_format(self) -> str:
        """The `response_format` type the client asked for."""
        kind = self.json()["response_format"]["type"]
        assert isinstance(kind, str)
        return kind


@dataclass(frozen=True)
class Reply:
    """What the server answers. `content_length`: the Content-Length to claim (more than `body`
    is a truncated answer: the server sends `body` and closes); `send_length=False` sends no
    Content-Length at all (the body ends when the server closes). `delay`: seconds to wait before
    answering. `drip`: seconds to wait between the body's bytes (headers are sent first)."""

    status: int = 200
    body: bytes = b""
    headers: Mapping[str, str] = field(default_factory=dict)
    delay: float = 0.0
    content_length: int | None = None
    send_length: bool = True
    drip: float = 0.0


Handler = Callable[[Received], Reply]


def completion(
    content: str | None,
    *,
    finish_reason: str | None = "stop",
    refusal: str | None = None,
    model: str = "test-model",
) -> bytes:
    """A chat-completions answer body whose first choice's message is `content`."""
    message: dict[str, Any] = {"role": "assistant", "content": content}
    if refusal is not None:
        message["refusal"] = refusal
    body = {
        "id": "chatcmpl-test",
        "object": "chat.completion",
        "created": 0,
        "model": model,
        "choices": [{"index": 0, "message": message, "finish_reason": finish_reason}],
        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
    }
    return json.dumps(body).encode()


def answer(payload: object, **kwargs: Any) -> Reply:
    """A 200 whose message content is `payload` as JSON (kwargs: `completion`'s)."""
    return Reply(body=completion(json.dumps(payload), **kwargs))


def error(status: int, message: str) -> Reply:
    """An OpenAI-style error answer."""
    body = {"error": {"message": message, "type": "invalid_request_error", "code": None}}
    return Reply(status=status, body=json.dumps(body).encode())


def quoting(build: Callable[[str], object]) -> Handler:
    """A handler answering `build(source text of the request)`, as JSON content."""
    return lambda request: answer(build(request.source()))


def _unset(request: Received) -> Reply:
    raise AssertionError("the test server got a request but the test set no handler")


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False  # a slow handler must not hold up stop(); its waits end on `stopping`
    owner: LLMServer

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that hangs up mid-answer is what some tests are about


class _RequestHandler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self._serve(b"")

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self._serve(self.rfile.read(length))

    def _serve(self, body: bytes) -> None:
        owner = self.server.owner
        received = Received(
            method=self.command,
            path=self.path,
            headers={k.lower(): v for k, v in self.headers.items()},
            body=body,
        )
        owner.record(received)
        if self.path != CHAT_PATH:
            reply = error(404, f"no route {self.path}")
        else:
            try:
                reply = owner.handler(received)
            except Exception as exc:  # reported by the context manager
                owner.errors.append(exc)
                reply = error(500, f"test handler failed: {exc!r}")
        # OSError: the client gave up (timed out, refused the size): nothing more to answer.
        with contextlib.suppress(OSError):
            self._send(reply, owner.stopping)

    def _send(self, reply: Reply, stopping: threading.Event) -> None:
        if reply.delay and stopping.wait(reply.delay):
            return
        self.send_response(reply.status)
        for name, value in reply.headers.items():
            self.send_header(name, value)
        if "Content-Type" not in reply.headers:
            self.send_header("Content-Type", "application/json")
        length = len(reply.body) if reply.content_length is None else reply.content_length
        if reply.send_length:
            self.send_header("Content-Length", str(length))
        if length != len(reply.body) or not reply.send_length:
            self.close_connection = True
            self.send_header("Connection", "close")
        self.end_headers()
        if not reply.drip:
            self.wfile.write(reply.body)
            return
        self.wfile.flush()
        for i in range(len(reply.body)):
            if stopping.wait(reply.drip):
                return
            self.wfile.write(reply.body[i : i + 1])
            self.wfile.flush()


class LLMServer:
    """The server (module docstring). Use as a context manager, or `start()`/`stop()`."""

    def __init__(self, handler: Handler | None = None) -> None:
        self.handler: Handler = handler or _unset
        self.errors: list[BaseException] = []
        self.stopping = threading.Event()
        self._requests: list[Received] = []
        self._lock = threading.Lock()
        self._server = _Server(("127.0.0.1", 0), _RequestHandler)
        self._server.owner = self
        # A short poll: stop() waits for the serving loop to notice, once per test.
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        """The base URL (without /v1), as a user would set COMPANION_LLM_URL."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def requests(self) -> list[Received]:
        with self._lock:
            return list(self._requests)

    def record(self, received: Received) -> None:
        with self._lock:
            self._requests.append(received)

    def start(self) -> LLMServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.stopping.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)

    def __enter__(self) -> LLMServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


@contextmanager
def llm_server(handler: Handler | None = None) -> Iterator[LLMServer]:
    """A started `LLMServer`, stopped on exit; a test handler's own failure is re-raised."""
    with LLMServer(handler) as server:
        yield server
    if server.errors:
        raise server.errors[0]
