"""`hashing`: a deterministic embedder for tests — feature hashing of lowercase word tokens.

Texts that share words get similar vectors, so search behaves sensibly without a model.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Sequence

from memstack.spec import ProviderConfig

_TOKEN = re.compile(r"\w+", re.UNICODE)


class HashingEmbedderConfig(ProviderConfig):
    dimension: int = 64


class HashingEmbedder:
    capabilities: frozenset[str] = frozenset()

    def __init__(self, config: HashingEmbedderConfig | None = None) -> None:
        self.dimension = (config or HashingEmbedderConfig()).dimension

    def _one(self, text: str) -> list[float]:
        vec = [0.0] * self.dimension
        tokens = _TOKEN.findall(text.lower()) or [text]
        for tok in tokens:
            digest = hashlib.blake2b(tok.encode("utf-8", "surrogatepass"), digest_size=8).digest()
            h = int.from_bytes(digest, "little")
            vec[h % self.dimension] += 1.0 if (h >> 32) & 1 else -1.0
        norm = math.sqrt(sum(x * x for x in vec))
        if norm == 0.0:  # tokens cancelled out: fall back to a fixed unit vector
            vec[0], norm = 1.0, 1.0
        return [x / norm for x in vec]

    def embed(self, texts: Sequence[str], *, kind: str = "document") -> list[list[float]]:
        return [self._one(t) for t in texts]
