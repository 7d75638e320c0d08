"""The client configurations in the README work as printed: each JSON snippet is parsed, its
command is started as the client would (stdio, with the snippet's args and env) and driven by
the Python MCP client; the HTTP snippet's URL shape and key header reach a mounted app."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from urllib.parse import urlsplit

import anyio
import pytest
from mcp import Client
from mcp.client.stdio import StdioServerParameters
from mcp_testkit import HERE, TOOLS, VENV_BIN, child_env, http_client, ok

README = HERE.parent / "README.md"


def snippets() -> dict[str, dict]:
    text = README.read_text()
    found = re.findall(r"<!-- mcp-config: ([\w-]+) -->\s*```json\n(.*?)```", text, re.S)
    return {name: json.loads(body) for name, body in found}


def test_readme_has_the_three_clients_and_the_http_snippet() -> None:
    assert set(snippets()) == {"claude-desktop", "claude-code", "cursor", "cursor-http"}


@pytest.mark.parametrize("client", ["claude-desktop", "claude-code", "cursor"])
def test_stdio_snippet_runs(client: str, config_file: Path, home: Path) -> None:
    entry = snippets()[client]["mcpServers"]["memstack"]
    assert entry.get("type", "stdio") == "stdio"
    assert entry["command"] == "memstack" and entry["args"][0] == "mcp"
    env = child_env(home, PATH=f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}")
    env.update(entry.get("env", {}))
    env["MEMSTACK_CONFIG"] = str(config_file)  # the fast test stack instead of the default
    params = StdioServerParameters(command=entry["command"], args=entry["args"], env=env)
    scope_env = entry.get("env", {})
    agent = scope_env.get("MEMSTACK_AGENT_ID") or (
        entry["args"][entry["args"].index("--agent-id") + 1]
        if "--agent-id" in entry["args"] else None)

    async def main() -> None:
        async with Client(params) as session:
            assert {t.name for t in (await session.list_tools()).tools} == TOOLS
            await ok(session, "add_memory", {"text": f"configured from the {client} snippet"})
            listed = await ok(session, "list_memories")
            assert [m["text"] for m in listed["memories"]] == \
                [f"configured from the {client} snippet"]
            assert listed["memories"][0].get("agent_id") == agent

    anyio.run(main)


def test_http_snippet_reaches_a_mounted_app_with_its_header(keyed_host: str) -> None:
    entry = snippets()["cursor-http"]["mcpServers"]["memstack"]
    url = urlsplit(entry["url"])
    assert url.path in ("/mcp", "/mcp/")
    kind, _, placeholder = entry["headers"]["Authorization"].partition(" ")
    assert kind == "Bearer" and placeholder == "YOUR_KEY"
    target = urlsplit(keyed_host)._replace(path=url.path).geturl()

    async def main() -> None:
        async with http_client(target, "key-alice") as session:
            assert {t.name for t in (await session.list_tools()).tools} == TOOLS

    anyio.run(main)
