"""Task deadlines through the real sweeper on real PostgreSQL: a task whose short deadline
passes is marked overdue and escalated exactly once while two sweepers race, the metrics move,
and its notifications reach a real loopback receiver exactly once; an assignment's notification
is emailed to the assignee through a real SMTP server."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any
from uuid import UUID

import asyncpg
import pytest
from prometheus_client import REGISTRY

from govflow.adapters.db.seed import seed_departments
from govflow.bootstrap import Container, container
from govflow.core.audit_events import AuditEvent
from govflow.core.roles import Role
from govflow.core.statuses import HumanTaskStatus
from govflow.core.tasks.model import Assign
from govflow.settings import Settings
from govflow.usecases.principal import Principal
from govflow.usecases.sweep import SweepReport
from govflow.usecases.tasks import act_on_task
from tests.support.engine import CollectingQueue, plugins_for_tests
from tests.support.peers import SmtpServer, WebhookReceiver


async def poll(check: Callable[[], Awaitable[bool]], timeout: float = 15.0) -> None:
    """Run ``check`` until it holds; fail at the deadline."""
    deadline = time.monotonic() + timeout
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        await asyncio.sleep(0.05)


@pytest.fixture
async def engine(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, webhook_receiver: WebhookReceiver
) -> AsyncIterator[Container]:
    """The engine with loopback webhooks allowed to the receiver."""
    monkeypatch.setenv(
        "GOVFLOW_PLUGIN_NOTIFICATION_WEBHOOK_ALLOWLIST",
        f"http://127.0.0.1:{webhook_receiver.port}/hooks/",
    )
    allowed = settings.model_copy(update={"outbound_allow_networks": ["127.0.0.0/8"]})
    async with container(allowed, plugins=plugins_for_tests()) as services:
        services.queue = CollectingQueue()  # type: ignore[assignment]
        yield services


async def _user(conn: asyncpg.Connection, email: str, role: Role) -> Principal:
    await seed_departments(conn)
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


async def _task(
    conn: asyncpg.Connection,
    holder: Principal,
    *,
    status: HumanTaskStatus,
    due_in_seconds: float | None,
    escalate_to: dict[str, Any] | None,
    notify: list[dict[str, Any]],
) -> UUID:
    """A standalone task of ``holder``'s department, written directly."""
    task_id: UUID = await conn.fetchval(
        "INSERT INTO human_tasks (department_id, title, status, assignee_id, assignee_role, "
        "due_at, escalate_to, notify) "
        "VALUES ($1, 'Check the file', $2, $3, $4, "
        "CASE WHEN $5::float8 IS NULL THEN NULL ELSE now() + make_interval(secs => $5) END, "
        "$6::jsonb, $7::jsonb) RETURNING id",
        holder.department_id,
        status.value,
        holder.user_id if status is not HumanTaskStatus.OPEN else None,
        holder.role.value,
        due_in_seconds,
        None if escalate_to is None else json.dumps(escalate_to),
        json.dumps(notify),
    )
    return task_id


async def _events(conn: asyncpg.Connection, task_id: UUID) -> list[str]:
    rows = await conn.fetch(
        "SELECT action FROM audit_logs WHERE entity_type = 'human_task' AND entity_id = $1 "
        "ORDER BY id",
        str(task_id),
    )
    return [row["action"] for row in rows]


