"""Plugin discovery: one `pluggy.PluginManager("memstack")`, built lazily on first use.

Plugins are found through the entry-point group ``memstack`` (the value names a module holding
``@hookimpl`` functions, as ``pytest11`` does for pytest). A plugin whose import raises is
recorded as *failed* and the others still load. Switches, read when the manager is built:

- ``MEMSTACK_DISABLE_PLUGIN_AUTOLOAD=1``: load no entry points except those named in
  ``MEMSTACK_PLUGINS=name,...`` (entry-point or distribution names);
- ``MEMSTACK_DISABLE_PLUGINS=name,...``: never load these (entry-point or distribution names).

Objects registered by hand with `register` work exactly like packaged plugins.
"""

from __future__ import annotations

import importlib
import os
import threading
import traceback
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any, Literal

import pluggy

from memstack import hookspecs

ENTRY_POINT_GROUP = "memstack"
Status = Literal["loaded", "failed", "disabled"]


@dataclass
class PluginInfo:
    """What `memstack plugins` shows for one plugin."""

    name: str
    distribution: str
    version: str
    module: str
    status: Status
    error: str | None = None
    plugin: Any = field(default=None, repr=False)

    def fail(self, error: str) -> None:
        self.status = "failed"
        self.error = error if self.error is None else f"{self.error}; {error}"


def _env_list(var: str) -> set[str]:
    return {p.strip() for p in os.environ.get(var, "").split(",") if p.strip()}


def _truthy(var: str) -> bool:
    return os.environ.get(var, "").strip().lower() in ("1", "true", "yes", "on")


def _short_error(exc: BaseException) -> str:
    tb = traceback.extract_tb(exc.__traceback__)
    where = f" ({tb[-1].filename}:{tb[-1].lineno})" if tb else ""
    return f"{type(exc).__name__}: {exc}{where}"


class PluginSystem:
    """The plugin manager plus what we learned while loading each plugin."""

    def __init__(self) -> None:
        self.pm = pluggy.PluginManager(hookspecs.PROJECT)
        self.pm.add_hookspecs(hookspecs)
        self.infos: dict[str, PluginInfo] = {}
        self.generation = 0
        self._lock = threading.RLock()
        self._register_builtin()
        self._load_entry_points()

    def _register_builtin(self) -> None:
        from memstack import builtin
        from memstack.version import __version__

        name = "memstack.builtin"
        self.pm.register(builtin, name=name)
        self.infos[name] = PluginInfo(
            name, "memstack", __version__, builtin.__name__, "loaded", plugin=builtin
        )

    def _load_entry_points(self) -> None:
        deny = _env_list("MEMSTACK_DISABLE_PLUGINS")
        autoload = not _truthy("MEMSTACK_DISABLE_PLUGIN_AUTOLOAD")
        allow = _env_list("MEMSTACK_PLUGINS")
        seen: set[str] = set()
        for ep in metadata.entry_points(group=ENTRY_POINT_GROUP):
            dist = ep.dist.metadata["Name"] if ep.dist is not None else "<unknown>"
            version = ep.dist.version if ep.dist is not None else ""
            if ep.name in seen:  # the same distribution seen twice on sys.path
                continue
            seen.add(ep.name)
            info = PluginInfo(ep.name, dist, version, ep.value, "loaded")
            self.infos[ep.name] = info
            names = {ep.name, dist, dist.replace("_", "-").lower()}
            if names & deny:
                info.status, info.error = "disabled", "disabled by MEMSTACK_DISABLE_PLUGINS"
                continue
            if not autoload and not names & allow:
                info.status = "disabled"
                info.error = ("autoload off (MEMSTACK_DISABLE_PLUGIN_AUTOLOAD=1) and not in "
                              "MEMSTACK_PLUGINS")
                continue
            try:
                module = importlib.import_module(ep.value) if ":" not in ep.value else ep.load()
            except (Exception, SystemExit) as exc:  # a broken plugin must not take others down
                info.fail(f"import failed: {_short_error(exc)}")
                continue
            try:
                self.pm.register(module, name=ep.name)
            except Exception as exc:
                info.fail(f"registration failed: {_short_error(exc)}")
                continue
            info.plugin = module

    def register(self, plugin: Any, name: str | None = None,
                 distribution: str = "<registered>") -> str:
        with self._lock:
            plugin_name = self.pm.register(plugin, name=name)
            assert plugin_name is not None
            module = getattr(plugin, "__name__", type(plugin).__qualname__)
            self.infos[plugin_name] = PluginInfo(
                plugin_name, distribution, "", module, "loaded", plugin=plugin
            )
            self.generation += 1
            return plugin_name

    def unregister(self, plugin: Any = None, name: str | None = None) -> None:
        with self._lock:
            removed = self.pm.unregister(plugin=plugin, name=name)
            for key, info in list(self.infos.items()):
                if info.plugin is removed:
                    del self.infos[key]
            self.generation += 1

    def info_for(self, plugin: Any) -> PluginInfo | None:
        for info in self.infos.values():
            if info.plugin is plugin:
                return info
        return None


_system: PluginSystem | None = None
_system_lock = threading.Lock()


def plugin_system() -> PluginSystem:
    """The process-wide plugin system, built on first use."""
    global _system
    if _system is None:
        with _system_lock:
            if _system is None:
                _system = PluginSystem()
    return _system


def call_each(hook: str, **kwargs: Any) -> list[Any]:
    """Call `hook` through pluggy once per plugin, in pluggy's order (``tryfirst`` / ``trylast``
    honoured), so that one plugin's failure marks that plugin *failed* and the others still run.
    For hooks that must not let one plugin break the caller (the CLI's command hook)."""
    system = plugin_system()
    pm = system.pm
    impls = getattr(pm.hook, hook).get_hookimpls()
    results: list[Any] = []
    for impl in reversed(impls):  # pluggy calls the last registered (or tryfirst) first
        others = [i.plugin for i in impls if i.plugin is not impl.plugin]
        caller = pm.subset_hook_caller(hook, remove_plugins=others)
        try:
            results.extend(caller(**kwargs))
        except Exception as exc:
            info = system.info_for(impl.plugin)
            if info is not None:
                info.fail(f"{hook} raised {_short_error(exc)}")
    return results


def register(plugin: Any, name: str | None = None) -> str:
    """Register a plugin object by hand (apps and tests: no packaging needed)."""
    return plugin_system().register(plugin, name=name)


def unregister(plugin: Any = None, name: str | None = None) -> None:
    plugin_system().unregister(plugin=plugin, name=name)


def reset_plugins() -> None:
    """Forget everything loaded, so the next use rediscovers (tests; after changing env vars)."""
    global _system
    with _system_lock:
        _system = None
