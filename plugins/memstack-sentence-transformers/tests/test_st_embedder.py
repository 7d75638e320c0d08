"""The `sentence-transformers` embedder on the real bundled all-MiniLM-L6-v2 model."""

from __future__ import annotations

import math
import threading

import pytest

from memstack import capabilities as caps
from memstack.errors import InvalidInput
from memstack.protocols import Embedder
from memstack.registry import get_registry

TEXTS = [
    "Alice prefers green tea in the morning.",
    "Bob is allergic to peanuts.",
    "The meeting moved to Thursday at 3 pm.",
    "short",
    "Ünïcödé text, emoji 🙂 and 漢字 still embed.",
]


def build(config: dict):
    return get_registry().build("embedder", "sentence-transformers", config)


@pytest.fixture(scope="module")
def cache(tmp_path_factory) -> str:
    """ONNX exports of this module's model copies: a temporary cache, not the user's."""
    return str(tmp_path_factory.mktemp("onnx-cache"))


def cosine(a: list[float], b: list[float]) -> float:
    dot = sum(x * y for x, y in zip(a, b, strict=True))
    return dot / (math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b)))


def norm(v: list[float]) -> float:
    return math.sqrt(sum(x * x for x in v))


def assert_close(a: list[list[float]], b: list[list[float]], tol: float = 1e-5) -> None:
    assert len(a) == len(b)
    for va, vb in zip(a, b, strict=True):
        assert len(va) == len(vb)
        assert max(abs(x - y) for x, y in zip(va, vb, strict=True)) < tol


def test_default_model_is_minilm_with_384_dimensions(embedder):
    assert isinstance(embedder, Embedder)
    assert embedder.dimension == 384
    assert embedder.max_seq_length == 256
    assert embedder.model_id.endswith("model")  # the directory inside the installed package
    vectors = embedder.embed(TEXTS)
    assert len(vectors) == len(TEXTS)
    assert all(len(v) == 384 and all(type(x) is float for x in v) for v in vectors)


def test_batch_equals_one_by_one(embedder):
    batched = embedder.embed(TEXTS)
    single = [embedder.embed([t])[0] for t in TEXTS]
    assert_close(batched, single, 1e-5)


def test_small_batch_size_gives_the_same_vectors(embedder):
    small = build({"batch_size": 2})
    assert_close(small.embed(TEXTS), embedder.embed(TEXTS), 1e-5)


def test_deterministic(embedder):
    assert embedder.embed(TEXTS) == embedder.embed(TEXTS)


def test_vectors_are_unit_length(embedder):
    for v in embedder.embed(TEXTS):
        assert norm(v) == pytest.approx(1.0, abs=1e-5)


def test_normalize_flag_on_a_model_without_its_own_normalize_layer(model_copy, cache):
    path = model_copy("minilm-unnormalised", normalize=False)
    raw = build({"model": str(path), "normalize": False, "cache_dir": cache}).embed(TEXTS)
    unit = build({"model": str(path), "normalize": True, "cache_dir": cache}).embed(TEXTS)
    assert any(abs(norm(v) - 1.0) > 0.01 for v in raw)  # so the flag really changes something
    for r, u in zip(raw, unit, strict=True):
        assert norm(u) == pytest.approx(1.0, abs=1e-5)
        assert cosine(r, u) == pytest.approx(1.0, abs=1e-5)  # same direction


def test_paraphrase_scores_higher_than_unrelated(embedder):
    query, paraphrase, unrelated = embedder.embed(
        [
            "How do I bake a loaf of bread at home?",
            "What is the way to make homemade bread?",
            "The central bank raised interest rates again.",
        ]
    )
    assert cosine(query, paraphrase) > cosine(query, unrelated) + 0.2


def test_empty_input_list_returns_empty_list(embedder):
    assert embedder.embed([]) == []


