"""The words of the human-task lifecycle: its actions, and where its statuses and audit names live.

The statuses are :class:`govflow.core.statuses.HumanTaskStatus` (re-exported here as
``TaskStatus``) and the audit names the ``HUMAN_TASK_*`` members of
:class:`govflow.core.audit_events.AuditEvent`: one definition each. The task has no ``EXPIRED``
status: a missed deadline marks the task overdue and may escalate it, and the task goes on (see
:mod:`govflow.core.tasks.deadlines`).
"""

from __future__ import annotations

from enum import StrEnum

from govflow.core.audit_events import AuditEvent
from govflow.core.statuses import HumanTaskStatus

TaskStatus = HumanTaskStatus
"""Where a human task stands (the one definition is in :mod:`govflow.core.statuses`)."""


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


TaskEventName = AuditEvent
"""An audit event name the lifecycle writes."""


ACTION_EVENTS: dict[TaskActionName, AuditEvent] = {
    TaskActionName.ASSIGN: AuditEvent.HUMAN_TASK_ASSIGNED,
    TaskActionName.CLAIM: AuditEvent.HUMAN_TASK_CLAIMED,
    TaskActionName.RELEASE: AuditEvent.HUMAN_TASK_RELEASED,
    TaskActionName.DELEGATE: AuditEvent.HUMAN_TASK_DELEGATED,
    TaskActionName.START: AuditEvent.HUMAN_TASK_STARTED,
    TaskActionName.SUBMIT: AuditEvent.HUMAN_TASK_SUBMITTED,
    TaskActionName.APPROVE: AuditEvent.HUMAN_TASK_APPROVED,
    TaskActionName.REJECT: AuditEvent.HUMAN_TASK_REJECTED,
    TaskActionName.CLOSE: AuditEvent.HUMAN_TASK_CLOSED,
    TaskActionName.CANCEL: AuditEvent.HUMAN_TASK_CANCELED,
    TaskActionName.REACTIVATE: AuditEvent.HUMAN_TASK_REACTIVATED,
    TaskActionName.DELETE: AuditEvent.HUMAN_TASK_DELETED,
}
"""The audit event each action writes (an ``ASSIGN`` of an assigned task writes
``HUMAN_TASK_REASSIGNED``; an approval short of the quorum ``HUMAN_TASK_APPROVAL_RECORDED``)."""
