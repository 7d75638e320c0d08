"""`PgVectorStore.bulk_load`: no secondary index while the rows go in, every index back after
(error or not), and a collection left without them by a dead process heals when a store opens it.
Real PostgreSQL + pgvector (embedded, see conftest)."""

from __future__ import annotations

import logging
import random
from typing import Any

import pytest
from memstack_pgvector import indexes

from memstack.filters import parse_filter
from memstack.models import Record

DIM = 8
U0, U1 = parse_filter({"user_id": "u0"}), parse_filter({"user_id": "u1"})
SCOPE_INDEXES = ("_user_id", "_agent_id", "_run_id")


def _indexes(pg_admin: Any, schema: str, table: str) -> dict[str, str]:
    return {r[0]: r[1] for r in pg_admin.execute(
        "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = %s AND tablename = %s",
        [schema, table])}


def _records(n: int, seed: int = 1, start: int = 0) -> list[Record]:
    rng = random.Random(seed)
    return [Record(id=f"r{i}", vector=[rng.gauss(0, 1) for _ in range(DIM)],
                   payload={"user_id": f"u{i % 5}", "text": f"memory number {i} about apples"
                            if i % 2 else f"memory number {i} about pears"})
            for i in range(start, start + n)]


def _answers(store: Any, queries: list[list[float]]) -> list[list[str]]:
    return [[h.id for h in store.query(q, limit=5, filters=U1)] for q in queries]


def test_indexes_are_dropped_inside_and_all_rebuilt_after(make_store: Any, pg_admin: Any,
                                                          pg_schema: str) -> None:
    store = make_store(collection="bulk", dimension=DIM, hnsw_m=12)
    table = store.table_name
    before = _indexes(pg_admin, pg_schema, table)
    assert {table + s for s in ("_pkey", "_gin", "_hnsw", "_kw", *SCOPE_INDEXES)} == set(before)
    reference = make_store(collection="plain", dimension=DIM, exact=True)
    records = _records(300)
    reference.upsert(records)
    queries = [r.vector for r in _records(10, seed=2)]
    with store.bulk_load():
        assert set(_indexes(pg_admin, pg_schema, table)) == {table + "_pkey"}
        store.upsert(records[:150])
        store.upsert(records[150:])
        # Everything still answers, exactly (the table is scanned).
        assert store.count() == 300
        assert _answers(store, queries) == _answers(reference, queries)
        assert [h.id for h in store.keyword_query("apples", limit=3, filters=U1)]
    assert _indexes(pg_admin, pg_schema, table) == before  # same names, same definitions
    assert store.count() == 300
    assert _answers(store, queries) == _answers(reference, queries)
    # The planner knows the loaded table (ANALYZE ran): 300 rows, not the empty table's guess.
    (tuples,) = pg_admin.execute("SELECT reltuples FROM pg_class WHERE oid = %s::regclass",
                                 [f"{pg_schema}.{table}"]).fetchone()
    assert tuples == 300
    # And VACUUM ran (not only ANALYZE), so autovacuum has no pass over the loaded table left
    # to run beside the first searches. (Which pages it could mark visible to all depends on
    # the other transactions open on the server at that moment, so that is not asserted.)
    (vacuums,) = pg_admin.execute(
        "SELECT vacuum_count FROM pg_stat_user_tables WHERE relid = %s::regclass",
        [f"{pg_schema}.{table}"]).fetchone()
    assert vacuums == 1


def test_an_error_inside_still_rebuilds_and_keeps_what_was_written(
        make_store: Any, pg_admin: Any, pg_schema: str) -> None:
    store = make_store(collection="bulkerr", dimension=DIM)
    before = _indexes(pg_admin, pg_schema, store.table_name)
    with pytest.raises(RuntimeError, match="the caller's own failure"), store.bulk_load():
        store.upsert(_records(40))
        raise RuntimeError("the caller's own failure")
    assert _indexes(pg_admin, pg_schema, store.table_name) == before
    assert store.count() == 40  # each upsert committed on its own; nothing is rolled back


def test_nested_blocks_build_once_when_the_outermost_ends(make_store: Any, pg_admin: Any,
                                                          pg_schema: str) -> None:
    store = make_store(collection="bulknest", dimension=DIM)
    before = _indexes(pg_admin, pg_schema, store.table_name)
    with store.bulk_load():
        with store.bulk_load():
            store.upsert(_records(20))
        assert set(_indexes(pg_admin, pg_schema, store.table_name)) == {
            store.table_name + "_pkey"}, "the inner block built the indexes"
        store.upsert(_records(20, start=20))
    assert _indexes(pg_admin, pg_schema, store.table_name) == before
    assert store.count() == 40


