"""Form validation on submit: typed fields, required, bounds, choices, dates; errors name paths."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest

from govflow.core.tasks.decide import decide_task
from govflow.core.tasks.forms import FormField, validate_form
from govflow.core.tasks.model import Submit, TaskPolicy
from govflow.core.tasks.refusals import FormProblem, TaskFormRefusal, TaskInputRefusal
from govflow.core.tasks.vocabulary import TaskStatus

from .support import ACTORS, NOW, REVIEWERS, task_in

FIELDS = {
    "root_cause": FormField(type="text", required=True, min=3, max=200),
    "amount": FormField(type="number", min=0, max=1000),
    "copies": FormField(type="integer", min=1),
    "urgent": FormField(type="boolean"),
    "risk": FormField(type="choice", options=("low", "medium", "high")),
    "level": FormField(type="enum", options=(1, 2, 3)),
    "visit_on": FormField(type="date", min="2026-01-01", max="2026-12-31"),
}


def test_a_valid_form_is_returned_as_given_without_absent_optional_fields() -> None:
    values = {"root_cause": "disk full", "amount": 12.5, "risk": "low", "visit_on": "2026-12-01"}
    assert validate_form(FIELDS, values) == values


@pytest.mark.parametrize(
    ("values", "problems"),
    [
        ({}, [("form.root_cause", "required")]),
        ({"root_cause": ""}, [("form.root_cause", "required")]),
        ({"root_cause": None}, [("form.root_cause", "required")]),
        ({"root_cause": "ok"}, [("form.root_cause", "length must be at least 3, got 2")]),
        ({"root_cause": 42}, [("form.root_cause", "expected a string")]),
        ({"root_cause": "abc", "amount": "12"}, [("form.amount", "expected a number")]),
        ({"root_cause": "abc", "amount": True}, [("form.amount", "expected a number")]),
        (
            {"root_cause": "abc", "amount": 1000.5},
            [("form.amount", "value must be at most 1000, got 1000.5")],
        ),
        ({"root_cause": "abc", "copies": 1.5}, [("form.copies", "expected an integer")]),
        (
            {"root_cause": "abc", "copies": 0},
            [("form.copies", "value must be at least 1, got 0")],
        ),
        ({"root_cause": "abc", "urgent": "yes"}, [("form.urgent", "expected true or false")]),
        (
            {"root_cause": "abc", "risk": "extreme"},
            [("form.risk", "expected one of 'low', 'medium', 'high', got 'extreme'")],
        ),
        (
            {"root_cause": "abc", "level": True},
            [("form.level", "expected one of 1, 2, 3, got True")],
        ),
        (
            {"root_cause": "abc", "visit_on": "01/12/2026"},
            [("form.visit_on", "expected a date as YYYY-MM-DD, got '01/12/2026'")],
        ),
        (
            {"root_cause": "abc", "visit_on": "2027-01-01"},
            [("form.visit_on", "date must be at most 2026-12-31, got 2027-01-01")],
        ),
        ({"root_cause": "abc", "extra": 1}, [("form.extra", "not a field of this form")]),
        (
            {"amount": -1, "zz": 0, "aa": 0},
            [
                ("form.aa", "not a field of this form"),
                ("form.zz", "not a field of this form"),
                ("form.root_cause", "required"),
                ("form.amount", "value must be at least 0, got -1"),
            ],
        ),
    ],
)
def test_every_problem_names_its_field_path(
    values: dict[str, Any], problems: list[tuple[str, str]]
) -> None:
    with pytest.raises(TaskFormRefusal) as refused:
        validate_form(FIELDS, values)
    assert refused.value.problems == tuple(FormProblem(path, reason) for path, reason in problems)
    assert refused.value.code == "form_invalid"
    assert refused.value.field == problems[0][0]
    assert isinstance(refused.value, TaskInputRefusal)


def test_an_invalid_submit_changes_nothing_and_a_valid_one_keeps_the_form() -> None:
    policy = TaskPolicy(reviewers=REVIEWERS, form=FIELDS)
    task = msgspec.structs.replace(task_in(TaskStatus.IN_PROGRESS), policy=policy)
    with pytest.raises(TaskFormRefusal) as refused:
        decide_task(task, Submit(form={"amount": 5}), ACTORS["assignee"], NOW)
    assert refused.value.field == "form.root_cause"
    assert task.status == TaskStatus.IN_PROGRESS
    decision = decide_task(task, Submit(form={"root_cause": "fan"}), ACTORS["assignee"], NOW)
    assert decision.state.submission == {"root_cause": "fan"}
