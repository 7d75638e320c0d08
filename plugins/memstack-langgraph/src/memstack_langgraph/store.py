"""`MemstackStore`: a LangGraph `BaseStore` whose items are memstack memories.

Why: `graph.compile(store=MemstackStore(...))` gives a LangGraph agent long-term memory with
memstack's hybrid (vector + BM25) search, any memstack backend (Chroma on disk, pgvector, Qdrant,
...) and memstack's change history, self-hosted. The item ⇄ memory layout is in `layout`, the
filter translation in `filters`.

Batches behave as LangGraph's `InMemoryStore`: reads see the store as it was before the
batch's writes, and of several writes to one key the last wins.
"""

from __future__ import annotations

import asyncio
import concurrent.futures as cf
import json
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from langgraph.store.base import (
    BaseStore,
    GetOp,
    Item,
    ListNamespacesOp,
    MatchCondition,
    Op,
    PutOp,
    Result,
    SearchItem,
    SearchOp,
    TTLConfig,
    validate_op_namespace,
)

from memstack import Memory
from memstack.models import MemoryItem
from memstack_langgraph import filters as lgf
from memstack_langgraph import layout

PAGE = 500
# A read refreshes an item's expiry only once less than this share of its TTL is left, so an
# item read on every turn is rewritten (re-embedded, one UPDATE in its history) at most about
# twice per TTL period instead of on every read.
REFRESH_WHEN_LEFT = 0.5


