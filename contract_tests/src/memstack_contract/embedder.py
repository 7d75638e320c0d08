"""`EmbedderContract`: shapes, batching, determinism, odd inputs and query/document kinds."""

from __future__ import annotations

import math
from typing import Any, ClassVar

import pytest

from memstack import capabilities as caps
from memstack.capabilities import Kind
from memstack.protocols import Embedder
from memstack_contract import guard
from memstack_contract.base import Builder, ContractBase, capabilities_of
from memstack_contract.data import cosine
from memstack_contract.versioning import contract

TEXTS = [
    "Alice prefers green tea in the morning.",
    "Bob is allergic to peanuts.",
    "The meeting moved to Thursday at 3 pm.",
    "長期記憶のテスト 🧠",
    "short",
]
ODD_TEXTS = {
    "empty": "",
    "whitespace": "  \n\t ",
    "unicode": "Ünïcödé 記憶 🧠💾 ذاكرة e\u0301",
    "long": ("A long document about memory for agents. " * 600)[:20_000],
}


def _assert_vectors(vectors: Any, n: int, dimension: int, what: str) -> None:
    assert isinstance(vectors, list) and len(vectors) == n, f"{what}: expected {n} vectors"
    for v in vectors:
        assert len(v) == dimension, f"{what}: vector of {len(v)} floats, dimension is {dimension}"
        assert all(isinstance(x, float) for x in v), f"{what}: values must be Python floats"
        assert all(math.isfinite(x) for x in v), f"{what}: NaN or infinity in a vector"


def _close(a: list[float], b: list[float], tol: float = 1e-5) -> bool:
    return all(abs(x - y) <= tol for x, y in zip(a, b, strict=True))


@guard.suite_class
class EmbedderContract(ContractBase):
    """The embedder contract. Set `provider` and (if needed) a `provider_config` fixture."""

    kind: ClassVar[str] = str(Kind.EMBEDDER)

    @pytest.fixture
    def embedder(self, make_provider: Builder) -> Any:
        return make_provider()

    @contract(since=1, group="embedder")
    def test_dimension_matches_vectors(self, embedder: Any) -> None:
        assert isinstance(embedder, Embedder), "does not implement memstack Embedder"
        assert isinstance(embedder.dimension, int) and embedder.dimension > 0
        _assert_vectors(embedder.embed(TEXTS), len(TEXTS), embedder.dimension, "embed(TEXTS)")
        assert embedder.embed([]) == []

    @contract(since=1, group="embedder")
    def test_batch_equals_one_by_one(self, embedder: Any) -> None:
        batch = embedder.embed(TEXTS)
        for text, vec in zip(TEXTS, batch, strict=True):
            [single] = embedder.embed([text])
            assert _close(vec, single), f"{text!r}: batched and single embeddings differ"

    @contract(since=1, group="embedder")
    def test_deterministic(self, embedder: Any, make_provider: Builder) -> None:
        first = embedder.embed(TEXTS)
        assert all(_close(a, b) for a, b in zip(first, embedder.embed(TEXTS), strict=True))
        other = make_provider()
        assert all(_close(a, b) for a, b in zip(first, other.embed(TEXTS), strict=True)), (
            "a second instance with the same config embeds differently"
        )

    @contract(since=1, group="embedder")
    @pytest.mark.parametrize("case", list(ODD_TEXTS))
    def test_odd_inputs(self, embedder: Any, case: str) -> None:
        _assert_vectors(embedder.embed([ODD_TEXTS[case]]), 1, embedder.dimension, case)

    @contract(since=1, group="embedder")
    def test_query_and_document_kinds(self, embedder: Any) -> None:
        docs = embedder.embed(TEXTS, kind="document")
        queries = embedder.embed(TEXTS, kind="query")
        _assert_vectors(queries, len(TEXTS), embedder.dimension, "kind='query'")
        assert all(_close(a, b) for a, b in zip(docs, embedder.embed(TEXTS), strict=True)), (
            "kind='document' must be the default"
        )
        same = all(_close(a, b) for a, b in zip(docs, queries, strict=True))
        if caps.QUERY_DOCUMENT_KINDS in capabilities_of(embedder, None):
            assert not same, "declares 'query_document_kinds' but both kinds embed alike"
        else:
            assert same, "query and document vectors differ without 'query_document_kinds'"

    @contract(since=1, group="embedder")
    def test_related_texts_are_closer(self, embedder: Any) -> None:
        """A sanity floor, not a quality benchmark: shared words beat no shared words."""
        anchor, near, far = embedder.embed([
            "the cat sat on the mat",
            "a cat sat on a mat",
            "quarterly tax filing deadline",
        ])
        assert cosine(anchor, near) > cosine(anchor, far), (
            f"'a cat sat on a mat' scores {cosine(anchor, near):.3f}, an unrelated text "
            f"{cosine(anchor, far):.3f}, against 'the cat sat on the mat'"
        )
