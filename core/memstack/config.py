"""Memory configuration: from a dict, a YAML / TOML / JSON file, or ``$MEMSTACK_CONFIG``.

Each provider section is ``{"provider": NAME, "config": {...}}``; the section's ``config`` is
validated by that provider's own pydantic model (unknown fields rejected) when `Memory` is built
or when `memstack.stack.validate_providers` is called (``memstack config validate``).
"""

from __future__ import annotations

import json
import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from memstack.errors import ConfigError
from memstack.paths import data_home
from memstack.redaction import MASK, is_secret_name, redact

CONFIG_ENV = "MEMSTACK_CONFIG"


class ProviderSection(BaseModel):
    """Which provider to use for one kind, and its provider-specific config."""

    model_config = ConfigDict(extra="forbid")

    provider: str
    config: dict[str, Any] = Field(default_factory=dict)


class PromptsConfig(BaseModel):
    """Replace the default system prompts used when an LLM extracts and reconciles facts."""

    model_config = ConfigDict(extra="forbid")

    fact_extraction: str | None = None
    update_memory: str | None = None


class SearchConfig(BaseModel):
    """How `Memory.search` ranks. The defaults were chosen on the LoCoMo dev split
    (docs/benchmarks.md, "LoCoMo retrieval"): hybrid with min-max score fusion."""

    model_config = ConfigDict(extra="forbid")

    mode: Literal["vector", "hybrid"] = Field(
        default="hybrid",
        description="vector: cosine only; hybrid: cosine fused with a keyword (BM25) ranking "
        "kept by the engine (works on every vector store).",
    )
    fusion: Literal["convex", "rrf"] = Field(
        default="convex",
        description="hybrid only. convex: each list's scores min-max normalised over the "
        "candidates, then vector + keyword_weight × keyword; rrf: weighted reciprocal-rank "
        "fusion with rrf_k.",
    )
    candidates: int = Field(default=4, ge=1, le=50,
                            description="fetch limit × candidates before fusion / reranking")
    rrf_k: int = Field(default=60, ge=1, description="reciprocal-rank fusion constant (rrf)")
    keyword_weight: float = Field(
        default=1.0, ge=0.0,
        description="weight of the keyword ranking relative to the vector ranking (1 = equal)")
    tokenizer: Literal["english", "simple"] = Field(
        default="english",
        description="keyword index tokens. english: lowercase words, English stop words "
        "removed, light suffix stemming; simple: lowercase words only (any language)")
    bm25_k1: float = Field(default=1.2, gt=0.0, description="BM25 term-frequency saturation")
    bm25_b: float = Field(default=0.4, ge=0.0, le=1.0,
                          description="BM25 length normalisation (0 = none, 1 = full)")
    keyword_index_budget: int = Field(
        default=750_000, ge=1,
        description="memory bound of the engine's own BM25 index (stores without keyword "
        "search), in entries: one per memory plus one per distinct term of it, ~140 bytes each "
        "measured (~14 per memory; the default ~100 MB). Least recently searched scopes are "
        "dropped past it; a scope larger than it is read from the store for each search")
    similar_for_update: int = Field(default=5, ge=1, le=50,
                                    description="existing memories shown to the LLM per new fact")


def default_vector_store() -> ProviderSection:
    """The embedded default store: `sqlite` (memstack-sqlite), whose scoped search reads only
    the scope's rows (p50 0.5 ms at 10k memories and 100k alike, where Chroma went from 9 to
    498 ms: docs/benchmarks.md, "Scale"). A data directory that already holds the previous
    default's Chroma store and no SQLite store keeps using Chroma, so nothing stored before an
    upgrade disappears from view (`memstack export` / `memstack import` moves it over)."""
    home = data_home()
    if (home / "chroma").is_dir() and not (home / "vectors.db").exists():
        return ProviderSection(provider="chroma")
    return ProviderSection(provider="sqlite")


class MemoryConfig(BaseModel):
    """The whole configuration of a `Memory`; every field has a working local default."""

    model_config = ConfigDict(extra="forbid")

    vector_store: ProviderSection = Field(default_factory=default_vector_store)
    embedder: ProviderSection = Field(
        default_factory=lambda: ProviderSection(provider="sentence-transformers"))
    llm: ProviderSection | None = None
    reranker: ProviderSection | None = None
    history_store: ProviderSection = Field(
        default_factory=lambda: ProviderSection(provider="sqlite"))
    collection: str = Field(default="memstack", min_length=1, max_length=63,
                            pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]*$")
    batch_size: int = Field(default=256, ge=1, le=10_000,
                            description="texts embedded and written per batch in bulk adds")
    max_text_chars: int = Field(default=100_000, ge=1,
                                description="longest memory text accepted; longer is refused")
    prompts: PromptsConfig = Field(default_factory=PromptsConfig)
    search: SearchConfig = Field(default_factory=SearchConfig)


def read_config_file(path: Path) -> Any:
    """A config file's content: YAML, TOML or JSON by extension; errors name the file."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc}", given=str(path)) from exc
    suffix = path.suffix.lower()
    try:
        if suffix in (".yaml", ".yml"):
            import yaml

            return yaml.safe_load(text) or {}
        if suffix == ".toml":
            return tomllib.loads(text)
        if suffix == ".json":
            return json.loads(text)
    except Exception as exc:  # every parser has its own error type
        raise ConfigError(f"config file {path} is not valid {suffix[1:].upper()}: {exc}",
                          given=str(path)) from exc
    raise ConfigError(
        f"config file {path} has an unknown extension {suffix!r}",
        given=str(path), allowed=".yaml, .yml, .toml or .json",
    )


def load_config(
    source: MemoryConfig | Mapping[str, Any] | str | Path | None = None,
) -> MemoryConfig:
    """Build a `MemoryConfig`. None means ``$MEMSTACK_CONFIG`` when set, else the defaults."""
    if isinstance(source, MemoryConfig):
        return source
    if source is None:
        env = os.environ.get(CONFIG_ENV)
        source = Path(env) if env else {}
    if isinstance(source, str | Path):
        source = read_config_file(Path(source))
    if not isinstance(source, Mapping):
        raise ConfigError(f"config must be a mapping, got {type(source).__name__}",
                          given=source, allowed="a mapping (dict / YAML / TOML table)")
    try:
        return MemoryConfig.model_validate(dict(source))
    except ValidationError as exc:
        raise validation_error(exc, "invalid memstack config") from None


def validation_error(exc: ValidationError, header: str, *,
                     provider: str | None = None) -> ConfigError:
    """The one way a pydantic validation error becomes a `ConfigError`: a line per problem
    (field, rule, given value), secrets masked by their field's name or their look."""
    lines = []
    first: dict[str, Any] = {}
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"]) or "<config>"
        msg = "unknown field" if err["type"] == "extra_forbidden" else err["msg"]
        given = MASK if any(is_secret_name(p) for p in err["loc"]) else redact(err.get("input"))
        shown = repr(given)
        shown = shown if len(shown) <= 120 else shown[:117] + "..."
        lines.append(f"  {loc}: {msg} (given: {shown})")
        first = first or {"field": loc, "given": given, "allowed": msg}
    return ConfigError(f"{header}:\n" + "\n".join(lines), provider=provider, **first)
