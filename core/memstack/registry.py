"""The registry: (kind, name) → `ProviderSpec`, and building a provider from a validated config.

Built from the plugin manager by calling each plugin's registration hooks one by one, so that a
plugin that raises while registering is reported as failed and the others still count.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ValidationError

from memstack.capabilities import Kind
from memstack.config import validation_error
from memstack.errors import (
    ConfigError,
    MemstackError,
    PluginConflictError,
    ProviderError,
    ProviderNotFound,
)
from memstack.hookspecs import REGISTRATION_HOOKS
from memstack.plugins import PluginSystem, call_each, plugin_system
from memstack.spec import ProviderSpec


@dataclass
class Registry:
    specs: dict[tuple[str, str], ProviderSpec] = field(default_factory=dict)
    conflicts: dict[tuple[str, str], list[str]] = field(default_factory=dict)

    def providers(self, kind: Kind | str) -> list[ProviderSpec]:
        k = str(Kind(kind))
        return sorted((s for (sk, _), s in self.specs.items() if sk == k), key=lambda s: s.name)

    def get(self, kind: Kind | str, name: str) -> ProviderSpec:
        k = _kind(kind)
        if (k, name) in self.conflicts:
            raise PluginConflictError(k, name, self.conflicts[(k, name)])
        spec = self.specs.get((k, name))
        if spec is None:
            installed = {s.name: s.distribution for s in self.providers(k)}
            raise ProviderNotFound(k, name, installed)
        return spec

    def validate_config(
        self, kind: Kind | str, name: str, config: Mapping[str, Any] | BaseModel | None
    ) -> BaseModel:
        spec = self.get(kind, name)
        return validate_provider_config(spec, config)

    def build(
        self, kind: Kind | str, name: str, config: Mapping[str, Any] | BaseModel | None = None
    ) -> Any:
        """Validate `config` with the provider's model and call its factory."""
        spec = self.get(kind, name)
        model = validate_provider_config(spec, config)
        try:
            instance = spec.factory(model)
        except MemstackError:
            raise
        except Exception as exc:
            raise ProviderError(name, f"could not start: {type(exc).__name__}: {exc}") from exc
        if getattr(instance, "capabilities", None) is None:
            try:
                instance.capabilities = spec.capabilities
            except AttributeError:
                pass
        return instance


def _kind(kind: Kind | str) -> str:
    try:
        return str(Kind(kind))
    except ValueError:
        allowed = ", ".join(k.value for k in Kind)
        raise ConfigError(
            f"unknown provider kind {kind!r}; allowed: {allowed}", field="kind", given=kind,
            allowed=allowed,
        ) from None


def validate_provider_config(
    spec: ProviderSpec, config: Mapping[str, Any] | BaseModel | None
) -> BaseModel:
    """Validate with the provider's own model; errors name provider, field, value and rule."""
    if isinstance(config, spec.config_model):
        return config
    if isinstance(config, BaseModel):
        config = config.model_dump()
    if config is not None and not isinstance(config, Mapping):
        raise ConfigError(
            f"{spec.kind} provider {spec.name!r}: config must be a mapping, got "
            f"{type(config).__name__}",
            provider=spec.name, given=config, allowed="a mapping of field names to values",
        )
    try:
        return spec.config_model.model_validate(dict(config or {}))
    except ValidationError as exc:
        raise validation_error(exc, f"invalid config for {spec.kind} provider {spec.name!r}",
                               provider=spec.name) from None


def collect(system: PluginSystem) -> Registry:
    """Call every plugin's registration hooks (through pluggy, one plugin at a time, so one
    that raises or returns something invalid is marked failed) and index their specs."""
    registry = Registry()
    owners: dict[tuple[str, str], list[ProviderSpec]] = {}
    for kind, hook_name in REGISTRATION_HOOKS.items():
        by_plugin: dict[str, tuple[Any, list[Any]]] = {}
        for impl, specs in call_each(hook_name):
            by_plugin.setdefault(impl.plugin_name, (impl, []))[1].extend(specs or [])
        for impl, specs in by_plugin.values():
            info = system.info_for(impl.plugin)
            problem = _spec_problem(hook_name, kind, specs)
            if problem:
                if info is not None:
                    info.fail(f"{hook_name} failed: {problem}")
                continue
            dist = info.distribution if info else "<unknown>"
            version = info.version if info else ""
            for spec in specs:
                full = spec.with_origin(distribution=dist, version=version, plugin=impl.plugin_name)
                owners.setdefault((kind, spec.name), []).append(full)
    for key, found in owners.items():
        if len(found) > 1:
            registry.conflicts[key] = [s.distribution for s in found]
        registry.specs[key] = found[0]
    return registry


def _spec_problem(hook_name: str, kind: str, specs: list[Any]) -> str | None:
    for spec in specs:
        if not isinstance(spec, ProviderSpec):
            return f"TypeError: {hook_name} returned {type(spec).__name__}, not ProviderSpec"
        if str(spec.kind) != kind:
            return f"TypeError: {hook_name} returned a {spec.kind} spec {spec.name!r}"
        problems = spec.problems()
        if problems:
            return f"TypeError: invalid spec {spec.name!r}: {'; '.join(problems)}"
    return None


_cache: tuple[int, int, Registry] | None = None


def get_registry() -> Registry:
    """The registry for the current plugin system (rebuilt after register/unregister/reset)."""
    global _cache
    system = plugin_system()
    key = (id(system), system.generation)
    if _cache is None or _cache[:2] != key:
        _cache = (*key, collect(system))
    return _cache[2]
