"""The plugin's settings: ``GOVFLOW_NOTIFICATION_<NAME>`` (or the older
``GOVFLOW_PLUGIN_NOTIFICATION_<NAME>``), read and checked when a process starts."""

from __future__ import annotations

import re
from typing import Annotated, Final

import msgspec

from govflow.core.destinations import DestinationAllowlist
from govflow.plugins import Secret

SECRET_NAME: Final = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
"""The name a webhook step gives its signing secret (``with: {secret: NAME}``)."""
MIN_SECRET_LENGTH: Final = 16

Seconds = Annotated[float, msgspec.Meta(gt=0, le=3600)]
Port = Annotated[int, msgspec.Meta(ge=1, le=65535)]


def variable(name: str) -> str:
    """The environment variable of setting ``name``."""
    return f"GOVFLOW_NOTIFICATION_{name.upper()}"


class NotificationSettings(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """SMTP for the email channel, destinations and timeouts for the webhook channel.

    See docs/plugins.md, "The notification plugin", for each setting.
    """

    smtp_host: str | None = None
    smtp_port: Port | None = None
    smtp_from: Annotated[str, msgspec.Meta(min_length=3)] = "govflow@localhost"
    smtp_username: str | None = None
    smtp_password: Secret | None = None
    smtp_starttls: bool = False
    smtp_ssl: bool = False
    smtp_ca_file: str | None = None
    smtp_timeout: Seconds = 10.0
    smtp_local_hostname: str | None = None
    webhook_timeout: Seconds = 10.0
    webhook_allowlist: list[str] = msgspec.field(default_factory=list)
    webhook_follow_redirects: bool = False
    webhook_secrets: list[Secret] = msgspec.field(default_factory=list)
    """``NAME=SECRET`` items, comma-separated: the HMAC-SHA256 keys webhooks are signed with."""

    def __post_init__(self) -> None:
        if self.smtp_ssl and self.smtp_starttls:
            raise ValueError(
                f"{variable('smtp_ssl')} and {variable('smtp_starttls')} exclude each other"
            )
        if self.smtp_password and not self.smtp_username:
            raise ValueError(
                f"{variable('smtp_password')} is set without {variable('smtp_username')}"
            )
        _parse_secrets(self.webhook_secrets)
        try:
            DestinationAllowlist.parse(self.webhook_allowlist)
        except ValueError as exc:
            raise ValueError(f"{variable('webhook_allowlist')}: {exc}") from None

    @property
    def allowlist(self) -> DestinationAllowlist:
        """The destinations a webhook may go to (none when unset)."""
        return DestinationAllowlist.parse(self.webhook_allowlist)

    @property
    def secrets(self) -> dict[str, Secret]:
        """The webhook signing secrets by name."""
        return _parse_secrets(self.webhook_secrets)

    @property
    def port(self) -> int:
        """The SMTP port: the one set, else 465 with ``SMTP_SSL``, else 25."""
        if self.smtp_port is not None:
            return self.smtp_port
        return 465 if self.smtp_ssl else 25


def _parse_secrets(items: list[Secret]) -> dict[str, Secret]:
    """``NAME=SECRET`` items by name; errors name the item, never its secret."""
    secrets: dict[str, Secret] = {}
    where = variable("webhook_secrets")
    for position, item in enumerate(items, start=1):
        name, equals, value = item.reveal().partition("=")
        name = name.strip()
        if not equals or not SECRET_NAME.match(name):
            raise ValueError(
                f"{where}: item {position} is not NAME=SECRET (NAME: lowercase letters, digits, "
                "_ and -, at most 64)"
            )
        if len(value) < MIN_SECRET_LENGTH:
            raise ValueError(
                f"{where}: the secret {name!r} is shorter than {MIN_SECRET_LENGTH} characters"
            )
        if name in secrets:
            raise ValueError(f"{where}: the secret {name!r} is given twice")
        secrets[name] = Secret(value)
    return secrets


def settings_of(value: object) -> NotificationSettings:
    """``ctx.settings`` as :class:`NotificationSettings`: the defaults (nothing configured)
    when the context carries none, as a context built by hand does."""
    return value if isinstance(value, NotificationSettings) else NotificationSettings()
