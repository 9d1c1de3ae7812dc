"""Reviews: four-eyes, starter exclusion, N-of-M approvals, the reject-rework loop, on_reject."""

from __future__ import annotations

import msgspec
import pytest

from govflow.core.roles import Role
from govflow.core.tasks.decide import decide_task
from govflow.core.tasks.model import (
    Approve,
    Close,
    CompleteStep,
    FailStep,
    Notify,
    OnReject,
    Party,
    RecordAudit,
    Reject,
    Start,
    Submit,
    TaskActor,
    TaskDecision,
    TaskState,
)
from govflow.core.tasks.refusals import TaskActorRefusal, TaskInputRefusal, TaskStateRefusal
from govflow.core.tasks.vocabulary import TaskStatus

from .support import (
    ACTORS,
    ASSIGNEE_ID,
    DEPT,
    MANAGER_ID,
    NOW,
    OPERATOR_ID,
    REVIEWERS,
    SECOND_MANAGER,
    SECOND_MANAGER_ID,
    THIRD_MANAGER,
    task_in,
)

MANAGER = ACTORS["manager"]
ASSIGNEE = ACTORS["assignee"]
OPERATOR = ACTORS["operator"]


def _with_policy(task: TaskState, **policy: object) -> TaskState:
    return msgspec.structs.replace(task, policy=msgspec.structs.replace(task.policy, **policy))


def _events(decision: TaskDecision) -> list[str]:
    return [str(c.event) for c in decision.commands if isinstance(c, RecordAudit)]


def test_the_submitter_can_never_approve_even_as_a_named_reviewer() -> None:
    peers = Party(users=(ASSIGNEE_ID,), role=Role.MANAGER, department_id=DEPT)
    task = _with_policy(task_in(TaskStatus.SUBMITTED), reviewers=peers)
    for action in (Approve(), Reject(reason="no")):
        with pytest.raises(TaskActorRefusal) as refused:
            decide_task(task, action, ASSIGNEE, NOW)
        assert (refused.value.code, refused.value.field) == ("four_eyes", "submitted_by")


def test_a_manager_who_submitted_cannot_approve_their_own_work() -> None:
    task = task_in(TaskStatus.SUBMITTED, submitted_by=MANAGER_ID, assignee_id=MANAGER_ID)
    with pytest.raises(TaskActorRefusal, match="four_eyes"):
        decide_task(task, Approve(), MANAGER, NOW)
    assert decide_task(task, Approve(), SECOND_MANAGER, NOW).state.status == TaskStatus.APPROVED


def test_starter_cannot_approve_excludes_whoever_started_the_execution() -> None:
    task = task_in(TaskStatus.SUBMITTED, step_bound=True, started_by=MANAGER_ID)
    assert decide_task(task, Approve(), MANAGER, NOW).state.status == TaskStatus.CLOSED
    strict = _with_policy(task, starter_cannot_approve=True)
    with pytest.raises(TaskActorRefusal) as refused:
        decide_task(strict, Approve(), MANAGER, NOW)
    assert (refused.value.code, refused.value.field) == ("starter_cannot_approve", "started_by")
    with pytest.raises(TaskActorRefusal, match="starter_cannot_approve"):
        decide_task(strict, Reject(reason="no"), MANAGER, NOW)
    assert decide_task(strict, Approve(), SECOND_MANAGER, NOW).state.status == TaskStatus.CLOSED


def test_two_of_three_distinct_reviewers_approve_then_the_step_completes() -> None:
    task = _with_policy(
        task_in(TaskStatus.SUBMITTED, step_bound=True, submission={"amount": 12}),
        approvals=2,
    )
    first = decide_task(task, Approve(comment="fine"), MANAGER, NOW)
    assert first.state.status == TaskStatus.SUBMITTED
    assert [a.by for a in first.state.approvals] == [MANAGER_ID]
    assert _events(first) == ["HUMAN_TASK_APPROVAL_RECORDED"]
    audit = first.commands[0]
    assert isinstance(audit, RecordAudit)
    assert (audit.data["approvals"], audit.data["required"]) == (1, 2)
    assert not any(isinstance(c, CompleteStep) for c in first.commands)

    with pytest.raises(TaskActorRefusal) as again:
        decide_task(first.state, Approve(), MANAGER, NOW)
    assert again.value.code == "already_approved"

    second = decide_task(first.state, Approve(comment="agreed"), SECOND_MANAGER, NOW)
    assert second.state.status == TaskStatus.CLOSED
    assert _events(second) == ["HUMAN_TASK_APPROVED", "HUMAN_TASK_CLOSED"]
    [complete] = [c for c in second.commands if isinstance(c, CompleteStep)]
    assert complete.output.decision == "approved"
    assert complete.output.form == {"amount": 12}
    assert complete.output.submitted_by == ASSIGNEE_ID
    assert complete.output.approved_by == (MANAGER_ID, SECOND_MANAGER_ID)
    assert complete.output.comments == ("fine", "agreed")
    assert second.state.decided_by == SECOND_MANAGER_ID
    with pytest.raises(TaskStateRefusal, match="invalid_state"):
        decide_task(second.state, Approve(), THIRD_MANAGER, NOW)


def test_a_standalone_task_stays_approved_until_closed() -> None:
    decision = decide_task(task_in(TaskStatus.SUBMITTED), Approve(), MANAGER, NOW)
    assert decision.state.status == TaskStatus.APPROVED
    assert _events(decision) == ["HUMAN_TASK_APPROVED"]
    assert not any(isinstance(c, CompleteStep) for c in decision.commands)


