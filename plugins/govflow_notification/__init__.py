"""The ``notification`` action: a message to the log, a signed webhook or email recipients
(addresses, or groups by role and/or department resolved through the host's directory).

Settings (:class:`~govflow_notification.settings.NotificationSettings`,
``GOVFLOW_NOTIFICATION_<NAME>``): ``SMTP_HOST``, ``SMTP_PORT`` (25, or 465 with ``SMTP_SSL``),
``SMTP_FROM`` (``govflow@localhost``), ``SMTP_USERNAME``, ``SMTP_PASSWORD`` (secret),
``SMTP_STARTTLS`` (false), ``SMTP_SSL`` (false: implicit TLS), ``SMTP_CA_FILE`` (the system's
CAs), ``SMTP_TIMEOUT`` (seconds, 10), ``SMTP_LOCAL_HOSTNAME`` (the EHLO name; the host's FQDN),
``WEBHOOK_TIMEOUT`` (seconds, 10), ``WEBHOOK_ALLOWLIST`` (the destinations webhooks may go to;
empty: none), ``WEBHOOK_FOLLOW_REDIRECTS`` (false), ``WEBHOOK_SECRETS`` (``NAME=SECRET``
items: the keys webhooks are signed with). See docs/plugins.md, "The notification
plugin", and docs/operations.md, "Outbound requests"."""

from __future__ import annotations

import msgspec

from govflow.plugins import ActionRegistry, PluginHost, hookimpl
from govflow_notification.action import NotificationAction
from govflow_notification.inputs import Group, NotificationInputs
from govflow_notification.recipients import NotificationResources
from govflow_notification.settings import NotificationSettings

__all__ = [
    "Group",
    "NotificationAction",
    "NotificationInputs",
    "NotificationResources",
    "NotificationSettings",
]


@hookimpl
def govflow_register_actions(register: ActionRegistry) -> None:
    """Register ``notification``."""
    register.add(NotificationAction())


@hookimpl
def govflow_settings() -> type[msgspec.Struct]:
    """Declare :class:`NotificationSettings`."""
    return NotificationSettings


@hookimpl
def govflow_startup(host: PluginHost) -> NotificationResources:
    """Keep the host's directory: an email's recipient groups are resolved through it."""
    return NotificationResources(directory=host.directory)
