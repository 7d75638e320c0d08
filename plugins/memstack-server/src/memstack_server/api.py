"""The /v1 routes: thin over `Memory`, with the caller's scope applied to every call.

Routes are plain `def`s: `Memory` is synchronous and thread-safe, so FastAPI runs them in its
thread pool and the event loop stays free.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import StreamingResponse

from memstack.models import MemoryEvent, MemoryItem, Scope
from memstack_server import pagination
from memstack_server.auth import ApiProblem, Principal, authenticate, writer
from memstack_server.problems import responses
from memstack_server.schemas import (
    AddRequest,
    AddResponse,
    DeleteScopeResponse,
    HistoryResponse,
    ImportResponse,
    MemoryPage,
    SearchRequest,
    SearchResponse,
    UpdateRequest,
)

router = APIRouter(prefix="/v1", responses=responses(400, 401, 403, 413, 422, 429, 503))
ScopeQuery = Annotated[str | None, Query(min_length=1, max_length=256)]


def _memory(request: Request) -> Any:
    return request.app.state.memory


def _limits(request: Request) -> Any:
    return request.app.state.settings.limits


def _json_filters(raw: str | None) -> dict[str, Any] | None:
    if raw is None:
        return None
    try:
        value = json.loads(raw)
    except ValueError as exc:
        raise ApiProblem(400, "bad-filter", f"filters is not valid JSON: {exc}",
                         field="query.filters") from None
    if not isinstance(value, dict):
        raise ApiProblem(400, "bad-filter", "filters must be a JSON object, e.g. "
                         '{"topic": "food"}', field="query.filters")
    return value


def _by_id_scope(principal: Principal, user_id: str | None, agent_id: str | None,
                 run_id: str | None) -> dict[str, str]:
    return principal.scope({"user_id": user_id, "agent_id": agent_id, "run_id": run_id})


def _not_found(memory_id: str) -> ApiProblem:
    return ApiProblem(404, "not-found", f"no memory with id {memory_id!r} that this key may "
                      "see", field="memory_id")


@router.post("/memories", response_model=AddResponse, tags=["memories"],
             summary="Add memories (string, chat message or list)")
def add_memories(body: AddRequest, request: Request,
                 principal: Principal = Depends(writer)) -> Any:
    messages: Any = body.messages
    count = len(messages) if isinstance(messages, list) else 1
    limit = _limits(request).max_batch
    if count > limit:
        raise ApiProblem(422, "batch-too-large", f"messages has {count} items; at most {limit} "
                         "per request (server.limits.max_batch)", field="body.messages")
    if isinstance(messages, list):
        messages = [m if isinstance(m, str) else m.model_dump(exclude_none=True)
                    for m in messages]
    elif not isinstance(messages, str):
        messages = messages.model_dump(exclude_none=True)
    scope = principal.scope(body.model_dump(include={"user_id", "agent_id", "run_id"}))
    result = _memory(request).add(messages, **scope, metadata=body.metadata, infer=body.infer,
                                  actor_id=body.actor_id)
    return result


@router.get("/memories", response_model=MemoryPage, tags=["memories"],
            summary="List a scope's memories, a page at a time")
def list_memories(
    request: Request,
    principal: Principal = Depends(authenticate),
    user_id: ScopeQuery = None, agent_id: ScopeQuery = None, run_id: ScopeQuery = None,
    filters: Annotated[str | None, Query(description="a JSON filter, e.g. "
                                         '{"topic": {"in": ["food", "travel"]}}')] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    cursor: Annotated[str | None, Query(max_length=2048,
                                        description="`next` of the previous page")] = None,
) -> Any:
    scope = principal.scope({"user_id": user_id, "agent_id": agent_id, "run_id": run_id})
    limit = min(limit, _limits(request).max_page)
    items, nxt = pagination.page(_memory(request), scope, _json_filters(filters), limit, cursor)
    return MemoryPage(results=items, next=nxt)


@router.delete("/memories", response_model=DeleteScopeResponse, tags=["memories"],
               summary="Delete every memory of a scope (histories stay)")
def delete_scope(request: Request, principal: Principal = Depends(writer),
                 user_id: ScopeQuery = None, agent_id: ScopeQuery = None,
                 run_id: ScopeQuery = None) -> Any:
    if user_id is None and agent_id is None and run_id is None:
        raise ApiProblem(422, "bad-scope", "give user_id, agent_id or run_id: deleting "
                         "everything at once is not offered", field="query.user_id")
    scope = principal.scope({"user_id": user_id, "agent_id": agent_id, "run_id": run_id})
    events = _memory(request).delete_all(**scope)
    return DeleteScopeResponse(deleted=len(events), results=events)


@router.get("/memories/{memory_id}", response_model=MemoryItem, tags=["memories"],
            responses=responses(404), summary="One memory")
def get_memory(memory_id: str, request: Request, principal: Principal = Depends(authenticate),
               user_id: ScopeQuery = None, agent_id: ScopeQuery = None,
               run_id: ScopeQuery = None) -> Any:
    item = _memory(request).get(memory_id, **_by_id_scope(principal, user_id, agent_id, run_id))
    if item is None:
        raise _not_found(memory_id)
    return item


@router.patch("/memories/{memory_id}", response_model=MemoryEvent, tags=["memories"],
              responses=responses(404), summary="Replace a memory's text, merge metadata")
def update_memory(memory_id: str, body: UpdateRequest, request: Request,
                  principal: Principal = Depends(writer), user_id: ScopeQuery = None,
                  agent_id: ScopeQuery = None, run_id: ScopeQuery = None) -> Any:
    scope = _by_id_scope(principal, user_id, agent_id, run_id)
    return _memory(request).update(memory_id, body.text, metadata=body.metadata, **scope)


@router.delete("/memories/{memory_id}", response_model=MemoryEvent, tags=["memories"],
               responses=responses(404), summary="Delete one memory (its history stays)")
def delete_memory(memory_id: str, request: Request, principal: Principal = Depends(writer),
                  user_id: ScopeQuery = None, agent_id: ScopeQuery = None,
                  run_id: ScopeQuery = None) -> Any:
    scope = _by_id_scope(principal, user_id, agent_id, run_id)
    return _memory(request).delete(memory_id, **scope)


@router.get("/memories/{memory_id}/history", response_model=HistoryResponse,
            tags=["memories"], responses=responses(404),
            summary="Every change to a memory, oldest first")
def memory_history(memory_id: str, request: Request,
                   principal: Principal = Depends(authenticate), user_id: ScopeQuery = None,
                   agent_id: ScopeQuery = None, run_id: ScopeQuery = None) -> Any:
    memory = _memory(request)
    scope = _by_id_scope(principal, user_id, agent_id, run_id)
    if not principal.admin and memory.get(memory_id, **scope) is None:
        # a scoped key sees the history of a memory in its scope; once deleted, of one whose
        # id derives from its scope and its first text (ids are scope + content hash)
        entries = memory.history(memory_id)
        if not entries or not _derives_from(memory_id, scope, entries[0].new_hash):
            raise _not_found(memory_id)
        return HistoryResponse(results=entries)
    entries = memory.history(memory_id)
    if not entries and memory.get(memory_id) is None:
        raise _not_found(memory_id)
    return HistoryResponse(results=entries)


def _derives_from(memory_id: str, scope: dict[str, str], text_hash: str | None) -> bool:
    from memstack.payload import memory_id as derive

    return bool(text_hash) and derive(Scope(**scope), text_hash or "") == memory_id


@router.post("/search", response_model=SearchResponse, tags=["search"],
             summary="Memories of a scope most relevant to a query")
def search(body: SearchRequest, request: Request,
           principal: Principal = Depends(authenticate)) -> Any:
    scope = principal.scope(body.model_dump(include={"user_id", "agent_id", "run_id"}))
    limit = min(body.limit, _limits(request).max_page)
    return _memory(request).search(body.query, **scope, filters=body.filters, limit=limit,
                                   threshold=body.threshold, rerank=body.rerank)


@router.get("/export", tags=["transfer"], summary="JSON Lines of a scope (or everything, "
            "admin keys) with history",
            response_class=StreamingResponse,
            responses={200: {"description": "memstack export, one JSON object per line",
                             "content": {"application/x-ndjson": {"schema": {"type": "string"}}}}})
def export(request: Request, principal: Principal = Depends(authenticate),
           user_id: ScopeQuery = None, agent_id: ScopeQuery = None, run_id: ScopeQuery = None,
           vectors: bool = True) -> StreamingResponse:
    from memstack.transfer import export_lines

    scope = principal.scope({"user_id": user_id, "agent_id": agent_id, "run_id": run_id})
    lines = export_lines(_memory(request), scope=scope or None, vectors=vectors)
    first = next(lines)  # scope errors surface now, as a problem, not mid-stream

    def stream() -> Any:
        yield first
        yield from lines

    return StreamingResponse(stream(), media_type="application/x-ndjson",
                             headers={"Content-Disposition": 'attachment; '
                                      'filename="memstack-export.jsonl"'})


@router.post("/import", response_model=ImportResponse, tags=["transfer"],
             summary="Import a memstack export (idempotent)",
             openapi_extra={"requestBody": {"required": True, "content": {
                 "application/x-ndjson": {"schema": {"type": "string"}}}}})
async def import_(request: Request, principal: Principal = Depends(writer)) -> Any:
    from memstack.transfer import import_lines

    body = await request.body()
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ApiProblem(422, "invalid-input", f"the body is not UTF-8 (byte {exc.start})",
                         field="body") from None
    lines = text.splitlines()
    limit = _limits(request).max_batch * 100
    if len(lines) > limit:
        raise ApiProblem(422, "batch-too-large", f"the body has {len(lines)} lines; at most "
                         f"{limit} per request", field="body")

    def allowed(scope: Scope, line: int) -> None:
        if principal.admin:
            return
        assert principal.key is not None
        given = scope.as_filter()
        for name, bound in principal.key.scope.items():
            if given.get(name) != bound:
                raise ApiProblem(403, "scope-not-allowed",
                                 f"line {line}: this key is bound to {name}={bound!r}; the "
                                 f"line's memory is in {given or 'an unknown scope'}",
                                 field=f"body.line[{line}]")

    summary = await run_in_threadpool(import_lines, _memory(request), lines,
                                      check_scope_of=allowed)
    return summary.as_dict()
