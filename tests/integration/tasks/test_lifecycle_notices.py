"""A ``manual`` step's task notifies its lifecycle through a real loopback SMTP server: its
creation (stored by the sweep, the worker's finish stores none), the claim, the submission to
its reviewers and the rejection, with its reason, to the submitter, each once; and a failure
to store a decision's notices (a real PostgreSQL error) is logged and counted while the action
goes through."""

from __future__ import annotations

from collections.abc import AsyncIterator
from uuid import UUID

import asyncpg
import pytest
from prometheus_client import REGISTRY

from govflow.bootstrap import Container, container
from govflow.core.audit_events import AuditEvent
from govflow.core.roles import Role
from govflow.core.tasks.model import Claim, Reject, Start, Submit
from govflow.settings import Settings
from govflow.usecases.principal import Principal
from govflow.usecases.start_execution import StartRequest
from govflow.usecases.tasks import act_on_task
from tests.support.engine import CollectingQueue, install_workflow, mails_swept, plugins_for_tests
from tests.support.peers import SmtpServer

NOTIFIED = """
name: notified
title: Notified
department: general-administration
steps:
  - id: review
    action: manual
    with:
      title: "Review C-1"
      assignee: {role: OPERATOR}
      reviewers: {role: MANAGER}
      notify:
        - {channel: email, on: [created, claimed, submitted, rejected]}
        - {channel: log, on: [created]}
"""


@pytest.fixture
async def mailing(
    settings: Settings, smtp_server: SmtpServer, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Container]:
    """The engine, the notification plugin's email going to the loopback SMTP server."""
    monkeypatch.setenv("GOVFLOW_PLUGIN_NOTIFICATION_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("GOVFLOW_PLUGIN_NOTIFICATION_SMTP_PORT", str(smtp_server.port))
    async with container(settings, plugins=plugins_for_tests()) as services:
        services.queue = CollectingQueue()  # type: ignore[assignment]
        async with services.db.pool.acquire() as conn:
            await install_workflow(conn, NOTIFIED)
        yield services


async def _user(conn: asyncpg.Connection, email: str, role: Role) -> Principal:
    department_id = await conn.fetchval(
        "SELECT id FROM departments WHERE code = 'general-administration'"
    )
    user_id = await conn.fetchval(
        "INSERT INTO users (email, full_name, password_hash, role, department_id) "
        "VALUES ($1, $1, 'x', $2, $3) RETURNING id",
        email,
        role.value,
        department_id,
    )
    return Principal(user_id=user_id, email=email, role=role, department_id=department_id)


async def _waiting_task(engine: Container) -> UUID:
    started = await engine.start_execution(StartRequest(workflow="notified"))
    await engine.step_runner().run(started.first_step_id)  # type: ignore[arg-type]
    task_id: UUID = await engine.db.pool.fetchval(
        "SELECT id FROM human_tasks WHERE execution_id = $1", started.execution_id
    )
    return task_id


async def test_a_step_task_mails_its_creation_claim_submission_and_rejection_once(
    mailing: Container, smtp_server: SmtpServer
) -> None:
    async with mailing.db.pool.acquire() as conn:
        clerk = await _user(conn, "clerk@example.org", Role.OPERATOR)
        boss = await _user(conn, "boss@example.org", Role.MANAGER)
    task_id = await _waiting_task(mailing)
    await mails_swept(mailing, smtp_server, 1)
    await mailing.sweeper().sweep_once()  # the creation is stored and sent once
    assert len(smtp_server.messages) == 1

    for action in (Claim(), Start(), Submit()):
        await act_on_task(mailing.tasks, mailing.queue, task_id, action, clerk)
    await act_on_task(
        mailing.tasks, mailing.queue, task_id, Reject(reason="the receipt is missing"), boss
    )
    await mails_swept(mailing, smtp_server, 4)
    await mailing.sweeper().sweep_once()
    assert len(smtp_server.messages) == 4

    mails = [
        (mail.message["Subject"], tuple(mail.rcpt_tos), mail.message.get_content())
        for mail in smtp_server.messages
    ]
    assert [(subject, to) for subject, to, _ in mails] == [
        ("GovFlow task created", ("clerk@example.org",)),
        ("GovFlow task claimed", ("clerk@example.org",)),
        ("GovFlow task submitted", ("boss@example.org",)),
        ("GovFlow task rejected", ("clerk@example.org",)),
    ]
    assert f'Task "Review C-1" ({task_id}) was opened for you.' in mails[0][2]
    assert f"({task_id}) was submitted for your review." in mails[2][2]
    assert f"({task_id}) was rejected. Reason: the receipt is missing" in mails[3][2]
    rows = await mailing.db.pool.fetch(
        "SELECT key, channel->>'channel' AS channel, sent_at IS NOT NULL AS sent "
        "FROM task_notifications WHERE task_id = $1 ORDER BY id",
        task_id,
    )
    assert [(row["key"], row["channel"], row["sent"]) for row in rows] == [
        (f"task:{task_id}:created:v1:0", "email", True),
        (f"task:{task_id}:created:v1:1", "log", True),
        (f"task:{task_id}:claimed:v2:0", "email", True),
        (f"task:{task_id}:submitted:v4:0", "email", True),
        (f"task:{task_id}:rejected:v5:0", "email", True),
    ]


def _not_stored(why: str) -> float:
    sample = "govflow_human_task_notifications_not_stored_total"
    return REGISTRY.get_sample_value(sample, {"why": why}) or 0.0


async def test_a_failure_to_store_the_notices_is_counted_and_the_claim_goes_through(
    mailing: Container,
    smtp_server: SmtpServer,
    caplog: pytest.LogCaptureFixture,
    database_url: str,
) -> None:
    async with mailing.db.pool.acquire() as conn:
        clerk = await _user(conn, "clerk@example.org", Role.OPERATOR)
    task_id = await _waiting_task(mailing)
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
    before = _not_stored("claimed")

    acted = await act_on_task(mailing.tasks, mailing.queue, task_id, Claim(), clerk)

    assert acted.task.state.assignee_id == clerk.user_id
    assert _not_stored("claimed") == before + 1
    assert "notices of task" in caplog.text
    async with mailing.db.pool.acquire() as conn:
        row = await conn.fetchrow(
            "SELECT status, assignee_id, version FROM human_tasks WHERE id = $1", task_id
        )
        actions = await conn.fetch(
            "SELECT action FROM audit_logs WHERE entity_id = $1 ORDER BY id", str(task_id)
        )
        notices = await conn.fetchval(
            "SELECT count(*) FROM task_notifications WHERE task_id = $1", task_id
        )
    assert row is not None
    assert (row["status"], row["assignee_id"], row["version"]) == ("ASSIGNED", clerk.user_id, 2)
    assert [r["action"] for r in actions] == [AuditEvent.HUMAN_TASK_CLAIMED]
    assert notices == 0
    # the creation notice cannot be stored either: the sweep logs, counts and goes on
    created_before = _not_stored("created")
    report = await mailing.sweeper().sweep_once()
    assert report.task_notices_sent == 0
    assert _not_stored("created") == created_before  # the task moved on: not announced late
    assert smtp_server.messages == []
