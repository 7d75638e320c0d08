"""Real `memstack serve` processes for tests and benchmarks: start, wait until ready, stop.

    with ServerProcess(config, tmp_path) as server:   # config: the YAML file's content, a dict
        httpx.get(server.url + "/healthz")

The server's log (stderr) is kept in ``server.log_path`` so tests can check what it wrote.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from memstack_server.keys import KeyStore

if TYPE_CHECKING:
    import httpx


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class PortTaken(RuntimeError):
    """Another process bound the chosen port first."""


def start_together(servers: Sequence[ServerProcess]) -> None:
    """Launch every server, then wait for each, so that their startups overlap. One whose port
    another process bound between choosing and binding it starts again on a new port, as
    `ServerProcess.start` does (a bare `launch`/`wait_ready` pair would fail the caller)."""
    for server in servers:
        server.launch()
    for server in servers:
        try:
            server.wait_ready()
        except PortTaken:
            server._new_port()
            server.start()


class ServerProcess:
    """One `memstack serve --config FILE` process on a free loopback port (`config` None: no
    --config at all, i.e. $MEMSTACK_CONFIG or the embedded default)."""

    def __init__(self, config: dict[str, Any] | None, directory: Path, *, name: str = "server",
                 workers: int = 1, env: dict[str, str] | None = None,
                 startup_timeout: float = 90.0) -> None:
        self.config = config
        self.directory = Path(directory)
        self.name = name
        self.workers = workers
        self.env = env or {}
        self.startup_timeout = startup_timeout
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.config_path = self.directory / f"{name}.yaml"
        self.log_path = self.directory / f"{name}.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> ServerProcess:
        """Launch and wait; a port taken between choosing and binding it gets a new one."""
        for attempt in range(3):
            try:
                return self.launch().wait_ready()
            except PortTaken:
                if attempt == 2:
                    raise
                self._new_port()
        raise AssertionError("unreachable")

    def _new_port(self) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"

    def launch(self) -> ServerProcess:
        """Start the process without waiting (start several, then `wait_ready` each)."""
        self.directory.mkdir(parents=True, exist_ok=True)
        cmd = [sys.executable, "-m", "memstack.cli.main", "serve", "--port", str(self.port),
               "--workers", str(self.workers)]
        if self.config is not None:
            self.config_path.write_text(yaml.safe_dump(self.config), encoding="utf-8")
            cmd += ["--config", str(self.config_path)]
        env = {**os.environ, **self.env}
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env,
                                     start_new_session=True)
        log.close()
        return self

    def wait_ready(self) -> ServerProcess:
        import httpx

        assert self.proc is not None, "launch() first"
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                log = self.log()[-3000:]
                error = PortTaken if "address already in use" in log.lower() else RuntimeError
                raise error(f"memstack serve exited with {self.proc.returncode}:\n{log}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(self.url + "/readyz", timeout=2).status_code == 200:
                    return self
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"memstack serve not ready after {self.startup_timeout}s:\n"
                           f"{self.log()[-3000:]}")

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace") \
            if self.log_path.exists() else ""

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is None or proc.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)

    def __enter__(self) -> ServerProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def fast_config(directory: Path, **server: Any) -> dict[str, Any]:
    return {
        "vector_store": {"provider": "memory"},
        "embedder": {"provider": "hashing"},
        "history_store": {"provider": "sqlite", "config": {"path": str(directory / "h.db")}},
        "server": {"limits": {"rate_per_second": 10_000, "burst": 10_000}, **server},
    }


class Client:
    """A server URL plus keys minted straight into its key database."""

    def __init__(self, server: ServerProcess) -> None:
        self.server = server
        self.url = server.url
        memory_part = {k: v for k, v in (server.config or {}).items() if k != "server"}
        self.keys = KeyStore(memory_part or None)
        self.admin = self.key(admin=True)

    def key(self, **kwargs: Any) -> str:
        raw, _ = self.keys.create("test", **kwargs)
        return raw

    def http(self, key: str | None = None) -> httpx.Client:
        import httpx

        headers = {"Authorization": f"Bearer {key}"} if key else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=30)
