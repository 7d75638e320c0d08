"""The dashboard's pieces without a browser: the session cookie, CSRF tokens, the scope rule,
scope counting, and secret redaction."""

from __future__ import annotations

import os
from pathlib import Path
from types import SimpleNamespace

import pytest
from memstack_server.dashboard.access import ScopeForbidden, Viewer
from memstack_server.dashboard.scopes import count_scopes
from memstack_server.dashboard.session import (
    CLOCK_SKEW,
    SECRET_ENV,
    SESSION_MAX_AGE,
    Session,
    SessionCodec,
    load_secret,
)
from memstack_server.dashboard.stack import HIDDEN, redact, secret_name

from memstack import Memory

KEY = "msk_0123456789ab_" + "k" * 43


def test_session_cookie_round_trip_tamper_foreign_and_expiry() -> None:
    codec = SessionCodec(b"s" * 32)
    cookie = codec.seal(KEY, now=1000)
    assert KEY not in cookie and "0123456789ab" not in cookie
    session = codec.open(cookie, now=1000 + 60)
    assert session is not None and session.raw_key == KEY
    assert codec.open(cookie, now=1000 + SESSION_MAX_AGE + 1) is None  # expired
    assert codec.open(cookie, now=1000 - 60) is not None  # another instance's clock, a bit behind
    assert codec.open(cookie, now=1000 - CLOCK_SKEW - 1) is None  # from the future
    flipped = cookie[:20] + ("A" if cookie[20] != "A" else "B") + cookie[21:]
    assert codec.open(flipped, now=1001) is None  # altered
    assert SessionCodec(b"t" * 32).open(cookie, now=1001) is None  # another secret
    for junk in (None, "", "not-base64!!", "A" * 5000):
        assert codec.open(junk) is None
    # two sessions of one key get different CSRF nonces
    other = codec.open(codec.seal(KEY, now=1000), now=1001)
    assert other is not None and other.nonce != session.nonce


def test_csrf_token_is_bound_to_the_session_nonce() -> None:
    codec = SessionCodec(b"s" * 32)
    token = codec.token("nonce-a")
    assert codec.token_ok("nonce-a", token)
    assert not codec.token_ok("nonce-b", token)
    assert not codec.token_ok("nonce-a", token[:-1] + ("0" if token[-1] != "0" else "1"))
    assert not codec.token_ok(None, token) and not codec.token_ok("nonce-a", None)
    assert not codec.token_ok("nonce-a", "")


def test_secret_file_is_made_once_owner_only(tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MEMSTACK_HOME", str(tmp_path))
    monkeypatch.delenv(SECRET_ENV, raising=False)
    first = load_secret()
    path = tmp_path / "dashboard-secret"
    assert path.stat().st_mode & 0o777 == 0o600 and len(first) == 32
    assert load_secret() == first  # a second worker reads the same secret
    monkeypatch.setenv(SECRET_ENV, "x" * 40)
    assert load_secret() == b"x" * 40
    monkeypatch.setenv(SECRET_ENV, "short")
    with pytest.raises(ValueError, match=SECRET_ENV):
        load_secret()
    assert not [p for p in os.listdir(tmp_path) if p.startswith(".")]  # no temp files left


def _viewer(**key: object) -> Viewer:
    fields = {"id": "k1", "name": "n", "scope": {}, "read_only": False, "admin": False, **key}
    return Viewer(SimpleNamespace(**fields), Session(KEY, "n", 0))


def test_scope_rule_matches_the_api() -> None:
    alice = _viewer(scope={"user_id": "alice"})
    assert alice.within({}) == {"user_id": "alice"}
    assert alice.within({"agent_id": "bot"}) == {"user_id": "alice", "agent_id": "bot"}
    assert alice.within({"user_id": "alice", "run_id": ""}) == {"user_id": "alice"}
    with pytest.raises(ScopeForbidden, match="user_id='bob'"):
        alice.within({"user_id": "bob"})
    admin = _viewer(admin=True, scope={"user_id": "ignored"})
    assert admin.scope == {} and admin.within({"user_id": "bob"}) == {"user_id": "bob"}
    assert _viewer(read_only=True, scope={"user_id": "a"}).read_only


def test_scope_counts_page_through_the_store(tmp_path: Path) -> None:
    memory = Memory({"vector_store": {"provider": "memory"}, "embedder": {"provider": "hashing"},
                     "history_store": {"provider": "sqlite",
                                       "config": {"path": str(tmp_path / "h.db")}}})
    memory.add([f"alice fact {i}" for i in range(7)], user_id="alice", infer=False)
    memory.add([f"bob fact {i}" for i in range(3)], user_id="bob", agent_id="bot", infer=False)
    memory.add("a run note", run_id="r1", infer=False)
    counts = count_scopes(memory.store, {}, page=2)
    assert counts.total == counts.scanned == 11 and not counts.truncated
    assert dict(counts.counts["user_id"]) == {"alice": 7, "bob": 3}
    assert dict(counts.counts["agent_id"]) == {"bot": 3}
    assert dict(counts.counts["run_id"]) == {"r1": 1}
    only_bob = count_scopes(memory.store, {"user_id": "bob"}, page=2)
    assert only_bob.total == 3 and set(only_bob.counts["user_id"]) == {"bob"}
    capped = count_scopes(memory.store, {}, page=4, max_scanned=5)
    assert capped.scanned == 5 and capped.total == 11 and capped.truncated
    memory.close()


def test_redaction_hides_secrets_by_name_type_and_inside_strings() -> None:
    from pydantic import SecretStr

    shown = redact({
        "api_key": "sk-1", "model": "m", "max_tokens": 5, "keyword_weight": 1.0,
        "tokenizer": "english", "aws_secret_access_key": "a", "db_password": "p",
        "headers": {"Authorization": "Bearer t", "X-Trace": "on"},
        "any_name": SecretStr("hidden-by-type"),
        "url": "postgresql://bob:hunter2@db:5432/x", "dsn": "x",
        "connection": "host=h password=pw1 user=u",
        "empty_key": None,
    })
    assert shown["api_key"] == shown["aws_secret_access_key"] == shown["db_password"] == HIDDEN
    assert shown["headers"] == {"Authorization": HIDDEN, "X-Trace": "on"}
    assert shown["any_name"] == HIDDEN
    assert shown["model"] == "m" and shown["max_tokens"] == 5 and shown["tokenizer"] == "english"
    assert shown["keyword_weight"] == 1.0 and shown["empty_key"] is None
    assert "hunter2" not in shown["url"] and "bob:" in shown["url"]
    assert "pw1" not in shown["connection"] and "host=h" in shown["connection"]
    assert shown["dsn"] == HIDDEN
    assert secret_name("apiKey") and not secret_name("collection")
