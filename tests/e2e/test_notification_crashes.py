"""Real worker processes killed with SIGKILL in the middle of a notification.

- Webhook (``remote_key``): the receiver got the request and applies it, the worker dies before
  GovFlow committed; after recovery the receiver saw the same ``Idempotency-Key`` twice, both
  requests signed, and applied the notification once; the execution completes.
- Email (``at_most_once``): the SMTP server got the message, the worker dies before the answer;
  after recovery the step is ``NEEDS_ATTENTION`` and exactly one mail exists. The same when the
  connection is lost after ``DATA`` with the worker alive (``OutcomeUnknown``). The recipients
  are a group (role and department) resolved through the worker's directory.
"""

from __future__ import annotations

import asyncio
import json
import re
import signal
import subprocess
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any
from uuid import UUID

import asyncpg
import pytest

from govflow.adapters.db.seed import seed_departments
from govflow.bootstrap import Container, container
from govflow.settings import Settings
from govflow.usecases.start_execution import StartRequest
from tests.support.engine import (
    eventually,
    install_workflow,
    plugins_for_tests,
    prepare_effects,
    processes,
)
from tests.support.peers import SmtpServer, WebhookReceiver

pytestmark = pytest.mark.e2e

SECRET = "whsec_crm_0123456789abcdef"
DOC = Path(__file__).parents[2] / "docs" / "plugins.md"
RETRY = "defaults:\n  retry: {max_attempts: 5, initial_delay: 0s, jitter: false}\n"


def documented_verification() -> Callable[..., bool]:
    """``verify_govflow_signature`` as docs/plugins.md shows it to receivers."""
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), re.DOTALL)
    (code,) = [block for block in blocks if "def verify_govflow_signature" in block]
    namespace: dict[str, Any] = {}
    exec(compile(code, str(DOC), "exec"), namespace)  # noqa: S102 - our own docs
    function: Callable[..., bool] = namespace["verify_govflow_signature"]
    return function


def env(smtp: SmtpServer | None = None) -> dict[str, str]:
    values = {
        "OUTBOUND_ALLOW_NETWORKS": "127.0.0.0/8",
        "GOVFLOW_NOTIFICATION_WEBHOOK_ALLOWLIST": "127.0.0.1:*",
        "GOVFLOW_NOTIFICATION_WEBHOOK_SECRETS": f"crm={SECRET}",
    }
    if smtp is not None:
        values["GOVFLOW_NOTIFICATION_SMTP_HOST"] = "127.0.0.1"
        values["GOVFLOW_NOTIFICATION_SMTP_PORT"] = str(smtp.port)
    return values


@pytest.fixture
async def producer(settings: Settings, database_url: str) -> AsyncIterator[Container]:
    await prepare_effects(database_url)
    async with container(settings, plugins=plugins_for_tests()) as services:
        yield services


@pytest.fixture
async def conn(database_url: str) -> AsyncIterator[asyncpg.Connection]:
    connection = await asyncpg.connect(database_url)
    try:
        yield connection
    finally:
        await connection.close()


@pytest.fixture
async def receiver() -> AsyncIterator[WebhookReceiver]:
    started = WebhookReceiver()
    await started.start()
    try:
        yield started
    finally:
        await started.stop()


@pytest.fixture
async def smtp() -> AsyncIterator[SmtpServer]:
    server = SmtpServer()
    await server.start()
    try:
        yield server
    finally:
        if server.hold_data is not None:
            server.hold_data.set()
        await server.stop()


async def start(producer: Container, conn: asyncpg.Connection, workflow: str) -> UUID:
    await install_workflow(conn, workflow)
    name = re.search(r"^name: (\S+)$", workflow, re.MULTILINE)
    assert name is not None
    started = await producer.start_execution(StartRequest(workflow=name.group(1)))
    return started.execution_id


async def status(conn: asyncpg.Connection, execution_id: UUID) -> str:
    return str(await conn.fetchval("SELECT status FROM executions WHERE id = $1", execution_id))


async def step(conn: asyncpg.Connection, execution_id: UUID) -> dict[str, Any]:
    row = await conn.fetchrow(
        "SELECT status, attempt, error::text AS error FROM execution_steps WHERE execution_id = $1",
        execution_id,
    )
    assert row is not None
    return dict(row)


async def reasons(conn: asyncpg.Connection, execution_id: UUID, action: str) -> list[str]:
    rows = await conn.fetch(
        "SELECT reason FROM audit_logs WHERE action = $1 AND metadata->>'execution_id' = $2 "
        "ORDER BY id",
        action,
        str(execution_id),
    )
    return [str(row["reason"]) for row in rows]


def kill(worker: subprocess.Popen[bytes]) -> None:
    worker.send_signal(signal.SIGKILL)
    assert worker.wait(10) == -signal.SIGKILL


async def add_manager(conn: asyncpg.Connection, email: str) -> None:
    await seed_departments(conn)
    await conn.execute(
        "INSERT INTO users (email, full_name, password_hash, role, department_id) "
        "VALUES ($1, $1, 'x', 'MANAGER', (SELECT id FROM departments WHERE code = $2))",
        email,
        "urban-planning",
    )


