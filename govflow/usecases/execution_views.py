"""What the execution endpoints answer: executions, their steps and attempts, queue state."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

import msgspec

from govflow.core.statuses import AttemptOutcome, ExecutionStatus, StepStatus
from govflow.usecases.errors import InvalidInputError


class ExecutionFilter(msgspec.Struct, frozen=True, kw_only=True):
    """Filters of the execution list (``created_from``/``created_to`` bound ``created_at``)."""

    status: ExecutionStatus | None = None
    workflow_id: UUID | None = None
    workflow: str | None = None
    department_id: UUID | None = None
    created_from: datetime | None = None
    created_to: datetime | None = None

    def __post_init__(self) -> None:
        if self.created_from and self.created_to and self.created_from > self.created_to:
            raise InvalidInputError([("query.created_from", "must not be after created_to")])


class ExecutionSummary(msgspec.Struct, frozen=True, kw_only=True):
    """One row of the execution list."""

    id: UUID
    workflow_id: UUID
    workflow: str
    workflow_version: int
    department_id: UUID | None
    status: ExecutionStatus
    idempotency_key: str | None
    created_by: UUID | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


class StepView(msgspec.Struct, frozen=True, kw_only=True):
    """One step of an execution."""

    id: UUID
    position: int
    step_key: str
    action: str
    status: StepStatus
    attempt: int
    max_attempts: int
    output: Any | None
    error: Any | None
    next_attempt_at: datetime | None
    started_at: datetime | None
    finished_at: datetime | None
    wait_reason: str | None
    progress: Any | None = None
    """What the action last reported with ``ctx.heartbeat(progress)``."""
    progress_at: datetime | None = None
    child_execution_id: UUID | None = None
    """The child execution a ``workflow`` step started (``None``: none)."""
    due_at: datetime | None = None
    """A ``wait`` step: when its timer is (or was) due (``None``: not a timer)."""


class ParentLink(msgspec.Struct, frozen=True, kw_only=True):
    """The execution and the ``workflow`` step that started a child execution."""

    execution_id: UUID
    step_id: UUID
    step_key: str


class ExecutionView(msgspec.Struct, frozen=True, kw_only=True):
    """An execution with its inputs, error and steps."""

    id: UUID
    workflow_id: UUID
    workflow: str
    workflow_version: int
    department_id: UUID | None
    status: ExecutionStatus
    inputs: dict[str, Any]
    error: Any | None
    idempotency_key: str | None
    created_by: UUID | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    steps: list[StepView]
    vars: dict[str, Any] = msgspec.field(default_factory=dict)
    """The workflow's variables, as evaluated when the execution started."""
    outputs: dict[str, Any] | None = None
    """The workflow's outputs, once the execution completed (``None`` before, or without
    ``outputs:``)."""
    parent: ParentLink | None = None
    """The execution and step that started this one (``None``: a top-level execution)."""


class AttemptView(msgspec.Struct, frozen=True, kw_only=True):
    """One attempt of a step (history is never rewritten)."""

    attempt: int
    fencing_token: int
    worker: str | None
    started_at: datetime
    finished_at: datetime | None
    outcome: AttemptOutcome | None
    output: Any | None
    error: Any | None


class StepDetail(msgspec.Struct, frozen=True, kw_only=True):
    """A step with every attempt it had."""

    step: StepView
    attempts: list[AttemptView]


class JobView(msgspec.Struct, frozen=True, kw_only=True):
    """Where an execution stands in the queue.

    ``state``: ``pending`` (runnable, a wake-up is or will be sent), ``scheduled`` (a retry waits
    for ``next_attempt_at``), ``running`` (a worker holds the lease), ``waiting`` (on a human),
    ``needs_attention`` (an operator must resolve a step) or ``finished``.
    """

    execution_id: UUID
    execution_status: ExecutionStatus
    state: str
    queue: str
    step_id: UUID | None
    step_key: str | None
    step_status: StepStatus | None
    attempt: int | None
    max_attempts: int | None
    next_attempt_at: datetime | None
    enqueued_at: datetime | None
    lease_owner: str | None
    lease_expires_at: datetime | None
    lease_expired: bool
    updated_at: datetime | None


class StartedView(msgspec.Struct, frozen=True, kw_only=True):
    """The answer to a start: ``created`` is false when the idempotency key was seen before."""

    execution_id: UUID
    workflow_id: UUID
    status: ExecutionStatus
    created: bool
    idempotency_key: str | None


class RunnableSteps(msgspec.Struct, frozen=True, kw_only=True):
    """An execution's status and the steps a wake-up may start now."""

    execution_status: ExecutionStatus
    step_ids: list[UUID]


class RecoveryView(msgspec.Struct, frozen=True, kw_only=True):
    """What one sweep did."""

    recovered: int
    needs_attention: int
    completed_by_lookup: int
    failed: int
    resent: int
