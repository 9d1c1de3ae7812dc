"""``govflow tasks``: what it refuses, each time in one line naming the option or the field
(exit status 1; 2 for a usage error, as click reports them), and nothing is written; and the
list's filters (status, workflow, overdue) as the API's list applies them; a manager's assign
and the assignee's release."""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
import uuid

import asyncpg

from govflow.bootstrap import Container
from govflow.core.audit_events import AuditEvent
from govflow.core.statuses import HumanTaskStatus
from govflow.settings import Settings
from govflow.usecases.start_execution import StartRequest
from tests.support.engine import ROOT, install_workflow, process_env

FORM = """\
name: cli-refusals
title: Refusals
department: general-administration
steps:
  - id: review
    action: manual
    with:
      title: Fill in the amount
      assignee: {role: OPERATOR}
      reviewers: {role: MANAGER}
      due_in: 2d
      form:
        amount: {type: number, required: true}
"""


def govflow(
    settings: Settings, command: str, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "govflow", *shlex.split(command)],
        env=process_env(settings, GOVFLOW_PLUGINS_MODULES=""),
        cwd=ROOT,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
    )


async def _user(conn: asyncpg.Connection, email: str, role: str, department: str) -> None:
    await conn.execute(
        """INSERT INTO users (email, full_name, password_hash, role, department_id)
           VALUES ($1, $1, 'x', $2, (SELECT id FROM departments WHERE code = $3))""",
        email,
        role,
        department,
    )


async def test_refusals_name_the_option_or_field_and_write_nothing(
    settings: Settings, services: Container
) -> None:
    async with services.db.pool.acquire() as conn:
        await install_workflow(conn, FORM)
        await _user(conn, "clerk@example.org", "OPERATOR", "general-administration")
        await _user(conn, "boss@example.org", "MANAGER", "general-administration")
        await _user(conn, "stranger@example.org", "OPERATOR", "public-works")
        await conn.execute(
            "INSERT INTO departments (code, name, is_active) VALUES ('closed', 'Closed', false)"
        )
        await _user(conn, "idle@example.org", "OPERATOR", "closed")
    started = await services.start_execution(StartRequest(workflow="cli-refusals"))
    assert started.first_step_id is not None
    await services.step_runner().run(started.first_step_id)
    async with services.db.pool.acquire() as conn:
        task = str(
            await conn.fetchval(
                "SELECT id FROM human_tasks WHERE execution_id = $1", started.execution_id
            )
        )
        # Overdue, so that --overdue has something to find.
        await conn.execute("UPDATE human_tasks SET due_at = now() - interval '1 hour'")

    refusals = {
        "tasks list --mine": "--mine: needs --as EMAIL (whose tasks)",
        "tasks list --workflow no-such-workflow": "--workflow: no workflow 'no-such-workflow'",
        f"tasks claim {task} --as nobody@example.org": "--as: no user 'nobody@example.org'",
        f"tasks claim {task} --as idle@example.org": "--as: the user's department is inactive",
        f"tasks claim {task} --as stranger@example.org": "task not found",
        f"tasks claim {uuid.uuid4()} --as clerk@example.org": "task not found",
        f"tasks start {task} --as clerk@example.org": (
            "status: START is not allowed on a OPEN task (invalid_state)"
        ),
        f"tasks submit {task} --as clerk@example.org --form oops": (
            "--form: expected KEY=VALUE, got 'oops'"
        ),
        f"tasks assign {task} --as boss@example.org --to nobody@example.org": (
            "--to: no user 'nobody@example.org'"
        ),
        f"tasks comment {task} ' ' --as clerk@example.org": "text: must not be empty",
    }
    for command, line in refusals.items():
        result = govflow(settings, command)
        assert (result.returncode, result.stdout) == (1, ""), command
        assert result.stderr == f"govflow: {line}\n", command

    not_an_object = govflow(
        settings, f"tasks submit {task} --as clerk@example.org --form-json -", stdin="[1]"
    )
    assert not_an_object.returncode == 1
    assert not_an_object.stderr == "govflow: --form-json: must be a JSON object\n"
    no_reason = govflow(settings, f"tasks reject {task} --as boss@example.org")
    assert no_reason.returncode == 2
    assert "Missing option '--reason'" in no_reason.stderr

    async with services.db.pool.acquire() as conn:
        events = await conn.fetch("SELECT action FROM audit_logs WHERE entity_id = $1", task)
        row = await conn.fetchrow(
            "SELECT status, version FROM human_tasks WHERE id = $1::uuid", uuid.UUID(task)
        )
    decided = [e["action"] for e in events if e["action"] != AuditEvent.HUMAN_TASK_CREATED]
    assert decided == []
    assert (row["status"], row["version"]) == (HumanTaskStatus.OPEN, 1)

    def listed(options: str) -> list[str]:
        result = govflow(settings, f"tasks list --json {options}")
        assert result.returncode == 0, result.stderr
        return [item["id"] for item in json.loads(result.stdout)]

    assert listed("--workflow cli-refusals --status OPEN --status ASSIGNED --overdue") == [task]
    assert listed("--status CLOSED") == []
    assert listed("--eligible --as clerk@example.org") == [task]
    assert listed("--as stranger@example.org") == []  # another department's

    # A manager gives the task to the clerk, who gives it back to its offer.
    assigned = govflow(
        settings, f"tasks assign {task} --as boss@example.org --to clerk@example.org --reason cover"
    )
    assert assigned.stdout == f"task {task} is ASSIGNED; assignee: clerk@example.org\n"
    released = govflow(settings, f"tasks release {task} --as clerk@example.org")
    assert released.stdout == (f"task {task} is OPEN; assignee: none, offered to role OPERATOR\n")
