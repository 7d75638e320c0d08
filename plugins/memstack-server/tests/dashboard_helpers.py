"""Helpers for the dashboard's browser tests (and the README screenshots): a real
`memstack serve` process, keys minted by `memstack keys create`, memories added over the REST
API, and Debian's Chromium driven headless by Playwright.

Screenshots for the README (docs/img/dashboard-*.png):

    HF_HUB_OFFLINE=1 .venv/bin/python plugins/memstack-server/tests/dashboard_helpers.py
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import yaml
from memstack_server.keys import KeyStore
from memstack_server.testing import ServerProcess

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
# Secrets planted in the server's config: no page may ever show them.
PLANTED_SECRETS = ("sk-dashboard-test-secret", "hdr-secret-123", "pw-in-url-456")

SEED = {
    "alice": ["Alice likes green tea in the morning", "Alice lives in Lisbon",
              "Alice is allergic to peanuts", "Alice's daughter is called Mia"],
    "bob": ["Bob prefers strong black coffee", "Bob works night shifts at the hospital"],
}
SEED_AGENT = ("alice", "travel-bot", "Alice wants a window seat on long flights")
SEED_RUN = ("bob", "run-2026-12-05", "Bob asked to be reminded about the dentist")


def dashboard_config(directory: Path, *, embedded: bool = False) -> dict[str, Any]:
    """Chroma on disk + the hashing embedder (fast), or the embedded default's MiniLM; the
    llm section carries planted secrets that the Stack page must hide (it is never called)."""
    config: dict[str, Any] = {
        "vector_store": {"provider": "chroma", "config": {"path": str(directory / "chroma")}},
        "history_store": {"provider": "sqlite", "config": {"path": str(directory / "h.db")}},
        "llm": {"provider": "openai", "config": {
            "model": "gpt-4.1-mini", "api_key": PLANTED_SECRETS[0],
            "extra_headers": {"X-Org": PLANTED_SECRETS[1]},
            "base_url": f"http://proxy:{PLANTED_SECRETS[2]}@127.0.0.1:9/v1"}},
        "server": {"limits": {"rate_per_second": 10_000, "burst": 10_000}},
    }
    if not embedded:
        config["embedder"] = {"provider": "hashing"}
    return config


def _cli(config_path: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "memstack.cli.main", *args, "--config", str(config_path)]


def cli_create_key(config_path: Path, *args: str) -> dict[str, Any]:
    """`memstack keys create ... --json` on a config file (a real CLI run)."""
    out = subprocess.run(_cli(config_path, "keys", "create", "--json", *args),
                         capture_output=True, text=True, timeout=120, check=True)
    return dict(json.loads(out.stdout))


def cli_revoke_key(config_path: Path, key_id: str) -> None:
    subprocess.run(_cli(config_path, "keys", "revoke", key_id), capture_output=True, text=True,
                   timeout=120, check=True)


@dataclass
class Deployment:
    """A running server, its keys and the ids of the memories seeded into it."""

    server: ServerProcess
    config_path: Path
    admin: str
    alice: dict[str, Any]
    ids: dict[str, str] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return self.server.url

    def key(self, name: str, **kwargs: Any) -> dict[str, Any]:
        """A key minted straight into the key database: {"key": raw, "id": ...}."""
        keys = KeyStore({k: v for k, v in self.server.config.items() if k != "server"})
        try:
            raw, key = keys.create(name, **kwargs)
        finally:
            keys.close()
        return {"key": raw, "id": key.id}

    def api(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=30,
                            headers={"Authorization": f"Bearer {self.admin}"})

    def memory(self, memory_id: str) -> dict[str, Any] | None:
        with self.api() as c:
            r = c.get(f"/v1/memories/{memory_id}")
        if r.status_code == 404:
            return None
        r.raise_for_status()
        return dict(r.json())

    def history(self, memory_id: str) -> list[dict[str, Any]]:
        with self.api() as c:
            r = c.get(f"/v1/memories/{memory_id}/history")
        r.raise_for_status()
        return list(r.json()["results"])


def _add(c: httpx.Client, text: str, **scope: str) -> str:
    r = c.post("/v1/memories", json={"messages": text, "infer": False, **scope})
    r.raise_for_status()
    return str(r.json()["results"][0]["id"])


@contextmanager
def deployment(directory: Path, *, embedded: bool = False) -> Iterator[Deployment]:
    """`memstack serve` on a free loopback port, seeded through the REST API. The scoped key
    comes from `memstack keys create`, run while the server starts; the admin key is minted
    in-process (the same KeyStore the CLI uses)."""
    config = dashboard_config(directory, embedded=embedded)
    config_path = directory / "keys.yaml"
    config_path.write_text(yaml.safe_dump(config), encoding="utf-8")
    alice_cli = subprocess.Popen(
        _cli(config_path, "keys", "create", "--json", "--scope", "user_id=alice", "--name",
             "alice-app"), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        with ServerProcess(config, directory, name="dashboard", startup_timeout=180) as server:
            out, err = alice_cli.communicate(timeout=120)
            assert alice_cli.returncode == 0, err
            keys = KeyStore({k: v for k, v in config.items() if k != "server"})
            try:
                admin, _ = keys.create("admin", admin=True)
            finally:
                keys.close()
            dep = Deployment(server, config_path, admin, json.loads(out))
            with dep.api() as c:
                for user, texts in SEED.items():
                    for text in texts:
                        dep.ids[text] = _add(c, text, user_id=user)
                user, agent, text = SEED_AGENT
                dep.ids[text] = _add(c, text, user_id=user, agent_id=agent)
                user, run, text = SEED_RUN
                dep.ids[text] = _add(c, text, user_id=user, run_id=run)
            yield dep
    finally:
        if alice_cli.poll() is None:
            alice_cli.kill()
            alice_cli.wait()


@contextmanager
def chromium() -> Iterator[Any]:
    """Debian's Chromium (installed by system-deps.sh), headless, driven by Playwright."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def sign_in(page: Any, url: str, key: str) -> None:
    """Open the dashboard, get sent to the sign-in form, and sign in with `key`."""
    page.goto(url + "/")
    assert page.url.startswith(url + "/ui/login"), page.url
    page.fill("#api_key", key)
    page.click("form[action='/ui/login'] button[type=submit]")
    page.wait_for_url(url + "/ui/")


