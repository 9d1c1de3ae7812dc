"""``govflow executions list`` lists what the API lists (``ExecutionAdmin.search``, newest
first): filtered by workflow (name or id) and status, bounded by ``--limit``, and ``--as`` an
OPERATOR only that user's own."""

from __future__ import annotations

import json
import subprocess
import sys

from govflow.bootstrap import Container
from govflow.bootstrap.actors import CLI_ACTOR, CLI_READER
from govflow.core.roles import Role
from govflow.core.statuses import ExecutionStatus
from govflow.settings import Settings
from govflow.usecases.audit import SYSTEM, Actor
from govflow.usecases.execution_views import ExecutionFilter
from govflow.usecases.operate import cancel_execution
from govflow.usecases.paging import PageRequest
from govflow.usecases.start_execution import StartRequest
from tests.support.engine import ROOT, install_workflow, process_env

GREETING = """\
name: {name}
title: Greeting
department: general-administration
steps:
  - id: greet
    action: notification
    with: {{channel: log, message: "Hello"}}
"""


def govflow(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "govflow", *args],
        env=process_env(settings, GOVFLOW_PLUGINS_MODULES=""), cwd=ROOT,
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip


def listed_ids(settings: Settings, *args: str) -> list[str]:
    result = govflow(settings, "executions", "list", "--json", *args)
    assert result.returncode == 0, result.stderr
    return [item["id"] for item in json.loads(result.stdout)]


async def test_executions_list_filters_as_the_api_lists(
    settings: Settings, services: Container
) -> None:
    async with services.db.pool.acquire() as conn:
        first = await install_workflow(conn, GREETING.format(name="cli-first"))
        await install_workflow(conn, GREETING.format(name="cli-second"))
        clerk_id = await conn.fetchval(
            """INSERT INTO users (email, full_name, password_hash, role, department_id)
               VALUES ('clerk@example.org', 'Clerk', 'x', 'OPERATOR',
                       (SELECT id FROM departments WHERE code = 'general-administration'))
               RETURNING id"""
        )
        department = await conn.fetchval("SELECT department_id FROM users WHERE id = $1", clerk_id)
    clerk = Actor(
        user_id=clerk_id,
        email="clerk@example.org",
        role=Role.OPERATOR,
        department_id=department,
        name="clerk@example.org",
    )
    started = [
        (await services.start_execution(StartRequest(workflow=name, actor=actor))).execution_id
        for name, actor in [
            ("cli-first", SYSTEM),
            ("cli-second", SYSTEM),
            ("cli-first", clerk),
            ("cli-first", SYSTEM),
        ]
    ]
    await cancel_execution(services.control, started[3], actor=CLI_ACTOR, reason="test")
    firsts = [str(started[3]), str(started[2]), str(started[0])]  # newest first

    # Every execution, as the API's list use case reads them for an ADMIN.
    everything = listed_ids(settings)
    page = await services.execution_admin().search(
        CLI_READER, ExecutionFilter(), PageRequest(1, 20)
    )
    assert everything == [str(item.id) for item in page.items]
    assert len(everything) == 4
    assert listed_ids(settings, "--workflow", "cli-first") == firsts
    assert listed_ids(settings, "--workflow", str(first)) == firsts
    assert listed_ids(settings, "--workflow", "cli-first", "--status", "CANCELED") == [
        str(started[3])
    ]
    assert listed_ids(settings, "--status", "PENDING", "--limit", "2") == [
        str(started[2]),
        str(started[1]),
    ]
    assert listed_ids(settings, "--as", "clerk@example.org") == [str(started[2])]

    table = govflow(settings, "executions", "list", "--workflow", "cli-first")
    assert table.returncode == 0, table.stderr
    lines = table.stdout.splitlines()
    assert lines[0].split() == ["ID", "WORKFLOW", "STATUS", "CREATED", "CREATED", "BY"]
    rows = [line.split() for line in lines[1:]]
    assert [row[0] for row in rows] == firsts
    assert [row[1:4] for row in rows] == [
        ["cli-first", "v1", ExecutionStatus.CANCELED],
        ["cli-first", "v1", ExecutionStatus.PENDING],
        ["cli-first", "v1", ExecutionStatus.PENDING],
    ]
    assert rows[1][-1] == "clerk@example.org"
    assert rows[0][-1] == "-"

    none = govflow(settings, "executions", "list", "--workflow", "nothing-like-it")
    assert (none.returncode, none.stdout) == (0, "no executions\n")
    unknown = govflow(settings, "executions", "list", "--as", "nobody@example.org")
    assert unknown.returncode == 1
    assert unknown.stderr == "govflow: --as: no user 'nobody@example.org'\n"
    wrong = govflow(settings, "executions", "list", "--status", "DONE")
    assert wrong.returncode == 2  # a usage error, as click reports them
    assert "'DONE' is not one of" in wrong.stderr
