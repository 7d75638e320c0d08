"""The collection table's secondary indexes, in one place: which there are, building the missing
ones (when a store opens, and after a bulk load) and dropping them (before a bulk load).

Why one list: `PgVectorStore.bulk_load` drops every secondary index and builds them after the
rows, as PostgreSQL's guide to populating a database advises. Measured on 1M memories (2-core
machine): the rows go in ~20% faster without the indexes to maintain, and every index but the
HNSW graph builds in seconds. A store that opens a table whose bulk load was interrupted builds
what is missing, so opening, dropping and building must agree on the same list.

The primary key stays: upserts need it, and it is what keeps an id unique meanwhile.
"""

from __future__ import annotations

import logging
from typing import Any

import psycopg
from psycopg import sql

from memstack.models import SCOPE_FIELDS
from memstack_pgvector.config import PgVectorConfig

HNSW_MAX_DIM = 2000  # pgvector cannot build an HNSW index on `vector` columns wider than this
MAX_NAME = 63  # Postgres truncates longer identifiers (index names too)
# Memory for building the indexes of a loaded table, from its row count (`memory_for`).
MIN_BUILD_MB, MAX_BUILD_MB = 64, 4096

log = logging.getLogger("memstack.pgvector")


def index_statements(config: PgVectorConfig, table_name: str, dim: int
                     ) -> dict[str, sql.Composed]:
    """Every secondary index of a collection table: name (as Postgres stores it) -> CREATE."""
    t = sql.Identifier(config.db_schema, table_name)
    out: dict[str, sql.Composed] = {}

    def add(suffix: str, template: str, **parts: sql.Composable) -> None:
        name = (table_name + suffix)[:MAX_NAME]
        out[name] = sql.SQL("CREATE INDEX IF NOT EXISTS {name} ON {t} " + template).format(
            name=sql.Identifier(name), t=t, **parts)

    add("_gin", "USING gin (payload jsonb_path_ops)")
    if dim <= HNSW_MAX_DIM:
        # Index options cannot be bound parameters; m and ef_construction are validated ints.
        add("_hnsw", "USING hnsw (embedding vector_cosine_ops)"
            " WITH (m = {m}, ef_construction = {efc})",
            m=sql.Literal(int(config.hnsw_m)), efc=sql.Literal(int(config.hnsw_ef_construction)))
    add("_kw", "USING gin (kw)")
    # Every search names its scope. The GIN index of the payload finds a scope's rows more
    # slowly: a GIN lookup also reads the pending list of recent writes (~0.6 ms for a 100-row
    # scope after a bulk load, against ~0.05 ms through a B-tree); `sql_filters` writes scope
    # equalities so that the planner can use these.
    for field in SCOPE_FIELDS:
        add("_" + field, "((payload ->> {f}))", f=sql.Literal(field))
    return out


def existing(conn: psycopg.Connection[Any], schema: str, names: list[str]) -> set[str]:
    """Which of these index names exist in the schema (one catalog read, no table lock)."""
    rows = conn.execute(
        "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
        " WHERE n.nspname = %s AND c.relname = ANY(%s)", [schema, names]).fetchall()
    return {row[0] for row in rows}


def build_memory_mb(conn: psycopg.Connection[Any], config: PgVectorConfig, table_name: str,
                    dim: int) -> int:
    """`maintenance_work_mem` (MB) for building the indexes of this table (`memory_for`)."""
    row = conn.execute(
        sql.SQL("SELECT (SELECT count(*) FROM {t}), (SELECT setting::bigint FROM pg_settings"
                " WHERE name = 'maintenance_work_mem')").format(
            t=sql.Identifier(config.db_schema, table_name))).fetchone()
    rows, server_kb = row if row else (0, 0)
    return memory_for(int(rows), dim, config.hnsw_m, int(server_kb))


def memory_for(rows: int, dim: int, m: int, server_kb: int) -> int:
    """MB to build with: twice what pgvector's in-memory HNSW graph holds per row (the vector,
    4 bytes a dimension, and 2·m level-0 links of 16 bytes; twice for the element headers,
    upper levels and allocation overhead), within MIN_BUILD_MB..MAX_BUILD_MB, or the server's
    own setting when that is larger. A graph that does not fit is built on disk, several times
    slower; at 1M rows of 384-d (m 16) this asks for 3.9 GB, which the measured builds used."""
    per_row = 2 * (4 * dim + 32 * m)
    sized = min(MAX_BUILD_MB, max(MIN_BUILD_MB, rows * per_row >> 20))
    return max(sized, server_kb >> 10)


def build_missing(conn: psycopg.Connection[Any], config: PgVectorConfig, table_name: str,
                  dim: int, *, expected: bool = False) -> list[str]:
    """Create the indexes that do not exist; returns their names. Call under the setup lock,
    in a transaction (two builders of one index would collide on its name). Building over rows
    is logged: as a warning when a store finds them missing on opening (a bulk load died),
    at info level when `expected` (the end of a bulk load)."""
    statements = index_statements(config, table_name, dim)
    missing = [n for n in statements if n not in existing(conn, config.db_schema, list(statements))]
    if not missing:
        return []
    table = sql.Identifier(config.db_schema, table_name)
    rows = conn.execute(sql.SQL("SELECT EXISTS (SELECT 1 FROM {t})").format(t=table)).fetchone()
    if rows and rows[0]:
        mb = build_memory_mb(conn, config, table_name, dim)
        conn.execute("SELECT set_config('maintenance_work_mem', %s, true)", [f"{mb}MB"])
        log.log(logging.INFO if expected else logging.WARNING,
                "pgvector: building %d missing index(es) of %s.%s (%s) with %d MB; a large "
                "table takes minutes, and other writers wait meanwhile", len(missing),
                config.db_schema, table_name, ", ".join(missing), mb)
    for name in missing:
        conn.execute(statements[name])
    return missing


def drop_all(conn: psycopg.Connection[Any], config: PgVectorConfig, table_name: str,
             dim: int) -> list[str]:
    """Drop every secondary index (the primary key stays); returns the names dropped."""
    statements = index_statements(config, table_name, dim)
    found = existing(conn, config.db_schema, list(statements))
    dropped = [n for n in statements if n in found]
    for name in dropped:
        conn.execute(sql.SQL("DROP INDEX IF EXISTS {}").format(
            sql.Identifier(config.db_schema, name)))
    return dropped
