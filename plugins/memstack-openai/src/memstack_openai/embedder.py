"""`openai` embedder: /v1/embeddings through the official SDK, batched, in input order.

The engine needs `dimension` before the first write. It comes from `dimensions` (sent to the
API), `dimension` (declared), the table of known models, or — when none applies — one probe
request the first time `dimension` is read.
"""

from __future__ import annotations

import array
import base64
import math
import sys
import threading
from collections.abc import Sequence
from typing import Any

from memstack.capabilities import QUERY_DOCUMENT_KINDS
from memstack.errors import ProviderBadResponse
from memstack_openai.client import OpenAIProviderBase
from memstack_openai.config import OpenAIEmbedderConfig


def decode_vector(embedding: Any) -> list[float]:
    """A float list from the API's `embedding`: a list, or base64 of little-endian float32."""
    if isinstance(embedding, str):
        values = array.array("f", base64.b64decode(embedding))
        if sys.byteorder == "big":
            values.byteswap()
        return values.tolist()
    return [float(x) for x in embedding]


class OpenAIEmbedder(OpenAIProviderBase):
    """Texts in, one vector per text out, `batch_size` texts per request."""

    config: OpenAIEmbedderConfig

    def __init__(self, config: OpenAIEmbedderConfig) -> None:
        super().__init__(config)
        self._dimension: int | None = config.known_dimension()
        self._probe_lock = threading.Lock()
        distinct = config.query_prefix != config.document_prefix
        self.capabilities = frozenset({QUERY_DOCUMENT_KINDS}) if distinct else frozenset()

    @property
    def dimension(self) -> int:
        """The vector length; may cost one request for a model outside the known table."""
        if self._dimension is None:
            with self._probe_lock:
                if self._dimension is None:
                    self._dimension = len(self._embed_batch(["dimension probe"])[0])
        return self._dimension

    def embed(self, texts: Sequence[str], *, kind: str = "document") -> list[list[float]]:
        cfg = self.config
        prefix = cfg.query_prefix if kind == "query" else cfg.document_prefix
        # The API rejects empty strings; a space embeds as "nothing" without failing the batch.
        inputs = [prefix + (t if t else " ") for t in texts]
        vectors: list[list[float]] = []
        for start in range(0, len(inputs), cfg.batch_size):
            vectors.extend(self._embed_batch(inputs[start : start + cfg.batch_size]))
        return vectors

    def _embed_batch(self, batch: list[str]) -> list[list[float]]:
        cfg = self.config
        kwargs: dict[str, Any] = {
            "model": cfg.model, "input": batch, "encoding_format": cfg.encoding_format,
        }
        if cfg.dimensions is not None:
            kwargs["dimensions"] = cfg.dimensions
        what = f"embeddings with model {cfg.model!r}"
        response = self._call(what, lambda: self._client.embeddings.create(**kwargs))
        data = sorted(response.data or [], key=lambda d: d.index)
        if [d.index for d in data] != list(range(len(batch))):
            raise self._bad(f"{what}: asked for {len(batch)} vectors, the answer has indexes "
                            f"{[d.index for d in data][:10]}")
        vectors = [decode_vector(d.embedding) for d in data]
        expected = self._dimension or len(vectors[0])
        for vec in vectors:
            if len(vec) != expected:
                raise self._bad(
                    f"{what}: got a vector of {len(vec)} dimensions, expected {expected}",
                    hint=f"set `dimension: {len(vec)}` (or the right `dimensions`) in the config",
                )
            if not all(math.isfinite(x) for x in vec):
                raise self._bad(f"{what}: the server returned NaN or infinite values")
        return vectors

    def _bad(self, message: str, hint: str = "") -> ProviderBadResponse:
        return ProviderBadResponse(
            self.provider, message, hint=hint or "check `base_url` and `model`; retry later"
        )
