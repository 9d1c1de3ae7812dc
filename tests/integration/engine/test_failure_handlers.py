"""Failure handlers in the engine with PostgreSQL: the failing step's finish fails the execution
and releases its first handler; the handlers run in the FAILED execution (compensations of the
completed steps in reverse, then on_failure) reading ``failure``; a rejected human task starts
them too; an operator's retry that fails again starts none that already ran."""

from __future__ import annotations

import json
from typing import Any
from uuid import UUID

import asyncpg

from govflow.bootstrap import Container
from govflow.core.audit_events import AuditEvent
from govflow.core.roles import Role
from govflow.core.tasks.model import Claim, Reject, Start, Submit
from govflow.usecases.audit import Actor
from govflow.usecases.operate import retry_execution
from govflow.usecases.principal import Principal
from govflow.usecases.start_execution import StartRequest
from govflow.usecases.tasks import act_on_task
from tests.support.engine import CollectingQueue, install_workflow, step_rows

OPERATOR = Actor(user_id=None, email="operator@example.org")

SAGA = """
name: saga
title: Saga
department: general-administration
steps:
  - id: hold
    action: effect_local
    with: {label: hold}
    compensate:
      action: echo
      with: {value: "undo {{ steps.hold.output.label }} after {{ failure.step }}"}
  - id: skipped
    action: effect_local
    if: "false"
    with: {label: skipped}
    compensate: {action: echo, with: {value: never}}
  - id: pay
    action: effect_none
    with: {label: pay, business_error: true}
  - id: confirm
    action: effect_local
    with: {label: confirm}
    compensate: {action: echo, with: {value: never}}
on_failure:
  - id: tell
    action: echo
    with:
      value: "{{ failure.step }} {{ failure.error.code }} {{ failure.error.message }}"
  - id: broken
    action: effect_none
    with: {label: broken, business_error: true}
  - id: last
    action: echo
    with: {value: "{{ steps['on_failure.tell'].output.value }}"}
"""

REVIEW = """
name: reviewed-booking
title: Reviewed booking
department: general-administration
steps:
  - id: hold
    action: effect_local
    with: {label: hold}
    compensate: {action: effect_local, with: {label: "release {{ failure.error.code }}"}}
  - id: review
    action: manual
    with:
      title: Check the booking
      assignee: {role: OPERATOR}
      reviewers: {role: MANAGER}
      on_reject: fail
on_failure:
  - {id: tell, action: echo, with: {value: "{{ failure.step }}"}}
"""


async def drain(engine: Container, queue: CollectingQueue) -> None:
    """Run every woken step (as workers would), until nothing more is woken."""
    while queue.woken:
        step_id = queue.woken.pop(0)
        await engine.step_runner().run(step_id)


def queue_of(engine: Container) -> CollectingQueue:
    assert isinstance(engine.queue, CollectingQueue)
    return engine.queue


async def events(conn: asyncpg.Connection, execution_id: UUID) -> list[tuple[str, str | None]]:
    rows = await conn.fetch(
        "SELECT action, reason FROM audit_logs WHERE action LIKE 'WORKFLOW_EXECUTION_%' "
        "AND metadata->>'execution_id' = $1::text ORDER BY id",
        str(execution_id),
    )
    return [(r["action"], r["reason"]) for r in rows]


def outputs(steps: list[dict[str, Any]]) -> dict[str, Any]:
    return {s["step_key"]: json.loads(s["output"]) for s in steps if s["output"]}


