"""Before a bulk load's HNSW build, rewrite the table so that similar vectors lie together.

Why: pgvector builds the graph by inserting the rows in the order they lie in the table, and
each insertion searches the graph around the new vector. When that neighbourhood went in just
before, its vectors are still in the CPU's cache; in a bulk load's order (users interleaved)
they are not, once the vectors outgrow the cache. Measured on this project's 2-core machine
(384-d zipf memories, m 16, ef_construction 64, one-off runs; docs/benchmarks.md, "Eighth
run"): the graph over 1M rows built in 299-303 s in load order, 204 s in this order (183 s in
a two-level k-means order, which SQL cannot compute as cheaply); 100k rows 24-29 s against
17 s, for a rewrite of ~4 s; 10k rows 1.9 s against 1.65 s, where the rewrite (~0.5 s) would
cost more than it saves, so tables below `ORDER_MIN` rows are left as they are.

How: a sample's principal directions (the directions along which the vectors differ most),
each split at the sample's median, give every row a `BITS`-bit code: the first bit says on
which side of the median it lies along the first direction, the next along the second, and
so on. Sorting by the code groups vectors that agree on the main directions, a cheap cousin of
clustering. The code is a plain SQL expression (`BITS` inner products a row), so PostgreSQL
computes it next to the rows; no vector leaves the database but the sample.

The rewrite: copy the rows to a temporary table with their code, empty the table, insert them
back sorted by the code; one transaction, so an error leaves the table as it was. Not CLUSTER,
though it is faster (18 s against 45 s at 1M): it writes the new table around PostgreSQL's
shared buffers, so the first searches after the load read every page from the operating
system (measured at 1M, scoped search p50 1.92 ms on the first pass, 0.84 ms on the second);
an INSERT goes through the buffers as the load itself did (1.24 ms on the first pass).

Cost: at 1M about 45 s (against ~100 s saved in the graph build), the table's size again in
free disk meanwhile, and an exclusive lock on the table, so searches of this collection wait
too, not only writes. It runs in its own transaction, before the index builds, so the lock is
released before they start. TRUNCATE is not MVCC-safe: a transaction elsewhere that took its
snapshot before the rewrite and reads the table after it sees it empty (memstack's own calls
each run in a transaction of their own, so they never do).
"""

from __future__ import annotations

import logging
import time
from typing import Any

import numpy as np
import psycopg
from psycopg import sql

from memstack_pgvector.config import PgVectorConfig
from memstack_pgvector.indexes import MAX_NAME, build_memory_mb, existing, index_statements

ORDER_MIN = 50_000  # rows: the rewrite costs more than it saves at 10k, half or less at 100k
BITS = 16  # code length: 65,536 cells, ~15 rows each at 1M
SAMPLE = 20_000  # rows whose principal directions and medians define the code
SOURCE = "memstack_heap_order"  # the temporary copy the rows are moved back from

log = logging.getLogger("memstack.pgvector")


def directions(sample: np.ndarray, bits: int = BITS) -> tuple[np.ndarray, np.ndarray]:
    """The sample's top `bits` principal directions (rows of the first array, the direction of
    largest variance first) and the median of the sample's projection on each."""
    x = np.asarray(sample, dtype=np.float64)
    centred = x - x.mean(axis=0)
    # eigh of the d x d covariance: cheaper than an SVD of the sample, same directions.
    _, vecs = np.linalg.eigh(centred.T @ centred)
    top = vecs[:, ::-1][:, :min(bits, x.shape[1])].T
    return top, np.median(x @ top.T, axis=0)


def codes(vectors: np.ndarray, top: np.ndarray, medians: np.ndarray) -> np.ndarray:
    """Each vector's code, as `key_expression` computes it in SQL (for tests)."""
    above = (np.asarray(vectors, dtype=np.float64) @ top.T) > medians
    weights = 1 << np.arange(len(top) - 1, -1, -1)
    return (above.astype(np.int64) * weights).sum(axis=1)


