"""Isolation through the ASGI app as memstack-server mounts it: one engine, several API keys.

Bob's session holds the ids of Alice's memories (crafted from what Alice got back) and tries
every tool, every argument and every filter on them; nothing of Alice's may be read, changed or
deleted. A key scoped to an agent cannot be widened by an agent_id argument either."""

from __future__ import annotations

import anyio
import httpx2
from mcp_testkit import err, http_client, ok


def test_a_session_never_reaches_another_users_memories(keyed_host: str) -> None:
    async def main() -> None:
        async with http_client(keyed_host, "key-alice") as alice:
            added = await ok(alice, "add_memory", {"text": "Alice's PIN hint is her cat",
                                                   "metadata": {"topic": "secret"}})
            aid = added["events"][0]["id"]
            coder = await ok(alice, "add_memory", {"text": "Alice codes in Rust",
                                                   "agent_id": "coder"})
            cid = coder["events"][0]["id"]
            gone = await ok(alice, "add_memory", {"text": "Alice's old address"})
            gid = gone["events"][0]["id"]
            await ok(alice, "delete_memory", {"memory_id": gid})

        async with http_client(keyed_host, "key-bob") as bob:
            await ok(bob, "add_memory", {"text": "Bob likes jazz"})
            for mid in (aid, cid, gid):
                assert "no memory with id" in await err(bob, "get_memory", {"memory_id": mid})
                assert "no memory with id" in await err(
                    bob, "update_memory", {"memory_id": mid, "text": "owned by bob"})
                assert "no memory with id" in await err(bob, "delete_memory",
                                                        {"memory_id": mid})
                assert "no memory with id" in await err(bob, "memory_history",
                                                        {"memory_id": mid})
                assert "no memory with id" in await err(
                    bob, "memory_history", {"memory_id": mid, "agent_id": "coder"})
                with_user = await bob.call_tool("get_memory",
                                                {"memory_id": mid, "user_id": "alice"})
                assert with_user.is_error or "Alice" not in str(with_user.content)
            # filters that name a scope field are refused, in any position
            for filters in ({"user_id": "alice"}, {"OR": [{"user_id": "alice"}, {"x": 1}]},
                            {"NOT": {"user_id": "bob"}}, {"agent_id": "coder"},
                            {"AND": [{"topic": "secret"}, {"run_id": {"ne": "z"}}]}):
                for tool, args in (("search_memories", {"query": "PIN cat Rust"}),
                                   ("list_memories", {})):
                    msg = await err(bob, tool, {**args, "filters": filters})
                    assert "scope fields cannot be filtered on" in msg
            # a user_id argument is not part of any schema: it cannot widen the scope
            r = await bob.call_tool("search_memories", {"query": "PIN cat", "user_id": "alice"})
            assert r.is_error or "Alice" not in str(r.content)
            found = await ok(bob, "search_memories", {"query": "Alice PIN cat Rust", "limit": 50})
            assert [m["text"] for m in found["results"]] == ["Bob likes jazz"]
            found = await ok(bob, "search_memories", {"query": "Rust", "agent_id": "coder"})
            assert found["results"] == []
            listed = await ok(bob, "list_memories", {"filters": {"topic": "secret"}})
            assert listed["memories"] == []
            res = await bob.call_tool("add_memory", {"text": "x", "agent_id": "coder"})
            assert not res.is_error  # narrowing bob's own scope is fine ...
            assert (await ok(bob, "delete_all_memories", {"confirm": True}))["deleted"] == 2
            try:
                await bob.read_resource(f"memory://{aid}")
                raise AssertionError("bob read alice's memory as a resource")
            except Exception as exc:  # the SDK raises the server's resource error
                assert "no memory with id" in str(exc)

        async with http_client(keyed_host, "key-alice") as alice:
            listed = await ok(alice, "list_memories")
            assert sorted(m["text"] for m in listed["memories"]) == \
                ["Alice codes in Rust", "Alice's PIN hint is her cat"]
            got = await ok(alice, "get_memory", {"memory_id": aid})
            assert got["text"] == "Alice's PIN hint is her cat"
            hist = await ok(alice, "memory_history", {"memory_id": gid})
            assert [h["event"] for h in hist["history"]] == ["ADD", "DELETE"]

        # a key fixed to agent "coder" sees that agent only and cannot widen or switch it
        async with http_client(keyed_host, "key-alice-coder") as coder_s:
            listed = await ok(coder_s, "list_memories")
            assert [m["text"] for m in listed["memories"]] == ["Alice codes in Rust"]
            assert "no memory with id" in await err(coder_s, "get_memory", {"memory_id": aid})
            msg = await err(coder_s, "list_memories", {"agent_id": "writer"})
            assert "outside this session's scope" in msg
            msg = await err(coder_s, "delete_all_memories", {"confirm": True,
                                                             "agent_id": "writer"})
            assert "outside this session's scope" in msg
            assert (await ok(coder_s, "delete_all_memories", {"confirm": True}))["deleted"] == 1

        async with http_client(keyed_host, "key-alice") as alice:
            listed = await ok(alice, "list_memories")
            assert [m["text"] for m in listed["memories"]] == ["Alice's PIN hint is her cat"]

    anyio.run(main)


