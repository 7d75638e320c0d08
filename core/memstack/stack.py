"""Stack assembly: the providers a config names, validated and built, in one place.

`Memory`, `memstack config validate` and the command line all go through here, so a config that
validates is a config that builds, and every provider error names its section.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel

from memstack.capabilities import Kind
from memstack.config import MemoryConfig, ProviderSection
from memstack.errors import ConfigError
from memstack.protocols import LLM, Embedder, HistoryStore, Reranker, VectorStore
from memstack.registry import get_registry


@dataclass
class Stack:
    """The built providers of one `Memory`, and the name each was built from."""

    embedder: Embedder
    store: VectorStore
    history_store: HistoryStore
    llm: LLM | None = None
    reranker: Reranker | None = None
    names: dict[str, str] = field(default_factory=dict)

    def close(self) -> None:
        for part in (self.store, self.history_store):
            close = getattr(part, "close", None)
            if close is not None:
                close()


def _section_config(config: MemoryConfig, kind: str, section: ProviderSection,
                    dimension: int | None = None) -> dict[str, Any]:
    conf = dict(section.config)
    if kind == Kind.VECTOR_STORE:
        conf = {"collection": config.collection,
                **({"dimension": dimension} if dimension is not None else {}), **conf}
    return conf


def validate_providers(config: MemoryConfig) -> dict[str, BaseModel]:
    """Resolve and validate every provider section; returns the validated provider configs."""
    registry = get_registry()
    out: dict[str, BaseModel] = {}
    for kind in Kind:
        section: ProviderSection | None = getattr(config, kind)
        if section is not None:
            out[kind] = registry.validate_config(kind, section.provider,
                                                 _section_config(config, kind, section))
    return out


def build_stack(config: MemoryConfig, **given: Any) -> Stack:
    """Build each provider the config names, unless an instance of that kind is `given`
    (``vector_store=``, ``embedder=``, ...). The embedder comes first: the vector store is
    built with its dimension, and a config that states another dimension is refused."""
    registry = get_registry()
    names: dict[str, str] = {}

    def build(kind: Kind, dimension: int | None = None) -> Any:
        if given.get(kind) is not None:
            names[kind] = type(given[kind]).__name__
            return given[kind]
        section: ProviderSection | None = getattr(config, kind)
        if section is None:
            return None
        names[kind] = section.provider
        return registry.build(kind, section.provider,
                              _section_config(config, kind, section, dimension))

    embedder = build(Kind.EMBEDDER)
    dimension = int(embedder.dimension)
    stated = config.vector_store.config.get("dimension")
    if given.get(Kind.VECTOR_STORE) is None and stated not in (None, dimension):
        raise ConfigError(
            f"vector_store.config.dimension is {stated} but the embedder "
            f"{names[Kind.EMBEDDER]!r} produces {dimension}-dimensional vectors",
            provider=config.vector_store.provider, field="dimension", given=stated,
            allowed=str(dimension))
    store = build(Kind.VECTOR_STORE, dimension)
    return Stack(embedder=embedder, store=store, llm=build(Kind.LLM),
                 reranker=build(Kind.RERANKER), history_store=build(Kind.HISTORY_STORE),
                 names=names)
