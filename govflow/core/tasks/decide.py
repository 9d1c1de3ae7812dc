"""The pure decision of the human-task lifecycle: one action in, the new task and commands out.

:func:`decide_task` checks, in this order: the actor's department, the transition table
(:data:`govflow.core.tasks.table.TASK_MACHINE`), then the action's own rules (who, four-eyes,
N-of-M, the form). A refusal raises; nothing is half-decided. :func:`create_task` opens a task
(and assigns it when a user is named). Time is ``now``, passed in.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any, TypeVar

import msgspec

from govflow.core.audit_events import AuditEvent
from govflow.core.error_codes import StepErrorCode
from govflow.core.machines import transition
from govflow.core.tasks import rules
from govflow.core.tasks.forms import validate_form
from govflow.core.tasks.model import (
    Approval,
    Approve,
    Assign,
    Cancel,
    Claim,
    Close,
    CompleteStep,
    Delegate,
    Delete,
    FailStep,
    Notify,
    OnReject,
    Party,
    Reactivate,
    RecordAudit,
    Reject,
    Release,
    Start,
    Submit,
    TaskAction,
    TaskActor,
    TaskCommand,
    TaskDecision,
    TaskOutput,
    TaskState,
    TaskUser,
)
from govflow.core.tasks.refusals import TaskActorRefusal, TaskStateRefusal
from govflow.core.tasks.table import TASK_MACHINE
from govflow.core.tasks.vocabulary import (
    ACTION_EVENTS,
    TaskActionName,
    TaskEventName,
    TaskStatus,
)

A = TypeVar("A")


class _Step:
    """A decision being built: the task so far and the commands collected."""

    def __init__(self, task: TaskState, actor: TaskActor, now: datetime) -> None:
        self.task = task
        self.actor = actor
        self.now = now
        self.commands: list[TaskCommand] = []

    def move(
        self,
        action: TaskActionName,
        *,
        event: TaskEventName | None = None,
        reason: str | None = None,
        data: Mapping[str, Any] | None = None,
        **changes: Any,
    ) -> None:
        """Apply the table's row for ``action``, the field changes, and its audit event."""
        before = self.task.status
        after = transition(TASK_MACHINE, before, action)
        self.task = msgspec.structs.replace(self.task, status=after, updated_at=self.now, **changes)
        self.commands.append(
            RecordAudit(
                event=event or ACTION_EVENTS[action],
                actor_id=self.actor.user_id,
                reason=reason or None,
                data={"from": before.value, "to": after.value, **(data or {})},
            )
        )

    def add(self, command: TaskCommand) -> None:
        self.commands.append(command)

    def notify(self, why: str, to: Party, detail: str = "") -> None:
        """Tell ``to`` about the task, unless it names nobody."""
        if to.users or to.is_group:
            self.commands.append(Notify(why=why, to=to, detail=detail))

    def close_by_decision(self) -> None:
        """A step's task ends with its decision: the ``CLOSE`` row follows in the same decision."""
        if self.task.step_bound:
            self.move(TaskActionName.CLOSE, reason="decided")

    def decision(self) -> TaskDecision:
        return TaskDecision(state=self.task, commands=tuple(self.commands))


def _output(task: TaskState, decision: str, comments: tuple[str, ...]) -> TaskOutput:
    return TaskOutput(
        decision=decision,
        form=dict(task.submission or {}),
        submitted_by=task.submitted_by,
        approved_by=tuple(approval.by for approval in task.approvals),
        comments=tuple(comment for comment in comments if comment),
    )


def _worker_party(task: TaskState) -> Party:
    if task.assignee_id is not None:
        return Party(users=(task.assignee_id,))
    if task.submitted_by is not None:
        return Party(users=(task.submitted_by,))
    return task.offer


def _assign(step: _Step, action: Assign) -> None:
    task = step.task
    rules.require_manager(step.actor)
    rules.check_target(task, action.target)
    event = AuditEvent.HUMAN_TASK_ASSIGNED
    if task.assignee_id is not None:
        event = AuditEvent.HUMAN_TASK_REASSIGNED
    step.move(
        TaskActionName.ASSIGN,
        event=event,
        reason=action.reason,
        data=_handover(task, action.target),
        assignee_id=action.target.user_id,
    )
    step.add(Notify(why="assigned", to=Party(users=(action.target.user_id,))))


def _handover(task: TaskState, target: TaskUser) -> dict[str, Any]:
    previous = None if task.assignee_id is None else str(task.assignee_id)
    return {"assignee_id": str(target.user_id), "previous_assignee_id": previous}


