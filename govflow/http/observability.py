"""Request ids, the access log and the security headers.

:class:`AccessLog` wraps the whole application (outside Litestar's own exception handling), so
it sees the status actually sent for every request: a 401 raised by the bearer middleware, a 404
or 405 from the router for an unknown route. It accepts a sane incoming ``X-Request-ID`` (or
makes one), binds it into structlog's context for every line logged while the request runs, and
writes one access log line per request with the authenticated user's id. After the answer it
hands the scope and status to an observer (the denial recorder). :func:`response_headers` is a
``before_send`` hook, so every answer carries the request id and the security headers.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import structlog
from litestar.datastructures import MutableScopeHeaders
from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from govflow.usecases.principal import Principal

REQUEST_ID_HEADER = "x-request-id"
_SANE_ID = re.compile(r"^[A-Za-z0-9._:-]{8,64}$")

access_log = structlog.get_logger("govflow.access")


def request_id_of(scope: Scope) -> str:
    """The request's id: stored on the scope on first use."""
    state: dict[str, Any] = scope.setdefault("state", {})  # type: ignore[typeddict-item]
    request_id = state.get("request_id")
    if request_id is None:
        incoming = dict(scope.get("headers", [])).get(REQUEST_ID_HEADER.encode(), b"")
        text = incoming.decode("latin-1")
        request_id = text if _SANE_ID.match(text) else uuid.uuid4().hex
        state["request_id"] = request_id
    return str(request_id)


Observer = Callable[[Scope, int], Awaitable[None]]


def user_id_of(scope: Scope) -> str | None:
    """The authenticated caller's id, once the bearer middleware has accepted a token."""
    user = scope.get("user")
    return str(user.user_id) if isinstance(user, Principal) else None


class AccessLog:
    """Binds the request id into the log context and logs one line per request."""

    def __init__(self, app: ASGIApp, observe: Observer | None = None) -> None:
        self.app = app
        self._observe = observe

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await self.app(scope, receive, send)
            return
        request_id = request_id_of(scope)
        started = time.perf_counter()
        status = 500

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        with structlog.contextvars.bound_contextvars(request_id=request_id):
            try:
                await self.app(scope, receive, send_wrapper)
            finally:
                access_log.info(
                    "http_request",
                    method=scope.get("method"),
                    path=scope.get("path"),
                    status=status,
                    user_id=user_id_of(scope),
                    duration_ms=round((time.perf_counter() - started) * 1000, 2),
                )
            if self._observe is not None:
                await self._observe(scope, status)


def security_headers(production: bool) -> list[tuple[str, str]]:
    """Helmet-equivalent headers for a JSON API."""
    headers = [
        ("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'"),
        ("X-Content-Type-Options", "nosniff"),
        ("X-Frame-Options", "DENY"),
        ("Referrer-Policy", "no-referrer"),
        ("Cross-Origin-Opener-Policy", "same-origin"),
        ("Cross-Origin-Resource-Policy", "same-origin"),
        ("X-Permitted-Cross-Domain-Policies", "none"),
        ("Cache-Control", "no-store"),
    ]
    if production:
        headers.append(("Strict-Transport-Security", "max-age=31536000; includeSubDomains"))
    return headers


def response_headers(production: bool) -> Any:
    """A ``before_send`` hook adding the request id and the security headers."""
    fixed = security_headers(production)

    async def before_send(message: Message, scope: Scope) -> None:
        if message["type"] != "http.response.start":
            return
        headers = MutableScopeHeaders.from_message(message)
        headers["X-Request-ID"] = request_id_of(scope)
        for name, value in fixed:
            if name not in headers:
                headers[name] = value

    return before_send
