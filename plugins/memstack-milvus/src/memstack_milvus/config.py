"""Config of the `milvus` store: a Milvus server / Zilliz Cloud (`uri` + `token`) or Milvus Lite.

Milvus Lite is chosen by a `uri` that is a local file path ending in ``.db``; anything else must
be an ``http://``, ``https://``, ``tcp://`` or ``unix:`` address of a Milvus server.
Only pydantic here, so validating a config never imports pymilvus.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator, model_validator

from memstack.paths import data_home
from memstack.spec import VectorStoreConfig

SERVER_SCHEMES = ("http://", "https://", "tcp://", "unix:")
# Milvus collection and database names: a letter or '_' first, then letters, digits and '_'.
NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,254}$")
INDEX_TYPES = ("FLAT", "HNSW", "IVF_FLAT", "AUTOINDEX")


def _default_uri() -> str:
    return str(data_home() / "milvus.db")


class MilvusStoreConfig(VectorStoreConfig):
    """Where the collection lives and how it is indexed. The collection is created when missing."""

    uri: str = Field(
        default_factory=_default_uri,
        description="Milvus Lite file ('./memories.db', must end in .db) or a server address "
        "('http://localhost:19530', a Zilliz Cloud endpoint)",
    )
    token: SecretStr | None = Field(
        None, description="Server token: 'user:password' or a Zilliz Cloud API key"
    )
    db_name: str = Field("", description="Database on the server; '' is the default database")
    index_type: Literal["FLAT", "HNSW", "IVF_FLAT", "AUTOINDEX"] | None = Field(
        None,
        description="Vector index for a new collection; default FLAT (exact) on Milvus Lite "
        "and HNSW on a server. COSINE metric always.",
    )
    index_params: dict[str, Any] = Field(
        default_factory=dict,
        description="Build parameters of the index, e.g. {'M': 16, 'efConstruction': 200}",
    )
    search_params: dict[str, Any] = Field(
        default_factory=dict,
        description="Search parameters, e.g. {'ef': 128}; for HNSW, ef is raised to the limit",
    )
    timeout: float | None = Field(30.0, gt=0, description="Seconds per request to Milvus")
    batch_size: int = Field(
        500, ge=1, le=10_000, description="Records per upsert request; bigger writes are split"
    )
    batch_bytes: int = Field(
        16 * 1024 * 1024,
        ge=1024 * 1024,
        le=256 * 1024 * 1024,
        description="Approximate bytes per upsert request; bigger writes are split",
    )
    page_size: int = Field(
        256, ge=1, le=16_384, description="Records fetched per request by get/list"
    )
    max_index_bytes: int = Field(
        65_536,
        ge=1024,
        description="Size limit of the JSON field holding the filter index (Milvus: 65,536)",
    )

    lite_flush_rows: int = Field(
        500,
        ge=0,
        description="Milvus Lite only: flush the collection after this many rows were written "
        "(upserted or deleted) by this process since its last flush; 0 never flushes. Lite "
        "scans its unflushed rows in Python on every search (~0.1 ms a row), flushed segments "
        "keep their indexes.",
    )
    keyword_search: bool | None = Field(
        None,
        description="Declare `keyword_search` (and `hybrid_query`): hybrid search ranks keywords "
        "with the engine's BM25 over term postings held in Milvus, instead of an index in the "
        "engine's memory. Rows always carry their terms, so this can be turned on at any time. "
        "Unset: on with a server, off on Milvus Lite (one process per file, and there a keyword "
        "query took 190-280 ms against 1-2 ms for the engine's index, same ranking).",
    )
    keyword_tokenizer: Literal["english", "simple"] = Field(
        "english",
        description="Tokens stored for keyword search; keep it equal to search.tokenizer. "
        "Changing it re-tokenises the collection when the store next opens.",
    )
    bm25_k1: float = Field(
        1.2, gt=0, description="BM25 term-frequency saturation; keep it equal to search.bm25_k1"
    )
    bm25_b: float = Field(
        0.4, ge=0, le=1, description="BM25 length normalisation; keep it equal to search.bm25_b"
    )

    @field_validator("uri")
    @classmethod
    def _check_uri(cls, value: str) -> str:
        value = value.strip()
        if value.endswith(".db") and not value.startswith(SERVER_SCHEMES):
            return value
        if value.startswith(SERVER_SCHEMES):
            if "@" in urlsplit(value).netloc:
                raise ValueError(
                    "put credentials in 'token' ('user:password' or an API key), not in the uri, "
                    "so they never show up in logs or error messages"
                )
            return value
        raise ValueError(
            "uri must be a Milvus Lite file ending in .db (e.g. './memories.db') or a server "
            "address starting with http://, https://, tcp:// or unix: (e.g. "
            "'http://localhost:19530')"
        )

    @field_validator("collection")
    @classmethod
    def _check_collection(cls, value: str) -> str:
        if not NAME_RE.match(value):
            raise ValueError(
                "Milvus collection names use letters, digits and '_' and do not start with a "
                f"digit (at most 255 characters); got {value!r}"
            )
        return value

    @field_validator("db_name")
    @classmethod
    def _check_db(cls, value: str) -> str:
        if value and not NAME_RE.match(value):
            raise ValueError(
                "db_name uses letters, digits and '_' and does not start with a digit; "
                f"got {value!r}"
            )
        return value

    @model_validator(mode="after")
    def _lite_has_no_token(self) -> MilvusStoreConfig:
        if self.is_lite and self.token is not None:
            raise ValueError("token only applies to a Milvus server; Milvus Lite files have none")
        return self

    @property
    def keyword_side(self) -> bool:
        """Whether keyword search runs in Milvus (`keyword_search`, else with a server only)."""
        return (not self.is_lite) if self.keyword_search is None else self.keyword_search

    @property
    def is_lite(self) -> bool:
        return not self.uri.startswith(SERVER_SCHEMES)

    @property
    def lite_path(self) -> Path:
        """Absolute path of the Milvus Lite file (a directory on disk, despite the name)."""
        return Path(os.path.abspath(os.path.expanduser(self.uri)))

    @property
    def resolved_index_type(self) -> str:
        return self.index_type or ("FLAT" if self.is_lite else "HNSW")

    def display_uri(self) -> str:
        """The uri as shown in messages (credentials are never part of it)."""
        return str(self.lite_path) if self.is_lite else self.uri
