"""``POST /tasks`` with ``notify``, through the real app and a real loopback SMTP server: the
channels are validated (400 naming the field), the creation's notice is stored with the task,
a cancel's with the decision, and the scheduler's sweep emails both to the assignee, once."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from govflow.bootstrap import Container, container
from govflow.settings import Settings
from tests.integration.api.conftest import ApiHarness
from tests.support.engine import mails_swept, plugins_for_tests
from tests.support.peers import (  # noqa: F401 - fixtures
    SmtpServer,
    smtp_server,
    start_smtp_server,
)


@pytest.fixture
async def services(
    settings: Settings,
    smtp_server: SmtpServer,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> AsyncIterator[Container]:
    """The services, the notification plugin's email going to the loopback SMTP server."""
    monkeypatch.setenv("GOVFLOW_PLUGIN_NOTIFICATION_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("GOVFLOW_PLUGIN_NOTIFICATION_SMTP_PORT", str(smtp_server.port))
    async with container(settings, plugins=plugins_for_tests()) as built:
        yield built


async def _create(api: ApiHarness, **body: Any) -> httpx.Response:
    return await api.client.post(
        "/tasks", json={"title": "Check the extinguishers", **body}, headers=api.headers("MANAGER")
    )


def _errors(response: httpx.Response) -> list[tuple[str, str]]:
    return [(error["field"], error["message"]) for error in response.json()["errors"]]


async def test_a_task_opened_with_notify_emails_its_creation_and_its_cancel_once(
    api: ApiHarness,
    smtp_server: SmtpServer,  # noqa: F811
) -> None:
    operator = api.user("OPERATOR")
    created = await _create(
        api,
        assignee_id=str(operator.id),
        notify=[{"channel": "email", "on": ["created", "canceled"]}, {"channel": "log"}],
    )
    assert created.status_code == 201, created.text
    task_id = created.json()["data"]["id"]
    stored = await api.services.db.pool.fetch(
        "SELECT key, why FROM task_notifications WHERE task_id = $1 ORDER BY id", task_id
    )
    # the log channel hears of assigned and overdue only: the creation is for the email one
    assert [(row["key"], row["why"]) for row in stored] == [
        (f"task:{task_id}:created:v1:0", "created")
    ]
    canceled = await api.client.post(
        f"/tasks/{task_id}/cancel", json={"reason": "done already"}, headers=api.headers("MANAGER")
    )
    assert canceled.status_code == 200, canceled.text

    await mails_swept(api.services, smtp_server, 2)
    await api.services.sweeper().sweep_once()
    assert len(smtp_server.messages) == 2  # each once
    subjects = [mail.message["Subject"] for mail in smtp_server.messages]
    assert subjects == ["GovFlow task created", "GovFlow task canceled"]
    assert {tuple(mail.rcpt_tos) for mail in smtp_server.messages} == {(operator.email,)}
    texts = [mail.message.get_content() for mail in smtp_server.messages]
    assert f'Task "Check the extinguishers" ({task_id}) was opened for you.' in texts[0]
    assert f"({task_id}) was canceled." in texts[1]


@pytest.mark.parametrize(
    ("channel", "field", "message"),
    [
        ({"channel": "webhook"}, "body.notify[0].url", "the webhook channel needs `url`"),
        (
            {"channel": "log", "url": "https://hooks.example.org/x"},
            "body.notify[0].url",
            "`url` does not apply to the log channel",
        ),
        (
            {"channel": "email", "to": ["a@example.org"], "level": "info"},
            "body.notify[0].level",
            "`level` does not apply to the email channel",
        ),
    ],
)
async def test_a_channel_missing_or_refusing_a_field_is_a_400_naming_it(
    api: ApiHarness, channel: dict[str, Any], field: str, message: str
) -> None:
    refused = await _create(api, notify=[{"channel": "log"}, channel])
    assert refused.status_code == 400, refused.text
    assert _errors(refused) == [(field.replace("[0]", "[1]"), message)]
    assert await api.count("human_tasks") == 0


@pytest.mark.parametrize(
    "channel",
    [
        {"channel": "sms"},
        {"channel": "email", "on": ["someday"]},
        {"channel": "email", "on": []},
        {"channel": "email", "to": ["not an address"]},
        {"channel": "log", "colour": "red"},
        {"channel": "webhook", "url": "ftp://files.example.org/"},
        {"channel": "email", "subject": "Hello\r\nBcc: all@example.org"},
        {"channel": "email", "subject": "x" * 501},
    ],
)
async def test_a_malformed_channel_is_a_400_naming_notify(
    api: ApiHarness, channel: dict[str, Any]
) -> None:
    refused = await _create(api, notify=[channel])
    assert refused.status_code == 400, refused.text
    fields = [field for field, _ in _errors(refused)]
    assert fields, refused.text
    assert all(field.startswith("body.notify[0]") for field in fields), fields


async def test_more_than_ten_channels_are_refused(api: ApiHarness) -> None:
    refused = await _create(api, notify=[{"channel": "log"}] * 11)
    assert refused.status_code == 400, refused.text
    assert [field for field, _ in _errors(refused)] == ["body.notify"]


async def test_a_task_shows_its_channels_with_credentials_masked(api: ApiHarness) -> None:
    url = "https://bot:hunter2@hooks.example.org/tasks?team=7"
    created = await _create(
        api,
        notify=[
            {"channel": "webhook", "url": url, "secret": "tasks-hook", "on": ["canceled"]},
            {"channel": "email", "to": ["desk@example.org"], "subject": "Heads up"},
            {"channel": "log", "level": "warning"},
        ],
    )
    assert created.status_code == 201, created.text
    task_id = created.json()["data"]["id"]

    shown = await api.client.get(f"/tasks/{task_id}", headers=api.headers("MANAGER"))

    assert shown.status_code == 200, shown.text
    assert shown.json()["data"]["notify"] == [
        {
            "channel": "webhook",
            "on": ["canceled"],
            "level": None,
            "url": "https://bot:***@hooks.example.org/tasks?team=7",
            "secret": "[secret:tasks-hook]",
            "to": None,
            "subject": None,
        },
        {
            "channel": "email",
            "on": ["assigned", "overdue"],
            "level": None,
            "url": None,
            "secret": None,
            "to": ["desk@example.org"],
            "subject": "Heads up",
        },
        {
            "channel": "log",
            "on": ["assigned", "overdue"],
            "level": "warning",
            "url": None,
            "secret": None,
            "to": None,
            "subject": None,
        },
    ]
    assert "hunter2" not in shown.text
    assert created.json()["data"]["notify"] == shown.json()["data"]["notify"]
    silent = await _create(api)
    assert silent.json()["data"]["notify"] == []

    schema = (await api.client.get("/schema/openapi.json")).json()
    view = schema["components"]["schemas"]["TaskView"]
    assert "notify" in view["required"]
    channel = schema["components"]["schemas"]["NotifyView"]
    assert sorted(channel["properties"]) == [
        "channel",
        "level",
        "on",
        "secret",
        "subject",
        "to",
        "url",
    ]
