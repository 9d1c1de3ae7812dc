"""A ``manual`` step's task decided through the use case on real PostgreSQL: the approval
completes the WAITING step with the task's output in the same transaction, the next step is woken
and runs with that output; concurrent approvals, exactly one wins; refusals name the field."""

from __future__ import annotations

import asyncio
import json
from typing import Any
from uuid import UUID

import asyncpg
import pytest
from govflow_manual.action import ManualAction

from govflow.bootstrap import Container
from govflow.core.roles import Role
from govflow.core.tasks.model import Approve, Claim, Reject, Start, Submit, TaskAction
from govflow.testing import check_output
from govflow.usecases.access_errors import FieldConflictError, ForbiddenError
from govflow.usecases.errors import ConflictError, InvalidInputError, NotFoundError
from govflow.usecases.operate import cancel_execution
from govflow.usecases.principal import Principal
from govflow.usecases.start_execution import StartRequest
from govflow.usecases.tasks import TaskActed, act_on_task
from tests.support.engine import CollectingQueue, install_workflow

REVIEWED = """
name: reviewed
title: Reviewed
department: general-administration
steps:
  - id: review
    action: manual
    with:
      title: "Review {{ inputs.case }}"
      assignee: {role: OPERATOR}
      reviewers: {role: MANAGER}
      form:
        amount: {type: number, required: true}
  - {id: after, action: echo, with: {value: "{{ steps.review.output.form.amount }}"}}
inputs:
  case: {type: string, default: "C-1"}
"""

FAIL_ON_REJECT = REVIEWED.replace("name: reviewed", "name: strict")


async def _user(conn: asyncpg.Connection, email: str, role: Role, department: str) -> Principal:
    department_id = await conn.fetchval("SELECT id FROM departments WHERE code = $1", department)
    user_id = await conn.fetchval(
        "INSERT INTO users (email, full_name, password_hash, role, department_id) "
        "VALUES ($1, $1, 'x', $2, $3) RETURNING id",
        email,
        role.value,
        department_id,
    )
    return Principal(user_id=user_id, email=email, role=role, department_id=department_id)