def test_empty_string_embeds(embedder):
    (v,) = embedder.embed([""])
    assert len(v) == 384 and all(math.isfinite(x) for x in v)
    assert norm(v) == pytest.approx(1.0, abs=1e-5)


def test_very_long_input_is_truncated_to_max_seq_length(embedder):
    very_long = "memory systems store facts " * 20_000  # ~100k tokens
    long_enough = "memory systems store facts " * 200  # ~800 tokens: also past 256
    a, b = embedder.embed([very_long, long_enough])
    assert_close([a], [b], 1e-5)  # both cut to the same first tokens


def test_kinds_are_identical_without_prefixes(embedder):
    assert caps.QUERY_DOCUMENT_KINDS not in embedder.capabilities
    assert embedder.embed(TEXTS, kind="query") == embedder.embed(TEXTS, kind="document")


def test_prefixes_are_applied_and_declared(embedder):
    prefixed = build({"query_prefix": "query: ", "document_prefix": "passage: "})
    assert caps.QUERY_DOCUMENT_KINDS in prefixed.capabilities
    text = ["Where does Alice live?"]
    assert_close(prefixed.embed(text, kind="query"), embedder.embed(["query: " + text[0]]))
    assert_close(prefixed.embed(text, kind="document"), embedder.embed(["passage: " + text[0]]))
    assert prefixed.embed(text, kind="query") != prefixed.embed(text, kind="document")


def test_equal_prefixes_do_not_declare_query_document_kinds():
    same = build({"query_prefix": "text: ", "document_prefix": "text: "})
    assert caps.QUERY_DOCUMENT_KINDS not in same.capabilities


def test_model_declared_prompts_are_used_unless_overridden(model_copy, embedder, cache):
    path = model_copy("minilm-prompts", prompts={"query": "query: ", "passage": "passage: "})
    own = build({"model": str(path), "cache_dir": cache})
    assert caps.QUERY_DOCUMENT_KINDS in own.capabilities
    assert_close(own.embed(["hi"], kind="query"), embedder.embed(["query: hi"]))
    assert_close(own.embed(["hi"], kind="document"), embedder.embed(["passage: hi"]))
    plain = build({"model": str(path), "query_prefix": "", "document_prefix": "",
                   "cache_dir": cache})
    assert plain.capabilities == frozenset()
    assert_close(plain.embed(["hi"], kind="query"), embedder.embed(["hi"]))


def test_model_is_loaded_once_and_shared(embedder):
    other = build({"batch_size": 7, "normalize": False, "query_prefix": "q: "})
    alias = build({"model": "sentence-transformers/all-MiniLM-L6-v2"})
    assert other.model is embedder.model
    assert alias.model is embedder.model


def test_concurrent_first_builds_load_one_model(model_copy, cache):
    path = str(model_copy("minilm-concurrent"))  # a model nothing has loaded yet
    results: list = []
    barrier = threading.Barrier(4)

    def worker() -> None:
        barrier.wait()
        results.append(build({"model": path, "cache_dir": cache}).model)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 4
    assert all(m is results[0] for m in results)


def test_concurrent_embeds_match_sequential(embedder):
    texts = [f"fact number {i} about the user" for i in range(40)]
    expected = embedder.embed(texts)
    out: dict[int, list[list[float]]] = {}
    errors: list[BaseException] = []

    def worker(i: int) -> None:
        try:
            out[i] = embedder.embed(texts)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    for i in range(4):
        assert_close(out[i], expected, 1e-6)


@pytest.mark.parametrize(
    ("texts", "kind", "message"),
    [
        (["a"], "passage", "kind must be"),
        ("a single string", "document", "not a single string"),
        (["ok", None], "document", "must be a str"),
        (["ok", b"bytes"], "document", "must be a str"),
    ],
)
def test_bad_input_raises_invalid_input(embedder, texts, kind, message):
    with pytest.raises(InvalidInput, match=message):
        embedder.embed(texts, kind=kind)
