"""Config model for the `anthropic` LLM.

Pure pydantic: the plugin module imports it to register the provider, so it must not import the
SDK. Secrets (`api_key`, `extra_headers` values) are `SecretStr`: `repr()`,
`model_dump_json()` and the JSON schema never show them.
"""

from __future__ import annotations

import os
from typing import Literal

from pydantic import Field, SecretStr

from memstack.errors import ConfigError
from memstack.spec import ProviderConfig


class AnthropicLLMConfig(ProviderConfig):
    """Messages API settings."""

    model: str = Field("claude-sonnet-4-5", description="Model id, e.g. claude-haiku-4-5.")
    max_tokens: int = Field(4096, gt=0, description="Upper bound on the answer's tokens.")
    api_key: SecretStr | None = Field(None, description="The API key; prefer api_key_env.")
    api_key_env: str = Field("ANTHROPIC_API_KEY", description="Variable holding the key.")
    base_url: str | None = Field(
        None, description="Default: the SDK's (ANTHROPIC_BASE_URL or https://api.anthropic.com)."
    )
    timeout: float = Field(60.0, gt=0, description="Seconds per HTTP attempt.")
    max_retries: int = Field(
        2, ge=0,
        description="Retries on 408/409/429/5xx/529/timeouts, with backoff; honours Retry-After.",
    )
    extra_headers: dict[str, SecretStr] = Field(
        default_factory=dict, description="Headers sent with every request (values kept secret)."
    )
    temperature: float | None = Field(
        None, ge=0, le=1, description="Not sent when unset (newer models fix it)."
    )
    structured_output: Literal["tools", "json_schema", "none"] = Field(
        "tools",
        description="How a JSON schema is enforced: tools (a forced tool whose input_schema is "
        "the schema; the tool input is the answer), json_schema (output_config.format, on "
        "models with native structured outputs), none (schema in the system prompt only).",
    )
    vision: bool = Field(
        True,
        description="Whether `model` reads images (declares the `vision` capability, so chat "
        "messages with images are described by it). Every current Claude model does; set "
        "false for a gateway or model without image input.",
    )

    def resolve_api_key(self, provider: str) -> str:
        if self.api_key is not None and self.api_key.get_secret_value():
            return self.api_key.get_secret_value()
        from_env = os.environ.get(self.api_key_env, "")
        if from_env:
            return from_env
        raise ConfigError(
            f"{provider}: no API key. Set the environment variable {self.api_key_env}, or "
            "`api_key` in the config (or `api_key_env` to name another variable).",
            provider=provider, field="api_key", given=None,
            allowed=f"a key, or the variable {self.api_key_env}",
        )

    def header_values(self) -> dict[str, str]:
        return {k: v.get_secret_value() for k, v in self.extra_headers.items()}
