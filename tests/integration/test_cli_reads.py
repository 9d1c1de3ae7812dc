"""The CLI reads what the API reads: the same execution view, the same workflow listing."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from uuid import UUID

import asyncpg
import msgspec

from govflow.bootstrap import Container
from govflow.settings import Settings
from tests.support.engine import ROOT, install_workflow, process_env

HELLO = """\
name: cli-hello
title: CLI hello
department: general-administration
inputs:
  who: {type: string}
steps:
  - id: greet
    action: notification
    with: {channel: log, message: "Hello, {{ inputs.who }}!"}
  - id: again
    action: notification
    with: {channel: log, message: "Hello again"}
"""


def govflow(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "govflow", *args],
        env=process_env(settings), cwd=ROOT, capture_output=True, text=True, timeout=120,
    )  # fmt: skip


async def test_executions_show_prints_the_api_view(
    settings: Settings, services: Container, database_url: str
) -> None:
    conn = await asyncpg.connect(database_url)
    try:
        await install_workflow(conn, HELLO)
    finally:
        await conn.close()
    started = govflow(settings, "executions", "start", "cli-hello", "-i", "who=Ada")
    assert started.returncode == 0, started.stderr
    match = re.fullmatch(r"started execution (\S+)\n", started.stdout)
    assert match, started.stdout
    execution_id = match.group(1)

    shown = govflow(settings, "executions", "show", execution_id, "--json")
    assert shown.returncode == 0, shown.stderr
    view = await services.execution_reader.get(UUID(execution_id), None)
    assert view is not None
    assert json.loads(shown.stdout) == json.loads(msgspec.json.encode(view))
    assert [step["step_key"] for step in json.loads(shown.stdout)["steps"]] == ["greet", "again"]

    text = govflow(settings, "executions", "show", execution_id)
    assert text.returncode == 0, text.stderr
    assert text.stdout.splitlines()[0] == f"execution {execution_id}  cli-hello v1  PENDING"
    assert text.stdout.splitlines()[2].split()[:4] == ["2.", "again", "notification", "PENDING"]


async def test_workflows_list_shows_every_workflow_past_one_page(
    settings: Settings, database_url: str
) -> None:
    names = [f"bulk-{index:03d}" for index in range(105)]
    conn = await asyncpg.connect(database_url)
    try:
        await conn.executemany(
            "INSERT INTO workflows (name, title, is_active) VALUES ($1, $1, $2)",
            [(name, index % 2 == 0) for index, name in enumerate(names)],
        )
    finally:
        await conn.close()
    listed = govflow(settings, "workflows", "list")
    assert listed.returncode == 0, listed.stderr
    rows = [line.split() for line in listed.stdout.splitlines()]
    assert rows[0] == ["NAME", "VERSION", "DEPARTMENT", "ACTIVE"]
    assert rows[1:] == [
        [name, "-", "-", "yes" if index % 2 == 0 else "no"] for index, name in enumerate(names)
    ]