def test_a_store_closed_inside_the_block_leaves_the_builds_to_the_next_opener(
        make_store: Any, pg_admin: Any, pg_schema: str) -> None:
    store = make_store(collection="bulkclosed", dimension=DIM)
    before = _indexes(pg_admin, pg_schema, store.table_name)
    with store.bulk_load():
        store.upsert(_records(20))
        store.close()
    assert set(_indexes(pg_admin, pg_schema, store.table_name)) == {store.table_name + "_pkey"}
    make_store(collection="bulkclosed", dimension=DIM)
    assert _indexes(pg_admin, pg_schema, store.table_name) == before


def test_another_store_reads_and_writes_during_a_bulk_load(make_store: Any) -> None:
    loader = make_store(collection="bulkshare", dimension=DIM)
    other = make_store(collection="bulkshare", dimension=DIM)
    with loader.bulk_load():
        loader.upsert(_records(50))
        other.upsert(_records(10, seed=3, start=50))
        assert other.count() == 60 and loader.count() == 60
        top = other.query(_records(1)[0].vector, limit=1, filters=U0)
        assert [h.id for h in top] == ["r0"]
    assert other.count() == 60
    assert [h.id for h in other.query(_records(1)[0].vector, limit=1)] == ["r0"]


def test_a_collection_left_without_indexes_heals_when_opened(
        make_store: Any, pg_admin: Any, pg_schema: str, caplog: Any) -> None:
    store = make_store(collection="bulkdead", dimension=DIM)
    before = _indexes(pg_admin, pg_schema, store.table_name)
    store.upsert(_records(30))
    # What a process that dies inside a bulk load leaves behind.
    indexes.drop_all(pg_admin, store.config, store.table_name, DIM)
    store.close()
    assert set(_indexes(pg_admin, pg_schema, store.table_name)) == {store.table_name + "_pkey"}
    with caplog.at_level(logging.WARNING, logger="memstack.pgvector"):
        reopened = make_store(collection="bulkdead", dimension=DIM)
    assert _indexes(pg_admin, pg_schema, store.table_name) == before
    assert reopened.count() == 30
    (message,) = [r.getMessage() for r in caplog.records if r.name == "memstack.pgvector"]
    assert f"{pg_schema}.{store.table_name}" in message and store.table_name + "_hnsw" in message
    assert "6 missing index(es)" in message


def test_opening_a_collection_with_its_indexes_builds_nothing(
        make_store: Any, caplog: Any) -> None:
    make_store(collection="bulkok", dimension=DIM).upsert(_records(30))
    with caplog.at_level(logging.INFO, logger="memstack.pgvector"):
        make_store(collection="bulkok", dimension=DIM)
    assert not [r for r in caplog.records if r.name == "memstack.pgvector"]


def test_the_end_of_a_bulk_load_logs_its_builds_below_warning(make_store: Any,
                                                             caplog: Any) -> None:
    store = make_store(collection="bulklog", dimension=DIM)
    with caplog.at_level(logging.INFO, logger="memstack.pgvector"), store.bulk_load():
        store.upsert(_records(30))
    (record,) = [r for r in caplog.records if r.name == "memstack.pgvector"]
    assert record.levelno == logging.INFO and "building 6 missing index(es)" in record.getMessage()


@pytest.mark.parametrize(("rows", "dim", "m", "server_mb", "expected"), [
    (0, 384, 16, 64, 64), (10_000, 384, 16, 64, 64),  # 39 MB: the floor
    (100_000, 384, 16, 64, 390), (1_000_000, 384, 16, 64, 3906),
    (2_000_000, 384, 16, 64, 4096),  # the ceiling
    (100_000, 1536, 16, 64, 1269), (100_000, 384, 32, 64, 488),  # wider vectors, more links
    (100_000, 384, 16, 1024, 1024), (2_000_000, 384, 16, 8192, 8192),  # a larger server setting
])
def test_build_memory_follows_rows_dimension_and_links(rows: int, dim: int, m: int,
                                                        server_mb: int, expected: int) -> None:
    assert indexes.memory_for(rows, dim, m, server_mb << 10) == expected


