"""Delivery over HTTP (the webhook channel), to allowed destinations only.

A webhook URL comes from a workflow, and through ``inputs`` possibly from whoever starts an
execution: without limits the worker would POST wherever it is told (``127.0.0.1``, the cloud
metadata service, internal admin ports) and its errors would tell open ports from closed ones.
So:

- the URL must be on ``WEBHOOK_ALLOWLIST`` (host patterns or URL prefixes; empty: no webhook
  is sent at all);
- the request goes through the host's guarded client (``ctx.http``, see
  :mod:`govflow.adapters.outbound`), which refuses internal addresses after DNS resolution
  unless ``OUTBOUND_ALLOW_NETWORKS`` allows them;
- redirects are not followed unless ``WEBHOOK_FOLLOW_REDIRECTS`` is true; then only 307/308
  (which keep the POST and its body), at most :data:`MAX_REDIRECTS` hops, each hop checked
  like the first;
- what a user reads is ``webhook destination not allowed`` for a refused destination and
  ``webhook delivery failed`` for every network error, whatever happened on the wire; the
  cause goes to the server log.

The body is the JSON of ``message``, ``execution_id``, ``step`` and ``idempotency_key``; the
``Idempotency-Key`` header repeats the key (the same on every attempt, so an idempotent receiver
applies the notification once). A step that names a ``secret`` is signed with it
(``GovFlow-Signature``, see :mod:`govflow_notification.signature`); the secret is looked up in
``WEBHOOK_SECRETS`` by name, so a workflow never holds it.

Errors: ``TechnicalError`` (retried) for network errors, timeouts, 408/409/425/429 and 5xx;
``BusinessError`` for refused destinations, other non-2xx answers and invalid settings.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any, Final

import httpx
import msgspec

from govflow.adapters.outbound import ALLOWLIST_EXTENSION, check_url, refused
from govflow.core.destinations import DestinationAllowlist, DestinationNotAllowed
from govflow.plugins import ActionContext, BusinessError, TechnicalError
from govflow.plugins.retry_after import parse_retry_after
from govflow_notification.inputs import NotificationInputs
from govflow_notification.settings import NotificationSettings, settings_of, variable
from govflow_notification.signature import SIGNATURE_HEADER, sign

RETRYABLE_STATUS: Final = frozenset({408, 409, 425, 429})
"""Besides 5xx: timeouts, rate limits, and 409, which an idempotent endpoint answers while a
request with the same ``Idempotency-Key`` is still being processed."""
FOLLOWED_REDIRECTS: Final = frozenset({307, 308})
MAX_REDIRECTS: Final = 3
NOT_ALLOWED: Final = "webhook destination not allowed"
FAILED: Final = "webhook delivery failed"


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
    settings = settings_of(ctx.settings)
    allowed = settings.allowlist
    follow = settings.webhook_follow_redirects
    timeout = settings.webhook_timeout
    body = msgspec.json.encode(
        {
            "message": params.message,
            "execution_id": str(ctx.execution_id),
            "step": ctx.step_key,
            "idempotency_key": ctx.idempotency_key,
        }
    )
    headers = {"Content-Type": "application/json", "Idempotency-Key": ctx.idempotency_key}
    if params.secret is not None:
        headers[SIGNATURE_HEADER] = sign(_secret(settings, params.secret), int(time.time()), body)
    try:
        url = httpx.URL(params.url)
    except httpx.InvalidURL as exc:
        raise BusinessError(f"the webhook url cannot be parsed: {exc}") from None
    try:
        client = ctx.http
        for _hop in range(MAX_REDIRECTS + 1):
            _check(url, allowed)
            response = await client.post(
                url,
                content=body,
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


def _secret(settings: NotificationSettings, name: str) -> str:
    """The signing secret ``name``.

    :raises BusinessError: no such secret is configured (the message names the variable).
    """
    secret = settings.secrets.get(name)
    if secret is None:
        raise BusinessError(
            f"secret: no webhook secret is named {name!r} ({variable('webhook_secrets')})"
        )
    return secret.reveal()


def _check(url: httpx.URL, allowed: DestinationAllowlist) -> None:
    """Refuse ``url`` unless it is on ``allowed`` (logging why)."""
    try:
        check_url(url, allowed)
    except DestinationNotAllowed as exc:
        refused(exc, url)
        raise


def _shown_location(location: str | None) -> str:
    """A ``Location`` header as an error shows it: without credentials, at most 200 characters."""
    text = location or ""
    try:
        text = _shown(httpx.URL(text)) if "@" in text else text
    except httpx.InvalidURL:
        text = "(unparsable)"
    return text if len(text) <= 200 else text[:199] + "…"


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
        location = response.headers.get("Location")
        where = f" to {_shown_location(location)}" if location else ""
        raise BusinessError(
            f"webhook {shown} answered with a redirect ({code}){where}; redirects are not followed",
            details={"status_code": code}
            | ({"location": _shown_location(location)} if location else {}),
        )
    if not 200 <= code < 300:
        raise BusinessError(
            f"webhook {shown} refused the notification with {code}",
            details={"status_code": code},
        )
    return {"channel": "webhook", "delivered": True, "status_code": code}
