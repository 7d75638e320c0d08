"""`EmbedderContract`: shapes, batching, determinism, odd inputs and query/document kinds."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from typing import Any, ClassVar

import pytest

from memstack import capabilities as caps
from memstack.capabilities import Kind
from memstack.protocols import Embedder
from memstack_contract import guard
from memstack_contract.base import Builder, ContractBase, build_source, capabilities_of
from memstack_contract.data import cosine
from memstack_contract.reasons import NOT_REGISTERED
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
# Duplicates and very different lengths in one batch: a batch sorted by length and not put back,
# or de-duplicated, gives vectors to the wrong texts.
MIXED_BATCH = [
    "tea",
    ("Alice keeps a long diary about her garden, her tea and her travels. " * 30).strip(),
    "tea",
    "Bob is allergic to peanuts.",
    "",
    "tea",
    ("Meeting notes: " + "the roadmap moved again; " * 12).strip(),
    "Bob is allergic to peanuts.",
    "ok",
]


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

    @contract(since=3, group="embedder")
    def test_batch_with_duplicates_and_varied_lengths(self, embedder: Any) -> None:
        batch = embedder.embed(MIXED_BATCH)
        _assert_vectors(batch, len(MIXED_BATCH), embedder.dimension, "embed(MIXED_BATCH)")
        singles = {t: embedder.embed([t])[0] for t in dict.fromkeys(MIXED_BATCH)}
        for n, (text, vec) in enumerate(zip(MIXED_BATCH, batch, strict=True)):
            assert _close(vec, singles[text]), (
                f"item {n} ({text[:30]!r}): the batch vector is not this text's own vector "
                "(sorted by length, de-duplicated, or padded differently?)")

    @contract(since=3, group="embedder")
    def test_deterministic_across_processes(
        self, embedder: Any, provider_spec: Any, provider_factory: Any,
        instance_config: dict[str, Any],
    ) -> None:
        """Another interpreter (another hash seed) embeds the same texts alike: vectors are
        stored by one process and searched by the next."""
        source = build_source(self.kind, provider_spec, provider_factory)
        if source is None:
            pytest.skip(NOT_REGISTERED)
        script = "\n".join([
            "import json, sys", source,
            "e = build(json.loads(sys.argv[1]))",
            "print(json.dumps(e.embed(json.loads(sys.argv[2]))))",
            "getattr(e, 'close', lambda: None)()",
        ])
        seed = "4242" if os.environ.get("PYTHONHASHSEED") != "4242" else "2424"
        done = subprocess.run(
            [sys.executable, "-c", script, json.dumps(instance_config), json.dumps(TEXTS)],
            capture_output=True, text=True, timeout=300,
            env={**os.environ, "PYTHONHASHSEED": seed},
        )
        assert done.returncode == 0, f"embedding in another process failed:\n{done.stderr[-3000:]}"
        theirs = json.loads(done.stdout.strip().splitlines()[-1])
        mine = embedder.embed(TEXTS)
        for text, a, b in zip(TEXTS, mine, theirs, strict=True):
            assert _close(a, b), f"{text!r}: another process embeds it differently (salted hash?)"
