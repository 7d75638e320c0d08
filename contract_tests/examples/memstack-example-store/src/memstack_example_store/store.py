"""`ExampleStore`: records in a dict, saved to `<path>/<collection>.json` after every write.

What every store must get right, and where this one does it:
- vectors are checked (`check_vector`: wrong length → DimensionMismatch, NaN/inf → InvalidInput);
- `query` scores are cosine similarities, best first;
- filters: `require_support` first (an undeclared operator raises UnsupportedFeature), then the
  core's reference evaluator `matches` — a backend with a query language translates instead;
- payloads round-trip with their types (JSON keeps str/int/float/bool/lists apart);
- `list` pages in a stable order (insertion order; a replaced record moves to the end);
- backend failures are wrapped in StoreError naming the provider.
"""

from __future__ import annotations

import copy
import json
import math
import os
import re
import tempfile
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from memstack.errors import DimensionMismatch, InvalidInput, StoreError
from memstack.filters import FilterNode, matches, require_support
from memstack.models import Hit, Record
from memstack.vectors import check_vector
from memstack_example_store.capabilities import CAPABILITIES
from memstack_example_store.config import ExampleStoreConfig

NAME = "example-store"
_SAFE = re.compile(r"^[A-Za-z0-9_.-]{1,128}$")


def _unit(v: Sequence[float]) -> list[float]:
    norm = math.sqrt(sum(x * x for x in v))
    return [x / norm for x in v] if norm else list(v)


def _dot(a: Sequence[float], b: Sequence[float]) -> float:
    return sum(x * y for x, y in zip(a, b, strict=True))


class ExampleStore:
    name = NAME
    capabilities = frozenset(CAPABILITIES)

    def __init__(self, config: ExampleStoreConfig) -> None:
        if config.dimension is None:
            raise InvalidInput(f"{NAME}: 'dimension' is required")
        if not _SAFE.match(config.collection):
            raise InvalidInput(f"{NAME}: collection {config.collection!r} is not a safe file name")
        self.dimension = config.dimension
        self._file = Path(config.path) / f"{config.collection}.json"
        self._lock = threading.RLock()
        self._rows: dict[str, tuple[list[float], dict[str, Any]]] = {}
        self._load()

    # ---- file -----------------------------------------------------------------------------
    def _load(self) -> None:
        try:
            if not self._file.exists():
                return
            saved = json.loads(self._file.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise StoreError(NAME, f"cannot read {self._file}: {exc}") from exc
        if saved["dimension"] != self.dimension:
            raise DimensionMismatch(NAME, saved["dimension"], self.dimension)
        self._rows = {rid: (vec, payload) for rid, vec, payload in saved["records"]}

    def _save(self) -> None:
        """Write a new file and rename it over the old one, so a crash never leaves half a file."""
        doc = {"dimension": self.dimension,
               "records": [[rid, vec, payload] for rid, (vec, payload) in self._rows.items()]}
        try:
            self._file.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self._file.parent, suffix=".tmp")
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                json.dump(doc, out, ensure_ascii=False)
            os.replace(tmp, self._file)
        except OSError as exc:
            raise StoreError(NAME, f"cannot write {self._file}: {exc}") from exc

    # ---- the VectorStore protocol ---------------------------------------------------------
    def upsert(self, records: Sequence[Record]) -> None:
        checked = [(r.id, check_vector(r.vector or [], self.dimension, NAME), r.payload)
                   for r in records]  # validate everything before changing anything
        with self._lock:
            for rid, vec, payload in checked:
                self._rows.pop(rid, None)
                self._rows[rid] = (vec, copy.deepcopy(payload))
            self._save()

    def query(
        self, vector: Sequence[float], *, limit: int, filters: FilterNode | None = None
    ) -> list[Hit]:
        require_support(NAME, filters, self.capabilities)
        q = _unit(check_vector(vector, self.dimension, NAME))
        with self._lock:
            rows = list(self._rows.items())
        hits = [
            Hit(id=rid, score=_dot(q, _unit(vec)), payload=copy.deepcopy(p))
            for rid, (vec, p) in rows
            if matches(filters, p)
        ]
        hits.sort(key=lambda h: (-h.score, h.id))
        return hits[:limit]

    def get(self, ids: Sequence[str], *, with_vectors: bool = False) -> list[Record]:
        with self._lock:
            found = [(i, self._rows[i]) for i in ids if i in self._rows]
        return [Record(id=i, vector=list(v) if with_vectors else None, payload=copy.deepcopy(p))
                for i, (v, p) in found]

    def delete(self, ids: Sequence[str]) -> None:
        with self._lock:
            for i in ids:
                self._rows.pop(i, None)
            self._save()

    def list(
        self, *, filters: FilterNode | None = None, limit: int | None = None, offset: int = 0
    ) -> list[Record]:
        require_support(NAME, filters, self.capabilities)
        with self._lock:
            rows = [(i, p) for i, (_, p) in self._rows.items() if matches(filters, p)]
        end = None if limit is None else offset + limit
        return [Record(id=i, payload=copy.deepcopy(p)) for i, p in rows[offset:end]]

    def count(self, filters: FilterNode | None = None) -> int:
        require_support(NAME, filters, self.capabilities)
        with self._lock:
            return sum(1 for _, p in self._rows.values() if matches(filters, p))

    def reset(self) -> None:
        with self._lock:
            self._rows.clear()
            try:
                self._file.unlink(missing_ok=True)
            except OSError as exc:
                raise StoreError(NAME, f"cannot remove {self._file}: {exc}") from exc

    def close(self) -> None:
        """Every write is already on disk; nothing to flush."""
