"""The one place that turns exceptions into error envelopes with stable codes.

Use-case errors, Litestar's HTTP exceptions (validation, 401, 403, 404, 405, 413, 429) and
anything unexpected all leave through :func:`handle`. Validation problems name the field
(``body.email``, ``query.page``); an unexpected error is logged with its traceback and answered
with a 500 that says nothing more.
"""

from __future__ import annotations

import re
from typing import Any

import structlog
from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR

from govflow.core.webhook import WebhookError
from govflow.http.envelope import ErrorBody, ErrorItem
from govflow.usecases.access_errors import RateLimitedError
from govflow.usecases.errors import UseCaseError
from govflow.usecases.idempotency_keys import IdempotencyKeyReused

log = structlog.get_logger("govflow.http")

CODES: dict[int, str] = {
    400: "VALIDATION_FAILED",
    401: "UNAUTHORIZED",
    403: "FORBIDDEN",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    409: "CONFLICT",
    413: "PAYLOAD_TOO_LARGE",
    415: "UNSUPPORTED_MEDIA_TYPE",
    429: "RATE_LIMITED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
}
STATUS_OF_CODE: dict[str, int] = {
    **{code: status for status, code in CODES.items()},
    IdempotencyKeyReused.code: 422,
    WebhookError.SIGNATURE_INVALID: 401,
    WebhookError.DELIVERY_REPLAYED: 409,
    WebhookError.SECRET_UNSET: 503,
}
"""A use-case error's ``code`` decides its status; an unknown code is a 400."""

_MESSAGES: dict[int, str] = {
    400: "Validation failed",
    401: "Authentication required",
    403: "You are not allowed to do this",
    404: "Resource not found",
    405: "Method not allowed",
    413: "Request body too large",
    429: "Too many requests",
    500: "Internal server error",
}

_NAMED_FIELD = re.compile(r"(?:missing required|unknown) field `([^`]+)`")


def _field_path(source: Any, key: str, message: str) -> str:
    """``body.email`` from Litestar's ``source``/``key`` and msgspec's message."""
    origin = getattr(source, "value", source) or "body"
    if key in ("", "data"):
        path = origin
    else:
        path = f"{origin}{key}" if key.startswith("[") else f"{origin}.{key}"
    named = _NAMED_FIELD.search(message)
    if named:
        path = f"{path}.{named.group(1)}"
    return path


def validation_items(exc: ValidationException) -> list[ErrorItem]:
    items = []
    for extra in exc.extra if isinstance(exc.extra, list) else []:
        if isinstance(extra, dict):
            message = str(extra.get("message", "invalid"))
            items.append(
                ErrorItem(
                    field=_field_path(extra.get("source"), str(extra.get("key", "")), message),
                    message=message,
                )
            )
    return items or [ErrorItem(field="body", message="invalid request")]


def _response(
    status: int, message: str, items: list[ErrorItem], headers: dict[str, str] | None = None
) -> Response[ErrorBody]:
    body = ErrorBody(message=message, code=CODES.get(status, "ERROR"), errors=items)
    return Response(body, status_code=status, headers=headers)


def status_of(exc: Exception) -> int:
    """The status :func:`handle` answers ``exc`` with (for the request metrics, which see the
    exception before it is answered)."""
    if isinstance(exc, UseCaseError):
        return STATUS_OF_CODE.get(str(getattr(exc, "code", "ERROR")), 400)
    if isinstance(exc, HTTPException) and exc.status_code < 500:
        return exc.status_code
    return HTTP_500_INTERNAL_SERVER_ERROR


def handle(request: Request[Any, Any, Any], exc: Exception) -> Response[ErrorBody]:
    """The exception handler registered for ``Exception``."""
    if isinstance(exc, UseCaseError):
        code = str(getattr(exc, "code", "ERROR"))
        status = STATUS_OF_CODE.get(code, 400)
        problems = getattr(exc, "problems", None) or []
        items = [ErrorItem(field=str(field), message=str(msg)) for field, msg in problems]
        message = str(exc) if not items or status != 400 else _MESSAGES[400]
        headers = (
            {"Retry-After": str(exc.retry_after)} if isinstance(exc, RateLimitedError) else None
        )
        body = ErrorBody(
            message=message, code=code if code != "ERROR" else CODES[status], errors=items
        )
        return Response(body, status_code=status, headers=headers)
    if isinstance(exc, ValidationException):
        return _response(400, "Validation failed", validation_items(exc))
    if isinstance(exc, HTTPException) and exc.status_code < 500:
        status = exc.status_code
        message = _MESSAGES.get(status, "Request failed")
        details: list[ErrorItem] = []
        if status == 400:
            details = [ErrorItem(field="body", message=_client_detail(exc.detail))]
        elif status in (401, 403):
            message = exc.detail or message
        headers = dict(exc.headers or {})
        if status == 401:
            headers.setdefault("WWW-Authenticate", "Bearer")
        return _response(status, message, details, headers or None)
    log.error("unhandled_error", path=request.url.path, exc_info=exc)
    return _response(HTTP_500_INTERNAL_SERVER_ERROR, _MESSAGES[500], [])


def _client_detail(detail: str) -> str:
    """A short, safe description of a malformed request (no echo of the input)."""
    if detail.startswith("JSON is malformed"):
        return "malformed JSON"
    return detail[:200] if detail else "invalid request"
