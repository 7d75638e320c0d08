"""`next` cursors under concurrent writes: while one client walks a scope page by page, others
insert and delete memories around the cursor; every memory present for the whole walk is
returned exactly once, and none twice."""

from __future__ import annotations

import threading
import uuid
from collections import Counter

from memstack_server.testing import Client


def test_cursor_walk_is_stable_under_concurrent_inserts_and_deletes(
        fast_server: Client) -> None:
    user = f"page-{uuid.uuid4().hex[:6]}"
    with fast_server.http(fast_server.admin) as c:
        texts = []
        for i in range(60):  # stable and churn memories interleaved in creation order
            texts += [f"stable {i}", f"churn {i}"]
        events = c.post("/v1/memories", json={"messages": texts, "user_id": user}
                        ).json()["results"]
        stable = {e["id"] for e in events if e["memory"].startswith("stable")}
        churn = [e["id"] for e in events if e["memory"].startswith("churn")]
        stop = threading.Event()
        writes = Counter()

        def writer() -> None:
            with fast_server.http(fast_server.admin) as w:
                n = 0
                while not stop.is_set():
                    if churn:
                        r = w.delete(f"/v1/memories/{churn.pop(0)}")
                        writes[r.status_code] += 1
                    r = w.post("/v1/memories", json={"messages": f"new {n}", "user_id": user})
                    writes[r.status_code] += 1
                    n += 1

        threads = [threading.Thread(target=writer) for _ in range(2)]
        for t in threads:
            t.start()
        seen: Counter[str] = Counter()
        pages, cursor = 0, None
        try:
            while True:
                params = {"user_id": user, "limit": 4, **({"cursor": cursor} if cursor else {})}
                r = c.get("/v1/memories", params=params)
                assert r.status_code == 200, r.text
                seen.update(m["id"] for m in r.json()["results"])
                pages += 1
                cursor = r.json()["next"]
                if cursor is None:
                    break
        finally:
            stop.set()
            for t in threads:
                t.join()
    assert pages > 20 and writes[200] > 10 and set(writes) == {200}
    assert stable <= set(seen), f"skipped: {len(stable - set(seen))}"
    assert [i for i, n in seen.items() if n > 1] == []
