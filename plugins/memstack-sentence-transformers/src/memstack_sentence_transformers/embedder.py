"""`sentence-transformers` embedder: one encode call per `embed`, on ONNX Runtime or torch.

ONNX Runtime needs no torch for BERT models such as the default MiniLM (`onnx_build` writes the
graph from the weights); torch and sentence-transformers are the optional [torch] extra, for
`backend: torch`, other devices and models the builder does not handle.

The hot path adds nothing per text beyond a type check: prefixes are prepended (torch: encode's
`prompt` argument), and the result array is converted with a single `.tolist()`. Which runtime
runs the model is decided once, when the provider is built (`backend`, see `choose_backend`).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from memstack import capabilities as caps
from memstack.errors import InvalidInput, ProviderError
from memstack_sentence_transformers import onnx_build, onnx_export
from memstack_sentence_transformers.config import SentenceTransformerConfig
from memstack_sentence_transformers.loading import (
    TORCH_EXTRA,
    LoadedModel,
    display_name,
    load_error,
    quiet_loading,
    require_sentence_transformers,
    resolve_model,
    shared_model,
)

NAME = "sentence-transformers"
_DOCUMENT_PROMPT_NAMES = ("document", "passage", "corpus")
log = logging.getLogger(__name__)


def _load(model_id: str, device: str, shown: str) -> Any:
    from sentence_transformers import SentenceTransformer

    try:
        with quiet_loading():
            return SentenceTransformer(model_id, device=device)
    except Exception as exc:
        raise load_error(NAME, shown, exc) from exc


def _dimension(model: Any) -> int:
    # renamed in sentence-transformers 5; older versions only have the long name
    getter = getattr(model, "get_embedding_dimension", None)
    if getter is None:
        getter = model.get_sentence_embedding_dimension
    dim = getter()
    if dim is None:  # some models only know it after a forward pass
        dim = len(model.encode([""], show_progress_bar=False, convert_to_numpy=True)[0])
    return int(dim)


def _model_prompt(model: Any, names: Sequence[str]) -> str:
    prompts = getattr(model, "prompts", None) or {}
    for name in names:
        if prompts.get(name):
            return str(prompts[name])
    return ""


class SentenceTransformerEmbedder:
    """Embeds texts with a sentence-transformers model, shared by every instance in the process."""

    name = NAME

    def __init__(self, config: SentenceTransformerConfig | None = None) -> None:
        config = config or SentenceTransformerConfig()
        self.model_id = resolve_model(config.model, NAME)
        self._shown = display_name(config.model)
        self.device = config.device
        self.batch_size = config.batch_size
        self.normalize = config.normalize
        self.backend, self._loaded = self._load(config)
        model = self._loaded.model
        if self.backend == "onnx":
            self.dimension: int = model.dimension
            self.max_seq_length: int | None = model.max_seq_length
        else:
            self.dimension = _dimension(model)
            self.max_seq_length = getattr(model, "max_seq_length", None)
        # None → the model's own prompt for that kind (e5/bge-style models ship them); "" → none.
        self._prefix = {
            "query": config.query_prefix
            if config.query_prefix is not None
            else _model_prompt(model, ("query",)),
            "document": config.document_prefix
            if config.document_prefix is not None
            else _model_prompt(model, _DOCUMENT_PROMPT_NAMES),
        }
        differs = self._prefix["query"] != self._prefix["document"]
        self.capabilities: frozenset[str] = (
            frozenset({caps.QUERY_DOCUMENT_KINDS}) if differs else frozenset()
        )

    def _torch_model(self, field: str, given: Any, why: str) -> LoadedModel:
        """The SentenceTransformer itself; without the [torch] extra a ConfigError naming the
        field that led here (`backend`, `device` or `model`) and the install command."""
        require_sentence_transformers(NAME, field, given, why)
        return shared_model(("sentence-transformer", self.model_id, self.device),
                            lambda: _load(self.model_id, self.device, self._shown))

    def _load(self, config: SentenceTransformerConfig) -> tuple[str, LoadedModel]:
        """(backend, loaded model). 'auto' settles on onnx only when nothing stands in the way;
        an explicit 'onnx' that cannot work fails with the reason.

        A BERT model on the CPU is built into an ONNX graph without torch (`onnx_build`), even
        when torch is installed, so what runs does not depend on what else is installed; other
        models go through torch's exporter (the [torch] extra) or run on torch."""
        backend = config.backend
        if backend == "torch":
            return "torch", self._torch_model("backend", "torch", "backend 'torch'")
        threads = config.threads
        field, given = ("device", self.device) if self.device != "cpu" else ("model", self._shown)
        problem = _onnx_problem(self.model_id, self.device, explicit=backend == "onnx")
        if problem is None:
            problem = onnx_build.unsupported_reason(self.model_id)
            if problem is None:  # the torch-free builder
                where = onnx_export.export_dir(self.model_id, config.cache_dir, builder="graph")
                key = ("onnx", str(where), threads)
                if onnx_export.is_exported(where):  # a broken one fails, naming its directory
                    return "onnx", shared_model(key, lambda: _open_onnx(where, threads))
                try:
                    return "onnx", shared_model(key, lambda: self._build(where, threads))
                except ProviderError as exc:
                    if backend == "onnx" or not onnx_export.exporter_available():
                        raise
                    # e.g. a read-only or full cache directory: auto still has torch
                    log.warning("%s; running it with torch", exc)
                    return "torch", self._torch_model(field, given, str(exc))
            if onnx_export.exporter_available():
                return self._torch_export(config, backend, threads, problem)
            problem = (f"{problem}, and torch's exporter, which may handle it, needs the "
                       f"[torch] extra ({TORCH_EXTRA})")
        if backend == "onnx":
            raise ProviderError(NAME, f"cannot run {self._shown!r} on ONNX Runtime: {problem}",
                                hint="set backend: torch")
        log.info("%s: running %s with torch: %s", NAME, self._shown, problem)
        return "torch", self._torch_model(field, given, f"running it on torch ({problem})")

    def _torch_export(self, config: SentenceTransformerConfig, backend: str,
                      threads: int | None, why_not_built: str) -> tuple[str, LoadedModel]:
        """Models the torch-free builder refuses: torch's exporter, then ONNX Runtime."""
        where = onnx_export.export_dir(self.model_id, config.cache_dir, builder="torch")
        key = ("onnx", str(where), threads)
        if onnx_export.is_exported(where):
            return "onnx", shared_model(key, lambda: _open_onnx(where, threads))
        log.info("%s: %s is not built without torch (%s); trying torch's exporter", NAME,
                 self._shown, why_not_built)
        torch_model = self._torch_model("model", self._shown, "exporting it")
        problem = onnx_export.unsupported_reason(torch_model.model)
        if problem is None:
            try:
                return "onnx", shared_model(
                    key, lambda: self._export(torch_model.model, where, threads))
            except ProviderError as exc:
                if backend == "onnx":
                    raise
                log.warning("%s; running it with torch", exc)
                return "torch", torch_model
        if backend == "onnx":
            raise ProviderError(NAME, f"cannot run {self._shown!r} on ONNX Runtime: {problem}",
                                hint="set backend: torch")
        log.info("%s: running %s with torch: %s", NAME, self._shown, problem)
        return "torch", torch_model

    def _build(self, where: Path, threads: int | None) -> Any:
        try:
            if not onnx_export.is_exported(where):  # another process may have just written it
                log.info("%s: building the ONNX graph of %s in %s", NAME, self._shown, where)
                onnx_build.build(self.model_id, where, self.model_id)
        except Exception as exc:
            raise ProviderError(NAME, f"building the ONNX graph of {self._shown!r} failed: "
                                f"{type(exc).__name__}: {exc}",
                                hint="set backend: torch to run it with sentence-transformers "
                                f"(the [torch] extra: {TORCH_EXTRA})") from exc
        return _open_onnx(where, threads)

    def _export(self, model: Any, where: Path, threads: int | None) -> Any:
        try:
            if not onnx_export.is_exported(where):  # another process may have just written it
                log.info("%s: exporting %s to ONNX in %s", NAME, self._shown, where)
                onnx_export.export(model, where, self.model_id)
        except Exception as exc:
            raise ProviderError(NAME, f"exporting {self._shown!r} to ONNX failed: "
                                f"{type(exc).__name__}: {exc}",
                                hint="set backend: torch to run it with sentence-transformers"
                                ) from exc
        return _open_onnx(where, threads)

    @property
    def model(self) -> Any:
        """The shared model object: a `SentenceTransformer` (torch) or an `OnnxEncoder` (onnx);
        the same object for the same model and device."""
        return self._loaded.model

    def embed(self, texts: Sequence[str], *, kind: str = "document") -> list[list[float]]:
        prompt = self._prefix.get(kind)
        if prompt is None:
            raise InvalidInput(f"{NAME}: kind must be 'document' or 'query', got {kind!r}")
        if isinstance(texts, str):
            raise InvalidInput(f"{NAME}: embed() takes a sequence of texts, not a single string")
        if not texts:
            return []
        if not all(isinstance(t, str) for t in texts):
            bad = next(t for t in texts if not isinstance(t, str))
            raise InvalidInput(f"{NAME}: every text must be a str, got {type(bad).__name__}")
        try:
            with self._loaded.lock:
                if self.backend == "onnx":
                    batch = list(texts) if not prompt else [prompt + t for t in texts]
                    array = self._loaded.model.encode(batch, batch_size=self.batch_size,
                                                      normalize=self.normalize)
                    return array.tolist()
                array = self._loaded.model.encode(
                    texts if type(texts) is list else list(texts),  # a tuple could read as a pair
                    prompt=prompt,
                    batch_size=self.batch_size,
                    show_progress_bar=False,
                    convert_to_numpy=True,
                    normalize_embeddings=self.normalize,
                )
        except Exception as exc:
            raise ProviderError(
                NAME, f"encoding {len(texts)} texts with {self.model_id!r} failed: "
                f"{type(exc).__name__}: {exc}"
            ) from exc
        return array.tolist()


def _onnx_problem(model_id: str, device: str, *, explicit: bool) -> str | None:
    """Why the ONNX path is out before looking at the model itself, or None."""
    if device != "cpu":
        return f"device is {device!r}; the onnx backend runs on the CPU"
    if not onnx_export.runtime_available():
        return "onnxruntime is not installed (pip install onnxruntime)"
    if not explicit and not Path(model_id).is_dir():
        # a Hub id has no local files to fingerprint the export with; say backend: onnx to opt in
        return "the model is not a local directory"
    return None


def _open_onnx(where: Path, threads: int | None) -> Any:
    from memstack_sentence_transformers.onnx_encoder import OnnxEncoder

    try:
        return OnnxEncoder(where, threads=threads)
    except Exception as exc:
        raise ProviderError(NAME, f"could not load the ONNX export in {where}: "
                            f"{type(exc).__name__}: {exc}",
                            hint="delete that directory to export the model again") from exc
