"""The shipped ``incident-follow-up`` (up to its Jira steps: no Jira client exists yet) worked
through the CLI alone against a real worker: its report, offered to the ``public-works``
department, is claimed, delegated, submitted, sent back with a reason, submitted again from a
JSON file on standard input and approved by a MANAGER; the execution ends COMPLETED with the
form as the step's output."""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
from uuid import UUID

import asyncpg

from govflow.core.audit_events import AuditEvent
from govflow.core.statuses import ExecutionStatus
from govflow.settings import Settings
from tests.support.engine import ROOT, install_workflow, process_env, processes


def report_step_only() -> str:
    text = (ROOT / "workflows.d" / "incident-follow-up.yaml").read_text(encoding="utf-8")
    return text[: text.index("  - id: comment")]


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


def ok(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


async def test_incident_follow_up_report_is_worked_through_the_cli(
    settings: Settings, database_url: str
) -> None:
    def cli(command: str, stdin: str | None = None) -> str:
        return ok(govflow(settings, command, stdin))

    conn = await asyncpg.connect(database_url)
    try:
        await install_workflow(conn, report_step_only())
        for email, role in [
            ("ada@works.example.org", "OPERATOR"),
            ("grace@works.example.org", "OPERATOR"),
            ("head@works.example.org", "MANAGER"),
        ]:
            await conn.execute(
                """INSERT INTO users (email, full_name, password_hash, role, department_id)
                   VALUES ($1, $1, 'x', $2,
                           (SELECT id FROM departments WHERE code = 'public-works'))""",
                email,
                role,
            )
        with processes(settings, GOVFLOW_PLUGINS_MODULES="") as group:
            group.start("worker")
            started = cli(
                "executions start incident-follow-up -i issue_key=OPS-7 -i severity=high"
                " -i 'summary=Water main burst' --as head@works.example.org --wait"
            )
            execution = re.match(r"started execution (\S+)", started)
            task = re.search(
                r"waiting for task (\S+) \(assignee: none, offered to department public-works\)",
                started,
            )
            assert execution, started
            assert task, started
            execution_id, task_id = execution.group(1), task.group(1)

            cli(f"tasks claim {task_id} --as ada@works.example.org")
            delegated = cli(
                f"tasks delegate {task_id} --as ada@works.example.org"
                " --to grace@works.example.org --reason 'on leave'"
            )
            assert delegated.endswith("assignee: grace@works.example.org\n")
            cli(f"tasks start {task_id} --as grace@works.example.org")
            cli(f"tasks submit {task_id} --as grace@works.example.org --form root_cause=Corrosion")
            rejected = cli(
                f"tasks reject {task_id} --as head@works.example.org --reason 'Name the pipe'"
            )
            assert rejected.startswith(f"task {task_id} is REJECTED")
            cli(f"tasks comment {task_id} 'Pipe 12 on Elm Street' --as grace@works.example.org")
            cli(f"tasks start {task_id} --as grace@works.example.org")
            form = {"root_cause": "Corrosion of pipe 12", "recurrence_risk": "medium"}
            cli(
                f"tasks submit {task_id} --as grace@works.example.org --form-json -",
                stdin=json.dumps(form),
            )
            cli(f"tasks approve {task_id} --as head@works.example.org")
            followed = cli(f"executions wait {execution_id}")
            assert f"execution {execution_id}  incident-follow-up v1  COMPLETED" in followed

        shown = cli(f"tasks show {task_id}")
        assert "  rejections: 1, last reason: Name the pipe" in shown.splitlines()
        assert "  decision: approved by head@works.example.org" in shown.splitlines()
        status = await conn.fetchval(
            "SELECT status FROM executions WHERE id = $1", UUID(execution_id)
        )
        assert status == ExecutionStatus.COMPLETED
        output = json.loads(
            await conn.fetchval(
                "SELECT output::text FROM execution_steps WHERE execution_id = $1",
                UUID(execution_id),
            )
        )
        assert output["form"] == form
        actions = [
            row["action"]
            for row in await conn.fetch(
                "SELECT action FROM audit_logs WHERE entity_id = $1 ORDER BY id", task_id
            )
        ]
        for event in (
            AuditEvent.HUMAN_TASK_CLAIMED,
            AuditEvent.HUMAN_TASK_DELEGATED,
            AuditEvent.HUMAN_TASK_REJECTED,
            AuditEvent.HUMAN_TASK_COMMENTED,
            AuditEvent.HUMAN_TASK_APPROVED,
        ):
            assert event in actions
        assert actions.count(AuditEvent.HUMAN_TASK_SUBMITTED) == 2
    finally:
        await conn.close()
