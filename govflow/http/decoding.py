"""The screen every request passes before its handler's arguments are decoded.

Litestar decodes path, query, header and JSON body values leniently, and PostgreSQL's ``text``
refuses what Python strings accept. :class:`RequestScreen` (the app's ``before_request`` hook,
so it runs after authentication and the route policy, before any argument is built) answers 400
naming the field for:

- a NUL character or an unpaired UTF-16 surrogate in any path parameter, query parameter
  (name or value), declared header parameter, or anywhere in a JSON body (keys included);
- a JSON body that is not UTF-8, is malformed, or nests deeper than :data:`MAX_JSON_DEPTH`;
- a ``datetime`` query parameter that is not ISO 8601 text (``?since=123`` is not a timestamp)
  and a ``bool`` query parameter that is not ``true`` or ``false`` (``?active=1`` is refused);
- a query parameter the route does not declare (a misspelt filter is not silently ignored),
  unless the handler reads the raw request itself.

The JSON body is decoded once, through ``request.json()``, so the handler's ``data`` reuses it.
The walk over the decoded body runs only when the raw text could hold a refused value (an
escaped ``\\u0000`` or surrogate, or more brackets than the depth limit), so ordinary bodies
cost one regular-expression scan.
"""

from __future__ import annotations

import re
import types
import typing
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from litestar import Request
from litestar.exceptions import SerializationException, ValidationException
from litestar.handlers import HTTPRouteHandler
from litestar.params import BodyKwarg, HeaderParameter, ParameterKwarg, QueryParameter

MAX_JSON_DEPTH = 32
"""The deepest nesting of arrays and objects a JSON body may have."""

_SUSPECT_ESCAPE = re.compile(rb"\\u(?:0000|[dD][89a-fA-F])")
_REFUSED_CHARACTER = re.compile("[\x00\ud800-\udfff]")
_ISO_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}")
_BOOLEANS = frozenset({"true", "false"})
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_RAW_ACCESS = frozenset({"request", "query", "scope", "socket"})


@dataclass(frozen=True, slots=True)
class RouteInputs:
    """What a handler reads besides its path: its query parameters (``None`` when it reads the
    raw request), typed ones among them, headers, a JSON body."""

    query: frozenset[str] | None = frozenset()
    datetimes: frozenset[str] = frozenset()
    booleans: frozenset[str] = frozenset()
    headers: tuple[str, ...] = ()
    json_body: bool = False


def _base_type(annotation: Any) -> Any:
    """``datetime`` for ``datetime | None`` and ``Annotated[datetime | None, ...]``."""
    if typing.get_origin(annotation) is typing.Annotated:
        annotation = typing.get_args(annotation)[0]
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        members = [arg for arg in typing.get_args(annotation) if arg is not type(None)]
        return members[0] if len(members) == 1 else annotation
    return annotation


def route_inputs(handler: HTTPRouteHandler) -> RouteInputs:
    """The inputs ``handler`` declares in its signature."""
    query: set[str] = set()
    datetimes: set[str] = set()
    booleans: set[str] = set()
    headers: list[str] = []
    json_body = False
    parameters = handler.parsed_fn_signature.parameters
    raw_access = not _RAW_ACCESS.isdisjoint(parameters)
    for name, field in parameters.items():
        kwarg = field.kwarg_definition
        if isinstance(kwarg, BodyKwarg) or name == "data":
            json_body = True
            continue
        if isinstance(kwarg, HeaderParameter) or (
            isinstance(kwarg, ParameterKwarg) and kwarg.header
        ):
            headers.append(kwarg.name or kwarg.header or name)
            continue
        if isinstance(kwarg, QueryParameter) or (isinstance(kwarg, ParameterKwarg) and kwarg.query):
            query_name = kwarg.name or kwarg.query or name
            query.add(query_name)
            base = _base_type(field.annotation)
            if base is datetime:
                datetimes.add(query_name)
            elif base is bool:
                booleans.add(query_name)
    return RouteInputs(
        query=None if raw_access else frozenset(query),
        datetimes=frozenset(datetimes),
        booleans=frozenset(booleans),
        headers=tuple(headers),
        json_body=json_body,
    )


