"""Fixtures: a real `chroma run` server (one per session) and stores in every mode."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

from memstack.registry import get_registry

SERVER_START_TIMEOUT = 60.0
MODES = ("disk", "server", "memory")


def chroma_cli() -> str | None:
    """The `chroma` command installed next to this interpreter (the venv's bin dir)."""
    exe = Path(sys.executable).with_name("chroma")
    if exe.exists():
        return str(exe)
    return shutil.which("chroma")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _heartbeat(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v2/heartbeat", timeout=2) as r:
            return r.status == 200
    except OSError:
        return False


class ChromaServer:
    """A `chroma run` process on a free loopback port, with its data and log in `root`."""

    def __init__(self, root: Path) -> None:
        cli = chroma_cli()
        if cli is None:
            pytest.skip("the `chroma` command is not installed next to this Python")
        self.root = root
        self.host = "127.0.0.1"
        self.port = free_port()
        self.log_path = root / "chroma-server.log"
        self._log = self.log_path.open("wb")
        self.proc = subprocess.Popen(
            [cli, "run", "--path", str(root / "data"), "--host", self.host, "--port",
             str(self.port)],
            stdout=self._log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            env={**os.environ, "ANONYMIZED_TELEMETRY": "False"},
        )
        deadline = time.monotonic() + SERVER_START_TIMEOUT
        while not _heartbeat(self.port):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                log = self.log_path.read_text(errors="replace")[-3000:]
                raise RuntimeError(f"chroma server did not start on port {self.port}:\n{log}")
            time.sleep(0.1)

    def config(self, **extra: Any) -> dict[str, Any]:
        return {"mode": "server", "host": self.host, "port": self.port, **extra}

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=15)
        self._log.close()


@pytest.fixture(scope="session")
def chroma_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChromaServer]:
    server = ChromaServer(tmp_path_factory.mktemp("chroma-server"))
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(server.root, ignore_errors=True)


def unique_collection() -> str:
    return "t-" + uuid.uuid4().hex[:12]


@pytest.fixture
def chroma_config(request: pytest.FixtureRequest, tmp_path: Path) -> Callable[..., dict[str, Any]]:
    """`config(mode, **extra)`: a config dict for `mode`, in this test's own place."""

    def make(mode: str, **extra: Any) -> dict[str, Any]:
        base: dict[str, Any] = {"collection": unique_collection(), "dimension": 4}
        if mode == "server":
            base.update(request.getfixturevalue("chroma_server").config())
        elif mode == "disk":
            base.update(mode="disk", path=str(tmp_path / "chroma"))
        else:
            base.update(mode="memory")
        base.update(extra)
        return base

    return make


@pytest.fixture
def make_store(chroma_config: Callable[..., dict[str, Any]]) -> Iterator[Callable[..., Any]]:
    """`make_store(mode, **config)`: a store built through the registry, closed afterwards."""
    built: list[Any] = []

    def make(mode: str, **extra: Any) -> Any:
        store = get_registry().build("vector_store", "chroma", chroma_config(mode, **extra))
        built.append(store)
        return store

    yield make
    for store in built:
        store.close()


@pytest.fixture(params=MODES)
def mode(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def store(mode: str, make_store: Callable[..., Any]) -> Any:
    """A fresh 4-dimensional store, once per mode."""
    return make_store(mode)