async def test_a_failure_runs_the_compensations_in_reverse_then_on_failure(
    engine: Container,
) -> None:
    async with engine.db.pool.acquire() as conn:
        await install_workflow(conn, SAGA)
    started = await engine.start_execution(StartRequest(workflow="saga"))
    assert started.first_step_id is not None
    await engine.step_runner().run(started.first_step_id)
    async with engine.db.pool.acquire() as conn:
        status = await conn.fetchval(
            "SELECT status FROM executions WHERE id = $1", started.execution_id
        )
        first = await conn.fetchval(
            "SELECT id FROM execution_steps WHERE execution_id = $1 AND position = 4",
            started.execution_id,
        )
    assert status == "FAILED"  # at once, before any handler ran
    # the start woke the first step; the failure's finish, the first handler
    assert queue_of(engine).woken == [started.first_step_id, first]
    await drain(engine, queue_of(engine))
    async with engine.db.pool.acquire() as conn:
        steps = await step_rows(conn, started.execution_id)
        execution = await conn.fetchrow(
            "SELECT status, error::text AS error FROM executions WHERE id = $1",
            started.execution_id,
        )
        audit = await events(conn, started.execution_id)
    assert execution is not None
    assert execution["status"] == "FAILED"
    assert json.loads(execution["error"]) == {"code": "BUSINESS_ERROR", "message": "refused: pay"}
    assert [(s["step_key"], s["status"]) for s in steps] == [
        ("hold", "COMPLETED"),
        ("skipped", "SKIPPED"),
        ("pay", "FAILED"),
        ("confirm", "PENDING"),
        ("compensate.confirm", "SKIPPED"),
        ("compensate.skipped", "SKIPPED"),
        ("compensate.hold", "COMPLETED"),
        ("on_failure.tell", "COMPLETED"),
        ("on_failure.broken", "FAILED"),
        ("on_failure.last", "COMPLETED"),
    ]
    seen = outputs(steps)
    assert seen["compensate.hold"] == {"value": "undo hold after pay"}
    assert seen["on_failure.tell"] == {"value": "pay BUSINESS_ERROR refused: pay"}
    assert seen["on_failure.last"] == {"value": "pay BUSINESS_ERROR refused: pay"}
    assert json.loads(steps[8]["error"])["message"] == "refused: broken"
    assert audit.count((AuditEvent.WORKFLOW_EXECUTION_PROCESS_FAILED, "business_error")) == 1
    started_at = audit.index(
        (AuditEvent.WORKFLOW_EXECUTION_FAILURE_HANDLERS_STARTED, "business_error")
    )
    assert audit[started_at - 1] == (AuditEvent.WORKFLOW_EXECUTION_PROCESS_FAILED, "business_error")
    assert (AuditEvent.WORKFLOW_EXECUTION_STEP_HANDLER_FAILED, "business_error") in audit
    assert audit[-1] == (AuditEvent.WORKFLOW_EXECUTION_FAILURE_HANDLERS_FINISHED, None)


async def test_a_retried_failure_starts_no_handler_that_already_ran(engine: Container) -> None:
    async with engine.db.pool.acquire() as conn:
        await install_workflow(conn, SAGA)
    started = await engine.start_execution(StartRequest(workflow="saga"))
    assert started.first_step_id is not None
    await engine.step_runner().run(started.first_step_id)
    await drain(engine, queue_of(engine))
    async with engine.db.pool.acquire() as conn:
        before = await step_rows(conn, started.execution_id)
    await retry_execution(engine.control, engine.queue, started.execution_id, actor=OPERATOR)
    await drain(engine, queue_of(engine))
    async with engine.db.pool.acquire() as conn:
        after = await step_rows(conn, started.execution_id)
        status = await conn.fetchval(
            "SELECT status FROM executions WHERE id = $1", started.execution_id
        )
    assert status == "FAILED"
    assert after[2]["attempt"] == 1  # the retried step: a fresh budget, one more attempt
    assert [(s["step_key"], s["status"], s["attempt"]) for s in after[4:]] == [
        (s["step_key"], s["status"], s["attempt"]) for s in before[4:]
    ]


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


async def test_a_rejected_task_starts_the_handlers(engine: Container) -> None:
    async with engine.db.pool.acquire() as conn:
        await install_workflow(conn, REVIEW)
        operator = await _user(conn, "desk@example.org", Role.OPERATOR)
        manager = await _user(conn, "head@example.org", Role.MANAGER)
    started = await engine.start_execution(StartRequest(workflow="reviewed-booking"))
    assert started.first_step_id is not None
    await engine.step_runner().run(started.first_step_id)
    async with engine.db.pool.acquire() as conn:
        task_id = await conn.fetchval(
            "SELECT id FROM human_tasks WHERE execution_id = $1", started.execution_id
        )
    for who, action in (
        (operator, Claim()),
        (operator, Start()),
        (operator, Submit(form={})),
        (manager, Reject(reason="the hall is taken")),
    ):
        await act_on_task(engine.tasks, engine.queue, task_id, action, who)
    await drain(engine, queue_of(engine))
    async with engine.db.pool.acquire() as conn:
        steps = await step_rows(conn, started.execution_id)
        status = await conn.fetchval(
            "SELECT status FROM executions WHERE id = $1", started.execution_id
        )
    assert status == "FAILED"
    assert [(s["step_key"], s["status"]) for s in steps] == [
        ("hold", "COMPLETED"),
        ("review", "FAILED"),
        ("compensate.hold", "COMPLETED"),
        ("on_failure.tell", "COMPLETED"),
    ]
    assert outputs(steps)["on_failure.tell"] == {"value": "review"}
    assert outputs(steps)["compensate.hold"]["label"] == "release task_rejected"


