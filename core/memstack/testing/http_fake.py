"""`FakeHTTPServer`: the plumbing of a loopback fake of a remote API, for tests.

A threaded HTTP/1.1 server on 127.0.0.1 (a free port) that records every request, answers the
scripted `Reply`s first (a status, a JSON or raw body, headers, a delay: enough for 401, 404,
429 + Retry-After, 500, broken JSON and slow replies) and otherwise asks `handle`, which a
subclass writes in one vendor's wire format — `memstack_openai.testing.FakeOpenAIServer`,
`memstack_anthropic.testing.FakeAnthropicServer`. Stdlib only, so any package's tests can use
it without the vendor's SDK:

    class FakeEchoAPI(FakeHTTPServer):
        def handle(self, req: RecordedRequest) -> Reply:
            return self.next_reply(req.path) or Reply(200, {"echo": req.body})

    with FakeEchoAPI(api_key="sk-test") as server:
        server.enqueue(Reply(429, {"error": "slow down"}, headers={"Retry-After": "0.01"}))
        ...  # point the client at server.url
"""

from __future__ import annotations

import collections
import json
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self
from urllib.parse import parse_qs, urlsplit


@dataclass
class Reply:
    """A scripted HTTP answer. `body` (raw) wins over `json`; `delay` makes it slow;
    `path` limits it to requests whose path ends with that string."""

    status: int = 200
    json: Any = None
    body: bytes | str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    path: str | None = None


@dataclass
class RecordedRequest:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]  # lower-case names
    body: Any  # parsed JSON; the raw bytes when they are not JSON
    raw: bytes


class FakeHTTPServer:
    """A scriptable API on loopback. Use as a context manager or `start()`/`stop()`.

    `requests` holds every request received, `violations` what the subclass found malformed
    (a test asserts it stays empty), `replies` the scripted HTTP replies, `answers` the
    scripted answer texts the subclass wraps in its wire format.
    """

    thread_name = "fake-http"

    def __init__(self, *, api_key: str, echo_key_in_errors: bool = False) -> None:
        self.api_key = api_key
        self.echo_key_in_errors = echo_key_in_errors  # like servers that echo a wrong key
        self.requests: list[RecordedRequest] = []
        self.violations: list[str] = []
        self.replies: collections.deque[Reply] = collections.deque()
        self.answers: collections.deque[str] = collections.deque()
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._connections: set[socket.socket] = set()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # --- what a subclass implements -------------------------------------------------------
    def handle(self, req: RecordedRequest) -> Reply:
        """The reply to one (already recorded) request, in the API's wire format."""
        raise NotImplementedError

    def internal_error(self, message: str) -> Reply:
        """The API's 500, for a bug in `handle` (which is also recorded as a violation)."""
        return Reply(500, {"error": {"message": message}})

    # --- lifecycle -------------------------------------------------------------------------
    def start(self) -> Self:
        handler = type("Handler", (_Handler,), {"fake": self})
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._httpd.daemon_threads = True
        httpd = self._httpd
        self._thread = threading.Thread(target=lambda: httpd.serve_forever(poll_interval=0.02),
                                        name=self.thread_name, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()  # ends delayed replies at once
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None
            with self._lock:
                open_connections = list(self._connections)
            for conn in open_connections:  # idle keep-alive connections of the client
                try:
                    conn.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        assert self._httpd is not None, "server not started"
        return self._httpd.server_address[1]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # --- scripting -------------------------------------------------------------------------
    def enqueue(self, *replies: Reply) -> None:
        """The next matching requests get these HTTP replies, in order."""
        with self._lock:
            self.replies.extend(replies)

    def add_answer(self, *texts: str | dict[str, Any] | list[Any]) -> None:
        """The next answers are these texts (dicts/lists are JSON-encoded)."""
        with self._lock:
            for t in texts:
                self.answers.append(t if isinstance(t, str) else json.dumps(t))

    def requests_to(self, suffix: str) -> list[RecordedRequest]:
        return [r for r in self.requests if r.path.endswith(suffix)]

    def reset(self) -> None:
        with self._lock:
            self.requests.clear()
            self.violations.clear()
            self.replies.clear()
            self.answers.clear()

    # --- for `handle` (called from server threads) -----------------------------------------
    def next_reply(self, path: str) -> Reply | None:
        """The first scripted reply meant for `path`, taken off the queue."""
        with self._lock:
            for i, r in enumerate(self.replies):
                if r.path is None or path.endswith(r.path):
                    del self.replies[i]
                    return r
        return None

    def next_answer(
        self, body: Any, handler: Callable[[Any], str | Reply] | None,
    ) -> str | Reply | None:
        """The next scripted answer text, else what `handler(body)` says, else None."""
        with self._lock:
            text = self.answers.popleft() if self.answers else None
        if text is None and handler is not None:
            return handler(body)
        return text

    def record_violation(self, message: str) -> None:
        """Note a request the real API would refuse."""
        with self._lock:
            self.violations.append(message)

    def _receive(self, req: RecordedRequest) -> Reply:
        with self._lock:
            self.requests.append(req)
        try:
            return self.handle(req)
        except Exception as exc:  # a bug in a handler: answer 500 and record it
            self.record_violation(f"fake server error: {type(exc).__name__}: {exc}")
            return self.internal_error(f"fake server error: {exc}")


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    fake: FakeHTTPServer

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def setup(self) -> None:
        super().setup()
        with self.fake._lock:
            self.fake._connections.add(self.connection)

    def finish(self) -> None:
        with self.fake._lock:
            self.fake._connections.discard(self.connection)
        try:
            super().finish()
        except OSError:
            pass

    def _serve(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = raw
        split = urlsplit(self.path)
        reply = self.fake._receive(RecordedRequest(
            method=self.command, path=split.path,
            query={k: v[-1] for k, v in parse_qs(split.query).items()},
            headers={k.lower(): v for k, v in self.headers.items()}, body=body, raw=raw,
        ))
        if reply.delay and self.fake._stopping.wait(reply.delay):
            return
        if reply.body is not None:
            data = reply.body.encode() if isinstance(reply.body, str) else reply.body
        else:
            data = json.dumps(reply.json).encode()
        try:
            self.send_response(reply.status)
            for k, v in {"content-type": "application/json", **reply.headers}.items():
                self.send_header(k, v)
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):  # the client gave up (timeout test)
            self.close_connection = True

    do_POST = do_GET = do_PUT = do_DELETE = _serve
