"""`ProviderSpec`: what a plugin hands the core for each provider it offers."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from pydantic import BaseModel, ConfigDict

from memstack.capabilities import Kind

NAME_RE = re.compile(r"^[a-z0-9][a-z0-9._-]*$")


class ProviderConfig(BaseModel):
    """Base for provider config models: unknown fields are rejected, not ignored."""

    model_config = ConfigDict(extra="forbid")


class VectorStoreConfig(ProviderConfig):
    """Fields every vector store config has; the engine fills `dimension` from the embedder."""

    collection: str = "memstack"
    dimension: int | None = None


@dataclass(frozen=True)
class ProviderSpec:
    """Name, kind, config model, factory, capabilities and summary of one provider.

    `distribution` and `version` are filled in by the plugin manager, not by the plugin.
    `contract_level` is the contract-suite version the provider targets.
    """

    name: str
    kind: Kind | str
    config_model: type[BaseModel]
    factory: Callable[[Any], Any]
    capabilities: frozenset[str] = frozenset()
    summary: str = ""
    contract_level: int = 1
    distribution: str = ""
    version: str = ""
    plugin: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "kind", Kind(self.kind))
        object.__setattr__(self, "capabilities", frozenset(self.capabilities))

    def with_origin(self, *, distribution: str, version: str, plugin: str) -> ProviderSpec:
        return replace(self, distribution=distribution, version=version, plugin=plugin)

    def problems(self) -> list[str]:
        """Why this spec is invalid (empty when it is valid)."""
        out: list[str] = []
        if not isinstance(self.name, str) or not NAME_RE.match(self.name):
            out.append(f"name {self.name!r} must match {NAME_RE.pattern}")
        if not (isinstance(self.config_model, type) and issubclass(self.config_model, BaseModel)):
            out.append("config_model must be a pydantic BaseModel subclass")
        if not callable(self.factory):
            out.append("factory must be callable")
        if not all(isinstance(c, str) for c in self.capabilities):
            out.append("capabilities must be strings")
        return out
