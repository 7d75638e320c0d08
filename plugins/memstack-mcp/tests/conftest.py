"""Real processes for memstack-mcp's tests: `memstack mcp` over stdio and over HTTP, a host app
that mounts the ASGI app with API keys, the official Python MCP client, and Node clients."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from mcp_testkit import (
    HERE,
    NODE_DIR,
    announced_url,
    child_env,
    start_http,
    stop,
    write_config,
)


@pytest.fixture
def home(tmp_path: Path) -> Path:
    path = tmp_path / "home"
    path.mkdir()
    return path


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    return write_config(tmp_path / "memstack.json", tmp_path)


@pytest.fixture
def http_server(config_file: Path, home: Path) -> Iterator[str]:
    """`memstack mcp --http` for user alice on a free loopback port; yields the endpoint URL."""
    proc, url = start_http(["--user-id", "alice", "--config", str(config_file)],
                           child_env(home))
    try:
        yield url
    finally:
        stop(proc)


@pytest.fixture
def keyed_host(config_file: Path, home: Path) -> Iterator[str]:
    """A host app (as memstack-server does it) mounting the MCP app at /mcp with two API keys:
    key-alice → user alice, key-bob → user bob; one engine shared by both."""
    proc = subprocess.Popen([sys.executable, str(HERE / "mcp_host_app.py"), str(config_file)],
                            env=child_env(home), stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    try:
        yield announced_url(proc)
    finally:
        stop(proc)


@pytest.fixture(scope="session")
def node_modules() -> Path:
    """`npm ci` in tests/node once (idempotent: skipped when the lock file is already installed).
    Node comes from the system (system-deps.sh installs it when missing)."""
    node = shutil.which("node")
    npm = shutil.which("npm")
    assert node and npm, "node and npm are required: run plugins/memstack-mcp/system-deps.sh"
    marker = NODE_DIR / "node_modules" / ".package-lock.json"
    lock = NODE_DIR / "package-lock.json"
    if not marker.exists() or marker.stat().st_mtime < lock.stat().st_mtime:
        proc = subprocess.run([npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"],
                              cwd=NODE_DIR, capture_output=True, text=True, timeout=300)
        assert proc.returncode == 0, proc.stderr[-3000:]
    return NODE_DIR / "node_modules"
