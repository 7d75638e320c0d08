"""memstack as long-term memory for the OpenAI Agents SDK (openai-agents 0.24).

Names are imported on first use: memstack imports this package's entry point (`.plugin`) at
every start, and that must not import the SDK.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"
_EXPORTS = {
    "MemstackContext": "memstack_openai_agents.scope",
    "RememberingSession": "memstack_openai_agents.automatic",
    "memstack_recall_filter": "memstack_openai_agents.automatic",
    "memstack_tools": "memstack_openai_agents.tools",
}
__all__ = ["MemstackContext", "RememberingSession", "memstack_recall_filter", "memstack_tools"]

if TYPE_CHECKING:
    from memstack_openai_agents.automatic import RememberingSession, memstack_recall_filter
    from memstack_openai_agents.scope import MemstackContext
    from memstack_openai_agents.tools import memstack_tools


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        value = getattr(import_module(_EXPORTS[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'memstack_openai_agents' has no attribute {name!r}")
