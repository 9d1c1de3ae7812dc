"""``govflow executions start --as EMAIL`` records that user as the execution's ``created_by``;
without ``--as`` no user is recorded; an unknown or disabled user starts nothing."""

from __future__ import annotations

import re
import subprocess
import sys
from uuid import UUID

import asyncpg

from govflow.settings import Settings
from tests.support.engine import ROOT, install_workflow, process_env

HELLO = """\
name: cli-created-by
title: CLI created_by
department: general-administration
steps:
  - id: greet
    action: notification
    with: {channel: log, message: "Hello"}
"""


def govflow(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "govflow", *args],
        env=process_env(settings), cwd=ROOT, capture_output=True, text=True, timeout=120,
    )  # fmt: skip


def started_id(result: subprocess.CompletedProcess[str]) -> UUID:
    assert result.returncode == 0, result.stderr
    match = re.fullmatch(r"started execution (\S+)\n", result.stdout)
    assert match, result.stdout
    return UUID(match.group(1))


async def test_cli_start_records_the_user_named_by_as(
    settings: Settings, database_url: str
) -> None:
    conn = await asyncpg.connect(database_url)
    try:
        await install_workflow(conn, HELLO)
        user_id = await conn.fetchval(
            """INSERT INTO users (email, full_name, password_hash, role, department_id)
               VALUES ('clerk@example.org', 'Clerk', 'x', 'OPERATOR',
                       (SELECT id FROM departments WHERE code = 'general-administration'))
               RETURNING id"""
        )
        await conn.execute(
            """INSERT INTO users (email, full_name, password_hash, role, is_active)
               VALUES ('gone@example.org', 'Gone', 'x', 'OPERATOR', false)"""
        )

        as_clerk = started_id(
            govflow(settings, "executions", "start", "cli-created-by", "--as", "Clerk@example.org")
        )
        anonymous = started_id(govflow(settings, "executions", "start", "cli-created-by"))
        created_by = {
            row["id"]: row["created_by"]
            for row in await conn.fetch("SELECT id, created_by FROM executions")
        }
        assert created_by == {as_clerk: user_id, anonymous: None}
        actor = await conn.fetchval(
            "SELECT actor_id FROM audit_logs WHERE action = 'WORKFLOW_EXECUTION_CREATED'"
            " AND entity_id = $1",
            str(as_clerk),
        )
        assert actor == user_id

        for email, reason in [
            ("nobody@example.org", "no user 'nobody@example.org'"),
            ("gone@example.org", "user 'gone@example.org' is disabled"),
        ]:
            refused = govflow(settings, "executions", "start", "cli-created-by", "--as", email)
            assert refused.returncode == 1, refused.stdout
            assert f"--as: {reason}" in refused.stderr
        assert await conn.fetchval("SELECT count(*) FROM executions") == 2
    finally:
        await conn.close()
