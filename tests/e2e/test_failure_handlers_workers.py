"""Failure handlers run by real worker processes: a failing step fails the execution, then the
compensations of the completed steps run in reverse completion order, then ``on_failure``, each
once; a worker SIGKILLed in the middle of a compensation loses nothing and repeats nothing."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from uuid import UUID

import asyncpg
import pytest

from govflow.bootstrap import Container, container
from govflow.core.audit_events import AuditEvent
from govflow.settings import Settings
from govflow.usecases.start_execution import StartRequest
from tests.support.engine import (
    Processes,
    install_workflow,
    plugins_for_tests,
    prepare_effects,
    processes,
    step_rows,
)

pytestmark = pytest.mark.e2e


def saga(name: str, undo_action: str = "effect_remote_key", crash: str = "") -> str:
    crashing = f", crash: {crash}, sleep_ms: 600" if crash else ""
    return f"""
name: {name}
title: Booking saga
department: general-administration
defaults:
  retry: {{max_attempts: 5, initial_delay: 0s, jitter: false}}
steps:
  - id: hold_room
    action: effect_remote_key
    with: {{label: room}}
    compensate:
      action: {undo_action}
      with: {{label: "undo {{{{ steps.hold_room.output.label }}}}"{crashing}}}
  - id: hold_catering
    action: effect_remote_key
    with: {{label: catering}}
    compensate:
      action: effect_remote_key
      with: {{label: "undo {{{{ steps.hold_catering.output.label }}}}"}}
  - id: hold_parking
    action: effect_remote_key
    if: "false"
    with: {{label: parking}}
    compensate: {{action: effect_remote_key, with: {{label: undo parking}}}}
  - id: pay
    action: effect_none
    with: {{label: pay, business_error: true}}
  - id: confirm
    action: effect_remote_key
    with: {{label: confirm}}
    compensate: {{action: effect_remote_key, with: {{label: undo confirm}}}}
on_failure:
  - id: tell
    action: effect_remote_key
    with: {{label: "failed at {{{{ failure.step }}}}: {{{{ failure.error.code }}}}"}}
"""


@pytest.fixture
async def producer(settings: Settings, database_url: str) -> AsyncIterator[Container]:
    await prepare_effects(database_url)
    async with container(settings, plugins=plugins_for_tests()) as services:
        yield services


async def handled(
    conn: asyncpg.Connection, group: Processes, execution_id: UUID, timeout: float = 60.0
) -> list[dict[str, object]]:
    """Wait until the execution failed and its last handler ended (restarting workers that
    died meanwhile, as ``govflow up`` does); its steps then."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        steps = await step_rows(conn, execution_id)
        status = await conn.fetchval("SELECT status FROM executions WHERE id = $1", execution_id)
        if status == "FAILED" and steps[-1]["status"] in ("COMPLETED", "FAILED", "SKIPPED"):
            return steps
        if loop.time() > deadline:
            raise AssertionError(f"the handlers did not end: {status} {steps}")
        for process in list(group.running):
            if process.poll() is not None and process.args[3] == "worker":  # type: ignore[index]
                group.running.remove(process)
                group.start("worker", "--concurrency", "1")
        await asyncio.sleep(0.05)


async def effect_labels(conn: asyncpg.Connection, execution_id: UUID) -> list[str]:
    rows = await conn.fetch(
        "SELECT label FROM test_effects WHERE key LIKE $1 ORDER BY id", f"{execution_id}:%"
    )
    return [row["label"] for row in rows]


async def audit_names(conn: asyncpg.Connection, execution_id: UUID) -> list[str]:
    rows = await conn.fetch(
        "SELECT action FROM audit_logs WHERE metadata->>'execution_id' = $1 ORDER BY id",
        str(execution_id),
    )
    return [row["action"] for row in rows]


EXPECTED_STEPS = [
    ("hold_room", "COMPLETED"),
    ("hold_catering", "COMPLETED"),
    ("hold_parking", "SKIPPED"),
    ("pay", "FAILED"),
    ("confirm", "PENDING"),
    ("compensate.confirm", "SKIPPED"),
    ("compensate.hold_parking", "SKIPPED"),
    ("compensate.hold_catering", "COMPLETED"),
    ("compensate.hold_room", "COMPLETED"),
    ("on_failure.tell", "COMPLETED"),
]


async def test_a_failure_compensates_in_reverse_then_runs_on_failure_each_once(
    settings: Settings, producer: Container, database_url: str
) -> None:
    conn = await asyncpg.connect(database_url)
    try:
        await install_workflow(conn, saga("booking-saga"))
        with processes(settings) as group:
            for _ in range(2):
                group.start("worker", "--concurrency", "2")
            group.start("scheduler")
            started = await producer.start_execution(StartRequest(workflow="booking-saga"))
            steps = await handled(conn, group, started.execution_id)
        assert [(s["step_key"], s["status"]) for s in steps] == EXPECTED_STEPS
        assert await effect_labels(conn, started.execution_id) == [
            "room",
            "catering",
            "undo catering",
            "undo room",
            "failed at pay: BUSINESS_ERROR",
        ]
        error = await conn.fetchval(
            "SELECT error::text FROM executions WHERE id = $1", started.execution_id
        )
        assert json.loads(error)["message"] == "refused: pay"
        names = await audit_names(conn, started.execution_id)
        assert names.count(AuditEvent.WORKFLOW_EXECUTION_PROCESS_FAILED) == 1
        assert names.count(AuditEvent.WORKFLOW_EXECUTION_FAILURE_HANDLERS_STARTED) == 1
        assert names.count(AuditEvent.WORKFLOW_EXECUTION_FAILURE_HANDLERS_FINISHED) == 1
        assert names.index(AuditEvent.WORKFLOW_EXECUTION_FAILURE_HANDLERS_STARTED) < names.index(
            AuditEvent.WORKFLOW_EXECUTION_FAILURE_HANDLERS_FINISHED
        )
    finally:
        await conn.close()


async def test_a_worker_killed_during_a_compensation_loses_nothing_and_repeats_nothing(
    settings: Settings, producer: Container, database_url: str
) -> None:
    conn = await asyncpg.connect(database_url)
    try:
        name = "booking-saga-crash"
        await install_workflow(conn, saga(name, "effect_remote_lookup", crash="after_effect"))
        with processes(settings) as group:
            for _ in range(2):
                group.start("worker", "--concurrency", "1")
            group.start("scheduler")
            started = await producer.start_execution(StartRequest(workflow=name))
            steps = await handled(conn, group, started.execution_id)
        crashed = await conn.fetchval(
            "SELECT count(*) FROM test_crashes WHERE key = $1",
            f"{started.execution_id}:compensate.hold_room",
        )
        assert crashed == 1, "the worker died once, after the compensation's effect"
        assert [(s["step_key"], s["status"]) for s in steps] == EXPECTED_STEPS
        undo = next(s for s in steps if s["step_key"] == "compensate.hold_room")
        assert undo["attempt"] == 1  # found done by the lookup, not run again
        assert await effect_labels(conn, started.execution_id) == [
            "room",
            "catering",
            "undo catering",
            "undo room",
            "failed at pay: BUSINESS_ERROR",
        ]
        names = await audit_names(conn, started.execution_id)
        assert names.count(AuditEvent.WORKFLOW_EXECUTION_FAILURE_HANDLERS_STARTED) == 1
        assert names.count(AuditEvent.WORKFLOW_EXECUTION_FAILURE_HANDLERS_FINISHED) == 1
    finally:
        await conn.close()
