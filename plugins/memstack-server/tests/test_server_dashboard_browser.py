"""The dashboard in a real headless Chromium against a real `memstack serve` process.

One server (Chroma on disk, hashing embedder, SQLite history and keys) and one browser serve
the module; each test opens its own browser context (its own cookies).
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from dashboard_helpers import (
    PLANTED_SECRETS,
    SEED,
    SEED_AGENT,
    Deployment,
    chromium,
    cli_revoke_key,
    deployment,
    sign_in,
)


@pytest.fixture(scope="module")
def dep(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    with deployment(tmp_path_factory.mktemp("dashboard")) as d:
        yield d


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as b:
        yield b


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1200, "height": 800})
    context.set_default_timeout(15_000)
    try:
        yield context.new_page()
    finally:
        context.close()


def _no_secrets(html: str, dep: Deployment) -> None:
    for secret in (dep.admin, dep.alice["key"], *PLANTED_SECRETS):
        assert secret not in html


def test_sign_in_search_edit_and_history(dep: Deployment, page: Any) -> None:
    alice = dep.alice
    sign_in(page, dep.url, alice["key"])
    # the session cookie: HttpOnly, SameSite=Strict, only for /ui, and not the key itself
    cookie = next(c for c in page.context.cookies() if c["name"] == "memstack_session")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict" and cookie["path"] == "/ui"
    assert alice["key"] not in cookie["value"] and alice["key"][4:16] not in cookie["value"]
    assert page.locator(".who .key").inner_text() == "alice-app"

    # scopes: alice's user and agent rows with their counts; bob's scope is not listed
    users = page.locator("section:has(h2:has-text('Users')) tbody tr")
    assert users.count() == 1
    assert users.first.inner_text().split() == ["alice", str(len(SEED["alice"]) + 1)]
    agents = page.locator("section:has(h2:has-text('Agents')) tbody tr")
    assert agents.first.inner_text().split() == [SEED_AGENT[1], "1"]
    assert "bob" not in page.locator("main").inner_text()

    users.first.locator("a").click()
    page.wait_for_url("**/ui/memories?user_id=alice")
    assert page.locator("table.memories tbody tr").count() == len(SEED["alice"]) + 1

    page.fill("input[name=q]", "green tea")
    page.click("form.search button[type=submit]")
    rows = page.locator("table.memories tbody tr")
    first = rows.first
    assert first.locator("td.text a").inner_text() == SEED["alice"][0]
    score = float(first.locator("td.score").inner_text().split()[0])
    assert 0 < score <= 1
    assert float(rows.nth(1).locator("td.score").inner_text().split()[0]) <= score
    _no_secrets(page.content(), dep)

    first.locator("td.text a").click()
    target = dep.ids[SEED["alice"][0]]
    page.wait_for_url(f"**/ui/memories/{target}")
    new_text = "Alice likes green tea and jasmine tea in the morning"
    page.fill("#text", new_text)
    page.click("form[action$='/edit'] button[type=submit]")
    page.wait_for_url(f"**/ui/memories/{target}?done=saved")
    assert page.locator("h1.memtext").inner_text() == new_text
    assert dep.memory(target)["memory"] == new_text  # the REST API sees the change

    page.click("a:has-text('History timeline')")
    page.wait_for_url(f"**/ui/memories/{target}/history")
    events = page.locator("ol.timeline li.ev")
    assert events.count() == 2
    newest = events.first
    assert newest.locator(".badge").first.inner_text() == "UPDATE"
    assert newest.locator("del").inner_text() == SEED["alice"][0]
    assert newest.locator("ins").inner_text() == new_text
    assert "by dashboard:alice-app" in newest.inner_text()
    assert events.nth(1).locator(".badge").first.inner_text() == "ADD"
    assert [h["event"] for h in dep.history(target)] == ["ADD", "UPDATE"]
    _no_secrets(page.content(), dep)


def test_scoped_key_cannot_see_or_change_another_scope(dep: Deployment, page: Any) -> None:
    sign_in(page, dep.url, dep.alice["key"])
    bob_text = SEED["bob"][0]
    bob_id = dep.ids[bob_text]

    # by crafted URLs: bob's scope, bob's memory, bob's history, a search in bob's scope
    for path, status in (("/ui/memories?user_id=bob", 403),
                         ("/ui/memories?user_id=bob&q=coffee", 403),
                         (f"/ui/memories/{bob_id}", 404),
                         (f"/ui/memories/{bob_id}/history", 404)):
        response = page.goto(dep.url + path)
        assert response.status == status, path
        assert bob_text not in page.content() and "Bob" not in page.locator("main").inner_text()
    page.goto(dep.url + "/ui/memories?user_id=bob")
    assert "Outside your key's scope" in page.locator("main").inner_text()
    # narrowing inside its own scope works (user alice, agent travel-bot)
    response = page.goto(f"{dep.url}/ui/memories?user_id=alice&agent_id={SEED_AGENT[1]}")
    assert response.status == 200 and SEED_AGENT[2] in page.locator("main").inner_text()

    # by crafted form posts with this session's valid CSRF token
    page.goto(f"{dep.url}/ui/memories/{dep.ids[SEED['alice'][1]]}")
    token = page.locator("input[name=csrf_token]").first.get_attribute("value")
    assert token
    edit = page.request.post(f"{dep.url}/ui/memories/{bob_id}/edit",
                             form={"csrf_token": token, "text": "Bob was here? no: alice"},
                             max_redirects=0)
    delete = page.request.post(f"{dep.url}/ui/memories/{bob_id}/delete",
                               form={"csrf_token": token}, max_redirects=0)
    assert (edit.status, delete.status) == (404, 404)
    assert dep.memory(bob_id)["memory"] == bob_text
    assert [h["event"] for h in dep.history(bob_id)] == ["ADD"]


def test_csrf_posts_without_the_token_change_nothing(dep: Deployment, page: Any) -> None:
    sign_in(page, dep.url, dep.admin)
    target_text = SEED["bob"][1]
    target = dep.ids[target_text]
    page.goto(f"{dep.url}/ui/memories/{target}")
    token = page.locator("input[name=csrf_token]").first.get_attribute("value")
    url = f"{dep.url}/ui/memories/{target}"
    refused = [
        page.request.post(url + "/edit", form={"text": "no token"}, max_redirects=0),
        page.request.post(url + "/edit", form={"text": "bad token", "csrf_token": "0" * 64},
                          max_redirects=0),
        page.request.post(url + "/delete", form={}, max_redirects=0),
        # the right token, sent by another site's page (Origin header)
        page.request.post(url + "/delete", form={"csrf_token": token}, max_redirects=0,
                          headers={"Origin": "http://evil.example"}),
    ]
    assert [r.status for r in refused] == [403, 403, 403, 403]
    assert all("Form not accepted" in r.text() for r in refused)

    # a real cross-site page that auto-submits a form into the dashboard: SameSite=Strict
    # keeps the session cookie home, and there is no token either
    evil = (f"<form id=f method=post action='{url}/delete'></form>"
            "<script>document.getElementById('f').submit()</script>")
    page.route("http://evil.example/**", lambda route: route.fulfill(
        status=200, content_type="text/html", body=evil))
    page.goto("http://evil.example/")
    page.wait_for_url(f"{url}/delete")
    assert "Form not accepted" in page.locator("main").inner_text()

    assert dep.memory(target)["memory"] == target_text
    assert [h["event"] for h in dep.history(target)] == ["ADD"]

    # with the token, the same delete goes through (the refusals above were the token's doing)
    page.goto(url)
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("form[action$='/delete'] button[type=submit]")
    page.wait_for_url("**/ui/memories?user_id=bob&done=deleted")
    assert dep.memory(target) is None
    page.goto(f"{url}/history")
    assert page.locator("ol.timeline li.ev .badge").first.inner_text() == "DELETE"


def test_revoked_key_is_signed_out_and_sign_out_works(dep: Deployment, page: Any) -> None:
    key = dep.key("bob-app", scope={"user_id": "bob"}, read_only=True)
    sign_in(page, dep.url, key["key"])
    page.goto(f"{dep.url}/ui/memories/{dep.ids[SEED['bob'][0]]}")
    assert "This key is read-only." in page.locator("main").inner_text()
    assert page.locator("form[action$='/edit']").count() == 0
    token = page.locator("form[action='/ui/logout'] input[name=csrf_token]").get_attribute(
        "value")
    crafted = page.request.post(f"{dep.url}/ui/memories/{dep.ids[SEED['bob'][0]]}/delete",
                                form={"csrf_token": token}, max_redirects=0)
    assert crafted.status == 403 and "read-only" in crafted.text()
    assert dep.memory(dep.ids[SEED["bob"][0]]) is not None
    cli_revoke_key(dep.config_path, key["id"])  # `memstack keys revoke`
    deadline = time.monotonic() + 10  # keys are cached ≤ 2 s per instance
    while True:
        page.goto(dep.url + "/ui/")
        if "/ui/login" in page.url or time.monotonic() > deadline:
            break
        time.sleep(0.25)
    assert "/ui/login" in page.url

    # a deep link survives the sign-in form
    deep = f"{dep.url}/ui/memories?user_id=alice&agent_id={SEED_AGENT[1]}"
    page.goto(deep)
    assert "/ui/login?next=" in page.url
    page.fill("#api_key", dep.alice["key"])
    page.click("form[action='/ui/login'] button[type=submit]")
    page.wait_for_url(deep)
    assert SEED_AGENT[2] in page.locator("main").inner_text()
    page.click("text=Sign out")
    page.wait_for_url("**/ui/login")
    assert not [c for c in page.context.cookies() if c["name"] == "memstack_session"]
    page.goto(dep.url + "/ui/stack")
    assert "/ui/login" in page.url

    page.goto(dep.url + "/")
    page.fill("#api_key", "msk_000000000000_" + "x" * 43)
    page.click("form[action='/ui/login'] button[type=submit]")
    assert "That key was not accepted" in page.locator("main").inner_text()


def test_stack_health_and_error_pages(dep: Deployment, page: Any) -> None:
    sign_in(page, dep.url, dep.admin)
    page.click("text=Stack & health")
    text = page.locator("main").inner_text()
    for part in ("chroma", "hashing", "openai", "sqlite", "memstack-server", "memstack-chroma"):
        assert part in text
    assert page.locator(".health.up").count() == 2
    assert "(hidden)" in text and "gpt-4.1-mini" in text
    _no_secrets(page.content(), dep)
    # the cookie secret: made on first sign-in, owner-only, never on a page
    secret = Path(os.environ["MEMSTACK_HOME"]) / "dashboard-secret"
    assert secret.stat().st_mode & 0o777 == 0o600
    assert secret.read_text().strip() not in page.content()

    # a scoped key sees what runs and whether it is up, not how it is set up
    scoped = page.context.browser.new_context()
    try:
        other = scoped.new_page()
        sign_in(other, dep.url, dep.alice["key"])
        other.goto(dep.url + "/ui/stack")
        shown = other.locator("main").inner_text()
        assert "openai" in shown and "shown to admin keys" in shown
        assert "gpt-4.1-mini" not in shown and str(dep.server.directory) not in shown
        assert other.locator(".health.up").count() == 2
    finally:
        scoped.close()

    response = page.goto(dep.url + "/ui/no-such-page")
    assert response.status == 404
    rid = response.headers["x-request-id"]
    assert rid and rid in page.locator("main").inner_text()
    response = page.goto(dep.url + "/ui/memories?user_id=alice&page=abc")
    assert response.status == 422 and "page must be a whole number" in page.content()

    # nothing secret reached the server's log either (keys went by as bearer tokens, cookies)
    _no_secrets(dep.server.log(), dep)
