"""A durable timer across a restart, with real processes: the scheduler and the worker are
SIGKILLed while a ``wait`` step is pending, its due time passes with nobody running, and two
new schedulers and a worker resume it once; the execution completes and each step ran once."""

from __future__ import annotations

import json
import signal
from collections.abc import AsyncIterator

import asyncpg
import pytest

from govflow.bootstrap import Container, container
from govflow.settings import Settings
from govflow.usecases.start_execution import StartRequest
from tests.support.engine import (
    eventually,
    execution_status,
    install_workflow,
    plugins_for_tests,
    prepare_effects,
    processes,
)

pytestmark = pytest.mark.e2e

WORKFLOW = """
name: timer-restart
title: A timer that outlives its scheduler
department: general-administration
steps:
  - {id: hold, action: wait, with: {for: 3s}}
  - {id: after, action: echo, with: {value: "{{ steps.hold.output.due_at }}"}}
"""


@pytest.fixture
async def producer(settings: Settings, database_url: str) -> AsyncIterator[Container]:
    await prepare_effects(database_url)
    async with container(settings, plugins=plugins_for_tests()) as services:
        yield services


async def _hold(conn: asyncpg.Connection, execution_id: object) -> asyncpg.Record | None:
    row: asyncpg.Record | None = await conn.fetchrow(
        "SELECT id, status, attempt, wake_at, lease_owner, output::text AS output, finished_at,"
        " wake_at < now() - interval '500 milliseconds' AS overdue"
        " FROM execution_steps WHERE execution_id = $1 AND step_key = 'hold'",
        execution_id,
    )
    return row


async def test_a_pending_timer_survives_a_killed_scheduler_and_resumes_once(
    settings: Settings, producer: Container, database_url: str
) -> None:
    conn = await asyncpg.connect(database_url)
    try:
        await install_workflow(conn, WORKFLOW)
        with processes(settings) as group:
            worker = group.start("worker", "--concurrency", "1")
            scheduler = group.start("scheduler")
            started = await producer.start_execution(StartRequest(workflow="timer-restart"))
            execution_id = started.execution_id
            pending = await eventually(
                lambda: _hold(conn, execution_id),
                lambda row: row is not None and row["status"] == "WAITING",
            )
            assert pending is not None
            assert pending["wake_at"] is not None
            assert pending["lease_owner"] is None  # no worker holds it
            assert await execution_status(conn, execution_id) == "WAITING"

            for process in (scheduler, worker):
                process.send_signal(signal.SIGKILL)
                process.wait(10)
                group.running.remove(process)
            overdue = await eventually(
                lambda: _hold(conn, execution_id), lambda row: row is not None and row["overdue"]
            )
            assert overdue is not None
            assert overdue["status"] == "WAITING"  # due, and nobody left to resume it

            group.start("scheduler")
            group.start("scheduler")
            group.start("worker", "--concurrency", "1")
            await eventually(
                lambda: execution_status(conn, execution_id),
                lambda status: status in {"COMPLETED", "FAILED", "CANCELED"},
                timeout=60,
            )
            assert await execution_status(conn, execution_id) == "COMPLETED"
            done = await _hold(conn, execution_id)
            resumes = await conn.fetch(
                "SELECT action, count(*) AS n FROM audit_logs"
                " WHERE entity_id = $1 AND reason = 'timer_due' GROUP BY action",
                str(pending["id"]),
            )
        assert done is not None
        assert done["attempt"] == 1
        assert done["finished_at"] >= pending["wake_at"]
        assert json.loads(done["output"]) == {
            "due_at": pending["wake_at"].isoformat(),
            "waited": True,
        }
        assert resumes
        assert all(row["n"] == 1 for row in resumes), resumes
        after = await conn.fetchrow(
            "SELECT attempt, output::text AS output FROM execution_steps"
            " WHERE execution_id = $1 AND step_key = 'after'",
            execution_id,
        )
        assert after is not None
        assert after["attempt"] == 1
        assert json.loads(after["output"]) == {"value": pending["wake_at"].isoformat()}
    finally:
        await conn.close()
