"""Steps of a graph (``needs:``): every event at every state decides as for a step of a list,
except that going on releases the steps that need this one instead of the next, and failing the
execution cancels its other open branches; a join is released by its last need, once."""

from __future__ import annotations

import itertools
from dataclasses import replace

import pytest

from govflow.core.audit_events import AuditEvent
from govflow.core.engine import (
    BRANCH_RUNNABLE,
    BRANCHES_WAIT,
    AttemptFailedBusiness,
    AttemptSucceeded,
    AttemptSuspended,
    Audit,
    BranchDecision,
    CancelOpenBranches,
    ConditionFalse,
    ContinueWithNextStep,
    Decision,
    Event,
    FailExecution,
    FollowBranches,
    ReleaseDependents,
    ResetAttempts,
    ScheduleRetry,
    StepError,
    StepState,
    decide,
    decide_branches,
    decide_reopen,
)
from govflow.core.graph import graph_of, graph_place, join_released
from govflow.core.idempotency import Idempotency
from govflow.core.machines import IllegalTransition
from govflow.core.statuses import ExecutionStatus, StepStatus

from .support import NOW, every_event, kinds, of_type, running

REFUSED = StepError("REFUSED", "the permit office refused the request")

EVENTS: list[Event] = every_event(REFUSED)

STATES: list[StepState] = [
    running(
        execution_status=execution_status,
        step_status=step_status,
        attempt=attempt,
        idempotency=idempotency,
        attempt_started=started,
        is_last_step=last,
        continue_on_error=tolerant,
    )
    for execution_status, step_status, attempt, idempotency, started, last, tolerant in (
        itertools.product(
            ExecutionStatus,
            StepStatus,
            (1, 3),
            (Idempotency.NONE, Idempotency.REMOTE_LOOKUP, Idempotency.AT_MOST_ONCE),
            (False, True),
            (False, True),
            (False, True),
        )
    )
]

DEPENDENTS = (2, 3)
"""A fork: the step is needed by the steps at positions 2 and 3."""


def outcome(state: StepState, event: Event) -> Decision | type[Exception]:
    try:
        return decide(state, event, NOW)
    except (IllegalTransition, ValueError) as error:
        return type(error)


RESUMED = Audit(AuditEvent.WORKFLOW_EXECUTION_PROCESS_RESUMED)
WAITS = Audit(AuditEvent.WORKFLOW_EXECUTION_PROCESS_WAITING)
BRANCH_RESUMED = Audit(AuditEvent.WORKFLOW_EXECUTION_PROCESS_RESUMED, BRANCH_RUNNABLE)


def left_to_the_branches(state: StepState, listed: Decision) -> Decision:
    """A list's step resumes its waiting execution when it settles, and makes it wait when it
    suspends; a graph's step (but the graph's end) leaves both to the execution's open steps
    (FollowBranches): the list's decision without them. The graph's end, which runs alone,
    resumes and completes the execution as a list's last step does."""
    changes = (WAITS,) if state.is_last_step else (RESUMED, WAITS)
    if not any(c in changes for c in listed.commands):
        return listed
    return replace(
        listed,
        execution_status=None,
        commands=tuple(c for c in listed.commands if c not in changes),
    )


def as_in_a_list(decision: Decision) -> Decision:
    """A graph step's decision with its graph commands put back as a list step's."""
    commands = []
    for command in decision.commands:
        if isinstance(command, ReleaseDependents):
            commands.append(ContinueWithNextStep())
        elif not isinstance(command, CancelOpenBranches | FollowBranches):
            commands.append(command)
    return replace(decision, commands=tuple(commands))


def suspended_while_another_waits(state: StepState, event: Event) -> bool:
    return (
        isinstance(event, AttemptSuspended)
        and state.execution_status is ExecutionStatus.WAITING
        and state.step_status is StepStatus.RUNNING
    )