def key_expression(top: np.ndarray, medians: np.ndarray) -> sql.Composed:
    """SQL for a row's code. `<#>` is pgvector's negative inner product, so a row lies above
    the median m along direction p when `embedding <#> p < -m`."""
    terms = []
    for bit, (p, m) in enumerate(zip(top, medians, strict=True)):
        literal = "[" + ",".join(repr(float(v)) for v in p) + "]"
        terms.append(sql.SQL("((embedding <#> {p}::vector) < {m})::int * {w}").format(
            p=sql.Literal(literal), m=sql.Literal(-float(m)),
            w=sql.Literal(1 << (len(top) - 1 - bit))))
    return sql.SQL(" + ").join(terms)


def order_by_similarity(conn: psycopg.Connection[Any], config: PgVectorConfig,
                        table_name: str, dim: int) -> bool:
    """Rewrite the table in the order of `key_expression` when its HNSW index is about to be
    built over at least `ORDER_MIN` rows and the config allows it (`bulk_load_order`);
    returns whether it did. Call in a transaction of its own (it holds an exclusive lock on
    the table until that transaction ends)."""
    if not config.bulk_load_order:
        return False
    hnsw = f"{table_name}_hnsw"[:MAX_NAME]
    if hnsw not in index_statements(config, table_name, dim):
        return False  # too wide for an HNSW index: nothing to build faster
    if existing(conn, config.db_schema, [hnsw]):
        return False
    table = sql.Identifier(config.db_schema, table_name)
    row = conn.execute(sql.SQL("SELECT count(*) FROM {t}").format(t=table)).fetchone()
    rows = int(row[0]) if row else 0
    if rows < ORDER_MIN:
        return False
    start = time.perf_counter()
    # Whole pages at random: reads ~SAMPLE rows, not the table.
    percent = min(100.0, 100.0 * SAMPLE / rows)
    sample = [r[0] for r in conn.execute(sql.SQL(
        "SELECT embedding FROM {t} TABLESAMPLE SYSTEM (%s) REPEATABLE (7)").format(t=table),
        [percent])]
    if len(sample) < 2:
        return False  # nothing to find directions in (not seen: the table has ORDER_MIN rows)
    top, medians = directions(np.stack([v.to_numpy() for v in sample]))
    cols = sql.SQL(", ").join(sql.Identifier(c) for c in _columns(conn, config.db_schema,
                                                                    table_name))
    mb = build_memory_mb(conn, config, table_name, dim)
    conn.execute("SELECT set_config('work_mem', %s, true)", [f"{mb}MB"])  # the sort below
    # Not CLUSTER: it writes the new table around PostgreSQL's shared buffers, so the first
    # searches after the load read their pages from the OS (see the module docstring).
    conn.execute(sql.SQL("CREATE TEMP TABLE {src} ON COMMIT DROP AS"
                         " SELECT {cols}, {key} AS heap_order_key FROM {t}").format(
        src=sql.Identifier(SOURCE), cols=cols, key=key_expression(top, medians), t=table))
    conn.execute(sql.SQL("TRUNCATE {t}").format(t=table))
    conn.execute(sql.SQL("INSERT INTO {t} ({cols}) SELECT {cols} FROM {src}"
                         " ORDER BY heap_order_key").format(
        t=table, cols=cols, src=sql.Identifier(SOURCE)))
    log.info("pgvector: ordered the %d rows of %s.%s by similarity in %.1f s, for the HNSW build",
             rows, config.db_schema, table_name, time.perf_counter() - start)
    return True


def _columns(conn: psycopg.Connection[Any], schema: str, table_name: str) -> list[str]:
    """The table's columns, in order (all of them move)."""
    return [r[0] for r in conn.execute(
        "SELECT a.attname FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid"
        " JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = %s"
        " AND c.relname = %s AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum",
        [schema, table_name])]
