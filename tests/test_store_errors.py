"""`translate_errors`: the one error translation the backend plugins share."""

from __future__ import annotations

import pytest

from memstack.errors import (
    DimensionMismatch,
    InvalidInput,
    MemstackError,
    StoreError,
    translate_errors,
)


def test_library_errors_become_store_errors_naming_provider_action_and_where():
    with pytest.raises(StoreError) as info:
        with translate_errors("qdrant", "upsert", "collection 'notes' at localhost:6333"):
            raise ConnectionError("connection refused")
    err = info.value
    assert err.provider == "qdrant"
    assert str(err) == ("qdrant: upsert failed on collection 'notes' at localhost:6333: "
                        "ConnectionError: connection refused")
    assert isinstance(err.__cause__, ConnectionError)


def test_memstack_errors_pass_through_unchanged():
    raised = DimensionMismatch("chroma", 8, 9)
    with pytest.raises(DimensionMismatch) as info:
        with translate_errors("chroma", "query"):
            raise raised
    assert info.value is raised
    with pytest.raises(InvalidInput):
        with translate_errors("chroma", "query"):
            raise InvalidInput("bad")


def test_secrets_are_scrubbed_from_the_message():
    secret = "s3cret-token"
    with pytest.raises(StoreError) as info:
        with translate_errors("milvus", "count", scrub=lambda t: t.replace(secret, "***")):
            raise RuntimeError(f"auth failed for token {secret}")
    assert secret not in str(info.value) and "***" in str(info.value)
    assert str(info.value) == "milvus: count failed: RuntimeError: auth failed for token ***"


def test_hint_as_text_or_function_of_the_exception():
    with pytest.raises(StoreError) as info:
        with translate_errors("chroma", "connect", hint=lambda exc: f"is it up? ({exc})"):
            raise OSError("refused")
    assert info.value.hint == "is it up? (refused)"
    assert str(info.value).endswith("— is it up? (refused)")
    with pytest.raises(StoreError, match="start the server"):
        with translate_errors("x", "open", hint="start the server"):
            raise ValueError("nope")


def test_nothing_raised_nothing_changed():
    with translate_errors("memory", "get"):
        value = 1 + 1
    assert value == 2
    assert issubclass(StoreError, MemstackError)
