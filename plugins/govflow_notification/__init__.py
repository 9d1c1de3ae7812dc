"""The ``notification`` action: a message to the log, a webhook or an email address.

Settings (``GOVFLOW_PLUGIN_NOTIFICATION_<KEY>``): ``SMTP_HOST``, ``SMTP_PORT`` (25, or 465
with ``SMTP_SSL``), ``SMTP_FROM`` (``govflow@localhost``), ``SMTP_USERNAME``, ``SMTP_PASSWORD``,
``SMTP_STARTTLS`` (false), ``SMTP_SSL`` (false: implicit TLS), ``SMTP_CA_FILE`` (the system's
CAs), ``SMTP_TIMEOUT`` (seconds, 10), ``SMTP_LOCAL_HOSTNAME`` (the EHLO name; the host's FQDN),
``WEBHOOK_TIMEOUT`` (seconds, 10), ``WEBHOOK_ALLOWLIST`` (the destinations webhooks may go to;
empty: none), ``WEBHOOK_FOLLOW_REDIRECTS`` (false). See docs/plugins.md, "The notification
plugin", and docs/operations.md, "Outbound requests"."""

from __future__ import annotations

from govflow.plugins import ActionRegistry, hookimpl
from govflow_notification.action import NotificationAction
from govflow_notification.inputs import NotificationInputs

__all__ = ["NotificationAction", "NotificationInputs"]


@hookimpl
def govflow_register_actions(register: ActionRegistry) -> None:
    """Register ``notification``."""
    register.add(NotificationAction())