@pytest.mark.parametrize("event", EVENTS, ids=lambda event: type(event).__name__)
def test_every_event_at_every_state(event: Event) -> None:
    for state in STATES:
        listed = outcome(state, event)
        graphed = outcome(replace(state, dependents=DEPENDENTS), event)
        if suspended_while_another_waits(state, event):
            # A list has one step that waits; in a graph another branch may wait already.
            assert listed is IllegalTransition
            assert isinstance(graphed, Decision)
            assert (graphed.step_status, graphed.execution_status) == (StepStatus.WAITING, None)
            assert of_type(graphed, FollowBranches) == [FollowBranches()]
            continue
        if not isinstance(listed, Decision):
            assert graphed == listed, state
            continue
        assert isinstance(graphed, Decision), state
        listed = left_to_the_branches(state, listed)
        assert as_in_a_list(graphed) == listed, state
        assert (graphed.step_status, graphed.execution_status) == (
            listed.step_status,
            listed.execution_status,
        )
        goes_on = bool(of_type(listed, ContinueWithNextStep))
        assert of_type(graphed, ReleaseDependents) == (
            [ReleaseDependents(DEPENDENTS)] if goes_on else []
        ), state
        follows = goes_on or graphed.step_status is StepStatus.WAITING != state.step_status
        assert of_type(graphed, FollowBranches) == ([FollowBranches()] if follows else []), state
        assert not of_type(graphed, ContinueWithNextStep)
        fails = bool(of_type(listed, FailExecution))
        cancels = of_type(graphed, CancelOpenBranches)
        assert len(cancels) == (1 if fails else 0), state
        if cancels:
            assert cancels[0].from_statuses == {
                StepStatus.PENDING,
                StepStatus.RUNNING,
                StepStatus.WAITING,
                StepStatus.NEEDS_ATTENTION,
            }


@pytest.mark.parametrize("execution_status", list(ExecutionStatus))
@pytest.mark.parametrize("runnable", [False, True])
@pytest.mark.parametrize("waiting", [False, True])
def test_the_execution_of_a_graph_follows_its_open_steps(
    execution_status: ExecutionStatus, runnable: bool, waiting: bool
) -> None:
    decided = decide_branches(execution_status, runnable=runnable, waiting=waiting)
    if execution_status is ExecutionStatus.RUNNING and waiting and not runnable:
        assert decided == BranchDecision(
            ExecutionStatus.WAITING,
            (Audit(AuditEvent.WORKFLOW_EXECUTION_PROCESS_WAITING, BRANCHES_WAIT),),
        )
    elif execution_status is ExecutionStatus.WAITING and runnable:
        assert decided == BranchDecision(ExecutionStatus.RUNNING, (BRANCH_RESUMED,))
    else:  # running while one runs, waiting while every open step waits; others untouched
        assert decided == BranchDecision(None, ())


def test_a_completed_branch_releases_its_dependents() -> None:
    decision = decide(running(dependents=DEPENDENTS), AttemptSucceeded({"ok": 1}), NOW)
    assert decision.step_status is StepStatus.COMPLETED
    assert decision.execution_status is None
    assert kinds(decision) == ["RecordOutput", "ReleaseDependents", "FollowBranches"]


def test_a_skipped_branch_releases_its_dependents_too() -> None:
    decision = decide(running(dependents=DEPENDENTS), ConditionFalse(), NOW)
    assert decision.step_status is StepStatus.SKIPPED
    assert kinds(decision) == ["ReleaseDependents", "FollowBranches"]


def test_a_tolerated_failure_releases_its_dependents() -> None:
    state = running(dependents=DEPENDENTS, continue_on_error=True)
    decision = decide(state, AttemptFailedBusiness(REFUSED), NOW)
    assert decision.step_status is StepStatus.FAILED
    assert kinds(decision) == ["RecordStepError", "ReleaseDependents", "FollowBranches"]


def test_a_failed_branch_fails_the_execution_and_cancels_the_others() -> None:
    decision = decide(running(dependents=DEPENDENTS), AttemptFailedBusiness(REFUSED), NOW)
    assert (decision.step_status, decision.execution_status) == (
        StepStatus.FAILED,
        ExecutionStatus.FAILED,
    )
    assert kinds(decision) == ["FailExecution", "CancelOpenBranches"]


def test_the_end_of_the_graph_completes_the_execution() -> None:
    decision = decide(running(dependents=(), is_last_step=True), AttemptSucceeded({}), NOW)
    assert decision.execution_status is ExecutionStatus.COMPLETED
    assert kinds(decision) == ["RecordOutput", "CompleteExecution"]


