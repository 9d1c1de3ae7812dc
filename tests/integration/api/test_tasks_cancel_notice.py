"""An operator's cancel of an execution cancels the open task of its WAITING ``manual`` step
and sends the ``canceled`` notice through the outbox to the channels that asked for it, once:
a real loopback SMTP server gets the mail (to the task's assignee) and a real webhook receiver
the signed delivery; a later sweep sends neither again. A notice the outbox refuses (a real
PostgreSQL error) is logged and counted, and the cancel goes through."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import asyncpg
import pytest
from prometheus_client import REGISTRY

from govflow.adapters.db.workflows import PgWorkflowStore
from govflow.bootstrap import Container, container
from govflow.core.validation import validate_workflow
from govflow.settings import Settings
from govflow.usecases.audit import SYSTEM
from tests.integration.api.conftest import ApiHarness
from tests.integration.api.workflow_support import department_code, lowercase_departments
from tests.support.engine import CollectingQueue, mails_swept, plugins_for_tests
from tests.support.peers import (  # noqa: F401 - fixtures
    SmtpServer,
    WebhookReceiver,
    smtp_server,
    start_smtp_server,
    webhook_receiver,
)

CANCELABLE = """
name: cancelable-review
title: A review an operator may call off
department: DEPT
steps:
  - id: review
    action: manual
    with:
      title: "Review R-7"
      assignee: {role: OPERATOR}
      reviewers: {role: MANAGER}
      notify:
        - {channel: email, on: [canceled]}
        - {channel: webhook, url: "HOOK", on: [canceled]}
        - {channel: log}
