"""``govflow tasks ...`` acts on a ``manual`` step's task as the users ``--as`` names, through
the API's use cases: a workflow started with the CLI waits on its task (``start --wait`` says
which and who holds it), an OPERATOR claims, starts and submits it, a MANAGER approves it, and a
real worker takes the execution to COMPLETED. Refusals are one line naming the field. The CLI
example of docs/human-tasks.md runs as typed."""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
from uuid import UUID

import asyncpg

from govflow.core.audit_events import AuditEvent
from govflow.core.statuses import ExecutionStatus, HumanTaskStatus, StepStatus
from govflow.settings import Settings
from tests.support.doc_examples import blocks
from tests.support.engine import ROOT, install_workflow, process_env, processes

EXPENSE = """\
name: cli-expense
title: Expense claim
department: general-administration
inputs:
  claimant: {type: string}
steps:
  - id: review
    action: manual
    with:
      title: "Expense claim of {{ inputs.claimant }}"
      assignee: {role: OPERATOR}
      reviewers: {role: MANAGER}
      due_in: 2d
      form:
        amount: {type: number, label: Amount, required: true, min: 0, max: 1000}
        reason: {type: text}
  - id: paid
    action: notification
    with: {channel: log, message: "Paying {{ steps.review.output.form.amount }}"}
"""


