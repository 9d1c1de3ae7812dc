"""The values the human-task lifecycle decides on: the task, who acts, what they ask, what follows.

Everything here is a frozen msgspec Struct: the use cases build a :class:`TaskState` from the
stored row, pass a :class:`TaskActor` and one action, and carry out the :class:`TaskDecision`'s
commands (write the new state, the audit events, complete or fail the step, notify).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from enum import StrEnum
from typing import Any, ClassVar
from uuid import UUID

import msgspec

from govflow.core.roles import Role
from govflow.core.tasks.forms import FormField
from govflow.core.tasks.vocabulary import TaskActionName, TaskEventName, TaskStatus


class OnReject(StrEnum):
    """What a rejection does: send the task back to its assignee, or fail the step."""

    REWORK = "rework"
    FAIL = "fail"


class Party(msgspec.Struct, frozen=True, kw_only=True):
    """A set of people: listed users, and/or everyone with a role and/or in a department.

    ``role`` and ``department_id`` together mean both must match; a party naming neither and no
    user is empty.
    """

    users: tuple[UUID, ...] = ()
    role: Role | None = None
    department_id: UUID | None = None

    @property
    def is_group(self) -> bool:
        """Whether the party names a role or a department (a task offered to it can be claimed)."""
        return self.role is not None or self.department_id is not None

    def includes(self, user_id: UUID | None, role: Role, department_id: UUID | None) -> bool:
        """Whether the user is one of the listed users or matches the role and department."""
        if user_id is not None and user_id in self.users:
            return True
        if not self.is_group:
            return False
        role_fits = self.role is None or self.role == role
        department_fits = self.department_id is None or self.department_id == department_id
        return role_fits and department_fits


class TaskPolicy(msgspec.Struct, frozen=True, kw_only=True):
    """What the task's definition (a ``manual`` step, or a standalone task) asks for.

    :ivar reviewers: who may approve or reject; ``None`` when no review is asked (the submit
        decides).
    :ivar approvals: how many distinct eligible reviewers must approve (N-of-M).
    :ivar starter_cannot_approve: whoever started the execution may not review either.
    :ivar on_reject: ``rework`` sends the task back, ``fail`` ends it and fails the step.
    :ivar form: the typed fields checked on submit.
    :ivar escalate_to: who gets the task after its deadline.
    :ivar notify: the notification channels told about the task (each the ``notification``
        action's inputs without the message: ``channel`` and ``url``, ``to``, ``subject`` or
        ``level``).
    """

    reviewers: Party | None = None
    approvals: int = 1
    starter_cannot_approve: bool = False
    on_reject: OnReject = OnReject.REWORK
    form: Mapping[str, FormField] = msgspec.field(default_factory=dict)
    escalate_to: Party | None = None
    notify: tuple[Mapping[str, Any], ...] = ()


class Approval(msgspec.Struct, frozen=True, kw_only=True):
    """One reviewer's approval of the current submission."""

    by: UUID
    at: datetime
    comment: str = ""


class TaskState(msgspec.Struct, frozen=True, kw_only=True):
    """A human task as the lifecycle sees it.

    :ivar step_bound: the task belongs to a ``manual`` step (its decision completes or fails the
        step, and only the execution's cancel cancels it); ``False`` for a standalone task.
    :ivar started_by: who started the execution (``starter_cannot_approve``).
    :ivar offer: the role and/or department the task is offered to (claim, release), from the
        step's ``assignee``.
    :ivar rejections: how many times the task was sent back.
    :ivar version: bumped by one by every decision, so the store can write a decision only over
        the version it was decided on (of two concurrent approvals, exactly one wins).
    """

    id: UUID
    status: TaskStatus
    title: str
    department_id: UUID | None
    policy: TaskPolicy
    step_bound: bool
    created_by: UUID | None = None
    started_by: UUID | None = None
    offer: Party = Party()
    assignee_id: UUID | None = None
    submitted_by: UUID | None = None
    submitted_at: datetime | None = None
    submission: Mapping[str, Any] | None = None
    approvals: tuple[Approval, ...] = ()
    rejections: int = 0
    rejection_reason: str | None = None
    decided_by: UUID | None = None
    decided_at: datetime | None = None
    due_at: datetime | None = None
    overdue: bool = False
    escalated: bool = False
    updated_at: datetime | None = None
    version: int = 1


class TaskActor(msgspec.Struct, frozen=True, kw_only=True):
    """Who acts: a signed-in user, or the system (the engine canceling, the sweeper escalating).

    The system acts with every right but may not review (it never approves or rejects).
    """

    user_id: UUID | None
    role: Role
    department_id: UUID | None
    system: bool = False

    SYSTEM: ClassVar[TaskActor]


TaskActor.SYSTEM = TaskActor(user_id=None, role=Role.ADMIN, department_id=None, system=True)


