"""`cross-encoder` reranker: a sentence-transformers CrossEncoder scores each query-document pair.

Scores are the model's own output after its configured activation (a sigmoid for the usual
one-label rerankers, so 0..1); only their order matters to the engine. It runs on torch: it
needs the [torch] extra (`pip install 'memstack-sentence-transformers[torch]'`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from memstack.errors import InvalidInput, ProviderError
from memstack_sentence_transformers.config import CrossEncoderConfig
from memstack_sentence_transformers.loading import (
    LoadedModel,
    load_error,
    quiet_loading,
    require_sentence_transformers,
    resolve_model,
    shared_model,
)

NAME = "cross-encoder"


def _load(model_id: str, device: str, max_length: int | None, shown: str) -> Any:
    from sentence_transformers import CrossEncoder

    try:
        with quiet_loading():
            model = CrossEncoder(model_id, device=device, max_length=max_length)
    except Exception as exc:
        raise load_error(NAME, shown, exc) from exc
    labels = getattr(model, "num_labels", 1)
    if labels != 1:
        raise ProviderError(
            NAME,
            f"model {shown!r} has {labels} output labels; a reranker needs exactly one score",
            hint="use a cross-encoder trained for relevance ranking (num_labels=1)",
        )
    return model


class CrossEncoderReranker:
    """Reranks documents with a cross-encoder shared by every instance in the process."""

    name = NAME
    capabilities: frozenset[str] = frozenset()

    def __init__(self, config: CrossEncoderConfig) -> None:
        # before anything else: without the [torch] extra, say so (not "model not found")
        require_sentence_transformers(NAME, "provider", NAME, "the cross-encoder reranker")
        self.model_id = resolve_model(config.model, NAME)
        self.device = config.device
        self.batch_size = config.batch_size
        self.max_length = config.max_length
        self._loaded: LoadedModel = shared_model(
            ("cross-encoder", self.model_id, self.device, self.max_length),
            lambda: _load(self.model_id, self.device, self.max_length, config.model),
        )

    @property
    def model(self) -> Any:
        """The shared `CrossEncoder` object."""
        return self._loaded.model

    def rerank(
        self, query: str, documents: Sequence[str], *, top_k: int | None = None
    ) -> list[tuple[int, float]]:
        if not isinstance(query, str):
            raise InvalidInput(f"{NAME}: query must be a str, got {type(query).__name__}")
        if isinstance(documents, str):
            raise InvalidInput(f"{NAME}: documents must be a sequence of texts, not one string")
        if top_k is not None and not (
            isinstance(top_k, int) and not isinstance(top_k, bool) and top_k >= 0
        ):
            raise InvalidInput(f"{NAME}: top_k must be None or an int >= 0, got {top_k!r}")
        if not documents or top_k == 0:
            return []
        if not all(isinstance(d, str) for d in documents):
            bad = next(d for d in documents if not isinstance(d, str))
            raise InvalidInput(f"{NAME}: every document must be a str, got {type(bad).__name__}")
        pairs = [(query, doc) for doc in documents]
        try:
            with self._loaded.lock:
                raw = self._loaded.model.predict(
                    pairs,
                    batch_size=self.batch_size,
                    show_progress_bar=False,
                    convert_to_numpy=True,
                )
        except Exception as exc:
            raise ProviderError(
                NAME, f"scoring {len(pairs)} pairs with {self.model_id!r} failed: "
                f"{type(exc).__name__}: {exc}"
            ) from exc
        scores: list[float] = raw.reshape(-1).tolist()
        order = sorted(range(len(scores)), key=lambda i: (-scores[i], i))
        if top_k is not None:
            order = order[:top_k]
        return [(i, scores[i]) for i in order]
