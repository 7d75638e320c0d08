"""A second, independent client: the TypeScript MCP SDK (from npm) drives the round trip over
streamable HTTP (with and without an API key) and over stdio."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from mcp_testkit import MEMSTACK, NODE_DIR, child_env


def run_node(args: list[str], env: dict[str, str] | None = None) -> dict:
    proc = subprocess.run(["node", str(NODE_DIR / "roundtrip.mjs"), *args], cwd=NODE_DIR,
                          capture_output=True, text=True, timeout=120, env=env)
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    assert lines, f"no result from node (rc {proc.returncode}): {proc.stderr[-3000:]}"
    result = json.loads(lines[-1])
    assert proc.returncode == 0 and result["ok"], result
    return result


def test_typescript_sdk_over_http(node_modules: Path, http_server: str) -> None:
    result = run_node(["http", http_server])
    assert "delete_all" in result["steps"] and "scope filter refused" in result["steps"]


def test_typescript_sdk_with_api_key_on_mounted_app(node_modules: Path, keyed_host: str) -> None:
    result = run_node(["http", keyed_host, "key-bob"])
    assert "history" in result["steps"]


def test_typescript_sdk_over_stdio(node_modules: Path, config_file: Path, home: Path) -> None:
    env = child_env(home)
    result = run_node(["stdio", MEMSTACK, "mcp", "--user-id", "alice", "--config",
                       str(config_file)], env=env)
    assert "update" in result["steps"]
