"""The ``notification`` action: a message to the log, a webhook or an email address.

Settings (``GOVFLOW_PLUGIN_NOTIFICATION_<KEY>``): ``SMTP_HOST``, ``SMTP_PORT`` (25),
``SMTP_FROM``, ``SMTP_USERNAME``, ``SMTP_PASSWORD``, ``SMTP_STARTTLS`` (false),
``WEBHOOK_TIMEOUT`` (seconds, 10).
"""

from __future__ import annotations

from govflow.plugins import ActionRegistry, hookimpl
from govflow_notification.action import NotificationAction
from govflow_notification.inputs import NotificationInputs

__all__ = ["NotificationAction", "NotificationInputs"]


@hookimpl
def govflow_register_actions(register: ActionRegistry) -> None:
    """Register ``notification``."""
    register.add(NotificationAction())
