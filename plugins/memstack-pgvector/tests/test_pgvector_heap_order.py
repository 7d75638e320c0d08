"""`heap_order`: the end of a large bulk load rewrites the table so that similar vectors lie
together (the HNSW build then runs faster), computes in SQL the same codes as in numpy, and
leaves small tables alone. Real PostgreSQL + pgvector (embedded, see conftest)."""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
from memstack_pgvector import heap_order

from memstack.models import Record

CLUSTERS = 16


def _clustered(n: int, dim: int, seed: int = 4) -> tuple[np.ndarray, np.ndarray]:
    """n unit vectors around CLUSTERS random centres, the clusters interleaved (row i belongs
    to cluster i % CLUSTERS), as a bulk load of many users' memories arrives."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((CLUSTERS, dim))
    labels = np.arange(n) % CLUSTERS
    v = centres[labels] + 0.3 * rng.standard_normal((n, dim))
    return v / np.linalg.norm(v, axis=1, keepdims=True), labels


def _changes(labels: Any) -> int:
    """How often the label changes from one row to the next."""
    return int(np.count_nonzero(np.diff(np.asarray(labels, dtype=np.int64))))


def _heap_labels(pg_admin: Any, schema: str, table: str) -> list[int]:
    return [int(r[0]) for r in pg_admin.execute(
        f'SELECT payload ->> \'c\' FROM "{schema}"."{table}" ORDER BY ctid')]


def _contents(pg_admin: Any, schema: str, table: str) -> dict[str, str]:
    """Each row's id -> a digest of all its columns."""
    return dict(pg_admin.execute(
        f'SELECT id, md5(t::text) FROM "{schema}"."{table}" t').fetchall())


def test_each_bit_splits_its_direction_at_the_median() -> None:
    rng = np.random.default_rng(1)
    # Variance largest along axis 2, then axis 0: the first two directions, in that order.
    x = rng.standard_normal((2000, 6)) * np.array([3.0, 1.0, 9.0, 0.5, 0.2, 0.1])
    top, medians = heap_order.directions(x, bits=4)
    assert top.shape == (4, 6) and medians.shape == (4,)
    assert abs(top[0][2]) > 0.99 and abs(top[1][0]) > 0.99
    bits = (heap_order.codes(x, top, medians)[:, None] >> np.arange(3, -1, -1)) & 1
    assert np.all(np.abs(bits.mean(axis=0) - 0.5) <= 0.001)  # half above each median


def test_sorting_by_code_puts_each_cluster_together() -> None:
    v, labels = _clustered(8000, 16)
    top, medians = heap_order.directions(v)
    assert len(top) == 16  # BITS directions (the dimension allows it)
    ordered = labels[np.argsort(heap_order.codes(v, top, medians), kind="stable")]
    assert _changes(labels) == 7999
    assert _changes(ordered) < 8000 // 20


def test_the_sql_expression_computes_the_numpy_codes(make_store: Any, pg_admin: Any,
                                                     pg_schema: str) -> None:
    v, labels = _clustered(300, 8)
    store = make_store(collection="order_sql", dimension=8)
    store.upsert([Record(id=f"r{i:03d}", vector=v[i].tolist(), payload={"c": int(labels[i])})
                  for i in range(len(v))])
    top, medians = heap_order.directions(v[:100])  # 8 directions: no more than the dimension
    query = f'SELECT id, {{}} FROM "{pg_schema}"."{store.table_name}" ORDER BY id'
    rows = pg_admin.execute(
        heap_order.sql.SQL(query).format(heap_order.key_expression(top, medians))).fetchall()
    assert [r[1] for r in rows] == heap_order.codes(v, top, medians).tolist()
    assert len({r[1] for r in rows}) > CLUSTERS // 2  # the codes tell rows apart


def test_a_large_bulk_load_is_rewritten_in_similarity_order(make_store: Any, pg_admin: Any,
                                                            pg_schema: str, caplog: Any) -> None:
    n = heap_order.ORDER_MIN
    v, labels = _clustered(n, 16)
    store = make_store(collection="order_big", dimension=16)
    table = store.table_name
    with caplog.at_level(logging.INFO, logger="memstack.pgvector"), store.bulk_load():
        for lo in range(0, n, 5000):
            store.upsert([Record(id=f"r{i:06d}", vector=v[i].tolist(),
                                 payload={"c": int(labels[i]), "user_id": f"u{i % 500}"})
                          for i in range(lo, lo + 5000)])
        assert _changes(_heap_labels(pg_admin, pg_schema, table)) == n - 1  # as they came
        before = _contents(pg_admin, pg_schema, table)
    messages = [r.getMessage() for r in caplog.records if r.name == "memstack.pgvector"]
    assert f"ordered the {n} rows of {pg_schema}.{table} by similarity in " in messages[0]
    assert _changes(_heap_labels(pg_admin, pg_schema, table)) < n // 20
    assert _contents(pg_admin, pg_schema, table) == before  # every row moved whole
    names = {r[0] for r in pg_admin.execute(
        "SELECT indexname FROM pg_indexes WHERE schemaname = %s AND tablename = %s",
        [pg_schema, table])}
    assert names == {table + s for s in ("_pkey", "_gin", "_hnsw", "_kw", "_user_id",
                                         "_agent_id", "_run_id")}
    for i in range(0, n, n // 20):  # the graph over the rewritten table finds each row
        assert store.query(v[i].tolist(), limit=1)[0].id == f"r{i:06d}"


def test_a_small_bulk_load_keeps_its_order(make_store: Any, pg_admin: Any,
                                           pg_schema: str) -> None:
    v, labels = _clustered(400, 16)
    store = make_store(collection="order_small", dimension=16)
    with store.bulk_load():
        store.upsert([Record(id=f"r{i:03d}", vector=v[i].tolist(), payload={"c": int(labels[i])})
                      for i in range(len(v))])
    assert _changes(_heap_labels(pg_admin, pg_schema, store.table_name)) == 399


def test_the_order_can_be_turned_off(make_store: Any, pg_admin: Any, pg_schema: str,
                                     monkeypatch: Any) -> None:
    monkeypatch.setattr(heap_order, "ORDER_MIN", 400)  # the size rule is tested above
    v, labels = _clustered(400, 16)
    for on in (False, True):
        store = make_store(collection=f"order_{on}", dimension=16, bulk_load_order=on)
        with store.bulk_load():
            store.upsert([Record(id=f"r{i:03d}", vector=v[i].tolist(),
                                 payload={"c": int(labels[i])}) for i in range(len(v))])
        changes = _changes(_heap_labels(pg_admin, pg_schema, store.table_name))
        assert (changes < 400 // 4) if on else (changes == 399), (on, changes)
