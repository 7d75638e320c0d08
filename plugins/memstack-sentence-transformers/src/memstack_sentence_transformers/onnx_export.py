"""Exporting a sentence-transformers model to ONNX with torch once, and finding an export again.

BERT models are built without torch (`onnx_build`); this exporter is the fallback for every
other model that `unsupported_reason` accepts, and needs the `[torch]` extra.

ONNX Runtime computes the same float32 vectors as torch (within 1e-5) with far less work per
call on a CPU: on 2 cores MiniLM embeds a 12-token query in ~2.7 ms instead of ~9.5 ms, because
it runs pre-packed kernels without torch's per-operator dispatch. Exporting needs torch and the
`onnx` package and takes about a second; the files (model, tokenizer, meta.json) go to a
directory under the cache named by a hash of the model's files and the library versions, so a
later process loads them without importing torch at all, and a changed model is exported anew.
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import json
import logging
import os
import re
import shutil
import uuid
import warnings
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from importlib import metadata
from importlib.util import find_spec
from pathlib import Path
from typing import Any

from memstack.paths import cache_home

EXPORT_FORMAT = 2  # bump when the files written here change meaning (2: fused BERT graph)
META = "meta.json"
MODEL = "model.onnx"
TOKENIZER = "tokenizer.json"
POOLING_MODES = ("mean", "cls")
_INPUTS = ("input_ids", "attention_mask", "token_type_ids")
_VERSIONED = ("torch", "transformers", "sentence-transformers", "onnx")


@dataclass(frozen=True)
class ExportInfo:
    """What the runtime needs besides the graph: meta.json of an export directory."""

    dimension: int
    max_length: int
    pooling: str
    normalized: bool  # the model ends with a Normalize module
    inputs: tuple[str, ...]
    pad_id: int
    pad_token: str
    prompts: dict[str, str] = field(default_factory=dict)
    source: str = ""  # the model directory or id it was exported from

    @classmethod
    def read(cls, directory: Path) -> ExportInfo:
        data = json.loads((directory / META).read_text(encoding="utf-8"))
        data["inputs"] = tuple(data["inputs"])
        return cls(**data)


def runtime_available() -> bool:
    """ONNX Runtime is importable: all that running an existing export needs."""
    return find_spec("onnxruntime") is not None


def exporter_available() -> bool:
    """torch's exporter can run: it needs torch, sentence-transformers and the `onnx` package."""
    return all(find_spec(m) is not None for m in ("onnx", "torch", "sentence_transformers"))


def default_cache_dir() -> Path:
    return cache_home() / "onnx"


def export_dir(model_id: str, cache_dir: str | None, *, builder: str = "graph") -> Path:
    """Where the export of this model (as its files are now) lives. `builder`: "graph" for the
    torch-free builder (`onnx_build`: keyed to the onnx and onnxruntime versions), "torch" for
    torch's exporter (keyed to the torch, transformers, sentence-transformers and onnx versions).
    """
    if builder == "graph":
        from memstack_sentence_transformers.onnx_build import versions

        parts: tuple[str, ...] = ("builder=graph", *versions())
    elif builder == "torch":
        parts = (f"format={EXPORT_FORMAT}", *_versions())
    else:
        raise ValueError(f"builder must be 'graph' or 'torch', got {builder!r}")
    digest = hashlib.sha256()
    for part in (*parts, model_id):
        digest.update(part.encode() + b"\0")
    local = Path(model_id)
    if local.is_dir():  # a changed file (new weights, new tokenizer) → another directory
        for f in sorted(p for p in local.rglob("*") if p.is_file()):
            st = f.stat()
            digest.update(f"{f.relative_to(local)}:{st.st_size}:{st.st_mtime_ns}\0".encode())
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "_", model_id.rstrip("/\\").replace("\\", "/")
                  .split("/")[-1])[:40] or "model"
    root = Path(cache_dir).expanduser() if cache_dir else default_cache_dir()
    return root / f"{slug}-{digest.hexdigest()[:16]}"


def _versions() -> Iterator[str]:
    for dist in _VERSIONED:
        try:
            yield f"{dist}={metadata.version(dist)}"
        except metadata.PackageNotFoundError:
            yield f"{dist}=none"


def is_exported(directory: Path) -> bool:
    return (directory / META).is_file() and (directory / MODEL).is_file()


def unsupported_reason(model: Any) -> str | None:
    """Why this SentenceTransformer cannot run on the ONNX path, or None if it can.

    Supported: a text Transformer with a fast tokenizer, mean or CLS pooling over every token
    (prompt included), and optionally a Normalize module — what most embedding models are.
    """
    modules = list(model)
    names = [type(m).__name__ for m in modules]
    if names not in (["Transformer", "Pooling"], ["Transformer", "Pooling", "Normalize"]):
        return f"its modules are {names}; only Transformer → Pooling [→ Normalize] is exported"
    transformer, pooling = modules[0], modules[1]
    config = transformer.get_config_dict()
    if config.get("transformer_task", "feature-extraction") != "feature-extraction":
        return f"its transformer task is {config.get('transformer_task')!r}"
    if set(config.get("modality_config", {"text": None})) != {"text"}:
        return "it takes inputs other than text"
    if getattr(transformer, "do_lower_case", False):
        return "it lower-cases texts before tokenizing"
    if getattr(transformer, "processing_kwargs", None):
        return "it sets its own tokenizer arguments"
    if getattr(transformer.tokenizer, "backend_tokenizer", None) is None:
        return "its tokenizer is not a fast (Rust) tokenizer"
    pool = pooling.get_config_dict()
    if pool.get("pooling_mode") not in POOLING_MODES:
        return f"its pooling is {pool.get('pooling_mode')!r}; only {POOLING_MODES} are exported"
    if not pool.get("include_prompt", True):
        return "its pooling leaves the prompt tokens out"
    return None


