"""Each decision of the lifecycle compared whole: the task it writes and the commands it gives.

The use cases store ``decision.state`` as the task's row and each ``RecordAudit`` as an audit
record (``GET /tasks/{id}/records`` reads them back), so every field of both is behaviour: who
acted, the reason, the data of the transition, the times and the version.
"""

from __future__ import annotations

from datetime import timedelta
from uuid import UUID

import msgspec

from govflow.core.audit_events import AuditEvent
from govflow.core.tasks.decide import create_task, decide_task
from govflow.core.tasks.forms import FormField
from govflow.core.tasks.model import (
    Approval,
    Approve,
    Assign,
    Cancel,
    Claim,
    Close,
    CompleteStep,
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
    TaskActor,
    TaskOutput,
    TaskState,
)
from govflow.core.tasks.vocabulary import TaskStatus

from .support import (
    ACTORS,
    ASSIGNEE_ID,
    COLLEAGUE,
    COLLEAGUE_ID,
    MANAGER_ID,
    NOW,
    OFFER,
    OPERATOR_ID,
    SECOND_MANAGER,
    SECOND_MANAGER_ID,
    task_in,
)

MANAGER = ACTORS["manager"]
ASSIGNEE = ACTORS["assignee"]
OPERATOR = ACTORS["operator"]
EARLIER = NOW - timedelta(hours=3)
S = TaskStatus


def _before(status: TaskStatus, **changes: object) -> TaskState:
    return task_in(status, updated_at=EARLIER, version=4, **changes)


def _after(task: TaskState, **changes: object) -> TaskState:
    return msgspec.structs.replace(task, updated_at=NOW, version=5, **changes)


def _record(
    event: AuditEvent,
    actor: UUID | None,
    moved: tuple[TaskStatus, TaskStatus],
    reason: str | None = None,
    **data: object,
) -> RecordAudit:
    return RecordAudit(
        event=event,
        actor_id=actor,
        reason=reason,
        data={"from": moved[0].value, "to": moved[1].value, **data},
    )


def test_a_claim_records_who_took_the_task() -> None:
    task = _before(S.OPEN)
    decision = decide_task(task, Claim(), OPERATOR, NOW)
    assert decision.state == _after(task, status=S.ASSIGNED, assignee_id=OPERATOR_ID)
    assert decision.commands == (
        _record(
            AuditEvent.HUMAN_TASK_CLAIMED,
            OPERATOR_ID,
            (S.OPEN, S.ASSIGNED),
            assignee_id=str(OPERATOR_ID),
        ),
        Notify(why="claimed", to=OFFER),
    )


def test_a_release_records_who_held_the_task_and_why() -> None:
    task = _before(S.IN_PROGRESS)
    decision = decide_task(task, Release(reason="on leave"), ASSIGNEE, NOW)
    assert decision.state == _after(task, status=S.OPEN, assignee_id=None)
    assert decision.commands == (
        _record(
            AuditEvent.HUMAN_TASK_RELEASED,
            ASSIGNEE_ID,
            (S.IN_PROGRESS, S.OPEN),
            "on leave",
            previous_assignee_id=str(ASSIGNEE_ID),
        ),
    )


def test_an_empty_reason_is_recorded_as_none() -> None:
    decision = decide_task(_before(S.ASSIGNED), Release(reason=""), MANAGER, NOW)
    [audit] = decision.commands
    assert isinstance(audit, RecordAudit)
    assert audit.reason is None


def test_a_first_assignment_records_the_new_assignee_and_notifies_them() -> None:
    task = _before(S.OPEN)
    decision = decide_task(task, Assign(target=COLLEAGUE, reason="expert"), MANAGER, NOW)
    assert decision.state == _after(task, status=S.ASSIGNED, assignee_id=COLLEAGUE_ID)
    assert decision.commands == (
        _record(
            AuditEvent.HUMAN_TASK_ASSIGNED,
            MANAGER_ID,
            (S.OPEN, S.ASSIGNED),
            "expert",
            assignee_id=str(COLLEAGUE_ID),
            previous_assignee_id=None,
        ),
        Notify(why="assigned", to=Party(users=(COLLEAGUE_ID,))),
    )