def govflow(settings: Settings, command: str) -> subprocess.CompletedProcess[str]:
    """Run ``govflow COMMAND`` (split as a shell would) against the test's servers."""
    return subprocess.run(
        [sys.executable, "-m", "govflow", *shlex.split(command)],
        env=process_env(settings, GOVFLOW_PLUGINS_MODULES=""),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


def ok(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def refused(result: subprocess.CompletedProcess[str]) -> str:
    """The one line a refused command prints (exit status 1, nothing on stdout)."""
    assert result.returncode == 1, result.stdout + result.stderr
    assert result.stdout == ""
    (line,) = result.stderr.splitlines()
    return line


async def add_user(conn: asyncpg.Connection, email: str, role: str) -> UUID:
    user_id: UUID = await conn.fetchval(
        """INSERT INTO users (email, full_name, password_hash, role, department_id)
           VALUES ($1, $1, 'x', $2,
                   (SELECT id FROM departments WHERE code = 'general-administration'))
           RETURNING id""",
        email,
        role,
    )
    return user_id


async def test_a_manual_step_is_submitted_and_approved_with_the_cli(
    settings: Settings, database_url: str
) -> None:
    def cli(command: str) -> subprocess.CompletedProcess[str]:
        return govflow(settings, command)

    conn = await asyncpg.connect(database_url)
    try:
        await install_workflow(conn, EXPENSE)
        clerk = await add_user(conn, "clerk@example.org", "OPERATOR")
        boss = await add_user(conn, "boss@example.org", "MANAGER")
        with processes(settings, GOVFLOW_PLUGINS_MODULES="") as group:
            group.start("worker")
            started = ok(
                cli(
                    "executions start cli-expense -i claimant=Ada --as clerk@example.org"
                    " --wait --timeout 60"
                )
            )
            first = re.match(r"started execution (\S+)\n", started)
            assert first, started
            execution_id = first.group(1)
            waiting = re.search(
                r"^step review: WAITING, waiting for task (\S+) "
                r"\(assignee: none, offered to role OPERATOR\)$",
                started,
                re.MULTILINE,
            )
            assert waiting, started
            task_id = waiting.group(1)
            assert f"`govflow executions wait {execution_id}`" in started
            assert f"execution {execution_id}  cli-expense v1  WAITING" in started.splitlines()

            shown = ok(cli(f"executions show {execution_id}"))
            assert f"task {task_id}  OPEN  Expense claim of Ada" in shown
            assert "assignee: none, offered to role OPERATOR; due " in shown
            assert 'amount (number, required, min 0, max 1000) "Amount"; reason (text)' in shown

            listed = ok(cli(f"tasks list --execution {execution_id}")).splitlines()
            assert listed[0].split() == ["ID", "STATUS", "ASSIGNEE", "DUE", "TITLE"]
            assert listed[1].split()[:2] == [task_id, "OPEN"]
            assert ok(cli("tasks list --mine --as clerk@example.org")) == "no tasks\n"

            claimed = ok(cli(f"tasks claim {task_id} --as clerk@example.org"))
            assert claimed == f"task {task_id} is ASSIGNED; assignee: clerk@example.org\n"
            mine = json.loads(ok(cli("tasks list --mine --as clerk@example.org --json")))
            assert [task["id"] for task in mine] == [task_id]
            ok(cli(f"tasks start {task_id} --as clerk@example.org"))

            # Form problems name the field; nothing is submitted.
            too_much = cli(f"tasks submit {task_id} --as clerk@example.org --form amount=1000.5")
            assert refused(too_much) == (
                "govflow: form.amount: value must be at most 1000, got 1000.5"
            )
            unknown = cli(
                f"tasks submit {task_id} --as clerk@example.org --form amount=12 --form colour=red"
            )
            assert refused(unknown).startswith("govflow: form.colour: ")

            submitted = ok(
                cli(
                    f"tasks submit {task_id} --as clerk@example.org"
                    " --form amount=120.5 --form 'reason=Train to Lyon'"
                )
            )
            assert submitted.startswith(f"task {task_id} is SUBMITTED;")

            # The clerk is no reviewer: refused, with the field and the rule named.
            own = cli(f"tasks approve {task_id} --as clerk@example.org")
            assert refused(own) == (
                "govflow: reviewers: the user is not a reviewer of the task (not_reviewer)"
            )

            approved = ok(cli(f"tasks approve {task_id} --as boss@example.org --comment Fine"))
            assert approved.splitlines() == [
                f"task {task_id} is CLOSED (approved); assignee: clerk@example.org",
                f"its execution goes on: govflow executions wait {execution_id}",
            ]
            followed = ok(cli(f"executions wait {execution_id}"))
            assert "step paid: COMPLETED" in followed.splitlines()
            assert f"execution {execution_id}  cli-expense v1  COMPLETED" in followed

        status = await conn.fetchval(
            "SELECT status FROM executions WHERE id = $1", UUID(execution_id)
        )
        assert status == ExecutionStatus.COMPLETED
        steps = await conn.fetch(
            "SELECT step_key, status, output::text AS output FROM execution_steps"
            " WHERE execution_id = $1 ORDER BY position",
            UUID(execution_id),
        )
        assert [(row["step_key"], row["status"]) for row in steps] == [
            ("review", StepStatus.COMPLETED),
            ("paid", StepStatus.COMPLETED),
        ]
        output = json.loads(steps[0]["output"])
        assert output["form"] == {"amount": 120.5, "reason": "Train to Lyon"}
        actors = {
            row["action"]: row["actor_id"]
            for row in await conn.fetch(
                "SELECT action, actor_id FROM audit_logs WHERE entity_id = $1", task_id
            )
        }
        assert actors[AuditEvent.HUMAN_TASK_CLAIMED] == clerk
        assert actors[AuditEvent.HUMAN_TASK_SUBMITTED] == clerk
        assert actors[AuditEvent.HUMAN_TASK_APPROVED] == boss
        task_status = await conn.fetchval(
            "SELECT status FROM human_tasks WHERE id = $1", UUID(task_id)
        )
        assert task_status == HumanTaskStatus.CLOSED
    finally:
        await conn.close()

    shown = ok(cli(f"tasks show {task_id}"))
    assert shown.splitlines()[0] == f"task {task_id}  CLOSED  Expense claim of Ada"
    assert "    amount = 120.5" in shown.splitlines()
    assert "  decision: approved by boss@example.org" in shown.splitlines()
    records = [line.split()[3:] for line in shown.splitlines() if " HUMAN_TASK_" in line]
    assert records[:2] == [
        ["HUMAN_TASK_CLAIMED", "by", "clerk@example.org"],
        ["HUMAN_TASK_STARTED", "by", "clerk@example.org"],
    ]
    assert ["HUMAN_TASK_APPROVED", "by", "boss@example.org:", "Fine"] in records


def documented_session() -> tuple[str, list[list[str]]]:
    """docs/human-tasks.md's CLI example: the workflow, and its commands as typed (each one's
    words after ``govflow``)."""
    (workflow,) = [
        block
        for block in blocks(ROOT / "docs" / "human-tasks.md")
        if block.lang == "yaml" and "name: expense-claim" in block.text
    ]
    assert workflow.next is not None
    assert workflow.next.lang == "sh"
    commands = []
    for line in workflow.next.text.splitlines():
        words = shlex.split(line, comments=True)
        if words:
            assert words[0] == "govflow", line
            commands.append(words[1:])
    return workflow.text, commands


async def test_the_documented_cli_session_runs(settings: Settings, database_url: str) -> None:
    """Every command of the example, as typed, against a worker (``6f1c...`` stands for the
    execution's id, ``9a7e...`` for the task's); the execution ends COMPLETED."""
    text, commands = documented_session()
    assert [words[:2] for words in commands] == [
        ["executions", "start"],
        ["tasks", "list"],
        ["tasks", "claim"],
        ["tasks", "start"],
        ["tasks", "submit"],
        ["tasks", "approve"],
        ["executions", "wait"],
    ]
    conn = await asyncpg.connect(database_url)
    try:
        await install_workflow(conn, text)
        await add_user(conn, "clerk@example.org", "OPERATOR")
        await add_user(conn, "boss@example.org", "MANAGER")
        ids: dict[str, str] = {}
        outputs = []
        with processes(settings, GOVFLOW_PLUGINS_MODULES="") as group:
            group.start("worker")
            for words in commands:
                typed = [ids.get(word, word) for word in words]
                outputs.append(ok(govflow(settings, shlex.join(typed))))
                for key, pattern in (
                    ("6f1c...", r"started execution (\S+)"),
                    ("9a7e...", r"waiting for task (\S+)"),
                ):
                    found = re.search(pattern, outputs[-1])
                    if found:
                        ids[key] = found.group(1)
        assert set(ids) == {"6f1c...", "9a7e..."}
        assert ids["9a7e..."] in outputs[1]  # the clerk may claim it
        status = await conn.fetchval(
            "SELECT status FROM executions WHERE id = $1", UUID(ids["6f1c..."])
        )
        assert status == ExecutionStatus.COMPLETED
        assert f"execution {ids['6f1c...']}  expense-claim v1  COMPLETED" in outputs[-1]
    finally:
        await conn.close()
