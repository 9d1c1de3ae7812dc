"""The built-in plugins: declarations, input validation and behaviour."""

from __future__ import annotations

import logging
from typing import Any

import msgspec
import pytest
from govflow_jira import JiraCommentInputs, JiraTransitionInputs
from govflow_manual import ManualInputs
from govflow_notification import NotificationInputs

from govflow.plugins import (
    BusinessError,
    Idempotency,
    PluginManager,
)
from govflow.testing import decode_inputs, make_context, run_action

DECLARED = {
    "manual": (Idempotency.LOCAL, ManualInputs),
    "notification": (Idempotency.LOCAL, NotificationInputs),
    "jira_comment": (Idempotency.REMOTE_LOOKUP, JiraCommentInputs),
    "jira_transition": (Idempotency.REMOTE_LOOKUP, JiraTransitionInputs),
}


@pytest.fixture(scope="module")
def manager() -> PluginManager:
    return PluginManager.from_env({"GOVFLOW_PLUGINS_ALLOW": "manual,notification,jira"})


@pytest.mark.parametrize("name", sorted(DECLARED))
def test_declared_strategy_and_schema(manager: PluginManager, name: str) -> None:
    strategy, inputs = DECLARED[name]
    action = manager.actions().get(name)
    assert action is not None
    assert action.idempotency is strategy
    assert action.inputs is inputs
    info = next(a for p in manager.plugin_info() for a in p.actions if a.name == name)
    assert info.inputs_schema == msgspec.json.schema(inputs)
    assert info.idempotency == str(strategy)


# -- notification --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("with_", "problem"),
    [
        ({"channel": "webhook", "message": "m"}, "the webhook channel needs `url`"),
        ({"channel": "email", "message": "m"}, "the email channel needs `to`"),
        ({"channel": "log", "message": "m", "url": "https://x"}, "`url` does not apply"),
        ({"channel": "email", "message": "m", "to": ["a@b.ch"], "level": "info"}, "`level`"),
        ({"channel": "sms", "message": "m"}, "channel"),
        ({"channel": "webhook", "message": "m", "url": "ftp://x"}, "url"),
    ],
)
def test_notification_channel_requirements(with_: dict[str, Any], problem: str) -> None:
    with pytest.raises(msgspec.ValidationError, match=problem):
        msgspec.convert(with_, NotificationInputs)


@pytest.mark.parametrize(
    ("with_", "strategy"),
    [
        ({"channel": "log", "message": "m"}, Idempotency.LOCAL),
        ({"channel": "webhook", "message": "m", "url": "https://x"}, Idempotency.REMOTE_KEY),
        ({"channel": "email", "message": "m", "to": ["a@b.ch"]}, Idempotency.AT_MOST_ONCE),
    ],
)
def test_notification_strategy_per_channel(
    manager: PluginManager, with_: dict[str, Any], strategy: Idempotency
) -> None:
    action = manager.actions().get("notification")
    assert action is not None
    assert action.idempotency_for(decode_inputs(action, with_)) is strategy


async def test_notification_log(manager: PluginManager, caplog: pytest.LogCaptureFixture) -> None:
    action = manager.actions().get("notification")
    assert action is not None
    with caplog.at_level(logging.DEBUG, logger="govflow.action.test"):
        output = await run_action(action, {"channel": "log", "message": "hi", "level": "warning"})
    assert output == {"channel": "log", "delivered": True, "message": "hi"}
    (record,) = caplog.records
    assert record.levelno == logging.WARNING
    assert record.getMessage() == "notification: hi"
    assert record.step == "step"  # type: ignore[attr-defined]


async def test_notification_email_without_smtp_is_a_business_error(
    manager: PluginManager,
) -> None:
    action = manager.actions().get("notification")
    assert action is not None
    with pytest.raises(BusinessError, match="GOVFLOW_NOTIFICATION_SMTP_HOST"):
        await run_action(action, {"channel": "email", "message": "m", "to": ["a@b.ch"]})


# -- jira ----------------------------------------------------------------------------------


def test_jira_transition_needs_exactly_one_target() -> None:
    for with_ in ({"issue": "PA-1"}, {"issue": "PA-1", "to_status": "Done", "transition_id": "3"}):
        with pytest.raises(msgspec.ValidationError, match="exactly one"):
            msgspec.convert(with_, JiraTransitionInputs)
    with pytest.raises(msgspec.ValidationError, match="issue"):
        msgspec.convert({"issue": "p-1", "body": "b"}, JiraCommentInputs)


@pytest.mark.parametrize(
    ("name", "with_"),
    [
        ("jira_comment", {"issue": "PERMIT-1", "body": "ok"}),
        ("jira_transition", {"issue": "PERMIT-1", "to_status": "Done"}),
    ],
)
async def test_jira_disabled_is_a_business_error(
    manager: PluginManager, name: str, with_: dict[str, Any]
) -> None:
    action = manager.actions().get(name)
    assert action is not None
    with pytest.raises(BusinessError, match=r"Jira is not configured \(JIRA_ENABLED=false\)"):
        await run_action(action, with_)
    with pytest.raises(BusinessError, match="not configured"):
        await action.lookup(make_context(), decode_inputs(action, with_))
