"""Several clients on one `memstack mcp --http` server at once, a bounded run: every call
succeeds and every write is there afterwards (0 errors, 0 lost writes)."""

from __future__ import annotations

import anyio
from mcp_testkit import http_client, ok

CLIENTS = 6
WRITES = 12


def test_concurrent_clients_lose_nothing(http_server: str) -> None:
    errors: list[str] = []
    ids: dict[str, str] = {}

    async def worker(n: int) -> None:
        async with http_client(http_server) as client:
            for i in range(WRITES):
                text = f"client {n} fact {i}: likes colour number {n * 100 + i}"
                result = await client.call_tool("add_memory", {"text": text,
                                                               "metadata": {"client": n}})
                if result.is_error or result.structured_content is None:
                    errors.append(str(result.content))
                    continue
                ids[text] = result.structured_content["events"][0]["id"]
                if i % 4 == 3:  # reads and updates interleaved with other clients' writes
                    found = await client.call_tool("search_memories",
                                                   {"query": text, "limit": 3})
                    if found.is_error:
                        errors.append(str(found.content))
                    upd = await client.call_tool("update_memory", {
                        "memory_id": ids[text], "text": text + " (confirmed)"})
                    if upd.is_error:
                        errors.append(str(upd.content))

    async def main() -> None:
        async with anyio.create_task_group() as tg:
            for n in range(CLIENTS):
                tg.start_soon(worker, n)
        async with http_client(http_server) as client:
            seen: dict[str, str] = {}
            cursor = None
            while True:
                args = {"limit": 100, **({"cursor": cursor} if cursor else {})}
                page = await ok(client, "list_memories", args)
                seen.update({m["id"]: m["text"] for m in page["memories"]})
                cursor = page["next_cursor"]
                if cursor is None:
                    break
            assert errors == []
            assert len(seen) == CLIENTS * WRITES
            for text, mid in ids.items():
                assert seen[mid] in (text, text + " (confirmed)")
            confirmed = [t for t in seen.values() if t.endswith("(confirmed)")]
            assert len(confirmed) == CLIENTS * (WRITES // 4)
            per_client = await ok(client, "list_memories", {"filters": {"client": 3}})
            assert len(per_client["memories"]) == WRITES

    anyio.run(main)
