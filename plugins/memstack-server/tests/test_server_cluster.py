"""Two `memstack serve` processes over one PostgreSQL (pgvector + postgres history) behave as one
service: 8 clients doing mixed operations against both for a bounded time see 0 errors and lose
0 writes, and every write is visible from the other instance at once — by id, on the vector side
of search, and on the keyword side of hybrid search."""

from __future__ import annotations

import hashlib
import os
import random
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from memstack_server.testing import Client, ServerProcess, start_together

CLIENTS = 8
SECONDS = float(os.environ.get("MEMSTACK_SERVER_CLUSTER_SECONDS", "5"))


@pytest.fixture(scope="module")
def postgres() -> Iterator[Any]:
    from memstack_pgvector.testing import EmbeddedPostgres

    server = EmbeddedPostgres()
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def cluster_pg(postgres: Any) -> dict[str, Any]:
    """The cluster's PostgreSQL settings (its own schema), for tests that look at its tables."""
    # connect_timeout 2: when the last test stops PostgreSQL, requests fail within seconds
    return {"dsn": postgres.dsn, "schema": f"s_{uuid.uuid4().hex[:10]}", "connect_timeout": 2}


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory,
            cluster_pg: dict[str, Any]) -> Iterator[tuple[Client, Client]]:
    directory = tmp_path_factory.mktemp("cluster")
    pg = cluster_pg
    config: dict[str, Any] = {
        "vector_store": {"provider": "pgvector", "config": pg},
        "history_store": {"provider": "postgres", "config": pg},
        "embedder": {"provider": "hashing"},
        # keyword_weight 2 / candidates 1: a keyword-only match outranks pure vector hits,
        # which is what lets the test below see the keyword side on its own
        "search": {"mode": "hybrid", "keyword_weight": 2.0, "candidates": 1},
        "server": {"limits": {"rate_per_second": 10_000, "burst": 10_000}},
    }
    servers = [ServerProcess(config, directory, name=n) for n in ("a", "b")]
    try:
        start_together(servers)
        clients = tuple(Client(s) for s in servers)
        yield clients  # type: ignore[misc]
        for c in clients:
            c.keys.close()
    finally:
        for s in servers:
            s.stop()


def _worker(n: int, a: Client, b: Client, key: str, deadline: float,
            log: dict[str, Any]) -> None:
    """One client: adds, updates, deletes, gets, lists and searches its own scope, alternating
    instances; after each write it reads the result back through the *other* instance."""
    rng = random.Random(n)
    user = f"c{n}-{uuid.uuid4().hex[:6]}"
    expected: dict[str, str] = {}
    errors: list[str] = []
    h = {"Authorization": f"Bearer {key}"}
    with httpx.Client(headers=h, timeout=60) as http:
        def call(base: str, method: str, path: str, **kw: Any) -> httpx.Response:
            r = http.request(method, base + path, **kw)
            if not r.is_success:
                errors.append(f"{method} {path} {r.status_code} {r.text[:200]}")
            return r

        i = 0
        while time.monotonic() < deadline:
            here, there = (a.url, b.url) if i % 2 else (b.url, a.url)
            op = rng.random()
            if op < 0.45 or not expected:
                text = f"client {n} note {i} tok{uuid.uuid4().hex[:8]}"
                r = call(here, "POST", "/v1/memories", json={"messages": text, "user_id": user})
                if r.is_success:
                    mid = r.json()["results"][0]["id"]
                    expected[mid] = text
                    got = call(there, "GET", f"/v1/memories/{mid}")
                    if got.is_success and got.json()["memory"] != text:
                        errors.append(f"other instance returned {got.json()['memory']!r}")
                    hits = call(there, "POST", "/v1/search",
                                json={"query": text, "user_id": user, "limit": 3}).json()
                    if mid not in [m["id"] for m in hits.get("results", [])]:
                        errors.append(f"search on the other instance missed {mid}")
            elif op < 0.6:
                mid = rng.choice(list(expected))
                text = expected[mid] + " (edited)"
                if call(here, "PATCH", f"/v1/memories/{mid}", json={"text": text}).is_success:
                    expected[mid] = text
                    got = call(there, "GET", f"/v1/memories/{mid}")
                    if got.is_success and got.json()["memory"] != text:
                        errors.append("update not visible on the other instance")
            elif op < 0.7:
                mid = rng.choice(list(expected))
                if call(here, "DELETE", f"/v1/memories/{mid}").is_success:
                    del expected[mid]
                    gone = http.get(there + f"/v1/memories/{mid}")
                    if gone.status_code != 404:
                        errors.append(f"deleted memory still on the other instance: {gone}")
            elif op < 0.85:
                call(here, "GET", "/v1/memories", params={"user_id": user, "limit": 50})
            else:
                call(here, "POST", "/v1/search", json={"query": "note", "user_id": user})
            i += 1
    log[user] = {"expected": expected, "errors": errors, "ops": i}


