"""One pure-ASGI middleware for what every request needs: a request id, a body-size bound,
an access-log line and the HTTP metrics. Pure ASGI (not BaseHTTPMiddleware) because it runs on
every request and must not buffer streamed responses such as /v1/export."""

from __future__ import annotations

import contextvars
import json
import logging
import re
import time
import uuid
from typing import Any

from memstack_server.metrics import METRICS
from memstack_server.problems import PROBLEM_TYPE, problem, redact

REQUEST_ID: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")
_GOOD_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
access_log = logging.getLogger("memstack_server.access")

Scope = dict[str, Any]


class RequestIdFilter(logging.Filter):
    """Puts the current request id on every log record (`%(request_id)s`) and redacts
    anything shaped like an API key from the message."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = REQUEST_ID.get()
        message = record.getMessage()
        if "msk_" in message:
            record.msg, record.args = redact(message), None
        return True


class BodyTooLarge(Exception):
    pass


class RequestContext:
    def __init__(self, app: Any, *, max_body: int, max_import_body: int,
                 import_path: str = "/v1/import") -> None:
        self.app = app
        self.max_body = max_body
        self.max_import_body = max_import_body
        self.import_path = import_path

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = ""
        for name, value in scope.get("headers", ()):
            if name == b"x-request-id":
                given = value.decode("latin-1")
                break
        rid = given if _GOOD_ID.match(given) else uuid.uuid4().hex
        token = REQUEST_ID.set(rid)
        scope.setdefault("state", {})["request_id"] = rid
        start = time.perf_counter()
        status = {"code": 500, "started": False}
        limit = self.max_import_body if scope["path"] == self.import_path else self.max_body
        header_id = (b"x-request-id", rid.encode())

        async def send_wrapped(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
                status["started"] = True
                message["headers"] = [*message.get("headers", []), header_id]
            await send(message)

        try:
            length = _content_length(scope)
            if length is not None and length > limit:
                await self._too_large(scope, send_wrapped, limit, rid)
                return
            received = 0

            async def receive_bounded() -> dict[str, Any]:
                nonlocal received
                message = await receive()
                if message["type"] == "http.request":
                    received += len(message.get("body", b""))
                    if received > limit:
                        raise BodyTooLarge
                return message  # type: ignore[no-any-return]

            try:
                await self.app(scope, receive_bounded, send_wrapped)
            except BodyTooLarge:
                if not status["started"]:
                    await self._too_large(scope, send_wrapped, limit, rid)
            except Exception as exc:  # a bug: logged with its traceback, answered without
                logging.getLogger("memstack_server").exception("unhandled error")
                METRICS.error(type(exc).__name__)
                if not status["started"]:
                    await self._problem(scope, send_wrapped, 500, "internal", (
                        f"internal error ({type(exc).__name__}); the server log has the details "
                        f"under request id {rid}"), rid)
        finally:
            seconds = time.perf_counter() - start
            route = getattr(scope.get("route"), "path", None) or "unmatched"
            METRICS.request(scope["method"], route, int(status["code"]), seconds)
            access_log.info("%s %s %s %.1fms", scope["method"], redact(scope["path"]),
                            status["code"],
                            seconds * 1000)
            REQUEST_ID.reset(token)

    @classmethod
    async def _too_large(cls, scope: Scope, send: Any, limit: int, rid: str) -> None:
        METRICS.error("BodyTooLarge")
        await cls._problem(scope, send, 413, "body-too-large",
                           f"the request body is larger than {limit} bytes, the limit of this "
                           "server (server.limits)", rid,
                           errors=[{"field": "body", "message": f"at most {limit} bytes"}])

    @staticmethod
    async def _problem(scope: Scope, send: Any, status: int, slug: str, detail: str, rid: str,
                       errors: list[dict[str, str]] | None = None) -> None:
        body = json.dumps(problem(status, slug, detail, instance=scope["path"],
                                  request_id=rid, errors=errors)).encode()
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", PROBLEM_TYPE.encode()),
                                (b"content-length", str(len(body)).encode()),
                                (b"connection", b"close")]})
        await send({"type": "http.response.body", "body": body})


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None
