"""Request rate limits at the edge (:mod:`govflow.usecases.rate_limits` holds the scheme).

:class:`RateLimitMiddleware` runs before authentication, so requests with a bad token count
too. It tells clients apart by the subject of a correctly signed access token (the signature
is checked, not the session: that costs a database read the limit is meant to spare) or else
by the client's address (``TRUSTED_PROXIES`` aware). Every answer carries the limit closest to
refusing in the IETF draft's headers ``RateLimit-Limit``, ``RateLimit-Remaining`` and
``RateLimit-Reset`` (seconds), and ``RateLimit-Policy`` names each limit; a refusal is a 429
with ``Retry-After``. Health, readiness and metrics routes are never limited.

Litestar's own ``RateLimitMiddleware`` was not used: it reads and writes a whole history per
client through its store (two round trips, not atomic across API processes), knows one limit
per middleware and sends no ``Retry-After``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import msgspec
from litestar.datastructures import MutableScopeHeaders
from litestar.enums import ScopeType
from litestar.status_codes import HTTP_429_TOO_MANY_REQUESTS
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from govflow.bootstrap.api import AccessTokens, InvalidToken
from govflow.http.client_ip import Network, client_ip
from govflow.http.envelope import ErrorBody
from govflow.usecases.rate_limits import RateLimits, RateVerdict

EXEMPT_PATHS = frozenset({"/health", "/livez", "/readyz", "/metrics"})
"""Probes and scrapes: never limited, so an overloaded API still reports its state."""
REFUSAL = "Too many requests; try again later"


def rate_headers(verdict: RateVerdict) -> list[tuple[str, str]]:
    """The ``RateLimit-*`` headers (and ``Retry-After`` on a refusal) of ``verdict``."""
    tightest = verdict.tightest
    if tightest is None:
        return []
    headers = [
        ("RateLimit-Limit", str(tightest.limit.ceiling)),
        ("RateLimit-Remaining", str(tightest.remaining)),
        ("RateLimit-Reset", str(tightest.reset_seconds)),
        (
            "RateLimit-Policy",
            ", ".join(
                f"{usage.limit.ceiling};w={usage.limit.window_seconds}" for usage in verdict.usages
            ),
        ),
    ]
    if not verdict.allowed:
        headers.append(("Retry-After", str(tightest.reset_seconds)))
    return headers


class RateLimitMiddleware:
    """Counts every request of a limited route; answers 429 once a limit is reached."""

    def __init__(
        self,
        app: ASGIApp,
        tokens: AccessTokens,
        limits_of: Callable[[], RateLimits | None],
        trusted_of: Callable[[], tuple[Network, ...]],
    ) -> None:
        self.app = app
        self._tokens = tokens
        self._limits_of = limits_of
        self._trusted_of = trusted_of

    def client(self, scope: Scope) -> str:
        """``user:<id>`` for a correctly signed access token, else ``ip:<address>``."""
        headers = dict(scope.get("headers", []))
        scheme, _, token = headers.get(b"authorization", b"").decode("latin-1").partition(" ")
        if scheme.lower() == "bearer" and token.strip():
            try:
                return f"user:{self._tokens.verify(token.strip()).user_id}"
            except InvalidToken:
                pass
        peer = scope.get("client")
        forwarded = headers.get(b"x-forwarded-for")
        return "ip:" + client_ip(
            peer[0] if peer else None,
            forwarded.decode("latin-1") if forwarded is not None else None,
            self._trusted_of(),
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        limits = self._limits_of()
        if (
            scope["type"] != ScopeType.HTTP
            or limits is None
            or not limits.policy.enabled
            or scope.get("path") in EXEMPT_PATHS
        ):
            await self.app(scope, receive, send)
            return
        verdict = await limits.hit(self.client(scope))
        headers = rate_headers(verdict)
        if not verdict.allowed:
            await _refuse(send, headers)
            return
        if not headers:
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                mutable = MutableScopeHeaders.from_message(message)
                for name, value in headers:
                    mutable[name] = value
            await send(message)

        await self.app(scope, receive, send_with_headers)


async def _refuse(send: Send, headers: list[tuple[str, str]]) -> None:
    body = msgspec.json.encode(ErrorBody(message=REFUSAL, code="RATE_LIMITED"))
    raw: list[tuple[bytes, bytes]] = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
    ]
    raw += [(name.lower().encode(), value.encode()) for name, value in headers]
    start: Any = {"type": "http.response.start", "status": HTTP_429_TOO_MANY_REQUESTS}
    start["headers"] = raw
    await send(start)
    await send({"type": "http.response.body", "body": body, "more_body": False})
