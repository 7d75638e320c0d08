"""A plugin that raises at import, at registration or inside a hook takes nothing else down."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.test_plugin_discovery import make_dist

APP = """
import json, memstack
from memstack import Memory
from memstack.plugins import plugin_system
cfg = {"vector_store": {"provider": "memory"}, "embedder": {"provider": "hashing"},
       "history_store": {"provider": "sqlite", "config": {"path": ":memory:"}}}
m = Memory(cfg)
added = m.add("still works", user_id="u").results[0].event
found = [r.memory for r in m.search("works", user_id="u").results]
infos = {i.distribution: [i.status, i.error] for i in plugin_system().infos.values()}
print(json.dumps({"added": added, "found": found, "plugins": infos}))
"""


def run_app(path: Path, **env: str) -> dict:
    proc = subprocess.run([sys.executable, "-c", APP], capture_output=True, text=True,
                          timeout=120, env={**os.environ, "PYTHONPATH": str(path), **env})
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.splitlines()[-1])


def test_broken_plugins_do_not_take_the_others_down(tmp_path: Path, figures) -> None:
    make_dist(tmp_path, "memstack-import-boom", "import_boom", "raise ImportError('no lib')")
    make_dist(tmp_path, "memstack-exit-boom", "exit_boom", "raise SystemExit(3)")
    make_dist(tmp_path, "memstack-reg-boom", "reg_boom", """
        from memstack import hookimpl
        @hookimpl
        def memstack_vector_stores():
            raise RuntimeError("registration failed")
    """)
    make_dist(tmp_path, "memstack-hook-boom", "hook_boom", """
        from memstack import hookimpl
        @hookimpl
        def memstack_after_change(ctx):
            raise RuntimeError("observer failed")
        @hookimpl
        def memstack_after_search(ctx):
            raise RuntimeError("observer failed")
    """)
    out = run_app(tmp_path)
    assert out["added"] == "ADD" and out["found"] == ["still works"]
    plugins = out["plugins"]
    assert plugins["memstack-import-boom"][0] == "failed" and "no lib" in plugins[
        "memstack-import-boom"][1]
    assert plugins["memstack-exit-boom"][0] == "failed"
    assert plugins["memstack-reg-boom"][0] == "failed"
    assert "observer failed" in plugins["memstack-hook-boom"][1]  # reported, not fatal
    denied = run_app(tmp_path, MEMSTACK_DISABLE_PLUGINS="memstack-hook-boom,memstack-import-boom")
    assert denied["plugins"]["memstack-hook-boom"] == ["disabled",
                                                       "disabled by MEMSTACK_DISABLE_PLUGINS"]
    off = run_app(tmp_path, MEMSTACK_DISABLE_PLUGIN_AUTOLOAD="1",
                  MEMSTACK_PLUGINS="memstack-contract-tests")
    assert off["added"] == "ADD"
    assert all(v[0] == "disabled" for k, v in off["plugins"].items() if k.endswith("-boom"))
    figures("plugin_safety", broken_plugins=4, app_operations_ok=3, crashes=0)