"""


@pytest.fixture
async def services(
    settings: Settings,
    smtp_server: SmtpServer,  # noqa: F811
    webhook_receiver: WebhookReceiver,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> AsyncIterator[Container]:
    """The services: the notification plugin's email to the loopback SMTP server, its webhooks
    allowed to the loopback receiver."""
    monkeypatch.setenv("GOVFLOW_PLUGIN_NOTIFICATION_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("GOVFLOW_PLUGIN_NOTIFICATION_SMTP_PORT", str(smtp_server.port))
    monkeypatch.setenv(
        "GOVFLOW_PLUGIN_NOTIFICATION_WEBHOOK_ALLOWLIST",
        f"http://127.0.0.1:{webhook_receiver.port}/hooks/",
    )
    allowed = settings.model_copy(update={"outbound_allow_networks": ["127.0.0.0/8"]})
    async with container(allowed, plugins=plugins_for_tests()) as built:
        built.queue = CollectingQueue()  # type: ignore[assignment]
        yield built


async def _claimed_task(api: ApiHarness, hook: str) -> tuple[str, str]:
    """Start the review, run its step and claim its task as the OPERATOR: execution, task."""
    await lowercase_departments(api)
    text = CANCELABLE.replace("DEPT", department_code("A")).replace("HOOK", hook)
    spec = validate_workflow(text, "cancelable.yaml", api.services.actions.inputs())
    async with api.services.db.pool.acquire() as conn:
        saved = await PgWorkflowStore(conn).save(spec, text, "cancelable.yaml", SYSTEM)
    started = await api.client.post(
        f"/workflows/{saved.workflow_id}/executions", json={}, headers=api.headers("OPERATOR")
    )
    assert started.status_code == 201, started.text
    execution_id = started.json()["data"]["execution_id"]
    queue: CollectingQueue = api.services.queue  # type: ignore[assignment]
    await api.services.step_runner().run(queue.woken[-1])
    listed = await api.client.get(
        f"/tasks?execution_id={execution_id}", headers=api.headers("OPERATOR")
    )
    [task] = listed.json()["data"]
    claimed = await api.client.post(
        f"/tasks/{task['id']}/claim", json={}, headers=api.headers("OPERATOR")
    )
    assert claimed.status_code == 200, claimed.text
    return execution_id, task["id"]


async def test_canceling_the_execution_sends_the_tasks_canceled_notice_once(
    api: ApiHarness,
    smtp_server: SmtpServer,  # noqa: F811
    webhook_receiver: WebhookReceiver,  # noqa: F811
) -> None:
    execution_id, task_id = await _claimed_task(api, webhook_receiver.url)
    task = {"id": task_id}
    canceled = await api.client.post(
        f"/workflow-executions/{execution_id}/cancel",
        json={"reason": "filed twice"},
        headers=api.headers("MANAGER"),
    )
    assert canceled.status_code == 200, canceled.text
    shown = await api.client.get(f"/tasks/{task['id']}", headers=api.headers("MANAGER"))
    assert (shown.json()["data"]["status"], shown.json()["data"]["version"]) == ("CANCELED", 3)

    await mails_swept(api.services, smtp_server, 1)
    deadline = time.monotonic() + 15
    while not webhook_receiver.deliveries:  # sent by the same sweeps: polled with a deadline
        assert time.monotonic() < deadline, "no webhook delivery"
        await api.services.sweeper().sweep_once()
        await asyncio.sleep(0.05)
    for _ in range(2):  # later sweeps send nothing again
        await api.services.sweeper().sweep_once()

    assert len(smtp_server.messages) == 1
    [mail] = smtp_server.messages
    assert mail.message["Subject"] == "GovFlow task canceled"
    assert tuple(mail.rcpt_tos) == (api.user("OPERATOR").email,)
    assert f'Task "Review R-7" ({task["id"]}) was canceled.' in mail.message.get_content()
    assert [d.key for d in webhook_receiver.deliveries] == [f"task:{task['id']}:canceled:v3:1"]
    assert f"({task['id']}) was canceled." in str(webhook_receiver.deliveries[0].payload)
    rows = await api.services.db.pool.fetch(
        "SELECT key, channel->>'channel' AS channel, sent_at IS NOT NULL AS sent "
        "FROM task_notifications WHERE task_id = $1 ORDER BY id",
        task["id"],
    )
    assert [(r["key"], r["channel"], r["sent"]) for r in rows] == [
        (f"task:{task['id']}:canceled:v3:0", "email", True),
        (f"task:{task['id']}:canceled:v3:1", "webhook", True),
    ]
    audit = await api.services.db.pool.fetchrow(
        "SELECT actor_email, reason, metadata->>'from' AS previous FROM audit_logs "
        "WHERE entity_id = $1 AND action = 'HUMAN_TASK_CANCELED'",
        task["id"],
    )
    assert audit is not None
    assert (audit["actor_email"], audit["reason"], audit["previous"]) == (
        api.user("MANAGER").email,
        "filed twice",
        "ASSIGNED",
    )


async def test_a_canceled_notice_not_stored_is_counted_and_the_cancel_goes_through(
    api: ApiHarness,
    webhook_receiver: WebhookReceiver,  # noqa: F811
    database_url: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    execution_id, task_id = await _claimed_task(api, webhook_receiver.url)
    owner = await asyncpg.connect(database_url)  # the services' role may not create triggers
    try:
        await owner.execute(
            "CREATE FUNCTION refuse_notice() RETURNS trigger LANGUAGE plpgsql AS "
            "$$ BEGIN RAISE EXCEPTION 'the outbox refuses'; END $$"
        )
        await owner.execute(
            "CREATE TRIGGER refuse_notice BEFORE INSERT ON task_notifications "
            "FOR EACH ROW EXECUTE FUNCTION refuse_notice()"
        )
    finally:
        await owner.close()
    sample = "govflow_human_task_notifications_not_stored_total"
    before = REGISTRY.get_sample_value(sample, {"why": "canceled"}) or 0.0

    canceled = await api.client.post(
        f"/workflow-executions/{execution_id}/cancel",
        json={"reason": "filed twice"},
        headers=api.headers("MANAGER"),
    )

    assert canceled.status_code == 200, canceled.text
    shown = await api.client.get(f"/tasks/{task_id}", headers=api.headers("MANAGER"))
    assert shown.json()["data"]["status"] == "CANCELED"
    assert (REGISTRY.get_sample_value(sample, {"why": "canceled"}) or 0.0) == before + 1
    assert "canceled notices of task" in caplog.text
    assert await api.services.db.pool.fetchval("SELECT count(*) FROM task_notifications") == 0
