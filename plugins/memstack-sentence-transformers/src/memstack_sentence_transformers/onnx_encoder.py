"""Running an exported model: Rust tokenizer → ONNX Runtime → pooling in numpy.

Does what `SentenceTransformer.encode` does for a Transformer → Pooling [→ Normalize] model
(texts sorted by length so batches carry little padding, truncation at the model's length, mean
or CLS pooling, unit length), and imports neither torch nor transformers.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from memstack_sentence_transformers.onnx_export import MODEL, TOKENIZER, ExportInfo


class OnnxEncoder:
    """One loaded export; `encode` is safe to call from one thread at a time (the embedder's
    lock serialises calls, as for torch)."""

    def __init__(self, directory: Path, *, threads: int | None = None) -> None:
        import numpy as np
        import onnxruntime as ort
        from tokenizers import Tokenizer

        self._np = np
        self.directory = directory
        self.info = ExportInfo.read(directory)
        self.dimension = self.info.dimension
        self.max_seq_length = self.info.max_length
        self.prompts = dict(self.info.prompts)
        tokenizer = Tokenizer.from_file(str(directory / TOKENIZER))
        tokenizer.enable_truncation(self.info.max_length)
        tokenizer.enable_padding(pad_id=self.info.pad_id, pad_token=self.info.pad_token)
        self.tokenizer = tokenizer
        options = ort.SessionOptions()
        options.log_severity_level = 3  # warnings about unused initializers etc. are not news
        # The pool's threads spin while a run is on, then sleep: memstack calls the model
        # between store reads and writes on the same cores, and a pool still spinning after
        # the run took a core from them (a Chroma query after a query embed: +1–2 ms).
        options.add_session_config_entry("session.force_spinning_stop", "1")
        if threads:
            options.intra_op_num_threads = threads
        self.session = ort.InferenceSession(str(directory / MODEL), options,
                                            providers=["CPUExecutionProvider"])

    def encode(self, texts: Sequence[str], *, batch_size: int, normalize: bool) -> Any:
        """A float32 array (len(texts), dimension), in the order of `texts`."""
        np = self._np
        out = np.empty((len(texts), self.dimension), dtype=np.float32)
        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
        for start in range(0, len(order), batch_size):
            rows = order[start:start + batch_size]
            out[rows] = self._batch([texts[i] for i in rows])
        if normalize or self.info.normalized:
            norms = np.linalg.norm(out, axis=1, keepdims=True)
            out /= np.maximum(norms, 1e-12)
        return out

    def _batch(self, texts: list[str]) -> Any:
        np = self._np
        encodings = self.tokenizer.encode_batch(texts)
        mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
        feeds = {"input_ids": np.array([e.ids for e in encodings], dtype=np.int64),
                 "attention_mask": mask}
        if "token_type_ids" in self.info.inputs:
            feeds["token_type_ids"] = np.array([e.type_ids for e in encodings], dtype=np.int64)
        (tokens,) = self.session.run(None, {k: feeds[k] for k in self.info.inputs})
        if self.info.pooling == "cls":
            return tokens[:, 0]
        weights = mask[..., None].astype(np.float32)
        return (tokens * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)
