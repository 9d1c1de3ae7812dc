"""Every refusal of the lifecycle, with the field it names and the sentence it says.

The API answers a refusal with its field (``body.reason``, ``task``...) and its message followed
by its code, so all three are what a client sees; each is checked here for every refusal.
"""

from __future__ import annotations

from collections.abc import Callable
from uuid import UUID

import msgspec
import pytest

from govflow.core.roles import Role
from govflow.core.tasks.decide import create_task, decide_task
from govflow.core.tasks.forms import FormField
from govflow.core.tasks.model import (
    Approval,
    Approve,
    Assign,
    Cancel,
    Claim,
    Close,
    Delegate,
    Party,
    Reactivate,
    Reject,
    Release,
    Start,
    Submit,
    TaskActor,
    TaskDecision,
    TaskPolicy,
)
from govflow.core.tasks.refusals import (
    TaskActorRefusal,
    TaskFormRefusal,
    TaskInputRefusal,
    TaskRefusal,
    TaskStateRefusal,
)
from govflow.core.tasks.vocabulary import TaskStatus

from .support import (
    ACTORS,
    ASSIGNEE_ID,
    COLLEAGUE,
    DEPT,
    MANAGER_ID,
    NOW,
    REVIEWERS,
    SECOND_MANAGER,
    task_in,
)

MANAGER = ACTORS["manager"]
ASSIGNEE = ACTORS["assignee"]
OPERATOR = ACTORS["operator"]
NAMELESS_ADMIN = TaskActor(user_id=None, role=Role.ADMIN, department_id=None)
"""An ADMIN acting without a user id (not the system): it may not review."""


def _policy(**changes: object) -> TaskPolicy:
    return msgspec.structs.replace(TaskPolicy(reviewers=REVIEWERS), **changes)


SUBMITTED = task_in(TaskStatus.SUBMITTED)