def test_two_instances_eight_clients_mixed_operations(cluster: tuple[Client, Client]) -> None:
    a, b = cluster
    key = a.admin
    log: dict[str, Any] = {}
    deadline = time.monotonic() + SECONDS
    threads = [threading.Thread(target=_worker, args=(n, a, b, key, deadline, log))
               for n in range(CLIENTS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(log) == CLIENTS
    assert [e for v in log.values() for e in v["errors"]] == []
    assert sum(v["ops"] for v in log.values()) > CLIENTS * 3
    # 0 lost writes: each scope, read from each instance, is exactly what its client wrote
    for base in (a, b):
        with base.http(key) as c:
            for user, v in log.items():
                items = c.get("/v1/memories", params={"user_id": user, "limit": 1000}).json()
                assert {m["id"]: m["memory"] for m in items["results"]} == v["expected"]


def _colliding_words(token: str, dimension: int = 64, want: int = 4) -> list[str]:
    """Words the hashing embedder maps onto `token`'s one coordinate with the same sign:
    their vectors equal the token's (cosine 1) though no keyword is shared."""
    def slot(tok: str) -> tuple[int, bool]:
        h = int.from_bytes(hashlib.blake2b(tok.encode(), digest_size=8).digest(), "little")
        return h % dimension, bool((h >> 32) & 1)

    target = slot(token)
    return [w for w in (f"w{i}" for i in range(20_000)) if slot(w) == target][:want]


def test_keyword_side_of_hybrid_search_sees_the_other_instance(
        cluster: tuple[Client, Client]) -> None:
    a, b = cluster
    user = f"kw-{uuid.uuid4().hex[:6]}"
    token = f"zq{uuid.uuid4().hex[:8]}"
    decoys = _colliding_words(token)
    with a.http(a.admin) as ca, b.http(b.admin) as cb:
        # decoys: vectors identical to the query's, no shared keyword; written through B
        assert cb.post("/v1/memories", json={"messages": decoys, "user_id": user}).is_success
        # the target shares the keyword, but its vector is far (many other words); through A
        target = f"{token} " + " ".join(f"filler{i}" for i in range(40))
        mid = ca.post("/v1/memories", json={"messages": target, "user_id": user}
                      ).json()["results"][0]["id"]
        # vector side alone: the two candidates fetched are decoys (cosine 1); only the keyword
        # ranking can bring the target in, and B never saw it written
        found = cb.post("/v1/search", json={"query": token, "user_id": user, "limit": 2}
                        ).json()["results"]
    assert found and found[0]["id"] == mid, [m["memory"][:20] for m in found]
    # control: the same memories and query with the vector side alone miss the target, so
    # the answer above came from the keyword side
    from memstack import Memory

    with Memory({"vector_store": {"provider": "memory"}, "embedder": {"provider": "hashing"},
                 "history_store": {"provider": "sqlite", "config": {"path": ":memory:"}},
                 "search": {"mode": "vector"}}) as alone:
        alone.add([*decoys, target], user_id=user, infer=False)
        ids = [m.memory for m in alone.search(token, user_id=user, limit=2).results]
    assert target not in ids and len(ids) == 2


def test_keys_are_shared_and_revocation_reaches_both(cluster: tuple[Client, Client],
                                                    tmp_path: Path) -> None:
    a, b = cluster
    raw, key = a.keys.create("shared", scope={"user_id": "shared-user"})
    with httpx.Client(headers={"Authorization": f"Bearer {raw}"}, timeout=30) as http:
        assert http.get(b.url + "/v1/memories").status_code == 200
        assert http.get(a.url + "/v1/memories").status_code == 200
        b.keys.revoke(key.id)
        time.sleep(2.0)
        assert [http.get(s.url + "/v1/memories").status_code for s in (a, b)] == [401, 401]


def test_a_large_import_bulk_loads_and_the_other_instance_finds_it(
        cluster: tuple[Client, Client], cluster_pg: dict[str, Any]) -> None:
    """POST /v1/import of 10,000 memories (`transfer.BULK_MIN`) on A runs in pgvector's bulk
    load: every secondary index of the shared table is dropped and built anew (new OIDs, all
    present), and B finds the imported memories at once."""
    import json

    import psycopg

    from memstack.transfer import BULK_MIN

    a, b = cluster
    indexes = ("SELECT c.relname, c.oid FROM pg_index x JOIN pg_class c ON c.oid = x.indexrelid"
               " WHERE x.indrelid = %s::regclass AND NOT x.indisprimary")
    table = f'"{cluster_pg["schema"]}".memstack_memstack'  # the default collection's table
    with psycopg.connect(cluster_pg["dsn"], autocommit=True) as conn:
        before = dict(conn.execute(indexes, [table]).fetchall())
        (stored,) = conn.execute(f"SELECT count(*) FROM {table}").fetchone()
    user = f"bulk-{uuid.uuid4().hex[:6]}"
    n = max(BULK_MIN, stored)  # the bulk load needs an import at least the collection's size
    body = "\n".join([
        json.dumps({"type": "header", "format": "memstack-export", "version": 1,
                    "embedder": None, "scope": None}),
        *(json.dumps({"type": "memory", "text": f"bulk fact {i} about the orchard",
                      "user_id": user}) for i in range(n)),
        json.dumps({"type": "end", "memories": n, "histories": 0})]) + "\n"
    with a.http(a.admin) as ca, b.http(b.admin) as cb:
        r = ca.post("/v1/import", content=body, headers={"Content-Type": "application/x-ndjson"},
                    timeout=600)
        assert r.status_code == 200, r.text
        assert r.json()["added"] == n
        found = cb.post("/v1/search", json={"query": "bulk fact 4321 about the orchard",
                                            "user_id": user, "limit": 1}).json()["results"]
    assert found[0]["memory"] == "bulk fact 4321 about the orchard"
    with psycopg.connect(cluster_pg["dsn"], autocommit=True) as conn:
        after = dict(conn.execute(indexes, [table]).fetchall())
    assert sorted(after) == sorted(before) and len(after) == 6
    assert all(after[name] != before[name] for name in after), "an index was not rebuilt"


def _open_together(store: Any, start: threading.Barrier, errors: list[BaseException]) -> None:
    start.wait()
    try:
        store.db  # noqa: B018 - opening is what is tested
    except BaseException as exc:
        errors.append(exc)


def test_key_stores_opening_a_new_schema_together_all_start(postgres: Any) -> None:
    """Servers started together on a new database each create the keys' table if it is missing;
    PostgreSQL's CREATE ... IF NOT EXISTS is not atomic, so without one lock around the setup the
    losers failed on the catalog's unique index (seen: a server exiting with "duplicate key
    value violates unique constraint pg_type_typname_nsp_index")."""
    from memstack_server.keys import KeyStore

    for _ in range(3):  # three fresh schemas: the race, when it exists, shows in one of them
        pg = {"dsn": postgres.dsn, "schema": f"k_{uuid.uuid4().hex[:10]}", "connect_timeout": 5}
        config = {"vector_store": {"provider": "pgvector", "config": pg},
                  "history_store": {"provider": "postgres", "config": pg}}
        stores = [KeyStore(config) for _ in range(CLIENTS)]
        start = threading.Barrier(CLIENTS)
        errors: list[BaseException] = []
        threads = [threading.Thread(target=_open_together, args=(s, start, errors))
                   for s in stores]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        try:
            assert errors == []
            raw, _ = stores[0].create("shared", scope={"user_id": "u"})
            assert all(s.verify(raw) is not None for s in stores)  # one table, seen by all
        finally:
            for s in stores:
                s.close()


def test_backend_down_is_503_with_retry_after(cluster: tuple[Client, Client],
                                              postgres: Any) -> None:
    """Last in this module: PostgreSQL stops under both instances."""
    raw = cluster[0].key(scope={"user_id": "down"})  # created while the database is up
    clients = [s.http(raw) for s in cluster]
    for c in clients:
        assert c.get("/v1/memories").status_code == 200  # the key is now cached there
    postgres.stop()
    for c in clients:
        r = c.post("/v1/search", json={"query": "anything"})
        assert r.status_code == 503, r.text
        assert r.headers["content-type"] == "application/problem+json"
        assert int(r.headers["retry-after"]) > 0
        assert "Traceback" not in r.text and r.json()["request_id"] == r.headers["x-request-id"]
        c.close()
    with cluster[0].http() as c:
        ready = c.get("/readyz")
        assert ready.status_code == 503 and ready.json()["status"] == "unavailable"
