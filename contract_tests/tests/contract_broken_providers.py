"""Broken embedders and history stores of contract version 3, each with one classic bug.

Not collected on its own: `test_contract_meta_broken_providers.py` runs it in a subprocess. The
factories are module-level classes, so the suite's cross-process tests can build them in a fresh
interpreter too.
"""

from __future__ import annotations

import math
import threading
from typing import Any

import pytest

from memstack.models import HistoryEntry
from memstack_contract import EmbedderContract, HistoryStoreContract
from memstack_contract.fakes.hashing_embedder import HashingEmbedder, HashingEmbedderConfig

DIM = 16


class GoodEmbedder(HashingEmbedder):
    """The `hashing` fake (blake2b: the same in every process)."""

    def __init__(self, config: dict[str, Any]) -> None:
        super().__init__(HashingEmbedderConfig(dimension=DIM))


class SaltedHashEmbedder(GoodEmbedder):
    """Uses Python's `hash()`: stable within a process, different in the next one."""

    def _one(self, text: str) -> list[float]:
        vec = [0.0] * self.dimension
        for tok in text.lower().split() or [text]:
            h = hash(tok)
            vec[h % self.dimension] += 1.0 if (h >> 8) & 1 else -1.0
        norm = math.sqrt(sum(x * x for x in vec)) or 1.0
        return [x / norm for x in vec]


class SortsBatchByLength(GoodEmbedder):
    """Sorts a batch by length (as padding-minimising batchers do) and forgets to sort back."""

    def embed(self, texts, *, kind="document"):
        return [self._one(t) for t in sorted(texts, key=len)]


class DedupesBatch(GoodEmbedder):
    """Embeds each distinct text once and returns one vector per *distinct* text."""

    def embed(self, texts, *, kind="document"):
        return [self._one(t) for t in dict.fromkeys(texts)]


class ListHistory:
    """A correct in-memory history store (write order kept in a list)."""

    capabilities = frozenset()

    def __init__(self, config: dict[str, Any]) -> None:
        self.rows: list[HistoryEntry] = []
        self.lock = threading.Lock()

    def begin(self, entries):
        with self.lock:
            self.rows += [e.model_copy(update={"committed": False}) for e in entries]

    def commit(self, entry_ids):
        wanted = set(entry_ids)
        with self.lock:
            self.rows = [e.model_copy(update={"committed": True}) if e.entry_id in wanted else e
                         for e in self.rows]

    def discard(self, entry_ids):
        gone = set(entry_ids)
        with self.lock:
            self.rows = [e for e in self.rows if e.committed or e.entry_id not in gone]

    def pending(self):
        return [e for e in self.rows if not e.committed]

    def history(self, memory_id):
        return self.order([e for e in self.rows if e.committed and e.memory_id == memory_id])

    def order(self, entries):
        return entries

    def memory_ids(self):
        return list(dict.fromkeys(e.memory_id for e in self.rows if e.committed))

    def reset(self):
        self.rows = []

    def close(self):
        pass


class HistoryByCreatedAt(ListHistory):
    """Orders history by `created_at` (fine until a clock goes backwards)."""

    def order(self, entries):
        return sorted(entries, key=lambda e: e.created_at)


def _factory(cls):
    @pytest.fixture
    def provider_factory(self):
        return cls

    return provider_factory


class TestGoodEmbedder(EmbedderContract):
    provider_factory = _factory(GoodEmbedder)


class TestSaltedHashEmbedder(EmbedderContract):
    provider_factory = _factory(SaltedHashEmbedder)


class TestSortsBatchByLength(EmbedderContract):
    provider_factory = _factory(SortsBatchByLength)


class TestDedupesBatch(EmbedderContract):
    provider_factory = _factory(DedupesBatch)


class TestListHistory(HistoryStoreContract):
    provider_factory = _factory(ListHistory)


class TestHistoryByCreatedAt(HistoryStoreContract):
    provider_factory = _factory(HistoryByCreatedAt)
