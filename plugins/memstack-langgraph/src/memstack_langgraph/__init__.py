"""memstack for LangGraph: a `BaseStore` backed by memstack, and memory tools for agents.

    from memstack_langgraph import MemstackStore, create_manage_memory_tool
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_EXPORTS = {
    "MemstackStore": "memstack_langgraph.store",
    "create_manage_memory_tool": "memstack_langgraph.tools",
    "create_search_memory_tool": "memstack_langgraph.tools",
    "create_memory_tools": "memstack_langgraph.tools",
}

if TYPE_CHECKING:
    from memstack_langgraph.store import MemstackStore
    from memstack_langgraph.tools import (
        create_manage_memory_tool,
        create_memory_tools,
        create_search_memory_tool,
    )

__all__ = [
    "MemstackStore",
    "__version__",
    "create_manage_memory_tool",
    "create_memory_tools",
    "create_search_memory_tool",
]


def __getattr__(name: str) -> Any:
    """Import LangGraph only when a name is used (the plugin entry point stays light)."""
    if name in _EXPORTS:
        from importlib import import_module

        return getattr(import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'memstack_langgraph' has no attribute {name!r}")