def test_requests_without_a_valid_key_get_401(keyed_host: str) -> None:
    body = {"jsonrpc": "2.0", "id": 1, "method": "initialize",
            "params": {"protocolVersion": "2025-06-18", "capabilities": {},
                       "clientInfo": {"name": "t", "version": "1"}}}
    base = {"Accept": "application/json, text/event-stream"}
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "Basic a2V5"},
                    {"Authorization": "Bearer"}):
        r = httpx2.post(keyed_host, json=body, headers={**base, **headers}, timeout=30)
        assert r.status_code == 401, (headers, r.status_code)
        assert r.headers["www-authenticate"].startswith("Bearer")
        assert "wrong" not in r.text  # the presented key is never echoed
    r = httpx2.post(keyed_host, json=body, headers={**base, "Authorization": "Bearer key-bob"},
                   timeout=30)
    assert r.status_code == 200, r.text
    # mounted under a prefix: /mcp/ (trailing slash) reaches the same endpoint
    r = httpx2.post(keyed_host + "/", json=body,
                   headers={**base, "Authorization": "Bearer key-bob"}, timeout=30)
    assert r.status_code == 200, r.text


def test_a_session_is_bound_to_the_key_that_opened_it(keyed_host: str) -> None:
    """Bob's key on Alice's session id: refused as if the session did not exist."""
    body = {"jsonrpc": "2.0", "id": 1, "method": "initialize",
            "params": {"protocolVersion": "2025-06-18", "capabilities": {},
                       "clientInfo": {"name": "t", "version": "1"}}}
    base = {"Accept": "application/json, text/event-stream",
            "Content-Type": "application/json", "MCP-Protocol-Version": "2025-06-18"}
    r = httpx2.post(keyed_host, json=body, timeout=30,
                    headers={**base, "Authorization": "Bearer key-alice"})
    assert r.status_code == 200, r.text
    session = r.headers["mcp-session-id"]
    listing = {"jsonrpc": "2.0", "id": 2, "method": "tools/list"}
    with_session = {**base, "mcp-session-id": session}
    r = httpx2.post(keyed_host, json=listing, timeout=30,
                    headers={**with_session, "Authorization": "Bearer key-bob"})
    assert r.status_code == 404, r.text
    r = httpx2.post(keyed_host, json={"jsonrpc": "2.0", "method": "notifications/initialized"},
                    timeout=30, headers={**with_session, "Authorization": "Bearer key-alice"})
    assert r.status_code == 202, r.text
    r = httpx2.post(keyed_host, json=listing, timeout=30,
                    headers={**with_session, "Authorization": "Bearer key-alice"})
    assert r.status_code == 200 and "add_memory" in r.text, r.text