def refused(source: str, key: str, message: str) -> ValidationException:
    """A 400 naming ``source.key`` (``errors.handle`` turns it into the error envelope)."""
    return ValidationException(
        "Validation failed", extra=[{"source": source, "key": key, "message": message}]
    )


def text_problem(text: str) -> str | None:
    """Why ``text`` cannot be stored as PostgreSQL text, if it cannot."""
    found = _REFUSED_CHARACTER.search(text)
    if found is None:
        return None
    if found.group() == "\x00":
        return "must not contain NUL characters"
    return "must not contain unpaired UTF-16 surrogates"


def _child(path: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


def json_problem(value: Any) -> tuple[str, str] | None:
    """The first (path, reason) that makes a decoded JSON value unacceptable, if any.

    Iterative, so that a deep value cannot exhaust the interpreter's stack while it is checked.
    """
    pending: list[tuple[Any, str, int]] = [(value, "", 0)]
    while pending:
        item, path, depth = pending.pop()
        if isinstance(item, str):
            reason = text_problem(item)
            if reason:
                return path, reason
        elif isinstance(item, dict | list):
            if depth >= MAX_JSON_DEPTH:
                return path, f"nests deeper than {MAX_JSON_DEPTH} levels"
            if isinstance(item, dict):
                for key, child in item.items():
                    reason = text_problem(key)
                    if reason:
                        return path, f"a key {reason}"
                    pending.append((child, _child(path, key), depth + 1))
            else:
                pending.extend(
                    (child, _child(path, index), depth + 1) for index, child in enumerate(item)
                )
    return None


def _needs_walk(raw: bytes) -> bool:
    return (
        _SUSPECT_ESCAPE.search(raw) is not None
        or raw.count(b"[") + raw.count(b"{") > MAX_JSON_DEPTH
    )


async def screen_json_body(request: Request[Any, Any, Any]) -> None:
    """Decode the JSON body once (cached for the handler) and refuse what cannot be stored."""
    raw = await request.body()
    try:
        value = await request.json()
    except RecursionError:
        raise refused("body", "", f"nests deeper than {MAX_JSON_DEPTH} levels") from None
    except UnicodeDecodeError:
        raise refused("body", "", "is not valid UTF-8") from None
    except SerializationException:
        raise refused("body", "", "malformed JSON") from None
    if _needs_walk(raw):
        problem = json_problem(value)
        if problem is not None:
            raise refused("body", *problem)


def screen_parameters(request: Request[Any, Any, Any], inputs: RouteInputs) -> None:
    """Path, query and header parameters: storable text, strict datetimes and booleans."""
    for name, value in request.path_params.items():
        if isinstance(value, str) and (reason := text_problem(value)):
            raise refused("path", name, reason)
    for name, value in request.query_params.multi_items():
        if reason := text_problem(name):
            raise refused("query", "", f"a parameter name {reason}")
        if reason := text_problem(value):
            raise refused("query", name, reason)
        if inputs.query is not None and name not in inputs.query:
            raise refused("query", name, "unknown query parameter")
        if name in inputs.datetimes and not _ISO_DATETIME.match(value):
            raise refused("query", name, "expected an ISO 8601 date-time (2026-01-31T12:00:00Z)")
        if name in inputs.booleans and value not in _BOOLEANS:
            raise refused("query", name, "expected true or false")
    for header in inputs.headers:
        value = request.headers.get(header)
        if value is not None and (reason := text_problem(value)):
            raise refused("header", header, reason)


class RequestScreen:
    """The app's ``before_request`` hook; what each handler reads is worked out once."""

    def __init__(self) -> None:
        self._inputs: dict[HTTPRouteHandler, RouteInputs] = {}

    def inputs_of(self, handler: HTTPRouteHandler) -> RouteInputs:
        found = self._inputs.get(handler)
        if found is None:
            found = self._inputs[handler] = route_inputs(handler)
        return found

    async def __call__(self, request: Request[Any, Any, Any]) -> None:
        inputs = self.inputs_of(request.route_handler)
        screen_parameters(request, inputs)
        declares_json = (
            request.headers.get("content-type", "").lower().startswith("application/json")
        )
        if inputs.json_body or (declares_json and request.method in _BODY_METHODS):
            await screen_json_body(request)
