"""In-memory fakes of the engine's ports, for use-case tests without PostgreSQL.

One :class:`FakeDatabase` holds executions, steps, attempts, human tasks and audit records;
:class:`FakeStepStore` and :class:`FakeExecutionControl` work on it the way the PostgreSQL
adapters work on their tables, guards included: a claim takes only a ``PENDING``, due step of
an execution its claim order has a rule for; a finish, a lease renewal or an attempt start
applies only with the step's current fencing token while it is ``RUNNING``; an execution changes
only from the status its decision was made on; an operator change whose step or execution moved
on fails whole, nothing written. A use case that skipped a guard would be caught here as it
would be by the database. (cosmicpython's ``FakeRepository``/``FakeUnitOfWork`` are the model.)
"""

from __future__ import annotations

import contextlib
import copy
import uuid
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from govflow.core.idempotency import Idempotency
from govflow.core.spec import WorkflowSpec
from govflow.core.statuses import ExecutionStatus, HumanTaskStatus, StepStatus
from govflow.usecases.audit import AuditEntry
from govflow.usecases.errors import ConflictError
from govflow.usecases.operate import ExecutionChange, ExecutionSnapshot, StepSnapshot
from govflow.usecases.ports import (
    ClaimedStep,
    ClaimOrder,
    ClaimRule,
    ExecutionContext,
    ExpiredStep,
    FinishResult,
    StepFinish,
)
from govflow.usecases.translate import EXECUTION

START = datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)


@dataclass
class Execution:
    id: UUID
    workflow_name: str
    version_id: UUID
    department_id: UUID | None
    inputs: dict[str, Any]
    status: ExecutionStatus = ExecutionStatus.PENDING
    error: Mapping[str, Any] | None = None


@dataclass
class Step:
    id: UUID
    execution_id: UUID
    position: int
    key: str
    action: str
    status: StepStatus = StepStatus.PENDING
    attempt: int = 0
    token: int = 0
    next_attempt_at: datetime | None = None
    enqueued_at: datetime | None = None
    lease_owner: str | None = None
    lease_expires_at: datetime | None = None
    attempt_started: bool = False
    idempotency: Idempotency | None = None
    params: Mapping[str, Any] | None = None
    output: Mapping[str, Any] | None = None
    error: Mapping[str, Any] | None = None
    wait_reason: str | None = None


@dataclass
class Attempt:
    step_id: UUID
    attempt: int
    token: int
    worker: str
    outcome: str | None = None
    finished: bool = False


@dataclass
class FakeDatabase:
    """The tables, and the database's clock (the tests move it)."""

    now: datetime = START
    executions: dict[UUID, Execution] = field(default_factory=dict)
    steps: dict[UUID, Step] = field(default_factory=dict)
    attempts: list[Attempt] = field(default_factory=list)
    human_tasks: dict[UUID, dict[str, Any]] = field(default_factory=dict)
    audit: list[AuditEntry] = field(default_factory=list)

    def start(
        self,
        spec: WorkflowSpec,
        version_id: UUID,
        inputs: Mapping[str, Any] | None = None,
        department_id: UUID | None = None,
    ) -> tuple[UUID, UUID]:
        """A new execution of ``spec``, as ``start_execution`` stores it: its id and the id of
        its first step (due now)."""
        execution = Execution(
            uuid.uuid4(), spec.name, version_id, department_id, dict(inputs or {})
        )
        self.executions[execution.id] = execution
        first = None
        for position, step_spec in enumerate(spec.steps):
            step = Step(uuid.uuid4(), execution.id, position, step_spec.id, step_spec.action)
            if position == 0:
                step.next_attempt_at = self.now
                first = step.id
            self.steps[step.id] = step
        assert first is not None
        return execution.id, first

    def steps_of(self, execution_id: UUID) -> list[Step]:
        return sorted(
            (s for s in self.steps.values() if s.execution_id == execution_id),
            key=lambda s: s.position,
        )

    def step_at(self, execution_id: UUID, position: int) -> Step | None:
        return next((s for s in self.steps_of(execution_id) if s.position == position), None)

    def actions(self, execution_id: UUID | None = None) -> list[str]:
        """The audit actions written, in order (those about one execution, when given)."""
        return [
            str(e.action)
            for e in self.audit
            if execution_id is None or e.metadata.get("execution_id") == str(execution_id)
        ]


def _claim_audit(
    db: FakeDatabase, rule: ClaimRule, step: Step, execution: Execution, *, started: bool
) -> list[AuditEntry]:
    entries = []
    for record in rule.audit:
        if record.entity_type == EXECUTION and not started:
            continue  # records about the execution are written with its change
        entries.append(
            AuditEntry(
                action=record.action,
                entity_type=record.entity_type,
                entity_id=str(execution.id if record.entity_type == EXECUTION else step.id),
                department_id=execution.department_id,
                reason=record.reason,
                metadata={
                    **record.data,
                    "execution_id": str(execution.id),
                    "step": step.key,
                    "attempt": step.attempt,
                },
            )
        )
    return entries