def _metric(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


async def test_a_short_deadline_marks_and_escalates_once_with_two_sweepers_racing(
    engine: Container, webhook_receiver: WebhookReceiver
) -> None:
    async with engine.db.pool.acquire() as conn:
        clerk = await _user(conn, "clerk@example.org", Role.OPERATOR)
        chief = await _user(conn, "chief@example.org", Role.MANAGER)
        task_id = await _task(
            conn,
            clerk,
            status=HumanTaskStatus.IN_PROGRESS,
            due_in_seconds=0.5,
            escalate_to={"users": [str(chief.user_id)]},
            notify=[{"channel": "webhook", "url": webhook_receiver.url}],
        )
    overdue_before = _metric("govflow_human_task_deadlines_total", event="overdue")
    escalated_before = _metric("govflow_human_task_deadlines_total", event="escalated")
    sent_before = _metric(
        "govflow_human_task_notifications_total", channel="webhook", outcome="sent"
    )
    reports: list[SweepReport] = []

    async def race() -> bool:
        first, second = engine.sweeper(), engine.sweeper()
        reports.extend(await asyncio.gather(first.sweep_once(), second.sweep_once()))
        return len(webhook_receiver.deliveries) >= 2

    await poll(race)
    for _ in range(3):  # later sweeps change nothing and send nothing again
        await engine.sweeper().sweep_once()

    async with engine.db.pool.acquire() as conn:
        events = await _events(conn, task_id)
        row = await conn.fetchrow(
            "SELECT status, assignee_id, overdue, escalated, version FROM human_tasks "
            "WHERE id = $1",
            task_id,
        )
        outbox = await conn.fetch(
            "SELECT why, attempts, sent_at IS NOT NULL AS sent FROM task_notifications "
            "WHERE task_id = $1 ORDER BY id",
            task_id,
        )
    assert events.count(AuditEvent.HUMAN_TASK_OVERDUE) == 1
    assert events.count(AuditEvent.HUMAN_TASK_ESCALATED) == 1
    assert row is not None
    assert (row["overdue"], row["escalated"], row["version"]) == (True, True, 2)
    assert row["assignee_id"] == chief.user_id
    assert row["status"] == HumanTaskStatus.ASSIGNED
    assert sum(r.tasks_overdue for r in reports) == 1
    assert sum(r.tasks_escalated for r in reports) == 1
    assert [(r["why"], r["attempts"], r["sent"]) for r in outbox] == [
        ("overdue", 1, True),
        ("escalated", 1, True),
    ]
    assert len(webhook_receiver.requests) == 2  # each notice sent once, no replay needed
    # two sweepers hold different rows and send them at once: the order of arrival is theirs
    keys = sorted(delivery.key for delivery in webhook_receiver.deliveries)
    assert keys == sorted([f"task:{task_id}:overdue:v2:0", f"task:{task_id}:escalated:v2:1"])
    messages = [delivery.payload["message"] for delivery in webhook_receiver.deliveries]
    assert messages == [
        f'Task "Check the file" ({task_id}) is overdue.',
        f'Task "Check the file" ({task_id}) was escalated to you after its deadline.',
    ]
    assert _metric("govflow_human_task_deadlines_total", event="overdue") == overdue_before + 1
    assert _metric("govflow_human_task_deadlines_total", event="escalated") == escalated_before + 1
    assert _metric("govflow_human_tasks_overdue") == 1
    sent = _metric("govflow_human_task_notifications_total", channel="webhook", outcome="sent")
    assert sent == sent_before + 2


async def test_a_task_not_due_yet_and_a_decided_one_are_left_alone(engine: Container) -> None:
    async with engine.db.pool.acquire() as conn:
        clerk = await _user(conn, "clerk@example.org", Role.OPERATOR)
        later = await _task(
            conn,
            clerk,
            status=HumanTaskStatus.ASSIGNED,
            due_in_seconds=3600,
            escalate_to=None,
            notify=[],
        )
        closed = await _task(
            conn,
            clerk,
            status=HumanTaskStatus.CLOSED,
            due_in_seconds=-60,
            escalate_to=None,
            notify=[],
        )
    report = await engine.sweeper().sweep_once()
    assert (report.tasks_overdue, report.tasks_escalated) == (0, 0)
    async with engine.db.pool.acquire() as conn:
        assert await _events(conn, later) == []
        assert await _events(conn, closed) == []


async def test_an_overdue_task_without_escalation_is_marked_once_and_its_holder_notified(
    engine: Container, webhook_receiver: WebhookReceiver
) -> None:
    async with engine.db.pool.acquire() as conn:
        clerk = await _user(conn, "clerk@example.org", Role.OPERATOR)
        task_id = await _task(
            conn,
            clerk,
            status=HumanTaskStatus.ASSIGNED,
            due_in_seconds=-1,
            escalate_to=None,
            notify=[{"channel": "webhook", "url": webhook_receiver.url, "on": ["overdue"]}],
        )
    first = await engine.sweeper().sweep_once()
    second = await engine.sweeper().sweep_once()
    assert (first.tasks_overdue, first.tasks_escalated, first.task_notices_sent) == (1, 0, 1)
    assert (second.tasks_overdue, second.task_notices_sent) == (0, 0)
    async with engine.db.pool.acquire() as conn:
        assert await _events(conn, task_id) == [AuditEvent.HUMAN_TASK_OVERDUE]
    assert [d.key for d in webhook_receiver.deliveries] == [f"task:{task_id}:overdue:v2:0"]


async def test_an_assignment_is_emailed_to_the_assignee_once(
    settings: Settings, smtp_server: SmtpServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GOVFLOW_PLUGIN_NOTIFICATION_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("GOVFLOW_PLUGIN_NOTIFICATION_SMTP_PORT", str(smtp_server.port))
    async with container(settings, plugins=plugins_for_tests()) as engine:
        engine.queue = CollectingQueue()  # type: ignore[assignment]
        async with engine.db.pool.acquire() as conn:
            clerk = await _user(conn, "clerk@example.org", Role.OPERATOR)
            chief = await _user(conn, "chief@example.org", Role.MANAGER)
            task_id = await _task(
                conn,
                clerk,
                status=HumanTaskStatus.OPEN,
                due_in_seconds=None,
                escalate_to=None,
                notify=[{"channel": "email", "on": ["assigned"]}],
            )
        target = await engine.tasks.person(clerk.user_id)  # type: ignore[arg-type]
        assert target is not None
        await act_on_task(engine.tasks, engine.queue, task_id, Assign(target=target), chief)
        async with engine.db.pool.acquire() as conn:
            assert await _events(conn, task_id) == [AuditEvent.HUMAN_TASK_ASSIGNED]
            stored = await conn.fetchval(
                "SELECT count(*) FROM task_notifications WHERE task_id = $1", task_id
            )
        assert stored == 1  # written with the decision

        async def sent() -> bool:
            report = await engine.sweeper().sweep_once()
            return report.task_notices_sent == 1

        await poll(sent)
        assert (await engine.sweeper().sweep_once()).task_notices_sent == 0  # nothing left
    assert len(smtp_server.messages) == 1
    mail = smtp_server.messages[0]
    assert mail.rcpt_tos == ["clerk@example.org"]
    assert mail.message["Subject"] == "GovFlow task assigned"
    assert f"({task_id}) was assigned to you" in mail.message.get_content()
    assert mail.message["X-GovFlow-Idempotency-Key"].strip() == f"task:{task_id}:assigned:v2:0"