class TaskUser(msgspec.Struct, frozen=True, kw_only=True):
    """A user an action names as its target (assign, delegate), as the use case read it."""

    user_id: UUID
    role: Role
    department_id: UUID | None
    active: bool = True


class Assign(msgspec.Struct, frozen=True, kw_only=True):
    """A manager gives the task to one eligible user (a reassign if it had an assignee)."""

    name: ClassVar[TaskActionName] = TaskActionName.ASSIGN
    target: TaskUser
    reason: str = ""


class Claim(msgspec.Struct, frozen=True, kw_only=True):
    """An eligible user takes a task offered to their role or department."""

    name: ClassVar[TaskActionName] = TaskActionName.CLAIM


class Release(msgspec.Struct, frozen=True, kw_only=True):
    """The assignee (or a manager) gives the task back to its offer."""

    name: ClassVar[TaskActionName] = TaskActionName.RELEASE
    reason: str = ""


class Delegate(msgspec.Struct, frozen=True, kw_only=True):
    """The assignee hands the task to another eligible user."""

    name: ClassVar[TaskActionName] = TaskActionName.DELEGATE
    target: TaskUser
    reason: str = ""


class Start(msgspec.Struct, frozen=True, kw_only=True):
    """The assignee starts (or, after a rejection, restarts) the work."""

    name: ClassVar[TaskActionName] = TaskActionName.START


class Submit(msgspec.Struct, frozen=True, kw_only=True):
    """The assignee submits the form."""

    name: ClassVar[TaskActionName] = TaskActionName.SUBMIT
    form: Mapping[str, Any] = msgspec.field(default_factory=dict)
    comment: str = ""


class Approve(msgspec.Struct, frozen=True, kw_only=True):
    """An eligible reviewer approves the submission."""

    name: ClassVar[TaskActionName] = TaskActionName.APPROVE
    comment: str = ""


class Reject(msgspec.Struct, frozen=True, kw_only=True):
    """An eligible reviewer sends the submission back, with a reason."""

    name: ClassVar[TaskActionName] = TaskActionName.REJECT
    reason: str


class Close(msgspec.Struct, frozen=True, kw_only=True):
    """A standalone task is ended after its decision (a step's task closes by itself)."""

    name: ClassVar[TaskActionName] = TaskActionName.CLOSE
    reason: str = ""


class Cancel(msgspec.Struct, frozen=True, kw_only=True):
    """The task is called off (a step's task only with its execution)."""

    name: ClassVar[TaskActionName] = TaskActionName.CANCEL
    reason: str = ""


class Reactivate(msgspec.Struct, frozen=True, kw_only=True):
    """A canceled standalone task is opened again (to its offer, nobody assigned)."""

    name: ClassVar[TaskActionName] = TaskActionName.REACTIVATE
    reason: str = ""


class Delete(msgspec.Struct, frozen=True, kw_only=True):
    """A task that is over is soft-deleted: kept, audited, hidden from lists."""

    name: ClassVar[TaskActionName] = TaskActionName.DELETE
    reason: str = ""


TaskAction = (
    Assign
    | Claim
    | Release
    | Delegate
    | Start
    | Submit
    | Approve
    | Reject
    | Close
    | Cancel
    | Reactivate
    | Delete
)
"""One action asked of the lifecycle."""


class RecordAudit(msgspec.Struct, frozen=True, kw_only=True):
    """Write this audit event about the task (actor ``None`` is the system)."""

    event: TaskEventName
    actor_id: UUID | None
    reason: str | None = None
    data: Mapping[str, Any] = msgspec.field(default_factory=dict)


class TaskOutput(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """The output a ``manual`` step completes with (``steps.<id>.output``)."""

    decision: str
    form: Mapping[str, Any]
    submitted_by: UUID | None
    approved_by: tuple[UUID, ...]
    comments: tuple[str, ...]


class CompleteStep(msgspec.Struct, frozen=True, kw_only=True):
    """Complete the task's step with this output; the execution goes on."""

    output: TaskOutput


class FailStep(msgspec.Struct, frozen=True, kw_only=True):
    """Fail the task's step as a business failure (``on_reject: fail``)."""

    code: str
    message: str


class Notify(msgspec.Struct, frozen=True, kw_only=True):
    """Tell these people about the task (``why`` names the event: ``assigned``, ``overdue``...).

    :ivar detail: what the message adds (a rejection's reason).
    """

    why: str
    to: Party
    detail: str = ""


TaskCommand = RecordAudit | CompleteStep | FailStep | Notify
"""What the caller carries out after a decision, in order."""


class TaskDecision(msgspec.Struct, frozen=True, kw_only=True):
    """The task after the action, and what to carry out."""

    state: TaskState
    commands: tuple[TaskCommand, ...]
