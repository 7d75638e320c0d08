"""Small vector helpers shared by the engine, the reference store and backends (pure Python)."""

from __future__ import annotations

import math
import operator
import sys
from collections.abc import Mapping, Sequence

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


def similarities(query: Sequence[float], vectors: Mapping[str, Sequence[float] | None],
                 norms: Mapping[str, float] | None = None) -> dict[str, float]:
    """Cosine similarity of `query` with each vector (0.0 for a missing or zero vector).

    With numpy already imported by someone (every real embedder and store does; the core never
    imports it), all rows at once: one row's result does not depend on the others, so the same
    vectors always score the same. Otherwise C-level map/sum per vector, with the norms given.
    """
    np = sys.modules.get("numpy")
    if np is not None and vectors:
        rows = [(rid, v) for rid, v in vectors.items() if v is not None and len(v) == len(query)]
        out = dict.fromkeys(vectors, 0.0)
        if rows:
            m = np.array([v for _, v in rows], dtype=np.float64)
            q = np.asarray(query, dtype=np.float64)
            dots = (m * q).sum(axis=1)  # per row: no BLAS blocking across rows
            lengths = np.sqrt((m * m).sum(axis=1)) * math.sqrt(float((q * q).sum()))
            for (rid, _), d, n in zip(rows, dots.tolist(), lengths.tolist(), strict=True):
                out[rid] = d / n if n else 0.0
        return out
    q = list(query)
    qn = norm(q)
    result: dict[str, float] = {}
    for rid, v in vectors.items():
        vn = (norms[rid] if norms is not None and rid in norms
              else norm(v) if v is not None else 0.0)
        result[rid] = sum(map(operator.mul, q, v)) / (qn * vn) if qn and vn and v else 0.0
    return result
