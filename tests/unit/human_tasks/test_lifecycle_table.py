"""Every action in every status by every kind of actor, against a hand-written expectation.

The expectations below are written out by hand from the lifecycle in ``docs/human-tasks.md``;
they do not read the code's table, so a changed row shows up here as a failing case.
"""

from __future__ import annotations

import itertools

import pytest

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
    RecordAudit,
    Reject,
    Release,
    Start,
    Submit,
    TaskAction,
    TaskActor,
)
from govflow.core.tasks.refusals import (
    TaskActorRefusal,
    TaskInputRefusal,
    TaskRefusal,
    TaskStateRefusal,
)
from govflow.core.tasks.vocabulary import TaskStatus

from .support import ACTORS, COLLEAGUE, NOW, task_in

ACTIONS: dict[str, TaskAction] = {
    "ASSIGN": Assign(target=COLLEAGUE),
    "CLAIM": Claim(),
    "RELEASE": Release(),
    "DELEGATE": Delegate(target=COLLEAGUE),
    "START": Start(),
    "SUBMIT": Submit(form={}),
    "APPROVE": Approve(),
    "REJECT": Reject(reason="the figures do not add up"),
    "CLOSE": Close(),
    "CANCEL": Cancel(),
    "REACTIVATE": Reactivate(),
    "DELETE": Delete(),
}

NEXT: dict[str, dict[str, str]] = {
    "OPEN": {"ASSIGN": "ASSIGNED", "CLAIM": "ASSIGNED", "CANCEL": "CANCELED"},
    "ASSIGNED": {
        "ASSIGN": "ASSIGNED",
        "RELEASE": "OPEN",
        "DELEGATE": "ASSIGNED",
        "START": "IN_PROGRESS",
        "CANCEL": "CANCELED",
    },
    "IN_PROGRESS": {
        "ASSIGN": "ASSIGNED",
        "RELEASE": "OPEN",
        "DELEGATE": "ASSIGNED",
        "SUBMIT": "SUBMITTED",
        "CANCEL": "CANCELED",
    },
    "SUBMITTED": {
        "APPROVE": "APPROVED",
        "REJECT": "REJECTED",
        "CLOSE": "CLOSED",
        "CANCEL": "CANCELED",
    },
    "REJECTED": {
        "ASSIGN": "ASSIGNED",
        "DELEGATE": "ASSIGNED",
        "START": "IN_PROGRESS",
        "CLOSE": "CLOSED",
        "CANCEL": "CANCELED",
    },
    "APPROVED": {"CLOSE": "CLOSED"},
    "CLOSED": {"DELETE": "DELETED"},
    "CANCELED": {"REACTIVATE": "OPEN", "DELETE": "DELETED"},
    "DELETED": {},
}
"""Where each action leads from each status; a missing pair is refused with invalid_state."""

OK = "ok"
MANAGERS_ONLY = {
    "admin": OK,
    "manager": OK,
    "assignee": "role_forbidden",
    "operator": "role_forbidden",
}
ASSIGNEE_ONLY = {
    "admin": "not_assignee",
    "manager": "not_assignee",
    "assignee": OK,
    "operator": "not_assignee",
}
REVIEWERS_ONLY = {
    "admin": OK,
    "manager": OK,
    "assignee": "not_reviewer",
    "operator": "not_reviewer",
}
WHO: dict[str, dict[str, str]] = {
    "ASSIGN": MANAGERS_ONLY,
    "CLAIM": {"admin": "not_eligible", "manager": "not_eligible", "assignee": OK, "operator": OK},
    "RELEASE": {"admin": OK, "manager": OK, "assignee": OK, "operator": "not_assignee"},
    "DELEGATE": ASSIGNEE_ONLY,
    "START": ASSIGNEE_ONLY,
    "SUBMIT": ASSIGNEE_ONLY,
    "APPROVE": REVIEWERS_ONLY,
    "REJECT": REVIEWERS_ONLY,
    "CLOSE": MANAGERS_ONLY,
    "CANCEL": MANAGERS_ONLY,
    "REACTIVATE": MANAGERS_ONLY,
    "DELETE": MANAGERS_ONLY,
}
"""Who may take each action on a standalone task when its status allows it (the task is offered
to the department's operators and reviewed by its managers; ``assignee`` holds it)."""

EVENTS = {
    "ASSIGN": "HUMAN_TASK_ASSIGNED",
    "CLAIM": "HUMAN_TASK_CLAIMED",
    "RELEASE": "HUMAN_TASK_RELEASED",
    "DELEGATE": "HUMAN_TASK_DELEGATED",
    "START": "HUMAN_TASK_STARTED",
    "SUBMIT": "HUMAN_TASK_SUBMITTED",
    "APPROVE": "HUMAN_TASK_APPROVED",
    "REJECT": "HUMAN_TASK_REJECTED",
    "CLOSE": "HUMAN_TASK_CLOSED",
    "CANCEL": "HUMAN_TASK_CANCELED",
    "REACTIVATE": "HUMAN_TASK_REACTIVATED",
    "DELETE": "HUMAN_TASK_DELETED",
}

