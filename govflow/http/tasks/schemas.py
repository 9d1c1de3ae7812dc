"""Request bodies of ``/tasks``: creating, editing and acting on a task; answers are
``TaskView``. Unknown fields are refused; a refused action names the field
(``body.form.amount``, ``status``)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

import msgspec

from govflow.core.durations import parse_duration
from govflow.core.roles import Role
from govflow.core.spec import Duration
from govflow.core.tasks.edit import Edit
from govflow.core.tasks.forms import FormField
from govflow.core.tasks.model import (
    Approve,
    Cancel,
    Claim,
    Close,
    OnReject,
    Party,
    Reactivate,
    Reject,
    Release,
    Start,
    Submit,
)
from govflow.usecases.task_creation import NewTask, NotifyChannel

Reason = Annotated[str, msgspec.Meta(max_length=2000)]
RequiredReason = Annotated[str, msgspec.Meta(min_length=1, max_length=2000)]


class EmptyIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """No fields: the action needs nothing but the caller (``{}``)."""

    def to_claim(self) -> Claim:
        return Claim()

    def to_start(self) -> Start:
        return Start()


class ReleaseIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    reason: Reason = ""

    def to_action(self) -> Release:
        return Release(reason=self.reason)


class HandOverIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Who gets the task (an active user the task may be given to), and why."""

    user_id: UUID
    reason: Reason = ""


class CommentIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    text: RequiredReason


class SubmitIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """The form's values, checked against the task's form fields."""

    form: dict[str, Any] = msgspec.field(default_factory=dict)
    comment: Reason = ""

    def to_action(self) -> Submit:
        return Submit(form=self.form, comment=self.comment)


class ApproveIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    comment: Reason = ""

    def to_action(self) -> Approve:
        return Approve(comment=self.comment)


class RejectIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Why the submission goes back (or, under ``on_reject: fail``, fails the step)."""

    reason: RequiredReason

    def to_action(self) -> Reject:
        return Reject(reason=self.reason)


class ReasonIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Why (optional): close, cancel and reactivate a standalone task."""

    reason: Reason = ""

    def to_close(self) -> Close:
        return Close(reason=self.reason)

    def to_cancel(self) -> Cancel:
        return Cancel(reason=self.reason)

    def to_reactivate(self) -> Reactivate:
        return Reactivate(reason=self.reason)


Title = Annotated[str, msgspec.Meta(min_length=1, max_length=500)]
Description = Annotated[str, msgspec.Meta(max_length=10_000)]
Deadline = Annotated[datetime, msgspec.Meta(tz=True)]
FieldName = Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$", max_length=64)]
UserIds = Annotated[list[UUID], msgspec.Meta(max_length=100)]
Form = Annotated[dict[FieldName, FormField], msgspec.Meta(max_length=100)]


class PartyIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """A set of people: listed users, and/or everyone with a role and/or in a department (both
    given: both must match)."""

    users: UserIds = msgspec.field(default_factory=list)
    role: Role | None = None
    department_id: UUID | None = None

    def to_party(self) -> Party:
        return Party(users=tuple(self.users), role=self.role, department_id=self.department_id)


class TaskCreateIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """A standalone task (see :class:`govflow.usecases.task_creation.NewTask`)."""

    title: Title
    description: Description = ""
    department_id: UUID | None = None
    assignee_id: UUID | None = None
    offered_to: PartyIn | None = None
    reviewers: PartyIn | None = None
    approvals: Annotated[int, msgspec.Meta(ge=1, le=50)] = 1
    on_reject: OnReject = OnReject.REWORK
    form: Form = msgspec.field(default_factory=dict)
    due_at: Deadline | None = None
    due_in: Duration | None = None
    escalate_to: PartyIn | None = None
    notify: Annotated[list[NotifyChannel], msgspec.Meta(max_length=10)] = msgspec.field(
        default_factory=list
    )

    def problems(self) -> list[tuple[str, str]]:
        """What the schema cannot say: a choice field's options, a notify channel's fields."""
        found = [
            (f"body.form.{name}.options", "required for a choice field and only for it")
            for name, field in self.form.items()
            if (field.type in ("choice", "enum")) != bool(field.options)
        ]
        for index, channel in enumerate(self.notify):
            found.extend(channel.problems(f"body.notify[{index}]"))
        return found

    def to_new(self) -> NewTask:
        return NewTask(
            title=self.title,
            description=self.description,
            department_id=self.department_id,
            assignee_id=self.assignee_id,
            offered_to=Party() if self.offered_to is None else self.offered_to.to_party(),
            reviewers=None if self.reviewers is None else self.reviewers.to_party(),
            approvals=self.approvals,
            on_reject=self.on_reject,
            form=self.form,
            due_at=self.due_at,
            due_in=None if self.due_in is None else parse_duration(self.due_in),
            escalate_to=None if self.escalate_to is None else self.escalate_to.to_party(),
            notify=tuple(self.notify),
        )


class TaskUpdateIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """The version the caller read, and the details to change (never the status)."""

    version: Annotated[int, msgspec.Meta(ge=1)]
    title: Title | msgspec.UnsetType = msgspec.UNSET
    description: Description | msgspec.UnsetType = msgspec.UNSET
    due_at: Deadline | msgspec.UnsetType | None = msgspec.UNSET
    reason: Reason = ""

    def to_edit(self) -> Edit:
        return Edit(
            title=self.title, description=self.description, due_at=self.due_at, reason=self.reason
        )

    @property
    def names_a_field(self) -> bool:
        return any(
            value is not msgspec.UNSET for value in (self.title, self.description, self.due_at)
        )
