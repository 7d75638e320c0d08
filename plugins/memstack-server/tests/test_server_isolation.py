"""A key bound to one scope reaches nothing outside it — by id, by filter, by scope parameter —
on every endpoint; read-only keys change nothing; revoked keys do nothing; keys never leak."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import httpx
from memstack_server.testing import Client, fast_config

from memstack.cli.main import main


def _setup(server: Client) -> tuple[str, str, list[str], str]:
    alice, bob = f"alice-{uuid.uuid4().hex[:6]}", f"bob-{uuid.uuid4().hex[:6]}"
    with server.http(server.admin) as c:
        r = c.post("/v1/memories", json={"messages": ["bob secret one", "bob secret two"],
                                         "user_id": bob})
        bob_ids = [e["id"] for e in r.json()["results"]]
        c.post("/v1/memories", json={"messages": "alice note", "user_id": alice})
    return alice, bob, bob_ids, server.key(scope={"user_id": alice})


def _bob_state(server: Client, bob: str, bob_ids: list[str]) -> Any:
    with server.http(server.admin) as c:
        items = c.get("/v1/memories", params={"user_id": bob}).json()["results"]
        hist = [c.get(f"/v1/memories/{i}/history").json()["results"] for i in bob_ids]
    return sorted((m["id"], m["memory"]) for m in items), hist


def _attempts(bob: str, bob_ids: list[str]) -> list[tuple[str, str, dict[str, Any]]]:
    """(method, path, request kwargs) for every endpoint, aimed at bob's memories."""
    mid = bob_ids[0]
    flt = json.dumps({"user_id": bob})
    or_flt = json.dumps({"OR": [{"user_id": bob}, {"text": "bob secret one"}]})
    line = json.dumps({"type": "memory", "id": mid, "text": "overwritten", "user_id": bob})
    out: list[tuple[str, str, dict[str, Any]]] = []
    for params in ({}, {"user_id": bob}):  # by id, and by id naming bob's scope
        out += [("GET", f"/v1/memories/{mid}", {"params": params}),
                ("PATCH", f"/v1/memories/{mid}", {"params": params,
                                                   "json": {"text": "pwned"}}),
                ("GET", f"/v1/memories/{mid}/history", {"params": params}),
                ("DELETE", f"/v1/memories/{mid}", {"params": params})]
    out += [  # by scope parameter
        ("GET", "/v1/memories", {"params": {"user_id": bob}}),
        ("DELETE", "/v1/memories", {"params": {"user_id": bob}}),
        ("POST", "/v1/memories", {"json": {"messages": "planted", "user_id": bob}}),
        ("POST", "/v1/search", {"json": {"query": "bob secret", "user_id": bob}}),
        ("GET", "/v1/export", {"params": {"user_id": bob}}),
        ("POST", "/v1/import", {"content": line}),
        # by filter
        ("GET", "/v1/memories", {"params": {"filters": flt}}),
        ("GET", "/v1/memories", {"params": {"filters": or_flt}}),
        ("POST", "/v1/search", {"json": {"query": "bob secret", "filters": {"user_id": bob}}}),
        ("POST", "/v1/search", {"json": {"query": "bob secret one"}}),
        ("GET", "/v1/export", {}),
    ]
    return out


def _leaked(r: httpx.Response, bob: str, bob_ids: list[str]) -> bool:
    """A success that shows or touches bob's data."""
    return r.is_success and (bob in r.text or any(i in r.text for i in bob_ids)
                             or "bob secret" in r.text)


def test_scoped_key_reaches_nothing_of_another_scope(fast_server: Client) -> None:
    _alice, bob, bob_ids, key = _setup(fast_server)
    before = _bob_state(fast_server, bob, bob_ids)
    successes, bodies = [], []
    with fast_server.http(key) as c:
        for method, path, kw in _attempts(bob, bob_ids):
            r = c.request(method, path, **kw)
            bodies.append(r.text)
            if _leaked(r, bob, bob_ids) or (r.is_success and method != "GET"
                                            and path != "/v1/search"):
                successes.append((method, path, kw, r.status_code))
            if r.status_code == 403:
                assert r.headers["content-type"] == "application/problem+json"
                assert r.json()["errors"][0]["field"] in ("user_id", "body.line[1]")
        # the key still works inside its own scope, and a filter cannot widen it
        mine = c.get("/v1/memories", params={"filters": json.dumps({"user_id": bob})})
        assert mine.json()["results"] == []
        assert [m["memory"] for m in c.get("/v1/memories").json()["results"]] == ["alice note"]
    assert successes == []
    assert _bob_state(fast_server, bob, bob_ids) == before
    assert not any(key in b for b in bodies)


