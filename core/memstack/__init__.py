"""memstack — long-term memory for AI assistants and agents.

`import memstack` is cheap: names below are imported on first use, and no backend library is
ever imported by the core. Plugins provide backends through the ``memstack`` entry-point group.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from memstack.version import __version__

_EXPORTS = {
    "Memory": "memstack.memory",
    "AsyncMemory": "memstack.async_memory",
    "MemoryConfig": "memstack.config",
    "ProviderSpec": "memstack.spec",
    "ProviderConfig": "memstack.spec",
    "VectorStoreConfig": "memstack.spec",
    "Kind": "memstack.capabilities",
    "hookimpl": "memstack.hookspecs",
    "hookspec": "memstack.hookspecs",
    "get_registry": "memstack.registry",
    "register": "memstack.plugins",
    "unregister": "memstack.plugins",
    "parse_filter": "memstack.filters",
    "Record": "memstack.models",
    "Hit": "memstack.models",
    "HybridHits": "memstack.models",
    "ChatMessage": "memstack.models",
    "MemoryItem": "memstack.models",
    "MemoryEvent": "memstack.models",
    "AddResult": "memstack.models",
    "SearchResult": "memstack.models",
    "HistoryEntry": "memstack.models",
    "Scope": "memstack.models",
    "MemstackError": "memstack.errors",
    "ConfigError": "memstack.errors",
    "ProviderNotFound": "memstack.errors",
    "PluginError": "memstack.errors",
    "PluginConflictError": "memstack.errors",
    "UnsupportedFeature": "memstack.errors",
    "FilterError": "memstack.errors",
    "InvalidInput": "memstack.errors",
    "ScopeError": "memstack.errors",
    "DimensionMismatch": "memstack.errors",
    "MemoryNotFound": "memstack.errors",
    "LLMOutputError": "memstack.errors",
    "ProviderError": "memstack.errors",
    "StoreError": "memstack.errors",
}

__all__ = ["__version__", *sorted(_EXPORTS)]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'memstack' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value


if TYPE_CHECKING:
    from memstack.async_memory import AsyncMemory
    from memstack.capabilities import Kind
    from memstack.config import MemoryConfig
    from memstack.errors import (
        ConfigError,
        DimensionMismatch,
        FilterError,
        InvalidInput,
        LLMOutputError,
        MemoryNotFound,
        MemstackError,
        PluginConflictError,
        PluginError,
        ProviderError,
        ProviderNotFound,
        ScopeError,
        StoreError,
        UnsupportedFeature,
    )
    from memstack.filters import parse_filter
    from memstack.hookspecs import hookimpl, hookspec
    from memstack.memory import Memory
    from memstack.models import (
        AddResult,
        ChatMessage,
        HistoryEntry,
        Hit,
        HybridHits,
        MemoryEvent,
        MemoryItem,
        Record,
        Scope,
        SearchResult,
    )
    from memstack.plugins import register, unregister
    from memstack.registry import get_registry
    from memstack.spec import ProviderConfig, ProviderSpec, VectorStoreConfig
