"""The ASGI app's own answers, before any MCP traffic: a host that forgot the lifespan, an
authenticate() that fails or returns something that is not a scope. Driven in-process with raw
ASGI messages (these paths never reach the SDK)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import anyio
import pytest
from memstack_mcp.asgi import create_mcp_asgi_app

import memstack


async def call(app: Any, headers: list[tuple[bytes, bytes]] | None = None) -> tuple[int, dict]:
    sent: list[dict] = []

    async def receive() -> dict:
        return {"type": "http.request", "body": b"{}", "more_body": False}

    async def send(message: dict) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "POST", "path": "/", "headers": headers or [],
             "query_string": b"", "root_path": ""}
    await app(scope, receive, send)
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return sent[0]["status"], json.loads(body)


@pytest.fixture
def memory(config_file: Path) -> memstack.Memory:
    with memstack.Memory(str(config_file)) as m:
        yield m


def test_before_the_lifespan_runs_the_app_says_what_is_missing(memory: memstack.Memory) -> None:
    app = create_mcp_asgi_app(memory, lambda token: {"user_id": "alice"})
    status, body = anyio.run(call, app)
    assert status == 503 and "mcp_app.lifespan()" in body["error"]


def test_authenticate_failures_are_500_without_details(memory: memstack.Memory,
                                                       caplog: pytest.LogCaptureFixture) -> None:
    def broken(token: str | None) -> dict[str, str]:
        raise RuntimeError(f"database down while checking {token}")

    async def scenario(auth: Any) -> tuple[int, dict]:
        app = create_mcp_asgi_app(memory, auth)
        async with app.lifespan():
            return await call(app, [(b"authorization", b"Bearer sekrit-token")])

    status, body = anyio.run(scenario, broken)
    assert status == 500 and "sekrit" not in json.dumps(body)
    assert "authenticate() raised RuntimeError" in caplog.text and "sekrit" not in caplog.text
    status, body = anyio.run(scenario, lambda token: {"tenant": "acme"})
    assert status == 500 and body == {"error": "the server's API key has no usable scope"}
    assert "unknown scope keys ['tenant']" in caplog.text

    async def async_refuses(token: str | None) -> None:
        return None

    status, body = anyio.run(scenario, async_refuses)
    assert status == 401 and "Bearer" in body["error"]
