"""Entry point in the `memstack` group, so `memstack plugins` lists the integration.

It registers no provider: the OpenAI Agents SDK integration is imported by applications
(`from memstack_openai_agents import memstack_tools`), and this module imports nothing heavy.
"""
