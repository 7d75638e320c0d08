"""The `pgvector` store against a real PostgreSQL + pgvector (embedded, see conftest)."""

from __future__ import annotations

import math
import os
import random
import threading
import uuid
from typing import Any

import pytest

from memstack import capabilities as caps
from memstack.errors import ConfigError, DimensionMismatch, InvalidInput, StoreError
from memstack.filters import matches, parse_filter
from memstack.models import Record
from memstack.registry import get_registry
from memstack.vectors import cosine


def _types(value: Any) -> Any:
    """The value's shape with types, so 1 vs 1.0 vs True differences show up in comparisons."""
    if isinstance(value, dict):
        return {k: _types(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_types(v) for v in value]
    return (type(value).__name__, value)


def test_payload_round_trip_keeps_values_and_types(make_store: Any) -> None:
    payload = {
        "text": "héllo wörld — 中文 😀 \t\n\"quoted\" 'single' \\backslash",
        "int": 42, "neg": -7, "big": 2**70, "zero_float": 0.0, "float": 0.1, "third": 1 / 3,
        "huge": 1e20, "huger": 1.5e300, "tiny": 1e-7, "denormal": 5e-324, "whole": 3.0,
        "yes": True, "no": False,
        "list": ["a", 1, 2.5, True], "empty_list": [], "nested": {"a": [1, {"b": 1e17}]},
        "large": "x" * 100_000,
    }
    store = make_store()
    store.upsert([Record(id="r1", vector=[0.1, 0.2, 0.3, 0.4], payload=payload)])
    (got,) = store.get(["r1"], with_vectors=True)
    assert _types(got.payload) == _types(payload)
    assert got.vector == pytest.approx([0.1, 0.2, 0.3, 0.4], rel=1e-6)  # stored as float32
    assert _types(store.list()[0].payload) == _types(payload)
    assert _types(store.query([1, 1, 1, 1], limit=1)[0].payload) == _types(payload)


def test_upsert_replaces_and_last_write_in_a_batch_wins(make_store: Any) -> None:
    store = make_store()
    store.upsert([Record(id="a", vector=[1, 0, 0, 0], payload={"v": 1})])
    store.upsert([
        Record(id="a", vector=[0, 1, 0, 0], payload={"v": 2}),
        Record(id="b", vector=[0, 0, 1, 0], payload={"v": 3}),
        Record(id="a", vector=[0, 0, 0, 1], payload={"v": 4}),
    ])
    assert store.count() == 2
    (a,) = store.get(["a"], with_vectors=True)
    assert a.payload == {"v": 4} and a.vector == [0, 0, 0, 1]
    assert store.query([0, 0, 0, 1], limit=1)[0].id == "a"


def test_get_keeps_order_skips_missing_and_dedupes(make_store: Any) -> None:
    store = make_store()
    store.upsert([Record(id=i, vector=[1, 2, 3, 4], payload={"i": i}) for i in "abc"])
    got = store.get(["c", "missing", "a", "c"])
    assert [r.id for r in got] == ["c", "a"]
    assert all(r.vector is None for r in got)
    assert store.get([]) == []


def test_batch_pagination_count_delete_reset(make_store: Any) -> None:
    store = make_store(hnsw_ef_construction=16, hnsw_m=8)
    rng = random.Random(3)
    ids = [f"id-{uuid.UUID(int=rng.getrandbits(128))}" for _ in range(700)]
    store.upsert([Record(id=i, vector=[rng.uniform(-1, 1) for _ in range(4)],
                         payload={"k": n % 7}) for n, i in enumerate(ids)])
    assert store.count() == 700
    pages = [store.list(limit=64, offset=o) for o in range(0, 700, 64)]
    seen = [r.id for page in pages for r in page]
    assert seen == sorted(ids)  # stable order: every record once, no repeats or gaps
    assert store.list(limit=5, offset=698) == store.list()[698:]
    flt = parse_filter({"k": {"in": [1, 2]}})
    assert store.count(flt) == sum(1 for n in range(700) if n % 7 in (1, 2))
    store.delete([*ids[:100], "never-existed"])
    assert store.count() == 600
    assert store.get(ids[:3]) == []
    store.reset()
    assert store.count() == 0 and store.list() == []


def test_scores_are_cosine_similarity_sorted_descending(make_store: Any) -> None:
    store = make_store()
    rng = random.Random(5)
    vecs = {f"v{i}": [rng.uniform(-3, 3) for _ in range(4)] for i in range(30)}
    store.upsert([Record(id=k, vector=v) for k, v in vecs.items()])
    q = [0.5, -1.0, 2.0, 0.25]
    hits = store.query(q, limit=30)
    assert len(hits) == 30
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    for h in hits:
        assert h.score == pytest.approx(cosine(q, vecs[h.id]), abs=1e-5)
    assert store.query(q, limit=0) == []


def test_bad_vectors_and_payloads_raise_typed_errors(make_store: Any) -> None:
    store = make_store()
    with pytest.raises(DimensionMismatch):
        store.upsert([Record(id="x", vector=[1, 2, 3])])
    with pytest.raises(DimensionMismatch):
        store.query([1, 2, 3, 4, 5], limit=1)
    with pytest.raises(InvalidInput):
        store.upsert([Record(id="x", vector=[1, 2, math.nan, 4])])
    with pytest.raises(InvalidInput):
        store.upsert([Record(id="x", vector=None)])
    with pytest.raises(InvalidInput):
        store.upsert([Record(id="x", vector=[1, 2, 3, 4], payload={"bad": math.inf})])
    for bad in (Record(id="nul\x00id", vector=[1, 2, 3, 4]),
                Record(id="x", vector=[1, 2, 3, 4], payload={"t": "a\x00b"})):
        with pytest.raises(InvalidInput, match="NUL"):
            store.upsert([bad])
    assert store.count() == 0
    literal = {"t": "a literal \\u0000, not a NUL"}
    store.upsert([Record(id="ok", vector=[1, 2, 3, 4], payload=literal)])
    assert store.get(["ok"])[0].payload == literal


def test_reopen_keeps_data_and_adopts_dimension(make_store: Any) -> None:
    store = make_store(collection="keep")
    store.upsert([Record(id="a", vector=[1, 0, 0, 0], payload={"t": "kept"})])
    store.close()
    with pytest.raises(StoreError, match="pgvector"):
        store.count()
    again = make_store(collection="keep", dimension=None)
    assert again.dimension == 4
    assert again.get(["a"])[0].payload == {"t": "kept"}
    with pytest.raises(DimensionMismatch) as info:
        make_store(collection="keep", dimension=8)
    assert (info.value.expected, info.value.got) == (4, 8)
    with pytest.raises(ConfigError, match="dimension"):
        make_store(collection="brand_new", dimension=None)


def test_foreign_table_is_not_taken_over(make_store: Any, pg_admin: Any, pg_schema: str) -> None:
    make_store(collection="seed")  # creates the schema
    pg_admin.execute(f'CREATE TABLE "{pg_schema}"."memstack_users" (id int, name text)')
    with pytest.raises(ConfigError, match="not a memstack collection"):
        make_store(collection="users")


@pytest.mark.parametrize("name", [
    'x"; DROP TABLE memstack_c; --', "it's", "with space", "semi;colon", "", "-lead", "ünï",
    "x" * 60,
])
def test_unsafe_collection_names_are_rejected(pg_config: dict[str, Any], name: str) -> None:
    with pytest.raises(ConfigError):
        get_registry().build("vector_store", "pgvector",
                             {**pg_config, "collection": name, "dimension": 4})


def test_store_checks_names_even_without_pydantic_validation(pg_config: dict[str, Any]) -> None:
    from memstack_pgvector.config import PgVectorConfig
    from memstack_pgvector.store import PgVectorStore

    cfg = PgVectorConfig.model_construct(**{**PgVectorConfig(**pg_config).model_dump(),
                                            "collection": 'a"b', "dimension": 4})
    with pytest.raises(ConfigError, match="collection"):
        PgVectorStore(cfg)


def test_names_needing_quotes_are_quoted(make_store: Any, pg_admin: Any, pg_schema: str) -> None:
    upper = make_store(collection="My.Coll-1")
    lower = make_store(collection="my.coll-1")
    upper.upsert([Record(id="u", vector=[1, 0, 0, 0])])
    lower.upsert([Record(id="l", vector=[1, 0, 0, 0])])
    assert [r.id for r in upper.list()] == ["u"] and [r.id for r in lower.list()] == ["l"]
    tables = {r[0] for r in pg_admin.execute(
        "SELECT tablename FROM pg_tables WHERE schemaname = %s", [pg_schema])}
    assert {"memstack_My.Coll-1", "memstack_my.coll-1"} <= tables


def test_two_processes_worth_of_openers_create_one_table(pg_config: dict[str, Any],
                                                          pg_admin: Any, pg_schema: str) -> None:
    barrier = threading.Barrier(6)
    stores: list[Any] = []
    errors: list[BaseException] = []

    def open_store(n: int) -> None:
        barrier.wait()
        try:
            s = get_registry().build("vector_store", "pgvector",
                                     {**pg_config, "collection": "race", "dimension": 4})
            s.upsert([Record(id=f"t{n}", vector=[1, n, 0, 0])])
            stores.append(s)
        except BaseException as exc:  # collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=open_store, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    try:
        assert errors == []
        assert stores[0].count() == 6
        (n,) = pg_admin.execute("SELECT count(*) FROM pg_tables WHERE schemaname = %s",
                                [pg_schema]).fetchone()
        assert n == 1
    finally:
        for s in stores:
            s.close()


def test_threads_share_one_store(make_store: Any) -> None:
    store = make_store(pool_max_size=3)
    errors: list[BaseException] = []

    def work(n: int) -> None:
        try:
            for j in range(20):
                store.upsert([Record(id=f"{n}-{j}", vector=[1, n, j, 1], payload={"n": n})])
                assert len(store.query([1, n, j, 1], limit=3, filters=parse_filter({"n": n}))) >= 1
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert store.count() == 120


def _dataset(n: int, dim: int, seed: int) -> list[Record]:
    rng = random.Random(seed)
    return [Record(id=f"r{i:05d}", vector=[rng.gauss(0, 1) for _ in range(dim)],
                   payload={"bucket": i % 10}) for i in range(n)]


def _exact(records: list[Record], q: list[float], flt: Any, limit: int) -> list[str]:
    scored = sorted(((cosine(q, r.vector or []), r.id) for r in records if matches(flt, r.payload)),
                    key=lambda t: (-t[0], t[1]))
    return [rid for _, rid in scored[:limit]]


def test_filtered_hnsw_query_fills_limit_with_iterative_scan(make_store: Any, pg_admin: Any,
                                                             pg_schema: str) -> None:
    records = _dataset(1200, 8, seed=11)
    flt = parse_filter({"bucket": {"lt": 1}})  # 10%: the planner keeps the HNSW index
    q = [0.3, -1.2, 0.8, 0.0, 1.5, -0.4, 0.2, 0.9]
    results = {}
    for mode in ("relaxed_order", "off"):
        store = make_store(collection=f"it_{mode}", dimension=8, ef_search=10,
                           iterative_scan=mode, hnsw_m=8, hnsw_ef_construction=24,
                           exact_scope_max=0)  # the HNSW path even for 120 matching rows
        store.upsert(records)
        pg_admin.execute(f'ANALYZE "{pg_schema}"."memstack_it_{mode}"')
        hits = store.query(q, limit=40, filters=flt)
        assert len(hits) == 40
        assert all(h.payload["bucket"] == 0 for h in hits)
        results[mode] = (store.fallback_scans, [h.id for h in hits])
    # pgvector 0.8 iterative scans keep going past ef_search; without them the index yields
    # ~ef_search candidates, most filtered out, and the exact fallback fills the limit.
    assert results["relaxed_order"][0] == 0
    assert results["off"][0] == 1
    exact = _exact(records, q, flt, 40)
    assert results["off"][1] == exact  # the fallback is an exact scan
    recall = len(set(results["relaxed_order"][1]) & set(exact)) / 40
    assert recall >= 0.8


def test_exact_mode_declares_and_delivers_exact_search(make_store: Any) -> None:
    records = _dataset(300, 8, seed=4)
    store = make_store(collection="exact", dimension=8, exact=True)
    assert caps.EXACT_SEARCH in store.capabilities
    assert caps.EXACT_SEARCH not in make_store(collection="ann", dimension=8).capabilities
    store.upsert(records)
    q = [1.0, 0.5, -0.5, 0.0, 0.3, -1.0, 0.7, 0.1]
    for flt in (None, parse_filter({"bucket": {"in": [2, 3]}})):
        assert [h.id for h in store.query(q, limit=25, filters=flt)] == _exact(records, q, flt, 25)


def test_wide_vectors_skip_hnsw_and_scan_exactly(make_store: Any, pg_admin: Any,
                                                 pg_schema: str) -> None:
    store = make_store(collection="wide", dimension=2100)
    assert caps.EXACT_SEARCH in store.capabilities
    store.upsert([Record(id=str(i), vector=[float(i + 1)] + [1.0] * 2099) for i in range(3)])
    assert [h.id for h in store.query([3.0] + [1.0] * 2099, limit=1)] == ["2"]
    indexes = {r[0] for r in pg_admin.execute(
        "SELECT indexname FROM pg_indexes WHERE schemaname = %s", [pg_schema])}
    assert "memstack_wide_hnsw" not in indexes and "memstack_wide_gin" in indexes


def test_indexes_are_created(make_store: Any, pg_admin: Any, pg_schema: str) -> None:
    make_store(collection="idx", hnsw_m=12, hnsw_ef_construction=40)
    defs = {r[0]: r[1] for r in pg_admin.execute(
        "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = %s", [pg_schema])}
    assert "hnsw (embedding vector_cosine_ops)" in defs["memstack_idx_hnsw"]
    assert "m='12'" in defs["memstack_idx_hnsw"] and "ef_construction='40'" in \
        defs["memstack_idx_hnsw"]
    assert "gin (payload jsonb_path_ops)" in defs["memstack_idx_gin"]


def test_scan_settings_reach_every_pooled_connection(make_store: Any) -> None:
    """The search depth is a session setting of each pooled connection: the default (800, for
    large scopes' recall) and a configured value are what the server uses."""
    def settings(store: Any) -> tuple[str, ...]:
        return store._run("settings", lambda conn: conn.execute(
            "SELECT current_setting('hnsw.ef_search'), current_setting('hnsw.iterative_scan'),"
            " current_setting('hnsw.max_scan_tuples')").fetchone())

    assert settings(make_store(collection="depth_default")) == ("800", "relaxed_order", "20000")
    assert settings(make_store(collection="depth_set", ef_search=123, iterative_scan="strict_order",
                               max_scan_tuples=5000)) == ("123", "strict_order", "5000")


# --- connections, credentials, errors ---------------------------------------------------------
def _free_port() -> int:
    from memstack_pgvector.testing import _free_port as free

    return free()


def test_unreachable_server_raises_store_error_without_secrets() -> None:
    port = _free_port()
    with pytest.raises(StoreError) as info:
        get_registry().build("vector_store", "pgvector", {
            "dsn": f"postgresql://app:hunter2@127.0.0.1:{port}/db", "dimension": 4,
            "connect_timeout": 2,
        })
    assert info.value.provider == "pgvector"
    assert "hunter2" not in str(info.value)
    assert info.value.__cause__ is not None


def test_config_repr_hides_password_and_dsn() -> None:
    from memstack_pgvector.config import PgVectorConfig

    cfg = PgVectorConfig(dsn="postgresql://app:hunter2@db/x", password="s3cret",
                         collection="c", dimension=4)
    assert "hunter2" not in repr(cfg) and "s3cret" not in repr(cfg)
    assert "hunter2" not in str(cfg.model_dump())
    for bad in ({"port": 0}, {"collection": "bad'name"}, {"pool_min_size": 9}):
        with pytest.raises(ConfigError) as info:
            get_registry().build("vector_store", "pgvector", {
                "password": "s3cret", "dsn": "postgresql://app:hunter2@db/x", **bad})
        text = f"{info.value} {info.value.given!r}"
        assert "s3cret" not in text and "hunter2" not in text


@pytest.fixture
def app_role(pg_admin: Any) -> Any:
    """A login role with a password and no privileges of its own."""
    name = f"app_{uuid.uuid4().hex[:10]}"
    password = f"pw-{uuid.uuid4().hex}"
    from psycopg import sql

    pg_admin.execute(sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(
        sql.Identifier(name), sql.Literal(password)))
    yield name, password
    pg_admin.execute(sql.SQL("DROP OWNED BY {}").format(sql.Identifier(name)))
    pg_admin.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(name)))


