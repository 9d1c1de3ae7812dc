"""Every (status, event) pair of every machine against a table written out by hand.

The expected tables below are deliberately a second copy of the machines: a change to a machine
must be made here too, or a test fails.
"""

from __future__ import annotations

import itertools
from enum import StrEnum
from typing import Any

import pytest

from govflow.core.machines import (
    EXECUTION_MACHINE,
    MACHINES,
    STEP_MACHINE,
    ExecutionEvent,
    IllegalTransition,
    Machine,
    StepEvent,
    transition,
)
from govflow.core.statuses import ExecutionStatus, StepStatus

EXPECTED_EXECUTION: dict[tuple[str, str], str] = {
    ("PENDING", "START"): "RUNNING",
    ("PENDING", "FAIL"): "FAILED",
    ("PENDING", "CANCEL"): "CANCELED",
    ("RUNNING", "STEP_WAITING"): "WAITING",
    ("RUNNING", "COMPLETE"): "COMPLETED",
    ("RUNNING", "FAIL"): "FAILED",
    ("RUNNING", "CANCEL"): "CANCELED",
    ("RUNNING", "NEEDS_ATTENTION"): "NEEDS_ATTENTION",
    ("WAITING", "RESUME"): "RUNNING",
    ("WAITING", "FAIL"): "FAILED",
    ("WAITING", "CANCEL"): "CANCELED",
    ("NEEDS_ATTENTION", "OPERATOR_RETRY"): "RUNNING",
    ("NEEDS_ATTENTION", "OPERATOR_RESOLVE"): "RUNNING",
    ("NEEDS_ATTENTION", "CANCEL"): "CANCELED",
    ("FAILED", "OPERATOR_RETRY"): "RUNNING",
    ("PENDING", "TIME_OUT"): "FAILED",
    ("RUNNING", "TIME_OUT"): "FAILED",
    ("WAITING", "TIME_OUT"): "FAILED",
    ("NEEDS_ATTENTION", "TIME_OUT"): "FAILED",
}

EXPECTED_STEP: dict[tuple[str, str], str] = {
    ("PENDING", "CLAIM"): "RUNNING",
    ("PENDING", "SKIP"): "SKIPPED",
    ("RUNNING", "SKIP"): "SKIPPED",
    ("PENDING", "CANCEL"): "CANCELED",
    ("RUNNING", "COMPLETE"): "COMPLETED",
    ("RUNNING", "FAIL_BUSINESS"): "FAILED",
    ("RUNNING", "FAIL_TECHNICAL_RETRY"): "PENDING",
    ("RUNNING", "FAIL_EXHAUSTED"): "FAILED",
    ("RUNNING", "SUSPEND"): "WAITING",
    ("RUNNING", "LEASE_EXPIRED"): "PENDING",
    ("RUNNING", "HAND_BACK"): "PENDING",
    ("RUNNING", "NEEDS_ATTENTION"): "NEEDS_ATTENTION",
    ("RUNNING", "CANCEL"): "CANCELED",
    ("WAITING", "RESUME"): "RUNNING",
    ("WAITING", "COMPLETE"): "COMPLETED",
    ("WAITING", "FAIL_BUSINESS"): "FAILED",
    ("WAITING", "CANCEL"): "CANCELED",
    ("NEEDS_ATTENTION", "OPERATOR_RETRY"): "PENDING",
    ("NEEDS_ATTENTION", "OPERATOR_SKIP"): "SKIPPED",
    ("NEEDS_ATTENTION", "OPERATOR_MARK_DONE"): "COMPLETED",
    ("NEEDS_ATTENTION", "CANCEL"): "CANCELED",
    ("FAILED", "OPERATOR_RETRY"): "PENDING",
    ("CANCELED", "OPERATOR_REOPEN"): "PENDING",
}

CASES: list[tuple[Machine[Any, Any], dict[tuple[str, str], str]]] = [
    (EXECUTION_MACHINE, EXPECTED_EXECUTION),
    (STEP_MACHINE, EXPECTED_STEP),
]


def _product(machine: Machine[Any, Any], expected: dict[tuple[str, str], str]) -> list[Any]:
    return [
        pytest.param(
            machine,
            status,
            event,
            expected.get((status.value, event.value)),
            id=f"{machine.name}-{status.value}-{event.value}",
        )
        for status, event in itertools.product(
            machine.statuses.__members__.values(), machine.events.__members__.values()
        )
    ]


ALL_PAIRS = [p for machine, expected in CASES for p in _product(machine, expected)]


@pytest.mark.parametrize(("machine", "status", "event", "target"), ALL_PAIRS)
def test_every_pair_is_allowed_with_its_exact_target_or_illegal(
    machine: Machine[Any, Any], status: StrEnum, event: StrEnum, target: str | None
) -> None:
    if target is None:
        with pytest.raises(IllegalTransition) as caught:
            transition(machine, status, event)
        assert (caught.value.machine, caught.value.status, caught.value.event) == (
            machine.name,
            status,
            event,
        )
    else:
        assert transition(machine, status, event) == machine.statuses(target)


def test_the_cartesian_product_is_complete() -> None:
    sizes = {m.name: len(m.statuses.__members__) * len(m.events.__members__) for m in MACHINES}
    assert sizes == {"execution": 7 * 10, "step": 8 * 16}
    assert len(ALL_PAIRS) == sum(sizes.values())


@pytest.mark.parametrize(("machine", "expected"), CASES, ids=[m.name for m, _ in CASES])
def test_every_table_key_is_a_real_status_and_event(
    machine: Machine[Any, Any], expected: dict[tuple[str, str], str]
) -> None:
    for (status, event), target in expected.items():
        machine.statuses(status)
        machine.events(event)
        machine.statuses(target)
    assert set(machine.table) == set(machine.statuses.__members__.values())


def test_illegal_transition_message_names_machine_status_and_event() -> None:
    with pytest.raises(
        IllegalTransition, match=r"^step: event CLAIM is not allowed from status COMPLETED$"
    ):
        transition(STEP_MACHINE, StepStatus.COMPLETED, StepEvent.CLAIM)


def test_illegal_transition_is_a_value_error() -> None:
    assert issubclass(IllegalTransition, ValueError)


@pytest.mark.parametrize(
    ("machine", "status"),
    [
        (EXECUTION_MACHINE, ExecutionStatus.CANCELED),
        (EXECUTION_MACHINE, ExecutionStatus.COMPLETED),
        (STEP_MACHINE, StepStatus.COMPLETED),
        (STEP_MACHINE, StepStatus.SKIPPED),
    ],
)
def test_final_statuses_never_leave(machine: Machine[Any, Any], status: StrEnum) -> None:
    assert machine.allowed(status) == {}


def test_a_canceled_step_leaves_only_when_an_operator_reopens_its_branch() -> None:
    assert STEP_MACHINE.allowed(StepStatus.CANCELED) == {
        StepEvent.OPERATOR_REOPEN: StepStatus.PENDING
    }


@pytest.mark.parametrize("machine", MACHINES, ids=[m.name for m in MACHINES])
def test_terminal_statuses_leave_only_by_operator_events(machine: Machine[Any, Any]) -> None:
    terminal = machine.statuses.TERMINAL
    for status in terminal:
        for event in machine.allowed(status):
            assert event.value.startswith("OPERATOR_"), (status, event)


def test_failed_execution_can_be_retried_by_an_operator() -> None:
    assert (
        transition(EXECUTION_MACHINE, ExecutionStatus.FAILED, ExecutionEvent.OPERATOR_RETRY)
        is ExecutionStatus.RUNNING
    )
