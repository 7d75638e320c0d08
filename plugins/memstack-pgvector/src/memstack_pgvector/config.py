"""Config models for the `pgvector` vector store and the `postgres` history store (pydantic only).

Secrets (the password, and the DSN, which may embed one) are `SecretStr`, so they never show up
in a repr, a log line or a validation error.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import ConfigDict, Field, SecretStr, field_validator, model_validator

from memstack.spec import ProviderConfig, VectorStoreConfig

# Postgres truncates identifiers at 63 bytes; index names add up to 5 bytes ("_hnsw", "_pkey").
MAX_TABLE_NAME = 58
_NAME_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")
_IDENT_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def table_name_problem(prefix: str, collection: str) -> str | None:
    """Why `prefix + collection` cannot name a table (None when it can).

    Names are quoted with `psycopg.sql.Identifier` anyway; this rule keeps them readable in psql
    and keeps Postgres from silently truncating them (which could map two collections to one table).
    """
    name = prefix + collection
    if not collection or not _NAME_RE.match(collection):
        return (
            f"collection {collection!r} may only use letters, digits, '_', '.' and '-' "
            "(and must not start with '.' or '-')"
        )
    if prefix and not _IDENT_RE.match(prefix):
        return f"table_prefix {prefix!r} must be letters, digits and '_', not starting with a digit"
    if len(name.encode()) > MAX_TABLE_NAME:
        return (
            f"table name {name!r} is longer than {MAX_TABLE_NAME} bytes; use a shorter collection "
            "name or table_prefix"
        )
    return None


class PostgresConnectionConfig(ProviderConfig):
    """Where the server is: a `dsn`, or host/port/dbname/user; the password comes from the env."""

    # `schema` is the name users write (a field cannot be called that: BaseModel.schema exists),
    # so it is the alias for input *and* output: dumps and the JSON schema both say `schema`.
    model_config = ConfigDict(validate_by_name=True, validate_by_alias=True,
                              serialize_by_alias=True)

    dsn: SecretStr | None = Field(
        default=None,
        description="libpq connection string or URI, e.g. 'postgresql://app@db:5432/memstack'. "
        "Fields below override the matching parts of it.",
    )
    host: str | None = Field(default=None, description="Host name, IP or unix socket directory.")
    port: int | None = Field(default=None, ge=1, le=65535)
    dbname: str | None = None
    user: str | None = None
    password: SecretStr | None = Field(
        default=None, description="Prefer password_env; a literal here ends up in config files."
    )
    password_env: str | None = Field(
        default="PGPASSWORD",
        description="Environment variable holding the password (read when the store opens).",
    )
    sslmode: str | None = Field(default=None, description="libpq sslmode, e.g. 'require'.")
    db_schema: str = Field(
        default="public", alias="schema", description="Postgres schema holding the tables."
    )
    connect_timeout: float = Field(
        default=10.0, gt=0, description="Seconds to wait for a connection."
    )
    pool_min_size: int = Field(default=1, ge=0)
    pool_max_size: int = Field(default=5, ge=1)

    @field_validator("db_schema")
    @classmethod
    def _schema_name(cls, v: str) -> str:
        if not _IDENT_RE.match(v) or len(v.encode()) > 63:
            raise ValueError("schema must be letters, digits and '_' (not starting with a digit)")
        return v

    @model_validator(mode="after")
    def _pool_sizes(self) -> PostgresConnectionConfig:
        if self.pool_max_size < self.pool_min_size:
            raise ValueError("pool_max_size must be >= pool_min_size")
        return self


class PgVectorConfig(VectorStoreConfig, PostgresConnectionConfig):
    """One table per collection: `<schema>.<table_prefix><collection>`."""

    table_prefix: str = Field(default="memstack_", description="Prepended to the collection name.")
    hnsw_m: int = Field(default=16, ge=2, le=100, description="HNSW links per node (build time).")
    hnsw_ef_construction: int = Field(
        default=64, ge=4, le=1000, description="HNSW candidate list at build time."
    )
    ef_search: int = Field(
        default=800, ge=1, le=1000,
        description="HNSW candidate list at query time (raised to the query limit when smaller). "
        "Only searches through the index use it: unfiltered ones and scopes larger than "
        "exact_scope_max. 800 because a few queries in a large scope otherwise come back with "
        "none of their true neighbours on some index builds (docs/benchmarks.md, Scale).",
    )
    ann_overfetch: int = Field(
        default=4, ge=1, le=100,
        description="A filtered search through the HNSW index takes this many times `limit` "
        "rows and keeps the nearest `limit` (iterative scans return rows only roughly by "
        "distance); 1 turns it off.",
    )
    iterative_scan: Literal["relaxed_order", "strict_order", "off"] = Field(
        default="relaxed_order",
        description="pgvector >= 0.8 iterative index scans: filtered queries still fill `limit`.",
    )
    max_scan_tuples: int = Field(
        default=20000, ge=1, description="Upper bound on tuples an iterative scan visits."
    )
    exact: bool = Field(
        default=False,
        description="Always scan exactly (no HNSW); results are exact, slower on big collections.",
    )
    bulk_load_order: bool = Field(
        default=True,
        description="At the end of a bulk load of 50,000 rows or more, rewrite the table so "
        "that similar vectors lie together before the HNSW build (a third faster at 1M; needs "
        "the table's size in free disk meanwhile; see the README's Bulk loads).",
    )
    create_extension: bool = Field(
        default=True, description="Run CREATE EXTENSION vector when it is missing (needs rights)."
    )
    keyword_search: bool = Field(
        default=True,
        description="Declare `keyword_search`: hybrid search ranks keywords with BM25 computed "
        "in SQL over an indexed tsvector column, instead of an index in the engine's memory.",
    )
    keyword_tokenizer: Literal["english", "simple"] = Field(
        default="english",
        description="Tokens stored for keyword search; keep it equal to search.tokenizer. "
        "Changing it re-tokenises the table when the store next opens.",
    )
    exact_scope_max: int = Field(
        default=2000, ge=0,
        description="Filtered queries whose filter matches at most this many rows are answered "
        "exactly (filter first, then exact distances); larger ones use the HNSW index.",
    )

    @model_validator(mode="after")
    def _table_name(self) -> PgVectorConfig:
        problem = table_name_problem(self.table_prefix, self.collection)
        if problem:
            raise ValueError(problem)
        return self


class PostgresHistoryConfig(PostgresConnectionConfig):
    """The history of every change, in one table that several application servers share."""

    table: str = Field(default="memstack_history", description="History table name.")

    @field_validator("table")
    @classmethod
    def _table(cls, v: str) -> str:
        if not _IDENT_RE.match(v) or len(v.encode()) > MAX_TABLE_NAME:
            raise ValueError(
                f"table must be letters, digits and '_', at most {MAX_TABLE_NAME} bytes"
            )
        return v
