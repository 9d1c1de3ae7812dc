"""The ``manual`` step's keys, run through the real engine on PostgreSQL and decided through
``act_on_task``: a named assignee, reviewers by department, two distinct approvals, the starter
and the submitter refused, a typed form whose errors name the field, ``on_reject: fail``, the
approved form read by a later step; names resolved when the task opens (an unknown or inactive
user fails the step naming it); a department a step names checked at load and by
``govflow workflows validate``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any
from uuid import UUID

import asyncpg
import pytest

from govflow.adapters.db.workflows import PgWorkflowStore
from govflow.bootstrap import Container
from govflow.core.roles import Role
from govflow.core.spec_errors import SpecError
from govflow.core.tasks.model import Approve, Claim, Reject, Start, Submit, TaskAction
from govflow.plugins import PluginManager
from govflow.usecases.access_errors import ForbiddenError
from govflow.usecases.errors import InvalidInputError, NotFoundError
from govflow.usecases.principal import Principal
from govflow.usecases.start_execution import StartRequest
from govflow.usecases.tasks import TaskActed, act_on_task
from govflow.usecases.workflows import SourceFile, load_workflow_files
from tests.support.engine import install_workflow

ROOT = Path(__file__).resolve().parents[3]

EXPENSE = """
name: expense
title: Expense
department: general-administration
inputs:
  case: {type: string, default: "E-1"}
steps:
  - id: review
    action: manual
    with:
      title: "Expense {{ inputs.case }}"
      description: "Check the receipts of {{ inputs.case }}"
      assignee: {user: Op@example.org}
      reviewers: {department: general-administration}
      approvals: 2
      starter_cannot_approve: true
      on_reject: fail
      form:
        amount: {type: number, required: true, min: 0, max: 1000}
        category: {type: choice, options: [travel, other]}
      due_in: 1d
      escalate_to: {user: boss3@example.org}
      notify:
        - {channel: log, level: warning}
        - {channel: email, to: [ops@example.org], on: [overdue]}
  - {id: after, action: echo, with: {value: "{{ steps.review.output.form.amount }}"}}
"""

GHOST = """
name: ghost
title: Ghost
department: general-administration
inputs:
  who: {type: string}
steps:
  - id: review
    action: manual
    with:
      title: Review
      assignee: {role: OPERATOR}
      reviewers: {user: ["boss2@example.org", "{{ inputs.who }}"]}
  - {id: after, action: echo, with: {value: 1}}
