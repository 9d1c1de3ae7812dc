"""A standalone task (opened through the API's use case) canceled, reactivated, canceled again
and soft-deleted with ``govflow tasks`` by a MANAGER; an OPERATOR's cancel is refused in one
line naming the rule; the deleted task is gone from the list."""

from __future__ import annotations

import json
import shlex
import subprocess
import sys

from govflow.bootstrap import Container
from govflow.core.audit_events import AuditEvent
from govflow.core.roles import Role
from govflow.core.tasks.model import Party
from govflow.settings import Settings
from govflow.usecases.principal import Principal
from govflow.usecases.task_creation import NewTask
from govflow.usecases.task_views import Tasks
from tests.support.engine import ROOT, process_env


def govflow(settings: Settings, command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "govflow", *shlex.split(command)],
        env=process_env(settings, GOVFLOW_PLUGINS_MODULES=""),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


async def test_a_standalone_task_is_canceled_reactivated_and_deleted(
    settings: Settings, services: Container
) -> None:
    people = {}
    async with services.db.pool.acquire() as conn:
        department = await conn.fetchval(
            "INSERT INTO departments (code, name) VALUES ('registry', 'Registry') RETURNING id"
        )
        for email, role in [
            ("clerk@example.org", Role.OPERATOR),
            ("boss@example.org", Role.MANAGER),
        ]:
            user_id = await conn.fetchval(
                "INSERT INTO users (email, full_name, password_hash, role, department_id)"
                " VALUES ($1, $1, 'x', $2, $3) RETURNING id",
                email,
                role.value,
                department,
            )
            people[email] = Principal(
                user_id=user_id, email=email, role=role, department_id=department
            )
    opened = await Tasks(services.tasks, services.queue).create(
        people["boss@example.org"],
        NewTask(title="Archive the 2019 files", offered_to=Party(role=Role.OPERATOR)),
    )
    task = str(opened.id)

    refused = govflow(settings, f"tasks cancel {task} --as clerk@example.org")
    assert refused.returncode == 1
    assert refused.stderr.startswith("govflow: ")
    assert refused.stderr.endswith("(role_forbidden)\n")
    offered = "assignee: none, offered to role OPERATOR"
    for command, status in [
        ("cancel --reason 'filed twice'", "CANCELED"),
        ("reactivate", "OPEN"),
        ("cancel", "CANCELED"),
        ("delete --reason 'not needed'", "DELETED"),
    ]:
        verb, _, options = command.partition(" ")
        result = govflow(settings, f"tasks {verb} {task} --as boss@example.org {options}")
        assert result.returncode == 0, result.stderr
        assert result.stdout == f"task {task} is {status}; {offered}\n"

    listed = govflow(settings, "tasks list --json --as boss@example.org")
    assert json.loads(listed.stdout) == []
    async with services.db.pool.acquire() as conn:
        rows = await conn.fetch(
            "SELECT action, actor_id, reason FROM audit_logs WHERE entity_id = $1 ORDER BY id", task
        )
    decided = [
        (row["action"], row["reason"] or "")
        for row in rows
        if row["action"] != AuditEvent.HUMAN_TASK_CREATED
    ]
    assert decided == [
        (AuditEvent.HUMAN_TASK_CANCELED, "filed twice"),
        (AuditEvent.HUMAN_TASK_REACTIVATED, ""),
        (AuditEvent.HUMAN_TASK_CANCELED, ""),
        (AuditEvent.HUMAN_TASK_DELETED, "not needed"),
    ]
    assert {row["actor_id"] for row in rows} == {people["boss@example.org"].user_id}
