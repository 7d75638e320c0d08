"""Writing the ONNX graph of a BERT sentence-transformers model straight from its files, no torch.

`pip install 'memstack[local]'` must give a working default without torch (torch's Linux wheels
pull gigabytes of CUDA packages). A BERT encoder is a short, fixed recipe — embeddings, N layers
of self-attention and a feed-forward block, each closed by a LayerNorm — so this module reads the
weights from `model.safetensors` with numpy, the shapes from `config.json`, and writes that
recipe with `onnx.helper`, op for op as transformers' eager `BertModel` computes it (erf GELU,
additive attention mask, LayerNorm with the model's epsilon). Pooling and normalisation stay in
numpy (`onnx_encoder.py`), exactly as for torch's export. The graph is then handed to ONNX
Runtime's transformer optimizer (fused attention, layer norms, GELU), like torch's export.

What the recipe cannot reproduce faithfully (other architectures, relative positions, max
pooling, ...) is refused with a reason, and the caller falls back to torch's exporter.
"""

from __future__ import annotations

import json
import shutil
import struct
import warnings
from importlib import metadata
from pathlib import Path
from typing import Any

from memstack_sentence_transformers.onnx_export import (
    MODEL,
    POOLING_MODES,
    TOKENIZER,
    ExportInfo,
    publish,
    quiet_loggers,
)

BUILD_FORMAT = 1  # bump when the graph written here changes
OPSET = 17  # LayerNormalization
# model_type values whose checkpoints are plain BertModel weights computed by this recipe
SUPPORTED_TYPES = ("bert",)
SUPPORTED_ACTIVATIONS = ("gelu",)
_KNOWN_SBERT_KEYS = {"max_seq_length", "do_lower_case", "transformer_task", "modality_config",
                     "module_output_name", "backend", "model_args", "tokenizer_args",
                     "config_args", "cache_dir", "processing_kwargs"}


def versions() -> tuple[str, ...]:
    """What the written graph depends on besides the model files (part of the cache key)."""
    found = []
    for dist in ("onnx", "onnxruntime"):
        try:
            found.append(f"{dist}={metadata.version(dist)}")
        except metadata.PackageNotFoundError:
            found.append(f"{dist}=none")
    return (f"build={BUILD_FORMAT}", *found)


def _json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    return data if isinstance(data, dict) else {}


def _pooling_mode(pool: dict[str, Any]) -> str | None:
    if "pooling_mode" in pool:  # sentence-transformers >= 5 writes the mode by name
        mode = pool["pooling_mode"]
        return mode if isinstance(mode, str) else None
    on = [k for k, v in pool.items() if k.startswith("pooling_mode_") and v is True]
    names = {"pooling_mode_cls_token": "cls", "pooling_mode_mean_tokens": "mean",
             "pooling_mode_max_tokens": "max", "pooling_mode_weightedmean_tokens": "weightedmean"}
    if len(on) != 1:
        return "+".join(sorted(on)) or "none"
    return names.get(on[0], on[0].removeprefix("pooling_mode_"))


def _weight_files(model_dir: Path) -> list[Path]:
    single = model_dir / "model.safetensors"
    if single.is_file():
        return [single]
    index = _json(model_dir / "model.safetensors.index.json")
    shards = sorted(set((index.get("weight_map") or {}).values()))
    return [model_dir / s for s in shards]


