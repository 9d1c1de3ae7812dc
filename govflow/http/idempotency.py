"""``Idempotency-Key`` on creating routes: a route opts in with one line, ``@idempotent``::

    @idempotent
    @post("/", operation_id="createDepartment", status_code=HTTP_201_CREATED, **roles(...))

:class:`IdempotencyMiddleware` (inside authentication) handles a keyed request to such a route
for an authenticated caller, after checking the route's policy: it claims the key with the
request's fingerprint (the path, the query and the body, JSON compared by value), lets the
route answer, keeps a successful (2xx) answer and frees the key otherwise. The same request
with the same key then gets the first answer again, status and body byte for byte, with
``Idempotent-Replayed: true``; the key with another request is a 422, a duplicate while the
first still runs a 409, both naming ``header.idempotency_key``. The scheme itself (scoping,
retention, takeover) is :mod:`govflow.usecases.idempotency_keys`.

Starting an execution keeps its own key, written with the execution in one transaction and
shared with the CLI's ``--idempotency-key`` (:mod:`govflow.usecases.start_execution`).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from typing import Any, TypeVar

import msgspec
from litestar import Request
from litestar.connection import ASGIConnection
from litestar.enums import ScopeType
from litestar.handlers.base import BaseRouteHandler
from litestar.openapi.datastructures import ResponseSpec
from litestar.status_codes import HTTP_409_CONFLICT, HTTP_422_UNPROCESSABLE_ENTITY
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from govflow.http.envelope import ErrorBody, ErrorItem
from govflow.http.openapi_contract import (
    IDEMPOTENCY_KEY_PATTERN,
    ContractOperation,
    idempotent_operation,
)
from govflow.http.policy import enforce_policy
from govflow.usecases.errors import InvalidInputError, UseCaseError
from govflow.usecases.idempotency_keys import (
    KEY_FIELD,
    MAX_KEY_LENGTH,
    IdempotencyKeyInFlight,
    IdempotencyKeyReused,
    IdempotencyKeys,
    KeyedRequest,
    Replay,
)
from govflow.usecases.principal import Principal

IDEMPOTENT_OPT = "idempotent"
HEADER = b"idempotency-key"
REPLAYED_HEADER = "Idempotent-Replayed"
_KEY = re.compile(IDEMPOTENCY_KEY_PATTERN)
"""A key: 1 to 200 visible ASCII characters (a UUID is the usual choice)."""

H = TypeVar("H", bound=BaseRouteHandler)


def idempotent(handler: H) -> H:
    """Mark a route as honouring ``Idempotency-Key`` (put it above the route decorator); its
    OpenAPI operation lists the header, with its constraints, and the key's 409 and 422."""
    handler.opt[IDEMPOTENT_OPT] = True
    operation_class = getattr(handler, "operation_class", None)
    if isinstance(operation_class, type) and issubclass(operation_class, ContractOperation):
        handler.operation_class = idempotent_operation(operation_class)  # type: ignore[attr-defined]
    responses = getattr(handler, "responses", None)
    if isinstance(responses, dict):
        for status in (HTTP_409_CONFLICT, HTTP_422_UNPROCESSABLE_ENTITY):
            responses.setdefault(
                status, ResponseSpec(data_container=ErrorBody, description="Error envelope")
            )
    return handler


def is_idempotent(handler: BaseRouteHandler) -> bool:
    return bool(handler.opt.get(IDEMPOTENT_OPT))


def fingerprint(method: str, path: str, query: bytes, body: bytes) -> str:
    """What the request asks, as a digest: JSON bodies by value (key order and spacing do not
    matter), other bodies by their bytes."""
    try:
        canonical = msgspec.json.encode(msgspec.json.decode(body), order="sorted")
    except (msgspec.DecodeError, UnicodeDecodeError):
        canonical = body
    digest = hashlib.sha256()
    for part in (method.encode(), path.encode(), query, canonical):
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.hexdigest()


def check_key(raw: bytes) -> str:
    """The key, or :class:`InvalidInputError` naming ``header.idempotency_key``."""
    text = raw.decode("latin-1")
    if not _KEY.match(text):
        raise InvalidInputError(
            [(KEY_FIELD, f"must be 1 to {MAX_KEY_LENGTH} visible ASCII characters")]
        )
    return text


class IdempotencyMiddleware:
    """See the module docstring; it must run after the bearer middleware."""

    def __init__(self, app: ASGIApp, keys_of: Callable[[], IdempotencyKeys]) -> None:
        self.app = app
        self._keys_of = keys_of

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        handler = scope.get("route_handler")
        raw = dict(scope.get("headers", [])).get(HEADER)
        principal = scope.get("user")
        if (
            scope["type"] != ScopeType.HTTP
            or scope.get("method") != "POST"
            or raw is None
            or not isinstance(handler, BaseRouteHandler)
            or not is_idempotent(handler)
            or not isinstance(principal, Principal)
        ):
            await self.app(scope, receive, send)
            return
        enforce_policy(ASGIConnection(scope), handler)
        key = check_key(raw)
        request: Request[Any, Any, Any] = Request(scope, receive)
        body = await request.body()
        keyed = KeyedRequest(
            caller=principal.user_id,
            key=key,
            method="POST",
            route=str(scope.get("path_template") or scope["path"]),
            fingerprint=fingerprint("POST", scope["path"], scope.get("query_string", b""), body),
        )
        keys = self._keys_of()
        try:
            outcome = await keys.begin(keyed)
        except IdempotencyKeyReused as exc:
            await _answer(send, HTTP_422_UNPROCESSABLE_ENTITY, _error(exc))
            return
        except IdempotencyKeyInFlight as exc:
            await _answer(send, HTTP_409_CONFLICT, _error(exc))
            return
        if isinstance(outcome, Replay):
            await _answer(send, outcome.status, outcome.body.encode(), replayed=True)
            return
        held: list[Message] = []

        async def hold(message: Message) -> None:
            held.append(message)

        kept = False
        try:
            await self.app(scope, _replaying(body, receive), hold)
            start = next((m for m in held if m["type"] == "http.response.start"), None)
            if start is not None and 200 <= start["status"] < 300:
                answer = b"".join(
                    m.get("body", b"") for m in held if m["type"] == "http.response.body"
                )
                await keys.complete(outcome, start["status"], answer.decode("utf-8"))
                kept = True
        finally:
            if not kept:
                await keys.release(outcome)
        for message in held:
            await send(message)


def _replaying(body: bytes, receive: Receive) -> Receive:
    """``receive`` for the route: the body read already, then the client's own messages."""
    sent = False

    async def replay() -> Any:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


def _error(exc: UseCaseError) -> bytes:
    problems = getattr(exc, "problems", [])
    items = [ErrorItem(field=field, message=message) for field, message in problems]
    code = "CONFLICT" if isinstance(exc, IdempotencyKeyInFlight) else str(exc.code)
    return msgspec.json.encode(ErrorBody(message=str(exc), code=code, errors=items))


async def _answer(send: Send, status: int, body: bytes, *, replayed: bool = False) -> None:
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
    ]
    if replayed:
        headers.append((REPLAYED_HEADER.lower().encode(), b"true"))
    start: Any = {"type": "http.response.start", "status": status, "headers": headers}
    await send(start)
    await send({"type": "http.response.body", "body": body, "more_body": False})
