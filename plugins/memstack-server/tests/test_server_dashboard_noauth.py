"""The dashboard when the server runs without auth (allowed on loopback only): everyone is
admin, as in the API, and forms still need the CSRF token (from a per-browser nonce cookie).
In-process through Starlette's TestClient: this checks the mode's rules, the browser tests
check the pages."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from memstack_server.app import create_app
from memstack_server.settings import ServerSettings

from memstack import Memory


@pytest.fixture
def client(tmp_path: Path) -> Iterator[tuple[TestClient, Memory]]:
    memory = Memory({"vector_store": {"provider": "memory"}, "embedder": {"provider": "hashing"},
                     "history_store": {"provider": "sqlite",
                                       "config": {"path": str(tmp_path / "h.db")}}})
    settings = ServerSettings(auth={"enabled": False})
    with TestClient(create_app(settings, memory), base_url="http://127.0.0.1") as c:
        yield c, memory
    memory.close()


def test_without_auth_every_scope_is_open_and_forms_still_need_the_token(
        client: tuple[TestClient, Memory]) -> None:
    c, memory = client
    mid = memory.add("Carol collects stamps", user_id="carol", infer=False).results[0].id
    page = c.get("/ui/")  # sets the nonce cookie, comes back, shows every scope
    assert page.status_code == 200 and "carol" in page.text
    assert "local (auth disabled)" in page.text and "Sign out" not in page.text
    assert c.get("/ui/login", follow_redirects=False).status_code == 303

    form = c.get(f"/ui/memories/{mid}")
    token = re.search(r'name="csrf_token" value="([0-9a-f]{64})"', form.text)
    assert token is not None
    refused = c.post(f"/ui/memories/{mid}/edit", data={"text": "changed"},
                     follow_redirects=False)
    assert refused.status_code == 403
    other_site = c.post(f"/ui/memories/{mid}/edit", follow_redirects=False,
                        data={"text": "changed", "csrf_token": token[1]},
                        headers={"Sec-Fetch-Site": "same-site"})  # another port, same host
    assert other_site.status_code == 403
    assert memory.get(mid).memory == "Carol collects stamps"
    done = c.post(f"/ui/memories/{mid}/edit", data={"text": "Carol collects old stamps",
                                                    "csrf_token": token[1]},
                  follow_redirects=False)
    assert done.status_code == 303 and memory.get(mid).memory == "Carol collects old stamps"
    assert [h.actor_id for h in memory.history(mid)] == [None, "dashboard:local (auth disabled)"]


def test_memory_list_pages(client: tuple[TestClient, Memory]) -> None:
    c, memory = client
    memory.add([f"dana fact number {i:02d}" for i in range(30)], user_id="dana", infer=False)
    first = c.get("/ui/memories", params={"user_id": "dana"})
    assert first.text.count('<td class="text">') == 25 and "Next →" in first.text
    second = c.get("/ui/memories", params={"user_id": "dana", "page": 2})
    assert second.text.count('<td class="text">') == 5 and "Next →" not in second.text
    assert "← Previous" in second.text
    shown = set(re.findall(r"dana fact number \d\d", first.text + second.text))
    assert len(shown) == 30