TIMED = """
name: timed-booking
title: Timed booking
department: general-administration
timeout: 2h
steps:
  - id: hold
    action: effect_local
    with: {label: hold}
    compensate: {action: echo, with: {value: "release after {{ failure.error.code }}"}}
  - id: review
    action: manual
    with: {title: Review, assignee: {role: OPERATOR}}
on_failure:
  - {id: tell, action: echo, with: {value: "{{ failure.step }}"}}
"""


async def test_a_timeout_cancels_the_open_steps_and_runs_the_handlers(engine: Container) -> None:
    async with engine.db.pool.acquire() as conn:
        await install_workflow(conn, TIMED)
    started = await engine.start_execution(StartRequest(workflow="timed-booking"))
    assert started.first_step_id is not None
    await engine.step_runner().run(started.first_step_id)
    async with engine.db.pool.acquire() as conn:
        await conn.execute(
            "UPDATE executions SET created_at = created_at - interval '3 hours', "
            "deadline_at = deadline_at - interval '3 hours' WHERE id = $1",
            started.execution_id,
        )
    assert (await engine.sweeper().sweep_once()).timed_out == 1
    async with engine.db.pool.acquire() as conn:
        handler = await conn.fetchrow(
            "SELECT id, status, next_attempt_at <= now() AS due FROM execution_steps "
            "WHERE execution_id = $1 AND step_key = 'compensate.hold'",
            started.execution_id,
        )
    assert handler is not None
    assert (handler["status"], handler["due"]) == ("PENDING", True)
    await engine.step_runner().run(handler["id"])  # as the sweep's resend would have it run
    async with engine.db.pool.acquire() as conn:
        steps = await step_rows(conn, started.execution_id)
        status = await conn.fetchval(
            "SELECT status FROM executions WHERE id = $1", started.execution_id
        )
    assert status == "FAILED"
    assert [(s["step_key"], s["status"]) for s in steps] == [
        ("hold", "COMPLETED"),
        ("review", "CANCELED"),
        ("compensate.hold", "COMPLETED"),
        ("on_failure.tell", "COMPLETED"),
    ]
    assert outputs(steps)["compensate.hold"] == {"value": "release after EXECUTION_TIMED_OUT"}
    assert outputs(steps)["on_failure.tell"] == {"value": None}


GRAPH = """
name: graph-saga
title: Graph saga
department: general-administration
steps:
  - id: intake
    action: effect_local
    with: {label: intake}
    compensate: {action: echo, with: {value: "undo {{ steps.intake.output.label }}"}}
  - id: legal
    needs: [intake]
    action: effect_local
    with: {label: legal}
    compensate: {action: echo, with: {value: "undo {{ steps.legal.output.label }}"}}
  - id: fire
    needs: [intake]
    action: effect_none
    with: {label: fire, business_error: true}
  - id: decide
    needs: [legal, fire]
    action: echo
    with: {value: decided}
on_failure:
  - {id: tell, action: echo, with: {value: "{{ failure.step }}"}}
"""


async def test_a_failed_branch_of_a_graph_cancels_the_others_and_runs_the_handlers(
    engine: Container,
) -> None:
    async with engine.db.pool.acquire() as conn:
        await install_workflow(conn, GRAPH)
    started = await engine.start_execution(StartRequest(workflow="graph-saga"))
    assert started.first_step_id is not None
    await engine.step_runner().run(started.first_step_id)
    await drain(engine, queue_of(engine))
    async with engine.db.pool.acquire() as conn:
        steps = {s["step_key"]: s for s in await step_rows(conn, started.execution_id)}
        status = await conn.fetchval(
            "SELECT status FROM executions WHERE id = $1", started.execution_id
        )
    assert status == "FAILED"
    assert steps["intake"]["status"] == "COMPLETED"
    assert steps["fire"]["status"] == "FAILED"
    assert steps["decide"]["status"] in ("PENDING", "CANCELED")  # never ran
    # legal ran before fire failed (then it is compensated), or was canceled with the failure
    legal_done = steps["legal"]["status"] == "COMPLETED"
    assert steps["legal"]["status"] in ("COMPLETED", "CANCELED")
    assert steps["compensate.legal"]["status"] == ("COMPLETED" if legal_done else "SKIPPED")
    assert steps["compensate.intake"]["status"] == "COMPLETED"
    assert json.loads(steps["compensate.intake"]["output"]) == {"value": "undo intake"}
    assert steps["on_failure.tell"]["status"] == "COMPLETED"
    assert json.loads(steps["on_failure.tell"]["output"]) == {"value": "fire"}