def unsupported_reason(model_dir: str | Path) -> str | None:
    """Why this model directory cannot be built without torch, or None if it can.

    Read from the files only (nothing is imported): a sentence-transformers model whose modules
    are Transformer → mean/CLS Pooling [→ Normalize], the Transformer a BERT with absolute
    positions and erf GELU, its weights in safetensors, its tokenizer a `tokenizer.json`.
    """
    root = Path(model_dir)
    if not root.is_dir():
        return "it is not a local directory"
    modules_file = root / "modules.json"
    if not modules_file.is_file():
        return "it has no modules.json (not a sentence-transformers model)"
    try:
        modules = json.loads(modules_file.read_text(encoding="utf-8"))
        kinds = [str(m["type"]).rsplit(".", 1)[-1] for m in modules]
    except (ValueError, KeyError, TypeError) as exc:
        return f"its modules.json cannot be read ({exc})"
    if kinds not in (["Transformer", "Pooling"], ["Transformer", "Pooling", "Normalize"]):
        return f"its modules are {kinds}; only Transformer → Pooling [→ Normalize] is built"
    if any(not str(m["type"]).startswith("sentence_transformers.") for m in modules):
        return "its modules are not sentence-transformers' own"
    if modules[0].get("path", "") not in ("", "."):
        return "its Transformer module is not in the model's root directory"
    sbert = _json(root / "sentence_bert_config.json")
    if sbert.get("do_lower_case"):
        return "it lower-cases texts before tokenizing"
    if unknown := sorted(set(sbert) - _KNOWN_SBERT_KEYS):
        return f"its sentence_bert_config.json sets {unknown}"
    for key in ("model_args", "tokenizer_args", "config_args", "processing_kwargs"):
        if sbert.get(key):
            return f"its sentence_bert_config.json sets {key}"
    if sbert.get("transformer_task", "feature-extraction") != "feature-extraction":
        return f"its transformer task is {sbert.get('transformer_task')!r}"
    if set(sbert.get("modality_config") or {"text": None}) != {"text"}:
        return "it takes inputs other than text"
    pool = _json(root / modules[1].get("path", "1_Pooling") / "config.json")
    mode = _pooling_mode(pool)
    if mode not in POOLING_MODES:
        return f"its pooling is {mode!r}; only {POOLING_MODES} are built"
    if not pool.get("include_prompt", True):
        return "its pooling leaves the prompt tokens out"
    config = _json(root / "config.json")
    kind = config.get("model_type")
    if kind not in SUPPORTED_TYPES:
        return f"its model_type is {kind!r}; the torch-free builder handles {SUPPORTED_TYPES}"
    if config.get("position_embedding_type", "absolute") != "absolute":
        return f"its position_embedding_type is {config['position_embedding_type']!r}"
    if config.get("hidden_act", "gelu") not in SUPPORTED_ACTIVATIONS:
        return f"its hidden_act is {config.get('hidden_act')!r}"
    if config.get("is_decoder") or config.get("add_cross_attention"):
        return "it is a decoder"
    dim = pool.get("word_embedding_dimension", pool.get("embedding_dimension",
                                                        config.get("hidden_size")))
    if dim != config.get("hidden_size"):
        return f"its pooling dimension {dim} is not the hidden size {config.get('hidden_size')}"
    if not (root / TOKENIZER).is_file():
        return "it has no tokenizer.json (fast tokenizer)"
    tok_config = _json(root / "tokenizer_config.json")
    if tok_config.get("truncation_side", "right") != "right":
        return f"its tokenizer truncates on the {tok_config['truncation_side']!r}"
    files = _weight_files(root)
    if not files or not all(f.is_file() for f in files):
        return "its weights are not in model.safetensors"
    return None


# -- safetensors, read by hand: 8 bytes header length, a JSON header, then raw little-endian data

_DTYPES = {"F32": "<f4", "F16": "<f2", "F64": "<f8", "I64": "<i8", "I32": "<i4"}


def read_safetensors(path: Path) -> dict[str, Any]:
    """Every tensor of one file as a float32 numpy array (bf16/f16 widened, as torch does)."""
    import numpy as np

    data = path.read_bytes()
    (size,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + size])
    body = memoryview(data)[8 + size:]
    tensors = {}
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        start, end = entry["data_offsets"]
        dtype, shape = entry["dtype"], tuple(entry["shape"])
        raw = body[start:end]
        if dtype == "BF16":
            array = (np.frombuffer(raw, "<u2").astype(np.uint32) << 16).view(np.float32)
        elif dtype in _DTYPES:
            array = np.frombuffer(raw, _DTYPES[dtype])
        else:
            raise ValueError(f"{path.name}: tensor {name} has dtype {dtype}")
        tensors[name] = array.reshape(shape).astype(np.float32)
    return tensors


