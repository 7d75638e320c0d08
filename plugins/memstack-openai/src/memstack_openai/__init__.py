"""memstack-openai: the `openai` LLM and embedder providers for memstack.

Works with OpenAI, Azure OpenAI and OpenAI-compatible servers (Ollama, vLLM, LM Studio, Groq,
Together, DeepSeek, OpenRouter). Importing this package does not import the `openai` SDK.
`memstack_openai.testing.FakeOpenAIServer` speaks the wire format on loopback, for tests.
"""

__version__ = "0.1.0"
