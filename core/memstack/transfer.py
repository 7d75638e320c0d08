"""Export and import: every memory with its history, as JSON Lines, between any two configs.

The format (one JSON object per line):

- ``{"type": "header", "format": "memstack-export", "version": 1, "embedder": {...}}`` first;
  `embedder` (provider, model settings, dimension) tells an import whether the stored vectors
  can be kept or must be re-embedded;
- ``{"type": "memory", "id", "text", "hash", "user_id", "agent_id", "run_id", "actor_id",
  "role", "metadata", "created_at", "updated_at", "vector", "history": [...]}`` per memory;
- ``{"type": "history", "id", "history": [...]}`` for deleted memories (full exports only:
  their scope is gone with them);
- ``{"type": "end", "memories": N, "histories": M}`` last, so a cut-off stream is detected.

An import is idempotent: ids, timestamps and history entry ids are kept, a memory already
stored with the same text is left alone and a history entry already present is not repeated,
so importing the same file twice adds nothing. The CLI (`memstack export` / `memstack import`)
and the server (`GET /v1/export`, `POST /v1/import`) share this module. No backend is imported.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import nullcontext
from dataclasses import asdict, dataclass
from typing import Any

from memstack import journal
from memstack.capabilities import BULK_LOAD
from memstack.errors import InvalidInput
from memstack.filters import parse_filter
from memstack.inputs import RESERVED_KEYS, check_metadata, check_scope, check_text
from memstack.models import HistoryEntry, Record, Scope
from memstack.payload import build_payload, content_hash
from memstack.progress import progress as show_progress
from memstack.protocols import BulkLoads

FORMAT = "memstack-export"
VERSION = 1
PAGE = 500
# Imports this large (and at least the collection's size) run in the store's bulk load block.
BULK_MIN = 10_000
_SECRET_WORDS = ("key", "secret", "token", "password", "dsn")
_HISTORY_FIELDS = ("entry_id", "event", "old_memory", "new_memory", "old_hash", "new_hash",
                   "actor_id", "role", "created_at")
_MEMORY_FIELDS = {"type", "id", "text", "hash", "user_id", "agent_id", "run_id", "actor_id",
                  "role", "metadata", "created_at", "updated_at", "fields", "vector", "history"}
# Payload keys the line names on its own; other engine-owned keys (validity times, supersession,
# whatever later versions add) travel verbatim in "fields", so a restore loses none of them.
_EXPLICIT = frozenset({"text", "hash", "user_id", "agent_id", "run_id", "actor_id", "role",
                       "created_at", "updated_at", "data", "memory", "id", "score", "metadata"})


@dataclass
class ImportSummary:
    """What an import did. `reembedded`: memories whose vectors were computed anew."""

    memories: int = 0
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    history_added: int = 0
    reembedded: int = 0

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


def embedder_signature(memory: Any) -> dict[str, Any]:
    """Provider, its settings (no secrets) and dimension: equal signatures, equal vectors."""
    section = memory.config.embedder
    settings = {k: v for k, v in sorted(section.config.items())
                if not any(w in k.lower() for w in _SECRET_WORDS)}
    return {"provider": memory.names.get("embedder", section.provider), "config": settings,
            "dimension": int(memory.embedder.dimension)}


# --- export -----------------------------------------------------------------------------------
def _entry(e: HistoryEntry) -> dict[str, Any]:
    return {k: getattr(e, k) for k in _HISTORY_FIELDS}


def _records(memory: Any, scope: dict[str, str] | None) -> Iterator[list[Record]]:
    node = parse_filter(scope) if scope else None
    offset = 0
    while True:  # `list` has a stable order, so offset pages neither repeat nor skip
        page = memory.store.list(filters=node, limit=PAGE, offset=offset)
        if not page:
            return
        offset += len(page)
        yield page


def export_lines(memory: Any, *, scope: dict[str, str] | None = None,
                 vectors: bool = True) -> Iterator[str]:
    """The export as JSON lines (each ends with a newline); everything when `scope` is None."""
    if scope:
        check_scope(**scope)
    yield json.dumps({"type": "header", "format": FORMAT, "version": VERSION,
                      "embedder": embedder_signature(memory), "scope": scope or None}) + "\n"
    seen: set[str] = set()
    count = 0
    for page in _records(memory, scope):
        with_vec = {r.id: r.vector for r in memory.store.get([r.id for r in page],
                                                             with_vectors=True)} \
            if vectors else {}
        for r in page:
            p = r.payload
            line: dict[str, Any] = {
                "type": "memory", "id": r.id, "text": p.get("text", ""), "hash": p.get("hash"),
                "user_id": p.get("user_id"), "agent_id": p.get("agent_id"),
                "run_id": p.get("run_id"), "actor_id": p.get("actor_id"), "role": p.get("role"),
                "metadata": {k: v for k, v in p.items() if k not in RESERVED_KEYS},
                "created_at": p.get("created_at"), "updated_at": p.get("updated_at"),
                "fields": {k: v for k, v in p.items() if k in RESERVED_KEYS
                           and k not in _EXPLICIT},
                "history": [_entry(e) for e in memory.history_store.history(r.id)],
            }
            vec = with_vec.get(r.id)
            if vec is not None:
                line["vector"] = [float(x) for x in vec]
            seen.add(r.id)
            count += 1
            yield json.dumps(line, ensure_ascii=False) + "\n"
    histories = 0
    if not scope:
        for mid in memory.history_store.memory_ids():
            if mid in seen:
                continue
            entries = memory.history_store.history(mid)
            if entries:
                histories += 1
                yield json.dumps({"type": "history", "id": mid,
                                  "history": [_entry(e) for e in entries]},
                                 ensure_ascii=False) + "\n"
    yield json.dumps({"type": "end", "memories": count, "histories": histories}) + "\n"


# --- import -----------------------------------------------------------------------------------
@dataclass
class _Item:
    line: int
    kind: str
    id: str
    scope: Scope | None = None
    text: str = ""
    metadata: dict[str, Any] | None = None
    actor_id: str | None = None
    role: str | None = None
    created_at: str | None = None
    updated_at: str | None = None
    vector: list[float] | None = None
    history: list[HistoryEntry] | None = None
    fields: dict[str, Any] | None = None


def is_export(first_line: str) -> bool:
    """Whether a file starting with this line is a memstack export (else: one text per line)."""
    try:
        obj = json.loads(first_line)
    except ValueError:
        return False
    return isinstance(obj, dict) and obj.get("type") == "header" and obj.get("format") == FORMAT


def _str(obj: dict[str, Any], name: str, where: str, *, required: bool = False) -> str | None:
    value = obj.get(name)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value:
        raise InvalidInput(f"{where}: field {name!r} must be a non-empty string, got {value!r:.80}")
    return value


def _history(raw: Any, memory_id: str, where: str) -> list[HistoryEntry]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise InvalidInput(f"{where}: field 'history' must be a list, got {type(raw).__name__}")
    out = []
    for n, e in enumerate(raw):
        if not isinstance(e, dict):
            raise InvalidInput(f"{where}: history[{n}] must be an object")
        try:
            out.append(HistoryEntry(memory_id=memory_id, committed=False,
                                    writer=journal.current_writer(),
                                    **{k: e.get(k) for k in _HISTORY_FIELDS if k in e}))
        except ValueError as exc:
            msg = str(exc).splitlines()
            raise InvalidInput(f"{where}: history[{n}] is not a history entry: "
                               f"{' '.join(msg[1:3]) or msg[0]}") from None
    return out


def parse_lines(lines: Iterable[str], *, max_text_chars: int = 100_000
                ) -> tuple[dict[str, Any] | None, list[_Item]]:
    """(header or None, items), every line checked before anything is written."""
    header: dict[str, Any] | None = None
    items: list[_Item] = []
    ended = False
    for n, raw in enumerate(lines, 1):
        if not raw.strip():
            continue
        where = f"line {n}"
        try:
            obj = json.loads(raw)
        except ValueError as exc:
            raise InvalidInput(f"{where}: not valid JSON: {exc}") from None
        if not isinstance(obj, dict):
            raise InvalidInput(f"{where}: expected a JSON object, got {type(obj).__name__}")
        kind = obj.get("type")
        if ended:
            raise InvalidInput(f"{where}: a line after the 'end' line")
        if kind == "header":
            if n != 1 and items:
                raise InvalidInput(f"{where}: the header must be the first line")
            if obj.get("format") != FORMAT or obj.get("version") != VERSION:
                raise InvalidInput(f"{where}: format {obj.get('format')!r} version "
                                   f"{obj.get('version')!r} is not {FORMAT!r} version {VERSION}")
            header = obj
        elif kind == "end":
            ended = True
        elif kind == "history":
            mid = _str(obj, "id", where, required=True)
            assert mid is not None
            items.append(_Item(n, "history", mid, history=_history(obj.get("history"), mid,
                                                                     where)))
        elif kind in ("memory", None):
            items.append(_memory_item(obj, n, where, max_text_chars))
        else:
            raise InvalidInput(f"{where}: field 'type' is {kind!r}; allowed: header, memory, "
                               "history, end")
    return header, items


def _memory_item(obj: dict[str, Any], n: int, where: str, max_chars: int) -> _Item:
    unknown = sorted(set(obj) - _MEMORY_FIELDS)
    if unknown:
        raise InvalidInput(f"{where}: unknown field(s) {unknown}; allowed: "
                           f"{', '.join(sorted(_MEMORY_FIELDS))}")
    text = obj.get("text")
    if not isinstance(text, str):
        raise InvalidInput(f"{where}: field 'text' must be a string, got {text!r:.80}")
    text = check_text(text, max_chars, f"{where}: text")
    try:
        scope = check_scope(obj.get("user_id"), obj.get("agent_id"), obj.get("run_id"))
    except InvalidInput as exc:
        raise InvalidInput(f"{where}: {exc}") from None
    meta = obj.get("metadata") or {}
    try:
        meta = check_metadata(meta)
    except InvalidInput as exc:
        raise InvalidInput(f"{where}: field 'metadata': {exc}") from None
    from memstack.payload import memory_id

    mid = _str(obj, "id", where) or memory_id(scope, content_hash(text))
    vector = obj.get("vector")
    if vector is not None and (not isinstance(vector, list) or not all(
            isinstance(x, int | float) and not isinstance(x, bool) and math.isfinite(x)
            for x in vector)):
        raise InvalidInput(f"{where}: field 'vector' must be a list of finite numbers")
    fields = obj.get("fields") or {}
    if not isinstance(fields, dict):
        raise InvalidInput(f"{where}: field 'fields' must be an object")
    bad = sorted(k for k, v in fields.items() if k not in RESERVED_KEYS or k in _EXPLICIT
                 or not (v is None or isinstance(v, str | int | float | bool)))
    if bad:
        raise InvalidInput(f"{where}: 'fields' has keys that are not engine fields or values "
                           f"that are not scalars: {bad}")
    return _Item(n, "memory", mid, scope=scope, text=text, metadata=meta, fields=fields,
                 actor_id=_str(obj, "actor_id", where), role=_str(obj, "role", where),
                 created_at=_str(obj, "created_at", where),
                 updated_at=_str(obj, "updated_at", where), vector=vector,
                 history=_history(obj.get("history"), mid, where))


def import_lines(memory: Any, lines: Iterable[str], *,
                 check_scope_of: Callable[[Scope, int], None] | None = None,
                 progress: bool = False) -> ImportSummary:
    """Import an export into `memory`; nothing is written unless every line is valid (and, with
    `check_scope_of`, every memory's scope is allowed)."""
    header, items = parse_lines(lines, max_text_chars=memory.config.max_text_chars)
    if check_scope_of is not None:
        for it in items:
            if it.kind == "history":
                check_scope_of(Scope(), it.line)  # a deleted memory's scope is unknown
            else:
                assert it.scope is not None
                check_scope_of(it.scope, it.line)
    same_embedder = header is not None and header.get("embedder") == embedder_signature(memory)
    summary = ImportSummary()
    batch = max(1, min(memory.config.batch_size, PAGE))
    bulk = _bulk(memory.store, sum(it.kind == "memory" for it in items))
    with show_progress(progress, len(items), "importing memories") as advance, \
            (bulk.bulk_load() if bulk else nullcontext()):
        for start in range(0, len(items), batch):
            chunk = items[start:start + batch]
            _import_chunk(memory, chunk, same_embedder, summary)
            advance(len(chunk))
        if bulk:  # the block's end builds the store's indexes: minutes on a large collection
            advance.then("building the store's indexes")
    return summary


def _bulk(store: Any, incoming: int) -> BulkLoads | None:
    """The store, when this import runs in its bulk load block (capability `bulk_load`): an
    import of at least BULK_MIN memories that at least doubles the collection. Not otherwise:
    a store that builds its indexes again after the block would rebuild a large collection for
    a small import."""
    if (BULK_LOAD in store.capabilities and isinstance(store, BulkLoads)
            and incoming >= BULK_MIN and incoming >= store.count()):
        return store
    return None


def _embed(memory: Any, texts: Sequence[str]) -> list[list[float]]:
    dim = int(memory.embedder.dimension)
    vectors = memory.embedder.embed(list(texts), kind="document")
    if len(vectors) != len(texts) or any(len(v) != dim for v in vectors):
        raise InvalidInput("the embedder returned vectors of the wrong number or dimension")
    return [list(map(float, v)) for v in vectors]


def _import_chunk(memory: Any, chunk: Sequence[_Item], same_embedder: bool,
                  summary: ImportSummary) -> None:
    store, history = memory.store, memory.history_store
    mems = [it for it in chunk if it.kind == "memory"]
    dim = int(memory.embedder.dimension)
    todo = [it for it in mems
            if not (same_embedder and it.vector is not None and len(it.vector) == dim)]
    fresh = dict(zip((id(it) for it in todo), _embed(memory, [it.text for it in todo]),
                     strict=True)) if todo else {}
    summary.reembedded += len(todo)
    lock = getattr(memory, "_write_lock", None) or nullcontext()
    with lock:
        current = {r.id: r.payload for r in store.get([it.id for it in mems])}
        records: list[Record] = []
        entries: list[HistoryEntry] = []
        for it in chunk:
            known = {e.entry_id for e in history.history(it.id)}
            missing = [e for e in it.history or [] if e.entry_id not in known]
            entries.extend(missing)
            summary.history_added += len(missing)
            if it.kind != "memory":
                continue
            summary.memories += 1
            assert it.scope is not None
            old = current.get(it.id)
            h = content_hash(it.text)
            if old is not None and old.get("hash") == h:
                summary.unchanged += 1
                continue
            payload = build_payload(it.text, it.scope, it.metadata or {}, actor_id=it.actor_id,
                                    role=it.role, created_at=it.created_at,
                                    updated_at=it.updated_at)
            payload.update(it.fields or {})
            vec = fresh.get(id(it)) or [float(x) for x in it.vector or []]
            records.append(Record.model_construct(id=it.id, vector=vec, payload=payload))
            if old is None:
                summary.added += 1
                if not it.history:  # a memory without history gets its ADD, as `add` writes
                    entries.append(journal.new_entry(it.id, "ADD", new=it.text, new_hash=h,
                                                     actor_id=it.actor_id, role=it.role))
            else:
                summary.updated += 1
                entries.append(journal.new_entry(it.id, "UPDATE", old=old.get("text"),
                                                 new=it.text, old_hash=old.get("hash"),
                                                 new_hash=h, actor_id=it.actor_id))
        if not entries and not records:
            return
        memory._writer.write(entries, upsert=records)  # the engine's one journaled write