def test_a_restart_after_rejection_records_how_many_rejections_came_before() -> None:
    task = _before(S.REJECTED, rejections=2)
    decision = decide_task(task, Start(), ASSIGNEE, NOW)
    assert decision.state == _after(task, status=S.IN_PROGRESS)
    assert decision.commands == (
        _record(
            AuditEvent.HUMAN_TASK_STARTED,
            ASSIGNEE_ID,
            (S.REJECTED, S.IN_PROGRESS),
            rejections=2,
        ),
    )


def test_a_submission_records_the_fields_given_and_starts_with_no_approvals() -> None:
    fields = {
        "b": FormField(type="string"),
        "a": FormField(type="integer"),
        "c": FormField(type="boolean"),
    }
    stale = (Approval(by=SECOND_MANAGER_ID, at=EARLIER),)
    task = _before(S.IN_PROGRESS, approvals=stale)
    task = msgspec.structs.replace(task, policy=msgspec.structs.replace(task.policy, form=fields))
    decision = decide_task(task, Submit(form={"b": "x", "a": 1}), ASSIGNEE, NOW)
    assert decision.state == _after(
        task,
        status=S.SUBMITTED,
        submitted_by=ASSIGNEE_ID,
        submitted_at=NOW,
        submission={"b": "x", "a": 1},
        approvals=(),
    )
    assert decision.commands == (
        _record(
            AuditEvent.HUMAN_TASK_SUBMITTED,
            ASSIGNEE_ID,
            (S.IN_PROGRESS, S.SUBMITTED),
            fields=["a", "b"],
        ),
        Notify(why="submitted", to=task.policy.reviewers),
    )


def test_an_approval_records_the_decider_and_the_approvers() -> None:
    task = _before(S.SUBMITTED)
    decision = decide_task(task, Approve(comment="fine"), MANAGER, NOW)
    approval = Approval(by=MANAGER_ID, at=NOW, comment="fine")
    assert decision.state == _after(
        task,
        status=S.APPROVED,
        approvals=(approval,),
        decided_by=MANAGER_ID,
        decided_at=NOW,
    )
    assert decision.commands == (
        _record(
            AuditEvent.HUMAN_TASK_APPROVED,
            MANAGER_ID,
            (S.SUBMITTED, S.APPROVED),
            "fine",
            approvals=1,
            required=1,
            approved_by=[str(MANAGER_ID)],
        ),
    )


def test_an_approval_short_of_the_quorum_is_recorded_with_its_count() -> None:
    task = _before(S.SUBMITTED)
    task = msgspec.structs.replace(task, policy=msgspec.structs.replace(task.policy, approvals=3))
    decision = decide_task(task, Approve(comment="first look"), MANAGER, NOW)
    approval = Approval(by=MANAGER_ID, at=NOW, comment="first look")
    assert decision.state == _after(task, approvals=(approval,))
    assert decision.commands == (
        _record(
            AuditEvent.HUMAN_TASK_APPROVAL_RECORDED,
            MANAGER_ID,
            (S.SUBMITTED, S.SUBMITTED),
            "first look",
            approvals=1,
            required=3,
        ),
    )


def test_a_rejection_records_the_decider_the_count_and_the_policy() -> None:
    task = _before(S.SUBMITTED, approvals=(Approval(by=SECOND_MANAGER_ID, at=EARLIER),))
    decision = decide_task(task, Reject(reason="  figures missing "), MANAGER, NOW)
    assert decision.state == _after(
        task,
        status=S.REJECTED,
        rejections=1,
        rejection_reason="figures missing",
        approvals=(),
        decided_by=MANAGER_ID,
        decided_at=NOW,
    )
    assert decision.commands == (
        _record(
            AuditEvent.HUMAN_TASK_REJECTED,
            MANAGER_ID,
            (S.SUBMITTED, S.REJECTED),
            "figures missing",
            rejections=1,
            on_reject=OnReject.REWORK.value,
        ),
        Notify(why="rejected", to=Party(users=(ASSIGNEE_ID,)), detail="figures missing"),
    )


