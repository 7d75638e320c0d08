"""The server's settings: the `server:` section of the memstack config file.

The same file configures `Memory` (every other top-level key) and the server (`server:`), so one
file describes one deployment. The core's config loader rejects unknown keys, so the `server:`
section is taken out here before the rest goes to `Memory`.
"""

from __future__ import annotations

import ipaddress
import os
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from memstack.config import read_config_file
from memstack.errors import ConfigError

SETTINGS_ENV = "MEMSTACK_SERVER_SETTINGS"  # JSON of ServerSettings, handed to uvicorn workers


class AuthSettings(BaseModel):
    """API keys (`memstack keys create`). Off is allowed only on a loopback address."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = Field(default=True, description="require an API key on every /v1 request")
    cache_seconds: float = Field(
        default=1.0, ge=0.0, le=2.0,
        description="how long a verified key is trusted before the database is asked again; "
        "a revoked key is refused by every instance within this time")


class LimitSettings(BaseModel):
    """Bounds on what one request or one key may ask for."""

    model_config = ConfigDict(extra="forbid")

    max_body_bytes: int = Field(default=1_048_576, ge=1024,
                                description="largest request body (except /v1/import)")
    max_import_bytes: int = Field(default=64 * 1_048_576, ge=1024,
                                  description="largest /v1/import body")
    max_batch: int = Field(default=1000, ge=1,
                           description="most messages in one add, lines in one import")
    max_page: int = Field(default=1000, ge=1, description="largest `limit` of a list or search")
    rate_per_second: float = Field(default=100.0, gt=0,
                                   description="sustained requests per second per key "
                                   "(per instance)")
    burst: int = Field(default=200, ge=1, description="requests a key may make at once")


class ServerSettings(BaseModel):
    """`server:` section. `memory_config` is the rest of the file (what `Memory` gets)."""

    model_config = ConfigDict(extra="forbid")

    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=0, le=65535)
    workers: int = Field(default=1, ge=1, le=64)
    log_level: str = Field(default="info", pattern="^(critical|error|warning|info|debug)$")
    auth: AuthSettings = Field(default_factory=AuthSettings)
    limits: LimitSettings = Field(default_factory=LimitSettings)
    memory_config: dict[str, Any] = Field(
        default_factory=dict, description="the memstack config without `server:`")

    def check_safe(self) -> None:
        """Refuse to serve without auth anywhere but loopback."""
        if not self.auth.enabled and not is_loopback(self.host):
            raise ConfigError(
                f"refusing to serve on {self.host!r} without auth: anyone who can reach it could "
                "read and delete every memory. Keep server.auth.enabled: true (create a key with "
                "`memstack keys create --admin`) or serve on 127.0.0.1",
                field="server.auth.enabled", given=False, allowed="true on a non-loopback host")


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def load_settings(source: str | Path | dict[str, Any] | None = None, **overrides: Any
                  ) -> ServerSettings:
    """Settings from a config file (or dict, or ``$MEMSTACK_CONFIG``, or nothing: defaults).

    `overrides` (host, port, workers from the command line) win over the file when not None.
    """
    if source is None:
        env = os.environ.get("MEMSTACK_CONFIG")
        source = Path(env) if env else {}
    raw = read_config_file(Path(source)) if isinstance(source, str | Path) else dict(source)
    if not isinstance(raw, dict):
        raise ConfigError(f"config must be a mapping, got {type(raw).__name__}")
    server = raw.pop("server", None) or {}
    if not isinstance(server, dict):
        raise ConfigError("server: must be a mapping", field="server", given=server)
    server = {**server, **{k: v for k, v in overrides.items() if v is not None}}
    try:
        settings = ServerSettings.model_validate({**server, "memory_config": raw})
    except ValidationError as exc:
        lines = []
        first: dict[str, Any] = {}
        for err in exc.errors():
            loc = "server." + ".".join(str(p) for p in err["loc"])
            msg = "unknown field" if err["type"] == "extra_forbidden" else err["msg"]
            lines.append(f"  {loc}: {msg} (given: {err.get('input')!r:.120})")
            first = first or {"field": loc, "given": err.get("input"), "allowed": msg}
        raise ConfigError("invalid server config:\n" + "\n".join(lines), **first) from None
    from memstack.config import load_config

    load_config(raw)  # the memory part is checked now, not when the first worker starts
    return settings
