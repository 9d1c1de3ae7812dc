"""The words of the human-task lifecycle: its statuses, its actions and its audit event names.

``TaskStatus`` extends the design's ``HumanTaskStatus`` with ``CLOSED`` (the task is over: its
decision was taken and nothing more happens) and ``DELETED`` (soft delete: the row is kept and
audited, lists hide it). The task has no ``EXPIRED`` status: a missed deadline marks the task
overdue and may escalate it, and the task goes on (see :mod:`govflow.core.tasks.deadlines`).

Most audit names are members of :class:`govflow.core.audit_events.AuditEvent`; the lifecycle
needs a few more, listed in :class:`TaskAuditEvent` with the same ``HUMAN_TASK_`` prefix.
"""

from __future__ import annotations

from enum import StrEnum
from typing import ClassVar

from govflow.core.audit_events import AuditEvent


class TaskStatus(StrEnum):
    """Where a human task stands."""

    OPEN = "OPEN"
    """Created, nobody assigned: a user may claim it if it is offered to a role or department."""
    ASSIGNED = "ASSIGNED"
    """Assigned to (claimed by, delegated to) one user, not started."""
    IN_PROGRESS = "IN_PROGRESS"
    """The assignee is working on it (filling in the form)."""
    SUBMITTED = "SUBMITTED"
    """Submitted; waiting for its reviewers (or for a close when no review is asked)."""
    APPROVED = "APPROVED"
    """Approved by as many distinct reviewers as it asks; a standalone task waits for a close."""
    REJECTED = "REJECTED"
    """Sent back to the assignee with a reason; the assignee starts again."""
    CLOSED = "CLOSED"
    """Over: decided and ended (a ``manual`` step's task closes with its decision)."""
    CANCELED = "CANCELED"
    """Canceled (its execution was canceled, or a manager canceled a standalone task)."""
    DELETED = "DELETED"
    """Soft-deleted: kept and audited, hidden from lists; no action leaves it."""

    ACTIVE: ClassVar[frozenset[TaskStatus]]
    """Statuses in which someone still has to act before the task is decided."""
    TERMINAL: ClassVar[frozenset[TaskStatus]]
    """Statuses in which the task is over (only reactivate or delete may follow)."""
    LISTED: ClassVar[frozenset[TaskStatus]]
    """Statuses lists show (every status but ``DELETED``)."""


TaskStatus.ACTIVE = frozenset(
    {
        TaskStatus.OPEN,
        TaskStatus.ASSIGNED,
        TaskStatus.IN_PROGRESS,
        TaskStatus.SUBMITTED,
        TaskStatus.REJECTED,
    }
)
TaskStatus.TERMINAL = frozenset({TaskStatus.CLOSED, TaskStatus.CANCELED, TaskStatus.DELETED})
TaskStatus.LISTED = frozenset(TaskStatus) - {TaskStatus.DELETED}


class TaskActionName(StrEnum):
    """What a person (or the system) can do to a task: the columns of the transition table."""

    ASSIGN = "ASSIGN"
    CLAIM = "CLAIM"
    RELEASE = "RELEASE"
    DELEGATE = "DELEGATE"
    START = "START"
    SUBMIT = "SUBMIT"
    APPROVE = "APPROVE"
    REJECT = "REJECT"
    CLOSE = "CLOSE"
    CANCEL = "CANCEL"
    REACTIVATE = "REACTIVATE"
    DELETE = "DELETE"


class TaskAuditEvent(StrEnum):
    """Audit names the lifecycle writes that :class:`AuditEvent` does not have (yet)."""

    HUMAN_TASK_DELEGATED = "HUMAN_TASK_DELEGATED"
    """The assignee handed the task to another eligible user."""
    HUMAN_TASK_APPROVAL_RECORDED = "HUMAN_TASK_APPROVAL_RECORDED"
    """One reviewer approved; the task asks for more distinct approvals (N-of-M)."""
    HUMAN_TASK_CLOSED = "HUMAN_TASK_CLOSED"
    HUMAN_TASK_REACTIVATED = "HUMAN_TASK_REACTIVATED"
    HUMAN_TASK_DELETED = "HUMAN_TASK_DELETED"
    HUMAN_TASK_OVERDUE = "HUMAN_TASK_OVERDUE"
    """The task's deadline passed before it was decided."""
    HUMAN_TASK_ESCALATED = "HUMAN_TASK_ESCALATED"
    """The task was handed or offered to its ``escalate_to`` after the deadline."""


TaskEventName = AuditEvent | TaskAuditEvent
"""An audit event name the lifecycle writes."""


ACTION_EVENTS: dict[TaskActionName, TaskEventName] = {
    TaskActionName.ASSIGN: AuditEvent.HUMAN_TASK_ASSIGNED,
    TaskActionName.CLAIM: AuditEvent.HUMAN_TASK_CLAIMED,
    TaskActionName.RELEASE: AuditEvent.HUMAN_TASK_RELEASED,
    TaskActionName.DELEGATE: TaskAuditEvent.HUMAN_TASK_DELEGATED,
    TaskActionName.START: AuditEvent.HUMAN_TASK_STARTED,
    TaskActionName.SUBMIT: AuditEvent.HUMAN_TASK_SUBMITTED,
    TaskActionName.APPROVE: AuditEvent.HUMAN_TASK_APPROVED,
    TaskActionName.REJECT: AuditEvent.HUMAN_TASK_REJECTED,
    TaskActionName.CLOSE: TaskAuditEvent.HUMAN_TASK_CLOSED,
    TaskActionName.CANCEL: AuditEvent.HUMAN_TASK_CANCELED,
    TaskActionName.REACTIVATE: TaskAuditEvent.HUMAN_TASK_REACTIVATED,
    TaskActionName.DELETE: TaskAuditEvent.HUMAN_TASK_DELETED,
}
"""The audit event each action writes (an ``ASSIGN`` of an assigned task writes
``HUMAN_TASK_REASSIGNED``; an approval short of the quorum ``HUMAN_TASK_APPROVAL_RECORDED``)."""