def test_read_only_key_changes_nothing(fast_server: Client) -> None:
    user = f"ro-{uuid.uuid4().hex[:6]}"
    with fast_server.http(fast_server.admin) as c:
        mid = c.post("/v1/memories", json={"messages": "kept", "user_id": user}
                     ).json()["results"][0]["id"]
    key = fast_server.key(scope={"user_id": user}, read_only=True)
    with fast_server.http(key) as c:
        assert c.get(f"/v1/memories/{mid}").status_code == 200
        assert c.post("/v1/search", json={"query": "kept"}).status_code == 200
        writes = [c.post("/v1/memories", json={"messages": "new"}),
                  c.patch(f"/v1/memories/{mid}", json={"text": "changed"}),
                  c.delete(f"/v1/memories/{mid}"), c.delete("/v1/memories",
                                                             params={"user_id": user}),
                  c.post("/v1/import", content=json.dumps({"text": "x", "user_id": user}))]
        assert [r.status_code for r in writes] == [403] * 5
        assert all(r.json()["type"].endswith("read-only-key") for r in writes)
        assert [m["memory"] for m in c.get("/v1/memories").json()["results"]] == ["kept"]


def test_revoked_key_is_refused_everywhere_within_two_seconds(fast_server: Client) -> None:
    alice, bob, bob_ids, _ = _setup(fast_server)
    raw, key = fast_server.keys.create("soon-revoked", scope={"user_id": alice})
    with fast_server.http(raw) as c:
        assert c.get("/v1/memories").status_code == 200  # cached as valid now
        config = fast_server.server.config_path
        assert main(["keys", "revoke", key.id, "--config", str(config)]) == 0
        time.sleep(2.0)
        own = [("GET", "/v1/memories", {}), ("POST", "/v1/search", {"json": {"query": "a"}}),
               ("POST", "/v1/memories", {"json": {"messages": "after revoke"}}),
               ("GET", "/v1/export", {})]
        results = [c.request(m, p, **kw) for m, p, kw in own + _attempts(bob, bob_ids)]
    assert [r.status_code for r in results if r.is_success] == []
    assert {r.status_code for r in results} == {401}
    assert all(raw not in r.text for r in results)


def test_keys_never_in_logs_or_error_bodies(fast_server: Client, capsys: Any) -> None:
    raw, key = fast_server.keys.create("secretive", scope={"user_id": "leak-check"})
    fake = "msk_0123456789ab_" + "A" * 43
    bodies = []
    with httpx.Client(base_url=fast_server.url, timeout=30) as c:
        for k in (raw, fake, raw[:-1] + "x"):
            for headers in ({"Authorization": f"Bearer {k}"}, {"X-API-Key": k}):
                bodies.append(c.post("/v1/search", json={"query": k}, headers=headers).text)
                bodies.append(c.get("/v1/memories/" + k, headers=headers).text)
                bodies.append(c.get("/v1/memories", params={"filters": k},
                                    headers=headers).text)
    log = fast_server.server.log()
    secret = raw[len("msk_0123456789ab_"):]
    for text in [*bodies, log]:
        assert secret not in text and fake not in text
    capsys.readouterr()
    assert main(["keys", "list", "--json", "--config", str(fast_server.server.config_path)]) == 0
    listed = capsys.readouterr().out
    assert key.id in listed and secret not in listed


def test_rate_limit_answers_429_with_retry_after(start_server: Any, tmp_path: Any) -> None:
    config = fast_config(tmp_path)
    config["server"]["limits"] = {"rate_per_second": 0.5, "burst": 3}
    server = start_server(config)
    with server.http(server.key(scope={"user_id": "rl"})) as c:
        codes = [c.get("/v1/memories") for _ in range(6)]
    limited = [r for r in codes if r.status_code == 429]
    assert [r.status_code for r in codes[:3]] == [200, 200, 200] and limited
    assert int(limited[0].headers["retry-after"]) >= 1
    assert limited[0].json()["type"] == "urn:memstack:problem:rate-limited"


def test_cli_keys_create_list_revoke_and_unauthenticated(fast_server: Client,
                                                          capsys: Any) -> None:
    config = str(fast_server.server.config_path)
    capsys.readouterr()
    assert main(["keys", "create", "--scope", "user_id=cli-user", "--read-only", "--name",
                 "cli", "--config", config]) == 0
    made = capsys.readouterr()
    raw = made.out.strip()
    assert raw.startswith("msk_") and "shown once" in made.err
    with httpx.Client(base_url=fast_server.url, timeout=30) as c:
        assert c.get("/v1/memories").status_code == 401
        ok = c.get("/v1/memories", headers={"Authorization": f"Bearer {raw}"})
        assert ok.status_code == 200
    assert main(["keys", "create", "--scope", "tenant=x", "--config", config]) == 2
    assert "user_id, agent_id, run_id" in capsys.readouterr().err
