"""The `openai` embedder against the loopback server: batching, order, dimension, encodings."""

from __future__ import annotations

import pytest
from memstack_openai.testing import FakeOpenAIServer, hash_vector

from memstack.capabilities import QUERY_DOCUMENT_KINDS
from memstack.errors import ProviderBadRequest, ProviderBadResponse
from memstack.protocols import Embedder


def close(got: list[list[float]], want: list[list[float]], tol: float = 1e-6) -> bool:
    return len(got) == len(want) and all(
        len(g) == len(w) and all(abs(a - b) <= tol for a, b in zip(g, w, strict=True))
        for g, w in zip(got, want, strict=True)
    )


TEXTS = ["alice likes green tea", "bob plays chess", "tea with milk", "chess openings", "rain"]


def test_vectors_come_back_in_input_order_across_batches(server, build):
    emb = build("embedder", batch_size=2, dimension=64)
    assert isinstance(emb, Embedder)  # reads `dimension`: declared, so no probe request
    vectors = emb.embed(TEXTS)
    assert close(vectors, [hash_vector(t, 64) for t in TEXTS])
    reqs = server.embedding_requests
    assert [r.body["input"] for r in reqs] == [TEXTS[0:2], TEXTS[2:4], TEXTS[4:5]]
    assert all(r.path == "/v1/embeddings" for r in reqs)
    assert all(r.body["model"] == "embed-test" for r in reqs)
    assert all(r.body["encoding_format"] == "float" for r in reqs)
    assert all(r.headers["authorization"] == f"Bearer {server.api_key}" for r in reqs)


def test_order_follows_index_when_the_server_shuffles(server, build):
    server.shuffle_embeddings = True
    vectors = build("embedder").embed(TEXTS)
    assert close(vectors, [hash_vector(t, 64) for t in TEXTS])


def test_base64_encoding_is_decoded(server, build):
    vectors = build("embedder", encoding_format="base64").embed(TEXTS[:2])
    assert server.embedding_requests[0].body["encoding_format"] == "base64"
    assert close(vectors, [hash_vector(t, 64) for t in TEXTS[:2]])


def test_dimensions_is_sent_and_sets_dimension_without_a_request(server, build):
    emb = build("embedder", model="text-embedding-3-small", dimensions=32)
    assert emb.dimension == 32
    assert server.requests == []
    vec = emb.embed(["hello"])[0]
    assert len(vec) == 32
    assert server.embedding_requests[0].body["dimensions"] == 32


def test_known_model_dimension_needs_no_request(server, build):
    assert build("embedder", model="text-embedding-3-large").dimension == 3072
    assert server.requests == []


def test_unknown_model_dimension_is_probed_once():
    with FakeOpenAIServer(embedding_models={"my-embed": 12}) as srv:
        from memstack.registry import get_registry

        emb = get_registry().build("embedder", "openai", {
            "base_url": srv.base_url, "api_key": srv.api_key, "model": "my-embed"})
        assert srv.requests == []  # lazily: nothing at build time
        assert emb.dimension == 12
        assert emb.dimension == 12
        assert len(srv.embedding_requests) == 1
        assert len(emb.embed(["x", "y"])[1]) == 12
        emb.close()


def test_declared_dimension_is_checked_against_the_answer(server, build):
    emb = build("embedder", dimension=100)
    assert emb.dimension == 100
    with pytest.raises(ProviderBadResponse, match="64 dimensions, expected 100") as info:
        emb.embed(["x"])
    assert "dimension: 64" in info.value.hint


def test_dimensions_on_a_model_that_cannot_shorten_is_a_bad_request(server, build):
    with pytest.raises(ProviderBadRequest, match="does not support specifying dimensions"):
        build("embedder", model="text-embedding-ada-002", dimensions=8).embed(["x"])


def test_empty_inputs(server, build):
    emb = build("embedder")
    assert emb.embed([]) == []
    assert server.requests == []
    vectors = emb.embed(["", "x"])  # the API refuses "", the embedder does not fail the batch
    assert len(vectors) == 2 and len(vectors[0]) == 64


def test_query_and_document_prefixes(server, build):
    emb = build("embedder", query_prefix="search_query: ", document_prefix="search_document: ")
    assert QUERY_DOCUMENT_KINDS in emb.capabilities
    emb.embed(["tea"], kind="query")
    emb.embed(["tea"])
    inputs = [r.body["input"] for r in server.embedding_requests]
    assert inputs == [["search_query: tea"], ["search_document: tea"]]
    assert QUERY_DOCUMENT_KINDS not in build("embedder").capabilities


def test_similar_texts_get_similar_vectors(server, build):
    a, b, c = build("embedder").embed(["green tea", "tea green please", "chess"])
    dot = lambda u, v: sum(x * y for x, y in zip(u, v, strict=True))  # noqa: E731
    assert dot(a, b) > dot(a, c)
