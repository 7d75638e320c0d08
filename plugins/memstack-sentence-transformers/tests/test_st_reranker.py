"""The `cross-encoder` reranker on a tiny random cross-encoder built offline (see conftest)."""

from __future__ import annotations

import pytest

from memstack.errors import InvalidInput, ProviderError
from memstack.protocols import Reranker
from memstack.registry import get_registry

QUERY = "what does Alice drink in the morning?"
DOCS = [
    "Alice drinks green tea every morning.",
    "Bob plays football on Sundays.",
    "",
    "The weather in Paris is mild in spring.",
    "Alice dislikes coffee.",
    "A very long note about tea. " * 300,  # past the 512-token limit
]


def build(path, **extra):
    return get_registry().build("reranker", "cross-encoder", {"model": str(path), **extra})


@pytest.fixture(scope="module")
def reranker(tiny_cross_encoder):
    return build(tiny_cross_encoder)


def test_rerank_is_a_descending_permutation(reranker):
    assert isinstance(reranker, Reranker)
    ranked = reranker.rerank(QUERY, DOCS)
    assert sorted(i for i, _ in ranked) == list(range(len(DOCS)))
    scores = [s for _, s in ranked]
    assert all(type(s) is float for s in scores)
    assert scores == sorted(scores, reverse=True)
    assert len(set(scores)) > 1  # the tiny model really discriminates, so order is meaningful


def test_scores_are_the_cross_encoders_own(reranker):
    direct = reranker.model.predict([(QUERY, d) for d in DOCS], show_progress_bar=False)
    ranked = reranker.rerank(QUERY, DOCS)
    for index, score in ranked:
        assert score == pytest.approx(float(direct[index]), abs=1e-6)
    best = max(range(len(DOCS)), key=lambda i: float(direct[i]))
    assert ranked[0][0] == best


def test_top_k_is_a_prefix_of_the_full_ranking(reranker):
    full = reranker.rerank(QUERY, DOCS)
    assert reranker.rerank(QUERY, DOCS, top_k=2) == full[:2]
    assert reranker.rerank(QUERY, DOCS, top_k=100) == full
    assert reranker.rerank(QUERY, DOCS, top_k=0) == []


def test_empty_documents_give_empty_result(reranker):
    assert reranker.rerank(QUERY, []) == []


def test_equal_documents_keep_input_order(reranker):
    ranked = reranker.rerank(QUERY, ["same text"] * 4)
    assert [i for i, _ in ranked] == [0, 1, 2, 3]
    assert len({s for _, s in ranked}) == 1


def test_batch_size_does_not_change_scores(reranker, tiny_cross_encoder):
    small = build(tiny_cross_encoder, batch_size=2)
    assert small.model is reranker.model  # batch size is per call, not per model
    pairs = zip(small.rerank(QUERY, DOCS), reranker.rerank(QUERY, DOCS), strict=True)
    for (i, a), (j, b) in pairs:
        assert i == j
        assert a == pytest.approx(b, abs=1e-5)


def test_max_length_truncates_pairs(tiny_cross_encoder, reranker):
    short = build(tiny_cross_encoder, max_length=12)
    assert short.model is not reranker.model  # a different max_length is a different model
    base = "red green blue cat dog fish one two three four five six"
    docs = [base + " apples and pears", base + " trains to london"]  # differ after 12 words
    same_prefix = short.rerank("q", docs)
    assert same_prefix[0][1] == pytest.approx(same_prefix[1][1], abs=1e-6)  # cut before they differ
    full = dict(reranker.rerank("q", docs))
    assert full[0] != pytest.approx(full[1], abs=1e-6)


def test_model_with_several_labels_is_refused(make_cross_encoder):
    with pytest.raises(ProviderError, match="exactly one score") as info:
        build(make_cross_encoder(num_labels=2))
    assert info.value.provider == "cross-encoder"


@pytest.mark.parametrize(
    ("query", "documents", "top_k", "message"),
    [
        (QUERY, ["a"], -1, "top_k"),
        (QUERY, ["a"], True, "top_k"),
        (QUERY, ["a"], 1.5, "top_k"),
        (QUERY, "one string", None, "not one string"),
        (None, ["a"], None, "query must be a str"),
        (QUERY, ["a", 3], None, "must be a str"),
    ],
)
def test_bad_input_raises_invalid_input(reranker, query, documents, top_k, message):
    with pytest.raises(InvalidInput, match=message):
        reranker.rerank(query, documents, top_k=top_k)