class MemstackStore(BaseStore):
    """LangGraph store backed by a memstack `Memory`.

    Args:
        memory: a `memstack.Memory`, or a config for one (dict, file path, None for
            ``$MEMSTACK_CONFIG`` / the local default). A Memory built here is closed by `close()`.
        agent_id: memstack ``agent_id`` of every item: the store's name. Stores with different
            names share nothing, even in one memstack collection.
        user_level: which namespace label is the memstack ``user_id`` (default 0: the first);
            None: no user id.
        index: ``{"fields": [...]}``, the default JSON paths whose text is embedded (LangGraph's
            `IndexConfig.fields`; default ``["$"]``, the whole value). The embedder is memstack's,
            so ``dims`` and ``embed`` are refused.
        ttl: LangGraph's `TTLConfig` (``default_ttl`` minutes, ``refresh_on_read``,
            ``sweep_interval_minutes``). Expired items are never returned.
    """

    supports_ttl: bool = True

    def __init__(self, memory: Memory | Mapping[str, Any] | str | None = None, *,
                 agent_id: str = "langgraph", user_level: int | None = 0,
                 index: Mapping[str, Any] | None = None, ttl: TTLConfig | None = None) -> None:
        self._owns = not isinstance(memory, Memory)
        self.memory: Memory = memory if isinstance(memory, Memory) else Memory(memory)
        if not isinstance(agent_id, str) or not agent_id.strip():
            raise ValueError(f"agent_id must be a non-empty string, got {agent_id!r}")
        if user_level is not None and (not isinstance(user_level, int) or user_level < 0):
            raise ValueError(f"user_level must be a label position (0, 1, ...) or None, "
                             f"got {user_level!r}")
        self.agent_id = agent_id
        self.user_level = user_level
        self.fields = _index_fields(index)
        self.ttl_config = ttl
        self._lock = threading.RLock()
        self._sweeper: threading.Thread | None = None
        self._sweep_stop = threading.Event()
        if ttl and ttl.get("sweep_interval_minutes"):
            self.start_ttl_sweeper()

    # --- scope ----------------------------------------------------------------------------------
    def _scope(self, namespace: Sequence[str]) -> dict[str, str]:
        scope = {"agent_id": self.agent_id}
        lvl = self.user_level
        if lvl is not None and len(namespace) > lvl and namespace[lvl] != "*":
            scope["user_id"] = namespace[lvl]
        return scope

    def _live(self) -> dict[str, Any]:
        """Not expired: no expiry, a blanked one, or one in the future."""
        return {"NOT": {layout.EXPIRES: {"lte": time.time()}}}

    # --- reads --------------------------------------------------------------------------------
    def _find(self, namespace: tuple[str, ...], key: str) -> MemoryItem | None:
        """The memory holding this item (expired or not), newest if a race left two."""
        found = self.memory.get_all(
            **self._scope(namespace), run_id=layout.run_id(namespace, key),
            filters={layout.NAMESPACE: layout.ns_text(namespace), layout.KEY: key}, limit=10)
        items = found.results
        if not items:
            return None
        return max(items, key=lambda m: (m.updated_at or m.created_at))

    def _get(self, op: GetOp) -> Item | None:
        mem = self._find(op.namespace, op.key)
        if mem is None or _expired(mem):
            return None
        if op.refresh_ttl:
            self._refresh([mem])
        return _to_item(mem)

    def _prefix_filter(self, prefix: Sequence[str]) -> list[dict[str, Any]]:
        return [{layout.PREFIXES: {"contains": layout.ns_text(prefix)}}] if prefix else []

    def _scan(self, scope: dict[str, str], conds: list[dict[str, Any]],
              first: int = PAGE) -> Iterable[MemoryItem]:
        """Every memory in the scope passing `conds`, in the store's stable order; pages start
        at `first` records (what the caller expects to need) and double up to PAGE."""
        filt = _and(conds)
        offset, size = 0, max(1, min(first, PAGE))
        while True:
            page = self.memory.get_all(**scope, filters=filt, limit=size, offset=offset).results
            yield from page
            if len(page) < size:
                return
            offset += size
            size = min(size * 2, PAGE)

    def _search(self, op: SearchOp) -> list[SearchItem]:
        lgf.check_filter(op.filter)
        if op.limit < 1 or op.offset < 0:
            return []
        scope = self._scope(op.namespace_prefix)
        conds = [*self._prefix_filter(op.namespace_prefix), self._live(),
                 *lgf.translate(op.filter)]
        want = op.offset + op.limit

        def ok(m: MemoryItem) -> bool:
            return lgf.matches(_value(m), op.filter)

        ranked: list[tuple[MemoryItem, float | None]] = []
        if op.query:
            indexed = [*conds, {layout.INDEXED: True}]
            n = want
            while True:
                hits = self.memory.search(op.query, **scope, filters=_and(indexed),
                                          limit=n).results
                ranked = [(m, m.score) for m in hits if ok(m)]
                if len(ranked) >= want or len(hits) < n:
                    break
                n *= 4
            if len(ranked) < want:  # as InMemoryStore: unindexed matches follow, unscored
                rest = [*conds, {layout.INDEXED: False}]
                for m in self._scan(scope, rest, first=want - len(ranked)):
                    if ok(m):
                        ranked.append((m, None))
                        if len(ranked) >= want:
                            break
        else:
            for m in self._scan(scope, conds, first=want):
                if ok(m):
                    ranked.append((m, None))
                    if len(ranked) >= want:
                        break
        page = ranked[op.offset:want]
        if op.refresh_ttl:
            self._refresh([m for m, _ in page])
        return [_to_search_item(m, s) for m, s in page]

    def _list_namespaces(self, op: ListNamespacesOp) -> list[tuple[str, ...]]:
        conds = list(op.match_conditions or ())
        prefix: tuple[str, ...] = ()
        for c in conds:
            if c.match_type == "prefix":
                fixed = []
                for label in c.path:
                    if label == "*":
                        break
                    fixed.append(label)
                if len(fixed) > len(prefix):
                    prefix = tuple(fixed)
        scope = self._scope(prefix) if prefix else {"agent_id": self.agent_id}
        seen: set[str] = set()
        for m in self._scan(scope, [*self._prefix_filter(prefix), self._live()]):
            seen.add(m.metadata.get(layout.NAMESPACE, ""))
        names = [layout.ns_tuple(s) for s in seen if s]
        names = [ns for ns in names if all(_does_match(c, ns) for c in conds)]
        if op.max_depth is not None:
            names = sorted({ns[:op.max_depth] for ns in names})
        else:
            names = sorted(names)
        return names[op.offset:op.offset + op.limit]

    # --- writes -------------------------------------------------------------------------------
    def _put(self, op: PutOp) -> None:
        ns, key = op.namespace, op.key
        scope = self._scope(ns)
        if op.value is None:
            with self._lock:
                mem = self._find(ns, key)
                if mem is not None:
                    self.memory.delete(mem.id, actor_id="langgraph")
            return
        value_json = layout.encode_value(ns, key, op.value)
        value = dict(op.value)
        fields = self.fields if op.index is None else ([] if op.index is False else op.index)
        texts = layout.index_texts(value, fields)
        text = "\n".join(texts) if texts else f"{layout.ns_text(ns)}/{key}"
        ttl = op.ttl
        expires = time.time() + ttl * 60 if ttl is not None else None
        with self._lock:
            mem = self._find(ns, key)
            meta = layout.metadata_for(ns, key, value_json, value, bool(texts),
                                       previous=mem.metadata if mem else None,
                                       ttl=ttl, expires_at=expires)
            if mem is None:
                self.memory.add(text, **scope, run_id=layout.run_id(ns, key), metadata=meta,
                                infer=False, actor_id="langgraph")
            else:
                self.memory.update(mem.id, text, metadata=meta, actor_id="langgraph")

    def _refresh(self, mems: Sequence[MemoryItem]) -> None:
        """Move expiries forward on read (see REFRESH_WHEN_LEFT)."""
        now = time.time()
        for m in mems:
            ttl, exp = layout.expiry(m.metadata)
            if ttl is None or exp is None or exp - now > ttl * 60 * REFRESH_WHEN_LEFT:
                continue
            with self._lock:
                self.memory.update(m.id, m.memory,
                                   metadata={layout.EXPIRES: now + ttl * 60},
                                   actor_id="langgraph")

    # --- BaseStore ----------------------------------------------------------------------------
    def batch(self, ops: Iterable[Op]) -> list[Result]:
        ops = list(ops)
        for op in ops:
            validate_op_namespace(op)
        results: list[Result] = []
        puts: dict[tuple[tuple[str, ...], str], PutOp] = {}
        for op in ops:
            if isinstance(op, GetOp):
                results.append(self._get(op))
            elif isinstance(op, SearchOp):
                results.append(self._search(op))
            elif isinstance(op, ListNamespacesOp):
                results.append(self._list_namespaces(op))
            elif isinstance(op, PutOp):
                if op.value is not None:
                    layout.encode_value(op.namespace, op.key, op.value)  # fail before writing
                puts[(tuple(op.namespace), op.key)] = op
                results.append(None)
            else:
                raise ValueError(f"unknown operation type {type(op).__name__}; allowed: "
                                 "GetOp, SearchOp, ListNamespacesOp, PutOp")
        for op in puts.values():
            self._put(op)
        return results

    async def abatch(self, ops: Iterable[Op]) -> list[Result]:
        return await asyncio.to_thread(self.batch, list(ops))

    # --- TTL ----------------------------------------------------------------------------------
    def sweep_ttl(self) -> int:
        """Delete every expired item of this store; returns how many."""
        expired = {layout.EXPIRES: {"lte": time.time()}}
        n = 0
        while True:
            batch = self.memory.get_all(agent_id=self.agent_id, filters=expired,
                                        limit=PAGE).results
            for m in batch:
                with self._lock:
                    try:
                        self.memory.delete(m.id, actor_id="langgraph-ttl")
                        n += 1
                    except KeyError:  # deleted meanwhile
                        pass
            if len(batch) < PAGE:
                return n

    def start_ttl_sweeper(self, sweep_interval_minutes: float | None = None) -> cf.Future[None]:
        """Sweep expired items every interval in a daemon thread, until `stop_ttl_sweeper`."""
        minutes = sweep_interval_minutes or (self.ttl_config or {}).get(
            "sweep_interval_minutes") or 5
        done: cf.Future[None] = cf.Future()
        if self._sweeper is not None and self._sweeper.is_alive():
            done.set_result(None)
            return done
        self._sweep_stop.clear()

        def run() -> None:
            while not self._sweep_stop.wait(float(minutes) * 60):
                try:
                    self.sweep_ttl()
                except Exception:  # a failed sweep is retried next interval
                    pass
            done.set_result(None)

        self._sweeper = threading.Thread(target=run, name="memstack-langgraph-ttl", daemon=True)
        self._sweeper.start()
        return done

    def stop_ttl_sweeper(self, timeout: float | None = None) -> bool:
        """Stop the sweeper thread; True when it has stopped."""
        self._sweep_stop.set()
        if self._sweeper is None:
            return True
        self._sweeper.join(timeout)
        return not self._sweeper.is_alive()

    def close(self) -> None:
        """Stop the sweeper; close the Memory if this store built it."""
        self.stop_ttl_sweeper(timeout=5)
        if self._owns:
            self.memory.close()

    def __enter__(self) -> MemstackStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _index_fields(index: Mapping[str, Any] | None) -> list[str]:
    if index is None:
        return ["$"]
    if not isinstance(index, Mapping):
        raise ValueError(f"index must be a dict like {{'fields': ['text']}}, got {index!r:.80}")
    extra = set(index) - {"fields"}
    if extra:
        raise ValueError(f"index keys {sorted(extra)} are not used: MemstackStore embeds with "
                         "the embedder of its memstack config; allowed: 'fields'")
    fields = index.get("fields") or ["$"]
    if not isinstance(fields, list) or not all(isinstance(f, str) and f for f in fields):
        raise ValueError(f"index['fields'] must be a list of JSON paths, got {fields!r:.80}")
    return list(fields)