def _decoded(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


class World:
    def __init__(self, engine: Container, people: dict[str, Principal]) -> None:
        self.engine = engine
        self.people = people

    async def waiting_task(self, workflow: str = "reviewed") -> tuple[UUID, UUID]:
        """Start ``workflow``, run its manual step to WAITING; the execution and its task."""
        started = await self.engine.start_execution(StartRequest(workflow=workflow))
        await self.engine.step_runner().run(started.first_step_id)  # type: ignore[arg-type]
        async with self.engine.db.pool.acquire() as conn:
            task_id = await conn.fetchval(
                "SELECT id FROM human_tasks WHERE execution_id = $1", started.execution_id
            )
        assert task_id is not None
        return started.execution_id, task_id

    async def act(self, who: str, task_id: UUID, action: TaskAction) -> TaskActed:
        return await act_on_task(
            self.engine.tasks, self.engine.queue, task_id, action, self.people[who]
        )

    async def submitted(self, task_id: UUID, amount: Any = 1200) -> None:
        await self.act("operator", task_id, Claim())
        await self.act("operator", task_id, Start())
        await self.act("operator", task_id, Submit(form={"amount": amount}))

    async def execution(self, execution_id: UUID) -> tuple[str, list[dict[str, Any]]]:
        async with self.engine.db.pool.acquire() as conn:
            status = await conn.fetchval(
                "SELECT status FROM executions WHERE id = $1", execution_id
            )
            rows = await conn.fetch(
                "SELECT id, status, output::text AS output, error::text AS error "
                "FROM execution_steps WHERE execution_id = $1 ORDER BY position",
                execution_id,
            )
        steps = [
            {**row, "output": _decoded(row["output"]), "error": _decoded(row["error"])}
            for row in rows
        ]
        return status, steps


@pytest.fixture
async def world(engine: Container) -> World:
    async with engine.db.pool.acquire() as conn:
        await install_workflow(conn, REVIEWED)
        await install_workflow(conn, FAIL_ON_REJECT)
        people = {
            "operator": await _user(
                conn, "op@example.org", Role.OPERATOR, "general-administration"
            ),
            "manager": await _user(
                conn, "boss@example.org", Role.MANAGER, "general-administration"
            ),
            "manager2": await _user(
                conn, "boss2@example.org", Role.MANAGER, "general-administration"
            ),
            "manager3": await _user(
                conn, "boss3@example.org", Role.MANAGER, "general-administration"
            ),
            "stranger": await _user(conn, "far@example.org", Role.MANAGER, "finance"),
        }
    return World(engine, people)


async def test_an_approval_completes_the_step_and_the_execution_goes_on(world: World) -> None:
    execution_id, task_id = await world.waiting_task()
    assert (await world.execution(execution_id))[0] == "WAITING"
    await world.submitted(task_id)
    acted = await world.act("manager", task_id, Approve(comment="fine"))

    assert acted.task.state.status == "CLOSED"
    assert acted.task.decision == "approved"
    status, steps = await world.execution(execution_id)
    assert status == "RUNNING"
    assert [s["status"] for s in steps] == ["COMPLETED", "PENDING"]
    operator, manager = world.people["operator"], world.people["manager"]
    assert steps[0]["output"] == {
        "decision": "approved",
        "form": {"amount": 1200},
        "submitted_by": str(operator.user_id),
        "approved_by": [str(manager.user_id)],
        "comments": ["fine"],
    }
    check_output(ManualAction(), steps[0]["output"])  # the host's output is the declared one
    queue = world.engine.queue
    assert isinstance(queue, CollectingQueue)
    assert acted.woken == [steps[1]["id"]]
    assert queue.woken[-1] == steps[1]["id"]

    await world.engine.step_runner().run(steps[1]["id"])
    status, steps = await world.execution(execution_id)
    assert status == "COMPLETED"
    assert steps[1]["output"] == {"value": 1200}


async def test_every_decision_is_audited_with_its_actor_and_reason(world: World) -> None:
    execution_id, task_id = await world.waiting_task()
    await world.submitted(task_id)
    await world.act("manager", task_id, Reject(reason="amount missing a receipt"))
    async with world.engine.db.pool.acquire() as conn:
        rows = await conn.fetch(
            "SELECT action, actor_email, reason, metadata->>'execution_id' AS execution "
            "FROM audit_logs WHERE entity_type = 'human_task' AND entity_id = $1 ORDER BY id",
            str(task_id),
        )
    assert [(r["action"], r["actor_email"]) for r in rows] == [
        ("HUMAN_TASK_CLAIMED", "op@example.org"),
        ("HUMAN_TASK_STARTED", "op@example.org"),
        ("HUMAN_TASK_SUBMITTED", "op@example.org"),
        ("HUMAN_TASK_REJECTED", "boss@example.org"),
    ]
    assert rows[-1]["reason"] == "amount missing a receipt"
    assert {r["execution"] for r in rows} == {str(execution_id)}
    # Rework: the task goes back to its assignee, the step still waits.
    status, steps = await world.execution(execution_id)
    assert (status, steps[0]["status"]) == ("WAITING", "WAITING")
    await world.act("operator", task_id, Start())
    await world.act("operator", task_id, Submit(form={"amount": 900}))
    acted = await world.act("manager", task_id, Approve())
    assert acted.task.state.rejections == 1
    assert (await world.execution(execution_id))[0] == "RUNNING"


async def test_on_reject_fail_fails_the_step_as_a_business_failure(world: World) -> None:
    execution_id, task_id = await world.waiting_task("strict")
    async with world.engine.db.pool.acquire() as conn:
        await conn.execute("UPDATE human_tasks SET on_reject = 'fail' WHERE id = $1", task_id)
    await world.submitted(task_id)
    acted = await world.act("manager", task_id, Reject(reason="not eligible"))
    assert acted.task.state.status == "CLOSED"
    status, steps = await world.execution(execution_id)
    assert (status, [s["status"] for s in steps]) == ("FAILED", ["FAILED", "PENDING"])
    assert steps[0]["error"]["code"] == "task_rejected"


async def test_concurrent_approvals_exactly_one_wins(world: World) -> None:
    execution_id, task_id = await world.waiting_task()
    await world.submitted(task_id)
    results = await asyncio.gather(
        *(world.act(who, task_id, Approve()) for who in ("manager", "manager2", "manager3")),
        return_exceptions=True,
    )
    won = [r for r in results if isinstance(r, TaskActed)]
    lost = [r for r in results if not isinstance(r, TaskActed)]
    assert len(won) == 1
    assert len(lost) == 2
    assert all(isinstance(r, ConflictError) for r in lost), lost
    status, steps = await world.execution(execution_id)
    assert (status, steps[0]["status"]) == ("RUNNING", "COMPLETED")
    async with world.engine.db.pool.acquire() as conn:
        approvals = await conn.fetchval(
            "SELECT count(*) FROM audit_logs WHERE entity_id = $1 "
            "AND action = 'HUMAN_TASK_APPROVED'",
            str(task_id),
        )
        completed = await conn.fetchval(
            "SELECT count(*) FROM audit_logs WHERE entity_id = $1 "
            "AND action = 'WORKFLOW_EXECUTION_STEP_COMPLETED'",
            str(steps[0]["id"]),
        )
    assert (approvals, completed) == (1, 1)


async def test_refusals_name_the_field_and_change_nothing(world: World) -> None:
    execution_id, task_id = await world.waiting_task()
    with pytest.raises(NotFoundError):
        await world.act("stranger", task_id, Claim())
    with pytest.raises(FieldConflictError) as not_now:
        await world.act("operator", task_id, Start())
    assert not_now.value.problems == [("status", "invalid_state")]
    await world.act("operator", task_id, Claim())
    await world.act("operator", task_id, Start())
    with pytest.raises(InvalidInputError) as bad_form:
        await world.act("operator", task_id, Submit(form={"amount": "much"}))
    assert [field for field, _ in bad_form.value.problems] == ["body.form.amount"]
    await world.act("operator", task_id, Submit(form={"amount": 5}))
    with pytest.raises(ForbiddenError, match="not_reviewer"):
        await world.act("operator", task_id, Approve())
    with pytest.raises(NotFoundError):
        await world.act("manager", UUID(int=7), Approve())
    stored = await world.engine.tasks.get(task_id)
    assert stored is not None
    assert stored.state.status == "SUBMITTED"
    assert (await world.execution(execution_id))[0] == "WAITING"


async def test_canceling_the_execution_cancels_its_open_task_audited(world: World) -> None:
    execution_id, task_id = await world.waiting_task()
    await world.submitted(task_id)
    boss = world.people["manager"]
    await cancel_execution(
        world.engine.control, execution_id, actor=boss.actor(), reason="withdrawn"
    )
    stored = await world.engine.tasks.get(task_id)
    assert stored is not None
    assert stored.state.status == "CANCELED"
    async with world.engine.db.pool.acquire() as conn:
        row = await conn.fetchrow(
            "SELECT actor_email, reason, metadata->>'from' AS previous FROM audit_logs "
            "WHERE entity_id = $1 AND action = 'HUMAN_TASK_CANCELED'",
            str(task_id),
        )
    assert row is not None
    assert (row["actor_email"], row["reason"], row["previous"]) == (
        "boss@example.org",
        "withdrawn",
        "SUBMITTED",
    )
    with pytest.raises(FieldConflictError):
        await world.act("manager", task_id, Approve())