def export(model: Any, directory: Path, source: str = "") -> ExportInfo:
    """Write the ONNX export of `model` (loaded from `source`) to `directory` (atomically: a
    directory appears whole or not at all, and a concurrent exporter of the same model simply
    wins), then remove exports whose model directory is gone."""
    import torch

    transformer = model[0]
    tokenizer = transformer.tokenizer
    sample = tokenizer(["a short sample", "and a somewhat longer sample text"], padding=True,
                       return_tensors="pt")
    inputs = tuple(n for n in _INPUTS if n in sample)
    info = ExportInfo(
        dimension=int(model[1].get_config_dict().get("embedding_dimension")
                      or transformer.auto_model.config.hidden_size),
        max_length=int(min(model.max_seq_length or 512, tokenizer.model_max_length or 512)),
        pooling=str(model[1].get_config_dict()["pooling_mode"]),
        normalized=type(list(model)[-1]).__name__ == "Normalize",
        inputs=inputs,
        pad_id=int(tokenizer.pad_token_id or 0),
        pad_token=str(tokenizer.pad_token or "[PAD]"),
        prompts={k: v for k, v in (getattr(model, "prompts", None) or {}).items()
                 if isinstance(v, str)},
        source=source,
    )
    def write(tmp: Path) -> None:
        _export_graph(transformer.auto_model, inputs, sample, tmp / MODEL, torch)
        _fuse(transformer.auto_model.config, tmp / MODEL)
        tokenizer.backend_tokenizer.save(str(tmp / TOKENIZER))

    publish(directory, info, write)
    return info


def publish(directory: Path, info: ExportInfo, write: Callable[[Path], None]) -> None:
    """Let `write` fill a private temporary directory, add meta.json, and rename it to
    `directory` in one step: an export appears whole or not at all, and of two processes
    exporting the same model the first rename wins. Then prune exports of removed models."""
    directory.parent.mkdir(parents=True, exist_ok=True)
    tmp = directory.parent / f".{directory.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}"
    tmp.mkdir()
    try:
        write(tmp)
        data = asdict(info)
        data["inputs"] = list(info.inputs)
        (tmp / META).write_text(json.dumps(data, indent=1), encoding="utf-8")
        try:
            os.rename(tmp, directory)
        except OSError:
            if not is_exported(directory):
                raise
            shutil.rmtree(tmp, ignore_errors=True)  # another process finished first
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    prune(directory.parent)


def prune(root: Path) -> list[Path]:
    """Remove exports of local model directories that no longer exist (a removed virtual
    environment, a deleted checkout): nothing can ask for them again. Returns what went."""
    removed = []
    for meta in root.glob(f"*/{META}"):
        try:
            source = json.loads(meta.read_text(encoding="utf-8")).get("source", "")
        except (OSError, ValueError):
            continue
        if source and Path(source).is_absolute() and not Path(source).exists():
            shutil.rmtree(meta.parent, ignore_errors=True)
            removed.append(meta.parent)
    return removed


def _export_graph(hf_model: Any, inputs: tuple[str, ...], sample: Any, path: Path,
                  torch: Any) -> None:
    """Trace a copy of the model with plain ("eager") attention: its graph is the pattern
    ONNX Runtime's optimizer fuses; the loaded model, maybe shared with torch users, is left
    as it is."""
    model = copy.deepcopy(hf_model)
    with contextlib.suppress(Exception):  # older transformers: the config attribute is enough
        model.set_attn_implementation("eager")
    model.config._attn_implementation = "eager"

    class TokenEmbeddings(torch.nn.Module):  # positional inputs → last hidden state
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, *args: Any) -> Any:
            return self.model(**dict(zip(inputs, args, strict=True))).last_hidden_state

    axes = {n: {0: "batch", 1: "tokens"} for n in (*inputs, "token_embeddings")}
    with warnings.catch_warnings(), torch.no_grad(), quiet_loggers():
        warnings.simplefilter("ignore")
        torch.onnx.export(TokenEmbeddings().eval(), tuple(sample[n] for n in inputs), str(path),
                          dynamo=False, input_names=list(inputs),
                          output_names=["token_embeddings"], dynamic_axes=axes,
                          opset_version=17)


def _fuse(config: Any, path: Path) -> None:
    """BERT-family graphs: ONNX Runtime's transformer optimizer fuses attention, layer norms
    and GELU into single kernels (MiniLM on 2 cores: a query ~20% faster, same vectors within
    2e-7). Other architectures, or a failing optimizer, keep the plain graph."""
    if getattr(config, "model_type", None) != "bert":
        return
    try:
        from onnxruntime.transformers.optimizer import optimize_model

        with warnings.catch_warnings(), quiet_loggers():
            warnings.simplefilter("ignore")
            fused = optimize_model(str(path), model_type="bert",
                                   num_heads=int(config.num_attention_heads),
                                   hidden_size=int(config.hidden_size), opt_level=0)
            fused.save_model_to_file(str(path))
    except Exception:  # the unfused graph computes the same vectors, only slower
        logging.getLogger(__name__).info("ONNX Runtime's optimizer left %s unfused", path,
                                         exc_info=True)


@contextlib.contextmanager
def quiet_loggers() -> Iterator[None]:
    """The exporter logs advice on the root logger; not the user's concern."""
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)
    try:
        yield
    finally:
        root.setLevel(level)
