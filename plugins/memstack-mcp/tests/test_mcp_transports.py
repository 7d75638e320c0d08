"""The official Python MCP client against real `memstack mcp` processes: stdio and HTTP."""

from __future__ import annotations

import subprocess
from pathlib import Path
from urllib.parse import urlsplit

import anyio
import pytest
from mcp import Client
from mcp_testkit import (
    MEMSTACK,
    child_env,
    err,
    http_client,
    ok,
    round_trip,
    start_http,
    stdio_params,
    stop,
)


def test_stdio_round_trip(config_file: Path, home: Path) -> None:
    params = stdio_params(MEMSTACK, ["--user-id", "alice", "--config", str(config_file)],
                          child_env(home))

    async def main() -> None:
        async with Client(params) as client:
            await round_trip(client)

    anyio.run(main)


def test_http_round_trip_and_resource(http_server: str) -> None:
    async def main() -> None:
        async with http_client(http_server) as client:
            await round_trip(client)
            added = await ok(client, "add_memory", {"text": "Works in Lisbon"})
            mid = added["events"][0]["id"]
            templates = await client.list_resource_templates()
            assert [t.uri_template for t in templates.resource_templates] == \
                ["memory://{memory_id}"]
            res = await client.read_resource(f"memory://{mid}")
            assert '"Works in Lisbon"' in res.contents[0].text  # type: ignore[union-attr]

    anyio.run(main)


def test_session_scope_comes_from_env_and_agent_is_fixed(config_file: Path, home: Path) -> None:
    """MEMSTACK_USER_ID / MEMSTACK_AGENT_ID fix the scope; an agent_id argument can only
    repeat the fixed agent, never name another one."""
    env = child_env(home, MEMSTACK_USER_ID="alice", MEMSTACK_AGENT_ID="coder")
    params = stdio_params(MEMSTACK, ["--config", str(config_file)], env)

    async def main() -> None:
        async with Client(params) as client:
            added = await ok(client, "add_memory", {"text": "Uses tabs", "agent_id": "coder"})
            assert added["events"][0]["event"] == "ADD"
            msg = await err(client, "search_memories", {"query": "tabs", "agent_id": "other"})
            assert "outside this session's scope" in msg and "coder" in msg
            msg = await err(client, "add_memory", {"text": "x", "agent_id": "other"})
            assert "outside this session's scope" in msg
            listed = await ok(client, "list_memories")
            assert [(m["text"], m["agent_id"]) for m in listed["memories"]] == \
                [("Uses tabs", "coder")]

    anyio.run(main)


def test_refuses_to_start_without_a_user(config_file: Path, home: Path) -> None:
    proc = subprocess.run([MEMSTACK, "mcp", "--config", str(config_file)],
                          env=child_env(home), capture_output=True, text=True, timeout=60,
                          stdin=subprocess.DEVNULL)
    assert proc.returncode == 2
    assert "user scope is required" in proc.stderr and "--user-id" in proc.stderr
    assert proc.stdout == ""


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.10", "example.com"])
def test_http_refuses_non_loopback_host(config_file: Path, home: Path, host: str) -> None:
    proc = subprocess.run([MEMSTACK, "mcp", "--http", "--host", host, "--user-id", "alice",
                           "--config", str(config_file)], env=child_env(home),
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert "not a loopback address" in proc.stderr and "memstack-server" in proc.stderr


def test_bad_config_fails_at_start_with_its_message(tmp_path: Path, home: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"embedder": {"provider": "no-such-embedder"}}')
    proc = subprocess.run([MEMSTACK, "mcp", "--user-id", "alice", "--config", str(bad)],
                          env=child_env(home), capture_output=True, text=True, timeout=60,
                          stdin=subprocess.DEVNULL)
    assert proc.returncode == 2
    assert "no-such-embedder" in proc.stderr


def test_http_rejects_foreign_host_header(config_file: Path, home: Path) -> None:
    """DNS-rebinding protection: a page on evil.example that resolves to 127.0.0.1 is refused."""
    import httpx2

    proc, url = start_http(["--user-id", "alice", "--config", str(config_file)],
                           child_env(home))
    port = urlsplit(url).port
    try:
        body = {"jsonrpc": "2.0", "id": 1, "method": "initialize",
                "params": {"protocolVersion": "2025-06-18", "capabilities": {},
                           "clientInfo": {"name": "t", "version": "1"}}}
        headers = {"Accept": "application/json, text/event-stream",
                   "Host": "evil.example", "Origin": "http://evil.example"}
        r = httpx2.post(f"http://127.0.0.1:{port}/mcp", json=body, headers=headers, timeout=30)
        assert r.status_code in (403, 421)
        headers.update({"Host": f"127.0.0.1:{port}", "Origin": f"http://127.0.0.1:{port}"})
        r = httpx2.post(f"http://127.0.0.1:{port}/mcp", json=body, headers=headers, timeout=30)
        assert r.status_code == 200, r.text
    finally:
        stop(proc)


def test_http_port_zero_announces_the_url(config_file: Path, home: Path) -> None:
    """`--port 0` binds a free port and prints the URL on stderr before serving."""
    proc = subprocess.Popen([MEMSTACK, "mcp", "--http", "--port", "0", "--user-id", "alice",
                             "--config", str(config_file)], env=child_env(home),
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stderr is not None
        line = proc.stderr.readline()
        assert line.startswith("memstack mcp: serving user_id='alice' at http://127.0.0.1:"), line
        url = line.split(" at ")[1].split()[0]

        async def main() -> None:
            async with http_client(url) as client:
                assert (await ok(client, "list_memories"))["memories"] == []

        anyio.run(main)
    finally:
        stop(proc)  # type: ignore[arg-type]
