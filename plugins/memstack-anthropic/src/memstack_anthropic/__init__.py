"""memstack-anthropic: the `anthropic` LLM provider (Claude, Messages API) for memstack.

Importing this package does not import the `anthropic` SDK.
`memstack_anthropic.testing.FakeAnthropicServer` speaks the wire format on loopback, for tests.
"""

__version__ = "0.1.0"
