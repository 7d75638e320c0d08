"""`token-overlap`: a deterministic reranker — share of the query's words found in the document."""

from __future__ import annotations

import re
from collections.abc import Sequence

from memstack.spec import ProviderConfig

_TOKEN = re.compile(r"\w+", re.UNICODE)


class OverlapRerankerConfig(ProviderConfig):
    """No settings."""


class OverlapReranker:
    capabilities: frozenset[str] = frozenset()

    def __init__(self, config: OverlapRerankerConfig | None = None) -> None:
        pass

    def rerank(
        self, query: str, documents: Sequence[str], *, top_k: int | None = None
    ) -> list[tuple[int, float]]:
        q = set(_TOKEN.findall(query.lower()))
        scored = []
        for i, doc in enumerate(documents):
            d = set(_TOKEN.findall(doc.lower()))
            scored.append((i, len(q & d) / len(q) if q else 0.0))
        scored.sort(key=lambda p: (-p[1], p[0]))
        return scored if top_k is None else scored[:top_k]