class _Weights:
    """BertModel weights by their names without a prefix ("bert.", "0.auto_model.", ...);
    LayerNorm gamma/beta (old checkpoints) read as weight/bias."""

    def __init__(self, tensors: dict[str, Any]) -> None:
        anchor = "embeddings.word_embeddings.weight"
        prefixes = [k[: -len(anchor)] for k in tensors if k.endswith(anchor)]
        if len(prefixes) != 1:
            raise ValueError(f"expected one {anchor} tensor, found {len(prefixes)}")
        prefix = prefixes[0]
        self.tensors = {k[len(prefix):].replace(".gamma", ".weight").replace(".beta", ".bias"): v
                        for k, v in tensors.items() if k.startswith(prefix)}

    def __getitem__(self, name: str) -> Any:
        try:
            return self.tensors[name]
        except KeyError:
            raise ValueError(f"the weights have no tensor {name!r}") from None


def build_graph(config: dict[str, Any], weights: _Weights, *, token_types: bool) -> Any:
    """The BertModel forward pass as an ONNX model: input_ids, attention_mask[, token_type_ids]
    (int64, batch × tokens) → token_embeddings (float32, batch × tokens × hidden)."""
    import numpy as np
    from onnx import TensorProto, helper, numpy_helper

    hidden = int(config["hidden_size"])
    heads = int(config["num_attention_heads"])
    head_dim = hidden // heads
    if head_dim * heads != hidden:
        raise ValueError(f"hidden_size {hidden} is not a multiple of {heads} heads")
    eps = float(config.get("layer_norm_eps", 1e-12))
    nodes: list[Any] = []
    inits: list[Any] = []

    def const(name: str, value: Any) -> str:
        inits.append(numpy_helper.from_array(np.asarray(value), name))
        return name

    def node(op: str, inputs: list[str], out: str, **attrs: Any) -> str:
        nodes.append(helper.make_node(op, inputs, [out], name=f"{op}_{out}", **attrs))
        return out

    def linear(x: str, w: str, out: str) -> str:
        mm = node("MatMul", [x, const(f"{w}.weight.T", np.ascontiguousarray(
            weights[f"{w}.weight"].T))], f"{out}.mm")
        return node("Add", [mm, const(f"{w}.bias", weights[f"{w}.bias"])], out)

    def layer_norm(x: str, w: str, out: str) -> str:
        return node("LayerNormalization", [x, const(f"{w}.weight", weights[f"{w}.weight"]),
                                           const(f"{w}.bias", weights[f"{w}.bias"])],
                    out, axis=-1, epsilon=eps)

    # embeddings: word + position (0..tokens-1) + token type, then LayerNorm
    words = node("Gather", [const("embeddings.word_embeddings.weight",
                                  weights["embeddings.word_embeddings.weight"]), "input_ids"],
                 "emb.words", axis=0)
    shape = node("Shape", ["input_ids"], "emb.shape")
    tokens = node("Slice", [shape, const("one_1d", np.array([1], np.int64)),
                            const("two_1d", np.array([2], np.int64))], "emb.tokens")
    positions = node("Slice", [const("embeddings.position_embeddings.weight",
                                     weights["embeddings.position_embeddings.weight"]),
                               const("zero_1d", np.array([0], np.int64)), tokens,
                               const("axis0_1d", np.array([0], np.int64))], "emb.positions")
    summed = node("Add", [words, positions], "emb.sum")
    if token_types:
        types = node("Gather", [const("embeddings.token_type_embeddings.weight",
                                      weights["embeddings.token_type_embeddings.weight"]),
                                "token_type_ids"], "emb.types", axis=0)
    else:  # transformers uses token type 0 everywhere when none are given
        types = const("emb.type0", weights["embeddings.token_type_embeddings.weight"][0])
    summed = node("Add", [summed, types], "emb.sum_types")
    x = layer_norm(summed, "embeddings.LayerNorm", "emb.out")

    # the additive mask: 0 where attended, float32's lowest where padded; batch × 1 × 1 × tokens
    # (in the order transformers' BERT computes it, which ONNX Runtime's attention fusion knows)
    mask = node("Unsqueeze", ["attention_mask", const("axis_1", np.array([1], np.int64))],
                "mask.3d")
    mask = node("Unsqueeze", [mask, const("axis_2", np.array([2], np.int64))], "mask.4d")
    mask = node("Cast", [mask], "mask.f", to=TensorProto.FLOAT)
    inverted = node("Sub", [const("one_f", np.array(1.0, np.float32)), mask], "mask.inv")
    additive = node("Mul", [inverted, const("lowest_f", np.array(np.finfo(np.float32).min,
                                                                 np.float32))], "mask.add")
    split_shape = const("split_heads", np.array([0, 0, heads, head_dim], np.int64))
    merge_shape = const("merge_heads", np.array([0, 0, hidden], np.int64))
    scale = const("scale", np.array(np.sqrt(head_dim), np.float32))
    sqrt2 = const("sqrt2", np.array(np.sqrt(2.0), np.float32))
    one = const("one", np.array(1.0, np.float32))
    half = const("half", np.array(0.5, np.float32))

    for i in range(int(config["num_hidden_layers"])):
        p, n = f"encoder.layer.{i}", f"l{i}"
        q = node("Reshape", [linear(x, f"{p}.attention.self.query", f"{n}.q"), split_shape],
                 f"{n}.q4")
        k = node("Reshape", [linear(x, f"{p}.attention.self.key", f"{n}.k"), split_shape],
                 f"{n}.k4")
        v = node("Reshape", [linear(x, f"{p}.attention.self.value", f"{n}.v"), split_shape],
                 f"{n}.v4")
        q = node("Transpose", [q], f"{n}.qt", perm=[0, 2, 1, 3])
        k = node("Transpose", [k], f"{n}.kt", perm=[0, 2, 3, 1])
        v = node("Transpose", [v], f"{n}.vt", perm=[0, 2, 1, 3])
        scores = node("Div", [node("MatMul", [q, k], f"{n}.qk"), scale], f"{n}.scaled")
        scores = node("Add", [scores, additive], f"{n}.masked")
        probs = node("Softmax", [scores], f"{n}.probs", axis=-1)
        context = node("Transpose", [node("MatMul", [probs, v], f"{n}.ctx")], f"{n}.ctxt",
                       perm=[0, 2, 1, 3])
        context = node("Reshape", [context, merge_shape], f"{n}.ctx3")
        attended = linear(context, f"{p}.attention.output.dense", f"{n}.attn")
        x = layer_norm(node("Add", [attended, x], f"{n}.res1"), f"{p}.attention.output.LayerNorm",
                       f"{n}.ln1")
        up = linear(x, f"{p}.intermediate.dense", f"{n}.up")
        # GELU, erf form, as transformers' "gelu": x * 0.5 * (1 + erf(x / sqrt(2)))
        erf = node("Erf", [node("Div", [up, sqrt2], f"{n}.gdiv")], f"{n}.erf")
        gelu = node("Mul", [node("Mul", [up, node("Add", [erf, one], f"{n}.gadd")], f"{n}.gmul")
                            , half], f"{n}.gelu")
        down = linear(gelu, f"{p}.output.dense", f"{n}.down")
        x = layer_norm(node("Add", [down, x], f"{n}.res2"), f"{p}.output.LayerNorm", f"{n}.ln2")
    nodes.append(helper.make_node("Identity", [x], ["token_embeddings"], name="output"))

    names = ["input_ids", "attention_mask"] + (["token_type_ids"] if token_types else [])
    inputs = [helper.make_tensor_value_info(nm, TensorProto.INT64, ["batch", "tokens"])
              for nm in names]
    output = helper.make_tensor_value_info("token_embeddings", TensorProto.FLOAT,
                                           ["batch", "tokens", hidden])
    graph = helper.make_graph(nodes, "bert_encoder", inputs, [output], initializer=inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)],
                              producer_name="memstack-sentence-transformers",
                              producer_version=str(BUILD_FORMAT))
    model.ir_version = min(model.ir_version, 8)  # loadable by every supported onnxruntime
    return model


