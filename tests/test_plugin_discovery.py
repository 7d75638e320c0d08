"""Discovery through real entry points: tiny plugin distributions written into a temp dir."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

GOOD = '''
from memstack import hookimpl, ProviderSpec, VectorStoreConfig
from memstack.builtin.memory_store import InMemoryVectorStore

class Cfg(VectorStoreConfig):
    pass

@hookimpl
def memstack_vector_stores():
    return [ProviderSpec("{name}", "vector_store", Cfg, InMemoryVectorStore,
                         capabilities={{"filter:eq"}}, summary="test store")]
'''


def make_dist(root: Path, dist: str, module: str, source: str, ep_name: str | None = None) -> None:
    """Write `module.py` and a `dist-info` whose entry_points.txt names it (group memstack)."""
    (root / f"{module}.py").write_text(textwrap.dedent(source))
    info = root / f"{dist.replace('-', '_')}-1.2.3.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 1.2.3\n")
    (info / "entry_points.txt").write_text(f"[memstack]\n{ep_name or dist} = {module}\n")


@pytest.fixture
def plugin_dir(tmp_path: Path) -> Path:
    make_dist(tmp_path, "memstack-good", "good_plugin", GOOD.format(name="goodstore"))
    make_dist(tmp_path, "memstack-broken", "broken_plugin", "raise RuntimeError('boom at import')")
    make_dist(tmp_path, "memstack-twin-a", "twin_a", GOOD.format(name="twin"))
    make_dist(tmp_path, "memstack-twin-b", "twin_b", GOOD.format(name="twin"))
    make_dist(tmp_path, "memstack-badreg", "badreg_plugin", """
        from memstack import hookimpl
        @hookimpl
        def memstack_embedders():
            raise ValueError("cannot register")
    """)
    return tmp_path


def run_cli(plugin_dir: Path, *args: str,
            env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    full_env = {**os.environ, "PYTHONPATH": str(plugin_dir), **(env or {})}
    return subprocess.run([sys.executable, "-m", "memstack.cli.main", *args], env=full_env,
                          capture_output=True, text=True, timeout=120)


def by_dist(rows: list[dict]) -> dict[str, dict]:
    return {r["distribution"]: r for r in rows}


def test_plugins_json_shows_good_broken_and_failed_registration(plugin_dir: Path) -> None:
    proc = run_cli(plugin_dir, "plugins", "--json")
    assert proc.returncode == 0, proc.stderr
    rows = by_dist(json.loads(proc.stdout))
    good = rows["memstack-good"]
    assert good["status"] == "loaded" and good["version"] == "1.2.3"
    assert good["providers"]["vector_store"][0]["name"] == "goodstore"
    assert good["providers"]["vector_store"][0]["capabilities"] == ["filter:eq"]
    assert rows["memstack-broken"]["status"] == "failed"
    assert "boom at import" in rows["memstack-broken"]["error"]
    assert rows["memstack-badreg"]["status"] == "failed"
    assert "cannot register" in rows["memstack-badreg"]["error"]
    assert rows["memstack"]["status"] == "loaded"  # the core's own plugin still there


def test_duplicate_provider_names_both_distributions(plugin_dir: Path, monkeypatch,
                                                     fresh_plugins) -> None:
    monkeypatch.syspath_prepend(str(plugin_dir))
    from memstack.errors import PluginConflictError
    from memstack.registry import get_registry

    registry = get_registry()
    with pytest.raises(PluginConflictError) as err:
        registry.get("vector_store", "twin")
    assert "memstack-twin-a" in str(err.value) and "memstack-twin-b" in str(err.value)
    # the others are unaffected
    store = registry.build("vector_store", "goodstore", {"dimension": 2})
    assert store.dimension == 2


def test_deny_list_disables_by_distribution_or_entry_point(plugin_dir: Path) -> None:
    proc = run_cli(plugin_dir, "plugins", "--json",
                   env={"MEMSTACK_DISABLE_PLUGINS": "memstack-good,memstack-broken"})
    rows = by_dist(json.loads(proc.stdout))
    assert rows["memstack-good"]["status"] == "disabled"
    assert rows["memstack-good"]["providers"] == {}
    assert rows["memstack-broken"]["status"] == "disabled"  # never imported, so no failure


def test_autoload_off_loads_only_listed(plugin_dir: Path) -> None:
    proc = run_cli(plugin_dir, "plugins", "--json",
                   env={"MEMSTACK_DISABLE_PLUGIN_AUTOLOAD": "1",
                        "MEMSTACK_PLUGINS": "memstack-good"})
    rows = by_dist(json.loads(proc.stdout))
    assert rows["memstack-good"]["status"] == "loaded"
    assert rows["memstack-twin-a"]["status"] == "disabled"
    assert "autoload off" in rows["memstack-twin-a"]["error"]


def test_unknown_provider_error_lists_installed_and_suggests(plugin_dir: Path, monkeypatch,
                                                            fresh_plugins) -> None:
    monkeypatch.syspath_prepend(str(plugin_dir))
    from memstack.errors import ProviderNotFound
    from memstack.registry import get_registry

    with pytest.raises(ProviderNotFound) as err:
        get_registry().build("vector_store", "goodstor", {})
    text = str(err.value)
    assert "goodstore (from memstack-good)" in text
    assert "Did you mean 'goodstore'?" in text
    assert "pip install memstack-goodstor" in text


def test_hand_registered_plugin_object(fresh_plugins) -> None:
    import memstack
    from memstack.builtin.memory_store import InMemoryVectorStore, MemoryStoreConfig
    from memstack.registry import get_registry

    class Plugin:
        @memstack.hookimpl
        def memstack_vector_stores(self):
            return [memstack.ProviderSpec("byhand", "vector_store", MemoryStoreConfig,
                                          InMemoryVectorStore)]

    plugin = Plugin()
    memstack.register(plugin, name="byhand-plugin")
    assert get_registry().get("vector_store", "byhand").plugin == "byhand-plugin"
    memstack.unregister(plugin)
    with pytest.raises(memstack.ProviderNotFound):
        get_registry().get("vector_store", "byhand")


def test_invalid_spec_marks_plugin_failed(fresh_plugins) -> None:
    import memstack
    from memstack.plugins import plugin_system
    from memstack.registry import get_registry

    class Bad:
        @memstack.hookimpl
        def memstack_llms(self):
            return [memstack.ProviderSpec("Bad Name!", "llm", dict, lambda c: c)]

    memstack.register(Bad(), name="bad")
    get_registry()
    info = plugin_system().infos["bad"]
    assert info.status == "failed" and "Bad Name!" in (info.error or "")
