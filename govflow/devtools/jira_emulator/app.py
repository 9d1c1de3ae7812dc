"""The emulator's ASGI application: the Jira REST v3 routes GovFlow uses, behind Basic auth
and the injected faults, and the control API under ``/_emulator/``.

Plain ASGI rather than a framework: every answer, including a 404 for an unknown path and a
dropped connection, must be the one Jira gives, not a framework's.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs

import msgspec

from govflow.devtools.jira_emulator import control, routes
from govflow.devtools.jira_emulator.faults import Fault, FaultPlan
from govflow.devtools.jira_emulator.messages import Answer
from govflow.devtools.jira_emulator.state import JiraError, JiraState, User

Scope = dict[str, Any]
Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

MAX_BODY = 1_048_576
NOT_AUTHENTICATED = "You are not authenticated. Authentication required to perform this operation."
RATE_LIMITED = "Rate limit exceeded."


class ReceivedRequest(msgspec.Struct, frozen=True, kw_only=True):
    """A request to the Jira API as the emulator saw it. ``status`` is what it answered
    (``None``: the connection was dropped), ``fault`` the injected fault that applied."""

    method: str
    path: str
    query: str
    body: str
    user: str | None
    status: int | None
    fault: str | None
    at: datetime

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Call:
    """One authenticated request to a Jira route."""

    state: JiraState
    user: User
    base: str
    params: dict[str, str]
    query: dict[str, list[str]]
    body: bytes

    def json(self) -> Any:
        """The decoded JSON body; Jira's 400 when it is not JSON."""
        try:
            return json.loads(self.body)
        except (ValueError, UnicodeDecodeError):
            raise JiraError(
                400, ["Invalid request payload. Refer to the REST API documentation and try again."]
            ) from None

    def values(self, name: str) -> list[str]:
        """A query parameter's values, repeated or comma-separated."""
        return [v.strip() for raw in self.query.get(name, []) for v in raw.split(",") if v.strip()]

    def one(self, name: str) -> str | None:
        found = self.query.get(name)
        return found[-1] if found else None


class EmulatorApp:
    """The ASGI callable; ``state``, ``faults`` and ``requests`` are shared with its handle."""

    def __init__(self, state: JiraState, faults: FaultPlan, *, max_page: int = 100) -> None:
        self.state = state
        self.faults = faults
        self.max_page = max_page
        self.requests: list[ReceivedRequest] = []

    def reset(self) -> None:
        """Back to the seed: no comments, transitions, requests or faults."""
        self.state = JiraState(self.state.seed)
        self.faults.clear()
        self.requests.clear()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        body = await _read_body(receive)
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        path: str = scope["path"]
        query_string = scope.get("query_string", b"").decode("latin-1")
        if path.startswith("/_emulator/"):
            answer = control.handle(self, scope["method"], path, body)
            await _respond(send, answer)
            return
        if body is None:
            await _respond(send, Answer(413, {"errorMessages": ["Request too large."]}))
            return
        base = f"{scope.get('scheme', 'http')}://{headers.get('host', 'localhost')}"
        await self._jira(scope["method"], path, query_string, headers, body, base, receive, send)

    async def _jira(
        self,
        method: str,
        path: str,
        query_string: str,
        headers: dict[str, str],
        body: bytes,
        base: str,
        receive: Receive,
        send: Send,
    ) -> None:
        fault = self.faults.take(method, path)
        user = self._authenticate(headers.get("authorization", ""))

        def record(status: int | None) -> None:
            self.requests.append(
                ReceivedRequest(
                    method=method,
                    path=path,
                    query=query_string,
                    body=body.decode("utf-8", "replace"),
                    user=user.email if user else None,
                    status=status,
                    fault=fault.kind if fault else None,
                    at=datetime.now(UTC),
                )
            )

        if fault is not None and fault.kind == "drop_before_apply":
            record(None)
            await _drop(receive, send)
            return
        if fault is not None and fault.kind in ("rate_limit", "error"):
            answer = _fault_answer(fault)
            record(answer.status)
            await _respond(send, answer)
            return
        if fault is not None and fault.kind == "slow":
            await asyncio.sleep(fault.delay)
        answer = self._route(method, path, query_string, headers, body, base, user)
        if fault is not None and fault.kind == "drop_after_apply":
            record(None)
            await _drop(receive, send)
            return
        record(answer.status)
        await _respond(send, answer)

    def _authenticate(self, authorization: str) -> User | None:
        scheme, _, encoded = authorization.partition(" ")
        if scheme.lower() != "basic":
            return None
        try:
            decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return None
        email, sep, token = decoded.partition(":")
        return self.state.authenticate(email, token) if sep else None

    def _route(
        self,
        method: str,
        path: str,
        query_string: str,
        headers: dict[str, str],
        body: bytes,
        base: str,
        user: User | None,
    ) -> Answer:
        route, params, allowed = routes.resolve(method, path)
        if route is None:
            if allowed:
                return Answer(405, headers={"allow": ", ".join(sorted(allowed))}, raw=b"")
            return Answer(404, {"errorMessages": [f"null for uri: {base}{path}"], "errors": {}})
        if user is None:
            return Answer(
                401,
                {"errorMessages": [NOT_AUTHENTICATED], "errors": {}},
                {"www-authenticate": 'Basic realm="Jira"'},
            )
        if body and method in ("POST", "PUT") and not _is_json(headers.get("content-type", "")):
            return Answer(415, {"errorMessages": ["Unsupported Media Type"], "errors": {}})
        call = Call(
            state=self.state,
            user=user,
            base=base,
            params=params,
            query=parse_qs(query_string, keep_blank_values=True),
            body=body,
        )
        try:
            status, payload = route(call, self.max_page)
        except JiraError as exc:
            return Answer(exc.status, exc.body())
        return Answer(status, payload)

    def add_fault(self, fault: Fault) -> None:
        self.faults.add(fault)


