"""The ONNX Runtime backend: same vectors as torch, exported once, loaded without torch."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from memstack_sentence_transformers import onnx_export

from memstack.errors import ProviderError
from memstack.registry import get_registry

TEXTS = [
    "Alice prefers green tea in the morning.",
    "  leading and trailing spaces  ",
    "",
    "Ünïcödé text, emoji 🙂 and 漢字 still embed.",
    "memory systems store facts " * 300,  # past the 256-token limit: truncated the same way
    "short",
]


def build(config: dict):
    return get_registry().build("embedder", "sentence-transformers", config)


def max_diff(a: list[list[float]], b: list[list[float]]) -> float:
    return max(abs(x - y) for va, vb in zip(a, b, strict=True)
               for x, y in zip(va, vb, strict=True))


def cosine(a: list[float], b: list[float]) -> float:
    dot = sum(x * y for x, y in zip(a, b, strict=True))
    return dot / (sum(x * x for x in a) ** 0.5 * sum(y * y for y in b) ** 0.5)


@pytest.fixture(scope="module")
def torch_embedder():
    return build({"backend": "torch"})


def test_default_runs_the_bundled_model_on_onnx(embedder):
    assert embedder.backend == "onnx"
    assert type(embedder.model).__name__ == "OnnxEncoder"
    assert (embedder.dimension, embedder.max_seq_length) == (384, 256)


@pytest.mark.parametrize("kind_prefix", [{}, {"query_prefix": "query: ",
                                                "document_prefix": "passage: "}])
def test_onnx_vectors_equal_torch_vectors(kind_prefix, torch_embedder):
    onnx = build({"backend": "onnx", **kind_prefix})
    torch = build({"backend": "torch", **kind_prefix})
    assert (onnx.backend, torch.backend) == ("onnx", "torch")
    for kind in ("query", "document"):
        assert max_diff(onnx.embed(TEXTS, kind=kind), torch.embed(TEXTS, kind=kind)) < 1e-5
    # batch composition does not change a vector (padding is masked out of the mean)
    single = [onnx.embed([t])[0] for t in TEXTS]
    assert max_diff(single, onnx.embed(TEXTS)) < 1e-5


def test_unnormalised_model_keeps_raw_vectors_unless_asked(model_copy, tmp_path):
    path = str(model_copy("minilm-onnx-raw", normalize=False))
    raw = build({"model": path, "normalize": False, "cache_dir": str(tmp_path)})
    ref = build({"model": path, "normalize": False, "backend": "torch"})
    assert raw.backend == "onnx"
    assert max_diff(raw.embed(TEXTS[:4]), ref.embed(TEXTS[:4])) < 1e-5
    assert any(abs(sum(x * x for x in v) ** 0.5 - 1) > 0.01 for v in raw.embed(TEXTS[:4]))


def test_export_is_reused_by_a_new_process_without_torch(model_copy, tmp_path):
    path = str(model_copy("minilm-onnx-reuse"))
    first = build({"model": path, "cache_dir": str(tmp_path)})
    assert first.backend == "onnx"
    exported = [p for p in tmp_path.iterdir() if not p.name.startswith(".")]
    assert len(exported) == 1 and onnx_export.is_exported(exported[0])
    code = """
import json, sys
from memstack.registry import get_registry
e = get_registry().build("embedder", "sentence-transformers",
                         {"model": sys.argv[1], "cache_dir": sys.argv[2]})
