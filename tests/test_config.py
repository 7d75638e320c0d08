"""Configuration from dicts, files and the environment; errors that say what to fix."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from memstack import Memory
from memstack.config import load_config
from memstack.errors import ConfigError, ProviderNotFound
from memstack.stack import validate_providers


def test_yaml_toml_json_and_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "c.yaml").write_text("collection: fromyaml\nllm:\n  provider: scripted\n")
    (tmp_path / "c.toml").write_text(
        'collection = "fromtoml"\n[vector_store]\nprovider = "memory"\n')
    (tmp_path / "c.json").write_text(json.dumps({"collection": "fromjson"}))
    assert load_config(tmp_path / "c.yaml").collection == "fromyaml"
    assert load_config(tmp_path / "c.yaml").llm.provider == "scripted"  # type: ignore[union-attr]
    assert load_config(str(tmp_path / "c.toml")).vector_store.provider == "memory"
    assert load_config(tmp_path / "c.json").collection == "fromjson"
    monkeypatch.setenv("MEMSTACK_CONFIG", str(tmp_path / "c.toml"))
    assert load_config().collection == "fromtoml"


def test_defaults_are_the_embedded_stack(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MEMSTACK_CONFIG", raising=False)
    cfg = load_config()
    assert (cfg.vector_store.provider, cfg.embedder.provider, cfg.llm) == (
        "sqlite", "sentence-transformers", None)


@pytest.mark.parametrize(("raw", "fragment"), [
    ({"colection": "x"}, "colection: unknown field"),
    ({"batch_size": 0}, "batch_size"),
    ({"vector_store": {"provider": "memory", "cfg": {}}}, "vector_store.cfg: unknown field"),
    ({"collection": "bad name!"}, "collection"),
])
def test_bad_memory_config(raw: dict, fragment: str) -> None:
    with pytest.raises(ConfigError, match=fragment.replace("(", r"\(")):
        load_config(raw)


def test_broken_files(tmp_path: Path) -> None:
    (tmp_path / "bad.yaml").write_text("a: [unclosed")
    (tmp_path / "c.ini").write_text("")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(tmp_path / "bad.yaml")
    with pytest.raises(ConfigError, match="unknown extension"):
        load_config(tmp_path / "c.ini")
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(tmp_path / "missing.yaml")


def test_provider_section_validated_by_its_own_model(base_config: dict) -> None:
    cfg = {**base_config, "embedder": {"provider": "hashing", "config": {"dimensoin": 8}}}
    with pytest.raises(ConfigError) as err:
        Memory(cfg)
    assert err.value.provider == "hashing" and err.value.field == "dimensoin"
    assert "unknown field" in str(err.value)
    with pytest.raises(ConfigError) as err:
        validate_providers(load_config({**base_config,
                                        "embedder": {"provider": "hashing",
                                                     "config": {"dimension": "big"}}}))
    assert "given: 'big'" in str(err.value)


def test_unknown_provider_in_config(base_config: dict) -> None:
    with pytest.raises(ProviderNotFound, match="Did you mean 'hashing'"):
        Memory({**base_config, "embedder": {"provider": "hashin"}})


def test_dimension_mismatch_between_embedder_and_store(base_config: dict) -> None:
    cfg = {**base_config, "vector_store": {"provider": "memory", "config": {"dimension": 3}}}
    with pytest.raises(ConfigError, match="produces 64-dimensional"):
        Memory(cfg)


def test_config_errors_never_show_secrets(fresh_plugins) -> None:
    """A model-level validator reports the whole input: secret-looking keys must be masked."""
    from pydantic import model_validator

    import memstack
    from memstack.registry import get_registry

    class Cfg(memstack.ProviderConfig):
        api_key: str = ""
        token: str = ""
        url: str | None = None

        @model_validator(mode="after")
        def need_url(self):  # type: ignore[no-untyped-def]
            raise ValueError("url is required")

    class Plugin:
        @memstack.hookimpl
        def memstack_llms(self):  # type: ignore[no-untyped-def]
            return [memstack.ProviderSpec("leaky", "llm", Cfg, lambda c: c)]

    memstack.register(Plugin(), name="leaky-plugin")
    with pytest.raises(ConfigError) as err:
        get_registry().build("llm", "leaky", {"api_key": "sk-very-secret", "token": "t0k"})
    assert "sk-very-secret" not in str(err.value) and "t0k" not in str(err.value)
    assert "sk-very-secret" not in repr(err.value.given)
    assert "url is required" in str(err.value)
