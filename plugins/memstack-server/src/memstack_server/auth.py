"""Who is calling, what they may touch, and how often: API keys, scopes, read-only, rate limits.

A scoped key's scope is merged into every request: a request may narrow it (add an agent_id to
a user_id key) but never name another value (403). By-id operations always run inside the key's
scope, so a memory outside it is simply not found (404, which does not reveal that it exists).
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass
from typing import Any

from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from memstack_server.keys import SCOPE_KEYS, ApiKey


class ApiProblem(Exception):
    """An HTTP-level refusal (auth, scope, limits) answered as a problem document."""

    def __init__(self, status: int, slug: str, detail: str, *, field: str | None = None,
                 headers: dict[str, str] | None = None) -> None:
        self.status = status
        self.slug = slug
        self.detail = detail
        self.field = field
        self.headers = headers or {}
        super().__init__(detail)


@dataclass(frozen=True)
class Principal:
    """The caller: a key, or (auth disabled, loopback only) everyone as admin."""

    key: ApiKey | None

    @property
    def admin(self) -> bool:
        return self.key is None or self.key.admin

    @property
    def read_only(self) -> bool:
        return self.key is not None and self.key.read_only

    @property
    def id(self) -> str:
        return self.key.id if self.key else "anonymous"

    def scope(self, requested: dict[str, Any]) -> dict[str, str]:
        """The scope a request acts in: the requested one, inside the key's (403 otherwise)."""
        given = {k: v for k, v in requested.items() if k in SCOPE_KEYS and v is not None}
        if self.admin or self.key is None:
            return given
        for name, bound in self.key.scope.items():
            if name in given and given[name] != bound:
                raise ApiProblem(403, "scope-not-allowed",
                                 f"this key is bound to {name}={bound!r}; it may not act in "
                                 f"{name}={given[name]!r}", field=name)
        return {**given, **self.key.scope}


class RateLimiter:
    """A token bucket per key (per instance): `rate` per second, up to `burst` at once."""

    def __init__(self, rate: float, burst: int) -> None:
        self.rate = rate
        self.burst = burst
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def take(self, who: str) -> float:
        """0 when allowed, else the seconds until one request would be."""
        now = time.monotonic()
        with self._lock:
            tokens, last = self._buckets.get(who, (float(self.burst), now))
            tokens = min(float(self.burst), tokens + (now - last) * self.rate)
            if tokens >= 1.0:
                self._buckets[who] = (tokens - 1.0, now)
                return 0.0
            self._buckets[who] = (tokens, now)
            return (1.0 - tokens) / self.rate


bearer = HTTPBearer(auto_error=False, description="an API key from `memstack keys create`; "
                    "X-API-Key works too")


async def authenticate(request: Request,
                       credentials: HTTPAuthorizationCredentials | None = Depends(bearer)
                       ) -> Principal:
    """Async, so a request whose key is in the cache costs no thread hop; a cache miss reads
    the key database in the thread pool."""
    app = request.app
    settings = app.state.settings
    if not settings.auth.enabled:
        principal = Principal(None)
    else:
        raw = credentials.credentials if credentials else request.headers.get("x-api-key")
        if not raw:
            raise ApiProblem(401, "unauthorized",
                             "an API key is required: send 'Authorization: Bearer <key>'",
                             headers={"WWW-Authenticate": "Bearer"})
        keys = app.state.keys
        known, key = keys.cached(raw)
        if not known:
            key = await run_in_threadpool(keys.verify, raw)
        if key is None:
            raise ApiProblem(401, "unauthorized", "the API key is not valid or was revoked",
                             headers={"WWW-Authenticate": "Bearer"})
        principal = Principal(key)
    wait = app.state.rate_limiter.take(principal.id)
    if wait > 0:
        raise ApiProblem(429, "rate-limited",
                         f"this key made more than {settings.limits.rate_per_second:g} "
                         "requests per second; retry later",
                         headers={"Retry-After": str(max(1, math.ceil(wait)))})
    return principal


async def writer(principal: Principal = Depends(authenticate)) -> Principal:
    if principal.read_only:
        raise ApiProblem(403, "read-only-key", "this key is read-only; it may list, get, "
                         "search and export, not change memories")
    return principal
