"""One error hierarchy for everything memstack raises.

Every message names what went wrong, where (provider, field, filter part) and what would be
accepted, so a user can act on it without reading our source.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager
from typing import Any

from memstack.redaction import MASK, is_secret_name, redact, scrub


class MemstackError(Exception):
    """Base of every error memstack raises on purpose."""


class ConfigError(MemstackError, ValueError):
    """A malformed configuration: which provider, which field, what was given, what is allowed."""

    def __init__(
        self,
        message: str,
        *,
        provider: str | None = None,
        field: str | None = None,
        given: Any = None,
        allowed: str | None = None,
    ) -> None:
        self.provider = provider
        self.field = field
        self.given = MASK if is_secret_name(field) and given is not None else redact(given)
        self.allowed = scrub(allowed) if isinstance(allowed, str) else allowed
        super().__init__(scrub(message))


class ProviderNotFound(ConfigError, LookupError):
    """No installed plugin offers the requested provider name for that kind."""

    def __init__(self, kind: str, name: str, installed: dict[str, str]) -> None:
        self.kind = kind
        self.name = name
        self.installed = dict(installed)
        parts = [f"no {kind} provider named {name!r} is installed."]
        if installed:
            listing = ", ".join(f"{n} (from {dist})" for n, dist in sorted(installed.items()))
            parts.append(f"Installed {kind} providers: {listing}.")
        else:
            parts.append(f"No {kind} providers are installed.")
        close = difflib.get_close_matches(name, list(installed), n=1, cutoff=0.6)
        if close:
            parts.append(f"Did you mean {close[0]!r}?")
        parts.append(f"If it is a published plugin, install it: pip install memstack-{name}")
        super().__init__(" ".join(parts), provider=name, field="provider", given=name)


class PluginError(MemstackError):
    """A plugin failed to load or to register its providers."""


class PluginConflictError(PluginError):
    """Two plugins offer the same provider name for the same kind."""

    def __init__(self, kind: str, name: str, distributions: Iterable[str]) -> None:
        self.kind = kind
        self.name = name
        self.distributions = sorted(set(distributions))
        dists = " and ".join(self.distributions)
        super().__init__(
            f"{kind} provider {name!r} is offered by more than one plugin: {dists}. "
            "Uninstall one of them, or disable one with MEMSTACK_DISABLE_PLUGINS=<name>."
        )


class UnsupportedFeature(MemstackError, NotImplementedError):
    """A call needs a capability the provider declares it does not have."""

    def __init__(self, provider: str, features: Iterable[str], detail: str = "") -> None:
        self.provider = provider
        self.features = sorted(set(features))
        msg = f"provider {provider!r} does not support: {', '.join(self.features)}"
        if detail:
            msg += f" ({detail})"
        super().__init__(msg + ".")


class FilterError(MemstackError, ValueError):
    """A filter is malformed; `path` says which part, e.g. ``OR[1].age.gte``."""

    def __init__(self, message: str, *, path: str = "") -> None:
        self.path = path
        where = f"filter at {path}: " if path else "filter: "
        super().__init__(where + message)


class InvalidInput(MemstackError, ValueError):
    """Input the engine refuses: empty text, bad scope, bad metadata, bad vectors."""


class ScopeError(InvalidInput):
    """A memory operation without a valid user_id / agent_id / run_id."""


class DimensionMismatch(InvalidInput):
    """A vector's length is not the store's dimension."""

    def __init__(self, provider: str, expected: int, got: int) -> None:
        self.provider = provider
        self.expected = expected
        self.got = got
        super().__init__(
            f"{provider}: vector has {got} dimensions, the collection expects {expected}. "
            "Use an embedder with the same dimension, or a new collection."
        )


class MemoryNotFound(MemstackError, KeyError):
    """No memory with that id (in that scope)."""

    def __str__(self) -> str:  # KeyError would repr() the message
        return str(self.args[0]) if self.args else "memory not found"


class LLMOutputError(MemstackError):
    """The LLM's answer could not be used, even after one retry; carries the raw output."""

    def __init__(self, message: str, *, raw_output: str) -> None:
        self.raw_output = raw_output
        super().__init__(f"{message}\nRaw LLM output: {raw_output[:2000]!r}")


class ProviderError(MemstackError):
    """A backend library or remote API failed; wraps its exception and names the provider."""

    def __init__(self, provider: str, message: str, *, hint: str = "") -> None:
        self.provider = provider
        self.hint = hint
        text = f"{provider}: {message}"
        if hint:
            text += f" — {hint}"
        super().__init__(text)


class StoreError(ProviderError):
    """A vector store or history store failed."""


class RemoteProviderError(ProviderError):
    """A remote API failed; `status_code` and `request_id` when the server answered.

    The subclasses below are one per kind of failure, the same for every remote provider, so an
    application can catch e.g. `ProviderRateLimited` whichever API it talks to.
    """

    def __init__(
        self, provider: str, message: str, *, hint: str = "",
        status_code: int | None = None, request_id: str | None = None,
    ) -> None:
        self.status_code = status_code
        self.request_id = request_id
        super().__init__(provider, message, hint=hint)


class ProviderAuthError(RemoteProviderError):
    """401/403: the key is missing, wrong, or lacks access."""


class ProviderModelNotFound(RemoteProviderError):
    """404: unknown model / deployment, or a `base_url` that does not serve the API."""


class ProviderRateLimited(RemoteProviderError):
    """429 after every retry (rate limit or exhausted quota)."""


class ProviderTimeout(RemoteProviderError):
    """No answer within `timeout` seconds, after every retry."""


class ProviderUnavailable(RemoteProviderError):
    """5xx (or the API's "overloaded") after every retry, or the server could not be reached."""


class ProviderBadRequest(RemoteProviderError):
    """Another 4xx: the server refused the request (bad parameter or schema, too long, ...)."""


class ProviderBadResponse(RemoteProviderError):
    """The server answered 200 with something unusable (broken JSON, no content, refusal)."""


def translate_errors(
    provider: str,
    action: str,
    where: str = "",
    *,
    scrub: Callable[[str], str] | None = None,
    hint: str | Callable[[BaseException], str] = "",
) -> AbstractContextManager[None]:
    """The one error translation every backend plugin uses around its library's calls:

        with translate_errors("qdrant", "upsert", f"collection {name!r}", scrub=hide_key):
            client.upsert(...)

    A `MemstackError` passes through as it is (the plugin raised it on purpose); anything else
    becomes a `StoreError` naming the provider, the action and where (collection, URL), with the
    library's exception as `__cause__`. `scrub` removes secrets (keys, passwords in DSNs) from
    the library's message before it reaches the error; `hint` (text, or a function of the
    exception) says what the user might do.
    """
    from contextlib import contextmanager

    @contextmanager
    def translating() -> Iterator[None]:
        try:
            yield
        except MemstackError:
            raise
        except Exception as exc:
            detail = f"{type(exc).__name__}: {exc}"
            if scrub is not None:
                detail = scrub(detail)
            text = f"{action} failed" + (f" on {where}" if where else "") + f": {detail}"
            advice = hint(exc) if callable(hint) else hint
            raise StoreError(provider, text, hint=advice) from exc

    return translating()
