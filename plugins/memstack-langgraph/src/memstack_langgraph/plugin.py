"""Entry point in the `memstack` group, so `memstack plugins` lists the integration.

It registers no provider: the LangGraph store and tools are imported by applications
(`from memstack_langgraph import MemstackStore`), and this module imports nothing heavy.
"""
