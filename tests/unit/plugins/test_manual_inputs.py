"""The ``manual`` action: its ``with:`` keys checked (problems name the key path), and the task
it suspends with, its people resolved through the host's directory."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, get_args
from uuid import UUID

import msgspec
import pytest
from govflow_manual import ManualInputs

from govflow.core.spec_errors import SpecError
from govflow.core.validation import validate_workflow
from govflow.plugins import Action, BusinessError, PluginManager, Suspend
from govflow.testing import decode_inputs, make_context, run_action

ANA = UUID(int=11)
BEN = UUID(int=12)
WORKS = UUID(int=21)


class FakeDirectory:
    """Ana and Ben are active (Cy exists but is not); one department, ``public-works``."""

    def __init__(self) -> None:
        self.asked: list[tuple[str, list[str]]] = []

    async def active_users(self, emails: Sequence[str]) -> Mapping[str, UUID]:
        self.asked.append(("users", list(emails)))
        known = {"ana@example.org": ANA, "ben@example.org": BEN}
        return {email: known[email] for email in emails if email in known}

    async def departments(self, codes: Sequence[str]) -> Mapping[str, UUID]:
        self.asked.append(("departments", list(codes)))
        return {code: WORKS for code in codes if code == "public-works"}


@pytest.fixture(scope="module")
def action() -> Action:
    found = PluginManager.from_env({"GOVFLOW_PLUGINS_ALLOW": "manual"}).actions().get("manual")
    assert found is not None
    return found


FULL: dict[str, Any] = {
    "title": "Review PERMIT-1",
    "description": "Check the plans",
    "assignee": {"user": ["Ana@example.org", "ben@example.org"], "role": "OPERATOR"},
    "reviewers": {"department": "public-works", "role": "MANAGER"},
    "approvals": 2,
    "starter_cannot_approve": True,
    "on_reject": "fail",
    "form": {
        "amount": {"type": "number", "required": True, "min": 0, "max": 1000},
        "risk": {"type": "choice", "options": ["low", "high"]},
    },
    "due_in": "2d",
    "escalate_to": {"user": "ben@example.org"},
    "notify": [
        {"channel": "email", "to": ["ops@example.org"], "on": ["overdue"]},
        {"channel": "webhook", "url": "https://hooks.example.org/tasks"},
    ],
}


async def _payload(action: Action, with_: Mapping[str, Any], directory: Any) -> dict[str, Any]:
    with pytest.raises(Suspend) as caught:
        await run_action(action, with_, make_context(resources=directory))
    assert caught.value.reason == "human_task"
    return caught.value.payload


async def test_every_key_reaches_the_task_with_people_resolved(action: Action) -> None:
    payload = await _payload(action, FULL, FakeDirectory())

    assert payload["assignee"] == {"users": [str(ANA), str(BEN)], "role": "OPERATOR",
                                   "department_id": None}  # fmt: skip
    assert payload["reviewers"] == {"users": [], "role": "MANAGER", "department_id": str(WORKS)}
    assert payload["escalate_to"] == {"users": [str(BEN)], "role": None, "department_id": None}
    assert payload["approvals"] == 2
    assert payload["starter_cannot_approve"] is True
    assert payload["on_reject"] == "fail"
    assert payload["form"]["amount"]["max"] == 1000
    assert payload["notify"] == [
        {"channel": "email", "to": ["ops@example.org"], "on": ["overdue"]},
        {"channel": "webhook", "url": "https://hooks.example.org/tasks"},
    ]
    assert payload["idempotency_key"] == make_context().idempotency_key


async def test_each_name_is_looked_up_once(action: Action) -> None:
    directory = FakeDirectory()
    with_ = {**FULL, "escalate_to": {"user": "ANA@example.org"}}
    await _payload(action, with_, directory)
    assert directory.asked == [
        ("users", ["ana@example.org", "ben@example.org"]),
        ("departments", ["public-works"]),
    ]


async def test_roles_alone_need_no_directory(action: Action) -> None:
    with_ = {"title": "t", "assignee": {"role": "OPERATOR"}, "reviewers": {"role": "MANAGER"}}
    payload = await _payload(action, with_, None)
    assert payload["assignee"] == {"users": [], "role": "OPERATOR", "department_id": None}
    assert payload["escalate_to"] is None
    assert payload["notify"] == []


@pytest.mark.parametrize(
    ("with_", "message"),
    [
        (
            {"title": "t", "assignee": {"user": "cy@example.org"}},
            "assignee.user: no active user has the email 'cy@example.org'",
        ),
        (
            {"title": "t", "assignee": {"role": "OPERATOR"},
             "reviewers": {"user": ["ana@example.org", "nobody@example.org"]}},
            "reviewers.user: no active user has the email 'nobody@example.org'",
        ),
        (
            {"title": "t", "assignee": {"department": "parks"}},
            "assignee.department: no department has the code 'parks'",
        ),
        (
            {"title": "t", "assignee": {"role": "OPERATOR"}, "due_in": "1d",
             "escalate_to": {"department": "parks"}},
            "escalate_to.department: no department has the code 'parks'",
        ),
    ],
)  # fmt: skip
async def test_an_unknown_or_inactive_name_fails_the_step_naming_it(
    action: Action, with_: dict[str, Any], message: str
) -> None:
    with pytest.raises(BusinessError) as caught:
        await run_action(action, with_, make_context(resources=FakeDirectory()))
    assert str(caught.value) == message


async def test_without_a_directory_users_cannot_be_named(action: Action) -> None:
    with pytest.raises(BusinessError, match="name roles only"):
        await run_action(action, {"title": "t", "assignee": {"user": "ana@example.org"}})


@pytest.mark.parametrize(
    ("with_", "problem"),
    [
        ({"title": "t", "assignee": {}}, "name at least one of user, role or department"),
        ({"title": "t", "assignee": {"user": "not-an-email"}}, "`user` expects an email"),
        ({"title": "t", "assignee": {"user": []}}, "`user` lists 1 to 50 emails"),
        ({"title": "t", "assignee": {"user": ["a@b.ch", "nope"]}}, r"with.assignee.user\[1\]"),
        ({"title": "t", "assignee": {"role": "CLERK"}}, "with.assignee.role"),
        ({"title": "t", "assignee": {"department": "Public Works"}}, "with.assignee.department"),
        ({"title": "t", "assignee": {"team": "x"}}, "with.assignee.team: unknown key"),
        ({"title": "t", "assignee": {"role": "OPERATOR"}, "reviewer": {"role": "MANAGER"}},
         "with.reviewer: unknown key 'reviewer' \\(did you mean 'reviewers'\\?\\)"),
        ({"title": "t", "assignee": {"role": "OPERATOR"}, "reviewers": {}}, "at least one"),
        ({"title": "t", "assignee": {"role": "OPERATOR"}, "reviewers": {"role": "MANAGER"},
          "approvals": 0}, "with.approvals: value must be at least 1"),
        ({"title": "t", "assignee": {"role": "OPERATOR"}, "approvals": 2},
         "`approvals` needs `reviewers`"),
        ({"title": "t", "assignee": {"role": "OPERATOR"}, "starter_cannot_approve": True},
         "`starter_cannot_approve` needs `reviewers`"),
        ({"title": "t", "assignee": {"role": "OPERATOR"}, "reviewers": {"role": "MANAGER"},
          "on_reject": "retry"}, "with.on_reject"),
        ({"title": "t", "assignee": {"role": "OPERATOR"}, "due_in": "2 days"}, "with.due_in"),
        ({"title": "t", "assignee": {"role": "OPERATOR"}, "escalate_to": {"role": "MANAGER"}},
         "`escalate_to` needs `due_in`"),
        ({"title": "t", "assignee": {"role": "OPERATOR"}, "due_in": "1d",
          "escalate_to": {"role": "MANAGER", "user": "a@b.ch"}}, "exactly one"),
        ({"title": "t", "assignee": {"role": "OPERATOR"}, "form": {"x": {"type": "choice"}}},
         "form.x: options are required"),
        ({"title": "t", "assignee": {"role": "OPERATOR"}, "form": {"x": {"type": "money"}}},
         "with.form.x.type"),
        ({"title": "t", "assignee": {"role": "OPERATOR"}, "form": {"x": {"kind": "text"}}},
         "with.form.x.kind: unknown key"),
        ({"title": "t", "assignee": {"role": "OPERATOR"}, "form": {"a b": {"type": "text"}}},
         "with.form.a b"),
        ({"title": "t", "assignee": {"role": "OPERATOR"}, "notify": [{"channel": "sms"}]},
         r"with.notify\[0\].channel"),
        ({"title": "t", "assignee": {"role": "OPERATOR"},
          "notify": [{"channel": "log", "on": ["approved"]}]}, r"with.notify\[0\].on"),
        ({"title": "t", "assignee": {"role": "OPERATOR"},
          "notify": [{"channel": "log", "on": []}]}, r"with.notify\[0\].on"),
        ({"title": "t", "assignee": {"role": "OPERATOR"}, "notify": [{"channel": "webhook"}]},
         "the webhook channel needs `url`"),
        ({"title": "t", "assignee": {"role": "OPERATOR"},
          "notify": [{"channel": "log", "to": ["a@b.ch"]}]}, "`to` does not apply"),
        ({"title": "t", "assignee": {"role": "OPERATOR"},
          "notify": [{"channel": "email", "to": ["a@b.ch"], "subject": "Hi\r\nBcc: x@y.z"}]},
         r"with.notify\[0\].subject"),
        ({"title": "t", "assignee": {"role": "OPERATOR"},
          "notify": [{"channel": "email", "to": ["a@b.ch"], "subject": "s" * 501}]},
         r"with.notify\[0\].subject"),
        ({"assignee": {"role": "OPERATOR"}}, "title"),
    ],
)  # fmt: skip
def test_bad_inputs_are_refused_naming_the_key(
    action: Action, with_: dict[str, Any], problem: str
) -> None:
    with pytest.raises(ValueError, match=problem):
        decode_inputs(action, with_)


def test_any_combination_of_user_role_and_department_is_accepted(action: Action) -> None:
    for assignee in (
        {"user": "a@b.ch"},
        {"user": ["a@b.ch", "c@d.ch"]},
        {"role": "OPERATOR", "department": "public-works"},
        {"user": "a@b.ch", "role": "OPERATOR", "department": "public-works"},
    ):
        params = decode_inputs(action, {"title": "t", "assignee": assignee})
        assert isinstance(params, ManualInputs)


WORKFLOW = """\
name: reviewed
title: Reviewed
department: general-administration
steps:
  - id: review
    action: manual
    with:
      title: Review
      assignee: {role: OPERATOR}
      reviewers: {role: MANAGER}
      approvals: 2
      form:
        x: {type: choice}
