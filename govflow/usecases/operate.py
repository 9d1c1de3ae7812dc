"""Operator actions on executions: cancel, retry from the failed step, resolve a step that
needs attention. Each is decided by the pure engine, applied in one transaction with the
execution locked, and audited with the actor and the reason. History is never rewritten:
every attempt stays recorded.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Mapping, Sequence
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Protocol
from uuid import UUID

import msgspec

from govflow.core.audit_events import AuditEvent
from govflow.core.engine import (
    Audit,
    CancelHumanTask,
    CancelOpenBranches,
    CancelRequested,
    Command,
    CompleteExecution,
    ContinueWithNextStep,
    Decision,
    Event,
    ExecutionDecision,
    FailExecution,
    FollowBranches,
    OperatorMarkDone,
    OperatorRetry,
    OperatorSkip,
    RecordOutput,
    RecordStepError,
    ReleaseDependents,
    ResetAttempts,
    ScheduleRetry,
    StartFailureHandlers,
    StepState,
    decide,
    decide_branches,
    decide_cancel,
    decide_reopen,
)
from govflow.core.graph import join_released, runnable
from govflow.core.idempotency import Idempotency
from govflow.core.machines import STEP_MACHINE, IllegalTransition, StepEvent, transition
from govflow.core.spec import is_handler_key
from govflow.core.statuses import ExecutionStatus, StepStatus
from govflow.usecases.audit import SYSTEM, Actor, AuditEntry
from govflow.usecases.errors import ConflictError, NotFoundError
from govflow.usecases.ports import StepQueue
from govflow.usecases.translate import EXECUTION, STEP, entity_type, error_payload, jsonable


class StepSnapshot(msgspec.Struct, frozen=True, kw_only=True):
    step_id: UUID
    position: int
    step_key: str
    status: StepStatus
    attempt: int
    attempt_started: bool
    idempotency: Idempotency | None
    continue_on_error: bool = False
    dependents: tuple[int, ...] | None = None
    """A step of a graph: the positions of the steps that need it (``None``: a list's step)."""
    needs_left: int = 0
    """A step of a graph: how many of its needs have not settled yet."""


class ExecutionSnapshot(msgspec.Struct, frozen=True, kw_only=True):
    execution_id: UUID
    status: ExecutionStatus
    department_id: UUID | None
    steps: list[StepSnapshot]


class StepChange(msgspec.Struct, frozen=True, kw_only=True):
    """One step's part of a decision, carried out only while the step is still ``from_status``.

    :ivar runnable_now: claimable from now on, and woken (a retry, or the next step).
    """

    step_id: UUID
    from_status: StepStatus
    status: StepStatus
    output: Mapping[str, Any] | None = None
    error: Mapping[str, Any] | None = None
    """The step's error, when the decision fails it (a rejected human task)."""
    reset_attempts: bool = False
    runnable_now: bool = False
    cancel_human_task: bool = False
    needs_left: int | None = None
    """A step of a graph counted down: the needs it still waits for (``None``: unchanged)."""


class ExecutionChange(msgspec.Struct, frozen=True, kw_only=True):
    """An operator's decision as the port carries it out, in the execution's transaction.

    :ivar execution_status: the execution's new status (``None``: unchanged), applied only while
        it is still ``execution_from``.
    """

    execution_from: ExecutionStatus
    execution_status: ExecutionStatus | None
    steps: tuple[StepChange, ...]
    audit: tuple[AuditEntry, ...]
    error: Mapping[str, Any] | None = None
    """The execution's error, when the decision fails it."""
    runnable_steps: int | None = None
    """A graph's steps runnable or running once the change is made, counted afresh from the
    locked steps (``None``: unchanged)."""
    actor: Actor = SYSTEM
    """Who decided: the audit records of what the port changes beyond ``audit`` (the
    ``HUMAN_TASK_CANCELED`` of a canceled task) name them."""
    reason: str | None = None


class LockedExecution(Protocol):
    snapshot: ExecutionSnapshot

    async def apply(self, change: ExecutionChange) -> None:
        """Carry ``change`` out; ``ConflictError`` (and nothing written) if a guard fails."""
        ...


class ExecutionControl(Protocol):
    def locked(
        self, execution_id: UUID, department_scope: UUID | None
    ) -> contextlib.AbstractAsyncContextManager[LockedExecution | None]: ...


class Resolution(StrEnum):
    RETRY = "retry"
    SKIP = "skip"
    MARK_DONE = "mark_done"


class OperatorResult(msgspec.Struct, frozen=True, kw_only=True):
    execution_id: UUID
    execution_status: ExecutionStatus
    woken: list[UUID] = msgspec.field(default_factory=list)


def handlers_position(snapshot: ExecutionSnapshot) -> int | None:
    """The position of the execution's first failure handler (``None``: it has none)."""
    for step in snapshot.steps:
        if is_handler_key(step.step_key):
            return step.position
    return None


def step_state(snapshot: ExecutionSnapshot, step: StepSnapshot) -> StepState:
    """What the engine decides on for ``step`` of the locked execution."""
    main = sum(1 for s in snapshot.steps if not is_handler_key(s.step_key))
    handler = is_handler_key(step.step_key)
    handlers = main if main < len(snapshot.steps) else None
    return StepState(
        execution_status=snapshot.status,
        step_status=step.status,
        attempt=step.attempt,
        idempotency=step.idempotency or Idempotency.NONE,
        attempt_started=step.attempt_started,
        is_last_step=(
            step.dependents == ()
            if step.dependents is not None
            else step.position == (len(snapshot.steps) if handler else main) - 1
        ),
        continue_on_error=step.continue_on_error,
        dependents=step.dependents,
        handlers_from=handlers,
        handler=handler,
    )


def _audit(
    commands: Sequence[Command],
    snapshot: ExecutionSnapshot,
    step: StepSnapshot | None,
    actor: Actor,
    reason: str,
) -> list[AuditEntry]:
    """The audit records among ``commands``, about ``step`` or (without one) the execution."""
    entries = []
    for command in commands:
        if not isinstance(command, Audit):
            continue
        subject = step if step is not None and entity_type(command.event_name) == STEP else None
        entries.append(
            AuditEntry(
                action=command.event_name,
                actor=actor,
                entity_type=STEP if subject is not None else EXECUTION,
                entity_id=str(subject.step_id if subject is not None else snapshot.execution_id),
                department_id=snapshot.department_id,
                reason=reason or command.reason,
                metadata={
                    "execution_id": str(snapshot.execution_id),
                    **({"step": step.step_key} if step is not None else {}),
                    **{k: str(v) for k, v in jsonable(command.data).items()},
                },
            )
        )
    return entries


def _step_changes(
    snapshot: ExecutionSnapshot, step: StepSnapshot, decision: Decision
) -> list[StepChange]:
    """The changes ``decision`` makes to ``step`` (and to the next step, when it goes on)."""
    output: Mapping[str, Any] | None = None
    error: Mapping[str, Any] | None = None
    reset = runnable = cancel_task = go_on = False
    handlers_at: int | None = None
    graph_changes: list[StepChange] = []
    for command in decision.commands:
        match command:
            case RecordOutput(output=recorded):
                output = recorded
            case FailExecution(error=failed) | RecordStepError(error=failed):
                error = error_payload(failed)
            case ResetAttempts():
                reset = True
            case ScheduleRetry():
                runnable = True  # an operator's retry is due at once
            case CancelHumanTask():
                cancel_task = True
            case ContinueWithNextStep():
                go_on = True
            case StartFailureHandlers(position=position):
                handlers_at = position
            case ReleaseDependents(positions=positions):
                graph_changes.extend(_count_down(snapshot, positions))
            case FollowBranches():
                pass  # the execution's status: step_change
            case CancelOpenBranches(from_statuses=statuses):
                graph_changes.extend(_cancel_branches(snapshot, step, statuses))
            case Audit() | CompleteExecution():
                pass
            case _:
                raise ValueError(f"an operator action cannot carry out {command!r}")
    changes = [
        StepChange(
            step_id=step.step_id,
            from_status=step.status,
            status=decision.step_status,
            output=output,
            error=error,
            reset_attempts=reset,
            runnable_now=runnable,
            cancel_human_task=cancel_task,
        )
    ]
    changes.extend(graph_changes)
    starts = step.position + 1 if go_on else handlers_at
    # Handlers run once per execution: a failure after they ran (an operator's retry) starts none.
    if starts is not None and (go_on or snapshot.steps[starts].status is StepStatus.PENDING):
        following = snapshot.steps[starts]
        changes.append(
            StepChange(
                step_id=following.step_id,
                from_status=following.status,
                status=following.status,
                runnable_now=True,
            )
        )
    return changes


def _count_down(snapshot: ExecutionSnapshot, positions: tuple[int, ...]) -> list[StepChange]:
    """A step of a graph settled (every step of the execution is locked): each pending step
    that needs it waits for one need less, and the one it was the last need of is runnable."""
    changes = []
    for position in positions:
        following = snapshot.steps[position]
        if following.status is not StepStatus.PENDING or following.needs_left < 1:
            continue
        changes.append(
            StepChange(
                step_id=following.step_id,
                from_status=following.status,
                status=following.status,
                runnable_now=join_released(following.needs_left),
                needs_left=following.needs_left - 1,
            )
        )
    return changes


def _cancel_branches(
    snapshot: ExecutionSnapshot, failed: StepSnapshot, statuses: frozenset[StepStatus]
) -> list[StepChange]:
    """A step of a graph failed its execution: its other open steps are canceled (a waiting
    one's human task too), as the engine's cancel of a step decides."""
    changes = []
    for other in snapshot.steps:
        if other.step_id == failed.step_id or other.status not in statuses:
            continue
        if other.dependents is None:  # not a step of the graph (a failure handler)
            continue
        canceled = transition(STEP_MACHINE, other.status, StepEvent.CANCEL)
        changes.append(
            StepChange(
                step_id=other.step_id,
                from_status=other.status,
                status=canceled,
                cancel_human_task=other.status is StepStatus.WAITING,
            )
        )
    return changes


@contextlib.asynccontextmanager
async def _locked(
    control: ExecutionControl, execution_id: UUID, scope: UUID | None
) -> AsyncIterator[LockedExecution]:
    async with control.locked(execution_id, scope) as locked:
        if locked is None:
            raise NotFoundError(f"execution {execution_id} not found")
        yield locked


def _decide(state: StepState, event: Event) -> Decision:
    try:
        return decide(state, event, datetime.now(UTC))
    except IllegalTransition as exc:
        raise ConflictError(str(exc)) from None


async def cancel_execution(
    control: ExecutionControl,
    execution_id: UUID,
    *,
    actor: Actor,
    reason: str = "",
    department_scope: UUID | None = None,
) -> OperatorResult:
    """Cancel an execution that has not ended; its unfinished steps are canceled with it (and
    the human task of a waiting one)."""
    async with _locked(control, execution_id, department_scope) as locked:
        snapshot = locked.snapshot
        try:
            decision = decide_cancel(
                snapshot.status,
                [step.status for step in snapshot.steps],
                CancelRequested(reason),
                datetime.now(UTC),
            )
        except IllegalTransition:
            raise ConflictError(f"execution is {snapshot.status}: it cannot be canceled") from None
        await locked.apply(execution_change(snapshot, decision, actor, reason))
        return OperatorResult(execution_id=execution_id, execution_status=decision.execution_status)


def execution_change(
    snapshot: ExecutionSnapshot, decision: ExecutionDecision, actor: Actor, reason: str
) -> ExecutionChange:
    """A decision over the whole execution (a cancel, a timeout) as the port carries it out,
    audited as ``actor``; the execution's error is the one the decision fails it with."""
    steps: list[StepChange] = []
    audit: list[AuditEntry] = []
    for position, step_decision in sorted(decision.steps.items()):
        step = snapshot.steps[position]
        steps.extend(_step_changes(snapshot, step, step_decision))
        audit.extend(_audit(step_decision.commands, snapshot, step, actor, reason))
    audit.extend(_audit(decision.commands, snapshot, None, actor, reason))
    for command in decision.commands:
        if isinstance(command, StartFailureHandlers):
            first = snapshot.steps[command.position]
            if first.status is StepStatus.PENDING:  # they run once per execution
                steps.append(
                    StepChange(
                        step_id=first.step_id,
                        from_status=first.status,
                        status=first.status,
                        runnable_now=True,
                    )
                )
    failed = [c.error for c in decision.commands if isinstance(c, FailExecution)]
    return ExecutionChange(
        execution_from=snapshot.status,
        execution_status=decision.execution_status,
        steps=tuple(steps),
        audit=tuple(audit),
        error=error_payload(failed[0]) if failed else None,
        actor=actor,
        reason=reason or None,
    )


def step_change(
    snapshot: ExecutionSnapshot, step: StepSnapshot, decision: Decision, actor: Actor, reason: str
) -> ExecutionChange:
    """The engine's ``decision`` on ``step`` as the port carries it out, audited as ``actor``."""
    failed = [c.error for c in decision.commands if isinstance(c, FailExecution)]
    changes = _step_changes(snapshot, step, decision)
    status = decision.execution_status
    followed: tuple[Command, ...] = ()
    counted: int | None = None
    if any(isinstance(c, FollowBranches) for c in decision.commands):
        counted, waiting = _open_branches(snapshot, changes)
        branches = decide_branches(status or snapshot.status, runnable=counted > 0, waiting=waiting)
        status = branches.execution_status or status
        followed = branches.commands
    return ExecutionChange(
        execution_from=snapshot.status,
        execution_status=status,
        runnable_steps=counted,
        steps=tuple(changes),
        audit=(
            *_audit(decision.commands, snapshot, step, actor, reason),
            *_audit(followed, snapshot, None, actor, reason),
            *_branches_canceled(snapshot, step, decision, changes, actor),
        ),
        error=error_payload(failed[0]) if failed else None,
    )


def _open_branches(snapshot: ExecutionSnapshot, changes: Sequence[StepChange]) -> tuple[int, bool]:
    """How many steps of the locked graph are runnable or running (:func:`runnable`), and
    whether one waits, once ``changes`` are made."""
    changed = {c.step_id: c for c in changes}
    count, waiting = 0, False
    for step in snapshot.steps:
        if step.dependents is None:
            continue
        change = changed.get(step.step_id)
        status = change.status if change else step.status
        left = change.needs_left if change and change.needs_left is not None else step.needs_left
        count += runnable(status, left)
        waiting |= status is StepStatus.WAITING
    return count, waiting


def _branches_canceled(
    snapshot: ExecutionSnapshot,
    step: StepSnapshot,
    decision: Decision,
    changes: Sequence[StepChange],
    actor: Actor,
) -> list[AuditEntry]:
    """The ``STEP_CANCELED`` records of the open branches a failed step of a graph canceled."""
    cancels = [c for c in decision.commands if isinstance(c, CancelOpenBranches)]
    if not cancels:
        return []
    keys = {s.step_id: s.step_key for s in snapshot.steps}
    return [
        AuditEntry(
            action=AuditEvent.WORKFLOW_EXECUTION_STEP_CANCELED,
            actor=actor,
            entity_type=STEP,
            entity_id=str(change.step_id),
            department_id=snapshot.department_id,
            reason=cancels[0].reason,
            metadata={
                "execution_id": str(snapshot.execution_id),
                "step": keys[change.step_id],
                "from": change.from_status.value,
            },
        )
        for change in changes
        if change.step_id != step.step_id and change.status is StepStatus.CANCELED
    ]


def waiting_step_change(
    snapshot: ExecutionSnapshot,
    step: StepSnapshot,
    event: Event,
    actor: Actor,
    reason: str,
    now: datetime,
) -> ExecutionChange:
    """The engine's decision on a ``WAITING`` step finished from outside (a human task's
    approval or rejection, a signal), as the execution's change audited as ``actor``.

    :raises ConflictError: the step no longer waits, or the engine refuses the event.
    """
    if step.status is not StepStatus.WAITING:
        raise ConflictError(f"step {step.step_key} is {step.status}: it no longer waits")
    try:
        decision = decide(step_state(snapshot, step), event, now)
    except IllegalTransition as exc:
        raise ConflictError(str(exc)) from None
    return step_change(snapshot, step, decision, actor, reason)


def _reopen_branches(
    snapshot: ExecutionSnapshot,
    change: ExecutionChange,
    actor: Actor,
    reason: str,
    now: datetime,
) -> ExecutionChange:
    """An operator's retry of a graph's failed step, with the steps its failure canceled
    reopened (:func:`decide_reopen`): each waits for its needs that have not settled once the
    retry is made (counted afresh, as is every pending step's), and is due now when none is
    left; the execution counts its runnable steps afresh."""
    changed = {c.step_id: c for c in change.steps}
    after = {
        s.position: changed[s.step_id].status if s.step_id in changed else s.status
        for s in snapshot.steps
    }
    needs: dict[int, list[int]] = {s.position: [] for s in snapshot.steps}
    for s in snapshot.steps:
        for dependent in s.dependents or ():
            needs[dependent].append(s.position)

    def settled(position: int) -> bool:
        status = after[position]
        tolerated = status is StepStatus.FAILED and snapshot.steps[position].continue_on_error
        return status in StepStatus.DONE or tolerated

    reopened: list[StepChange] = []
    audit: list[AuditEntry] = []
    for s in snapshot.steps:
        if s.dependents is None or s.step_id in changed:
            continue
        left = sum(1 for need in needs[s.position] if not settled(need))
        if s.status is StepStatus.CANCELED:
            decision = decide_reopen(s.status, left, now)
            reopened.append(
                StepChange(
                    step_id=s.step_id,
                    from_status=s.status,
                    status=decision.step_status,
                    reset_attempts=True,
                    runnable_now=left == 0,
                    needs_left=left,
                )
            )
            audit.extend(_audit(decision.commands, snapshot, s, actor, reason))
        elif s.status is StepStatus.PENDING and s.needs_left != left:  # a release it missed
            reopened.append(
                StepChange(
                    step_id=s.step_id,
                    from_status=s.status,
                    status=s.status,
                    runnable_now=left == 0,
                    needs_left=left,
                )
            )
    steps = (*change.steps, *reopened)
    counted, _ = _open_branches(snapshot, steps)
    return msgspec.structs.replace(
        change, steps=steps, audit=(*change.audit, *audit), runnable_steps=counted
    )


async def retry_execution(
    control: ExecutionControl,
    queue: StepQueue,
    execution_id: UUID,
    *,
    actor: Actor,
    reason: str = "",
    department_scope: UUID | None = None,
) -> OperatorResult:
    """Run a failed execution again from its failed step, with a fresh attempt budget."""
    async with _locked(control, execution_id, department_scope) as locked:
        snapshot = locked.snapshot
        failed = [s for s in snapshot.steps if s.status is StepStatus.FAILED]
        if snapshot.status is not ExecutionStatus.FAILED or not failed:
            raise ConflictError(f"execution is {snapshot.status}: only a FAILED one can be retried")
        step = failed[0]
        decision = _decide(step_state(snapshot, step), OperatorRetry(reason))
        change = step_change(snapshot, step, decision, actor, reason)
        if step.dependents is not None:  # a graph: the branches its failure canceled reopen
            change = _reopen_branches(snapshot, change, actor, reason, datetime.now(UTC))
        await locked.apply(change)
    woken = [c.step_id for c in change.steps if c.runnable_now]
    await queue.wake(woken)
    return OperatorResult(
        execution_id=execution_id,
        execution_status=change.execution_status or snapshot.status,
        woken=woken,
    )


async def resolve_step(
    control: ExecutionControl,
    queue: StepQueue,
    execution_id: UUID,
    step_key: str,
    resolution: Resolution,
    *,
    actor: Actor,
    reason: str,
    output: Mapping[str, Any] | None = None,
    department_scope: UUID | None = None,
) -> OperatorResult:
    """Resolve a step in NEEDS_ATTENTION: run it again, skip it, or mark it done."""
    async with _locked(control, execution_id, department_scope) as locked:
        snapshot = locked.snapshot
        steps = [s for s in snapshot.steps if s.step_key == step_key]
        if not steps:
            raise NotFoundError(f"execution {execution_id} has no step {step_key!r}")
        step = steps[0]
        if step.status is not StepStatus.NEEDS_ATTENTION:
            raise ConflictError(f"step {step_key} is {step.status}, not NEEDS_ATTENTION")
        event: Event
        match resolution:
            case Resolution.RETRY:
                event = OperatorRetry(reason)
            case Resolution.SKIP:
                event = OperatorSkip(reason)
            case Resolution.MARK_DONE:
                event = OperatorMarkDone(dict(output or {}), reason)
        decision = _decide(step_state(snapshot, step), event)
        change = step_change(snapshot, step, decision, actor, reason)
        await locked.apply(change)
    woken = [c.step_id for c in change.steps if c.runnable_now]
    if woken:
        await queue.wake(woken)
    return OperatorResult(
        execution_id=execution_id,
        execution_status=change.execution_status or snapshot.status,
        woken=woken,
    )
