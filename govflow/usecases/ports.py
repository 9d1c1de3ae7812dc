"""The ports the engine's use cases talk to; adapters implement them.

Values crossing the port are frozen msgspec Structs; database rows never leave the adapters.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import Any, Protocol
from uuid import UUID

import msgspec

from govflow.core.spec import WorkflowSpec
from govflow.usecases.audit import AuditEntry


class ClaimedStep(msgspec.Struct, frozen=True, kw_only=True):
    """A step this worker holds: its lease is valid while ``fencing_token`` is current."""

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
    queue_lag_seconds: float = 0.0


class ExecutionContext(msgspec.Struct, frozen=True, kw_only=True):
    """What templates see of an execution: its inputs and the earlier steps' results."""

    execution_id: UUID
    workflow_name: str
    inputs: Mapping[str, Any]
    steps: Mapping[str, Mapping[str, Any]]


class StepFinish(msgspec.Struct, frozen=True, kw_only=True):
    """How an attempt ends, as the engine decided; carried out in one transaction.

    :ivar step_status: the step's new status.
    :ivar execution_status: the execution's new status, or None to keep it.
    :ivar retry_in: with ``PENDING``: the delay before the next attempt may be claimed.
    :ivar claim_next: claim the next step for this worker in the same transaction.
    :ivar release_next: make the next step claimable by any worker (and return its id).
    """

    step_status: str
    execution_status: str | None = None
    outcome: str
    output: Mapping[str, Any] | None = None
    error: Mapping[str, Any] | None = None
    retry_in: timedelta | None = None
    claim_next: bool = False
    release_next: bool = False
    human_task: Mapping[str, Any] | None = None
    wait_reason: str | None = None
    audit: Sequence[AuditEntry] = ()


class FinishResult(msgspec.Struct, frozen=True, kw_only=True):
    """What the finish statement did."""

    applied: bool
    """False when the fencing token was stale: another worker or a recovery owns the step."""
    execution_status: str | None = None
    next_claim: ClaimedStep | None = None
    released_step_id: UUID | None = None


class ExpiredStep(msgspec.Struct, frozen=True, kw_only=True):
    """A step whose worker stopped renewing its lease; the recovery holds it now."""

    claim: ClaimedStep
    execution_status: str
    attempt_started: bool
    idempotency: str | None
    params: Mapping[str, Any] | None


class StepStore(Protocol):
    """Claims, finishes and recovers steps; every write is guarded by status and token."""

    async def claim(
        self, step_id: UUID, worker: str, lease: timedelta
    ) -> tuple[ClaimedStep, ExecutionContext] | None:
        """Claim a runnable step; with it, what its templates see."""
        ...

    async def mark_attempt_started(
        self, claim: ClaimedStep, idempotency: str, params: Mapping[str, Any]
    ) -> bool: ...

    async def extend_lease(self, claim: ClaimedStep, lease: timedelta) -> bool: ...

    async def finish(
        self, claim: ClaimedStep, finish: StepFinish, worker: str, lease: timedelta
    ) -> FinishResult: ...

    async def record_audit(self, entries: Sequence[AuditEntry]) -> None: ...

    async def take_expired(
        self, worker: str, lease: timedelta, limit: int
    ) -> list[ExpiredStep]: ...

    async def due_unclaimed(self, resend_after: timedelta, limit: int) -> list[UUID]: ...


class SpecSource(Protocol):
    """The immutable spec of a workflow version."""

    async def spec(self, version_id: UUID) -> WorkflowSpec: ...


class StepQueue(Protocol):
    """Wakes workers for runnable steps; a lost or repeated wake-up is harmless."""

    async def wake(self, step_ids: Sequence[UUID]) -> None: ...
