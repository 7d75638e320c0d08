"""Config models for the `openai` LLM and embedder.

Pure pydantic: importing this module must stay cheap (no `openai`, no `httpx`), because the
plugin module imports it to register the providers.

Secrets (`api_key`, `extra_headers` values) are `SecretStr`, so `repr()`, `model_dump_json()`
and the JSON schema never show them.
"""

from __future__ import annotations

import os
from typing import Literal

from pydantic import Field, SecretStr, model_validator

from memstack.errors import ConfigError
from memstack.spec import ProviderConfig

StructuredMode = Literal["json_schema", "json_mode", "tools", "none"]

# Servers that ignore the key still need a non-empty one in the SDK; sent only to custom base_urls.
PLACEHOLDER_KEY = "no-key-required"


class OpenAIBaseConfig(ProviderConfig):
    """Connection settings shared by the LLM and the embedder."""

    model: str
    api_type: Literal["openai", "azure"] = Field(
        "openai",
        description="'azure' uses the AzureOpenAI client (deployments path, api-key header).",
    )
    base_url: str | None = Field(
        None,
        description="OpenAI-compatible endpoint, e.g. http://localhost:11434/v1 for Ollama. "
        "Default: the SDK's (OPENAI_BASE_URL or https://api.openai.com/v1).",
    )
    api_key: SecretStr | None = Field(None, description="The API key; prefer api_key_env.")
    api_key_env: str | None = Field(
        None,
        description="Environment variable holding the key. Default: OPENAI_API_KEY "
        "(AZURE_OPENAI_API_KEY when api_type is 'azure').",
    )
    organization: str | None = None
    project: str | None = None
    timeout: float = Field(60.0, gt=0, description="Seconds per HTTP attempt.")
    max_retries: int = Field(
        2, ge=0,
        description="Retries on 408/409/429/5xx/timeouts, with backoff; honours Retry-After.",
    )
    extra_headers: dict[str, SecretStr] = Field(
        default_factory=dict, description="Headers sent with every request (values kept secret)."
    )
    # Azure OpenAI
    api_version: str | None = Field(None, description="Azure: e.g. '2024-10-21'.")
    azure_endpoint: str | None = Field(None, description="Azure: https://<resource>.openai.azure.com")
    azure_deployment: str | None = Field(
        None, description="Azure: deployment name; default: `model` is the deployment name."
    )

    @model_validator(mode="after")
    def _check_azure(self) -> OpenAIBaseConfig:
        if self.api_type == "azure":
            if not self.api_version:
                raise ValueError("api_type 'azure' needs api_version (e.g. '2024-10-21')")
            if not (self.azure_endpoint or self.base_url):
                raise ValueError("api_type 'azure' needs azure_endpoint (or base_url)")
            if self.azure_endpoint and self.base_url:
                raise ValueError("give azure_endpoint or base_url, not both")
        elif self.azure_endpoint or self.azure_deployment or self.api_version:
            raise ValueError(
                "azure_endpoint / azure_deployment / api_version need api_type: 'azure'"
            )
        return self

    @property
    def key_env(self) -> str:
        if self.api_key_env:
            return self.api_key_env
        return "AZURE_OPENAI_API_KEY" if self.api_type == "azure" else "OPENAI_API_KEY"

    def resolve_api_key(self, provider: str) -> str:
        """The key from the config or the environment; a placeholder for custom servers."""
        if self.api_key is not None and self.api_key.get_secret_value():
            return self.api_key.get_secret_value()
        from_env = os.environ.get(self.key_env, "")
        if from_env:
            return from_env
        if self.api_type == "openai" and (self.base_url or os.environ.get("OPENAI_BASE_URL")):
            return PLACEHOLDER_KEY  # local servers (Ollama, vLLM, LM Studio) ignore the key
        raise ConfigError(
            f"{provider}: no API key. Set the environment variable {self.key_env}, or `api_key` "
            "in the config (or `api_key_env` to name another variable).",
            provider=provider, field="api_key", given=None,
            allowed=f"a key, or the variable {self.key_env}",
        )

    def header_values(self) -> dict[str, str]:
        return {k: v.get_secret_value() for k, v in self.extra_headers.items()}


class OpenAILLMConfig(OpenAIBaseConfig):
    """Chat Completions settings."""

    model: str = Field("gpt-4.1-mini", description="Model id (Azure: deployment name).")
    temperature: float | None = Field(
        None, ge=0, le=2, description="Not sent when unset (some reasoning models reject it)."
    )
    max_tokens: int | None = Field(
        None, gt=0, description="Sent as `max_completion_tokens` (OpenAI/Azure) or `max_tokens`."
    )
    structured_output: StructuredMode = Field(
        "json_schema",
        description="How a JSON schema is enforced: response_format json_schema (native), "
        "json_mode (json_object + schema in the prompt), tools (a forced function call whose "
        "parameters are the schema), none (schema in the prompt only).",
    )
    strict: bool | None = Field(
        None,
        description="json_schema/tools `strict` flag. None: strict when the schema allows it "
        "(every object closed, every property required).",
    )
    vision: bool = Field(
        True,
        description="Whether `model` reads images (declares the `vision` capability, so chat "
        "messages with images are described by it). True fits gpt-4o / gpt-4.1 and later; set "
        "false for text-only models (e.g. llama3.1 on Ollama, deepseek-chat), so an image is "
        "a clear memstack error instead of the server's 400.",
    )


# Output size of well-known embedding models (vectors returned when `dimensions` is not sent).
KNOWN_DIMENSIONS: dict[str, int] = {
    "text-embedding-3-small": 1536,
    "text-embedding-3-large": 3072,
    "text-embedding-ada-002": 1536,
    "nomic-embed-text": 768,
    "mxbai-embed-large": 1024,
    "all-minilm": 384,
    "bge-m3": 1024,
}


class OpenAIEmbedderConfig(OpenAIBaseConfig):
    """Embeddings settings. The vector length comes from `dimensions`, `dimension`, the table of
    known models, or (last resort) one probe request the first time `dimension` is read."""

    model: str = "text-embedding-3-small"
    dimensions: int | None = Field(
        None, gt=0, description="Sent to the API to shorten vectors (text-embedding-3 models)."
    )
    dimension: int | None = Field(
        None, gt=0, description="The vector length the model returns; not sent to the API. "
        "Needed for models outside the built-in table, else one probe request is made.",
    )
    batch_size: int = Field(256, gt=0, le=2048, description="Inputs per request (API max 2048).")
    encoding_format: Literal["float", "base64"] = Field(
        "float", description="base64 is smaller on the wire; some compatible servers lack it."
    )
    query_prefix: str = Field("", description="Prepended to query texts (e.g. 'search_query: ').")
    document_prefix: str = Field("", description="Prepended to document texts.")

    @model_validator(mode="after")
    def _check_dimension(self) -> OpenAIEmbedderConfig:
        if self.dimensions and self.dimension and self.dimensions != self.dimension:
            raise ValueError(
                f"dimensions ({self.dimensions}) and dimension ({self.dimension}) disagree; "
                "`dimensions` alone is enough"
            )
        return self

    def known_dimension(self) -> int | None:
        return self.dimensions or self.dimension or KNOWN_DIMENSIONS.get(self.model.split(":")[0])
