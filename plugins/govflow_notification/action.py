"""The ``notification`` action: one channel per step, one idempotency strategy per channel."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any, ClassVar

import msgspec

from govflow.core.audit_events import AuditEvent
from govflow.plugins import Action, ActionContext, Idempotency
from govflow_notification.inputs import NotificationInputs
from govflow_notification.outputs import NotificationOutput
from govflow_notification.senders import send_email
from govflow_notification.webhook import send_webhook

STRATEGIES = {
    "log": Idempotency.LOCAL,
    "webhook": Idempotency.REMOTE_KEY,
    "email": Idempotency.AT_MOST_ONCE,
}
"""A repeated log line is harmless, a webhook receiver deduplicates by ``Idempotency-Key``,
an email cannot be taken back."""


class NotificationAction(Action):
    """Send a message to the log, a webhook or email addresses."""

    name: ClassVar[str] = "notification"
    description: ClassVar[str] = "Send a message to the log, a webhook or email addresses."
    inputs: ClassVar[type[msgspec.Struct]] = NotificationInputs
    outputs: ClassVar[type[msgspec.Struct]] = NotificationOutput
    idempotency: ClassVar[Idempotency] = Idempotency.LOCAL

    def idempotency_for(self, params: NotificationInputs) -> Idempotency:
        """``local`` for log, ``remote_key`` for webhook, ``at_most_once`` for email."""
        return STRATEGIES[params.channel]

    async def execute(self, ctx: ActionContext, params: NotificationInputs) -> Mapping[str, Any]:
        """Deliver the message on its channel."""
        if params.channel == "webhook":
            return await send_webhook(ctx, params)
        if params.channel == "email":
            return await send_email(ctx, params)
        level = logging.getLevelNamesMapping()[(params.level or "info").upper()]
        ctx.logger.log(
            level,
            "notification: %s",
            params.message,
            extra={
                "channel": "log",
                "execution_id": str(ctx.execution_id),
                "step": ctx.step_key,
                "idempotency_key": ctx.idempotency_key,
                "notification": params.message,
            },
        )
        ctx.record_event(AuditEvent.NOTIFICATION_SENT, channel="log", message=params.message)
        return {"channel": "log", "delivered": True, "message": params.message}
