"""Real `memstack serve` processes on loopback ports, shared per session where tests allow.

The fast stack (in-memory store, hashing embedder, SQLite history in a temp directory) keeps
the default run short; the embedded default (Chroma + MiniLM) and PostgreSQL get their own tests.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from memstack_server.testing import Client, ServerProcess, fast_config


@pytest.fixture(scope="session", autouse=True)
def memstack_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Nothing lands in the user's home, in this process or in the servers it starts."""
    home = tmp_path_factory.mktemp("memstack-home")
    old = {k: os.environ.get(k) for k in ("MEMSTACK_HOME", "HF_HUB_OFFLINE", "MEMSTACK_CONFIG")}
    os.environ["MEMSTACK_HOME"] = str(home)
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ.pop("MEMSTACK_CONFIG", None)
    yield home
    for k, v in old.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v


@pytest.fixture(scope="session")
def fast_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Client]:
    directory = tmp_path_factory.mktemp("fast-server")
    with ServerProcess(fast_config(directory), directory) as server:
        client = Client(server)
        yield client
        client.keys.close()


@pytest.fixture
def start_server(tmp_path: Path) -> Iterator[Callable[..., Client]]:
    """Start servers for one test; all are stopped after it."""
    started: list[tuple[ServerProcess, Client]] = []

    def start(config: dict[str, Any] | None = None, name: str = "server", **kw: Any) -> Client:
        server = ServerProcess(config or fast_config(tmp_path), tmp_path, name=name, **kw)
        server.start()
        client = Client(server)
        started.append((server, client))
        return client

    yield start
    for server, client in started:
        client.keys.close()
        server.stop()