def _and(conds: list[dict[str, Any]]) -> dict[str, Any] | None:
    if not conds:
        return None
    return conds[0] if len(conds) == 1 else {"AND": conds}


def _value(m: MemoryItem) -> dict[str, Any]:
    return json.loads(m.metadata[layout.VALUE])


def _expired(m: MemoryItem) -> bool:
    _, exp = layout.expiry(m.metadata)
    return exp is not None and exp <= time.time()


def _to_item(m: MemoryItem) -> Item:
    return layout.item_from(m.metadata, m.created_at, m.updated_at)


def _to_search_item(m: MemoryItem, score: float | None) -> SearchItem:
    it = _to_item(m)
    return SearchItem(namespace=it.namespace, key=it.key, value=it.value,
                      created_at=it.created_at, updated_at=it.updated_at, score=score)


def _does_match(cond: MatchCondition, ns: tuple[str, ...]) -> bool:
    """LangGraph's prefix / suffix match with ``*`` wildcards."""
    path = tuple(cond.path)
    if len(ns) < len(path):
        return False
    part = ns[:len(path)] if cond.match_type == "prefix" else ns[len(ns) - len(path):]
    if cond.match_type not in ("prefix", "suffix"):
        raise ValueError(f"match_type {cond.match_type!r} is not allowed; allowed: prefix, suffix")
    return all(p == "*" or p == n for p, n in zip(path, part, strict=True))