def take_screenshots(out: Path) -> list[Path]:
    """The four README screenshots, on the embedded default (Chroma + MiniLM) so the search
    scores are real ones."""
    out.mkdir(parents=True, exist_ok=True)
    shots: list[Path] = []
    with tempfile.TemporaryDirectory() as tmp:
        os.environ.setdefault("MEMSTACK_HOME", str(Path(tmp) / "home"))
        with deployment(Path(tmp), embedded=True) as dep, chromium() as browser:
            page = browser.new_page(viewport={"width": 1200, "height": 440},
                                    device_scale_factor=1)
            target = dep.ids[SEED["alice"][0]]
            with dep.api() as c:  # a little history to show
                c.patch(f"/v1/memories/{target}",
                        json={"text": "Alice likes green tea, and jasmine tea after lunch"})
            page.goto(dep.url + "/")
            shots.append(out / "dashboard-sign-in.png")
            page.screenshot(path=str(shots[-1]), full_page=True)
            page.fill("#api_key", dep.admin)
            page.click("form[action='/ui/login'] button[type=submit]")
            page.wait_for_url(dep.url + "/ui/")
            shots.append(out / "dashboard-scopes.png")
            page.screenshot(path=str(shots[-1]), full_page=True)
            page.goto(dep.url + "/ui/memories?user_id=alice&q=which+tea+does+she+like")
            shots.append(out / "dashboard-search.png")
            page.screenshot(path=str(shots[-1]), full_page=True)
            page.goto(f"{dep.url}/ui/memories/{target}")
            page.fill("#text", "Alice likes green tea, and jasmine tea in the evening")
            page.click("form[action$='/edit'] button[type=submit]")
            page.goto(f"{dep.url}/ui/memories/{target}/history")
            shots.append(out / "dashboard-history.png")
            page.screenshot(path=str(shots[-1]), full_page=True)
    return shots


if __name__ == "__main__":
    root = Path(__file__).resolve().parents[3]
    for path in take_screenshots(root / "docs" / "img"):
        print(path)
