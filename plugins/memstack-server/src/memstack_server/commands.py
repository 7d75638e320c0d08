"""`memstack serve` and `memstack keys create | list | revoke` (added through the
`memstack_commands` hook). Heavy imports happen inside the handlers."""

from __future__ import annotations

import argparse
import json
import logging
import os
from typing import Any

from memstack_server.settings import SETTINGS_ENV, ServerSettings, load_settings


def add_commands(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("serve", help="serve the memory over HTTP (REST API under /v1)")
    p.add_argument("--config", help="memstack config file with an optional `server:` section; "
                   "default $MEMSTACK_CONFIG, else the embedded default")
    p.add_argument("--host", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, help="port (default 8080; 0 picks a free one)")
    p.add_argument("--workers", type=int, help="worker processes (default 1)")
    p.set_defaults(func=cmd_serve)

    k = sub.add_parser("keys", help="create, list and revoke API keys of memstack-server")
    ksub = k.add_subparsers(dest="keys_command", required=True)
    c = ksub.add_parser("create", help="create a key; it is printed once, only its hash kept")
    c.add_argument("--name", default="key", help="a label for people (default 'key')")
    c.add_argument("--scope", action="append", default=[], metavar="NAME=VALUE",
                   help="bind the key to a scope, e.g. user_id=alice (repeatable)")
    c.add_argument("--read-only", action="store_true", help="list, get, search, export only")
    c.add_argument("--admin", action="store_true", help="may act in every scope")
    c.add_argument("--config", help="memstack config file (the keys live in its history "
                   "store's database)")
    c.add_argument("--json", action="store_true")
    c.set_defaults(func=cmd_keys_create)
    ls = ksub.add_parser("list", help="list keys (never their secrets)")
    ls.add_argument("--config")
    ls.add_argument("--json", action="store_true")
    ls.set_defaults(func=cmd_keys_list)
    r = ksub.add_parser("revoke", help="revoke a key by id; refused everywhere within 2 s")
    r.add_argument("id")
    r.add_argument("--config")
    r.add_argument("--json", action="store_true")
    r.set_defaults(func=cmd_keys_revoke)


def _keys(args: Any) -> Any:
    from memstack_server.keys import KeyStore

    return KeyStore(load_settings(args.config).memory_config or None)


def cmd_keys_create(args: Any) -> int:
    from memstack_server.keys import parse_scope

    store = _keys(args)
    try:
        raw, key = store.create(args.name, scope=parse_scope(args.scope),
                                read_only=args.read_only, admin=args.admin)
    finally:
        store.close()
    if args.json:
        print(json.dumps({"key": raw, **key.as_dict()}))
    else:
        print(raw)
        import sys

        scope = "every scope (admin)" if key.admin else \
            ", ".join(f"{k}={v}" for k, v in key.scope.items())
        print(f"id {key.id}, {scope}{', read-only' if key.read_only else ''}. This key is "
              "shown once; only its hash is stored.", file=sys.stderr)
    return 0


def cmd_keys_list(args: Any) -> int:
    store = _keys(args)
    try:
        keys = store.list()
    finally:
        store.close()
    if args.json:
        print(json.dumps([k.as_dict() for k in keys]))
        return 0
    from memstack.cli import output

    output.table(f"{len(keys)} API keys", ["id", "name", "scope", "rights", "created", "revoked"],
                 [[k.id, k.name, "admin" if k.admin else
                   ",".join(f"{n}={v}" for n, v in k.scope.items()),
                   "read-only" if k.read_only else "read-write", k.created_at,
                   k.revoked_at or ""] for k in keys])
    return 0


def cmd_keys_revoke(args: Any) -> int:
    store = _keys(args)
    try:
        key = store.revoke(args.id)
    finally:
        store.close()
    if args.json:
        print(json.dumps(key.as_dict()))
    else:
        print(f"revoked {key.id} ({key.name}) at {key.revoked_at}")
    return 0


LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"


def log_config(level: str) -> dict[str, Any]:
    """uvicorn's logging, every line with the request id (`-` outside a request)."""
    return {
        "version": 1, "disable_existing_loggers": False,
        "filters": {"rid": {"()": "memstack_server.middleware.RequestIdFilter"}},
        "formatters": {"plain": {"format": LOG_FORMAT}},
        "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "plain",
                                "filters": ["rid"], "stream": "ext://sys.stderr"}},
        "loggers": {name: {"handlers": ["stderr"], "level": level.upper(), "propagate": False}
                    for name in ("uvicorn", "uvicorn.error", "memstack", "memstack_server",
                                 "memstack_server.access")},
    }


def app_from_env() -> Any:
    """uvicorn factory for worker processes: the settings come through the environment."""
    from memstack_server.app import create_app

    settings = ServerSettings.model_validate_json(os.environ[SETTINGS_ENV])
    return create_app(settings)


def cmd_serve(args: Any) -> int:
    import uvicorn

    settings = load_settings(args.config, host=args.host, port=args.port, workers=args.workers)
    settings.check_safe()
    if settings.workers > 1:
        _check_multiprocess(settings)
    if settings.auth.enabled:
        _check_keys_reachable(settings)
    os.environ[SETTINGS_ENV] = settings.model_dump_json()
    level = settings.log_level
    logging.getLogger("memstack_server").info("serving on %s:%s", settings.host, settings.port)
    uvicorn.run("memstack_server.commands:app_from_env", factory=True, host=settings.host,
                port=settings.port, workers=settings.workers, log_config=log_config(level),
                log_level=level, access_log=False, server_header=False,
                timeout_graceful_shutdown=10)
    return 0


def _check_multiprocess(settings: ServerSettings) -> None:
    """Several workers are several processes on one store: refuse a store that says it cannot
    be shared (Chroma on disk keeps its index in the process; writes would be lost)."""
    from memstack import Memory
    from memstack.errors import ConfigError

    with Memory(settings.memory_config or None) as m:
        if "multiprocess" not in m.store.capabilities:
            raise ConfigError(
                f"server.workers is {settings.workers}, but vector store "
                f"{m.names.get('vector_store')!r} in this mode cannot be shared by several "
                "processes; use one worker, or a shared store (sqlite, pgvector, qdrant, or "
                "chroma in server mode)", field="server.workers", given=settings.workers,
                allowed="1")


def _check_keys_reachable(settings: ServerSettings) -> None:
    """Fail at start, not at the first request, when the key database cannot be opened."""
    from memstack_server.keys import KeyStore

    store = KeyStore(settings.memory_config or None)
    try:
        if not store.list(include_revoked=False):
            print("memstack-server: no API key exists yet; create one with "
                  "`memstack keys create --admin` (every /v1 call needs one)", flush=True)
    finally:
        store.close()
