"""`memstack.testing.http_fake`: the loopback plumbing under the plugins' fake API servers.

A tiny "echo" API written on it shows what a subclass gets: recording, scripted replies (by
path, raw bodies, headers, delays), scripted answers, violations, and a 500 for its own bugs.
"""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

from memstack.testing.http_fake import FakeHTTPServer, RecordedRequest, Reply


class FakeEchoAPI(FakeHTTPServer):
    """POST /v1/echo {"text": ...} -> {"echo": <answer>}; anything else is a violation."""

    def __init__(self, handler: Any = None) -> None:
        super().__init__(api_key="sk-echo-test-0123456789")
        self.handler = handler

    def handle(self, req: RecordedRequest) -> Reply:
        if req.headers.get("authorization") != f"Bearer {self.api_key}":
            return Reply(401, {"error": {"message": "bad key"}})
        if req.path == "/v1/crash":
            raise RuntimeError("handler bug")
        if not isinstance(req.body, dict) or "text" not in req.body:
            self.record_violation("no text")
            return Reply(400, {"error": {"message": "no text"}})
        scripted = self.next_reply(req.path)
        if scripted is not None:
            return scripted
        answer = self.next_answer(req.body, self.handler)
        if isinstance(answer, Reply):
            return answer
        return Reply(200, {"echo": answer if answer is not None else req.body["text"]})


def call(server: FakeHTTPServer, path: str, body: Any, key: str | None = None,
         timeout: float = 5) -> tuple[int, dict[str, str], bytes]:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    req = urllib.request.Request(server.url + path + "?v=1&v=2", data=data, method="POST",
                                 headers={"Authorization": f"Bearer {key or server.api_key}",
                                          "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return resp.status, dict(resp.headers), resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


@pytest.fixture
def server() -> Iterator[FakeEchoAPI]:
    with FakeEchoAPI() as s:
        yield s


def test_every_request_is_recorded_and_answered(server: FakeEchoAPI) -> None:
    status, _, raw = call(server, "/v1/echo", {"text": "hi"})
    assert (status, json.loads(raw)) == (200, {"echo": "hi"})
    (req,) = server.requests
    assert (req.method, req.path, req.query) == ("POST", "/v1/echo", {"v": "2"})
    assert req.body == {"text": "hi"} and req.raw == b'{"text": "hi"}'
    assert req.headers["content-type"] == "application/json"  # names in lower case
    assert server.requests_to("/echo") == [req] and server.violations == []


def test_scripted_replies_come_first_in_order_and_by_path(server: FakeEchoAPI) -> None:
    server.enqueue(Reply(429, {"error": "slow down"}, headers={"Retry-After": "0.01"},
                         path="/other"),
                   Reply(200, body="{broken"))
    status, _, raw = call(server, "/v1/echo", {"text": "a"})
    assert (status, raw) == (200, b"{broken")  # the /other reply waits for its path
    status, headers, _ = call(server, "/v1/other", {"text": "b"})
    assert status == 429 and headers["Retry-After"] == "0.01"
    assert call(server, "/v1/echo", {"text": "c"})[0] == 200 and not server.replies


def test_scripted_answers_then_the_handler(server: FakeEchoAPI) -> None:
    server.add_answer({"k": 1}, "plain")
    assert json.loads(call(server, "/v1/echo", {"text": "x"})[2]) == {"echo": '{"k": 1}'}
    assert json.loads(call(server, "/v1/echo", {"text": "x"})[2]) == {"echo": "plain"}
    server.handler = lambda body: Reply(418, {"teapot": body["text"]})
    assert call(server, "/v1/echo", {"text": "y"})[0] == 418


def test_malformed_requests_are_violations_and_reset_clears_everything(
        server: FakeEchoAPI) -> None:
    assert call(server, "/v1/echo", b"not json")[0] == 400
    assert server.requests[0].body == b"not json" and server.violations == ["no text"]
    server.enqueue(Reply(500))
    server.add_answer("a")
    server.reset()
    assert (server.requests, server.violations, list(server.replies), list(server.answers)) \
        == ([], [], [], [])


def test_a_bug_in_the_handler_is_a_500_and_a_violation(server: FakeEchoAPI) -> None:
    status, _, raw = call(server, "/v1/crash", {"text": "x"})
    assert status == 500 and b"handler bug" in raw
    assert server.violations == ["fake server error: RuntimeError: handler bug"]


def test_stop_ends_a_slow_reply_and_frees_the_port() -> None:
    server = FakeEchoAPI().start()
    url = server.url
    server.enqueue(Reply(200, {"never": "seen"}, delay=60))
    errors: list[BaseException] = []

    def slow_call() -> None:
        try:
            call(server, "/v1/echo", {"text": "x"}, timeout=30)
        except Exception as exc:  # the connection is closed without an answer
            errors.append(exc)

    caller = threading.Thread(target=slow_call)
    caller.start()
    for _ in range(1000):  # until the request is in (at most ~10 s)
        if server.requests:
            break
        threading.Event().wait(0.01)
    server.stop()
    caller.join(timeout=30)
    assert not caller.is_alive() and len(errors) == 1
    with pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(url, timeout=5)
