"""Bad input over HTTP → a 4xx problem document that names the field; nothing is written."""

from __future__ import annotations

import json
import uuid
from typing import Any

from memstack_server.testing import Client

PROBLEM = "application/problem+json"


def _cases(user: str, mid: str) -> list[tuple[str, str, dict[str, Any], int, str]]:
    """(method, path, request kwargs, expected status, field the problem must name)."""
    js = {"content-type": "application/json"}
    return [
        ("POST", "/v1/memories", {"content": b'{"messages": "x", ', "headers": js}, 422, "body"),
        ("POST", "/v1/search", {"content": b"not json", "headers": js}, 422, "body"),
        ("PATCH", f"/v1/memories/{mid}", {"content": b"{", "headers": js}, 422, "body"),
        ("POST", "/v1/memories", {"json": {"messages": 5, "user_id": user}}, 422,
         "body.messages"),
        ("POST", "/v1/memories", {"json": {"messages": "x", "user_id": 7}}, 422, "body.user_id"),
        ("POST", "/v1/memories", {"json": {"messages": "x", "user_id": user,
                                           "metadata": "flat"}}, 422, "body.metadata"),
        ("POST", "/v1/memories", {"json": {"messages": "x", "user_id": user, "colour": 1}},
         422, "body.colour"),
        ("POST", "/v1/memories", {"json": {"messages": ["x"] * 1001, "user_id": user}}, 422,
         "body.messages"),
        ("POST", "/v1/memories", {"json": {"messages": "", "user_id": user}}, 422, "body.messages"),
        ("POST", "/v1/memories", {"json": {"messages": "x"}}, 422, "scope"),
        ("POST", "/v1/memories", {"json": {"messages": "x", "user_id": user,
                                           "metadata": {"text": "reserved"}}}, 422, ""),
        ("POST", "/v1/memories", {"content": b"{" + b" " * 2_000_000 + b"}", "headers": js},
         413, "body"),
        ("POST", "/v1/search", {"json": {"query": "q", "user_id": user, "limit": "ten"}}, 422,
         "body.limit"),
        ("POST", "/v1/search", {"json": {"query": "q", "user_id": user, "limit": 0}}, 422,
         "body.limit"),
        ("POST", "/v1/search", {"json": {"query": "q", "user_id": user,
                                         "filters": {"age": {"bogus": 3}}}}, 400,
         "filters.age"),
        ("POST", "/v1/search", {"json": {"query": "q", "user_id": user,
                                         "filters": {"OR": []}}}, 400, "filters"),
        ("POST", "/v1/search", {"json": {"query": "q", "user_id": user,
                                         "filters": {"n": {"gt": [1]}}}}, 400, "filters.n"),
        ("GET", "/v1/memories", {"params": {"user_id": user, "filters": "{nope"}}, 400,
         "query.filters"),
        ("GET", "/v1/memories", {"params": {"user_id": user, "filters": "[1, 2]"}}, 400,
         "query.filters"),
        ("GET", "/v1/memories", {"params": {"user_id": user, "cursor": "garbage!"}}, 400,
         "cursor"),
        ("GET", "/v1/memories", {"params": {"user_id": user, "limit": -1}}, 422,
         "query.limit"),
        ("PATCH", f"/v1/memories/{mid}", {"json": {"text": ""}}, 422, "body.text"),
        ("PATCH", f"/v1/memories/{mid}", {"json": {"text": "t", "extra": 1}}, 422,
         "body.extra"),
        ("DELETE", "/v1/memories", {}, 422, "query.user_id"),
        ("POST", "/v1/import", {"content": json.dumps({"text": "ok", "user_id": user}) + "\n{"},
         422, ""),
        ("POST", "/v1/import", {"content": json.dumps({"text": "ok", "user_id": user,
                                                       "surprise": 1})}, 422, ""),
    ]


def test_bad_input_is_a_4xx_problem_naming_the_field_and_writes_nothing(
        fast_server: Client) -> None:
    user = f"bad-{uuid.uuid4().hex[:6]}"
    with fast_server.http(fast_server.admin) as c:
        mid = c.post("/v1/memories", json={"messages": "the only memory", "user_id": user}
                     ).json()["results"][0]["id"]
        failures = []
        for method, path, kw, status, field in _cases(user, mid):
            r = c.request(method, path, **kw)
            ok = r.status_code == status and r.headers["content-type"] == PROBLEM
            body = r.json() if ok else {}
            named = [e["field"] for e in body.get("errors") or []]
            if ok and field:
                ok = any(n == field or n.startswith(field + ".") for n in named)
            if ok:
                ok = body["status"] == status and body["request_id"] == \
                    r.headers["x-request-id"] and "Traceback" not in r.text and body["detail"]
            if not ok:
                failures.append((method, path, status, field, r.status_code, r.text[:300]))
        assert failures == []
        items = c.get("/v1/memories", params={"user_id": user}).json()["results"]
        assert [m["memory"] for m in items] == ["the only memory"]
        assert [h["event"] for h in c.get(f"/v1/memories/{mid}/history").json()["results"]] \
            == ["ADD"]
    assert "Traceback" not in fast_server.server.log()


def test_unknown_route_and_method_are_problems(fast_server: Client) -> None:
    with fast_server.http(fast_server.admin) as c:
        r = c.get("/v1/nothing-here")
        assert r.status_code == 404 and r.headers["content-type"] == PROBLEM
        r = c.put("/v1/search", json={})
        assert r.status_code == 405 and r.json()["status"] == 405


def test_a_bug_is_a_500_problem_without_traceback(tmp_path: Any,
                                                  caplog: Any) -> None:
    """An unexpected exception (here: an engine method that raises) is logged with its
    traceback and answered as a problem document carrying the request id, nothing more."""
    from fastapi.testclient import TestClient
    from memstack_server.app import create_app
    from memstack_server.settings import load_settings

    from memstack import Memory

    memory = Memory({"vector_store": {"provider": "memory"}, "embedder": {"provider": "hashing"},
                     "history_store": {"provider": "sqlite",
                                       "config": {"path": str(tmp_path / "h.db")}}})

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("secret internal detail")

    memory.search = broken  # type: ignore[method-assign]
    app = create_app(load_settings({"server": {"auth": {"enabled": False}}}), memory)
    with TestClient(app) as c:
        r = c.post("/v1/search", json={"query": "q", "user_id": "u"})
    assert r.status_code == 500 and r.headers["content-type"] == PROBLEM
    assert r.json()["request_id"] == r.headers["x-request-id"]
    assert "secret internal detail" not in r.text and "Traceback" not in r.text
    assert "secret internal detail" in caplog.text  # the log has it, for the operator
    memory.close()
