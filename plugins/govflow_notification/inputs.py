"""The ``with:`` block of a ``notification`` step; each channel has its own fields.

An email's ``to`` lists addresses and groups of people: ``{role: MANAGER}``,
``{department: urban-planning}`` or both (the active users with that role in that
department), resolved to addresses through the host's directory when the step runs.
"""

from __future__ import annotations

import re
from typing import Annotated, Final, Literal

import msgspec

from govflow.core.department_refs import DepartmentRef
from govflow.core.roles import Role

EMAIL_PATTERN: Final = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"
Email = Annotated[str, msgspec.Meta(pattern=EMAIL_PATTERN)]
HttpUrl = Annotated[str, msgspec.Meta(pattern=r"^https?://\S+$")]
Level = Literal["debug", "info", "warning", "error"]
SecretName = Annotated[
    str,
    msgspec.Meta(
        pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$",
        description="The name of a signing secret in GOVFLOW_NOTIFICATION_WEBHOOK_SECRETS.",
    ),
]
MAX_RECIPIENTS: Final = 50
"""Recipients of one email, the groups' members included."""

CHANNEL_FIELDS = {"log": ("level",), "webhook": ("url", "secret"), "email": ("to", "subject")}
"""The fields each channel accepts; ``REQUIRED`` lists those it needs."""
REQUIRED = {"log": (), "webhook": ("url",), "email": ("to",)}


class Group(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """The active users with ``role``, in ``department``, or both (both must match)."""

    role: Role | None = None
    department: DepartmentRef | None = None

    def __post_init__(self) -> None:
        if self.role is None and self.department is None:
            raise ValueError("a recipient group names a role, a department or both")

    def __str__(self) -> str:
        """``with the role MANAGER in department building-permits``."""
        named = [f"with the role {self.role.value}"] if self.role is not None else []
        named += [f"in department {self.department}"] if self.department is not None else []
        return " ".join(named)


Recipient = str | Group
"""An address, or a :class:`Group`. The address is checked by :class:`NotificationInputs`:
msgspec 0.22 corrupts memory converting to a union whose string member is constrained."""


class NotificationInputs(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """``channel`` and ``message``, plus ``level`` (log), ``url`` and ``secret`` (webhook),
    ``to``/``subject`` (email)."""

    channel: Literal["log", "webhook", "email"]
    message: Annotated[str, msgspec.Meta(min_length=1)]
    level: Level | None = None
    url: HttpUrl | None = None
    secret: SecretName | None = None
    to: Annotated[list[Recipient], msgspec.Meta(min_length=1, max_length=MAX_RECIPIENTS)] | None = (
        None
    )
    subject: str | None = None

    def __post_init__(self) -> None:
        for name in REQUIRED[self.channel]:
            if getattr(self, name) is None:
                raise ValueError(f"the {self.channel} channel needs `{name}`")
        foreign = [
            name
            for channel, names in CHANNEL_FIELDS.items()
            if channel != self.channel
            for name in names
            if getattr(self, name) is not None
        ]
        if foreign:
            raise ValueError(f"`{foreign[0]}` does not apply to the {self.channel} channel")
        for position, recipient in enumerate(self.to or ()):
            if isinstance(recipient, str) and not (
                len(recipient) <= 320 and re.match(EMAIL_PATTERN, recipient)
            ):
                raise ValueError(f"to[{position}]: expects an email or a group, got {recipient!r}")

    @property
    def addresses(self) -> list[str]:
        """The recipients given as addresses."""
        return [r for r in self.to or () if isinstance(r, str)]

    @property
    def groups(self) -> list[tuple[int, Group]]:
        """The recipient groups, with their position in ``to``."""
        return [(i, r) for i, r in enumerate(self.to or ()) if isinstance(r, Group)]