REFUSALS: list[tuple[str, Callable[[], TaskDecision], type[TaskRefusal], str, str, str]] = [
    (
        "another department",
        lambda: decide_task(SUBMITTED, Approve(), ACTORS["other_manager"], NOW),
        TaskActorRefusal,
        "other_department",
        "task",
        "the task belongs to another department",
    ),
    (
        "not in the table",
        lambda: decide_task(task_in(TaskStatus.OPEN), Approve(), MANAGER, NOW),
        TaskStateRefusal,
        "invalid_state",
        "status",
        "APPROVE is not allowed on a OPEN task",
    ),
    (
        "an operator closing",
        lambda: decide_task(task_in(TaskStatus.APPROVED), Close(), OPERATOR, NOW),
        TaskActorRefusal,
        "role_forbidden",
        "role",
        "a OPERATOR may not do this to the task",
    ),
    (
        "someone else starting",
        lambda: decide_task(task_in(TaskStatus.ASSIGNED), Start(), OPERATOR, NOW),
        TaskActorRefusal,
        "not_assignee",
        "assignee",
        "only the task's assignee may do this",
    ),
    (
        "closing a step's task",
        lambda: decide_task(task_in(TaskStatus.APPROVED, step_bound=True), Close(), MANAGER, NOW),
        TaskActorRefusal,
        "step_bound",
        "task",
        "a workflow step's task closes with its decision",
    ),
    (
        "canceling a step's task",
        lambda: decide_task(task_in(TaskStatus.OPEN, step_bound=True), Cancel(), MANAGER, NOW),
        TaskActorRefusal,
        "step_bound",
        "task",
        "a workflow step's task is canceled with its execution",
    ),
    (
        "reactivating a step's task",
        lambda: decide_task(
            task_in(TaskStatus.CANCELED, step_bound=True), Reactivate(), MANAGER, NOW
        ),
        TaskActorRefusal,
        "step_bound",
        "task",
        "a workflow step's task ends with its execution",
    ),
    (
        "claiming a task offered to nobody",
        lambda: decide_task(task_in(TaskStatus.OPEN, offer=Party()), Claim(), OPERATOR, NOW),
        TaskActorRefusal,
        "not_offered",
        "task",
        "the task is not offered to a user, role or department",
    ),
    (
        "claiming outside the offer",
        lambda: decide_task(task_in(TaskStatus.OPEN), Claim(), MANAGER, NOW),
        TaskActorRefusal,
        "not_eligible",
        "task",
        "the task is not offered to this user, role or department",
    ),
    (
        "an inactive target",
        lambda: decide_task(
            task_in(TaskStatus.ASSIGNED),
            Assign(target=msgspec.structs.replace(COLLEAGUE, active=False)),
            MANAGER,
            NOW,
        ),
        TaskInputRefusal,
        "target_inactive",
        "target",
        "the user is not active",
    ),
    (
        "a target outside the offer",
        lambda: decide_task(
            task_in(TaskStatus.ASSIGNED),
            Delegate(target=msgspec.structs.replace(COLLEAGUE, role=Role.MANAGER)),
            ASSIGNEE,
            NOW,
        ),
        TaskInputRefusal,
        "target_not_eligible",
        "target",
        "the user may not work on this task",
    ),
    (
        "the assignee as target",
        lambda: decide_task(
            task_in(TaskStatus.ASSIGNED),
            Assign(target=msgspec.structs.replace(COLLEAGUE, user_id=ASSIGNEE_ID)),
            MANAGER,
            NOW,
        ),
        TaskInputRefusal,
        "target_unchanged",
        "target",
        "the user already has the task",
    ),
    (
        "approving without review",
        lambda: decide_task(
            task_in(TaskStatus.SUBMITTED, policy=_policy(reviewers=None)), Approve(), MANAGER, NOW
        ),
        TaskStateRefusal,
        "no_review",
        "status",
        "the task asks for no review",
    ),
    (
        "approving without being a reviewer",
        lambda: decide_task(SUBMITTED, Approve(), OPERATOR, NOW),
        TaskActorRefusal,
        "not_reviewer",
        "reviewers",
        "the user is not a reviewer of the task",
    ),
    (
        "approving one's own submission",
        lambda: decide_task(
            task_in(TaskStatus.SUBMITTED, submitted_by=MANAGER_ID), Approve(), MANAGER, NOW
        ),
        TaskActorRefusal,
        "four_eyes",
        "submitted_by",
        "the submitter may not review",
    ),
    (
        "approving as the starter",
        lambda: decide_task(
            task_in(
                TaskStatus.SUBMITTED,
                started_by=MANAGER_ID,
                policy=_policy(starter_cannot_approve=True),
            ),
            Approve(),
            MANAGER,
            NOW,
        ),
        TaskActorRefusal,
        "starter_cannot_approve",
        "started_by",
        "who started the execution may not review",
    ),
    (
        "approving twice",
        lambda: decide_task(
            task_in(
                TaskStatus.SUBMITTED,
                policy=_policy(approvals=2),
                approvals=(Approval(by=MANAGER_ID, at=NOW),),
            ),
            Approve(),
            MANAGER,
            NOW,
        ),
        TaskActorRefusal,
        "already_approved",
        "approved_by",
        "the user already approved this submission",
    ),
    (
        "approving without a user",
        lambda: decide_task(SUBMITTED, Approve(), NAMELESS_ADMIN, NOW),
        TaskActorRefusal,
        "not_reviewer",
        "reviewers",
        "only a user may review",
    ),
    (
        "rejecting without a reason",
        lambda: decide_task(SUBMITTED, Reject(reason=" \n"), SECOND_MANAGER, NOW),
        TaskInputRefusal,
        "reason_required",
        "reason",
        "a reason is required",
    ),
    (
        "closing a submission waiting for review",
        lambda: decide_task(SUBMITTED, Close(), MANAGER, NOW),
        TaskStateRefusal,
        "review_pending",
        "status",
        "the submission waits for its review",
    ),
    (
        "creating a task that is not new",
        lambda: create_task(task_in(TaskStatus.ASSIGNED), MANAGER, NOW),
        TaskStateRefusal,
        "invalid_state",
        "status",
        "a new task starts OPEN, unassigned",
    ),
    (
        "creating an OPEN task that has an assignee",
        lambda: create_task(task_in(TaskStatus.OPEN, assignee_id=ASSIGNEE_ID), MANAGER, NOW),
        TaskStateRefusal,
        "invalid_state",
        "status",
        "a new task starts OPEN, unassigned",
    ),
    (
        "a person creating a step's task",
        lambda: create_task(task_in(TaskStatus.OPEN, step_bound=True), MANAGER, NOW),
        TaskActorRefusal,
        "step_bound",
        "task",
        "a workflow step's task is opened by its step",
    ),
    (
        "releasing someone else's task",
        lambda: decide_task(task_in(TaskStatus.ASSIGNED), Release(), OPERATOR, NOW),
        TaskActorRefusal,
        "not_assignee",
        "assignee",
        "only the task's assignee may do this",
    ),
]


@pytest.mark.parametrize(
    ("decide", "kind", "code", "field", "message"),
    [case[1:] for case in REFUSALS],
    ids=[case[0] for case in REFUSALS],
)
def test_each_refusal_names_its_field_and_says_why(
    decide: Callable[[], TaskDecision],
    kind: type[TaskRefusal],
    code: str,
    field: str,
    message: str,
) -> None:
    with pytest.raises(TaskRefusal) as refused:
        decide()
    assert type(refused.value) is kind
    assert (refused.value.code, refused.value.field, refused.value.message) == (
        code,
        field,
        message,
    )
    assert str(refused.value) == f"{field}: {message} ({code})"


def test_a_form_refusal_names_the_first_field_and_lists_every_problem() -> None:
    fields = {
        "amount": FormField(type="integer", required=True),
        "note": FormField(type="string", max=3),
    }
    task = task_in(TaskStatus.IN_PROGRESS, policy=_policy(form=fields))
    with pytest.raises(TaskFormRefusal) as refused:
        decide_task(task, Submit(form={"note": "long"}), ASSIGNEE, NOW)
    assert (refused.value.code, refused.value.field) == ("form_invalid", "form.amount")
    assert refused.value.message == (
        "form.amount: required; form.note: length must be at most 3, got 4"
    )


def test_a_user_named_in_the_offer_claims_it_whatever_their_role() -> None:
    named = UUID(int=0x77)
    task = task_in(TaskStatus.OPEN, offer=msgspec.structs.replace(REVIEWERS, users=(named,)))
    actor = TaskActor(user_id=named, role=Role.OPERATOR, department_id=DEPT)
    assert decide_task(task, Claim(), actor, NOW).state.assignee_id == named