v = e.embed(["Alice prefers green tea in the morning."])[0]
heavy = [m for m in ("torch", "transformers", "sentence_transformers") if m in sys.modules]
print(json.dumps({"backend": e.backend, "heavy": heavy, "vector": v}))
"""
    out = subprocess.run([sys.executable, "-c", code, path, str(tmp_path)], check=True,
                         capture_output=True, text=True)
    report = json.loads(out.stdout.strip().splitlines()[-1])
    assert report["backend"] == "onnx"
    assert report["heavy"] == []  # loaded from the export: no torch at all
    assert max_diff([report["vector"]], first.embed(TEXTS[:1])) < 1e-6
    assert [p for p in tmp_path.iterdir() if not p.name.startswith(".")] == exported


def test_changed_model_files_get_a_new_export(model_copy, tmp_path):
    path = model_copy("minilm-onnx-changed")
    before = onnx_export.export_dir(str(path), str(tmp_path))
    assert before == onnx_export.export_dir(str(path), str(tmp_path))
    (path / "config_sentence_transformers.json").write_text(
        (path / "config_sentence_transformers.json").read_text() + "\n")
    assert onnx_export.export_dir(str(path), str(tmp_path)) != before


def test_exporting_twice_into_one_directory_keeps_one_export(tmp_path, torch_embedder):
    where = tmp_path / "export"
    onnx_export.export(torch_embedder.model, where)
    stamp = (where / "model.onnx").stat().st_mtime_ns
    onnx_export.export(torch_embedder.model, where)  # a racing process lost
    assert (where / "model.onnx").stat().st_mtime_ns == stamp
    assert [p.name for p in tmp_path.iterdir()] == ["export"]  # no temporary left behind


def _max_pooling_copy(model_copy) -> Path:
    path = model_copy("minilm-max-pooling")
    cfg = json.loads((path / "1_Pooling" / "config.json").read_text())
    cfg.update(pooling_mode_mean_tokens=False, pooling_mode_max_tokens=True)
    (path / "1_Pooling" / "config.json").write_text(json.dumps(cfg))
    return path


def test_unsupported_model_falls_back_to_torch_on_auto_and_fails_on_onnx(model_copy, tmp_path):
    path = str(_max_pooling_copy(model_copy))
    auto = build({"model": path, "cache_dir": str(tmp_path)})
    assert auto.backend == "torch"
    assert len(auto.embed(["still works"])[0]) == 384
    with pytest.raises(ProviderError) as info:
        build({"model": path, "backend": "onnx", "cache_dir": str(tmp_path)})
    message = str(info.value)
    assert "sentence-transformers" in message and "pooling" in message
    assert "backend: torch" in message
    assert not any(tmp_path.iterdir())  # nothing half-exported


def test_onnx_on_another_device_is_refused_before_loading():
    with pytest.raises(ProviderError, match="runs on the CPU"):
        build({"backend": "onnx", "device": "cuda"})


def test_a_broken_export_names_the_directory_to_delete(model_copy, tmp_path):
    path = str(model_copy("minilm-onnx-broken"))
    where = onnx_export.export_dir(path, str(tmp_path))
    build({"model": path, "cache_dir": str(tmp_path)})
    (where / "model.onnx").write_bytes(b"not a model")
    code = """
import sys
from memstack.errors import ProviderError
from memstack.registry import get_registry
try:
    get_registry().build("embedder", "sentence-transformers",
                         {"model": sys.argv[1], "cache_dir": sys.argv[2]})
except ProviderError as exc:
    print(exc)
"""
    out = subprocess.run([sys.executable, "-c", code, path, str(tmp_path)], check=True,
                         capture_output=True, text=True).stdout
    assert str(where) in out and "delete that directory" in out


def test_threads_sets_onnx_runtime_threads_per_instance(embedder):
    one = build({"threads": 1})
    assert one.backend == "onnx"
    assert one.model.session.get_session_options().intra_op_num_threads == 1
    assert one.model is not embedder.model  # its own session; the export is shared
    assert one.model.directory == embedder.model.directory
    assert max_diff(one.embed(TEXTS[:3]), embedder.embed(TEXTS[:3])) < 1e-5


def test_the_thread_pool_stops_spinning_when_a_run_ends(embedder):
    # Spinning threads after a run would take a core from the store call that follows.
    options = embedder.model.session.get_session_options()
    assert options.get_session_config_entry("session.force_spinning_stop") == "1"


def test_exports_of_removed_model_directories_are_pruned(tmp_path, torch_embedder):
    cache = tmp_path / "cache"
    gone = tmp_path / "removed-venv-model"
    gone.mkdir()
    onnx_export.export(torch_embedder.model, cache / "old", str(gone))
    assert onnx_export.ExportInfo.read(cache / "old").source == str(gone)
    gone.rmdir()  # e.g. the virtual environment holding that model was deleted
    onnx_export.export(torch_embedder.model, cache / "new", torch_embedder.model_id)
    assert not (cache / "old").exists()  # nothing could ask for it again
    assert onnx_export.is_exported(cache / "new")
    assert onnx_export.prune(cache) == []  # a model that exists keeps its export


def test_a_failing_export_falls_back_to_torch_on_auto_only(model_copy, tmp_path, caplog):
    path = str(model_copy("minilm-onnx-unwritable"))
    blocked = tmp_path / "not-a-directory"
    blocked.write_text("a file where the cache directory should be")
    auto = build({"model": path, "cache_dir": str(blocked)})
    assert auto.backend == "torch"  # still works, with the reason logged
    assert len(auto.embed(["still embeds"])[0]) == 384
    assert any("building the ONNX graph" in r.getMessage() and "torch" in r.getMessage()
               for r in caplog.records)
    with pytest.raises(ProviderError, match=r"building the ONNX graph of .* failed"):
        build({"model": path, "backend": "onnx", "cache_dir": str(blocked)})


def test_bert_exports_are_fused_and_the_torch_model_is_untouched(embedder, torch_embedder,
                                                                 tmp_path):
    import onnx

    onnx_export.export(torch_embedder.model, tmp_path / "fresh", torch_embedder.model_id)
    for where in (embedder.model.directory, tmp_path / "fresh"):
        ops = {node.op_type for node in onnx.load(str(where / "model.onnx")).graph.node}
        assert {"Attention", "SkipLayerNormalization"} <= ops  # ONNX Runtime's fused kernels
    # the export traced a copy with eager attention; the shared torch model keeps its own
    config = torch_embedder.model[0].auto_model.config
    assert config._attn_implementation != "eager"