def test_a_rejection_without_an_assignee_tells_the_submitter_else_the_offer() -> None:
    task = _before(S.SUBMITTED, assignee_id=None, submitted_by=OPERATOR_ID)
    decision = decide_task(task, Reject(reason="no"), MANAGER, NOW)
    told = Notify(why="rejected", to=Party(users=(OPERATOR_ID,)), detail="no")
    assert decision.commands[-1] == told
    nobody = _before(S.SUBMITTED, assignee_id=None, submitted_by=None)
    decision = decide_task(nobody, Reject(reason="no"), MANAGER, NOW)
    assert decision.commands[-1] == Notify(why="rejected", to=OFFER, detail="no")


def test_a_rejection_that_fails_the_step_closes_the_task_as_decided() -> None:
    task = _before(S.SUBMITTED, step_bound=True)
    task = msgspec.structs.replace(
        task, policy=msgspec.structs.replace(task.policy, on_reject=OnReject.FAIL)
    )
    decision = decide_task(task, Reject(reason="incomplete"), MANAGER, NOW)
    assert decision.state.status == S.CLOSED
    assert decision.commands == (
        _record(
            AuditEvent.HUMAN_TASK_REJECTED,
            MANAGER_ID,
            (S.SUBMITTED, S.REJECTED),
            "incomplete",
            rejections=1,
            on_reject=OnReject.FAIL.value,
        ),
        Notify(why="rejected", to=Party(users=(ASSIGNEE_ID,)), detail="incomplete"),
        FailStep(code="task_rejected", message="the task was rejected: incomplete"),
        _record(AuditEvent.HUMAN_TASK_CLOSED, MANAGER_ID, (S.REJECTED, S.CLOSED), "decided"),
    )


def test_a_rejection_that_ends_a_standalone_task_closes_it_as_rejected() -> None:
    task = _before(S.SUBMITTED)
    task = msgspec.structs.replace(
        task, policy=msgspec.structs.replace(task.policy, on_reject=OnReject.FAIL)
    )
    decision = decide_task(task, Reject(reason="incomplete"), MANAGER, NOW)
    assert decision.commands[-1] == _record(
        AuditEvent.HUMAN_TASK_CLOSED, MANAGER_ID, (S.REJECTED, S.CLOSED), "rejected"
    )


def test_the_last_approval_of_a_step_task_completes_the_step_and_closes_as_decided() -> None:
    task = _before(S.SUBMITTED, step_bound=True, submission={"amount": 3})
    decision = decide_task(task, Approve(comment="ok"), SECOND_MANAGER, NOW)
    assert decision.commands[1:] == (
        CompleteStep(
            output=TaskOutput(
                decision="approved",
                form={"amount": 3},
                submitted_by=ASSIGNEE_ID,
                approved_by=(SECOND_MANAGER_ID,),
                comments=("ok",),
            )
        ),
        _record(AuditEvent.HUMAN_TASK_CLOSED, SECOND_MANAGER_ID, (S.APPROVED, S.CLOSED), "decided"),
    )


def test_close_cancel_and_delete_record_their_reason() -> None:
    approved = _before(S.APPROVED)
    decision = decide_task(approved, Close(reason="filed"), MANAGER, NOW)
    assert decision.state == _after(approved, status=S.CLOSED)
    assert decision.commands == (
        _record(AuditEvent.HUMAN_TASK_CLOSED, MANAGER_ID, (S.APPROVED, S.CLOSED), "filed"),
    )
    held = _before(S.IN_PROGRESS)
    decision = decide_task(held, Cancel(reason="moot"), MANAGER, NOW)
    assert decision.state == _after(held, status=S.CANCELED)
    assert decision.commands == (
        _record(AuditEvent.HUMAN_TASK_CANCELED, MANAGER_ID, (S.IN_PROGRESS, S.CANCELED), "moot"),
        Notify(why="canceled", to=Party(users=(ASSIGNEE_ID,))),
    )
    closed = _before(S.CLOSED)
    decision = decide_task(closed, Delete(reason="duplicate"), MANAGER, NOW)
    assert decision.state == _after(closed, status=S.DELETED)
    assert decision.commands == (
        _record(AuditEvent.HUMAN_TASK_DELETED, MANAGER_ID, (S.CLOSED, S.DELETED), "duplicate"),
    )