def test_reject_rework_loop_counts_rejections_and_clears_approvals() -> None:
    task = _with_policy(task_in(TaskStatus.SUBMITTED, step_bound=True), approvals=2)
    task = decide_task(task, Approve(), MANAGER, NOW).state
    for round_ in (1, 2, 3):
        with pytest.raises(TaskInputRefusal) as no_reason:
            decide_task(task, Reject(reason="  "), SECOND_MANAGER, NOW)
        assert (no_reason.value.code, no_reason.value.field) == ("reason_required", "reason")
        rejected = decide_task(task, Reject(reason=f"round {round_}"), SECOND_MANAGER, NOW)
        assert rejected.state.status == TaskStatus.REJECTED
        assert rejected.state.rejections == round_
        assert rejected.state.rejection_reason == f"round {round_}"
        assert rejected.state.approvals == ()
        assert rejected.state.assignee_id == ASSIGNEE_ID
        audit = rejected.commands[0]
        assert isinstance(audit, RecordAudit)
        assert (audit.event, audit.reason) == ("HUMAN_TASK_REJECTED", f"round {round_}")
        assert audit.data["rejections"] == round_
        notices = [c for c in rejected.commands if isinstance(c, Notify)]
        told = Notify(why="rejected", to=Party(users=(ASSIGNEE_ID,)), detail=f"round {round_}")
        assert notices == [told]
        assert not any(isinstance(c, (FailStep, CompleteStep)) for c in rejected.commands)
        with pytest.raises(TaskActorRefusal, match="not_assignee"):
            decide_task(rejected.state, Start(), OPERATOR, NOW)
        restarted = decide_task(rejected.state, Start(), ASSIGNEE, NOW)
        assert restarted.state.status == TaskStatus.IN_PROGRESS
        task = decide_task(restarted.state, Submit(form={}), ASSIGNEE, NOW).state
        assert task.status == TaskStatus.SUBMITTED
    assert task.rejections == 3


def test_on_reject_fail_fails_the_step_and_closes_the_task() -> None:
    task = _with_policy(task_in(TaskStatus.SUBMITTED, step_bound=True), on_reject=OnReject.FAIL)
    decision = decide_task(task, Reject(reason="incomplete"), MANAGER, NOW)
    assert decision.state.status == TaskStatus.CLOSED
    assert _events(decision) == ["HUMAN_TASK_REJECTED", "HUMAN_TASK_CLOSED"]
    [fail] = [c for c in decision.commands if isinstance(c, FailStep)]
    assert fail.code == "task_rejected"
    assert "incomplete" in fail.message
    assert not any(isinstance(c, CompleteStep) for c in decision.commands)


def test_on_reject_fail_closes_a_standalone_task_without_a_step_to_fail() -> None:
    task = _with_policy(task_in(TaskStatus.SUBMITTED), on_reject=OnReject.FAIL)
    decision = decide_task(task, Reject(reason="incomplete"), MANAGER, NOW)
    assert decision.state.status == TaskStatus.CLOSED
    assert not any(isinstance(c, FailStep) for c in decision.commands)


def test_submit_without_review_completes_the_step_at_once() -> None:
    task = _with_policy(task_in(TaskStatus.IN_PROGRESS, step_bound=True), reviewers=None)
    decision = decide_task(task, Submit(form={}, comment="done"), ASSIGNEE, NOW)
    assert decision.state.status == TaskStatus.CLOSED
    assert _events(decision) == ["HUMAN_TASK_SUBMITTED", "HUMAN_TASK_CLOSED"]
    [complete] = [c for c in decision.commands if isinstance(c, CompleteStep)]
    assert complete.output.decision == "submitted"
    assert complete.output.approved_by == ()
    assert complete.output.comments == ("done",)


def test_without_review_nobody_approves_and_a_standalone_task_is_closed_by_a_manager() -> None:
    task = _with_policy(task_in(TaskStatus.IN_PROGRESS), reviewers=None)
    submitted = decide_task(task, Submit(form={}), ASSIGNEE, NOW).state
    assert submitted.status == TaskStatus.SUBMITTED
    with pytest.raises(TaskStateRefusal) as refused:
        decide_task(submitted, Approve(), MANAGER, NOW)
    assert refused.value.code == "no_review"
    assert decide_task(submitted, Close(), MANAGER, NOW).state.status == TaskStatus.CLOSED


def test_submit_with_review_notifies_the_reviewers() -> None:
    decision = decide_task(task_in(TaskStatus.IN_PROGRESS), Submit(form={}), ASSIGNEE, NOW)
    assert Notify(why="submitted", to=REVIEWERS) in decision.commands
    assert decision.state.submitted_by == ASSIGNEE_ID
    assert decision.state.submitted_at == NOW


def test_named_reviewers_outside_the_role_may_review_and_the_system_never_does() -> None:
    named = Party(users=(OPERATOR_ID,))
    task = _with_policy(task_in(TaskStatus.SUBMITTED), reviewers=named)
    assert decide_task(task, Approve(), OPERATOR, NOW).state.status == TaskStatus.APPROVED
    with pytest.raises(TaskActorRefusal, match="not_reviewer"):
        decide_task(task, Approve(), MANAGER, NOW)
    with pytest.raises(TaskActorRefusal, match="not_reviewer"):
        decide_task(task, Approve(), TaskActor.SYSTEM, NOW)


def test_concurrent_approvals_decided_on_one_version_both_claim_the_next_version() -> None:
    task = task_in(TaskStatus.SUBMITTED, step_bound=True, version=7)
    first = decide_task(task, Approve(), MANAGER, NOW)
    second = decide_task(task, Approve(), SECOND_MANAGER, NOW)
    assert first.state.version == second.state.version == 8
    with pytest.raises(TaskStateRefusal, match="invalid_state"):
        decide_task(first.state, Approve(), SECOND_MANAGER, NOW)
