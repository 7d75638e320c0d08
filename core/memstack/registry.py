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
from memstack.errors import (
    ConfigError,
    MemstackError,
    PluginConflictError,
    ProviderError,
    ProviderNotFound,
)
from memstack.hookspecs import REGISTRATION_HOOKS
from memstack.plugins import PluginSystem, plugin_system
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
        raise config_error_from_validation(spec.name, str(spec.kind), exc) from None


def config_error_from_validation(provider: str, kind: str, exc: ValidationError) -> ConfigError:
    lines = []
    first: dict[str, Any] = {}
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"]) or "<config>"
        given = err.get("input")
        if err["type"] == "extra_forbidden":
            msg = "unknown field"
        else:
            msg = err["msg"]
        lines.append(f"  {loc}: {msg} (given: {_safe_repr(loc, given)})")
        if not first:
            first = {"field": loc, "given": "**********" if _is_secret(loc) else redact(given),
                     "allowed": msg}
    text = f"invalid config for {kind} provider {provider!r}:\n" + "\n".join(lines)
    return ConfigError(text, provider=provider, **first)


SECRET_WORDS = ("key", "password", "token", "secret", "dsn", "authorization", "credential",
                "headers")


def _is_secret(name: str) -> bool:
    return any(word in name.lower() for word in SECRET_WORDS)


def redact(value: Any) -> Any:
    """A copy of `value` with secret-looking mapping entries masked (errors must never leak)."""
    if isinstance(value, Mapping):
        return {k: "**********" if isinstance(k, str) and _is_secret(k) else redact(v)
                for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact(v) for v in value]
    return value


def _safe_repr(loc: str, value: Any) -> str:
    if _is_secret(loc):
        return "'**********'"
    text = repr(redact(value))
    return text if len(text) <= 120 else text[:117] + "..."


def collect(system: PluginSystem) -> Registry:
    """Call every plugin's registration hooks and index the specs they return."""
    registry = Registry()
    owners: dict[tuple[str, str], list[ProviderSpec]] = {}
    for kind, hook_name in REGISTRATION_HOOKS.items():
        hook = getattr(system.pm.hook, hook_name)
        for impl in hook.get_hookimpls():
            info = system.info_for(impl.plugin)
            dist = info.distribution if info else "<unknown>"
            version = info.version if info else ""
            try:
                specs = impl.function() or []
                for spec in specs:
                    if not isinstance(spec, ProviderSpec):
                        raise TypeError(
                            f"{hook_name} returned {type(spec).__name__}, not ProviderSpec")
                    if str(spec.kind) != kind:
                        raise TypeError(f"{hook_name} returned a {spec.kind} spec {spec.name!r}")
                    problems = spec.problems()
                    if problems:
                        raise TypeError(f"invalid spec {spec.name!r}: {'; '.join(problems)}")
            except Exception as exc:
                if info is not None:
                    info.fail(f"{hook_name} failed: {type(exc).__name__}: {exc}")
                continue
            for spec in specs:
                full = spec.with_origin(distribution=dist, version=version, plugin=impl.plugin_name)
                owners.setdefault((kind, spec.name), []).append(full)
    for key, specs in owners.items():
        if len(specs) > 1:
            registry.conflicts[key] = [s.distribution for s in specs]
        registry.specs[key] = specs[0]
    return registry


_cache: tuple[int, int, Registry] | None = None


def get_registry() -> Registry:
    """The registry for the current plugin system (rebuilt after register/unregister/reset)."""
    global _cache
    system = plugin_system()
    key = (id(system), system.generation)
    if _cache is None or _cache[:2] != key:
        _cache = (*key, collect(system))
    return _cache[2]