def describe(model_dir: Path, source: str) -> ExportInfo:
    """meta.json for this model directory, from its files (as sentence-transformers reads them)."""
    from tokenizers import Tokenizer

    config = _json(model_dir / "config.json")
    sbert = _json(model_dir / "sentence_bert_config.json")
    tok_config = _json(model_dir / "tokenizer_config.json")
    st_config = _json(model_dir / "config_sentence_transformers.json")
    modules = json.loads((model_dir / "modules.json").read_text(encoding="utf-8"))
    pool = _json(model_dir / modules[1].get("path", "1_Pooling") / "config.json")
    model_max = int(tok_config.get("model_max_length") or 10**30)
    max_length = sbert.get("max_seq_length")
    if max_length is None:  # sentence-transformers' own default
        max_length = min(int(config.get("max_position_embeddings", 512)), model_max)
    max_length = int(min(int(max_length), model_max))
    tokenizer = Tokenizer.from_file(str(model_dir / TOKENIZER))
    pad_token = tok_config.get("pad_token") or "[PAD]"
    if isinstance(pad_token, dict):  # an AddedToken written out
        pad_token = pad_token.get("content", "[PAD]")
    pad_id = tokenizer.token_to_id(str(pad_token))
    sample = tokenizer.encode("a sample")
    inputs = ("input_ids", "attention_mask")
    if int(config.get("type_vocab_size", 0) or 0) > 0 and sample.type_ids is not None:
        inputs = (*inputs, "token_type_ids")
    return ExportInfo(
        dimension=int(config["hidden_size"]),
        max_length=max_length,
        pooling=str(_pooling_mode(pool)),
        normalized=str(modules[-1]["type"]).endswith("Normalize"),
        inputs=inputs,
        pad_id=int(pad_id if pad_id is not None else config.get("pad_token_id") or 0),
        pad_token=str(pad_token),
        prompts={k: v for k, v in (st_config.get("prompts") or {}).items()
                 if isinstance(v, str)},
        source=source,
    )


