"""The statuses of executions, steps and human tasks, and the outcomes of attempts and recoveries.

This module is the one place these words are defined. Values are the upper-case names (the
recovery outcomes, which are metric labels, are lower case): they are stored as-is in PostgreSQL
text columns, which migration ``0010_status_checks.sql`` keeps to these values with CHECK
constraints. Each enum carries frozensets that name the groups other code asks about
(``ExecutionStatus.TERMINAL``, ``StepStatus.DONE`` ...), so no caller spells a status list out by
hand. SQL that names a status spells the value out; a test parses every SQL text of the package
and the migrations and fails on a word that is not a member of its column's enum, and on a member
the CHECK constraint does not allow. The transitions between statuses are tables in
:mod:`govflow.core.machines`; ``docs/engine.md`` draws them and says how to add a status.
"""

from __future__ import annotations

from enum import StrEnum
from typing import ClassVar


class ExecutionStatus(StrEnum):
    """Where a workflow execution stands."""

    PENDING = "PENDING"
    """Created, no step claimed yet."""
    RUNNING = "RUNNING"
    """Steps are being run (or a retry is scheduled)."""
    WAITING = "WAITING"
    """A step waits on a human task."""
    COMPLETED = "COMPLETED"
    """Every step completed or was skipped."""
    FAILED = "FAILED"
    """A step failed for good; an operator may retry from the failed step."""
    CANCELED = "CANCELED"
    """Canceled by an operator; never leaves this status."""
    NEEDS_ATTENTION = "NEEDS_ATTENTION"
    """A step may have had an effect the engine must not repeat on its own: an operator decides."""

    ACTIVE: ClassVar[frozenset[ExecutionStatus]]
    """Statuses in which the engine itself moves the execution forward."""
    TERMINAL: ClassVar[frozenset[ExecutionStatus]]
    """Statuses the engine never leaves on its own (late events are reported, not applied)."""
    OPERATOR_ACTIONABLE: ClassVar[frozenset[ExecutionStatus]]
    """Statuses an operator can resolve (retry, skip, mark done)."""
    RUNNABLE: ClassVar[frozenset[ExecutionStatus]]
    """Statuses in which a worker may claim one of the execution's steps."""
    SETTLED: ClassVar[frozenset[ExecutionStatus]]
    """Statuses in which the execution waits for nobody but a person: terminal, suspended on a
    human task, or held for an operator. Someone waiting for it to finish can stop there."""


ExecutionStatus.ACTIVE = frozenset(
    {ExecutionStatus.PENDING, ExecutionStatus.RUNNING, ExecutionStatus.WAITING}
)
ExecutionStatus.TERMINAL = frozenset(
    {ExecutionStatus.COMPLETED, ExecutionStatus.FAILED, ExecutionStatus.CANCELED}
)
ExecutionStatus.OPERATOR_ACTIONABLE = frozenset(
    {ExecutionStatus.FAILED, ExecutionStatus.NEEDS_ATTENTION}
)
ExecutionStatus.RUNNABLE = frozenset({ExecutionStatus.PENDING, ExecutionStatus.RUNNING})
ExecutionStatus.SETTLED = ExecutionStatus.TERMINAL | {
    ExecutionStatus.WAITING,
    ExecutionStatus.NEEDS_ATTENTION,
}


class StepStatus(StrEnum):
    """Where one step of an execution stands."""

    PENDING = "PENDING"
    """Not claimed yet, or waiting for its ``next_attempt_at``."""
    RUNNING = "RUNNING"
    """Claimed by a worker holding a lease."""
    WAITING = "WAITING"
    """Suspended on a human task."""
    COMPLETED = "COMPLETED"
    """Done, output recorded."""
    FAILED = "FAILED"
    """Business error or attempts exhausted."""
    SKIPPED = "SKIPPED"
    """Condition false, or skipped by an operator."""
    CANCELED = "CANCELED"
    """The execution was canceled while this step was not finished."""
    NEEDS_ATTENTION = "NEEDS_ATTENTION"
    """An interrupted attempt may have had an effect: an operator decides."""

    ACTIVE: ClassVar[frozenset[StepStatus]]
    """Statuses in which the engine itself moves the step forward."""
    DONE: ClassVar[frozenset[StepStatus]]
    """Statuses that let the execution go on to the next step."""
    TERMINAL: ClassVar[frozenset[StepStatus]]
    """Statuses the engine never leaves on its own."""
    OPERATOR_ACTIONABLE: ClassVar[frozenset[StepStatus]]
    """Statuses an operator can resolve."""


