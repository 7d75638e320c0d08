"""Every endpoint once, over a real uvicorn process: what it returns and what it stores."""

from __future__ import annotations

import json
import uuid

from memstack_server.testing import Client

PROBLEM = "application/problem+json"


def _user() -> str:
    return f"u-{uuid.uuid4().hex[:8]}"


def test_add_get_update_history_delete(fast_server: Client) -> None:
    user = _user()
    with fast_server.http(fast_server.key(scope={"user_id": user})) as c:
        r = c.post("/v1/memories", json={"messages": [
            "I like green tea", {"role": "user", "content": "I live in Lyon"}],
            "metadata": {"topic": "me"}})
        assert r.status_code == 200, r.text
        events = r.json()["results"]
        assert [e["event"] for e in events] == ["ADD", "ADD"]
        mid = events[0]["id"]
        item = c.get(f"/v1/memories/{mid}").json()
        assert item["memory"] == "I like green tea"
        assert item["user_id"] == user and item["metadata"] == {"topic": "me"}
        r = c.patch(f"/v1/memories/{mid}", json={"text": "I like black tea"})
        assert r.json()["event"] == "UPDATE"
        assert r.json()["previous_memory"] == "I like green tea"
        hist = c.get(f"/v1/memories/{mid}/history").json()["results"]
        assert [h["event"] for h in hist] == ["ADD", "UPDATE"]
        assert c.delete(f"/v1/memories/{mid}").json()["event"] == "DELETE"
        r = c.get(f"/v1/memories/{mid}")
        assert r.status_code == 404 and r.headers["content-type"] == PROBLEM
        # the history outlives the memory, and the key still sees it (the id is its scope's)
        hist = c.get(f"/v1/memories/{mid}/history").json()["results"]
        assert [h["event"] for h in hist] == ["ADD", "UPDATE", "DELETE"]


def test_search_list_pages_and_delete_scope(fast_server: Client) -> None:
    user = _user()
    with fast_server.http(fast_server.admin) as c:
        texts = [f"fact number {i} about {'tea' if i % 2 else 'coffee'}" for i in range(25)]
        body = {"messages": texts, "user_id": user}
        assert c.post("/v1/memories", json=body).status_code == 200
        r = c.post("/v1/search", json={"query": "tea", "user_id": user, "limit": 5,
                                       "filters": {"role": "user"}})
        assert r.status_code == 200 and len(r.json()["results"]) == 5
        assert all("tea" in m["memory"] for m in r.json()["results"][:3])
        seen, cursor = [], None
        while True:
            params = {"user_id": user, "limit": 7, **({"cursor": cursor} if cursor else {})}
            page = c.get("/v1/memories", params=params).json()
            seen += [m["memory"] for m in page["results"]]
            cursor = page["next"]
            if cursor is None:
                break
        assert sorted(seen) == sorted(texts)
        flt = json.dumps({"created_at": {"gte": "2000-01-01"}, "role": "user"})
        assert len(c.get("/v1/memories", params={"user_id": user, "filters": flt})
                   .json()["results"]) == 25
        r = c.delete("/v1/memories", params={"user_id": user})
        assert r.json()["deleted"] == 25
        assert c.get("/v1/memories", params={"user_id": user}).json()["results"] == []


def test_export_import_over_http_is_idempotent(fast_server: Client) -> None:
    user = _user()
    with fast_server.http(fast_server.key(scope={"user_id": user})) as c:
        c.post("/v1/memories", json={"messages": ["alpha fact", "beta fact"]})
        mid = c.post("/v1/memories", json={"messages": "gamma fact"}).json()["results"][0]["id"]
        c.patch(f"/v1/memories/{mid}", json={"text": "gamma fact, revised"})
        r = c.get("/v1/export")
        assert r.status_code == 200 and r.headers["content-type"].startswith(
            "application/x-ndjson")
        lines = [json.loads(x) for x in r.text.splitlines()]
        assert lines[0]["type"] == "header" and lines[-1] == {
            "type": "end", "memories": 3, "histories": 0}
        revised = next(x for x in lines if x.get("id") == mid)
        assert [h["event"] for h in revised["history"]] == ["ADD", "UPDATE"]
        # same server: nothing to add
        again = c.post("/v1/import", content=r.text).json()
        assert again == {"memories": 3, "added": 0, "updated": 0, "unchanged": 3,
                         "history_added": 0, "reembedded": 0}
        # delete everything, import restores ids, text and the whole history
        c.delete("/v1/memories", params={"user_id": user})
        back = c.post("/v1/import", content=r.text).json()
        assert back["added"] == 3 and back["reembedded"] == 0
        assert c.get(f"/v1/memories/{mid}").json()["memory"] == "gamma fact, revised"
        events = [h["event"] for h in c.get(f"/v1/memories/{mid}/history").json()["results"]]
        assert events == ["ADD", "UPDATE", "DELETE"]  # the delete is history too
        assert c.post("/v1/import", content=r.text).json()["added"] == 0


def test_health_ready_metrics_and_request_ids(fast_server: Client) -> None:
    with fast_server.http(fast_server.admin) as c:
        assert c.get("/healthz").json() == {"status": "ok"}
        assert c.get("/readyz").json()["status"] == "ready"
        r = c.post("/v1/search", json={"query": "x", "user_id": "metrics-user"},
                   headers={"X-Request-ID": "trace-me-123"})
        assert r.headers["x-request-id"] == "trace-me-123"
        c.post("/v1/memories", json={"messages": "counted", "user_id": "metrics-user"})
        text = c.get("/metrics").text
        assert 'memstack_http_requests_total{method="POST",route="/v1/search",status="200"}' \
            in text
        assert 'memstack_memory_operations_total{event="ADD"}' in text
        assert "memstack_searches_total" in text
        assert 'memstack_http_request_duration_seconds_bucket{method="POST",' in text
        ids = {c.get("/healthz").headers["x-request-id"] for _ in range(3)}
        assert len(ids) == 3
        bad = c.get("/v1/memories/nope", headers={"X-Request-ID": "bad id with spaces"})
        assert bad.headers["x-request-id"] != "bad id with spaces"
        assert bad.json()["request_id"] == bad.headers["x-request-id"]
    log = fast_server.server.log()
    assert "[trace-me-123] POST /v1/search 200" in log
    # every line the server wrote carries a request id field ("-" outside requests)
    lines = [ln for ln in log.splitlines() if " INFO " in ln or " WARNING " in ln]
    assert lines and all(" [" in ln and "] " in ln for ln in lines)


def test_openapi_31_and_docs(fast_server: Client) -> None:
    with fast_server.http() as c:
        spec = c.get("/openapi.json").json()
        assert spec["openapi"].startswith("3.1")
        for path in ("/v1/memories", "/v1/memories/{memory_id}", "/v1/memories/{memory_id}"
                     "/history", "/v1/search", "/v1/export", "/v1/import", "/healthz",
                     "/readyz", "/metrics"):
            assert path in spec["paths"], path
        assert c.get("/docs").status_code == 200
