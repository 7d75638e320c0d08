"""memstack as LlamaIndex long-term memory (llama-index-core 0.14)."""

from memstack_llamaindex.block import MemstackMemoryBlock
from memstack_llamaindex.chat_memory import WriteThroughMemory, memstack_chat_memory

__version__ = "0.1.0"
__all__ = ["MemstackMemoryBlock", "WriteThroughMemory", "memstack_chat_memory"]
