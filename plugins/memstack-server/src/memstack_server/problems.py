"""Errors as RFC 9457 problem documents: one HTTP status per memstack error, no tracebacks.

Every body has `type`, `title`, `status`, `detail`, `instance` (the path) and `request_id`;
validation problems list each offending field in `errors`. Messages come from memstack's own
errors, which name the field and what is allowed; they never contain keys (the server never puts
a key into an error, and the engine never sees one).
"""

from __future__ import annotations

import logging
import re
from typing import Any

from pydantic import BaseModel, Field

from memstack import errors as E

PROBLEM_TYPE = "application/problem+json"
log = logging.getLogger("memstack_server")

# Most specific first: the first class an error is an instance of decides.
STATUS: list[tuple[type[BaseException], int, str]] = [
    (E.MemoryNotFound, 404, "not-found"),
    (E.FilterError, 400, "bad-filter"),
    (E.UnsupportedFeature, 400, "unsupported"),
    (E.ScopeError, 422, "bad-scope"),
    (E.DimensionMismatch, 422, "dimension-mismatch"),
    (E.InvalidInput, 422, "invalid-input"),
    (E.ProviderNotFound, 500, "misconfigured"),
    (E.ConfigError, 400, "not-configured"),
    (E.ProviderAuthError, 502, "upstream-auth"),
    (E.ProviderModelNotFound, 502, "upstream-model"),
    (E.ProviderBadRequest, 502, "upstream-refused"),
    (E.ProviderBadResponse, 502, "upstream-bad-response"),
    (E.LLMOutputError, 502, "upstream-bad-response"),
    (E.ProviderRateLimited, 503, "upstream-rate-limited"),
    (E.ProviderTimeout, 503, "upstream-timeout"),
    (E.ProviderUnavailable, 503, "backend-unavailable"),
    (E.ProviderError, 503, "backend-unavailable"),  # StoreError included
    (E.PluginError, 500, "plugin-failed"),
    (E.MemstackError, 500, "internal"),
]
TITLES = {
    400: "Bad request", 401: "Unauthorized", 403: "Forbidden", 404: "Not found",
    405: "Method not allowed", 413: "Request too large", 415: "Unsupported media type",
    422: "Invalid input", 429: "Too many requests", 500: "Internal error",
    502: "Upstream provider failed", 503: "Backend unavailable",
}
RETRY_AFTER_SECONDS = 5
# Anything shaped like one of our keys, wherever a client put it (a path, a query, a body).
KEY_LIKE = re.compile(r"msk_[0-9a-f]{12}_[A-Za-z0-9_-]{43}")


def redact(text: str) -> str:
    """`text` with every API-key-shaped string replaced: errors and logs never carry a key,
    even one a client pasted into a URL or a field by mistake."""
    return KEY_LIKE.sub("msk_***", text) if "msk_" in text else text


class FieldProblem(BaseModel):
    field: str = Field(description="where: body.limit, query.filters, filters.OR[1].age.gte, ...")
    message: str


class Problem(BaseModel):
    """An RFC 9457 problem document."""

    type: str = Field(description="a URN naming the kind of problem")
    title: str
    status: int
    detail: str
    instance: str | None = None
    request_id: str | None = None
    errors: list[FieldProblem] | None = None


def problem(status: int, slug: str, detail: str, *, instance: str | None = None,
            request_id: str | None = None, errors: list[dict[str, str]] | None = None
            ) -> dict[str, Any]:
    body: dict[str, Any] = {"type": f"urn:memstack:problem:{slug}",
                            "title": TITLES.get(status, "Error"), "status": status,
                            "detail": redact(detail),
                            "instance": redact(instance) if instance else instance,
                            "request_id": request_id}
    if errors:
        body["errors"] = [{k: redact(v) for k, v in e.items()} for e in errors]
    return body


def classify(exc: BaseException) -> tuple[int, str]:
    for cls, status, slug in STATUS:
        if isinstance(exc, cls):
            return status, slug
    return 500, "internal"


def field_of(exc: BaseException) -> str | None:
    """The field a memstack error is about, when it says."""
    if isinstance(exc, E.FilterError):
        return "filters" + (f".{exc.path}" if exc.path else "")
    if isinstance(exc, E.ScopeError):
        return "scope"
    field = getattr(exc, "field", None)
    return str(field) if field else None


def responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` entries for the problem statuses an operation may answer."""
    return {s: {"model": Problem, "description": TITLES.get(s, "Error"),
                "content": {PROBLEM_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}}}
            for s in statuses}