def test_a_join_is_released_by_its_last_need_only() -> None:
    assert [join_released(left) for left in (1, 2, 3, 100)] == [True, False, False, False]
    with pytest.raises(ValueError, match="at least one"):
        join_released(0)


@pytest.mark.parametrize("needs", [1, 2, 3, 4])
def test_counting_the_needs_down_releases_the_join_once_at_the_last(needs: int) -> None:
    released = [join_released(left) for left in range(needs, 0, -1)]
    assert released == [False] * (needs - 1) + [True]


def test_a_diamond_graph() -> None:
    diamond = graph_of([(), (0,), (0,), (1, 2)])
    assert not diamond.linear
    assert diamond.roots == (0,)
    assert diamond.ends == (3,)
    assert diamond.dependents == ((1, 2), (3,), (3,), ())
    assert diamond.ancestors(3) == {0, 1, 2}
    assert diamond.ancestors(2) == {0}
    assert graph_place(diamond, 0) == (False, (1, 2))
    assert graph_place(diamond, 3) == (True, ())
    assert graph_place(diamond, 4) is None  # past the graph (a failure handler)


def test_a_list_is_no_graph() -> None:
    listed = graph_of([(), (0,), (1,)])
    assert listed.linear
    assert graph_place(listed, 1) is None


def test_a_branch_settling_or_waiting_leaves_the_execution_to_its_open_steps() -> None:
    waiting = running(execution_status=ExecutionStatus.WAITING, dependents=DEPENDENTS)
    decision = decide(waiting, AttemptSucceeded({"ok": 1}), NOW)
    assert (decision.step_status, decision.execution_status) == (StepStatus.COMPLETED, None)
    assert kinds(decision) == ["RecordOutput", "ReleaseDependents", "FollowBranches"]
    approved = replace(waiting, step_status=StepStatus.WAITING)
    resumed = decide(approved, AttemptSucceeded({"decision": "approved"}), NOW)
    assert (resumed.step_status, resumed.execution_status) == (StepStatus.COMPLETED, None)
    assert kinds(resumed) == ["RecordOutput", "ReleaseDependents", "FollowBranches"]
    suspended = decide(running(dependents=DEPENDENTS), AttemptSuspended({"title": "T"}), NOW)
    assert (suspended.step_status, suspended.execution_status) == (StepStatus.WAITING, None)
    assert kinds(suspended) == ["CreateHumanTask", "FollowBranches"]


def test_the_end_of_a_graph_that_waited_resumes_and_completes_it() -> None:
    end = running(
        execution_status=ExecutionStatus.WAITING,
        step_status=StepStatus.WAITING,
        dependents=(),
        is_last_step=True,
    )
    decision = decide(end, AttemptSucceeded({"decision": "approved"}), NOW)
    assert decision.execution_status is ExecutionStatus.COMPLETED
    assert RESUMED in decision.commands


@pytest.mark.parametrize("step_status", list(StepStatus))
@pytest.mark.parametrize("needs_left", [0, 1, 2])
def test_a_retry_reopens_a_canceled_branch_only(step_status: StepStatus, needs_left: int) -> None:
    if step_status is not StepStatus.CANCELED:
        with pytest.raises(IllegalTransition):
            decide_reopen(step_status, needs_left, NOW)
        return
    decision = decide_reopen(step_status, needs_left, NOW)
    reopened = Audit(
        AuditEvent.WORKFLOW_EXECUTION_STEP_REOPENED, "branch_reopened", {"needs_left": needs_left}
    )
    due = (ScheduleRetry(NOW),) if needs_left == 0 else ()
    assert decision == Decision(StepStatus.PENDING, None, (ResetAttempts(), *due, reopened))


def test_a_reopened_branch_needs_a_count_and_an_aware_clock() -> None:
    with pytest.raises(ValueError, match="negative"):
        decide_reopen(StepStatus.CANCELED, -1, NOW)
    with pytest.raises(ValueError, match="timezone"):
        decide_reopen(StepStatus.CANCELED, 0, NOW.replace(tzinfo=None))