def _take(db: FakeDatabase, step: Step, rule: ClaimRule, worker: str, lease: timedelta) -> None:
    """A claim's changes to the step (the new attempt, the token, the lease)."""
    step.status = rule.step_status
    step.attempt += 1
    step.token += 1
    step.lease_owner = worker
    step.lease_expires_at = db.now + lease
    step.attempt_started = False
    step.next_attempt_at = None
    step.enqueued_at = None
    db.attempts.append(Attempt(step.id, step.attempt, step.token, worker))


def _claimed(step: Step, execution: Execution, found: ExecutionStatus) -> ClaimedStep:
    return ClaimedStep(
        step_id=step.id,
        execution_id=execution.id,
        workflow_version_id=execution.version_id,
        department_id=execution.department_id,
        position=step.position,
        step_key=step.key,
        action=step.action,
        attempt=step.attempt,
        fencing_token=step.token,
        idempotency_key=f"{execution.id}:{step.key}",
        execution_status=found,
    )


class FakeStepStore:
    """The ``StepStore`` port over a :class:`FakeDatabase`."""

    def __init__(self, db: FakeDatabase) -> None:
        self.db = db
        self.finishes: list[StepFinish] = []

    def _held(self, claim: ClaimedStep) -> Step | None:
        step = self.db.steps[claim.step_id]
        if step.token != claim.fencing_token or step.status is not StepStatus.RUNNING:
            return None
        return step

    async def claim(
        self, step_id: UUID, worker: str, lease: timedelta, order: ClaimOrder
    ) -> tuple[ClaimedStep, ExecutionContext] | None:
        db = self.db
        step = db.steps.get(step_id)
        if step is None or step.status is not StepStatus.PENDING:
            return None
        if step.next_attempt_at is None or step.next_attempt_at > db.now:
            return None
        execution = db.executions[step.execution_id]
        found = execution.status
        rule = order.rule(found)
        if rule is None:
            return None
        _take(db, step, rule, worker, lease)
        started = rule.execution_becomes is not None
        if started:
            assert rule.execution_becomes is not None
            execution.status = rule.execution_becomes
        db.audit.extend(_claim_audit(db, rule, step, execution, started=started))
        earlier = {
            s.key: {"output": s.output, "status": s.status.value}
            for s in db.steps_of(execution.id)
            if s.position < step.position
        }
        context = ExecutionContext(
            execution_id=execution.id,
            workflow_name=execution.workflow_name,
            inputs=execution.inputs,
            steps=earlier,
        )
        return _claimed(step, execution, found), context

    async def mark_attempt_started(
        self, claim: ClaimedStep, idempotency: Idempotency, params: Mapping[str, Any]
    ) -> bool:
        step = self._held(claim)
        if step is None:
            return False
        step.attempt_started = True
        step.idempotency = idempotency
        step.params = dict(params)
        return True

    async def extend_lease(self, claim: ClaimedStep, lease: timedelta) -> bool:
        step = self._held(claim)
        if step is None:
            return False
        step.lease_expires_at = self.db.now + lease
        return True

    async def finish(
        self, claim: ClaimedStep, finish: StepFinish, worker: str, lease: timedelta
    ) -> FinishResult:
        self.finishes.append(finish)
        db = self.db
        step = self._held(claim)
        if step is None:
            return FinishResult(applied=False)
        execution = db.executions[claim.execution_id]
        step.status = finish.step_status
        if finish.output is not None:
            step.output = finish.output
        step.error = finish.error
        step.next_attempt_at = None
        if finish.step_status is StepStatus.PENDING:
            step.next_attempt_at = db.now + (finish.retry_in or timedelta(0))
        step.enqueued_at = None
        step.wait_reason = finish.wait_reason
        step.lease_owner = step.lease_expires_at = None
        for attempt in db.attempts:
            if attempt.step_id == step.id and attempt.token == claim.fencing_token:
                attempt.outcome, attempt.finished = finish.outcome.value, True
        status: ExecutionStatus | None = None
        if execution.status is finish.execution_from:
            if finish.execution_status is not None:
                execution.status = finish.execution_status
                if finish.execution_status is ExecutionStatus.FAILED and finish.error:
                    execution.error = finish.error
            status = execution.status
        if finish.human_task is not None and status is not None:
            db.human_tasks.setdefault(
                step.id, {**finish.human_task, "status": HumanTaskStatus.OPEN}
            )
        db.audit.extend(finish.audit)
        following = db.step_at(execution.id, claim.position + 1)
        next_claim = released = None
        if following is not None and following.status is StepStatus.PENDING:
            rule = finish.claim_next
            if rule is not None and status is rule.execution_status:
                _take(db, following, rule, worker, lease)
                db.audit.extend(_claim_audit(db, rule, following, execution, started=False))
                next_claim = _claimed(following, execution, rule.execution_status)
            elif finish.release_next and status is (
                finish.execution_status or finish.execution_from
            ):
                following.next_attempt_at = following.enqueued_at = db.now
                released = following.id
        return FinishResult(
            applied=True, execution_status=status, next_claim=next_claim, released_step_id=released
        )

    async def record_audit(self, entries: Sequence[AuditEntry]) -> None:
        self.db.audit.extend(entries)

    async def take_expired(
        self, worker: str, lease: timedelta, limit: int, department: UUID | None = None
    ) -> list[ExpiredStep]:
        db = self.db
        expired = sorted(
            (
                s
                for s in db.steps.values()
                if s.status is StepStatus.RUNNING
                and s.lease_expires_at is not None
                and s.lease_expires_at < db.now
                and (
                    department is None or db.executions[s.execution_id].department_id == department
                )
            ),
            key=lambda s: s.lease_expires_at or db.now,
        )[:limit]
        taken = []
        for step in expired:
            step.token += 1
            step.lease_owner = worker
            step.lease_expires_at = db.now + lease
            execution = db.executions[step.execution_id]
            taken.append(
                ExpiredStep(
                    claim=_claimed(step, execution, execution.status),
                    attempt_started=step.attempt_started,
                    idempotency=step.idempotency,
                    params=step.params,
                )
            )
        return taken

    async def due_unclaimed(
        self, resend_after: timedelta, limit: int, department: UUID | None = None
    ) -> list[UUID]:
        db = self.db
        due = sorted(
            (
                s
                for s in db.steps.values()
                if s.status is StepStatus.PENDING
                and s.next_attempt_at is not None
                and s.next_attempt_at <= db.now
                and (s.enqueued_at is None or s.enqueued_at < db.now - resend_after)
                and db.executions[s.execution_id].status in ExecutionStatus.RUNNABLE
                and (
                    department is None or db.executions[s.execution_id].department_id == department
                )
            ),
            key=lambda s: s.next_attempt_at or db.now,
        )[:limit]
        for step in due:
            step.enqueued_at = db.now
        return [step.id for step in due]


