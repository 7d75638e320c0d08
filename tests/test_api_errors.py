"""`memstack.api_errors`: every SDK failure becomes ONE typed error naming the provider, with a
hint, and no secret in it — whichever remote provider raised it.

The SDK here is a stand-in module with the four exception classes Stainless-generated SDKs
(openai, anthropic, ...) share; `test_real_sdks_have_the_classes_we_rely_on` checks the real ones.
"""

from __future__ import annotations

import json
import subprocess
import sys
import traceback
import types
from typing import Any

import pytest

from memstack.api_errors import ApiErrorTranslator, redact
from memstack.errors import (
    ProviderAuthError,
    ProviderBadRequest,
    ProviderBadResponse,
    ProviderError,
    ProviderModelNotFound,
    ProviderRateLimited,
    ProviderTimeout,
    ProviderUnavailable,
    RemoteProviderError,
)

KEY = "sk-live-SECRET-abcdefghijklmnop"
HEADER_SECRET = "hdr-TOPSECRET-42"


class APIError(Exception):
    def __init__(self, message: str, *, body: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.body = body


class APIStatusError(APIError):
    def __init__(self, message: str, *, status_code: int, body: Any = None,
                 request_id: str | None = "req_123") -> None:
        super().__init__(message, body=body)
        self.status_code = status_code
        self.request_id = request_id


class APIConnectionError(APIError):
    pass


class APITimeoutError(APIConnectionError):  # as in the real SDKs: a timeout is a connection error
    pass


class APIResponseValidationError(APIError):
    pass


@pytest.fixture(autouse=True)
def stub_sdk(monkeypatch: pytest.MonkeyPatch) -> None:
    sdk = types.ModuleType("stub_stainless_sdk")
    for cls in (APIStatusError, APIConnectionError, APITimeoutError, APIResponseValidationError):
        setattr(sdk, cls.__name__, cls)
    monkeypatch.setitem(sys.modules, "stub_stainless_sdk", sdk)


class AcmeErrors(ApiErrorTranslator):
    sdk = "stub_stainless_sdk"
    api = "the Acme API"


def translator(cls: type[ApiErrorTranslator] = AcmeErrors, **overrides: Any) -> Any:
    args: dict[str, Any] = {
        "provider": "acme", "model": "acme-large", "base_url": "http://127.0.0.1:9/v1",
        "max_retries": 2, "timeout": 0.5, "key_env": "ACME_API_KEY",
        "secrets": [KEY, HEADER_SECRET],
    }
    return cls(**{**args, **overrides})


def status_error(status: int, message: str = "something went wrong", **kw: Any) -> APIStatusError:
    body = {"error": {"message": message, "type": "error_type", "code": None}}
    return APIStatusError(f"Error code: {status} - {body}", status_code=status, body=body, **kw)


@pytest.mark.parametrize("status, cls", [
    (401, ProviderAuthError), (403, ProviderAuthError), (404, ProviderModelNotFound),
    (429, ProviderRateLimited), (500, ProviderUnavailable), (503, ProviderUnavailable),
    (529, ProviderUnavailable), (400, ProviderBadRequest), (422, ProviderBadRequest),
])
def test_each_status_becomes_one_typed_error_naming_the_provider(status: int, cls: type) -> None:
    err = translator().translate(status_error(status, "the server's words"), "chat with acme")
    assert type(err) is cls
    assert isinstance(err, RemoteProviderError) and isinstance(err, ProviderError)
    assert err.provider == "acme" and str(err).startswith("acme: chat with acme failed")
    assert f"HTTP {status}: the server's words" in str(err)
    assert err.status_code == status and err.request_id == "req_123"
    assert "[request id req_123]" in str(err)
    assert err.hint and err.hint in str(err)


def test_retries_are_counted_where_they_happened() -> None:
    assert "(after 1 retry)" in str(translator(max_retries=1).translate(status_error(429), "x"))
    assert "(after 2 retries)" in str(translator().translate(status_error(500), "x"))
    assert "retr" not in str(translator().translate(status_error(404), "x"))


def test_default_hints_name_the_config_fields_to_check() -> None:
    t = translator()
    assert "ACME_API_KEY" in t.translate(status_error(401), "x").hint
    not_found = t.translate(status_error(404), "x").hint
    assert "acme-large" in not_found and "http://127.0.0.1:9/v1" in not_found
    assert "Acme API" in t.translate(json.JSONDecodeError("bad", "{", 1), "x").hint


def test_a_plugin_words_its_own_hints() -> None:
    class Custom(AcmeErrors):
        def unavailable_hint(self, exc: Any) -> str:
            return "overloaded" if exc.status_code == 529 else super().unavailable_hint(exc)

    assert translator(Custom).translate(status_error(529), "x").hint == "overloaded"
    assert translator(Custom).translate(status_error(500), "x").hint != "overloaded"


def test_secrets_never_reach_the_message_or_the_hint() -> None:
    exc = status_error(401, f"Incorrect API key provided: {KEY}; header {HEADER_SECRET}; "
                            "also sk-other-0123456789")
    err = translator(key_env=f"VAR_{HEADER_SECRET}").translate(exc, "chat")
    for text in (str(err), err.hint):
        assert KEY not in text and "SECRET" not in text and "sk-other-0123456789" not in text
    assert "Incorrect API key provided: ***" in str(err)  # the server's message is kept


def test_redact_leaves_short_or_empty_secrets_alone() -> None:
    assert redact("a b c", ["", "b"]) == "a b c"
    assert redact("key sk-abcdefgh1, tok, tok1", ["tok1"]) == "key sk-***, tok, ***"


def test_timeout_connection_bad_json_and_the_rest() -> None:
    t = translator()
    timeout = t.translate(APITimeoutError("Request timed out."), "chat")
    assert type(timeout) is ProviderTimeout
    assert "chat timed out after 0.5s (after 2 retries) at http://127.0.0.1:9/v1" in str(timeout)
    try:
        raise APIConnectionError("Connection error.") from ConnectionRefusedError("refused")
    except APIConnectionError as exc:
        unreachable = t.translate(exc, "chat")
    assert type(unreachable) is ProviderUnavailable and unreachable.status_code is None
    assert "cannot connect to http://127.0.0.1:9/v1 (after 2 retries): ConnectionRefusedError"\
        in str(unreachable)
    bad = t.translate(APIResponseValidationError("not the expected shape"), "chat")
    assert type(bad) is ProviderBadResponse and "not valid JSON" in str(bad)
    other = t.translate(RuntimeError("odd"), "chat")
    assert type(other) is RemoteProviderError and "RuntimeError: odd" in str(other)


def test_call_chains_the_sdk_error_only_when_it_holds_no_secret() -> None:
    t = translator()

    def fails(exc: BaseException) -> Any:
        def fn() -> Any:
            raise exc
        return fn

    clean = status_error(404, "no such model")
    with pytest.raises(ProviderModelNotFound) as info:
        t.call("chat", fails(clean))
    assert info.value.__cause__ is clean

    leaky = status_error(401, f"bad key {KEY}")
    with pytest.raises(ProviderAuthError) as info:
        t.call("chat", fails(leaky))
    assert info.value.__cause__ is None
    assert KEY not in "".join(traceback.format_exception(info.value))

    typed = ProviderBadResponse("acme", "refused")
    with pytest.raises(ProviderBadResponse) as info:
        t.call("chat", fails(typed))
    assert info.value is typed  # already typed: passed through untouched
    assert t.call("chat", lambda: 42) == 42


@pytest.mark.parametrize("name", ["openai", "anthropic"])
def test_real_sdks_have_the_classes_we_rely_on(name: str) -> None:
    sdk = pytest.importorskip(name)
    for cls in ("APIStatusError", "APITimeoutError", "APIConnectionError",
                "APIResponseValidationError"):
        assert issubclass(getattr(sdk, cls), Exception)
    # translate() tests for a timeout before a connection error because of this:
    assert issubclass(sdk.APITimeoutError, sdk.APIConnectionError)


def run(code: str) -> str:
    return subprocess.run([sys.executable, "-c", "import sys\n" + code], capture_output=True,
                          text=True, check=True, timeout=120).stdout.strip()


def test_the_helpers_import_no_sdk_and_not_even_pydantic() -> None:
    out = run("import memstack.api_errors, memstack.json_schema, memstack.testing.http_fake\n"
              "print([m for m in ('openai', 'anthropic', 'httpx', 'pydantic') "
              "if m in sys.modules])")
    assert out == "[]"


def test_import_memstack_does_not_load_the_helpers() -> None:
    helpers = "('memstack.testing', 'memstack.api_errors', 'memstack.json_schema')"
    out = run(f"import memstack\nprint(sorted(m for m in sys.modules if m.startswith({helpers})))")
    assert out == "[]"
    # the engine strips code fences from LLM answers with json_schema's helper (stdlib only);
    # the provider-side helpers stay out
    out = run("from memstack import Memory\n"
              f"print(sorted(m for m in sys.modules if m.startswith({helpers})))")
    assert out == "['memstack.json_schema']"
