"""Entry point in the `memstack` group, so `memstack plugins` lists the integration.

It registers no provider: the LlamaIndex integration is imported by applications
(`from memstack_llamaindex import memstack_chat_memory`), and this module imports nothing heavy.
"""