async def test_sigkill_after_the_receiver_applied_the_webhook_delivers_once(
    settings: Settings,
    producer: Container,
    conn: asyncpg.Connection,
    receiver: WebhookReceiver,
) -> None:
    workflow = f"""
name: crash-signed-webhook
title: Signed webhook, worker killed
department: general-administration
{RETRY}steps:
  - id: notify
    action: notification
    with: {{channel: webhook, secret: crm, url: "{receiver.url}", message: Approved}}
"""
    receiver.hold()  # the request arrives and waits, unanswered
    with processes(settings, **env()) as group:
        group.start("scheduler")
        worker = group.start("worker", "--concurrency", "1")
        execution_id = await start(producer, conn, workflow)
        await eventually(lambda: _now(receiver.held), lambda held: held == 1, timeout=60)
        kill(worker)
        receiver.release()  # the receiver applies it; GovFlow never hears back
        await eventually(lambda: _now(len(receiver.deliveries)), lambda n: n == 1, timeout=10)
        group.start("worker", "--concurrency", "1")
        final = await eventually(
            lambda: status(conn, execution_id), lambda s: s != "RUNNING", timeout=60
        )
    assert final == "COMPLETED"
    key = f"{execution_id}:notify"
    # Two requests at least (a slow lease renewal under load may add a 409 in between), all
    # with the same key and body, each signed; the receiver applied the notification once and
    # answered the later ones with the first one's answer.
    requests = receiver.requests
    assert len(requests) >= 2
    assert {r.headers["idempotency-key"] for r in requests} == {key}
    assert {r.body for r in requests} == {requests[0].body}
    assert len(receiver.deliveries) == 1
    assert receiver.replays >= 1
    assert requests[-1].status == 202
    check = documented_verification()
    for request in requests:
        assert check(SECRET, request.headers["govflow-signature"], request.body)
    assert (await step(conn, execution_id))["attempt"] >= 2
    # remote_key does not record the attempt start: the recovery simply runs it again
    recovered = await reasons(conn, execution_id, "WORKFLOW_EXECUTION_STEP_RECOVERED")
    assert "attempt_not_started" in recovered


async def test_sigkill_while_the_mail_is_handed_over_needs_attention_and_one_mail(
    settings: Settings, producer: Container, conn: asyncpg.Connection, smtp: SmtpServer
) -> None:
    await add_manager(conn, "mia@city.example")
    workflow = f"""
name: crash-email
title: Email, worker killed
department: general-administration
{RETRY}steps:
  - id: mail
    action: notification
    with:
      channel: email
      message: Approved
      to: [{{role: MANAGER, department: urban-planning}}]
"""
    smtp.hold_data = asyncio.Event()  # the message arrives, the answer waits
    with processes(settings, **env(smtp)) as group:
        group.start("scheduler")
        worker = group.start("worker", "--concurrency", "1")
        execution_id = await start(producer, conn, workflow)
        await eventually(lambda: _now(len(smtp.messages)), lambda n: n == 1, timeout=60)
        kill(worker)
        smtp.hold_data.set()
        group.start("worker", "--concurrency", "1")
        final = await eventually(
            lambda: status(conn, execution_id), lambda s: s != "RUNNING", timeout=60
        )
        row = await step(conn, execution_id)
    assert final == "NEEDS_ATTENTION"
    assert row["status"] == "NEEDS_ATTENTION"
    assert row["attempt"] == 1  # never run again
    (mail,) = smtp.messages
    assert mail.rcpt_tos == ["mia@city.example"]
    assert mail.message["X-GovFlow-Idempotency-Key"] == f"{execution_id}:mail"
    attention = await reasons(conn, execution_id, "WORKFLOW_EXECUTION_STEP_NEEDS_ATTENTION")
    assert attention == ["at_most_once_interrupted"]


async def test_a_connection_lost_after_data_needs_attention_and_one_mail(
    settings: Settings, producer: Container, conn: asyncpg.Connection, smtp: SmtpServer
) -> None:
    smtp.drop_after_data = True
    workflow = f"""
name: lost-email
title: Email, connection lost after DATA
department: general-administration
{RETRY}steps:
  - id: mail
    action: notification
    with: {{channel: email, message: Approved, to: [ada@city.example]}}
"""
    with processes(settings, **env(smtp)) as group:
        group.start("worker", "--concurrency", "1")
        execution_id = await start(producer, conn, workflow)
        final = await eventually(
            lambda: status(conn, execution_id),
            lambda s: s not in ("PENDING", "RUNNING"),
            timeout=60,
        )
        row = await step(conn, execution_id)
    assert final == "NEEDS_ATTENTION"
    assert row["status"] == "NEEDS_ATTENTION"
    assert row["attempt"] == 1
    error = json.loads(row["error"])
    assert error["code"] == "OUTCOME_UNKNOWN"
    assert "may have been delivered" in error["message"]
    assert error["details"]["outcome"] == "unknown"
    assert len(smtp.messages) == 1
    attention = await reasons(conn, execution_id, "WORKFLOW_EXECUTION_STEP_NEEDS_ATTENTION")
    assert attention == ["outcome_unknown"]


async def _now(value: Any) -> Any:
    return value