StepStatus.ACTIVE = frozenset({StepStatus.PENDING, StepStatus.RUNNING, StepStatus.WAITING})
StepStatus.DONE = frozenset({StepStatus.COMPLETED, StepStatus.SKIPPED})
StepStatus.TERMINAL = frozenset(
    {StepStatus.COMPLETED, StepStatus.FAILED, StepStatus.SKIPPED, StepStatus.CANCELED}
)
StepStatus.OPERATOR_ACTIONABLE = frozenset({StepStatus.FAILED, StepStatus.NEEDS_ATTENTION})


class HumanTaskStatus(StrEnum):
    """Where a human task (a ``manual`` step's, or a standalone one) stands.

    The lifecycle's transitions are the table in :mod:`govflow.core.tasks.table`. A task has no
    ``EXPIRED`` status: a missed deadline marks it overdue and may escalate it, and it goes on.
    """

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

    ACTIVE: ClassVar[frozenset[HumanTaskStatus]]
    """Statuses in which someone still has to act before the task is decided."""
    TERMINAL: ClassVar[frozenset[HumanTaskStatus]]
    """Statuses in which the task is over (only reactivate or delete may follow)."""
    LISTED: ClassVar[frozenset[HumanTaskStatus]]
    """Statuses lists show (every status but ``DELETED``)."""


HumanTaskStatus.ACTIVE = frozenset(
    {
        HumanTaskStatus.OPEN,
        HumanTaskStatus.ASSIGNED,
        HumanTaskStatus.IN_PROGRESS,
        HumanTaskStatus.SUBMITTED,
        HumanTaskStatus.REJECTED,
    }
)
HumanTaskStatus.TERMINAL = frozenset(
    {HumanTaskStatus.CLOSED, HumanTaskStatus.CANCELED, HumanTaskStatus.DELETED}
)
HumanTaskStatus.LISTED = frozenset(HumanTaskStatus) - {HumanTaskStatus.DELETED}


class AttemptOutcome(StrEnum):
    """How one attempt of a step ended, as recorded in ``execution_step_attempts.outcome``.

    The column is ``NULL`` while the attempt runs.
    """

    COMPLETED = "COMPLETED"
    """The action returned its output (or a lookup found the effect already applied)."""
    FAILED = "FAILED"
    """A business error, or the step's inputs could not be evaluated: not retried."""
    SKIPPED = "SKIPPED"
    """The step's ``if:`` was false; the action was not called."""
    RETRY = "RETRY"
    """A technical failure (transport error, timeout, unexpected exception): retried per policy."""
    SUSPENDED = "SUSPENDED"
    """The action suspended the step on an external event (a human task)."""
    RECOVERED = "RECOVERED"
    """The worker stopped renewing its lease; the sweeper decided what happens to the step."""
    LOST = "LOST"
    """The lease was gone before the action ran: nothing happened and nothing is recorded."""
    HANDED_BACK = "HANDED_BACK"
    """The worker lacked the step's action: the step went back, unstarted, to the fleet."""


class RecoveryOutcome(StrEnum):
    """What the sweeper did with one step whose lease expired (a metric label, a report field)."""

    RECOVERED = "recovered"
    """The step goes back to ``PENDING`` for another attempt."""
    NEEDS_ATTENTION = "needs_attention"
    """The attempt may have had an effect the strategy forbids repeating: an operator decides."""
    COMPLETED_BY_LOOKUP = "completed_by_lookup"
    """The plugin's lookup found the effect already applied: the step completed."""
    FAILED = "failed"
    """No attempt is left: the step and the execution failed."""
    LOOKUP_FAILED = "lookup_failed"
    """The plugin's lookup could not answer; the next sweep tries again."""
