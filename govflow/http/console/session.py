"""The console's cookies: the session (the API's access and refresh tokens) and the CSRF token.

Both are signed with an HMAC key derived from the JWT secret, so a cookie the server did not
write is ignored. The session cookie carries the same tokens ``POST /auth/login`` returns: the
console authenticates exactly as the API does. Both cookies are ``HttpOnly``,
``SameSite=Strict`` and, outside development and test, ``Secure``.

CSRF is a double submit: every form carries the token of the ``govflow_csrf`` cookie in its
``csrf_token`` field (htmx requests in the ``X-CSRF-Token`` header); a POST whose token is
missing or differs is refused with 403.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

import msgspec
from litestar.datastructures import Cookie

SESSION_COOKIE = "govflow_session"
CSRF_COOKIE = "govflow_csrf"
FLASH_COOKIE = "govflow_flash"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
COOKIE_PATH = "/ui"


class Session(msgspec.Struct, frozen=True, kw_only=True):
    """A signed-in browser: the API's token pair."""

    access: str
    refresh: str


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class CookieSigner:
    """Signs and reads the console's cookies (HMAC-SHA256 over the value)."""

    def __init__(self, secret: str, *, secure: bool) -> None:
        self._key = hmac.new(secret.encode(), b"govflow-console-cookies", hashlib.sha256).digest()
        self.secure = secure

    def _sign(self, purpose: str, payload: str) -> str:
        mac = hmac.new(self._key, f"{purpose}:{payload}".encode(), hashlib.sha256).digest()
        return f"{payload}.{_b64(mac)}"

    def _read(self, purpose: str, raw: str | None) -> str | None:
        if not raw or "." not in raw:
            return None
        payload, _, _ = raw.rpartition(".")
        if not hmac.compare_digest(self._sign(purpose, payload), raw):
            return None
        return payload

    def cookie(self, name: str, value: str, *, max_age: int | None = None) -> Cookie:
        return Cookie(
            key=name,
            value=value,
            path=COOKIE_PATH,
            httponly=True,
            secure=self.secure,
            samesite="strict",
            max_age=max_age,
        )

    def expired(self, name: str) -> Cookie:
        return self.cookie(name, "", max_age=0)

    def session_cookie(self, session: Session, max_age: int) -> Cookie:
        payload = _b64(msgspec.json.encode(session))
        return self.cookie(SESSION_COOKIE, self._sign("session", payload), max_age=max_age)

    def session(self, raw: str | None) -> Session | None:
        payload = self._read("session", raw)
        if payload is None:
            return None
        try:
            return msgspec.json.decode(_unb64(payload), type=Session)
        except (msgspec.DecodeError, ValueError):
            return None

    def new_csrf(self) -> tuple[str, Cookie]:
        """A fresh CSRF token and the cookie carrying it."""
        token = secrets.token_urlsafe(32)
        return token, self.cookie(CSRF_COOKIE, self._sign("csrf", token))

    def csrf(self, raw: str | None) -> str | None:
        """The CSRF token of the cookie, if the cookie is ours."""
        return self._read("csrf", raw)

    def flash_cookie(self, message: str) -> Cookie:
        payload = _b64(message.encode()[:500])
        return self.cookie(FLASH_COOKIE, self._sign("flash", payload), max_age=60)

    def flash(self, raw: str | None) -> str | None:
        payload = self._read("flash", raw)
        if payload is None:
            return None
        try:
            return _unb64(payload).decode()
        except (ValueError, UnicodeDecodeError):
            return None


def same_token(expected: str | None, given: str | None) -> bool:
    """Whether a posted CSRF token matches the cookie's (constant time)."""
    if not expected or not given:
        return False
    return hmac.compare_digest(expected.encode(), given.encode())
