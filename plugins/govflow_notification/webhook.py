"""Delivery over HTTP (the webhook channel), to allowed destinations only.

A webhook URL comes from a workflow, and through ``inputs`` possibly from whoever starts an
execution: without limits the worker would POST wherever it is told (``127.0.0.1``, the cloud
metadata service, internal admin ports) and its errors would tell open ports from closed ones.
So:

- the URL must be on ``WEBHOOK_ALLOWLIST`` (host patterns or URL prefixes; empty: no webhook
  is sent at all);
- the request goes through the host's guarded client (``ctx.http``, see
  :mod:`govflow.adapters.outbound`), which refuses internal addresses after DNS resolution
  unless ``OUTBOUND_ALLOW_NETWORKS`` allows them; without a host client, a guarded client with
  no internal network allowed is used;
- redirects are not followed unless ``WEBHOOK_FOLLOW_REDIRECTS`` is true; then only 307/308
  (which keep the POST and its body), at most :data:`MAX_REDIRECTS` hops, each hop checked
  like the first;
- what a user reads is ``webhook destination not allowed`` for a refused destination and
  ``webhook delivery failed`` for every network error, whatever happened on the wire; the
  cause goes to the server log.

Errors: ``TechnicalError`` (retried) for network errors, timeouts, 408/409/425/429 and 5xx;
``BusinessError`` for refused destinations, other non-2xx answers and invalid settings.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Mapping
from typing import Any, Final

import httpx

from govflow.adapters.outbound import ALLOWLIST_EXTENSION, check_url, guarded_client, refused
from govflow.core.destinations import AddressPolicy, DestinationAllowlist, DestinationNotAllowed
from govflow.plugins import ActionContext, BusinessError, TechnicalError
from govflow.plugins.retry_after import parse_retry_after
from govflow_notification.inputs import NotificationInputs
from govflow_notification.options import allowlist, flag, number

RETRYABLE_STATUS: Final = frozenset({408, 409, 425, 429})
"""Besides 5xx: timeouts, rate limits, and 409, which an idempotent endpoint answers while a
request with the same ``Idempotency-Key`` is still being processed."""
FOLLOWED_REDIRECTS: Final = frozenset({307, 308})
MAX_REDIRECTS: Final = 3
NOT_ALLOWED: Final = "webhook destination not allowed"
FAILED: Final = "webhook delivery failed"


@contextlib.asynccontextmanager
async def _client(ctx: ActionContext, timeout: float) -> AsyncIterator[httpx.AsyncClient]:
    """The host's shared client, or a guarded one of our own (closed afterwards)."""
    if ctx.http is not None:
        yield ctx.http
        return
    async with guarded_client(AddressPolicy(), timeout=timeout) as own:
        yield own


def _shown(url: httpx.URL) -> str:
    """``url`` without its user information (credentials)."""
    return str(url.copy_with(username=None, password=None))


async def send_webhook(ctx: ActionContext, params: NotificationInputs) -> Mapping[str, Any]:
    """POST the message as JSON with an ``Idempotency-Key`` header (see the module docstring).

    :raises TechnicalError: a network error, a timeout, 408/409/425/429 or a 5xx answer
        (``details["retry_after"]`` carries the answer's ``Retry-After`` header, if any).
    :raises BusinessError: the destination is not allowed, any other non-2xx answer, or an
        invalid setting.
    """
    assert params.url is not None
    allowed = allowlist(ctx.settings, "webhook_allowlist")
    follow = flag(ctx.settings, "webhook_follow_redirects")
    timeout = number(ctx.settings, "webhook_timeout", 10.0)
    body = {
        "message": params.message,
        "execution_id": str(ctx.execution_id),
        "step": ctx.step_key,
        "idempotency_key": ctx.idempotency_key,
    }
    headers = {"Idempotency-Key": ctx.idempotency_key}
    try:
        url = httpx.URL(params.url)
    except httpx.InvalidURL as exc:
        raise BusinessError(f"the webhook url cannot be parsed: {exc}") from None
    try:
        async with _client(ctx, timeout) as client:
            for _hop in range(MAX_REDIRECTS + 1):
                _check(url, allowed)
                response = await client.post(
                    url,
                    json=body,
                    headers=headers,
                    timeout=timeout,
                    follow_redirects=False,
                    extensions={ALLOWLIST_EXTENSION: allowed},
                )
                location = response.headers.get("Location")
                if not (follow and response.status_code in FOLLOWED_REDIRECTS and location):
                    break
                url = url.join(location)
            else:
                raise BusinessError(f"webhook: more than {MAX_REDIRECTS} redirects")
    except DestinationNotAllowed:
        raise BusinessError(NOT_ALLOWED) from None
    except httpx.HTTPError as exc:
        ctx.logger.warning(
            "webhook delivery failed: %r", exc, extra={"step": ctx.step_key, "url": _shown(url)}
        )
        raise TechnicalError(FAILED) from None
    return _outcome(response, _shown(url))


def _check(url: httpx.URL, allowed: DestinationAllowlist) -> None:
    """Refuse ``url`` unless it is on ``allowed`` (logging why)."""
    try:
        check_url(url, allowed)
    except DestinationNotAllowed as exc:
        refused(exc, url)
        raise


def _outcome(response: httpx.Response, shown: str) -> Mapping[str, Any]:
    code = response.status_code
    if code >= 500 or code in RETRYABLE_STATUS:
        retry_after = response.headers.get("Retry-After")
        details = {"status_code": code} | ({"retry_after": retry_after} if retry_after else {})
        suffix = f" (Retry-After: {retry_after})" if retry_after else ""
        raise TechnicalError(
            f"webhook {shown} answered {code}{suffix}",
            details=details,
            retry_after=parse_retry_after(retry_after),
        )
    if 300 <= code < 400:
        raise BusinessError(
            f"webhook {shown} answered with a redirect ({code}); redirects are not followed",
            details={"status_code": code},
        )
    if not 200 <= code < 300:
        raise BusinessError(
            f"webhook {shown} refused the notification with {code}",
            details={"status_code": code},
        )
    return {"channel": "webhook", "delivered": True, "status_code": code}