def test_least_privilege_role_with_password_from_env(app_role: Any, make_store: Any,
                                                     pg_admin: Any, pg_schema: str,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    # app_role comes first so that its teardown (DROP ROLE) runs after the stores are closed.
    role, password = app_role
    make_store(collection="shared")  # a migration/admin role creates the collection
    pg_admin.execute(f'GRANT USAGE ON SCHEMA "{pg_schema}" TO "{role}"')
    pg_admin.execute(f'GRANT SELECT, INSERT, UPDATE, DELETE, TRUNCATE ON '
                     f'"{pg_schema}"."memstack_shared" TO "{role}"')
    monkeypatch.setenv("MEMSTACK_TEST_APP_PW", password)
    store = make_store(collection="shared", user=role, password_env="MEMSTACK_TEST_APP_PW")
    store.upsert([Record(id="a", vector=[1, 0, 0, 0], payload={"user_id": "alice"})])
    assert [h.id for h in store.query([1, 0, 0, 0], limit=1,
                                      filters=parse_filter({"user_id": "alice"}))] == ["a"]
    assert role in repr(store) and password not in repr(store)
    # It cannot create new collections, and says so as a StoreError naming the provider.
    with pytest.raises(StoreError, match="pgvector"):
        make_store(collection="other", user=role, password_env="MEMSTACK_TEST_APP_PW")
    if not os.environ.get("MEMSTACK_TEST_PG_DSN"):  # the embedded server checks passwords
        monkeypatch.setenv("MEMSTACK_TEST_APP_PW", "wrong-" + password)
        with pytest.raises(StoreError) as info:
            make_store(collection="shared", user=role, password_env="MEMSTACK_TEST_APP_PW")
        assert "password authentication failed" in str(info.value)
        assert password not in str(info.value)


def test_extension_is_created_when_missing(pg_admin: Any, pg_dsn: str) -> None:
    from psycopg import sql

    dbs = [f"fresh_{uuid.uuid4().hex[:8]}" for _ in range(2)]
    for db in dbs:
        pg_admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(db)))
    try:
        store = get_registry().build("vector_store", "pgvector",
                                     {"dsn": pg_dsn, "dbname": dbs[0], "dimension": 4})
        assert store.pgvector_version.startswith("0.")
        store.close()
        with pytest.raises(StoreError, match="CREATE EXTENSION vector"):
            get_registry().build("vector_store", "pgvector", {
                "dsn": pg_dsn, "dbname": dbs[1], "dimension": 4, "create_extension": False})
    finally:
        for db in dbs:
            pg_admin.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(db)))


def test_dead_pooled_connections_are_replaced_transparently(make_store: Any,
                                                           pg_admin: Any) -> None:
    store = make_store(pool_min_size=2, pool_max_size=2)
    store.upsert([Record(id="a", vector=[1, 0, 0, 0])])
    with store._pool.connection() as c1, store._pool.connection() as c2:
        pids = [c1.info.backend_pid, c2.info.backend_pid]
    # A server restart or failover looks like this to the pool: every idle connection is dead.
    pg_admin.execute("SELECT pg_terminate_backend(pid) FROM unnest(%s::int[]) AS pid", [pids])
    assert store.count() == 1
    store.upsert([Record(id="b", vector=[0, 1, 0, 0])])
    assert [h.id for h in store.query([0, 1, 0, 0], limit=1)] == ["b"]
