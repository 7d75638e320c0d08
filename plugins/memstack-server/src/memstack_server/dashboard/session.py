"""The dashboard's session cookie and CSRF tokens.

Why the cookie carries the key, encrypted, and not a key id: the dashboard must follow exactly
the API's auth rules, and the one call the key registry offers for that is
``verify(raw_key) -> ApiKey | None``. Re-verifying the key on every request means a revoked key
(or one whose scope changed) stops working in the dashboard as soon as it stops working in the
API, on every instance, with no session table to keep in sync. The raw key never reaches the
browser in readable form: the cookie is AES-256-GCM ciphertext (authenticated, so it cannot be
altered either), ``HttpOnly`` (no script reads it), ``SameSite=Strict`` and limited to ``/ui``,
and it expires after `SESSION_MAX_AGE` seconds.

The secret: ``$MEMSTACK_DASHBOARD_SECRET`` when set (give every instance behind one address the
same value), else a random secret kept in ``$MEMSTACK_HOME/dashboard-secret`` (mode 0600), so
the workers of one host share it and a restart does not sign everyone out.

CSRF: every session holds a random nonce; a form's token is HMAC(secret, nonce). A request
from another site can neither read the cookie nor compute the token. The sign-in form gets the
same protection from a short-lived pre-session nonce cookie.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
import time
from dataclasses import dataclass
from pathlib import Path

SECRET_ENV = "MEMSTACK_DASHBOARD_SECRET"
SECRET_FILE = "dashboard-secret"
SESSION_COOKIE = "memstack_session"
LOGIN_COOKIE = "memstack_login"
COOKIE_PATH = "/ui"
SESSION_MAX_AGE = 12 * 3600
LOGIN_MAX_AGE = 3600
CLOCK_SKEW = 300  # seconds another instance's clock may be ahead of this one's
_AAD = b"memstack-dashboard-session-v1"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def load_secret() -> bytes:
    """The dashboard secret (see the module docstring for where it comes from)."""
    given = os.environ.get(SECRET_ENV, "")
    if given:
        if len(given) < 16:
            raise ValueError(f"{SECRET_ENV} is {len(given)} characters long; use at least 16 "
                             "(e.g. `python -c 'import secrets; print(secrets.token_hex(32))'`)")
        return given.encode("utf-8")
    from memstack.paths import data_home

    path = data_home() / SECRET_FILE
    try:
        return bytes.fromhex(path.read_text(encoding="ascii").strip())
    except (OSError, ValueError):
        pass
    return _create_secret_file(path)


def _create_secret_file(path: Path) -> bytes:
    """Write a new random secret with mode 0600; if another worker won the race, use theirs."""
    path.parent.mkdir(parents=True, exist_ok=True)
    value = secrets.token_bytes(32)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as fh:
        fh.write(value.hex())
    try:
        os.link(tmp, path)  # atomic, and fails if the file exists
    except FileExistsError:
        value = bytes.fromhex(path.read_text(encoding="ascii").strip())
    finally:
        tmp.unlink(missing_ok=True)
    return value


@dataclass(frozen=True)
class Session:
    """What the cookie holds once opened."""

    raw_key: str
    nonce: str
    issued_at: int


class SessionCodec:
    """Seals and opens session cookies; makes and checks CSRF tokens."""

    def __init__(self, secret: bytes) -> None:
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        self._aead = AESGCM(hashlib.sha256(b"session\x00" + secret).digest())
        self._mac_key = hashlib.sha256(b"csrf\x00" + secret).digest()

    def seal(self, raw_key: str, *, now: float | None = None) -> str:
        body = json.dumps({"k": raw_key, "n": secrets.token_hex(16),
                           "t": int(now if now is not None else time.time())})
        iv = secrets.token_bytes(12)
        return _b64(iv + self._aead.encrypt(iv, body.encode("utf-8"), _AAD))

    def open(self, cookie: str | None, *, now: float | None = None) -> Session | None:
        """The session, or None when the cookie is missing, altered, foreign or expired."""
        if not cookie or len(cookie) > 4096:
            return None
        from cryptography.exceptions import InvalidTag

        try:
            blob = _unb64(cookie)
            body = json.loads(self._aead.decrypt(blob[:12], blob[12:], _AAD))
            session = Session(str(body["k"]), str(body["n"]), int(body["t"]))
        except (InvalidTag, ValueError, KeyError, TypeError):
            return None
        age = (now if now is not None else time.time()) - session.issued_at
        return session if -CLOCK_SKEW <= age <= SESSION_MAX_AGE else None

    def token(self, nonce: str) -> str:
        """The CSRF token that belongs to a session (or pre-session) nonce."""
        return hmac.new(self._mac_key, nonce.encode("utf-8"), hashlib.sha256).hexdigest()

    def token_ok(self, nonce: str | None, given: str | None) -> bool:
        if not nonce or not given:
            return False
        return hmac.compare_digest(self.token(nonce), given)
