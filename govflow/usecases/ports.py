"""The ports the engine's use cases talk to; adapters implement them.

Values crossing the port are frozen msgspec Structs; database rows never leave the adapters.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import Any, Protocol
from uuid import UUID

import msgspec

from govflow.core.audit_events import AuditEvent
from govflow.core.idempotency import Idempotency
from govflow.core.spec import WorkflowSpec
from govflow.core.statuses import AttemptOutcome, ExecutionStatus, StepStatus
from govflow.usecases.audit import AuditEntry


class ClaimAudit(msgspec.Struct, frozen=True, kw_only=True):
    """An audit record a claim decision asks for. The statement that claims fills in whose it
    is (the execution or the claimed step) and adds ``execution_id``, ``step`` and ``attempt``
    to ``data``: they are known only once the step is claimed."""

    action: AuditEvent
    entity_type: str
    reason: str | None = None
    data: Mapping[str, Any] = msgspec.field(default_factory=dict)


class ClaimRule(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """The engine's decision for claiming a ``PENDING`` step of an execution found in
    ``execution_status``: the step becomes ``step_status``, the execution ``execution_becomes``
    (``None``: unchanged), and these audit records are written. Sent with every claim: a
    default is left out (the claim statement reads a missing ``handlers`` as false)."""

    execution_status: ExecutionStatus
    step_status: StepStatus
    execution_becomes: ExecutionStatus | None
    audit: tuple[ClaimAudit, ...]
    handlers: bool = False
    """The rule claims failure handlers only (the others: the execution's other steps only)."""


class BranchRule(msgspec.Struct, frozen=True, kw_only=True):
    """The engine's decision (:func:`govflow.core.engine.decide_branches`) for a graph's
    execution found in ``execution_status`` after a step of it suspended or settled, when
    another step of the graph is ``runnable`` (or running) or not, and one ``waiting`` or not:
    the execution becomes ``execution_becomes`` and these records (about the execution) are
    written. Only the situations that change the execution have a rule."""

    execution_status: ExecutionStatus
    runnable: bool
    waiting: bool
    execution_becomes: ExecutionStatus
    audit: tuple[ClaimAudit, ...]


class ClaimOrder(msgspec.Struct, frozen=True, kw_only=True):
    """A claim as the engine decided it, one rule per execution status a step may be claimed
    in. The worker asks for a step by id only; the claim statement finds the execution's status
    under its guards and carries out that status's rule (no rule: no claim)."""

    rules: tuple[ClaimRule, ...]

    def rule(self, execution_status: ExecutionStatus) -> ClaimRule | None:
        """The rule for an execution found in ``execution_status``."""
        for rule in self.rules:
            if rule.execution_status is execution_status:
                return rule
        return None


class ClaimedStep(msgspec.Struct, frozen=True, kw_only=True):
    """A step this worker holds: its lease is valid while ``fencing_token`` is current.

    :ivar execution_status: the execution's status as the claim found it, before the claim's own
        change (a claim by a recovery: as it is).
    """

    step_id: UUID
    execution_id: UUID
    workflow_version_id: UUID
    department_id: UUID | None
    position: int
    step_key: str
    action: str
    attempt: int
    fencing_token: int
    idempotency_key: str
    execution_status: ExecutionStatus
    queue_lag_seconds: float = 0.0


class ExecutionContext(msgspec.Struct, frozen=True, kw_only=True):
    """What templates see of an execution: its inputs, its variables and the earlier steps'
    results."""

    execution_id: UUID
    workflow_name: str
    inputs: Mapping[str, Any]
    steps: Mapping[str, Mapping[str, Any]]
    variables: Mapping[str, Any] = msgspec.field(default_factory=dict)
    error: Mapping[str, Any] | None = None
    """The execution's error (a failed execution's, read by its failure handlers)."""
    parent_execution_id: UUID | None = None
    """The execution that started this one with a ``workflow`` step, if any: only then does the
    end of this execution have a parent to resume."""


class StepFinish(msgspec.Struct, frozen=True, kw_only=True):
    """How an attempt ends, as the engine decided; carried out in one transaction.

    :ivar step_status: the step's new status.
    :ivar execution_from: the execution's status the decision was made on: the statement changes
        the execution, and goes on with the next step, only while it is still in it.
    :ivar execution_status: the execution's new status, or None to keep it.
    :ivar retry_in: with ``PENDING``: the delay before the next attempt may be claimed.
    :ivar claim_next: claim the next step for this worker in the same transaction, as this
        rule (decided for the status the execution is left in) says.
    :ivar release_next: make the next step claimable by any worker (and return its id).
    :ivar release_dependents: a step of a graph settled: count it down on the steps at these
        positions (those that need it) and make claimable, and return, those it was the last
        need of.
    :ivar cancel_from: a step of a graph fails its execution: cancel its other steps in these
        statuses (with ``cancel_reason``).
    :ivar start_handlers_at: the execution fails: make its first failure handler, at this
        position, claimable by any worker (and return its id).
    :ivar follow_branches: a step of a graph suspended or settled: the execution's status
        follows its open steps as these rules say, for what the statement finds.
    """

    step_status: StepStatus
    execution_from: ExecutionStatus
    execution_status: ExecutionStatus | None = None
    outcome: AttemptOutcome
    output: Mapping[str, Any] | None = None
    error: Mapping[str, Any] | None = None
    retry_in: timedelta | None = None
    claim_next: ClaimRule | None = None
    release_next: bool = False
    human_task: Mapping[str, Any] | None = None
    wait_reason: str | None = None
    audit: Sequence[AuditEntry] = ()
    release_dependents: tuple[int, ...] | None = None
    cancel_from: frozenset[StepStatus] | None = None
    cancel_reason: str | None = None
    start_handlers_at: int | None = None
    follow_branches: tuple[BranchRule, ...] | None = None


class FinishResult(msgspec.Struct, frozen=True, kw_only=True):
    """What the finish statement did."""

    applied: bool
    """False when the fencing token was stale: another worker or a recovery owns the step."""
    execution_status: ExecutionStatus | None = None
    """The execution's status after the statement (None: not found active, left untouched)."""
    next_claim: ClaimedStep | None = None
    released_step_id: UUID | None = None
    released_step_ids: tuple[UUID, ...] = ()
    """The steps of a graph the finish made claimable (their last need settled)."""


class ExpiredStep(msgspec.Struct, frozen=True, kw_only=True):
    """A step whose worker stopped renewing its lease; the recovery holds it now."""

    claim: ClaimedStep
    attempt_started: bool
    idempotency: Idempotency | None
    params: Mapping[str, Any] | None


class StepStore(Protocol):
    """Claims, finishes and recovers steps; every write is guarded by status and token."""

    async def claim(
        self, step_id: UUID, worker: str, lease: timedelta, order: ClaimOrder
    ) -> tuple[ClaimedStep, ExecutionContext] | None:
        """Carry out ``order`` on a runnable step (``PENDING``, due, its execution in a status
        the order has a rule for); with the claimed step, what its templates see. ``None``: the
        guards found nothing to claim."""
        ...

    async def mark_attempt_started(
        self, claim: ClaimedStep, idempotency: Idempotency, params: Mapping[str, Any]
    ) -> bool:
        """Record that the plugin is about to be called; False: the token is no longer current."""
        ...

    async def extend_lease(self, claim: ClaimedStep, lease: timedelta) -> bool:
        """Renew the lease; False: the token is no longer current."""
        ...

    async def finish(
        self, claim: ClaimedStep, finish: StepFinish, worker: str, lease: timedelta
    ) -> FinishResult:
        """Carry out an attempt's decision, if ``claim``'s token is still current."""
        ...

    async def record_audit(self, entries: Sequence[AuditEntry]) -> None: ...

    async def take_expired(
        self, worker: str, lease: timedelta, limit: int, department: UUID | None = None
    ) -> list[ExpiredStep]:
        """Take over steps whose lease expired (a new fencing token each), oldest first; only
        those of ``department``'s executions when one is given."""
        ...

    async def due_unclaimed(
        self, resend_after: timedelta, limit: int, department: UUID | None = None
    ) -> list[UUID]:
        """Runnable steps nobody claimed within ``resend_after`` of their last wake-up (marked
        woken now); only those of ``department``'s executions when one is given."""
        ...


class SpecSource(Protocol):
    """The immutable spec of a workflow version."""

    async def spec(self, version_id: UUID) -> WorkflowSpec: ...


class StepQueue(Protocol):
    """Wakes workers for runnable steps; a lost or repeated wake-up is harmless."""

    async def wake(self, step_ids: Sequence[UUID]) -> None: ...
