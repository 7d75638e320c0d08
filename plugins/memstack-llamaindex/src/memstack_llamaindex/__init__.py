"""memstack as LlamaIndex long-term memory (llama-index-core 0.14).

Names are imported on first use: memstack imports this package's entry point (`.plugin`) at
every start, and that must not import LlamaIndex.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"
_EXPORTS = {
    "MemstackMemoryBlock": "memstack_llamaindex.block",
    "WriteThroughMemory": "memstack_llamaindex.chat_memory",
    "memstack_chat_memory": "memstack_llamaindex.chat_memory",
}
__all__ = ["MemstackMemoryBlock", "WriteThroughMemory", "memstack_chat_memory"]

if TYPE_CHECKING:
    from memstack_llamaindex.block import MemstackMemoryBlock
    from memstack_llamaindex.chat_memory import WriteThroughMemory, memstack_chat_memory


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        value = getattr(import_module(_EXPORTS[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'memstack_llamaindex' has no attribute {name!r}")