def test_canceling_an_unassigned_task_tells_its_offer_and_one_offered_to_nobody_nobody() -> None:
    decision = decide_task(_before(S.OPEN), Cancel(), MANAGER, NOW)
    assert decision.commands[-1] == Notify(why="canceled", to=OFFER)
    nobody = _before(S.OPEN, offer=Party())
    decision = decide_task(nobody, Cancel(), MANAGER, NOW)
    assert not any(isinstance(command, Notify) for command in decision.commands)


def test_a_reactivation_forgets_the_last_submission_and_decision() -> None:
    task = _before(
        S.CANCELED,
        submitted_by=ASSIGNEE_ID,
        submitted_at=EARLIER,
        submission={"a": 1},
        approvals=(Approval(by=MANAGER_ID, at=EARLIER),),
        decided_by=MANAGER_ID,
        decided_at=EARLIER,
        rejections=2,
    )
    decision = decide_task(task, Reactivate(reason="needed"), MANAGER, NOW)
    assert decision.state == _after(
        task,
        status=S.OPEN,
        assignee_id=None,
        submitted_by=None,
        submitted_at=None,
        submission=None,
        approvals=(),
        decided_by=None,
        decided_at=None,
    )
    assert decision.commands == (
        _record(AuditEvent.HUMAN_TASK_REACTIVATED, MANAGER_ID, (S.CANCELED, S.OPEN), "needed"),
    )


def test_creating_a_task_records_its_creator_and_deadline() -> None:
    task = task_in(S.OPEN, created_by=None)
    decision = create_task(task, MANAGER, NOW, due_in=timedelta(hours=8))
    due = NOW + timedelta(hours=8)
    assert decision.state == msgspec.structs.replace(
        task, created_by=MANAGER_ID, due_at=due, updated_at=NOW
    )
    assert decision.commands == (
        RecordAudit(
            event=AuditEvent.HUMAN_TASK_CREATED,
            actor_id=MANAGER_ID,
            data={"to": S.OPEN.value, "due_at": due.isoformat()},
        ),
        Notify(why="created", to=OFFER),
    )


def test_creating_a_task_with_an_assignee_assigns_it_at_the_same_moment() -> None:
    task = task_in(S.OPEN, step_bound=True, created_by=None)
    decision = create_task(task, TaskActor.SYSTEM, NOW, assignee=COLLEAGUE)
    assert decision.state == msgspec.structs.replace(
        task, status=S.ASSIGNED, assignee_id=COLLEAGUE_ID, updated_at=NOW
    )
    assert decision.commands == (
        RecordAudit(
            event=AuditEvent.HUMAN_TASK_CREATED,
            actor_id=None,
            data={"to": S.OPEN.value, "due_at": None},
        ),
        _record(
            AuditEvent.HUMAN_TASK_ASSIGNED,
            None,
            (S.OPEN, S.ASSIGNED),
            assignee_id=str(COLLEAGUE_ID),
            previous_assignee_id=None,
        ),
        Notify(why="created", to=Party(users=(COLLEAGUE_ID,))),
    )


def test_creating_a_task_offered_to_nobody_notifies_nobody() -> None:
    task = task_in(S.OPEN, created_by=None, offer=Party())
    decision = create_task(task, MANAGER, NOW)
    assert not any(isinstance(command, Notify) for command in decision.commands)