REFUSAL_KIND = {
    "invalid_state": TaskStateRefusal,
    "review_pending": TaskStateRefusal,
    "other_department": TaskActorRefusal,
    "role_forbidden": TaskActorRefusal,
    "not_assignee": TaskActorRefusal,
    "not_eligible": TaskActorRefusal,
    "not_reviewer": TaskActorRefusal,
    "step_bound": TaskActorRefusal,
}

STATUSES = list(NEXT)
SAME_DEPARTMENT = ["admin", "manager", "assignee", "operator"]


def expected(status: str, action: str, who: str, *, step_bound: bool) -> str:
    """The outcome by hand: ``ok`` or the refusal code, in the order the checks apply."""
    if who.startswith("other_"):
        return "other_department"
    if action not in NEXT[status]:
        return "invalid_state"
    if step_bound and action in ("CLOSE", "CANCEL", "REACTIVATE"):
        return "step_bound"
    outcome = WHO[action][who]
    if outcome == OK and action == "CLOSE" and status == "SUBMITTED":
        return "review_pending"
    return outcome


def expected_status(status: str, action: str, *, step_bound: bool) -> str:
    target = NEXT[status][action]
    if step_bound and action == "APPROVE":
        return "CLOSED"
    return target


CASES = list(
    itertools.product(
        STATUSES, list(ACTIONS), [*SAME_DEPARTMENT, "other_manager", "other_operator"]
    )
)


def test_the_cases_cover_every_status_and_action() -> None:
    assert {status for status, _, _ in CASES} == {status.value for status in TaskStatus}
    assert len(CASES) == len(TaskStatus) * 12 * 6


def _run(status: str, action: str, who: str, *, step_bound: bool) -> None:
    task = task_in(TaskStatus(status), step_bound=step_bound)
    outcome = expected(status, action, who, step_bound=step_bound)
    if outcome != OK:
        with pytest.raises(TaskRefusal) as refused:
            decide_task(task, ACTIONS[action], ACTORS[who], NOW)
        assert refused.value.code == outcome
        assert type(refused.value) is REFUSAL_KIND[outcome]
        assert refused.value.field
        return
    decision = decide_task(task, ACTIONS[action], ACTORS[who], NOW)
    assert decision.state.status == expected_status(status, action, step_bound=step_bound)
    audits = [command for command in decision.commands if isinstance(command, RecordAudit)]
    event = EVENTS[action]
    if action == "ASSIGN" and task.assignee_id is not None:
        event = "HUMAN_TASK_REASSIGNED"
    assert audits[0].event == event
    assert audits[0].actor_id == ACTORS[who].user_id
    assert audits[0].data["from"] == status
    assert decision.state.updated_at == NOW
    assert decision.state.version == task.version + 1


@pytest.mark.parametrize(("status", "action", "who"), CASES)
def test_standalone_task(status: str, action: str, who: str) -> None:
    _run(status, action, who, step_bound=False)


@pytest.mark.parametrize(("status", "action", "who"), CASES)
def test_step_task(status: str, action: str, who: str) -> None:
    _run(status, action, who, step_bound=True)


SYSTEM_MAY = {"ASSIGN", "RELEASE", "CLOSE", "CANCEL", "DELETE"}
"""What the system (engine, sweeper) may do wherever the status allows it."""


@pytest.mark.parametrize(("status", "action"), list(itertools.product(STATUSES, ACTIONS)))
def test_the_system_on_a_step_task(status: str, action: str) -> None:
    task = task_in(TaskStatus(status), step_bound=True)
    allowed = action in NEXT[status]
    if allowed and action in SYSTEM_MAY:
        if action == "CLOSE" and status == "SUBMITTED":
            with pytest.raises(TaskStateRefusal, match="review_pending"):
                decide_task(task, ACTIONS[action], TaskActor.SYSTEM, NOW)
            return
        decision = decide_task(task, ACTIONS[action], TaskActor.SYSTEM, NOW)
        assert decision.state.status == NEXT[status][action]
        first = decision.commands[0]
        assert isinstance(first, RecordAudit)
        assert first.actor_id is None
        return
    with pytest.raises((TaskStateRefusal, TaskActorRefusal, TaskInputRefusal)):
        decide_task(task, ACTIONS[action], TaskActor.SYSTEM, NOW)
