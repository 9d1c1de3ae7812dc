"""Durable timers in one process against PostgreSQL: a ``wait`` step suspends holding no worker,
its due time stored with the step; the sweeper resumes it once (and only once) its time came.
The sweeper's clock is set forward instead of sleeping through the wait."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from uuid import UUID

import pytest

from govflow.bootstrap import Container
from govflow.usecases.audit import SYSTEM
from govflow.usecases.operate import cancel_execution
from govflow.usecases.start_execution import StartRequest
from tests.support.engine import ROOT, CollectingQueue, install_workflow, step_rows

EXAMPLE = ROOT / "workflows.d" / "permit-objection-period.yaml"

WAIT_UNTIL = """
name: wait-until
title: Wait until
department: urban-planning
inputs:
  until: {type: string}
steps:
  - id: hold
    action: wait
    with: {until: "{{ inputs.until }}"}
  - id: after
    action: notification
    with: {channel: log, message: "held until {{ steps.hold.output.due_at }}"}
"""


async def _wake_at(services: Container, execution_id: UUID, step_key: str) -> datetime | None:
    async with services.db.pool.acquire() as conn:
        value: datetime | None = await conn.fetchval(
            "SELECT wake_at FROM execution_steps WHERE execution_id = $1 AND step_key = $2",
            execution_id,
            step_key,
        )
    return value


async def _status(services: Container, execution_id: UUID) -> str:
    async with services.db.pool.acquire() as conn:
        return str(await conn.fetchval("SELECT status FROM executions WHERE id = $1", execution_id))


def _queue(services: Container) -> CollectingQueue:
    assert isinstance(services.queue, CollectingQueue)
    return services.queue


async def _start(services: Container, workflow: str, inputs: dict[str, object]) -> UUID:
    started = await services.start_execution(StartRequest(workflow=workflow, inputs=inputs))
    assert started.first_step_id is not None
    await services.step_runner().run(started.first_step_id)
    return started.execution_id


async def test_the_objection_period_waits_then_completes(engine: Container) -> None:
    async with engine.db.pool.acquire() as conn:
        await install_workflow(conn, EXAMPLE.read_text())
    before = datetime.now(UTC)
    execution_id = await _start(engine, "permit-objection-period", {"issue_key": "PERMIT-7"})
    async with engine.db.pool.acquire() as conn:
        steps = await step_rows(conn, execution_id)
    assert [(s["step_key"], s["status"]) for s in steps] == [
        ("publish", "COMPLETED"),
        ("objection_period", "WAITING"),
        ("decision", "PENDING"),
        ("outputs", "PENDING"),
    ]
    assert await _status(engine, execution_id) == "WAITING"
    due = await _wake_at(engine, execution_id, "objection_period")
    assert due is not None
    assert before + timedelta(days=14) <= due <= datetime.now(UTC) + timedelta(days=14)

    shown = await engine.execution_reader.get(execution_id, None)
    assert shown is not None
    assert [s.due_at for s in shown.steps] == [None, due, None, None]  # the API's step view
    details = await engine.execution_reader.steps(execution_id, None)
    assert [d.step.due_at for d in details or []] == [None, due, None, None]

    sweeper = engine.sweeper()
    assert (await sweeper.sweep_once()).timers_resumed == 0  # not due yet
    sweeper.clock = lambda: due - timedelta(milliseconds=1)
    sweeper.clock = lambda: datetime.now(UTC) + timedelta(hours=3)  # its due time came
    assert (await sweeper.sweep_once()).timers_resumed == 0
    _queue(engine).woken.clear()
    sweeper.clock = lambda: due + timedelta(seconds=1)
    assert (await sweeper.sweep_once()).timers_resumed == 1
    assert (await sweeper.sweep_once()).timers_resumed == 0  # resumed once
    assert await _status(engine, execution_id) == "RUNNING"
    woken = list(_queue(engine).woken)
    assert len(woken) == 1
    await engine.step_runner().run(woken[0])

    assert await _status(engine, execution_id) == "COMPLETED"
    view = await engine.execution_reader.get(execution_id, None)
    assert view is not None
    assert view.outputs == {"granted": True, "period_ended_at": due.isoformat()}
    async with engine.db.pool.acquire() as conn:
        steps = await step_rows(conn, execution_id)
        reasons = await conn.fetch(
            "SELECT action, reason FROM audit_logs WHERE entity_id = $1 ORDER BY id",
            str(
                await conn.fetchval(
                    "SELECT id FROM execution_steps WHERE execution_id = $1 AND step_key = $2",
                    execution_id,
                    "objection_period",
                )
            ),
        )
    assert json.loads(steps[1]["output"]) == {"due_at": due.isoformat(), "waited": True}
    assert steps[1]["attempt"] == 1
    assert ("WORKFLOW_EXECUTION_STEP_WAITING", "timer") in [tuple(r) for r in reasons]
    assert "timer_due" in [r["reason"] for r in reasons]


async def test_an_until_already_passed_runs_at_once(engine: Container) -> None:
    async with engine.db.pool.acquire() as conn:
        await install_workflow(conn, WAIT_UNTIL)
    execution_id = await _start(engine, "wait-until", {"until": "2020-01-01T00:00:00Z"})
    assert await _status(engine, execution_id) == "COMPLETED"
    async with engine.db.pool.acquire() as conn:
        steps = await step_rows(conn, execution_id)
    assert json.loads(steps[0]["output"]) == {
        "due_at": "2020-01-01T00:00:00+00:00",
        "waited": False,
    }
    assert await _wake_at(engine, execution_id, "hold") is None


@pytest.mark.parametrize(
    ("until", "code", "message"),
    [
        ("next tuesday", "INVALID_STEP_INPUT", "`until` expects an ISO 8601 timestamp"),
        ("2026-12-01T09:00:00", "INVALID_STEP_INPUT", "`until` needs a UTC offset"),
        ("2999-01-01T00:00:00Z", "BUSINESS_ERROR", "waits longer than 730d"),
    ],
)
async def test_a_bad_until_fails_the_step_clearly(
    engine: Container, until: str, code: str, message: str
) -> None:
    async with engine.db.pool.acquire() as conn:
        await install_workflow(conn, WAIT_UNTIL)
    execution_id = await _start(engine, "wait-until", {"until": until})
    assert await _status(engine, execution_id) == "FAILED"
    async with engine.db.pool.acquire() as conn:
        steps = await step_rows(conn, execution_id)
    error = json.loads(steps[0]["error"])
    assert error["code"] == code
    assert message in error["message"]
    if code == "BUSINESS_ERROR":
        assert error["details"] == {"code": "WAIT_TOO_FAR"}


async def test_a_canceled_timer_is_never_resumed(engine: Container) -> None:
    async with engine.db.pool.acquire() as conn:
        await install_workflow(conn, WAIT_UNTIL)
    later = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    execution_id = await _start(engine, "wait-until", {"until": later})
    assert await _status(engine, execution_id) == "WAITING"
    await cancel_execution(engine.control, execution_id, actor=SYSTEM, reason="withdrawn")
    sweeper = engine.sweeper()
    sweeper.clock = lambda: datetime.now(UTC) + timedelta(hours=2)
    sweeper.clock = lambda: datetime.now(UTC) + timedelta(hours=3)  # its due time came
    assert (await sweeper.sweep_once()).timers_resumed == 0
    assert await _status(engine, execution_id) == "CANCELED"


BRANCHES = """
name: timer-branches
title: A branch waits on a timer while the other runs
department: urban-planning
steps:
  - id: intake
    action: notification
    with: {channel: log, message: intake}
  - id: cooling_off
    action: wait
    needs: [intake]
    with: {for: 1h}
  - id: survey
    action: notification
    needs: [intake]
    with: {channel: log, message: survey}
  - id: decide
    action: notification
    needs: [cooling_off, survey]
    with: {channel: log, message: "after {{ steps.cooling_off.output.due_at }}"}
