"""The ``with:`` block of a ``manual`` step.

``assignee`` and ``reviewers`` name people in any combination of users (by email), a role and
a department, at least one: a user who is named, or who has the role and is in the department
(both must match when both are given). ``escalate_to`` names one user, role or department.
``notify`` names the notification channels that hear of the task (assigned, overdue...).
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

import msgspec

from govflow.core.department_refs import REF_KEY, USER, DepartmentRef
from govflow.core.durations import DURATION_PATTERN
from govflow.core.roles import Role
from govflow.core.tasks.forms import FormField
from govflow.core.tasks.model import OnReject
from govflow.core.tasks.notices import EmailSubject

EMAIL_PATTERN = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"
Email = Annotated[
    str,
    msgspec.Meta(
        pattern=EMAIL_PATTERN, max_length=320, description="An email.", extra={REF_KEY: USER}
    ),
]
"""A user's email: ``govflow workflows validate`` checks that an active user has it."""
Emails = str | list[Email]
"""One email or a list of them. The single email's form and the list's length are checked by
:class:`Parties`: msgspec 0.22 corrupts memory converting to a union whose string member is
constrained beside an array member."""
MAX_USERS = 50
Duration = Annotated[str, msgspec.Meta(pattern=DURATION_PATTERN)]
NonEmpty = Annotated[str, msgspec.Meta(min_length=1)]
FieldName = Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$", max_length=64)]
HttpUrl = Annotated[str, msgspec.Meta(pattern=r"^https?://\S+$")]
SecretName = Annotated[str, msgspec.Meta(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$")]
NotifyOn = Literal["created", "assigned", "claimed", "submitted", "rejected", "canceled", "overdue"]

NOTIFY_CHANNEL_FIELDS = {
    "log": ("level",),
    "webhook": ("url", "secret"),
    "email": ("to", "subject"),
}
NOTIFY_REQUIRED = {"log": (), "webhook": ("url",), "email": ()}


class Parties(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """Users by email, a role and/or a department: any combination, at least one."""

    user: Emails | None = None
    role: Role | None = None
    department: DepartmentRef | None = None

    def __post_init__(self) -> None:
        if self.user is None and self.role is None and self.department is None:
            raise ValueError("name at least one of user, role or department")
        if isinstance(self.user, list) and not 0 < len(self.user) <= MAX_USERS:
            raise ValueError(f"`user` lists 1 to {MAX_USERS} emails")
        if isinstance(self.user, str) and not (
            len(self.user) <= 320 and re.match(EMAIL_PATTERN, self.user)
        ):
            raise ValueError(f"`user` expects an email, got {self.user!r}")

    @property
    def emails(self) -> tuple[str, ...]:
        """The users named, as written (one or a list)."""
        if self.user is None:
            return ()
        return (self.user,) if isinstance(self.user, str) else tuple(self.user)


class EscalateTo(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """Who gets the task once its deadline has passed: one user, a role or a department."""

    user: Email | None = None
    role: Role | None = None
    department: DepartmentRef | None = None

    def __post_init__(self) -> None:
        given = [name for name in ("user", "role", "department") if getattr(self, name)]
        if len(given) != 1:
            raise ValueError("escalate_to needs exactly one of user, role or department")


class NotifyTarget(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """A channel of the ``notification`` action that hears of the task: ``on: assigned`` when
    it is offered, assigned or delegated, ``on: overdue`` when it is overdue or escalated (both
    when ``on`` is left out); ``created``, ``claimed``, ``submitted``, ``rejected`` and
    ``canceled`` when named.

    ``email`` goes to ``to`` when given, else to the people the notice is about (whoever the
    task is assigned or offered to, or escalated to); ``webhook`` posts to ``url``, signed with
    the webhook secret named ``secret`` if given; ``log`` writes a line at ``level``.
    """

    channel: Literal["log", "webhook", "email"]
    on: Annotated[list[NotifyOn], msgspec.Meta(min_length=1)] | None = None
    level: Literal["debug", "info", "warning", "error"] | None = None
    url: HttpUrl | None = None
    secret: SecretName | None = None
    to: Annotated[list[Email], msgspec.Meta(min_length=1, max_length=50)] | None = None
    subject: EmailSubject | None = None

    def __post_init__(self) -> None:
        for name in NOTIFY_REQUIRED[self.channel]:
            if getattr(self, name) is None:
                raise ValueError(f"the {self.channel} channel needs `{name}`")
        for channel, names in NOTIFY_CHANNEL_FIELDS.items():
            for name in names:
                if channel != self.channel and getattr(self, name) is not None:
                    raise ValueError(f"`{name}` does not apply to the {self.channel} channel")


class ManualInputs(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """The ``with:`` block of a ``manual`` step."""

    title: NonEmpty
    assignee: Parties
    description: str | None = None
    reviewers: Parties | None = None
    approvals: Annotated[int, msgspec.Meta(ge=1, le=20)] = 1
    starter_cannot_approve: bool = False
    on_reject: OnReject = OnReject.REWORK
    form: dict[FieldName, FormField] | None = None
    due_in: Duration | None = None
    escalate_to: EscalateTo | None = None
    notify: Annotated[list[NotifyTarget], msgspec.Meta(max_length=10)] | None = None

    def __post_init__(self) -> None:
        if self.reviewers is None:
            if self.approvals != 1:
                raise ValueError("`approvals` needs `reviewers`")
            if self.starter_cannot_approve:
                raise ValueError("`starter_cannot_approve` needs `reviewers`")
            if self.on_reject is not OnReject.REWORK:
                raise ValueError("`on_reject` needs `reviewers`")
        if self.escalate_to is not None and self.due_in is None:
            raise ValueError("`escalate_to` needs `due_in`")
        for name, field in (self.form or {}).items():
            choice = field.type in ("choice", "enum")
            if choice != bool(field.options):
                raise ValueError(
                    f"form.{name}: options are required for a choice field and only for it"
                )
