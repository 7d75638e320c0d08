"""`ChromaConfig`: pure pydantic, so the registry validates it without importing chromadb."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator

from memstack.paths import data_home
from memstack.spec import VectorStoreConfig

Mode = Literal["disk", "server", "memory"]

# Chroma's own rule for collection names; checked here so the error names the config field.
COLLECTION_RE = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9._-]{1,510})[A-Za-z0-9]$")
SERVER_FIELDS = ("host", "port", "ssl", "headers", "tenant", "database")


def default_path() -> Path:
    """Where `disk` mode keeps data unless `path` is given: ``<memstack data home>/chroma``."""
    return data_home() / "chroma"


class ChromaConfig(VectorStoreConfig):
    """Settings of the `chroma` vector store.

    `mode` picks where the data lives: ``disk`` (an embedded Chroma in a directory, the default),
    ``server`` (a Chroma server over HTTP, the default when `host` is given) or ``memory`` (an
    embedded Chroma that keeps nothing and is private to this store object).
    """

    mode: Mode | None = Field(
        default=None,
        description="disk | server | memory. Unset: 'server' when host is given, else 'disk'.",
    )
    path: str | None = Field(
        default=None,
        min_length=1,
        description="disk mode: the directory Chroma writes to. Unset: <memstack data home>/chroma "
        "($MEMSTACK_HOME, else $XDG_DATA_HOME/memstack, else ~/.local/share/memstack).",
    )
    host: str | None = Field(
        default=None, min_length=1, description="server mode: host name of the Chroma server."
    )
    port: int = Field(default=8000, ge=1, le=65535, description="server mode: HTTP port.")
    ssl: bool = Field(default=False, description="server mode: connect with https.")
    headers: dict[str, str] = Field(
        default_factory=dict,
        description="server mode: HTTP headers sent with every request, e.g. an auth token "
        "('Authorization': 'Bearer ...' or 'X-Chroma-Token': '...').",
    )
    tenant: str = Field(default="default_tenant", min_length=1, description="server mode: tenant.")
    database: str = Field(
        default="default_database", min_length=1, description="server mode: database."
    )
    ef_search: int | None = Field(
        default=None, ge=1, description="HNSW search breadth; higher = better recall, slower. "
        "Applied when the collection is created."
    )
    ef_construction: int | None = Field(
        default=None, ge=1,
        description="HNSW build breadth, applied when the collection is created.",
    )
    max_neighbors: int | None = Field(
        default=None, ge=2, description="HNSW links per node (M), applied when the collection is "
        "created."
    )

    @field_validator("collection")
    @classmethod
    def _chroma_collection_name(cls, value: str) -> str:
        if not COLLECTION_RE.match(value) or ".." in value:
            raise ValueError(
                "Chroma collection names have 3-512 characters from [a-zA-Z0-9._-], start and "
                "end with a letter or digit, and contain no '..'"
            )
        return value

    @model_validator(mode="after")
    def _resolve_mode(self) -> ChromaConfig:
        if self.mode is None:
            self.mode = "server" if self.host is not None else "disk"
        if self.mode != "server":
            fields = type(self).model_fields
            stray = [
                f for f in SERVER_FIELDS
                if getattr(self, f) != fields[f].get_default(call_default_factory=True)
            ]
            if stray:
                raise ValueError(
                    f"{', '.join(stray)} only apply to mode 'server' (mode is {self.mode!r})"
                )
        if self.mode != "disk" and self.path is not None:
            raise ValueError(f"path only applies to mode 'disk' (mode is {self.mode!r})")
        if self.mode == "server" and self.host is None:
            self.host = "localhost"
        return self

    def resolved_path(self) -> Path:
        """The directory of disk mode, with ``~`` expanded."""
        return Path(self.path).expanduser() if self.path else default_path()

    def hnsw(self) -> dict[str, object]:
        """The HNSW configuration a new collection is created with (always cosine space)."""
        out: dict[str, object] = {"space": "cosine"}
        for name in ("ef_search", "ef_construction", "max_neighbors"):
            value = getattr(self, name)
            if value is not None:
                out[name] = value
        return out

    def describe_location(self) -> str:
        """Where the data is, for error messages."""
        if self.mode == "server":
            scheme = "https" if self.ssl else "http"
            return f"Chroma server {scheme}://{self.host}:{self.port}"
        if self.mode == "memory":
            return "in-memory Chroma"
        return f"Chroma directory {self.resolved_path()}"
