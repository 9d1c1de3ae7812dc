"""Which actions an actor may take on a task now: the lifecycle's own answer, for the buttons a
page shows.

:func:`allowed_actions` tries each action the transition table allows from the task's status
through :func:`~govflow.core.tasks.decide.decide_task` itself, with stand-in inputs, and keeps
those refused for nothing but their inputs (a reason to give, a form to fill, a user to name):
the buttons shown come from the rules applied when the button is pressed. The submitter of a
task under review is refused ``four_eyes``, so no Approve is offered to them.
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from govflow.core.tasks.decide import decide_task
from govflow.core.tasks.model import (
    Approve,
    Assign,
    Cancel,
    Claim,
    Close,
    Delegate,
    Delete,
    Reactivate,
    Reject,
    Release,
    Start,
    Submit,
    TaskAction,
    TaskActor,
    TaskState,
    TaskUser,
)
from govflow.core.tasks.refusals import TaskInputRefusal, TaskRefusal
from govflow.core.tasks.table import TASK_MACHINE
from govflow.core.tasks.vocabulary import TaskActionName

_NOBODY = UUID(int=0)


def _probe(name: TaskActionName, task: TaskState, actor: TaskActor) -> TaskAction:
    """The action ``name`` with stand-in inputs (a target nobody is, no reason, no form)."""
    target = TaskUser(user_id=_NOBODY, role=actor.role, department_id=task.department_id)
    probes: dict[TaskActionName, TaskAction] = {
        TaskActionName.ASSIGN: Assign(target=target),
        TaskActionName.CLAIM: Claim(),
        TaskActionName.RELEASE: Release(),
        TaskActionName.DELEGATE: Delegate(target=target),
        TaskActionName.START: Start(),
        TaskActionName.SUBMIT: Submit(),
        TaskActionName.APPROVE: Approve(),
        TaskActionName.REJECT: Reject(reason=""),
        TaskActionName.CLOSE: Close(),
        TaskActionName.CANCEL: Cancel(),
        TaskActionName.REACTIVATE: Reactivate(),
        TaskActionName.DELETE: Delete(),
    }
    return probes[name]


def allowed_actions(task: TaskState, actor: TaskActor, now: datetime) -> list[TaskActionName]:
    """The actions ``actor`` may take on ``task`` at ``now``, in the table's order."""
    allowed = []
    for name in TASK_MACHINE.allowed(task.status):
        try:
            decide_task(task, _probe(name, task, actor), actor, now)
        except TaskInputRefusal:
            pass  # the actor may; only what comes with the action is still to be given
        except TaskRefusal:
            continue
        allowed.append(name)
    return allowed
