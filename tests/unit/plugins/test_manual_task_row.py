"""A ``manual`` step's task payload as the columns of its human task, and the departments a
workflow's steps name, found for checking against the database."""

from __future__ import annotations

from uuid import UUID

import msgspec
import pytest
from govflow_manual import ManualInputs

from govflow.core.department_refs import department_references
from govflow.core.yaml_source import load_yaml
from govflow.usecases.translate import human_task_row

ANA = str(UUID(int=11))
WORKS = str(UUID(int=21))

PAYLOAD = {
    "title": "Review",
    "description": "Check it",
    "assignee": {"users": [ANA], "role": "OPERATOR", "department_id": None},
    "reviewers": {"users": [], "role": "MANAGER", "department_id": WORKS},
    "approvals": 2,
    "starter_cannot_approve": True,
    "on_reject": "fail",
    "form": {"x": {"type": "number", "required": True}},
    "due_in": "1h",
    "escalate_to": {"users": [], "role": "MANAGER", "department_id": None},
    "notify": [{"channel": "log"}],
    "idempotency_key": "k",
}


def test_every_key_becomes_its_column() -> None:
    assert human_task_row(PAYLOAD) == {
        "title": "Review",
        "description": "Check it",
        "assignee_role": "OPERATOR",
        "offer_department_id": None,
        "offer_users": [ANA],
        "reviewer_role": "MANAGER",
        "reviewer_department_id": WORKS,
        "reviewer_users": [],
        "approvals_required": 2,
        "starter_cannot_approve": True,
        "on_reject": "fail",
        "escalate_to": {"users": [], "role": "MANAGER", "department_id": None},
        "notify": [{"channel": "log"}],
        "form": {"x": {"type": "number", "required": True}},
        "due_in_seconds": 3600.0,
    }


def test_a_task_without_review_or_deadline_has_the_defaults() -> None:
    row = human_task_row({"title": "t", "assignee": {"users": [], "role": "OPERATOR"}})
    assert row["reviewer_role"] is None
    assert row["reviewer_users"] == []
    assert row["approvals_required"] == 1
    assert row["starter_cannot_approve"] is False
    assert row["on_reject"] == "rework"
    assert row["escalate_to"] is None
    assert row["notify"] is None
    assert row["due_in_seconds"] is None


WORKFLOW = """\
name: w
title: W
department: general-administration
inputs:
  team: {type: string}
steps:
  - id: one
    action: manual
    with:
      title: t
      assignee: {department: public-works, role: OPERATOR}
      reviewers: {department: "{{ inputs.team }}"}
      due_in: 1d
      escalate_to: {department: urban-planning}
  - id: two
    action: notification
    with: {channel: log, message: "department: nowhere"}
  - id: three
    action: manual
    with:
      title: t
      assignee: {user: [a@b.ch]}
      reviewers: {department: parks}
"""


def test_the_departments_steps_name_literally_are_found_with_their_path() -> None:
    source = load_yaml(WORKFLOW, "w.yaml")
    found = department_references(source.data, {"manual": ManualInputs})
    assert found == [
        ("steps[0].with.assignee.department", "public-works"),
        ("steps[0].with.escalate_to.department", "urban-planning"),
        ("steps[2].with.reviewers.department", "parks"),
    ]
    line, col = source.position(found[2][0])
    assert (line, col) == (23, 31)


@pytest.mark.parametrize("struct", [ManualInputs])
def test_department_inputs_are_marked_in_the_schema(struct: type[msgspec.Struct]) -> None:
    text = msgspec.json.encode(msgspec.json.schema(struct)).decode()
    assert text.count('"x-govflow-ref":"department"') == 2  # Parties and EscalateTo
