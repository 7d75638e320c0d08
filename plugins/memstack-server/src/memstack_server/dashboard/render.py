"""Rendering: the Jinja2 environment, security headers, and friendly error pages.

Every dashboard response carries a strict Content-Security-Policy (scripts and styles only from
``/ui/static``, no inline code, no framing) and ``Cache-Control: no-store`` (pages show memory
contents). Errors never show a traceback or an exception's text unless it is one of memstack's
own user-facing errors; unexpected ones show a request id to quote instead.
"""

from __future__ import annotations

import logging
import traceback
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.exceptions import HTTPException as StarletteHTTPException

from memstack.errors import (
    ConfigError,
    FilterError,
    InvalidInput,
    MemoryNotFound,
    ProviderError,
    UnsupportedFeature,
)
from memstack_server.dashboard.access import SCOPE_LABELS, ReadOnlyKey, ScopeForbidden

log = logging.getLogger("memstack_server.dashboard")
HERE = Path(__file__).parent
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self'; "
    "img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


def scope_query(scope: dict[str, str], **extra: Any) -> str:
    """``?user_id=...&q=...`` for a link inside a scope (empty values dropped)."""
    params = {**scope, **{k: v for k, v in extra.items() if v not in (None, "")}}
    return "?" + urlencode(params) if params else ""


def _short(value: str | None, n: int = 12) -> str:
    return "" if not value else (value if len(value) <= n else value[:n] + "…")


def _when(value: str | None) -> str:
    """ISO 8601 UTC → ``2026-12-05 14:13:02 UTC`` (what a person scans a timeline by)."""
    if not value:
        return ""
    return value.replace("T", " ")[:19] + (" UTC" if "+00:00" in value or "Z" in value else "")


env = Environment(loader=FileSystemLoader(HERE / "templates"),
                  autoescape=select_autoescape(default=True, default_for_string=True),
                  trim_blocks=True, lstrip_blocks=True)
env.globals.update(scope_query=scope_query, scope_labels=SCOPE_LABELS)
env.filters.update(short=_short, when=_when)


def request_id(request: Request) -> str | None:
    """The id the app gave this request (request.state, ASGI scope or header), if any."""
    for holder in (getattr(request.state, "request_id", None),
                   request.scope.get("request_id"),
                   request.headers.get("x-request-id")):
        if holder:
            return str(holder)[:128]
    return None


def secure(response: Response) -> Response:
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    return response


def render(request: Request, template: str, status: int = 200, **context: Any) -> HTMLResponse:
    context.setdefault("viewer", getattr(request.state, "dashboard_viewer", None))
    context.setdefault("csrf_token", getattr(request.state, "dashboard_csrf", ""))
    context.setdefault("request_id", request_id(request))
    context.setdefault("nav", "")
    context.setdefault("response_status", status)
    html = env.get_template(template).render(request=request, **context)
    return secure(HTMLResponse(html, status_code=status))  # type: ignore[return-value]


# (status, title) per error class, most specific first; the message is shown only for
# memstack's own errors and the dashboard's, which are written for the user.
_KNOWN: list[tuple[type[BaseException], int, str]] = [
    (ScopeForbidden, 403, "Outside your key's scope"),
    (ReadOnlyKey, 403, "This key is read-only"),
    (MemoryNotFound, 404, "Memory not found"),
    (FilterError, 400, "Filter not accepted"),
    (UnsupportedFeature, 400, "Not supported by this store"),
    (InvalidInput, 422, "Input not accepted"),
    (ConfigError, 400, "Not available with this configuration"),
    (ProviderError, 503, "A backend is unavailable"),
]
_DETAILS = {
    ReadOnlyKey: "Keys created with --read-only can look but not change or delete memories.",
    MemoryNotFound: "No memory with that id in the scopes this key can see. It may have been "
                    "deleted.",
    ProviderError: "The store or a provider did not answer. Try again in a moment; the health "
                   "panel on the Stack page shows which part is down.",
}


def error_page(request: Request, exc: BaseException) -> HTMLResponse:
    """A friendly page for `exc`; unexpected exceptions are logged, never shown."""
    known = next(((s, t) for c, s, t in _KNOWN if isinstance(exc, c)), None)
    if known is not None:
        status, title = known
        detail = next((d for c, d in _DETAILS.items() if isinstance(exc, c)), str(exc))
    else:
        if isinstance(exc, StarletteHTTPException):
            status, title = exc.status_code, "Page not found" if exc.status_code == 404 \
                else "Request refused"
            detail = str(exc.detail) if exc.status_code < 500 else "The server failed."
        elif isinstance(exc, RequestValidationError):
            status, title = 422, "Input not accepted"
            detail = "; ".join(f"{'.'.join(str(p) for p in e.get('loc', ())[1:])}: "
                               f"{e.get('msg', '')}" for e in exc.errors())
        else:
            status, title = 500, "Something went wrong"
            detail = "The dashboard hit an unexpected error. Nothing was changed by this page."
            # The type and the frames only: an exception's text may quote a connection string.
            log.error("dashboard error on %s %s (request id %s): %s\n%s", request.method,
                      request.url.path, request_id(request), type(exc).__name__,
                      "".join(traceback.format_tb(exc.__traceback__)).rstrip())
    if status == 503:
        response = render(request, "error.html", status, title=title, detail=detail)
        response.headers["Retry-After"] = "5"
        return response
    return render(request, "error.html", status, title=title, detail=detail)
