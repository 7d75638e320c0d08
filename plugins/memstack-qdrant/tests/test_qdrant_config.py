"""Config validation, secret handling, lazy imports, server-mode errors and wire formats."""

from __future__ import annotations

import random
import subprocess
import sys

import pytest
from qdrant_helpers import build

from memstack.errors import ConfigError, StoreError
from memstack.filters import parse_filter
from memstack.protocols import VectorStore
from memstack.registry import get_registry

SECRET = "s3cr3t-api-key-value"


def test_registered_with_entry_point():
    spec = get_registry().get("vector_store", "qdrant")
    assert spec.distribution == "memstack-qdrant"
    assert "filter:eq" in spec.capabilities and "filter:range_str" not in spec.capabilities


@pytest.mark.parametrize(
    "config",
    [
        {},
        {"url": "http://localhost:6333", "path": "/tmp/x"},
        {"path": "/tmp/x", "location": ":memory:"},
        {"url": "http://localhost:6333", "location": ":memory:"},
    ],
)
def test_exactly_one_mode(config):
    with pytest.raises(ConfigError, match="exactly one of 'url'"):
        get_registry().validate_config("vector_store", "qdrant", config)


@pytest.mark.parametrize(
    ("config", "field"),
    [
        ({"location": "/some/dir"}, "location"),
        ({"url": "localhost:6333"}, "url"),
        ({"location": ":memory:", "api_key": SECRET}, "api_key"),
        ({"path": "/tmp/x", "prefer_grpc": True}, "prefer_grpc"),
        ({"location": ":memory:", "batch_size": 0}, "batch_size"),
        ({"location": ":memory:", "colection": "typo"}, "colection"),
        ({"url": "http://h:6333", "timeout": 0}, "timeout"),
    ],
)
def test_invalid_configs_name_the_field(config, field):
    with pytest.raises(ConfigError) as info:
        get_registry().validate_config("vector_store", "qdrant", config)
    assert field in str(info.value)
    assert SECRET not in str(info.value)


def test_api_key_never_shown():
    cfg = get_registry().validate_config(
        "vector_store", "qdrant", {"url": "https://xyz.cloud.qdrant.io", "api_key": SECRET}
    )
    assert SECRET not in repr(cfg) and SECRET not in str(cfg)
    assert SECRET not in cfg.model_dump_json()
    assert cfg.api_key.get_secret_value() == SECRET


def test_unreachable_server_is_a_store_error_without_the_key():
    """Building never connects; the first call fails with StoreError naming qdrant."""
    store = build({"url": "https://127.0.0.1:1", "api_key": SECRET, "timeout": 2})
    assert SECRET not in repr(store)
    assert isinstance(store, VectorStore) and store.dimension == 4  # no request made
    with pytest.raises(StoreError) as info:
        store.count()
    text = str(info.value)
    assert text.startswith("qdrant:") and "127.0.0.1:1" in text
    assert SECRET not in text
    assert info.value.__cause__ is not None
    store.close()


def test_plugin_import_is_light():
    code = (
        "import sys, memstack_qdrant, memstack_qdrant.plugin, memstack_qdrant.config, "
        "memstack_qdrant.capabilities, memstack_qdrant.ids\n"
        "from memstack.registry import get_registry\n"
        "get_registry().validate_config('vector_store', 'qdrant', {'location': ':memory:'})\n"
        "heavy = [m for m in ('qdrant_client', 'numpy', 'grpc') if m in sys.modules]\n"
        "assert not heavy, heavy\n"
        "print('ok')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"


def test_ids_are_deterministic_uuids():
    import uuid

    from memstack_qdrant.ids import point_id

    assert point_id("mem-1") == point_id("mem-1")
    assert point_id("mem-1") != point_id("mem-2")
    assert uuid.UUID(point_id("ünï 🧠")).version == 5
    # pinned: changing the namespace would orphan stored points
    assert point_id("a") == "88796407-115a-5cc8-a618-f15304091ace"


def _wire_payload() -> dict:
    from memstack_qdrant.payload import encode

    return encode(
        "id-1",
        {"f": 1.0, "i": 1, "b": True, "l": [1, 2.0, "x", False], "u": "é 🧠", "n": None,
         "big": 2**60, "neg": -0.0, "large": "z" * 100_000},
        3.5,
    )


def test_rest_wire_keeps_int_float_bool_apart():
    """Server mode over REST: payloads go out as JSON and come back through pydantic."""
    from qdrant_client.http import models

    payload = _wire_payload()
    body = models.PointsList(
        points=[models.PointStruct(id="88796407-115a-5cc8-a618-f15304091ace", vector=[1.0],
                                   payload=payload)]
    ).model_dump_json(exclude_none=True)
    back = models.PointsList.model_validate_json(body).points[0].payload
    assert back == payload
    assert {k: type(v) for k, v in back.items()} == {k: type(v) for k, v in payload.items()}
    assert [type(x) for x in back["l"]] == [int, float, str, bool]


def test_grpc_wire_keeps_int_float_bool_apart():
    from qdrant_client import grpc
    from qdrant_client.conversions.conversion import grpc_to_payload, payload_to_grpc

    payload = _wire_payload()
    back = grpc_to_payload(grpc.Struct(fields=payload_to_grpc(payload)).fields)
    assert back == payload
    assert {k: type(v) for k, v in back.items()} == {k: type(v) for k, v in payload.items()}


def test_filters_survive_grpc_conversion():
    """With prefer_grpc the filter is converted to protobuf; it must select the same records."""
    from memstack_qdrant.filters import to_qdrant
    from memstack_qdrant.payload import encode
    from qdrant_client.conversions.conversion import GrpcToRest, RestToGrpc
    from qdrant_client.local.payload_filters import check_filter

    rng = random.Random(3)
    values = [1, 1.0, 2.5, True, False, "x", "", None, [], ["x", 1], [True], {"k": 1}]
    payloads = [
        encode(f"r{i}", {f: rng.choice(values) for f in ("a", "b") if rng.random() < 0.8}, 1.0)
        for i in range(60)
    ]
    raws = [
        {"a": 1}, {"a": {"ne": "x"}}, {"a": {"in": [True, False]}}, {"b": {"nin": ["x", ""]}},
        {"a": {"gt": 1}}, {"b": {"contains": "x"}}, {"NOT": {"a": {"lte": 2.5}}},
        {"OR": [{"a": {"contains": 1}}, {"AND": [{"b": True}, {"NOT": {"a": {"in": [1, 2.5]}}}]}]},
    ]
    for raw in raws:
        rest = to_qdrant(parse_filter(raw))
        via_grpc = GrpcToRest.convert_filter(RestToGrpc.convert_filter(rest))
        direct = [check_filter(rest, p, 0, {}) for p in payloads]
        converted = [check_filter(via_grpc, p, 0, {}) for p in payloads]
        assert direct == converted, raw
        assert any(direct) or raw == {"a": {"gt": 1}}
