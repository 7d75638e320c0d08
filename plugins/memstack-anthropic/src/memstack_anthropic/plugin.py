"""Registers the `anthropic` LLM. Imports only the config model: the SDK (and httpx) load when
the provider is built, so `memstack plugins` stays fast."""

from __future__ import annotations

from memstack.capabilities import STRUCTURED_OUTPUT, VISION, Kind
from memstack.hookspecs import hookimpl
from memstack.spec import ProviderSpec
from memstack_anthropic.config import AnthropicLLMConfig


def _llm(config: AnthropicLLMConfig):  # type: ignore[no-untyped-def]
    from memstack_anthropic.llm import AnthropicLLM

    return AnthropicLLM(config)


@hookimpl
def memstack_llms() -> list[ProviderSpec]:
    return [
        ProviderSpec(
            name="anthropic",
            kind=Kind.LLM,
            config_model=AnthropicLLMConfig,
            factory=_llm,
            # With the default `structured_output: tools`; instances declare per config.
            capabilities=frozenset({STRUCTURED_OUTPUT, VISION}),
            summary="Anthropic Claude through the Messages API (system prompt, tool-use JSON).",
            contract_level=4,
        )
    ]
