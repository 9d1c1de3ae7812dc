"""Status values are their names and the groups partition what they claim to."""

from __future__ import annotations

from enum import StrEnum

import pytest

from govflow.core.statuses import ExecutionStatus, HumanTaskStatus, StepStatus


@pytest.mark.parametrize("enum", [ExecutionStatus, StepStatus, HumanTaskStatus])
def test_values_are_the_upper_case_names(enum: type[StrEnum]) -> None:
    assert all(member.value == member.name for member in enum)


def test_groups_are_not_members() -> None:
    assert [s.value for s in ExecutionStatus] == [
        "PENDING",
        "RUNNING",
        "WAITING",
        "COMPLETED",
        "FAILED",
        "CANCELED",
        "NEEDS_ATTENTION",
    ]
    assert len(list(StepStatus)) == 8
    assert len(list(HumanTaskStatus)) == 9


def test_execution_groups() -> None:
    assert ExecutionStatus.ACTIVE.isdisjoint(ExecutionStatus.TERMINAL)
    assert set(ExecutionStatus) == (
        ExecutionStatus.ACTIVE | ExecutionStatus.TERMINAL | {ExecutionStatus.NEEDS_ATTENTION}
    )


def test_step_groups() -> None:
    assert StepStatus.DONE < StepStatus.TERMINAL
    assert StepStatus.ACTIVE.isdisjoint(StepStatus.TERMINAL)
    assert set(StepStatus) == (
        StepStatus.ACTIVE | StepStatus.TERMINAL | {StepStatus.NEEDS_ATTENTION}
    )


def test_human_task_groups_partition() -> None:
    assert HumanTaskStatus.ACTIVE.isdisjoint(HumanTaskStatus.TERMINAL)
    assert set(HumanTaskStatus) == (
        HumanTaskStatus.ACTIVE | HumanTaskStatus.TERMINAL | {HumanTaskStatus.APPROVED}
    )
    assert set(HumanTaskStatus) - {HumanTaskStatus.DELETED} == HumanTaskStatus.LISTED