"""


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

    async def started(
        self, workflow: str, starter: str = "manager", **inputs: Any
    ) -> tuple[UUID, UUID | None]:
        """Start ``workflow`` as ``starter`` and run its first step; the execution and the task
        it opened (``None`` when it opened none)."""
        request = StartRequest(workflow=workflow, inputs=inputs, actor=self.people[starter].actor())
        started = await self.engine.start_execution(request)
        assert started.first_step_id is not None
        await self.engine.step_runner().run(started.first_step_id)
        async with self.engine.db.pool.acquire() as conn:
            task_id = await conn.fetchval(
                "SELECT id FROM human_tasks WHERE execution_id = $1", started.execution_id
            )
        return started.execution_id, task_id

    async def act(self, who: str, task_id: UUID, action: TaskAction) -> TaskActed:
        return await act_on_task(
            self.engine.tasks, self.engine.queue, task_id, action, self.people[who]
        )

    async def submitted(self, task_id: UUID, form: dict[str, Any]) -> None:
        await self.act("operator", task_id, Claim())
        await self.act("operator", task_id, Start())
        await self.act("operator", task_id, Submit(form=form))

    async def steps(self, execution_id: UUID) -> tuple[str, list[dict[str, Any]]]:
        async with self.engine.db.pool.acquire() as conn:
            status = await conn.fetchval(
                "SELECT status FROM executions WHERE id = $1", execution_id
            )
            rows = await conn.fetch(
                "SELECT id, status, output::text AS output, error::text AS error "
                "FROM execution_steps WHERE execution_id = $1 ORDER BY position",
                execution_id,
            )
        return status, [
            {**row, "output": _decoded(row["output"]), "error": _decoded(row["error"])}
            for row in rows
        ]


@pytest.fixture
async def world(engine: Container) -> World:
    async with engine.db.pool.acquire() as conn:
        await install_workflow(conn, EXPENSE)
        await install_workflow(conn, GHOST)
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
            "planner": await _user(conn, "plan@example.org", Role.OPERATOR, "urban-planning"),
        }
    return World(engine, people)


async def test_the_task_stores_every_key_with_its_people_resolved(world: World) -> None:
    execution_id, task_id = await world.started("expense")
    assert task_id is not None
    async with world.engine.db.pool.acquire() as conn:
        row = await conn.fetchrow(
            "SELECT t.*, d.code AS reviewer_department FROM human_tasks t "
            "LEFT JOIN departments d ON d.id = t.reviewer_department_id WHERE t.id = $1",
            task_id,
        )
    assert row is not None
    people = world.people
    assert row["title"] == "Expense E-1"
    assert row["description"] == "Check the receipts of E-1"
    assert (row["status"], row["assignee_id"], row["assignee_role"]) == ("OPEN", None, None)
    assert _decoded(row["offer_users"]) == [str(people["operator"].user_id)]
    assert row["offer_department_id"] is None
    assert (row["reviewer_role"], row["reviewer_department"]) == (None, "general-administration")
    assert _decoded(row["reviewer_users"]) == []
    assert (row["approvals_required"], row["starter_cannot_approve"], row["on_reject"]) == (
        2,
        True,
        "fail",
    )
    assert _decoded(row["escalate_to"]) == {
        "users": [str(people["manager3"].user_id)],
        "role": None,
        "department_id": None,
    }
    assert _decoded(row["notify"]) == [
        {"channel": "log", "level": "warning"},
        {"channel": "email", "to": ["ops@example.org"], "on": ["overdue"]},
    ]
    assert row["due_at"] is not None
    assert set(_decoded(row["form"])) == {"amount", "category"}

    stored = await world.engine.tasks.get(task_id)
    assert stored is not None
    policy = stored.state.policy
    assert policy.approvals == 2
    assert policy.reviewers is not None
    assert policy.reviewers.department_id == people["manager"].department_id
    assert [dict(channel) for channel in policy.notify] == _decoded(row["notify"])
    assert stored.state.started_by == people["manager"].user_id
    assert (await world.steps(execution_id))[0] == "WAITING"


async def test_two_distinct_reviewers_approve_neither_the_starter_nor_the_submitter(
    world: World,
) -> None:
    execution_id, task_id = await world.started("expense")
    assert task_id is not None
    with pytest.raises(ForbiddenError, match="not_eligible"):
        await world.act("manager2", task_id, Claim())  # offered to the named user only
    await world.act("operator", task_id, Claim())
    await world.act("operator", task_id, Start())
    with pytest.raises(InvalidInputError) as bad_form:
        await world.act(
            "operator", task_id, Submit(form={"amount": 1500, "category": "food", "tip": 1})
        )
    assert sorted(field for field, _ in bad_form.value.problems) == [
        "body.form.amount",
        "body.form.category",
        "body.form.tip",
    ]
    with pytest.raises(InvalidInputError) as missing:
        await world.act("operator", task_id, Submit(form={"category": "travel"}))
    assert [field for field, _ in missing.value.problems] == ["body.form.amount"]
    await world.act("operator", task_id, Submit(form={"amount": 250, "category": "travel"}))

    with pytest.raises(ForbiddenError, match="four_eyes"):
        await world.act("operator", task_id, Approve())
    with pytest.raises(ForbiddenError, match="starter_cannot_approve"):
        await world.act("manager", task_id, Approve())
    with pytest.raises(NotFoundError):  # another department's user
        await world.act("planner", task_id, Approve())

    first = await world.act("manager2", task_id, Approve(comment="receipts fine"))
    assert first.task.state.status == "SUBMITTED"
    assert (await world.steps(execution_id))[1][0]["status"] == "WAITING"
    with pytest.raises(ForbiddenError, match="already_approved"):
        await world.act("manager2", task_id, Approve())

    second = await world.act("manager3", task_id, Approve())
    assert second.task.state.status == "CLOSED"
    status, steps = await world.steps(execution_id)
    assert (status, [s["status"] for s in steps]) == ("RUNNING", ["COMPLETED", "PENDING"])
    people = world.people
    assert steps[0]["output"]["form"] == {"amount": 250, "category": "travel"}
    assert steps[0]["output"]["approved_by"] == [
        str(people["manager2"].user_id),
        str(people["manager3"].user_id),
    ]

    await world.engine.step_runner().run(steps[1]["id"])
    status, steps = await world.steps(execution_id)
    assert status == "COMPLETED"
    assert steps[1]["output"] == {"value": 250}


async def test_a_rejection_under_on_reject_fail_fails_the_step(world: World) -> None:
    execution_id, task_id = await world.started("expense")
    assert task_id is not None
    await world.submitted(task_id, {"amount": 900})
    await world.act("manager2", task_id, Approve())
    acted = await world.act("manager3", task_id, Reject(reason="no receipt"))
    assert acted.task.state.status == "CLOSED"
    status, steps = await world.steps(execution_id)
    assert (status, [s["status"] for s in steps]) == ("FAILED", ["FAILED", "PENDING"])
    assert steps[0]["error"]["code"] == "task_rejected"


@pytest.mark.parametrize("who", ["ghost@example.org", "op@example.org"])
async def test_an_unknown_or_inactive_user_fails_the_step_naming_the_email(
    world: World, who: str
) -> None:
    async with world.engine.db.pool.acquire() as conn:
        await conn.execute("UPDATE users SET is_active = false WHERE email = 'op@example.org'")
    execution_id, task_id = await world.started("ghost", who=who)
    assert task_id is None
    status, steps = await world.steps(execution_id)
    assert (status, [s["status"] for s in steps]) == ("FAILED", ["FAILED", "PENDING"])
    assert steps[0]["error"] == {
        "code": "BUSINESS_ERROR",
        "message": f"reviewers.user: no active user has the email '{who}'",
    }


async def test_a_known_templated_reviewer_opens_the_task(world: World) -> None:
    execution_id, task_id = await world.started("ghost", who="BOSS3@example.org")
    assert task_id is not None
    stored = await world.engine.tasks.get(task_id)
    assert stored is not None
    assert stored.state.policy.reviewers is not None
    assert set(stored.state.policy.reviewers.users) == {
        world.people["manager2"].user_id,
        world.people["manager3"].user_id,
    }
    assert (await world.steps(execution_id))[0] == "WAITING"


UNKNOWN_DEPARTMENT = """\
name: parks
title: Parks
department: general-administration
steps:
  - id: review
    action: manual
    with:
      title: Review
      assignee: {role: OPERATOR, department: public-works}
      reviewers: {department: parks-and-gardens}
