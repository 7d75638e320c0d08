"""`RerankerContract`: ordering, top_k, empty input, valid indices, a relevance floor."""

from __future__ import annotations

import itertools
import math
from typing import Any, ClassVar

import pytest

from memstack.capabilities import Kind
from memstack.protocols import Reranker
from memstack_contract import guard
from memstack_contract.base import Builder, ContractBase
from memstack_contract.versioning import contract

QUERY = "how do I reset my password"
DOCS = [
    "The weather is sunny today.",
    "Reset your password from the account settings page.",
    "Bananas are yellow.",
    "Passwords must be at least twelve characters.",
    "长期记忆 🧠",
    "",
]


def _check_ranking(result: Any, n_docs: int) -> list[tuple[int, float]]:
    assert isinstance(result, list)
    for pair in result:
        assert len(pair) == 2, f"expected (index, score) pairs, got {pair!r}"
        index, score = pair
        assert isinstance(index, int) and not isinstance(index, bool)
        assert 0 <= index < n_docs, f"index {index} is outside 0..{n_docs - 1}"
        assert isinstance(score, float) and math.isfinite(score), f"bad score {score!r}"
    indices = [i for i, _ in result]
    assert len(indices) == len(set(indices)), f"repeated indices {indices}"
    scores = [s for _, s in result]
    assert all(a >= b for a, b in itertools.pairwise(scores)), "not sorted by score, descending"
    return [(i, s) for i, s in result]


@guard.suite_class
class RerankerContract(ContractBase):
    """The reranker contract. Set `provider` and (if needed) a `provider_config` fixture."""

    kind: ClassVar[str] = str(Kind.RERANKER)

    @pytest.fixture
    def reranker(self, make_provider: Builder) -> Any:
        return make_provider()

    @contract(since=1, group="reranker")
    def test_ranks_every_document_by_score(self, reranker: Any) -> None:
        assert isinstance(reranker, Reranker), "does not implement memstack Reranker"
        ranking = _check_ranking(reranker.rerank(QUERY, DOCS), len(DOCS))
        assert sorted(i for i, _ in ranking) == list(range(len(DOCS)))

    @contract(since=1, group="reranker")
    def test_top_k(self, reranker: Any) -> None:
        full = _check_ranking(reranker.rerank(QUERY, DOCS), len(DOCS))
        for k in (1, 2, 4):
            top = _check_ranking(reranker.rerank(QUERY, DOCS, top_k=k), len(DOCS))
            assert len(top) == k
            assert [s for _, s in top] == pytest.approx([s for _, s in full[:k]], abs=1e-6)
        assert len(reranker.rerank(QUERY, DOCS, top_k=len(DOCS) + 5)) == len(DOCS)

    @contract(since=1, group="reranker")
    def test_empty_documents(self, reranker: Any) -> None:
        assert reranker.rerank(QUERY, []) == []
        assert reranker.rerank(QUERY, [], top_k=3) == []

    @contract(since=1, group="reranker")
    def test_deterministic(self, reranker: Any) -> None:
        first = reranker.rerank(QUERY, DOCS)
        again = reranker.rerank(QUERY, DOCS)
        assert [i for i, _ in first] == [i for i, _ in again]
        assert [s for _, s in first] == pytest.approx([s for _, s in again], abs=1e-6)

    @contract(since=1, group="reranker")
    def test_relevant_document_first(self, reranker: Any) -> None:
        """A sanity floor: the one document about resetting passwords beats bananas."""
        ranking = reranker.rerank(QUERY, DOCS[:3])
        assert ranking[0][0] == 1, (
            f"ranked {DOCS[ranking[0][0]]!r} first for {QUERY!r}; scores: {ranking}"
        )
