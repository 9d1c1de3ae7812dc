"""The names of every audit event GovFlow writes, and the reasons some of them carry.

Values equal the names (they are stored as text in ``audit_logs.action``). This is the one list:
the engine, the human-task lifecycle, the API's sign-in, user, department and workflow
administration, access denials, and the built-in plugins all write members of
:class:`AuditEvent`. The ``WORKFLOW_EXECUTION_*`` names keep the seed's spelling. Skips always
carry a reason in the audit data (see :class:`SkipReason`), discarded late events one of
:class:`LateEventReason`.

``audit_logs.action`` has no CHECK constraint on purpose: a third-party plugin records events
of its own (``ActionContext.record_event``), and manual entries are named ``MANUAL_<NAME>``, a
prefix no member uses.
"""

from __future__ import annotations

from enum import StrEnum
from typing import ClassVar


class AuditEvent(StrEnum):
    """An audit event name."""

    # Executions.
    WORKFLOW_EXECUTION_CREATED = "WORKFLOW_EXECUTION_CREATED"
    WORKFLOW_EXECUTION_PROCESS_STARTED = "WORKFLOW_EXECUTION_PROCESS_STARTED"
    WORKFLOW_EXECUTION_PROCESS_WAITING = "WORKFLOW_EXECUTION_PROCESS_WAITING"
    WORKFLOW_EXECUTION_PROCESS_RESUMED = "WORKFLOW_EXECUTION_PROCESS_RESUMED"
    WORKFLOW_EXECUTION_PROCESS_COMPLETED = "WORKFLOW_EXECUTION_PROCESS_COMPLETED"
    WORKFLOW_EXECUTION_PROCESS_FAILED = "WORKFLOW_EXECUTION_PROCESS_FAILED"
    WORKFLOW_EXECUTION_PROCESS_TECHNICAL_FAILURE = "WORKFLOW_EXECUTION_PROCESS_TECHNICAL_FAILURE"
    """An attempt failed technically (timeout, transport error, unexpected exception)."""
    WORKFLOW_EXECUTION_PROCESS_SKIPPED = "WORKFLOW_EXECUTION_PROCESS_SKIPPED"
    """A late event found the execution terminal or the step moved on: reported, not applied."""
    WORKFLOW_EXECUTION_PROCESS_NEEDS_ATTENTION = "WORKFLOW_EXECUTION_PROCESS_NEEDS_ATTENTION"
    WORKFLOW_EXECUTION_CANCELED = "WORKFLOW_EXECUTION_CANCELED"
    WORKFLOW_EXECUTION_OPERATOR_RETRY = "WORKFLOW_EXECUTION_OPERATOR_RETRY"
    WORKFLOW_EXECUTION_RECOVERY_FAILED = "WORKFLOW_EXECUTION_RECOVERY_FAILED"
    """Recovery after a lost lease could not re-run the step (attempts exhausted)."""
    WORKFLOW_EXECUTION_FAILURE_HANDLERS_STARTED = "WORKFLOW_EXECUTION_FAILURE_HANDLERS_STARTED"
    """The execution failed and its failure handlers (compensations, then ``on_failure``) start."""
    WORKFLOW_EXECUTION_FAILURE_HANDLERS_FINISHED = "WORKFLOW_EXECUTION_FAILURE_HANDLERS_FINISHED"
    """The last failure handler of the failed execution ended (completed, skipped or failed)."""
    # Steps.
    WORKFLOW_EXECUTION_STEP_STARTED = "WORKFLOW_EXECUTION_STEP_STARTED"
    WORKFLOW_EXECUTION_STEP_COMPLETED = "WORKFLOW_EXECUTION_STEP_COMPLETED"
    WORKFLOW_EXECUTION_STEP_FAILED = "WORKFLOW_EXECUTION_STEP_FAILED"
    WORKFLOW_EXECUTION_STEP_FAILURE_CONTINUED = "WORKFLOW_EXECUTION_STEP_FAILURE_CONTINUED"
    """A step with ``continue_on_error`` failed: it stays ``FAILED`` and the execution goes on."""
    WORKFLOW_EXECUTION_STEP_HANDLER_FAILED = "WORKFLOW_EXECUTION_STEP_HANDLER_FAILED"
    """A failure handler failed: it stays ``FAILED`` and the next handler runs."""
    WORKFLOW_EXECUTION_STEP_SKIPPED = "WORKFLOW_EXECUTION_STEP_SKIPPED"
    WORKFLOW_EXECUTION_STEP_WAITING = "WORKFLOW_EXECUTION_STEP_WAITING"
    WORKFLOW_EXECUTION_STEP_CANCELED = "WORKFLOW_EXECUTION_STEP_CANCELED"
    WORKFLOW_EXECUTION_STEP_REOPENED = "WORKFLOW_EXECUTION_STEP_REOPENED"
    """An operator's retry of a graph's execution reopened a step its failed branch canceled."""
    WORKFLOW_EXECUTION_STEP_RETRY_SCHEDULED = "WORKFLOW_EXECUTION_STEP_RETRY_SCHEDULED"
    WORKFLOW_EXECUTION_STEP_NEEDS_ATTENTION = "WORKFLOW_EXECUTION_STEP_NEEDS_ATTENTION"
    WORKFLOW_EXECUTION_STEP_RECOVERED = "WORKFLOW_EXECUTION_STEP_RECOVERED"
    """A lost lease was recovered and the step goes back to PENDING."""
    WORKFLOW_EXECUTION_STEP_LOOKUP_REQUESTED = "WORKFLOW_EXECUTION_STEP_LOOKUP_REQUESTED"
    WORKFLOW_EXECUTION_STEP_MARKED_DONE = "WORKFLOW_EXECUTION_STEP_MARKED_DONE"
    WORKFLOW_EXECUTION_STEP_HANDED_BACK = "WORKFLOW_EXECUTION_STEP_HANDED_BACK"
    """The claiming worker lacks the step's action: released, unstarted, to the other workers."""
    WORKFLOW_EXECUTION_STEP_SIGNALED = "WORKFLOW_EXECUTION_STEP_SIGNALED"
    """An external system finished a suspended step through its signal (right resume token)."""
    WORKFLOW_EXECUTION_STEP_SIGNAL_REFUSED = "WORKFLOW_EXECUTION_STEP_SIGNAL_REFUSED"
    """A signal for a suspended step came with a wrong resume token: nothing changed."""
    WORKFLOW_EXECUTION_STEP_TIMER_FIRED = "WORKFLOW_EXECUTION_STEP_TIMER_FIRED"
    """An operator ended a waiting timer (a ``wait`` step) before the sweeper did."""
    # Human tasks.
    HUMAN_TASK_CREATED = "HUMAN_TASK_CREATED"
    HUMAN_TASK_ASSIGNED = "HUMAN_TASK_ASSIGNED"
    HUMAN_TASK_CLAIMED = "HUMAN_TASK_CLAIMED"
    HUMAN_TASK_RELEASED = "HUMAN_TASK_RELEASED"
    HUMAN_TASK_REASSIGNED = "HUMAN_TASK_REASSIGNED"
    HUMAN_TASK_STARTED = "HUMAN_TASK_STARTED"
    HUMAN_TASK_SUBMITTED = "HUMAN_TASK_SUBMITTED"
    HUMAN_TASK_APPROVED = "HUMAN_TASK_APPROVED"
    HUMAN_TASK_REJECTED = "HUMAN_TASK_REJECTED"
    HUMAN_TASK_CANCELED = "HUMAN_TASK_CANCELED"
    HUMAN_TASK_DELEGATED = "HUMAN_TASK_DELEGATED"
    """The assignee handed the task to another eligible user."""
    HUMAN_TASK_APPROVAL_RECORDED = "HUMAN_TASK_APPROVAL_RECORDED"
    """One reviewer approved; the task asks for more distinct approvals (N-of-M)."""
    HUMAN_TASK_CLOSED = "HUMAN_TASK_CLOSED"
    HUMAN_TASK_REACTIVATED = "HUMAN_TASK_REACTIVATED"
    HUMAN_TASK_DELETED = "HUMAN_TASK_DELETED"
    HUMAN_TASK_UPDATED = "HUMAN_TASK_UPDATED"
    """A manager changed the task's title, description or deadline (never its status)."""
    HUMAN_TASK_OVERDUE = "HUMAN_TASK_OVERDUE"
    """The task's deadline passed before it was decided."""
    HUMAN_TASK_ESCALATED = "HUMAN_TASK_ESCALATED"
    HUMAN_TASK_COMMENTED = "HUMAN_TASK_COMMENTED"
    """Someone who may see the task left a comment on it (the comment is the record's reason)."""
    """The task was handed or offered to its ``escalate_to`` after the deadline."""
    WORKFLOW_EXECUTION_RECOVERY_TRIGGERED = "WORKFLOW_EXECUTION_RECOVERY_TRIGGERED"
    """An ADMIN or MANAGER ran the stale-step recovery through the API."""
    # Workflows.
    WORKFLOW_CREATED = "WORKFLOW_CREATED"
    WORKFLOW_VERSION_CREATED = "WORKFLOW_VERSION_CREATED"
    WORKFLOW_VERSION_RESTORED = "WORKFLOW_VERSION_RESTORED"
    """A workflow's file holds an older version's content again: that version is current."""
    WORKFLOW_ACTIVATED = "WORKFLOW_ACTIVATED"
    WORKFLOW_DEACTIVATED = "WORKFLOW_DEACTIVATED"
    # Triggers (docs/dsl.md, "Triggers"): entity the workflow.
    TRIGGER_SCHEDULE_FIRED = "TRIGGER_SCHEDULE_FIRED"
    """A schedule slot started its execution (once per slot, whichever scheduler did)."""
    TRIGGER_SCHEDULE_MISSED = "TRIGGER_SCHEDULE_MISSED"
    """Slots passed while no scheduler ran and the catch-up policy skipped them (how many, the
    first and the last are in the metadata)."""
    TRIGGER_SCHEDULE_FAILED = "TRIGGER_SCHEDULE_FAILED"
    """A slot could not start its execution (the workflow refused it: deactivated, inputs)."""
    WEBHOOK_DELIVERY_ACCEPTED = "WEBHOOK_DELIVERY_ACCEPTED"
    """A signed delivery started its execution."""
    WEBHOOK_DELIVERY_REFUSED = "WEBHOOK_DELIVERY_REFUSED"
    """A signed delivery started nothing: its body did not fit the inputs, or its id was
    delivered before. Unsigned or badly signed deliveries are logged and counted, not audited
    (anyone can send them)."""
    # Sign-in and passwords.
    LOGIN_SUCCESS = "LOGIN_SUCCESS"
    LOGIN_FAILED = "LOGIN_FAILED"
    LOGIN_THROTTLED = "LOGIN_THROTTLED"
    LOGOUT = "LOGOUT"
    REFRESH_TOKEN_REUSE_DETECTED = "REFRESH_TOKEN_REUSE_DETECTED"
    """A rotated refresh token came back: its whole family is revoked."""
    PASSWORD_CHANGED = "PASSWORD_CHANGED"
    PASSWORD_CHANGE_FAILED = "PASSWORD_CHANGE_FAILED"
    PASSWORD_CHANGE_THROTTLED = "PASSWORD_CHANGE_THROTTLED"
    PASSWORD_RESET_REQUESTED = "PASSWORD_RESET_REQUESTED"
    PASSWORD_RESET_COMPLETED = "PASSWORD_RESET_COMPLETED"
    PASSWORD_RESET_THROTTLED = "PASSWORD_RESET_THROTTLED"
    # Users and departments.
    USER_CREATED = "USER_CREATED"
    USER_REGISTERED = "USER_REGISTERED"
    """Someone registered an account themselves (``POST /auth/register``)."""
    USER_UPDATED = "USER_UPDATED"
    USER_ENABLED = "USER_ENABLED"
    USER_DISABLED = "USER_DISABLED"
    USER_SESSIONS_REVOKED = "USER_SESSIONS_REVOKED"
    DEPARTMENT_CREATED = "DEPARTMENT_CREATED"
    DEPARTMENT_UPDATED = "DEPARTMENT_UPDATED"
    # Access and operations.
    ACCESS_DENIED = "ACCESS_DENIED"
    """Requests refused to a caller (403, 404 to a department-scoped user, 401 for a presented
    token), counted per user, route and status over a window; the count is in the metadata."""
    HEALTH_CHECK_DEEP_EXECUTED = "HEALTH_CHECK_DEEP_EXECUTED"
    # Built-in plugins.
    NOTIFICATION_SENT = "NOTIFICATION_SENT"
    """The ``notification`` action delivered a message on the ``log`` channel."""
    JIRA_COMMENT_ATTEMPTED = "JIRA_COMMENT_ATTEMPTED"
    """``jira_comment`` is about to add its comment (recorded with the attempt's outcome)."""
    JIRA_COMMENT_COMPLETED = "JIRA_COMMENT_COMPLETED"
    """The comment is on the issue (added now, or found carrying the step's key)."""
    JIRA_COMMENT_FAILED = "JIRA_COMMENT_FAILED"
    """Jira refused the comment or could not be reached; ``retryable`` says which."""
    JIRA_TRANSITION_ATTEMPTED = "JIRA_TRANSITION_ATTEMPTED"
    """``jira_transition`` is about to move its issue."""
    JIRA_TRANSITION_COMPLETED = "JIRA_TRANSITION_COMPLETED"
    """The issue went through the transition (now, or earlier under the step's key)."""
    JIRA_TRANSITION_FAILED = "JIRA_TRANSITION_FAILED"
    """Jira refused the transition (the target unreachable names the available ones) or could
    not be reached; ``retryable`` says which."""

    STEP: ClassVar[frozenset[AuditEvent]]
    """Events about one step (their entity is the ``execution_step``); named
    ``WORKFLOW_EXECUTION_STEP_*``. The other engine events are about the execution."""


AuditEvent.STEP = frozenset(
    event for event in AuditEvent if event.startswith("WORKFLOW_EXECUTION_STEP_")
)


class SkipReason(StrEnum):
    """Why a step (or an attempt of it) was skipped; stored in the audit data as ``reason``."""

    CONDITION_FALSE = "condition_false"
    ALREADY_COMPLETED = "already_completed"
    ALREADY_APPLIED_REMOTE = "already_applied_remote"
    OPERATOR_SKIP = "operator_skip"


class LateEventReason(StrEnum):
    """Why an event was reported (``WORKFLOW_EXECUTION_PROCESS_SKIPPED``) instead of applied."""

    EXECUTION_TERMINAL = "execution_terminal"
    """The execution had already ended."""
    STALE_EVENT = "stale_event"
    """The step had moved on (another attempt, or an operator) before the event arrived."""
    LATE_RESULT = "late_result"
    """A worker's result arrived after its lease was taken over or the execution canceled."""
