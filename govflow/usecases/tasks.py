"""Acting on a human task: the lifecycle decides, the store writes it, the engine goes on.

:func:`act_on_task` loads the task and the acting user, asks
:func:`govflow.core.tasks.decide.decide_task`, and carries the decision out in one transaction:
the task's new state (only over the version it was decided on: of concurrent decisions exactly
one wins, the others get ``ConflictError``), its ``HUMAN_TASK_*`` audit records with the actor and
the reason, and, when the decision ends a ``manual`` step's task, the engine's decision for the
WAITING step: an approval (or a submit with no review) is the step's ``AttemptSucceeded`` with the
output ``{decision, form, submitted_by, approved_by, comments}``; a rejection under
``on_reject: fail`` is its ``AttemptFailedBusiness``. The notices the decision asks for (an
assign, a delegate, a claim, a submit, a rejection, a cancel) are stored in the same transaction
when the task names ``notify`` channels that hear of them (:func:`store_notices`: a failure to
store them is logged and counted, never the action's failure); the sweeper sends them
(:mod:`govflow.usecases.task_notifications`). After the commit the next step is woken through
the queue, so the execution goes on in a worker.

Refusals of the lifecycle become the use-case errors the API maps: another department's task is
``NotFoundError`` (as any other department's resource), a refused actor ``ForbiddenError``, an
action the task's status does not allow ``FieldConflictError`` on ``status``, wrong input
``InvalidInputError`` naming the field (``body.form.amount``).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import msgspec

from govflow.core.engine import (
    AttemptFailedBusiness,
    AttemptSucceeded,
    Event,
    StepError,
)
from govflow.core.statuses import StepStatus
from govflow.core.tasks.decide import decide_task
from govflow.core.tasks.model import (
    Cancel,
    CompleteStep,
    FailStep,
    Notify,
    RecordAudit,
    TaskAction,
    TaskActor,
    TaskDecision,
    TaskState,
)
from govflow.core.tasks.notices import Notice, notices_for, task_channels
from govflow.core.tasks.refusals import (
    TaskActorRefusal,
    TaskFormRefusal,
    TaskInputRefusal,
    TaskRefusal,
)
from govflow.usecases.access_errors import FieldConflictError, ForbiddenError
from govflow.usecases.audit import Actor, AuditEntry
from govflow.usecases.errors import ConflictError, InvalidInputError, NotFoundError
from govflow.usecases.operate import ExecutionChange, waiting_step_change
from govflow.usecases.ports import StepQueue
from govflow.usecases.principal import Principal
from govflow.usecases.task_ports import StoredTask, TaskStore, TaskUnit

HUMAN_TASK = "human_task"
"""The audit entity type of a task's records."""

log = logging.getLogger("govflow.tasks.notifications")


class TaskActed(msgspec.Struct, frozen=True, kw_only=True):
    """The task after the action, and the steps woken for the execution to go on."""

    task: StoredTask
    woken: list[UUID] = msgspec.field(default_factory=list)


def task_actor(principal: Principal) -> TaskActor:
    """The signed-in user as the lifecycle sees them."""
    return TaskActor(
        user_id=principal.user_id, role=principal.role, department_id=principal.department_id
    )


_BODY_FIELDS = {"target": "user_id"}
"""The request field a refusal's field is given in, where their names differ."""


def refusal_error(refusal: TaskRefusal) -> Exception:
    """The use-case error a lifecycle refusal is answered with."""
    if isinstance(refusal, TaskFormRefusal):
        return InvalidInputError(
            [(f"body.{problem.path}", problem.reason) for problem in refusal.problems]
        )
    if isinstance(refusal, TaskInputRefusal):
        field = _BODY_FIELDS.get(refusal.field, refusal.field)
        return InvalidInputError([(f"body.{field}", f"{refusal.message} ({refusal.code})")])
    if isinstance(refusal, TaskActorRefusal):
        if refusal.code == "other_department":
            return NotFoundError("task not found")
        return ForbiddenError(f"{refusal.field}: {refusal.message} ({refusal.code})")
    return FieldConflictError(refusal.message, refusal.field, refusal.code)


def task_audit(
    task: StoredTask, decision: TaskDecision, actor: Actor, step_key: str | None
) -> list[AuditEntry]:
    """The audit entries of ``decision``'s ``RecordAudit`` commands about ``task``."""
    where: dict[str, Any] = {"task_id": str(task.state.id)}
    if task.execution_id is not None:
        where["execution_id"] = str(task.execution_id)
    if step_key is not None:
        where["step"] = step_key
    return [
        AuditEntry(
            action=command.event,
            actor=actor,
            entity_type=HUMAN_TASK,
            entity_id=str(task.state.id),
            department_id=task.state.department_id,
            reason=command.reason,
            metadata={**where, **msgspec.to_builtins(dict(command.data))},
        )
        for command in decision.commands
        if isinstance(command, RecordAudit)
    ]


