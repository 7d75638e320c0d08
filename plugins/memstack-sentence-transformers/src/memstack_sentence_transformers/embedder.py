"""`sentence-transformers` embedder: one `encode` call per `embed`, the library does the batching.

The hot path adds nothing per text beyond a type check: prefixes go through encode's `prompt`
argument, and the result array is converted with a single `.tolist()`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from memstack import capabilities as caps
from memstack.errors import InvalidInput, ProviderError
from memstack_sentence_transformers.config import SentenceTransformerConfig
from memstack_sentence_transformers.loading import (
    LoadedModel,
    display_name,
    load_error,
    quiet_loading,
    resolve_model,
    shared_model,
)

NAME = "sentence-transformers"
_DOCUMENT_PROMPT_NAMES = ("document", "passage", "corpus")


def _load(model_id: str, device: str, shown: str) -> Any:
    from sentence_transformers import SentenceTransformer

    try:
        with quiet_loading():
            return SentenceTransformer(model_id, device=device)
    except Exception as exc:
        raise load_error(NAME, shown, exc) from exc


def _dimension(model: Any) -> int:
    # renamed in sentence-transformers 5; older versions only have the long name
    getter = getattr(model, "get_embedding_dimension", None)
    if getter is None:
        getter = model.get_sentence_embedding_dimension
    dim = getter()
    if dim is None:  # some models only know it after a forward pass
        dim = len(model.encode([""], show_progress_bar=False, convert_to_numpy=True)[0])
    return int(dim)


def _model_prompt(model: Any, names: Sequence[str]) -> str:
    prompts = getattr(model, "prompts", None) or {}
    for name in names:
        if prompts.get(name):
            return str(prompts[name])
    return ""


class SentenceTransformerEmbedder:
    """Embeds texts with a sentence-transformers model, shared by every instance in the process."""

    name = NAME

    def __init__(self, config: SentenceTransformerConfig | None = None) -> None:
        config = config or SentenceTransformerConfig()
        self.model_id = resolve_model(config.model, NAME)
        shown = display_name(config.model)
        self.device = config.device
        self.batch_size = config.batch_size
        self.normalize = config.normalize
        self._loaded: LoadedModel = shared_model(
            ("sentence-transformer", self.model_id, self.device),
            lambda: _load(self.model_id, self.device, shown),
        )
        model = self._loaded.model
        self.dimension: int = _dimension(model)
        self.max_seq_length: int | None = getattr(model, "max_seq_length", None)
        # None → the model's own prompt for that kind (e5/bge-style models ship them); "" → none.
        self._prefix = {
            "query": config.query_prefix
            if config.query_prefix is not None
            else _model_prompt(model, ("query",)),
            "document": config.document_prefix
            if config.document_prefix is not None
            else _model_prompt(model, _DOCUMENT_PROMPT_NAMES),
        }
        differs = self._prefix["query"] != self._prefix["document"]
        self.capabilities: frozenset[str] = (
            frozenset({caps.QUERY_DOCUMENT_KINDS}) if differs else frozenset()
        )

    @property
    def model(self) -> Any:
        """The shared `SentenceTransformer` object (same object for the same model and device)."""
        return self._loaded.model

    def embed(self, texts: Sequence[str], *, kind: str = "document") -> list[list[float]]:
        prompt = self._prefix.get(kind)
        if prompt is None:
            raise InvalidInput(f"{NAME}: kind must be 'document' or 'query', got {kind!r}")
        if isinstance(texts, str):
            raise InvalidInput(f"{NAME}: embed() takes a sequence of texts, not a single string")
        if not texts:
            return []
        if not all(isinstance(t, str) for t in texts):
            bad = next(t for t in texts if not isinstance(t, str))
            raise InvalidInput(f"{NAME}: every text must be a str, got {type(bad).__name__}")
        try:
            with self._loaded.lock:
                array = self._loaded.model.encode(
                    texts if type(texts) is list else list(texts),  # a tuple could read as a pair
                    prompt=prompt,
                    batch_size=self.batch_size,
                    show_progress_bar=False,
                    convert_to_numpy=True,
                    normalize_embeddings=self.normalize,
                )
        except Exception as exc:
            raise ProviderError(
                NAME, f"encoding {len(texts)} texts with {self.model_id!r} failed: "
                f"{type(exc).__name__}: {exc}"
            ) from exc
        return array.tolist()