def build(model_dir: str | Path, directory: Path, source: str = "") -> ExportInfo:
    """Write model.onnx, tokenizer.json and meta.json for `model_dir` into `directory`
    (atomically, like `onnx_export.export`), then prune exports of removed model directories.
    Call `unsupported_reason` first: this raises ValueError on a model it cannot build."""
    import onnx

    root = Path(model_dir)
    if (reason := unsupported_reason(root)) is not None:
        raise ValueError(f"{root}: {reason}")
    info = describe(root, source or str(root))
    config = _json(root / "config.json")
    tensors: dict[str, Any] = {}
    for f in _weight_files(root):
        tensors.update(read_safetensors(f))
    model = build_graph(config, _Weights(tensors), token_types="token_type_ids" in info.inputs)
    del tensors
    def write(tmp: Path) -> None:
        big = model.ByteSize() > 1_800_000_000  # protobuf's 2 GB limit: weights beside the graph
        onnx.save_model(model, str(tmp / MODEL), save_as_external_data=big,
                        location=f"{MODEL}.data" if big else None)
        if not big:
            _fuse(config, tmp / MODEL)
        shutil.copyfile(root / TOKENIZER, tmp / TOKENIZER)

    publish(directory, info, write)
    return info


def _fuse(config: dict[str, Any], path: Path) -> None:
    """ONNX Runtime's transformer optimizer (part of onnxruntime, no torch): attention, skip
    layer norms and GELU as single kernels; the same vectors. A graph it cannot fuse (or an
    optimizer that fails) stays as written, which computes the same thing more slowly."""
    try:
        from onnxruntime.transformers.optimizer import optimize_model

        with warnings.catch_warnings(), quiet_loggers():
            warnings.simplefilter("ignore")
            fused = optimize_model(str(path), model_type="bert",
                                   num_heads=int(config["num_attention_heads"]),
                                   hidden_size=int(config["hidden_size"]), opt_level=0)
            fused.save_model_to_file(str(path))
    except Exception:
        import logging

        logging.getLogger(__name__).info("ONNX Runtime's optimizer left %s unfused", path,
                                         exc_info=True)