def _fault_answer(fault: Fault) -> Answer:
    if fault.kind == "rate_limit":
        reset = datetime.fromtimestamp(
            datetime.now(UTC).timestamp() + fault.retry_after, UTC
        ).strftime("%Y-%m-%dT%H:%MZ")
        return Answer(
            429,
            {"errorMessages": [RATE_LIMITED], "errors": {}},
            {
                "retry-after": str(fault.retry_after),
                "x-ratelimit-limit": "100",
                "x-ratelimit-remaining": "0",
                "x-ratelimit-reset": reset,
                "ratelimit-reason": "jira-quota-global-based",
            },
        )
    return Answer(
        fault.status,
        {"errorMessages": ["The emulator was told to fail this request."], "errors": {}},
    )


def _is_json(content_type: str) -> bool:
    media = content_type.split(";", 1)[0].strip().lower()
    return (
        media == "application/json"
        or re.fullmatch(r"application/[\w.+-]+\+json", media) is not None
    )


async def _read_body(receive: Receive) -> bytes | None:
    """The request body; ``None`` when it exceeds :data:`MAX_BODY`."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size <= MAX_BODY:
            chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks) if size <= MAX_BODY else None


async def _respond(send: Send, answer: Answer) -> None:
    if answer.raw is not None:
        payload, content_type = answer.raw, None
    elif answer.body is None:
        payload, content_type = b"", None
    else:
        payload, content_type = msgspec.json.encode(answer.body), "application/json;charset=UTF-8"
    headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in answer.headers.items()]
    if content_type is not None:
        headers.append((b"content-type", content_type.encode()))
    headers.append((b"content-length", str(len(payload)).encode()))
    await send({"type": "http.response.start", "status": answer.status, "headers": headers})
    await send({"type": "http.response.body", "body": payload})


async def _drop(receive: Receive, send: Send) -> None:
    """Close the connection without answering (uvicorn's protocol owns the transport)."""
    transport = getattr(getattr(send, "__self__", None), "transport", None)
    if transport is None:
        raise RuntimeError("this server does not let the Jira emulator drop a connection")
    transport.abort()
    while (await receive())["type"] != "http.disconnect":
        continue


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return
