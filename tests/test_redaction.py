"""No secret-looking value ever appears in a `ConfigError`: not in its message, its attributes
or its repr, whatever key it sits under (a misspelled section key included)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from memstack import Memory
from memstack.config import load_config
from memstack.errors import ConfigError
from memstack.redaction import redact, scrub
from memstack.registry import get_registry

SECRETS = ["sk-live-4f9a8b7c6d5e4f3a2b1c", "sk_test_0123456789abcdefXYZ",
           "ghp_abcdefghijklmnopqrstuvwxyz0123", "Bearer eyJhbGciOiJIUzI1NiJ9.payload.sig",
           "AKIAABCDEFGHIJKLMNOP", "9f8e7d6c5b4a39281706f5e4d3c2b1a0ffeeddcc"]
KEYS = ["api_key", "confg", "token", "x", "headers", "dsn", "extra", "opts"]


def shown(err: ConfigError) -> str:
    return " ".join(str(v) for v in (str(err), repr(err), err.given, err.allowed, err.field,
                                     err.provider, err.args))


def test_the_reported_leak_is_closed() -> None:
    """The review's probe: an API key under a misspelled `config` key of the llm section."""
    secret = "sk-proj-abcdef0123456789abcdef"
    with pytest.raises(ConfigError) as err:
        load_config({"llm": {"provider": "openai", "confg": {"api_key": secret}}})
    assert secret not in shown(err.value)
    assert "llm.confg" in str(err.value) and "unknown field" in str(err.value)


@settings(max_examples=60, deadline=None)
@given(secret=st.sampled_from(SECRETS), key=st.sampled_from(KEYS),
       nest=st.sampled_from(["top", "section", "deep", "list"]))
def test_no_secret_in_memory_config_errors(secret: str, key: str, nest: str) -> None:
    value: Any = {"top": secret, "section": {key: secret}, "deep": {"a": {key: secret}},
                  "list": [secret]}[nest]
    source = {"llm": {"provider": "openai", "config": {}, key: value}}
    with pytest.raises(ConfigError) as err:
        load_config(source)
    assert secret not in shown(err.value)


@settings(max_examples=40, deadline=None)
@given(secret=st.sampled_from(SECRETS), key=st.sampled_from(KEYS))
def test_no_secret_in_provider_config_errors(secret: str, key: str) -> None:
    """A provider's own config model rejects the field: the value is still masked."""
    with pytest.raises(ConfigError) as err:
        get_registry().validate_config("vector_store", "memory",
                                       {"dimension": 4, key: {"nested": secret, key: secret}})
    assert secret not in shown(err.value)
    with pytest.raises(ConfigError) as err:
        get_registry().validate_config("vector_store", "memory", {"dimension": secret})
    assert secret not in shown(err.value)


def test_errors_raised_directly_are_redacted_too() -> None:
    err = ConfigError("bad value sk-abcdefgh12345678 for api_key", field="api_key",
                      given="sk-abcdefgh12345678", allowed="a key like sk-abcdefgh12345678")
    assert "sk-abcdefgh12345678" not in shown(err)
    err = ConfigError("bad", field="url", given="postgresql://me:hunter2secret@db/x")
    assert "hunter2secret" not in shown(err) and "postgresql://" in str(err.given)


def test_harmless_values_are_kept() -> None:
    assert redact({"dimension": 384, "collection": "memstack", "path": "/tmp/x"}) == \
        {"dimension": 384, "collection": "memstack", "path": "/tmp/x"}
    assert scrub("collection 'memstack' at /var/lib/memstack") == \
        "collection 'memstack' at /var/lib/memstack"
    with pytest.raises(ConfigError) as err:
        Memory({"collection": "no spaces allowed"})
    assert err.value.given == "no spaces allowed"
