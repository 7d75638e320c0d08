"""Config of the `qdrant` store: one of three modes, chosen by which field is set.

- server / cluster / Qdrant Cloud: `url` (+ `api_key`, `prefer_grpc`, `grpc_port`, `timeout`);
- local mode on disk: `path` (embedded, pure Python, one process at a time);
- local mode in memory: `location: ":memory:"` (tests, throwaway sessions).

Only pydantic here, so validating a config never imports qdrant_client.
"""

from __future__ import annotations

from typing import Literal

from pydantic import ConfigDict, Field, SecretStr, ValidationInfo, field_validator

from memstack.spec import VectorStoreConfig

DEFAULT_INDEXED_FIELDS = ("user_id", "agent_id", "run_id")


def _one_mode_schema(schema: dict) -> None:
    """State "exactly one of url / path / location" in the JSON schema too (for editors, CI)."""
    schema["oneOf"] = [
        {"required": [name], "properties": {name: {"type": "string"}}}
        for name in ("url", "path", "location")
    ]


class QdrantStoreConfig(VectorStoreConfig):
    """Where the Qdrant collection lives and how to reach it. Exactly one of url/path/location."""

    model_config = ConfigDict(json_schema_extra=_one_mode_schema)

    url: str | None = Field(
        None, description="Server or cluster URL, e.g. http://localhost:6333 or a Qdrant Cloud URL"
    )
    api_key: SecretStr | None = Field(None, description="API key (Qdrant Cloud, secured servers)")
    port: int | None = Field(
        6333, description="REST port used when `url` names none; null behind a proxy on 80/443"
    )
    prefer_grpc: bool = Field(False, description="Talk gRPC instead of REST (server mode)")
    grpc_port: int = Field(6334, ge=1, le=65535, description="gRPC port (server mode)")
    timeout: int | None = Field(None, gt=0, description="Request timeout in seconds (server mode)")
    path: str | None = Field(None, description="Directory for embedded local mode on disk")
    fast_local_writes: bool = Field(
        True,
        description="Local mode on disk: keep qdrant-client's SQLite file in WAL mode with "
        "synchronous=NORMAL, so a write costs no fsync per point. An OS crash or power cut may "
        "lose the last writes, never corrupt the file. false: the library's default (an fsync "
        "per point, ~10x slower writes).",
    )
    location: Literal[":memory:"] | None = Field(
        None,
        description='":memory:" for embedded local mode in memory (nothing kept)',
        validate_default=True,  # the one-mode check below runs even when it is left out
    )
    batch_size: int = Field(
        512, ge=1, le=10_000, description="Points per upsert/delete call; larger writes are split"
    )
    exact: bool = Field(
        False,
        description="Server mode: brute-force search (exact, slower) instead of HNSW. "
        "Local mode is always exact.",
    )
    keyword_search: bool | None = Field(
        None,
        description="Declare `keyword_search` and `hybrid_query`: each point carries the "
        "engine's keyword tokens (a sparse vector) and hybrid search ranks them with the "
        "engine's BM25 inside the store, instead of an index in the engine's memory. Existing "
        "collections get the sparse vector and their tokens when a store first opens them. "
        "Unset: on with a server (every process and instance sees the same keyword side), off "
        "in local mode (one process anyway, and ranking there in Python made LoCoMo's searches "
        "2.4x slower for the same results).",
    )
    keyword_tokenizer: Literal["english", "simple"] = Field(
        "english",
        description="Tokens stored for keyword search; keep it equal to search.tokenizer. "
        "Changing it re-tokenises the collection when the store next opens.",
    )
    indexed_fields: list[str] = Field(
        default_factory=lambda: list(DEFAULT_INDEXED_FIELDS),
        description="Payload fields given a keyword index when the collection is created "
        "(server mode; local mode has no indexes)",
    )

    # Checks are field validators, not a model validator, on purpose: a model-level error carries
    # the whole input dict (api_key included) into the error message; a field error carries only
    # that field's value. Fields validate in definition order, so each check sees the ones above.
    @field_validator("url")
    @classmethod
    def _check_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError("url must start with http:// or https:// (e.g. http://localhost:6333)")
        return value

    @field_validator("api_key", "prefer_grpc")
    @classmethod
    def _server_only(cls, value: object, info: ValidationInfo) -> object:
        if value and "url" in info.data and info.data["url"] is None:
            raise ValueError(
                f"{info.field_name} only applies to server mode ('url'); local mode does not use it"
            )
        return value

    @field_validator("location")
    @classmethod
    def _one_mode(cls, value: str | None, info: ValidationInfo) -> str | None:
        if "url" not in info.data or "path" not in info.data:
            return value  # url or path is invalid itself; that error is enough
        chosen = [n for n in ("url", "path") if info.data[n] is not None]
        if value is not None:
            chosen.append("location")
        if len(chosen) != 1:
            given = ", ".join(chosen) if chosen else "none of them"
            raise ValueError(
                "set exactly one of 'url' (server or cluster), 'path' (local mode on disk) or "
                f"'location: \":memory:\"' (local mode in memory); got {given}"
            )
        return value

    @property
    def mode(self) -> Literal["server", "path", "memory"]:
        if self.url is not None:
            return "server"
        return "path" if self.path is not None else "memory"

    @property
    def keyword_side(self) -> bool:
        """Whether keyword search runs in the store (`keyword_search`, else server mode only)."""
        return self.mode == "server" if self.keyword_search is None else self.keyword_search
