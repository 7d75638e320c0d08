"""Real processes for memstack-mcp's tests: `memstack mcp` over stdio and over HTTP, a host app
that mounts the ASGI app with API keys, the official Python MCP client, and Node clients."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

HERE = Path(__file__).parent
NODE_DIR = HERE / "node"
VENV_BIN = Path(sys.executable).parent
MEMSTACK = str(VENV_BIN / "memstack")


def child_env(home: Path, **extra: str) -> dict[str, str]:
    """The environment of a server process: data under `home`, no model downloads."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MEMSTACK_")}
    env.update({"MEMSTACK_HOME": str(home), "HF_HUB_OFFLINE": "1", "PYTHONUNBUFFERED": "1"})
    env.update(extra)
    return env


def write_config(path: Path, data_dir: Path, **extra: Any) -> Path:
    """A fast config: the in-process `memory` store, the `hashing` embedder, sqlite history."""
    cfg: dict[str, Any] = {
        "vector_store": {"provider": "memory"},
        "embedder": {"provider": "hashing", "config": {"dimension": 64}},
        "history_store": {"provider": "sqlite", "config": {"path": str(data_dir / "h.db")}},
    }
    cfg.update(extra)
    path.write_text(json.dumps(cfg))
    return path


@pytest.fixture
def home(tmp_path: Path) -> Path:
    path = tmp_path / "home"
    path.mkdir()
    return path


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    return write_config(tmp_path / "memstack.json", tmp_path)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for_port(proc: subprocess.Popen[bytes], port: int, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            err = proc.stderr.read().decode() if proc.stderr else ""
            raise AssertionError(f"server exited with {proc.returncode}: {err[-3000:]}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise AssertionError(f"server did not listen on {port} within {timeout}s")


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


def start_http(args: list[str], env: dict[str, str]) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    proc = subprocess.Popen([MEMSTACK, "mcp", "--http", "--port", str(port), *args], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        wait_for_port(proc, port)
    except BaseException:
        stop(proc)
        raise
    return proc, f"http://127.0.0.1:{port}/mcp"


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
    port = free_port()
    proc = subprocess.Popen([sys.executable, str(HERE / "mcp_host_app.py"), str(config_file),
                             str(port)], env=child_env(home), stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    try:
        wait_for_port(proc, port)
        yield f"http://127.0.0.1:{port}/mcp"
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
