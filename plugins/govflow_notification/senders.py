"""Delivery over HTTP (webhook) and SMTP (email)."""

from __future__ import annotations

import asyncio
import smtplib
from collections.abc import Mapping
from email.message import EmailMessage
from typing import Any

import httpx

from govflow.plugins import ActionContext, BusinessError, TechnicalError
from govflow_notification.inputs import NotificationInputs

RETRYABLE_STATUS = frozenset({408, 425, 429})
SETTING = "GOVFLOW_PLUGIN_NOTIFICATION_"


async def send_webhook(ctx: ActionContext, params: NotificationInputs) -> Mapping[str, Any]:
    """POST the message as JSON with an ``Idempotency-Key`` header.

    :raises TechnicalError: a transport error, a timeout, 408/425/429 or a 5xx answer.
    :raises BusinessError: any other non-2xx answer.
    """
    assert params.url is not None
    body = {
        "message": params.message,
        "execution_id": str(ctx.execution_id),
        "step": ctx.step_key,
        "idempotency_key": ctx.idempotency_key,
    }
    headers = {"Idempotency-Key": ctx.idempotency_key}
    timeout = float(ctx.settings.get("webhook_timeout", "10"))
    try:
        if ctx.http is not None:
            response = await ctx.http.post(params.url, json=body, headers=headers, timeout=timeout)
        else:
            async with httpx.AsyncClient(timeout=timeout) as client:
                response = await client.post(params.url, json=body, headers=headers)
    except httpx.HTTPError as exc:
        raise TechnicalError(f"webhook {params.url} unreachable: {exc!r}") from exc
    code = response.status_code
    if code >= 500 or code in RETRYABLE_STATUS:
        raise TechnicalError(f"webhook {params.url} answered {code}")
    if not 200 <= code < 300:
        raise BusinessError(f"webhook {params.url} refused the notification with {code}")
    return {"channel": "webhook", "delivered": True, "status_code": code}


async def send_email(ctx: ActionContext, params: NotificationInputs) -> Mapping[str, Any]:
    """Send the message through the configured SMTP server.

    :raises BusinessError: SMTP is not configured, or the server refuses the message.
    :raises TechnicalError: the server cannot be reached.
    """
    host = ctx.settings.get("smtp_host")
    if not host:
        raise BusinessError(f"the email channel needs SMTP settings ({SETTING}SMTP_HOST)")
    assert params.to is not None
    message = EmailMessage()
    message["From"] = ctx.settings.get("smtp_from", "govflow@localhost")
    message["To"] = ", ".join(params.to)
    message["Subject"] = params.subject or "GovFlow notification"
    message["Message-ID"] = f"<{ctx.idempotency_key}@govflow>"
    message.set_content(params.message)
    try:
        await asyncio.to_thread(_deliver, host, ctx.settings, message)
    except (smtplib.SMTPRecipientsRefused, smtplib.SMTPDataError, smtplib.SMTPSenderRefused) as e:
        raise BusinessError(f"SMTP server {host} refused the message: {e!r}") from e
    except (OSError, smtplib.SMTPException) as exc:
        raise TechnicalError(f"SMTP server {host} unreachable: {exc!r}") from exc
    return {"channel": "email", "delivered": True, "to": list(params.to)}


def _deliver(host: str, settings: Mapping[str, str], message: EmailMessage) -> None:
    port = int(settings.get("smtp_port", "25"))
    with smtplib.SMTP(host, port, timeout=float(settings.get("smtp_timeout", "10"))) as smtp:
        if settings.get("smtp_starttls", "").lower() in {"1", "true", "yes", "on"}:
            smtp.starttls()
        if settings.get("smtp_username"):
            smtp.login(settings["smtp_username"], settings.get("smtp_password", ""))
        smtp.send_message(message)
