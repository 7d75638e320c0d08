"""Keeping secrets out of errors: what a secret looks like, by its key's name or by its value.

Every `ConfigError` passes its message and attributes through here, so an API key reaches
neither a message nor ``error.given`` nor ``repr(error)``, whatever key it was given under
(``api_key``, a misspelled ``api_kye`` inside a nested section, or a bare ``sk-...`` string).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

MASK = "**********"
SECRET_WORDS = ("key", "password", "passwd", "token", "secret", "dsn", "authorization",
                "credential", "headers", "cookie")
# Values that are secrets whatever their key: vendor key prefixes, bearer tokens, passwords in
# URLs, and long random-looking tokens (letters and digits mixed, 32+ characters).
_SECRET_VALUE = re.compile(
    r"(?i:bearer\s+)\S+"
    r"|\b(?:sk|pk|rk)[-_][A-Za-z0-9_\-]{8,}"
    r"|\b(?:ghp|gho|ghs|github_pat|xox[abpr]|glpat|hf)_[A-Za-z0-9_\-]{8,}"
    r"|\bAKIA[0-9A-Z]{16}\b"
    r"|(?<=://)[^/\s:@]+:[^/\s@]+(?=@)"
    r"|\b(?=[A-Za-z0-9_\-]*\d)(?=[A-Za-z0-9_\-]*[A-Za-z])[A-Za-z0-9_\-]{32,}\b")


def is_secret_name(name: object) -> bool:
    """A field or key whose value must never be shown (``api_key``, ``password``, ``dsn``...)."""
    return isinstance(name, str) and any(word in name.lower() for word in SECRET_WORDS)


def scrub(text: str) -> str:
    """`text` with every secret-looking substring masked."""
    return _SECRET_VALUE.sub(MASK, text)


def redact(value: Any) -> Any:
    """A copy of `value` safe to show: entries under secret-named keys masked, secret-looking
    strings masked, at any depth."""
    if isinstance(value, Mapping):
        return {k: MASK if is_secret_name(k) else redact(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [redact(v) for v in value]
    if isinstance(value, str):
        return scrub(value)
    return value