def _claim(step: _Step, action: Claim) -> None:
    offer = step.task.offer
    rules.require_eligible_claimer(step.task, step.actor)
    step.move(
        TaskActionName.CLAIM,
        data={"assignee_id": str(step.actor.user_id)},
        assignee_id=step.actor.user_id,
    )
    step.notify("claimed", offer)


def _release(step: _Step, action: Release) -> None:
    task = step.task
    if step.actor.user_id is not None and step.actor.user_id == task.assignee_id:
        rules.require_offered(task)
    elif not rules.is_manager(step.actor):
        rules.require_assignee(task, step.actor)
    step.move(
        TaskActionName.RELEASE,
        reason=action.reason,
        data={"previous_assignee_id": str(task.assignee_id)},
        assignee_id=None,
    )


def _delegate(step: _Step, action: Delegate) -> None:
    task = step.task
    rules.require_assignee(task, step.actor)
    rules.check_target(task, action.target)
    step.move(
        TaskActionName.DELEGATE,
        reason=action.reason,
        data=_handover(task, action.target),
        assignee_id=action.target.user_id,
    )
    step.add(Notify(why="delegated", to=Party(users=(action.target.user_id,))))


def _start(step: _Step, action: Start) -> None:
    rules.require_assignee(step.task, step.actor)
    step.move(TaskActionName.START, data={"rejections": step.task.rejections})


def _submit(step: _Step, action: Submit) -> None:
    task = step.task
    rules.require_assignee(task, step.actor)
    values = validate_form(task.policy.form, action.form)
    step.move(
        TaskActionName.SUBMIT,
        data={"fields": sorted(values)},
        submitted_by=step.actor.user_id,
        submitted_at=step.now,
        submission=values,
        approvals=(),
    )
    reviewers = task.policy.reviewers
    if reviewers is not None:
        step.add(Notify(why="submitted", to=reviewers))
        return
    if step.task.step_bound:
        step.add(CompleteStep(output=_output(step.task, "submitted", (action.comment,))))
        step.close_by_decision()


def _approve(step: _Step, action: Approve) -> None:
    task = step.task
    rules.check_reviewer(task, step.actor)
    if any(approval.by == step.actor.user_id for approval in task.approvals):
        raise TaskActorRefusal(
            "already_approved", "approved_by", "the user already approved this submission"
        )
    if step.actor.user_id is None:
        raise TaskActorRefusal("not_reviewer", "reviewers", "only a user may review")
    approvals = (
        *task.approvals,
        Approval(by=step.actor.user_id, at=step.now, comment=action.comment),
    )
    required = task.policy.approvals
    counts = {"approvals": len(approvals), "required": required}
    if len(approvals) < required:
        step.task = msgspec.structs.replace(task, approvals=approvals, updated_at=step.now)
        step.add(
            RecordAudit(
                event=AuditEvent.HUMAN_TASK_APPROVAL_RECORDED,
                actor_id=step.actor.user_id,
                reason=action.comment or None,
                data={"from": task.status.value, "to": task.status.value, **counts},
            )
        )
        return
    step.move(
        TaskActionName.APPROVE,
        reason=action.comment,
        data={**counts, "approved_by": [str(approval.by) for approval in approvals]},
        approvals=approvals,
        decided_by=step.actor.user_id,
        decided_at=step.now,
    )
    if step.task.step_bound:
        comments = tuple(approval.comment for approval in approvals)
        step.add(CompleteStep(output=_output(step.task, "approved", comments)))
        step.close_by_decision()


def _reject(step: _Step, action: Reject) -> None:
    task = step.task
    rules.check_reviewer(task, step.actor)
    reason = rules.require_reason(action.reason)
    rejections = task.rejections + 1
    step.move(
        TaskActionName.REJECT,
        reason=reason,
        data={"rejections": rejections, "on_reject": task.policy.on_reject.value},
        rejections=rejections,
        rejection_reason=reason,
        approvals=(),
        decided_by=step.actor.user_id,
        decided_at=step.now,
    )
    submitter = Party(users=(task.submitted_by,)) if task.submitted_by else _worker_party(task)
    step.notify("rejected", submitter, reason)
    if task.policy.on_reject == OnReject.REWORK:
        return
    if task.step_bound:
        step.add(
            FailStep(code=StepErrorCode.TASK_REJECTED, message=f"the task was rejected: {reason}")
        )
        step.close_by_decision()
    else:
        step.move(TaskActionName.CLOSE, reason="rejected")


