"""memstack as long-term memory for the OpenAI Agents SDK (openai-agents 0.24)."""

from memstack_openai_agents.automatic import RememberingSession, memstack_recall_filter
from memstack_openai_agents.scope import MemstackContext
from memstack_openai_agents.tools import memstack_tools

__version__ = "0.1.0"
__all__ = ["MemstackContext", "RememberingSession", "memstack_recall_filter", "memstack_tools"]
