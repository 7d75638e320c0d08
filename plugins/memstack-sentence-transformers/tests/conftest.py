"""Fixtures: the bundled MiniLM embedder (loaded once per session), tiny offline cross-encoders."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

# Nothing in these tests may reach the network; the Makefile sets this too.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from memstack.registry import get_registry


def minilm_dir() -> Path:
    from memstack_sentence_transformers.loading import bundled_model_path

    return Path(bundled_model_path("tests"))


@pytest.fixture(scope="session")
def embedder():
    """The default embedder (bundled all-MiniLM-L6-v2), built through the registry."""
    return get_registry().build("embedder", "sentence-transformers", {})


@pytest.fixture(scope="session")
def model_copy(tmp_path_factory) -> Callable[..., Path]:
    """A local copy of MiniLM (weights symlinked), optionally edited — "another model by path".

    `normalize=False` drops the model's Normalize module; `prompts` writes model-declared prompts.
    """
    src = minilm_dir()

    def make(name: str, *, normalize: bool = True, prompts: dict[str, str] | None = None) -> Path:
        dst = tmp_path_factory.mktemp(name)
        for item in src.rglob("*"):
            if item.is_file():
                target = dst / item.relative_to(src)
                target.parent.mkdir(parents=True, exist_ok=True)
                if item.name == "model.safetensors":
                    target.symlink_to(item)
                else:
                    shutil.copy2(item, target)
        if not normalize:
            modules = json.loads((dst / "modules.json").read_text())
            modules = [m for m in modules if not m["type"].endswith("Normalize")]
            (dst / "modules.json").write_text(json.dumps(modules))
        if prompts is not None:
            cfg_path = dst / "config_sentence_transformers.json"
            cfg = json.loads(cfg_path.read_text())
            cfg["prompts"] = prompts
            cfg_path.write_text(json.dumps(cfg))
        return dst

    return make


@pytest.fixture(scope="session")
def make_cross_encoder(tmp_path_factory) -> Callable[..., Path]:
    """Build a tiny random BERT cross-encoder on disk, offline, in the library's own format.

    The MiniLM tokenizer files are reused (the bundled model's); the model
    is a 2-layer, 32-wide BertForSequenceClassification with random weights, saved with
    `save_pretrained` and then re-saved by sentence-transformers' `CrossEncoder.save`, so the
    provider loads it exactly as it would load a published cross-encoder.
    """
    import torch
    from sentence_transformers import CrossEncoder
    from transformers import AutoTokenizer, BertConfig, BertForSequenceClassification

    tokenizer = AutoTokenizer.from_pretrained(str(minilm_dir()))
    built: dict[int, Path] = {}

    def make(num_labels: int = 1) -> Path:
        if num_labels in built:
            return built[num_labels]
        torch.manual_seed(1234)
        config = BertConfig(
            vocab_size=len(tokenizer),
            hidden_size=32,
            num_hidden_layers=2,
            num_attention_heads=2,
            intermediate_size=64,
            max_position_embeddings=512,
            initializer_range=0.5,  # wide weights: scores spread out instead of all ≈ 0.5
            num_labels=num_labels,
        )
        raw = tmp_path_factory.mktemp(f"raw-ce-{num_labels}")
        BertForSequenceClassification(config).save_pretrained(raw)
        tokenizer.save_pretrained(raw)
        final = tmp_path_factory.mktemp(f"tiny-ce-{num_labels}")
        CrossEncoder(str(raw), device="cpu").save(str(final))
        built[num_labels] = final
        return final

    return make


@pytest.fixture(scope="session")
def tiny_cross_encoder(make_cross_encoder) -> Path:
    return make_cross_encoder()