"""


def test_a_workflow_file_reports_the_problem_at_its_position(action: Action) -> None:
    with pytest.raises(SpecError) as caught:
        validate_workflow(WORKFLOW, "w.yaml", {"manual": action.inputs})
    (problem,) = caught.value.problems
    assert "form.x: options are required" in problem.message
    assert problem.path.startswith("steps[0].with")
    assert problem.line >= 7


DSL_DOC = Path(__file__).resolve().parents[3] / "docs" / "dsl.md"


def _keys(struct: type[msgspec.Struct]) -> set[str]:
    keys: set[str] = set()
    for field in msgspec.structs.fields(struct):
        keys.add(field.encode_name)
        for inner in _structs(field.type):
            keys |= _keys(inner)
    return keys


def _structs(annotation: Any) -> list[type[msgspec.Struct]]:
    if isinstance(annotation, type) and issubclass(annotation, msgspec.Struct):
        return [annotation]
    return [found for arg in get_args(annotation) for found in _structs(arg)]


@pytest.mark.parametrize("key", sorted(_keys(ManualInputs)))
def test_every_manual_key_is_documented(key: str) -> None:
    section = DSL_DOC.read_text().split("## The `manual` step")[1].split("\n## ")[0]
    assert f"`{key}`" in section, f"the manual key {key!r} is not documented in docs/dsl.md"