class _Locked:
    def __init__(self, db: FakeDatabase, snapshot: ExecutionSnapshot) -> None:
        self._db = db
        self.snapshot = snapshot

    async def apply(self, change: ExecutionChange) -> None:
        db = self._db
        staged = copy.deepcopy((db.steps, db.executions, db.human_tasks))
        steps, executions, tasks = staged
        for step_change in change.steps:
            step = steps[step_change.step_id]
            if step.status is not step_change.from_status:
                raise ConflictError(f"step {step.key} is no longer {step_change.from_status}")
            step.status = step_change.status
            if step_change.output is not None:
                step.output = step_change.output
            if step_change.reset_attempts:
                step.attempt = 0
            if step_change.runnable_now:
                step.next_attempt_at = step.enqueued_at = db.now
            if step.status is StepStatus.PENDING:
                step.error = None
            step.token += 1
            step.lease_owner = step.lease_expires_at = None
            task = tasks.get(step.id)
            if (
                step_change.cancel_human_task
                and task
                and task["status"] not in HumanTaskStatus.TERMINAL
            ):
                task["status"] = HumanTaskStatus.CANCELED
        execution = executions[self.snapshot.execution_id]
        if change.execution_status is not None:
            if execution.status is not change.execution_from:
                raise ConflictError(f"the execution is no longer {change.execution_from}")
            execution.status = change.execution_status
        db.steps, db.executions, db.human_tasks = staged
        db.audit.extend(change.audit)


class FakeExecutionControl:
    """The ``ExecutionControl`` port over a :class:`FakeDatabase`: the snapshot is taken, the
    change applied whole or not at all (a failed guard leaves everything as it was)."""

    def __init__(self, db: FakeDatabase) -> None:
        self.db = db

    @contextlib.asynccontextmanager
    async def locked(
        self, execution_id: UUID, department_scope: UUID | None
    ) -> AsyncIterator[_Locked | None]:
        execution = self.db.executions.get(execution_id)
        if execution is None or (
            department_scope is not None and execution.department_id != department_scope
        ):
            yield None
            return
        snapshot = ExecutionSnapshot(
            execution_id=execution.id,
            status=execution.status,
            department_id=execution.department_id,
            steps=[
                StepSnapshot(
                    step_id=s.id,
                    position=s.position,
                    step_key=s.key,
                    status=s.status,
                    attempt=s.attempt,
                    attempt_started=s.attempt_started,
                    idempotency=s.idempotency,
                )
                for s in self.db.steps_of(execution_id)
            ],
        )
        yield _Locked(self.db, snapshot)


class FakeSpecs:
    """The ``SpecSource`` port: specs by version id."""

    def __init__(self) -> None:
        self.specs: dict[UUID, WorkflowSpec] = {}

    def add(self, spec: WorkflowSpec) -> UUID:
        version_id = uuid.uuid4()
        self.specs[version_id] = spec
        return version_id

    async def spec(self, version_id: UUID) -> WorkflowSpec:
        return self.specs[version_id]


class FakeQueue:
    """The ``StepQueue`` port: keeps the wake-ups."""

    def __init__(self) -> None:
        self.woken: list[UUID] = []

    async def wake(self, step_ids: Sequence[UUID]) -> None:
        self.woken.extend(step_ids)
