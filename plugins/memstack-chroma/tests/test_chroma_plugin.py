"""Registration, lazy imports, config validation, error wrapping and several processes."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from memstack_chroma.config import ChromaConfig

from memstack import capabilities as caps
from memstack.capabilities import Kind
from memstack.errors import ConfigError, StoreError
from memstack.filters import parse_filter
from memstack.models import Record
from memstack.registry import get_registry

HEAVY = ("chromadb", "numpy", "onnxruntime", "httpx")


def test_provider_is_registered_by_this_distribution():
    spec = get_registry().get(Kind.VECTOR_STORE, "chroma")
    assert spec.distribution == "memstack-chroma"
    assert spec.config_model is ChromaConfig
    assert {caps.PERSISTENT, caps.MULTIPROCESS} <= spec.capabilities  # in some mode
    assert caps.ALL_FILTER_CAPS <= spec.capabilities
    assert caps.EXACT_SEARCH not in spec.capabilities


def test_importing_and_registering_does_not_import_chromadb():
    code = """
import json, sys
import memstack_chroma
import memstack_chroma.plugin
from memstack.registry import get_registry
registry = get_registry()
registry.validate_config("vector_store", "chroma", {"host": "db.example", "port": 8001})
names = [s.name for s in registry.providers("vector_store")]
heavy = sys.argv[1].split(",")
print(json.dumps({"loaded": [m for m in heavy if m in sys.modules], "names": names}))
"""
    out = subprocess.run(
        [sys.executable, "-c", code, ",".join(HEAVY)],
        capture_output=True, text=True, check=True, timeout=120,
    )
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert "chroma" in result["names"]  # the plugin really was loaded
    assert result["loaded"] == []


def validate(config: dict) -> ChromaConfig:
    model = get_registry().validate_config("vector_store", "chroma", config)
    assert isinstance(model, ChromaConfig)
    return model


def test_mode_follows_from_the_fields():
    assert validate({}).mode == "disk"
    server = validate({"host": "chroma.internal", "port": 443, "ssl": True,
                       "headers": {"X-Chroma-Token": "t"}})
    assert server.mode == "server" and server.port == 443
    assert validate({"mode": "server"}).host == "localhost"
    assert validate({"mode": "memory"}).mode == "memory"
    assert validate({"ef_search": 200}).hnsw() == {"space": "cosine", "ef_search": 200}


def test_default_path_is_in_the_memstack_data_home(monkeypatch, tmp_path):
    monkeypatch.setenv("MEMSTACK_HOME", str(tmp_path / "home"))
    assert validate({}).resolved_path() == tmp_path / "home" / "chroma"
    assert validate({"path": "~/x"}).resolved_path() == Path("~/x").expanduser()
    store = get_registry().build("vector_store", "chroma", {"dimension": 2, "collection": "dflt"})
    try:
        store.upsert([Record(id="a", vector=[1, 0])])
        assert (tmp_path / "home" / "chroma" / "chroma.sqlite3").exists()
    finally:
        store.close()


@pytest.mark.parametrize(("config", "field"), [
    ({"hots": "x"}, "hots"),
    ({"mode": "cloud"}, "mode"),
    ({"port": 0}, "port"),
    ({"collection": "ab"}, "collection"),
    ({"collection": "-abc"}, "collection"),
    ({"collection": "a b c"}, "collection"),
    ({"collection": "a..b"}, "collection"),
    ({"mode": "memory", "path": "/tmp/x"}, None),
    ({"mode": "disk", "host": "h"}, None),
    ({"path": "/tmp/x", "headers": {"a": "b"}}, None),
    ({"ef_search": 0}, "ef_search"),
])
def test_bad_config_is_a_config_error(config, field):
    with pytest.raises(ConfigError) as err:
        validate(config)
    assert err.value.provider == "chroma"
    if field is not None:
        assert err.value.field == field
        assert field in str(err.value)


def test_an_unreachable_server_is_a_store_error_naming_chroma():
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(StoreError) as err:
        get_registry().build("vector_store", "chroma",
                             {"host": "127.0.0.1", "port": port, "dimension": 3})
    assert err.value.provider == "chroma"
    assert "chroma run" in str(err.value)
    assert err.value.__cause__ is not None


def test_a_server_serves_several_processes(make_store, chroma_config):
    config = chroma_config("server")
    here = make_store("server", collection=config["collection"])
    here.upsert([Record(id="parent", vector=[1, 0, 0, 0], payload={"who": "parent"})])
    code = """
import json, sys
from memstack.models import Record
from memstack.registry import get_registry
store = get_registry().build("vector_store", "chroma", json.loads(sys.argv[1]))
store.upsert([Record(id="child", vector=[0, 1, 0, 0], payload={"who": "child"})])
print(store.count())
store.close()
"""
    out = subprocess.run([sys.executable, "-c", code, json.dumps(config)],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().splitlines()[-1] == "2"  # the child saw the parent's record
    hits = here.query([0, 1, 0, 0], limit=1, filters=parse_filter({"who": "child"}))
    assert [h.id for h in hits] == ["child"]  # and the parent's queries see the child's
    assert here.query([0, 1, 0, 0], limit=1)[0].id == "child"


def test_a_collection_with_another_distance_is_refused(make_store, chroma_config):
    config = chroma_config("disk")
    store = make_store("disk", collection=config["collection"])
    store._client.create_collection("l2-space", embedding_function=None,
                                    configuration={"hnsw": {"space": "l2"}})
    with pytest.raises(StoreError) as err:
        make_store("disk", collection="l2-space")
    assert "cosine" in str(err.value)