"""


async def _run_woken(services: Container) -> None:
    """Run every step woken so far, and those they wake, one by one."""
    queue = _queue(services)
    while queue.woken:
        await services.step_runner().run(queue.woken.pop(0))


async def test_a_branch_waits_on_its_timer_while_the_other_runs(engine: Container) -> None:
    async with engine.db.pool.acquire() as conn:
        await install_workflow(conn, BRANCHES)
    started = await engine.start_execution(StartRequest(workflow="timer-branches"))
    assert started.first_step_id is not None
    _queue(engine).woken.clear()
    await engine.step_runner().run(started.first_step_id)
    await _run_woken(engine)
    async with engine.db.pool.acquire() as conn:
        steps = {s["step_key"]: s["status"] for s in await step_rows(conn, started.execution_id)}
    assert steps["cooling_off"] == "WAITING"
    assert steps["survey"] == "COMPLETED"
    assert steps["decide"] == "PENDING"
    assert await _status(engine, started.execution_id) == "WAITING"
    due = await _wake_at(engine, started.execution_id, "cooling_off")
    assert due is not None

    sweeper = engine.sweeper()
    sweeper.clock = lambda: due + timedelta(seconds=1)
    assert (await sweeper.sweep_once()).timers_resumed == 1
    await _run_woken(engine)
    assert await _status(engine, started.execution_id) == "COMPLETED"
    async with engine.db.pool.acquire() as conn:
        steps = {s["step_key"]: s["attempt"] for s in await step_rows(conn, started.execution_id)}
    assert steps == {"intake": 1, "cooling_off": 1, "survey": 1, "decide": 1}  # each ran once


async def test_a_workflow_timeout_cancels_the_timer_before_it_fires(engine: Container) -> None:
    timed = WAIT_UNTIL.replace("name: wait-until", "name: wait-timed").replace(
        "department: urban-planning", "department: urban-planning\ntimeout: 1h"
    )
    async with engine.db.pool.acquire() as conn:
        await install_workflow(conn, timed)
    later = (datetime.now(UTC) + timedelta(hours=2)).isoformat()
    execution_id = await _start(engine, "wait-timed", {"until": later})
    assert await _status(engine, execution_id) == "WAITING"
    async with engine.db.pool.acquire() as conn:  # the hour has passed, the timer not yet due
        await conn.execute(
            "UPDATE executions SET created_at = created_at - interval '61 minutes', "
            "deadline_at = deadline_at - interval '61 minutes' WHERE id = $1",
            execution_id,
        )
    sweeper = engine.sweeper()
    report = await sweeper.sweep_once()
    assert (report.timed_out, report.timers_resumed) == (1, 0)
    assert await _status(engine, execution_id) == "FAILED"
    async with engine.db.pool.acquire() as conn:
        steps = await step_rows(conn, execution_id)
    assert [(s["step_key"], s["status"]) for s in steps] == [
        ("hold", "CANCELED"),
        ("after", "CANCELED"),
    ]
    sweeper.clock = lambda: datetime.now(UTC) + timedelta(hours=3)  # its due time came
    assert (await sweeper.sweep_once()).timers_resumed == 0