def test_build_memory_reads_the_table_and_the_server(make_store: Any, pg_admin: Any) -> None:
    store = make_store(collection="bulkmem", dimension=DIM)
    store.upsert(_records(200))
    pg_admin.execute("SET maintenance_work_mem = '100MB'")  # a larger server setting wins
    assert indexes.build_memory_mb(pg_admin, store.config, store.table_name, DIM) == 100
    pg_admin.execute("SET maintenance_work_mem = '1MB'")
    assert indexes.build_memory_mb(pg_admin, store.config, store.table_name, DIM) == \
        indexes.memory_for(200, DIM, store.config.hnsw_m, 1024) == indexes.MIN_BUILD_MB
    pg_admin.execute("RESET maintenance_work_mem")


def test_a_large_memstack_import_runs_in_the_bulk_load(pg_config: dict[str, Any], tmp_path: Any,
                                                       monkeypatch: Any, caplog: Any) -> None:
    """`memstack import` (transfer.import_lines) of an export into a pgvector collection: the
    indexes are built once, at the end, and every memory is found afterwards."""
    from memstack import Memory, transfer

    def config(name: str) -> dict[str, Any]:
        return {"vector_store": {"provider": "pgvector",
                                 "config": {**pg_config, "collection": name}},
                "embedder": {"provider": "hashing", "config": {"dimension": 16}},
                "history_store": {"provider": "sqlite",
                                  "config": {"path": str(tmp_path / f"{name}.db")}}}

    with Memory(config("source")) as source:
        source.add([f"fact number {i} about the garden" for i in range(12)], user_id="u",
                   infer=False)
        lines = list(transfer.export_lines(source))
    monkeypatch.setattr(transfer, "BULK_MIN", 10)
    with Memory(config("target")) as target, \
            caplog.at_level(logging.INFO, logger="memstack.pgvector"):
        summary = transfer.import_lines(target, lines)
        assert summary.added == 12
        (record,) = [r for r in caplog.records if r.name == "memstack.pgvector"]
        assert "building 6 missing index(es)" in record.getMessage()
        assert "memstack_target" in record.getMessage()
        hits = target.search("fact number 3 about the garden", user_id="u", limit=1).results
        assert hits[0].memory == "fact number 3 about the garden"


def test_the_memstack_import_command_bulk_loads_and_says_so(pg_config: dict[str, Any],
                                                            pg_admin: Any, tmp_path: Any) -> None:
    """The `memstack import` process, as a user runs it, on an export of 10,000 memories
    (`transfer.BULK_MIN`, no test-only threshold): the indexes are built once after the rows,
    the command says that it is building them and how long it took, and every memory is there."""
    import json
    import os
    import subprocess
    import sys

    import yaml

    from memstack import transfer

    n = transfer.BULK_MIN
    export = tmp_path / "export.jsonl"
    with export.open("w") as f:  # no vectors: the import embeds the texts (hashing embedder)
        f.write(json.dumps({"type": "header", "format": "memstack-export", "version": 1,
                            "embedder": None, "scope": None}) + "\n")
        for i in range(n):
            f.write(json.dumps({"type": "memory", "text": f"fact {i} about the garden",
                                "user_id": f"u{i % 100}"}) + "\n")
        f.write(json.dumps({"type": "end", "memories": n, "histories": 0}) + "\n")
    cfg = tmp_path / "memstack.yaml"
    cfg.write_text(yaml.safe_dump({
        "vector_store": {"provider": "pgvector", "config": {**pg_config, "collection": "cli"}},
        "embedder": {"provider": "hashing", "config": {"dimension": 16}},
        "history_store": {"provider": "sqlite", "config": {"path": str(tmp_path / "h.db")}}}))
    proc = subprocess.run([sys.executable, "-m", "memstack.cli.main", "import", str(export),
                           "--config", str(cfg)], capture_output=True, text=True, timeout=600,
                          env={**os.environ, "HF_HUB_OFFLINE": "1"})
    assert proc.returncode == 0, proc.stderr
    assert f"imported {n} memories: {n} added" in proc.stdout
    assert "building the store's indexes …" in proc.stderr
    assert "building the store's indexes: done in" in proc.stderr
    schema = pg_config["schema"]
    assert set(_indexes(pg_admin, schema, "memstack_cli")) >= {
        "memstack_cli" + s for s in ("_gin", "_hnsw", "_kw", *SCOPE_INDEXES)}
    (count,) = pg_admin.execute(f'SELECT count(*) FROM "{schema}".memstack_cli').fetchone()
    assert count == n