def _close(step: _Step, action: Close) -> None:
    task = step.task
    rules.refuse_step_bound(task, step.actor, "closes with its decision")
    rules.require_manager(step.actor)
    if task.status == TaskStatus.SUBMITTED and task.policy.reviewers is not None:
        raise TaskStateRefusal("review_pending", "status", "the submission waits for its review")
    step.move(TaskActionName.CLOSE, reason=action.reason)


def _cancel(step: _Step, action: Cancel) -> None:
    task = step.task
    rules.refuse_step_bound(task, step.actor, "is canceled with its execution")
    rules.require_manager(step.actor)
    step.move(TaskActionName.CANCEL, reason=action.reason)
    step.notify("canceled", _worker_party(task))


def _reactivate(step: _Step, action: Reactivate) -> None:
    task = step.task
    if task.step_bound:
        raise TaskActorRefusal(
            "step_bound", "task", "a workflow step's task ends with its execution"
        )
    rules.require_manager(step.actor)
    step.move(
        TaskActionName.REACTIVATE,
        reason=action.reason,
        assignee_id=None,
        submitted_by=None,
        submitted_at=None,
        submission=None,
        approvals=(),
        decided_by=None,
        decided_at=None,
    )


def _delete(step: _Step, action: Delete) -> None:
    rules.require_manager(step.actor)
    step.move(TaskActionName.DELETE, reason=action.reason)


_Handler = Callable[[_Step, Any], None]
_HANDLERS: dict[type[Any], _Handler] = {
    Assign: _assign,
    Claim: _claim,
    Release: _release,
    Delegate: _delegate,
    Start: _start,
    Submit: _submit,
    Approve: _approve,
    Reject: _reject,
    Close: _close,
    Cancel: _cancel,
    Reactivate: _reactivate,
    Delete: _delete,
}


def check_state(task: TaskState, action: TaskActionName) -> TaskStatus:
    """The status the table gives ``action`` from the task's status, or ``invalid_state``."""
    target = TASK_MACHINE.allowed(task.status).get(action)
    if target is None:
        raise TaskStateRefusal(
            "invalid_state",
            "status",
            f"{action.value} is not allowed on a {task.status.value} task",
        )
    return target


def decide_task(
    task: TaskState, action: TaskAction, actor: TaskActor, now: datetime
) -> TaskDecision:
    """Decide ``action`` by ``actor`` on ``task`` at ``now``, or raise a TaskRefusal."""
    rules.check_department(task, actor)
    check_state(task, action.name)
    step = _Step(task, actor, now)
    _HANDLERS[type(action)](step, action)
    decided = step.decision()
    return TaskDecision(
        state=msgspec.structs.replace(decided.state, version=task.version + 1),
        commands=decided.commands,
    )


def create_task(
    task: TaskState,
    actor: TaskActor,
    now: datetime,
    *,
    assignee: TaskUser | None = None,
    due_in: timedelta | None = None,
) -> TaskDecision:
    """Open ``task`` (built ``OPEN``, nobody assigned) and, if ``assignee`` is named, assign it.

    A step's task is opened by the system; a standalone one by an ADMIN or a MANAGER of its
    department. The deadline is ``now + due_in``.
    """
    if task.status != TaskStatus.OPEN or task.assignee_id is not None:
        raise TaskStateRefusal("invalid_state", "status", "a new task starts OPEN, unassigned")
    rules.check_department(task, actor)
    if task.step_bound and not actor.system:
        raise TaskActorRefusal("step_bound", "task", "a workflow step's task is opened by its step")
    rules.require_manager(actor)
    due_at = None if due_in is None else now + due_in
    opened = msgspec.structs.replace(task, created_by=actor.user_id, due_at=due_at, updated_at=now)
    step = _Step(opened, actor, now)
    step.add(
        RecordAudit(
            event=AuditEvent.HUMAN_TASK_CREATED,
            actor_id=actor.user_id,
            data={
                "to": TaskStatus.OPEN.value,
                "due_at": None if due_at is None else due_at.isoformat(),
            },
        )
    )
    if assignee is not None:
        _assign(step, Assign(target=assignee))
        step.commands = [c for c in step.commands if not isinstance(c, Notify)]
    notice = creation_notice(step.task)
    step.notify(notice.why, notice.to)
    return step.decision()


def creation_notice(task: TaskState) -> Notify:
    """Who hears that ``task`` was opened: its assignee, else the people it is offered to."""
    if task.assignee_id is not None:
        return Notify(why="created", to=Party(users=(task.assignee_id,)))
    return Notify(why="created", to=task.offer)
