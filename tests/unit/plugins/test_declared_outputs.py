"""Output Structs: every built-in action declares its own and returns what it declares; the
registry hands them to validation; ``check_output`` refuses an output off its Struct."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

import msgspec
import pytest
from govflow_jira.outputs import JiraCommentOutput, JiraTransitionOutput
from govflow_notification.outputs import NotificationOutput
from govflow_wait.action import WaitAction, WaitOutput

from govflow.core.action_types import ActionTypes, declared_outputs
from govflow.core.spec_errors import SpecError
from govflow.core.tasks.model import TaskOutput
from govflow.core.timers import timer_due_event
from govflow.core.validation import validate_workflow
from govflow.plugins import Action, ActionContext, Idempotency, PluginManager
from govflow.plugins.errors import InvalidActionError
from govflow.plugins.registry import ActionRegistry
from govflow.testing import RehearsalError, check_output, rehearse, run_action

BUILT_IN = {
    "manual": TaskOutput,
    "notification": NotificationOutput,
    "jira_comment": JiraCommentOutput,
    "jira_transition": JiraTransitionOutput,
    "wait": WaitOutput,
}


@pytest.fixture(scope="module")
def types() -> ActionTypes:
    allow = "manual,notification,jira,wait,workflow"
    return PluginManager.from_env({"GOVFLOW_PLUGINS_ALLOW": allow}).actions().inputs()


def test_every_built_in_action_declares_its_output(types: ActionTypes) -> None:
    assert declared_outputs(types) == BUILT_IN
    assert "workflow" in types  # a child's outputs: known from the child's file, not declared


def test_every_output_struct_refuses_a_key_it_does_not_declare() -> None:
    for struct in BUILT_IN.values():
        assert struct.__struct_config__.forbid_unknown_fields, struct


async def test_notification_log_returns_its_declared_output(types: ActionTypes) -> None:
    action = PluginManager.from_env({"GOVFLOW_PLUGINS_ALLOW": "notification"}).actions()
    notification = action.get("notification")
    assert notification is not None
    output = await run_action(notification, {"channel": "log", "message": "hi"})  # checks it
    check_output(notification, output)
    assert msgspec.convert(output, NotificationOutput).channel == "log"


async def test_wait_returns_its_declared_output_at_once_and_when_resumed() -> None:
    now = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
    action = WaitAction(clock=lambda: now)
    past = (now - timedelta(hours=1)).isoformat()
    output = await run_action(action, {"until": past})
    assert output == {"due_at": (now - timedelta(hours=1)).isoformat(), "waited": False}
    resumed = timer_due_event(now, now).output  # what the sweeper completes the step with
    check_output(action, resumed)
    assert msgspec.convert(resumed, WaitOutput).waited is True


class _Inputs(msgspec.Struct, frozen=True):
    pass


class _Out(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    total: int
    detail: _Detail | None = None


class _Detail(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    code: str


class _Counting(Action):
    name: ClassVar[str] = "counting"
    description: ClassVar[str] = "returns what the test sets"
    inputs: ClassVar[type[msgspec.Struct]] = _Inputs
    outputs: ClassVar[type[msgspec.Struct] | None] = _Out
    idempotency: ClassVar[Idempotency] = Idempotency.LOCAL
    returned: ClassVar[dict[str, Any]] = {}

    async def execute(self, ctx: ActionContext, params: Any) -> Mapping[str, Any]:
        return self.returned


class _Undeclared(_Counting):
    name: ClassVar[str] = "undeclared"
    outputs: ClassVar[type[msgspec.Struct] | None] = None


async def test_run_action_refuses_an_output_off_the_declared_struct() -> None:
    _Counting.returned = {"totl": 1, "detail": {"code": 7}}
    with pytest.raises(ValueError, match="does not fit its declared") as caught:
        await run_action(_Counting(), {})
    assert str(caught.value) == (
        "action 'counting' returned an output that does not fit its declared _Out: "
        "output.totl: unknown key 'totl' (did you mean 'total'?); "
        "output: missing required key 'total'; "
        "output.detail.code: expected text, got 7"
    )
    _Counting.returned = {"total": 1}
    assert await run_action(_Counting(), {}) == {"total": 1}
    _Counting.returned = {"anything": True}
    assert await run_action(_Undeclared(), {}) == {"anything": True}  # nothing declared


def test_the_registry_refuses_outputs_that_are_not_a_struct() -> None:
    class Broken(_Counting):
        outputs = dict  # type: ignore[assignment]

    with pytest.raises(InvalidActionError, match=r"outputs must be a msgspec\.Struct subclass"):
        ActionRegistry().add(Broken())


def test_an_action_without_outputs_is_not_checked_one_with_is() -> None:
    registry = ActionRegistry()
    registry.add(_Counting())
    registry.add(_Undeclared())
    types = registry.inputs()
    assert declared_outputs(types) == {"counting": _Out}
    text = """
name: third-party
title: Third party
department: testing
steps:
  - {id: a, action: undeclared}
  - {id: b, action: counting}
  - id: c
    action: counting
    if: "steps.a.output.whatever and steps.b.output.detail.cod"
"""
    with pytest.raises(SpecError) as caught:
        validate_workflow(text, "third.yaml", types)
    assert caught.value.format().splitlines() == [
        "third.yaml:10:9: steps[2].if: steps.b.output.detail.cod: no such field (did you mean "
        "'code'?) (action 'counting' outputs code)"
    ]
    assert validate_workflow(text, "third.yaml", dict(types)).name == "third-party"


def test_a_rehearsal_refuses_a_stub_that_is_not_the_declared_output() -> None:
    text = """
name: stubbed
title: Stubbed
department: general-administration
steps:
  - id: review
    action: manual
    with: {title: Review, assignee: {role: OPERATOR}}
"""
    with pytest.raises(RehearsalError) as caught:
        rehearse(text, {}, {"review": {"decison": "approved", "comments": "ok"}})
    assert str(caught.value) == (
        "step 'review': the stub is not an output of action 'manual': "
        "output.decison: unknown key 'decison' (did you mean 'decision'?); "
        "output.comments: expected a list, got 'ok'"
    )
    run = rehearse(text, {}, {"review": {"decision": "approved"}})  # fields may be left out
    assert run.outputs["review"] == {"decision": "approved"}