class StepTaskEnded(msgspec.Struct, frozen=True, kw_only=True):
    """A step's task canceled with its step: the lifecycle's decision, its audit, its notices."""

    decision: TaskDecision
    audit: list[AuditEntry]
    notices: list[Notice]


def cancel_with_step(
    task: StoredTask, actor: Actor, reason: str | None, step_key: str | None, now: datetime
) -> StepTaskEnded:
    """The lifecycle's cancel of ``task`` as its step is canceled (an operator's cancel of the
    execution, a failed branch, a timeout): the system acts (a person may not cancel a step's
    task), audited as ``actor`` with ``reason``, and the ``canceled`` notice goes to the channels
    that hear of it, as for a standalone task a manager cancels."""
    try:
        decision = decide_task(task.state, Cancel(reason=reason or ""), TaskActor.SYSTEM, now)
    except TaskRefusal as refusal:
        raise ConflictError(f"task {task.state.id}: {refusal.message}") from None
    return StepTaskEnded(
        decision=decision,
        audit=task_audit(task, decision, actor, step_key),
        notices=notices_for(decision, task_channels(task.state)),
    )


async def store_notices(
    store: TaskStore, unit: TaskUnit, decision: TaskDecision, before: TaskState
) -> None:
    """Store the notices ``decision`` asks for on the channels of the task (as it was
    ``before`` the decision) that hear of them. A failure is logged and counted
    (``store.notice_metrics``) and the decision is written all the same: a notification is
    never worth a person's action."""
    try:
        await unit.enqueue(notices_for(decision, task_channels(before)))
    except Exception:
        whys = sorted({c.why for c in decision.commands if isinstance(c, Notify)})
        log.exception("the %s notices of task %s were not stored", whys, decision.state.id)
        for why in whys:
            store.notice_metrics.not_stored(why)


def _step_event(decision: TaskDecision) -> tuple[Event | None, str | None]:
    """The engine event the decision asks of the task's step, and the word it records."""
    for command in decision.commands:
        match command:
            case CompleteStep(output=output):
                return AttemptSucceeded(msgspec.to_builtins(output)), output.decision
            case FailStep(code=code, message=message):
                return AttemptFailedBusiness(StepError(code, message)), "rejected"
    return None, None


def _step_change(
    unit: TaskUnit, event: Event, actor: Actor, reason: str, now: datetime
) -> ExecutionChange:
    """The engine's decision on the task's WAITING step, as the execution's change."""
    locked = unit.execution
    if locked is None:
        raise ConflictError("the task's execution is gone")
    snapshot = locked.snapshot
    steps = [step for step in snapshot.steps if step.step_id == unit.task.step_id]
    if not steps or steps[0].status is not StepStatus.WAITING:
        raise ConflictError("the task's step no longer waits for it")
    return waiting_step_change(snapshot, steps[0], event, actor, reason, now)


def task_step_key(unit: TaskUnit) -> str | None:
    """The spec key of the step the unit's task belongs to (``None``: a standalone task)."""
    if unit.execution is None:
        return None
    for step in unit.execution.snapshot.steps:
        if step.step_id == unit.task.step_id:
            return step.step_key
    return None


async def act_on_task(
    store: TaskStore,
    queue: StepQueue,
    task_id: UUID,
    action: TaskAction,
    principal: Principal,
    *,
    now: datetime | None = None,
) -> TaskActed:
    """Carry out ``action`` by ``principal`` on task ``task_id`` (see the module's docstring)."""
    moment = now or datetime.now(UTC)
    actor = principal.actor()
    async with store.deciding(task_id) as unit:
        if unit is None:
            raise NotFoundError("task not found")
        try:
            decision = decide_task(unit.task.state, action, task_actor(principal), moment)
        except TaskRefusal as refusal:
            raise refusal_error(refusal) from None
        event, word = _step_event(decision)
        reason = getattr(action, "reason", "") or getattr(action, "comment", "") or ""
        change = None if event is None else _step_change(unit, event, actor, reason, moment)
        audit = task_audit(unit.task, decision, actor, task_step_key(unit))
        await unit.write(decision.state, word, audit)
        await store_notices(store, unit, decision, unit.task.state)
        if change is not None and unit.execution is not None:
            await unit.execution.apply(change)
        after = msgspec.structs.replace(
            unit.task, state=decision.state, decision=word or unit.task.decision
        )
    woken = [] if change is None else [c.step_id for c in change.steps if c.runnable_now]
    if woken:
        await queue.wake(woken)
    return TaskActed(task=after, woken=woken)
