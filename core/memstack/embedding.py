"""Embedding through any embedder, checked: what reaches a store is the right count of finite
vectors of the declared dimension, or nothing is written and the error names the embedder."""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from typing import TypeVar

from memstack.errors import InvalidInput, ProviderError
from memstack.protocols import Embedder

T = TypeVar("T")


def chunks(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    for i in range(0, len(items), size):
        yield items[i:i + size]


def embed_checked(embedder: Embedder, name: str, texts: Sequence[str], *, kind: str = "document",
                  batch_size: int = 256) -> list[list[float]]:
    """Vectors for `texts`, `batch_size` at a time; refuses whatever the embedder got wrong."""
    out: list[list[float]] = []
    dim = embedder.dimension
    for batch in chunks(texts, batch_size):
        try:
            vectors = embedder.embed(batch, kind=kind)  # type: ignore[arg-type]
        except (InvalidInput, ProviderError):
            raise
        except Exception as exc:
            raise ProviderError(name, f"embedding failed: {type(exc).__name__}: {exc}") from exc
        if len(vectors) != len(batch):
            raise InvalidInput(f"embedder {name!r} returned {len(vectors)} vectors for "
                               f"{len(batch)} texts")
        for v in vectors:
            if len(v) != dim:
                raise InvalidInput(f"embedder {name!r} returned a {len(v)}-dimensional "
                                   f"vector; it declares {dim}")
            if not math.isfinite(sum(v)):
                raise InvalidInput(f"embedder {name!r} returned a vector with NaN or "
                                   "infinity; nothing was stored")
        out.extend(vectors)
    return out
