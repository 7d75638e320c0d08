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

import difflib
import importlib
import logging
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
        self._subsets: dict[tuple[str, str], Any] = {}
        self._register_builtin()
        self._load_entry_points()
        self._check_hook_names()

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

    def _check_hook_names(self) -> None:
        """pluggy's `check_pending`, per plugin: a hookimpl whose name matches no hookspec would
        silently never run, so its plugin is unregistered and marked failed, naming the closest
        real hook."""
        for key, info in list(self.infos.items()):
            if info.plugin is None or info.status != "loaded":
                continue
            problem = unknown_hooks(self.pm, info.plugin)
            if problem:
                self.pm.unregister(info.plugin)
                info.fail(problem)
                info.plugin = None
                self.infos[key] = info

    def register(self, plugin: Any, name: str | None = None,
                 distribution: str = "<registered>") -> str:
        """Register by hand; a misspelled hook name raises `PluginError` (nothing registered)."""
        from memstack.errors import PluginError

        with self._lock:
            plugin_name = self.pm.register(plugin, name=name)
            assert plugin_name is not None
            problem = unknown_hooks(self.pm, plugin)
            if problem:
                self.pm.unregister(plugin)
                raise PluginError(f"plugin {plugin_name!r}: {problem}")
            module = getattr(plugin, "__name__", type(plugin).__qualname__)
            self.infos[plugin_name] = PluginInfo(
                plugin_name, distribution, "", module, "loaded", plugin=plugin
            )
            self.generation += 1
            self._subsets.clear()
            return plugin_name

    def unregister(self, plugin: Any = None, name: str | None = None) -> None:
        with self._lock:
            removed = self.pm.unregister(plugin=plugin, name=name)
            for key, info in list(self.infos.items()):
                if info.plugin is removed:
                    del self.infos[key]
            self.generation += 1
            self._subsets.clear()

    def run_hook(self, name: str, ctx: object) -> None:
        """Call pipeline hook `name` with `ctx` through pluggy (so ``tryfirst``, ``trylast`` and
        ``wrapper=True`` behave as pluggy documents).

        Strict hooks (`hookspecs.STRICT_HOOKS`, which may transform input) run as one pluggy
        call: an error aborts the operation with a `PluginError` naming the plugin. Observer
        hooks run one plugin at a time, in the same order, so that one plugin's error is logged
        and recorded on that plugin while the others still see the event.
        """
        from memstack.errors import PluginError

        caller = getattr(self.pm.hook, name)
        impls = caller.get_hookimpls()
        if not impls:
            return
        if name in hookspecs.STRICT_HOOKS:
            try:
                caller(ctx=ctx)
            except Exception as exc:
                who = _raised_by(exc, impls)
                raise PluginError(f"plugin {who!r} failed in {name}: {type(exc).__name__}: "
                                  f"{exc}; nothing was written") from exc
            return
        for impl in reversed(impls):  # pluggy's call order
            try:
                self._subset(name, impl.plugin_name)(ctx=ctx)
            except Exception as exc:
                logging.getLogger("memstack").warning(
                    "plugin %r failed in %s: %s", impl.plugin_name, name, exc)
                info = self.info_for(impl.plugin)
                if info is not None:
                    info.error = f"{name} raised {type(exc).__name__}: {exc}"

    def _subset(self, hook: str, plugin_name: str) -> Any:
        """pluggy's hook caller for `hook` restricted to one plugin (cached per registration)."""
        key = (hook, plugin_name)
        caller = self._subsets.get(key)
        if caller is None:
            others = [i.plugin for i in getattr(self.pm.hook, hook).get_hookimpls()
                      if i.plugin_name != plugin_name]
            caller = self._subsets[key] = self.pm.subset_hook_caller(hook, others)
        return caller

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


def call_each(hook: str, **kwargs: Any) -> list[tuple[Any, Any]]:
    """Call `hook` through pluggy once per plugin, in pluggy's order (``tryfirst`` / ``trylast``
    honoured), so that one plugin's failure marks that plugin *failed* and the others still run.
    For hooks that must not let one plugin break the caller (provider registration, the CLI's
    command hook). Returns (hookimpl, that plugin's result) pairs."""
    system = plugin_system()
    results: list[tuple[Any, Any]] = []
    for impl in reversed(getattr(system.pm.hook, hook).get_hookimpls()):
        try:
            found = system._subset(hook, impl.plugin_name)(**kwargs)
        except Exception as exc:
            info = system.info_for(impl.plugin)
            if info is not None:
                info.fail(f"{hook} raised {_short_error(exc)}")
            continue
        results.extend((impl, r) for r in found)
    return results


def run_hook(name: str, ctx: object) -> None:
    """Call pipeline hook `name` on every plugin (see `PluginSystem.run_hook`)."""
    plugin_system().run_hook(name, ctx)


def unknown_hooks(pm: pluggy.PluginManager, plugin: Any) -> str | None:
    """Why `plugin` has hookimpls that match no hookspec (None when all match)."""
    real = sorted(n for n in dir(pm.hook) if not n.startswith("_")
                  and getattr(getattr(pm.hook, n), "spec", None) is not None)
    problems = []
    for caller in pm.get_hookcallers(plugin) or []:
        if caller.spec is not None or all(
                i.optionalhook for i in caller.get_hookimpls() if i.plugin is plugin):
            continue
        close = difflib.get_close_matches(caller.name, real, n=1, cutoff=0.6)
        hint = f"; did you mean {close[0]!r}?" if close else f"; hooks are: {', '.join(real)}"
        problems.append(f"hook {caller.name!r} matches no memstack hookspec{hint}")
    return "; ".join(problems) or None


def _raised_by(exc: BaseException, impls: list[Any]) -> str:
    """The plugin whose hookimpl the traceback passes through last (the one that raised)."""
    codes = {impl.function.__code__: impl.plugin_name for impl in impls}
    who = "?"
    tb = exc.__traceback__
    while tb is not None:
        who = codes.get(tb.tb_frame.f_code, who)
        tb = tb.tb_next
    return who


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
