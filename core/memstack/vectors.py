"""Small vector helpers shared by the engine, the reference store and backends (pure Python)."""

from __future__ import annotations

import math
import operator
from collections.abc import Iterable, Sequence

from memstack.errors import DimensionMismatch, InvalidInput


def check_vector(vector: Sequence[float], dimension: int, provider: str) -> list[float]:
    """Return `vector` as a list of floats, or raise a typed error for bad length or NaN/inf."""
    if len(vector) != dimension:
        raise DimensionMismatch(provider, dimension, len(vector))
    out = list(map(float, vector))
    # One C-level sum is finite unless some element is NaN/inf (or the sum overflows, in which
    # case we look element by element): ~4x cheaper than checking each float on every query.
    if not math.isfinite(sum(out)) and not all(math.isfinite(x) for x in out):
        raise InvalidInput(f"{provider}: vector contains NaN or infinity; refusing to store it.")
    return out


def check_vectors(vectors: Iterable[Sequence[float]], dimension: int, provider: str) -> None:
    for v in vectors:
        check_vector(v, dimension, provider)


def norm(vector: Sequence[float]) -> float:
    """Euclidean length, with C-level map/sum (the same value wherever memstack computes it)."""
    return math.sqrt(sum(map(operator.mul, vector, vector)))


def cosine(a: Sequence[float], b: Sequence[float]) -> float:
    """Cosine similarity; 0.0 when either vector is zero."""
    dot = sum(x * y for x, y in zip(a, b, strict=True))
    na = math.sqrt(sum(x * x for x in a))
    nb = math.sqrt(sum(y * y for y in b))
    if na == 0.0 or nb == 0.0:
        return 0.0
    return dot / (na * nb)
