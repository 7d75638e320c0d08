"""`memstack serve`: the embedded default with no config, refusing unsafe settings, and the MCP
endpoint mounted at /mcp with the API keys."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path
from typing import Any

import pytest
import yaml
from memstack_server.settings import load_settings
from memstack_server.testing import Client

from memstack.cli.main import main


def test_embedded_default_with_no_config(start_server: Any) -> None:
    """No config at all: SQLite on disk and the local MiniLM model, keys required."""
    server = start_server(None, startup_timeout=180)
    key = server.key(scope={"user_id": "alice"})
    with server.http() as anonymous:
        assert anonymous.post("/v1/search", json={"query": "x"}).status_code == 401
    with server.http(key) as c:
        r = c.post("/v1/memories", json={"messages": [
            "I love drinking green tea in the morning", "My sister lives in Berlin",
            "I am allergic to peanuts"]})
        assert r.status_code == 200, r.text
        hits = c.post("/v1/search", json={"query": "food I must avoid", "limit": 1})
        assert hits.json()["results"][0]["memory"] == "I am allergic to peanuts"
        assert c.get("/readyz").json()["status"] == "ready"


def test_serve_refuses_a_public_address_without_auth(tmp_path: Path, capsys: Any) -> None:
    config = tmp_path / "open.yaml"
    config.write_text(yaml.safe_dump({"server": {"host": "0.0.0.0", "auth": {"enabled": False}},
                                      "vector_store": {"provider": "memory"},
                                      "embedder": {"provider": "hashing"}}))
    assert main(["serve", "--config", str(config)]) == 2
    err = capsys.readouterr().err
    assert "refusing to serve on '0.0.0.0' without auth" in err
    # the command line can move it to a public address too: still refused
    config.write_text(yaml.safe_dump({"server": {"auth": {"enabled": False}}}))
    assert main(["serve", "--config", str(config), "--host", "::"]) == 2
    assert load_settings(str(config)).auth.enabled is False  # loopback without auth is allowed


def test_several_workers_need_a_store_processes_can_share(tmp_path: Path, capsys: Any) -> None:
    config = tmp_path / "one-process.yaml"
    config.write_text(yaml.safe_dump({"vector_store": {"provider": "memory"},
                                      "embedder": {"provider": "hashing"},
                                      "history_store": {"provider": "sqlite", "config": {
                                          "path": str(tmp_path / "h.db")}}}))
    assert main(["serve", "--config", str(config), "--workers", "2"]) == 2
    assert "cannot be shared by several processes" in capsys.readouterr().err


def test_server_section_is_validated_and_stripped(tmp_path: Path) -> None:
    config = tmp_path / "c.yaml"
    config.write_text(yaml.safe_dump({"server": {"port": 9000, "limits": {"burst": 5}},
                                      "embedder": {"provider": "hashing"}}))
    settings = load_settings(str(config))
    assert settings.port == 9000 and settings.limits.burst == 5
    assert settings.memory_config == {"embedder": {"provider": "hashing"}}
    config.write_text(yaml.safe_dump({"server": {"prot": 1}}))
    from memstack.errors import ConfigError

    with pytest.raises(ConfigError, match=r"server\.prot: unknown field"):
        load_settings(str(config))


def test_mcp_is_mounted_with_the_api_keys(fast_server: Client) -> None:
    from mcp import Client
    from mcp.client.streamable_http import streamable_http_client
    from mcp.shared._httpx_utils import create_mcp_http_client

    server = fast_server
    user = f"mcp-{uuid.uuid4().hex[:6]}"
    key = server.key(scope={"user_id": user})

    async def session(token: str | None) -> Any:
        headers = {"Authorization": f"Bearer {token}"} if token else None
        async with create_mcp_http_client(headers=headers) as http, \
                Client(streamable_http_client(server.url + "/mcp/", http_client=http)) as c:
            tools = {t.name for t in (await c.list_tools()).tools}
            added = await c.call_tool("add_memory", {"text": "likes MCP", "infer": False})
            return tools, added

    tools, added = asyncio.run(session(key))
    assert {"add_memory", "search_memories"} <= tools and not added.is_error
    # the memory landed in the key's scope, as the REST API sees it
    with server.http(server.admin) as c:
        items = c.get("/v1/memories", params={"user_id": user}).json()["results"]
        assert [m["memory"] for m in items] == ["likes MCP"]
    for bad in (None, server.admin, "msk_0123456789ab_" + "A" * 43):
        with pytest.raises(Exception):  # noqa: B017 - the client raises on the 401 its own way
            asyncio.run(session(bad))


def test_compose_config_is_valid() -> None:
    """compose.yaml's config file passes the same checks `memstack serve` makes at start."""
    from memstack.config import load_config
    from memstack.registry import get_registry

    path = Path(__file__).parent.parent / "memstack.compose.yaml"
    settings = load_settings(str(path))
    assert settings.auth.enabled and settings.host == "0.0.0.0"
    settings.check_safe()
    config = load_config(settings.memory_config)
    for kind in ("vector_store", "history_store", "embedder"):
        section = getattr(config, kind)
        get_registry().validate_config(kind, section.provider, dict(section.config))
    compose = yaml.safe_load((path.parent / "compose.yaml").read_text())
    assert compose["x-memstack"]["command"] == ["serve", "--config", "/etc/memstack/memstack.yaml"]


def test_servers_started_together_move_off_a_port_taken_meanwhile(tmp_path: Path) -> None:
    """`start_together` (used by the two-instance cluster tests): a server whose chosen port
    another process has bound by the time it starts comes up on a new port instead of failing
    the fixture."""
    import socket

    import httpx
    from memstack_server.testing import ServerProcess, fast_config, start_together

    taken = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        first = ServerProcess(fast_config(tmp_path), tmp_path, name="first")
        second = ServerProcess(fast_config(tmp_path / "b"), tmp_path / "b", name="second")
        second.port, second.url = port, f"http://127.0.0.1:{port}"
        try:
            start_together([first, second])
            assert second.port != port
            assert "address already in use" in second.log().lower()
            for server in (first, second):
                assert httpx.get(server.url + "/readyz", timeout=5).status_code == 200
        finally:
            first.stop()
            second.stop()
    finally:
        taken.close()
