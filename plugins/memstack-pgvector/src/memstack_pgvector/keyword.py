"""Keyword search inside PostgreSQL: the engine's own BM25, computed in SQL over a `tsvector`.

Why not `to_tsvector(...)` and `ts_rank`: the engine ranks keywords with Okapi BM25 over its own
tokens (memstack.keyword_index: English stop words, light stemming), with the term statistics of
the searched scope. Postgres' parsers and `ts_rank` tokenise and score differently, so hybrid
search would rank differently on pgvector than on every other store. Instead each row carries
the engine's tokens of its `text`, written by `upsert` as a `tsvector` literal (one position per
occurrence, so a lexeme's positions count its term frequency) plus the token count, with a GIN
index on the `tsvector`. A keyword query finds the rows of the scope holding any query term
through that index and computes BM25 in one statement, with N, average length and document
frequencies of the scope read at query time. Every process and server instance therefore sees
every committed write at once, and no process keeps an index in memory.

The scope is the part of the filter `memstack.keyword_index.scope_key` extracts (top-level
user_id/agent_id/run_id equalities), exactly as the engine partitions its own index; the rest
of the filter only selects among the scored rows. So the scores equal the engine's.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

from psycopg import sql

from memstack.filters import FilterNode
from memstack.keyword_index import TOKENIZERS, scope_key
from memstack_pgvector.sql_filters import Shape, bind, condition

TEXT_FIELD = "text"
K1, B = 1.2, 0.4  # the engine's defaults (SearchConfig.bm25_k1 / bm25_b)
MAX_POSITIONS = 256  # Postgres keeps at most 256 positions per lexeme: tf saturates long before
MAX_LEXEME_BYTES = 2046  # longer lexemes are refused by tsvector
TOKENIZER_TAG = "memstack tokenizer="  # the column comment records which tokenizer wrote it
# What the statement's text depends on: (scope shape, whole-filter shape, with distance).
KeywordShape = tuple[Shape, Shape, bool]


def tokenizer(name: str) -> Callable[[str], list[str]]:
    return TOKENIZERS[name]


def document_terms(payload: dict[str, Any], tokenize: Callable[[str], list[str]]
                   ) -> tuple[str, int]:
    """(`tsvector` literal, token count) of a payload's text, as the engine tokenises it."""
    counts = Counter(t for t in tokenize(str(payload.get(TEXT_FIELD, "")))
                     if len(t.encode()) <= MAX_LEXEME_BYTES)
    parts = []
    for term, tf in counts.items():
        # Tokens are runs of letters and digits ([^\W_]+): no quote or backslash to escape.
        positions = ",".join(str(p) for p in range(1, min(tf, MAX_POSITIONS) + 1))
        parts.append(f"'{term}':{positions}")
    return " ".join(parts), sum(counts.values())


def query_terms(text: str, tokenize: Callable[[str], list[str]]) -> list[str]:
    """The distinct query terms, sorted (the engine scores each term once)."""
    return sorted({t for t in tokenize(text) if len(t.encode()) <= MAX_LEXEME_BYTES})


def keyword_statement(table: sql.Composable, filters: FilterNode | None, terms: list[str],
                      limit: int, *, k1: float = K1, b: float = B, vector: Any = None
                      ) -> tuple[sql.Composable, list[Any]]:
    """The BM25 statement and its parameters: rows (id, payload, score), best first, ties by id;
    with a query `vector`, each row also carries its cosine distance to it (hybrid search)."""
    key, params = keyword_params(filters, terms, limit, vector=vector)
    return keyword_sql(table, key, k1=k1, b=b), params


def keyword_params(filters: FilterNode | None, terms: list[str], limit: int, *,
                   vector: Any = None) -> tuple[KeywordShape, list[Any]]:
    """The statement's shape (what its SQL text depends on: a cache key) and its parameters."""
    _, scope_node = scope_key(filters)
    scope_shape, scope_params = bind(scope_node)
    full_shape, full_params = bind(filters)
    tsquery = " | ".join(f"'{t}'" for t in terms)
    params = [*full_params, *scope_params, tsquery, terms, *scope_params, limit]
    return (scope_shape, full_shape, vector is not None), params + (
        [vector] if vector is not None else [])


def keyword_sql(table: sql.Composable, key: KeywordShape, *, k1: float = K1, b: float = B
                ) -> sql.Composable:
    """The BM25 statement of a shape.

    `m` holds one row per (scope row holding a query term, term) with the term frequency and
    whether the whole filter accepts the row; `d` the document frequencies within the scope;
    `s` the scope's size and total length. Scores are positive (idf > 0 for every df).
    """
    scope_shape, full_shape, with_distance = key
    scope_cond, full_cond = condition(scope_shape), condition(full_shape)
    return sql.SQL(
        "WITH m AS MATERIALIZED ("
        " SELECT id, kw_len, {full} AS ok, u.lexeme, cardinality(u.positions)::float8 AS tf"
        " FROM {t}, unnest(kw) AS u(lexeme, positions, weights)"
        " WHERE {scope} AND kw @@ %s::tsquery AND u.lexeme = ANY(%s::text[])),"
        " s AS (SELECT count(*)::float8 AS n, coalesce(sum(kw_len), 0)::float8 AS total"
        " FROM {t} WHERE {scope}),"
        " d AS (SELECT lexeme, count(*)::float8 AS df FROM m GROUP BY lexeme),"
        " x AS (SELECT m.id, sum("
        " ln(1 + (s.n - d.df + 0.5) / (d.df + 0.5)) * m.tf * {k1p}"
        " / (m.tf + {k1} * (1 - {b} + {b} * m.kw_len"
        " / CASE WHEN s.total > 0 THEN s.total / s.n ELSE 1 END))) AS score"
        " FROM m JOIN d USING (lexeme) CROSS JOIN s WHERE m.ok"
        " GROUP BY m.id ORDER BY score DESC, m.id LIMIT %s)"
        " SELECT x.id, r.payload, x.score{distance} FROM x JOIN {t} r ON r.id = x.id"
        " ORDER BY x.score DESC, x.id"
    ).format(t=table, full=full_cond, scope=scope_cond, k1=sql.Literal(float(k1)),
             k1p=sql.Literal(float(k1) + 1), b=sql.Literal(float(b)),
             distance=sql.SQL(", r.embedding <=> %s" if with_distance else ""))