"""


async def test_loading_refuses_a_department_a_step_names_that_does_not_exist(
    engine: Container,
) -> None:
    inputs = PluginManager.from_env({}).actions().inputs()
    async with engine.db.pool.acquire() as conn:
        await install_workflow(conn, EXPENSE)  # seeds the departments
        with pytest.raises(SpecError) as refused:
            await load_workflow_files(
                [SourceFile("parks.yaml", UNKNOWN_DEPARTMENT)], inputs, PgWorkflowStore(conn)
            )
        saved = await conn.fetchval("SELECT count(*) FROM workflows WHERE name = 'parks'")
    assert [p.format() for p in refused.value.problems] == [
        "parks.yaml:10:31: steps[0].with.reviewers.department: unknown department "
        "'parks-and-gardens' (known departments: general-administration, public-works, "
        "urban-planning)"
    ]
    assert saved == 0


def _validate(path: Path, database_url: str | None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env["GOVFLOW_PLUGINS_ALLOW"] = "manual,notification,jira,workflow,wait"
    if database_url is not None:
        env["DATABASE_URL"] = database_url
    return subprocess.run(
        [sys.executable, "-m", "govflow", "workflows", "validate", str(path)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


async def test_validate_checks_the_departments_against_the_database_it_reaches(
    engine: Container, database_url: str, tmp_path: Path
) -> None:
    async with engine.db.pool.acquire() as conn:
        await install_workflow(conn, EXPENSE)  # seeds the departments
    path = tmp_path / "parks.yaml"
    path.write_text(UNKNOWN_DEPARTMENT)

    refused = _validate(path, database_url)
    assert refused.returncode == 1, refused.stdout + refused.stderr
    assert refused.stdout.splitlines() == [
        f"{path}:10:31: steps[0].with.reviewers.department: unknown department "
        "'parks-and-gardens' (known departments: general-administration, public-works, "
        "urban-planning)"
    ]

    offline = _validate(path, None)
    assert offline.returncode == 0, offline.stdout + offline.stderr
    assert "departments and assignees (users by email) not checked: DATABASE_URL is not set" in (
        offline.stderr
    )

    shipped = _validate(ROOT / "workflows.d", database_url)
    assert shipped.returncode == 0, shipped.stdout + shipped.stderr
    assert "not checked" not in shipped.stderr
