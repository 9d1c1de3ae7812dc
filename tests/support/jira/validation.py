"""Validate Jira traffic against Atlassian's OpenAPI document with ``openapi-core``.

- :func:`validate_request` / :func:`validate_response` / :func:`validate_exchange`: one
  ``httpx`` request and its response; a problem raises :class:`SpecViolation` naming the
  operation and what the document refuses.
- :class:`SpecValidatingTransport`: wraps an ``httpx`` transport so that every request a client
  sends and every response it gets is validated (a refused one raises in the caller, and is kept
  in :attr:`SpecValidatingTransport.violations` in case the caller swallows errors).

Answers with a status the document does not list for the operation (429 and 5xx from the
emulator's injected faults, Jira's edge) are checked for Jira's error body only.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from openapi_core import OpenAPI
from openapi_core.datatypes import RequestParameters
from openapi_core.templating.responses.exceptions import ResponseNotFound
from openapi_core.validation.response.exceptions import MissingData
from werkzeug.datastructures import Headers, ImmutableMultiDict

SPEC_PATH = Path(__file__).with_name("jira-v3-govflow-subset.openapi.json")
UNDOCUMENTED_STATUSES = frozenset({429, 500, 502, 503, 504})


class SpecViolation(AssertionError):
    """A request or response the Jira OpenAPI document refuses."""


@functools.cache
def _document() -> dict[str, Any]:
    document: dict[str, Any] = json.loads(SPEC_PATH.read_text(encoding="utf-8"))
    return document


@functools.cache
def jira_openapi() -> OpenAPI:
    """The vendored document, its ``servers`` replaced by ``/`` (paths match on any host)."""
    return OpenAPI.from_dict({**_document(), "servers": [{"url": "/"}]})


class _Request:
    """An ``httpx.Request`` as openapi-core reads a request."""

    def __init__(self, request: httpx.Request) -> None:
        self._request = request
        url = request.url
        self.host_url = f"{url.scheme}://{url.netloc.decode('ascii')}"
        self.path = url.path
        self.method = request.method.lower()
        self.parameters = RequestParameters(
            query=ImmutableMultiDict(list(url.params.multi_items())),
            header=Headers(list(request.headers.items())),
            cookie=ImmutableMultiDict(),
        )

    @property
    def body(self) -> bytes | None:
        content = self._request.content
        return content or None

    @property
    def content_type(self) -> str:
        return str(self._request.headers.get("content-type", ""))


@dataclass
class _Response:
    """An ``httpx.Response`` as openapi-core reads a response."""

    data: bytes | None
    status_code: int
    content_type: str
    headers: Mapping[str, Any] | Headers = field(default_factory=dict)

    @classmethod
    def of(cls, response: httpx.Response) -> _Response:
        return cls(
            data=response.content or None,
            status_code=response.status_code,
            content_type=response.headers.get("content-type", "application/json"),
            headers=Headers(list(response.headers.items())),
        )


def _operation(request: httpx.Request) -> str:
    return f"{request.method} {request.url.path}"


def validate_request(request: httpx.Request) -> None:
    """Raise :class:`SpecViolation` unless the document accepts ``request``."""
    try:
        jira_openapi().validate_request(_Request(request))
    except Exception as exc:
        raise SpecViolation(f"request {_operation(request)}: {_describe(exc)}") from exc


def validate_response(request: httpx.Request, response: httpx.Response) -> None:
    """Raise :class:`SpecViolation` unless the document accepts ``response`` to ``request``;
    an undocumented 429/5xx must carry Jira's ``{errorMessages, errors}`` body."""
    try:
        jira_openapi().validate_response(_Request(request), _Response.of(response))
    except MissingData as exc:
        if not _any_body_allowed(request, response.status_code):
            raise SpecViolation(
                f"response {response.status_code} to {_operation(request)}: {_describe(exc)}"
            ) from exc
    except ResponseNotFound as exc:
        if response.status_code not in UNDOCUMENTED_STATUSES:
            raise SpecViolation(
                f"response {response.status_code} to {_operation(request)}: {_describe(exc)}"
            ) from exc
        _check_error_body(request, response)
    except Exception as exc:
        raise SpecViolation(
            f"response {response.status_code} to {_operation(request)}: {_describe(exc)}"
        ) from exc
    if response.status_code >= 400:
        _check_error_body(request, response)


