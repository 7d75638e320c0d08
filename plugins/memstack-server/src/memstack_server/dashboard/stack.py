"""The stack in use (providers, their settings, plugins, versions) and health, safe to show.

Provider settings are rendered only after `redact`: any field whose name suggests a secret is
replaced, and credentials inside connection strings (``postgresql://user:pw@host``,
``password=...``) are masked, so no secret ever reaches a page.
"""

from __future__ import annotations

import platform
import re
import time
from dataclasses import dataclass
from importlib import metadata
from typing import Any

HIDDEN = "•••••• (hidden)"
_SECRET_PARTS = frozenset({
    "key", "keys", "apikey", "secret", "secrets", "token", "password", "passwd",
    "pwd", "passphrase", "credential", "credentials", "auth", "authorization", "bearer", "dsn",
    "conninfo", "cookie", "private", "signature",
})
_URL_USERINFO = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)(?P<user>[^:/@\s]*):"
                           r"(?P<pw>[^@/\s]*)@")
_KV_SECRET = re.compile(r"(?P<k>\b(?:password|passwd|pwd|secret|token|api_?key)\s*[=:]\s*)"
                        r"(?P<v>'[^']*'|\"[^\"]*\"|[^\s;&]+)", re.IGNORECASE)


def secret_name(name: str) -> bool:
    """Whether a setting's name says it holds a secret (``api_key``, ``aws_secret_access_key``,
    ``Authorization``, ``db_password``; not ``keyword_weight`` or ``tokenizer``)."""
    parts = [p for p in re.split(r"[^a-z0-9]+", re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name)
                                 .lower()) if p]
    return any(p in _SECRET_PARTS or p.endswith(("password", "secret", "apikey"))
               for p in parts)


def redact_text(text: str) -> str:
    """Mask credentials embedded in a string (URLs with a password, key=value pairs)."""
    text = _URL_USERINFO.sub(lambda m: f"{m['scheme']}{m['user']}:{HIDDEN}@", text)
    return _KV_SECRET.sub(lambda m: f"{m['k']}{HIDDEN}", text)


def redact(value: Any, name: str = "") -> Any:
    """A copy of a config value fit for display."""
    if name and secret_name(name) and value not in (None, "", [], {}):
        return HIDDEN
    if hasattr(value, "get_secret_value"):  # pydantic SecretStr / SecretBytes
        return HIDDEN
    if isinstance(value, dict):
        return {str(k): redact(v, str(k)) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact(v, name) for v in value]
    if isinstance(value, str):
        return redact_text(value)
    if value is None or isinstance(value, bool | int | float):
        return value
    return redact_text(repr(value))


@dataclass
class Provider:
    kind: str
    name: str
    settings: dict[str, Any] | None


def _settings(kind: str, section: Any) -> dict[str, Any]:
    """The settings the user gave, as the provider's own config model reads them: fields
    typed `SecretStr` stay `SecretStr` (and so are hidden), whatever their name."""
    raw = dict(getattr(section, "config", None) or {})
    try:
        from memstack.registry import get_registry

        model = get_registry().validate_config(kind, section.provider, raw)
        given = model.model_dump(exclude_unset=True)
    except Exception:  # a provider without a model: fall back to the names
        given = raw
    return redact(given)


def providers(memory: Any, *, with_settings: bool = True) -> list[Provider]:
    """Each configured provider with its redacted settings (None without `with_settings`),
    in pipeline order."""
    cfg = memory.config
    out = []
    for kind in ("vector_store", "embedder", "llm", "reranker", "history_store"):
        name = memory.names.get(kind)
        if name is None:
            continue
        section = getattr(cfg, kind, None)
        same = section is not None and getattr(section, "provider", None) == name
        settings = (_settings(kind, section) if same else {}) if with_settings else None
        out.append(Provider(kind, name, settings))
    return out


def engine_settings(memory: Any) -> dict[str, Any]:
    cfg = memory.config
    return redact({"collection": cfg.collection, "batch_size": cfg.batch_size,
                   "max_text_chars": cfg.max_text_chars,
                   "search": cfg.search.model_dump()})


def plugins() -> list[dict[str, Any]]:
    from memstack.plugins import plugin_system

    rows = []
    for info in plugin_system().infos.values():
        rows.append({"name": info.name, "distribution": info.distribution,
                     "version": info.version, "status": info.status,
                     "error": redact_text(info.error) if info.error else None})
    return sorted(rows, key=lambda r: (r["status"] != "failed", r["name"]))


def versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for dist in ("memstack", "memstack-server", "fastapi", "uvicorn", "starlette", "jinja2"):
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            out[dist] = "not installed"
    return out


@dataclass
class Check:
    name: str
    ok: bool
    detail: str
    millis: float


def _check(name: str, probe: Any) -> Check:
    start = time.perf_counter()
    try:
        detail = probe()
        ok = True
    except Exception as exc:  # a health page reports the failure instead of failing
        ok, detail = False, f"{type(exc).__name__}: {redact_text(str(exc))[:300]}"
    return Check(name, ok, detail, (time.perf_counter() - start) * 1000)


def _history_probe(history_store: Any) -> str:
    history_store.history("-health-probe-")  # a read by an id no memory has
    return "reachable"


def health(memory: Any) -> list[Check]:
    """Can the vector store and the history store answer right now (with their latency)."""
    return [
        _check("vector store", lambda: f"{memory.store.count(None):,} memories"),
        _check("history store", lambda: _history_probe(memory.history_store)),
    ]