def _any_body_allowed(request: httpx.Request, status: int) -> bool:
    """Whether the document's answer ``status`` to ``request`` declares only the empty schema
    (``{}``): Jira sends no body then (204 of a transition, 200/201 of a property set), where
    openapi-core would ask for one."""
    for template, operations in _document()["paths"].items():
        if _matches(template, request.url.path):
            operation = operations.get(request.method.lower(), {})
            answer = operation.get("responses", {}).get(str(status), {})
            schemas = [media.get("schema") for media in answer.get("content", {}).values()]
            return bool(schemas) and all(schema == {} for schema in schemas)
    return False


def _matches(template: str, path: str) -> bool:
    pattern = "^" + re.sub(r"\\{[^/]+\\}", "[^/]+", re.escape(template)) + "$"
    return re.match(pattern, path) is not None


def validate_exchange(response: httpx.Response) -> httpx.Response:
    """Validate ``response`` and the request it answers; return the response."""
    validate_request(response.request)
    validate_response(response.request, response)
    return response


def _check_error_body(request: httpx.Request, response: httpx.Response) -> None:
    if not response.content:
        return
    try:
        body = response.json()
    except ValueError:
        body = None
    if not (
        isinstance(body, dict)
        and isinstance(body.get("errorMessages"), list)
        and isinstance(body.get("errors"), dict)
    ):
        raise SpecViolation(
            f"response {response.status_code} to {_operation(request)}: not Jira's "
            f"{{errorMessages, errors}} body: {response.text[:200]!r}"
        )


def _describe(exc: BaseException) -> str:
    """The error and its causes; a schema refusal as each failing keyword and its path."""
    parts = [type(exc).__name__]
    seen = {id(exc)}
    cause = exc.__cause__ or exc.__context__
    while cause is not None and id(cause) not in seen:
        seen.add(id(cause))
        inner = list(getattr(cause, "schema_errors", None) or [])
        if inner:
            parts += [f"{'/'.join(map(str, e.path)) or '(root)'}: {e.message}" for e in inner]
        else:
            parts.append(f"{type(cause).__name__}: {str(cause)[:300]}")
        cause = cause.__cause__ or cause.__context__
    if len(parts) == 1:
        parts.append(str(exc)[:300])
    return "; ".join(parts)


class SpecValidatingTransport(httpx.AsyncBaseTransport):
    """An ``httpx`` transport that validates each request before sending it and each response
    before handing it back; refusals raise :class:`SpecViolation` and are kept in
    :attr:`violations`. :attr:`exchanges` counts the validated request/response pairs."""

    def __init__(self, inner: httpx.AsyncBaseTransport | None = None) -> None:
        self.inner = inner or httpx.AsyncHTTPTransport()
        self.violations: list[str] = []
        self.exchanges = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        await request.aread()
        self._check(validate_request, request)
        response = await self.inner.handle_async_request(request)
        content = await response.aread()
        checked = httpx.Response(
            response.status_code,
            headers=response.headers,
            content=content,
            request=request,
            extensions=response.extensions,
        )
        self._check(validate_response, request, checked)
        self.exchanges += 1
        return checked

    def _check(self, check: Any, *arguments: Any) -> None:
        try:
            check(*arguments)
        except SpecViolation as exc:
            self.violations.append(str(exc))
            raise

    def assert_clean(self) -> None:
        """Fail when any exchange broke the document (also those whose error was caught)."""
        if self.violations:
            raise SpecViolation("\n".join(self.violations))

    async def aclose(self) -> None:
        await self.inner.aclose()
