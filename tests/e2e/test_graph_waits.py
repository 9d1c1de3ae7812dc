"""A graph whose branches wait, run by a real worker behind the real server: two ``manual``
branches open their tasks at once while a notification branch runs to its end, the execution
waits once every open step waits, and after both approvals through the API the join runs once
and the execution completes."""

from __future__ import annotations

from typing import Any

import asyncpg
import httpx
import pytest

from govflow.adapters.db.seed import seed_departments
from govflow.adapters.db.workflows import PgWorkflowStore
from govflow.adapters.security.tokens import AccessTokens
from govflow.core.validation import validate_workflow
from govflow.http.app import signing_secret
from govflow.settings import Settings
from govflow.usecases.audit import SYSTEM
from tests.support.api_server import ApiServer
from tests.support.engine import eventually, plugins_for_tests, processes

pytestmark = pytest.mark.e2e

WORKFLOW = """
name: parallel-reviews
title: Two reviews at once
department: urban-planning
steps:
  - id: intake
    action: notification
    with: {channel: log, message: "application received"}
  - id: legal
    action: manual
    needs: [intake]
    with:
      title: Legal review
      assignee: {role: OPERATOR}
      reviewers: {role: MANAGER}
  - id: fire
    action: manual
    needs: [intake]
    with:
      title: Fire safety review
      assignee: {role: OPERATOR}
      reviewers: {role: MANAGER}
  - id: notice
    action: notification
    needs: [intake]
    with: {channel: log, message: "reviews under way"}
  - id: decide
    action: notification
    needs: [legal, fire, notice]
    with:
      channel: log
      message: "legal {{ steps.legal.output.decision }}, fire {{ steps.fire.output.decision }}"
"""


async def _prepare(settings: Settings, database_url: str) -> tuple[str, dict[str, str]]:
    """The stored workflow's id, and an OPERATOR's and a MANAGER's bearer headers."""
    spec = validate_workflow(
        WORKFLOW, "parallel-reviews.yaml", plugins_for_tests().actions().inputs()
    )
    tokens = AccessTokens(
        signing_secret(settings),
        issuer=settings.jwt_issuer,
        audience=settings.jwt_audience,
        ttl_seconds=settings.jwt_access_ttl_seconds,
    )
    conn = await asyncpg.connect(database_url)
    try:
        await seed_departments(conn)
        saved = await PgWorkflowStore(conn).save(spec, WORKFLOW, "parallel-reviews.yaml", SYSTEM)
        department = await conn.fetchval("SELECT id FROM departments WHERE code = 'urban-planning'")
        headers = {}
        for role in ("OPERATOR", "MANAGER"):
            row = await conn.fetchrow(
                "INSERT INTO users (email, full_name, password_hash, role, department_id) "
                "VALUES ($1, $1, 'x', $2, $3) RETURNING id, token_version",
                f"{role.lower()}@reviews.example.org",
                role,
                department,
            )
            token = tokens.issue(
                row["id"], role=role, department_id=department, token_version=row["token_version"]
            )
            headers[role] = f"Bearer {token}"
    finally:
        await conn.close()
    return str(saved.workflow_id), headers


def statuses(data: dict[str, Any]) -> dict[str, str]:
    return {step["step_key"]: step["status"] for step in data["steps"]}


async def test_two_manual_branches_wait_at_once_and_the_join_runs_once(
    settings: Settings, database_url: str
) -> None:
    workflow_id, auth = await _prepare(settings, database_url)
    operator = {"Authorization": auth["OPERATOR"]}
    manager = {"Authorization": auth["MANAGER"]}
    with processes(settings, GOVFLOW_PLUGINS_MODULES="") as group:
        group.start("worker", "--concurrency", "2")
        async with (
            ApiServer(settings) as server,
            httpx.AsyncClient(base_url=server.url, timeout=10.0) as client,
        ):
            started = await client.post(
                f"/workflows/{workflow_id}/executions", json={"inputs": {}}, headers=operator
            )
            assert started.status_code == 201, started.text
            execution_id = started.json()["data"]["execution_id"]

            async def tasks() -> list[dict[str, Any]]:
                listed = await client.get(
                    f"/tasks?eligible_for_me=true&execution_id={execution_id}", headers=operator
                )
                assert listed.status_code == 200, listed.text
                found: list[dict[str, Any]] = listed.json()["data"]
                return found

            async def execution() -> dict[str, Any]:
                read = await client.get(f"/workflow-executions/{execution_id}", headers=manager)
                assert read.status_code == 200, read.text
                data: dict[str, Any] = read.json()["data"]
                return data

            # Both reviews are open at once, the notice ran meanwhile, and the execution
            # waits once every open step does.
            open_tasks = await eventually(tasks, lambda found: len(found) == 2)
            waiting = await eventually(execution, lambda data: data["status"] == "WAITING")
            assert statuses(waiting) == {
                "intake": "COMPLETED",
                "legal": "WAITING",
                "fire": "WAITING",
                "notice": "COMPLETED",
                "decide": "PENDING",
            }
            by_title = {task["title"]: task for task in open_tasks}
            for title in ("Legal review", "Fire safety review"):
                task = by_title[title]
                for action, body in (("claim", {}), ("start", {}), ("submit", {"form": {}})):
                    acted = await client.post(
                        f"/tasks/{task['id']}/{action}", json=body, headers=operator
                    )
                    assert acted.status_code == 200, (action, acted.text)
                approved = await client.post(
                    f"/tasks/{task['id']}/approve", json={"comment": "fine"}, headers=manager
                )
                assert approved.status_code == 200, approved.text
                if title == "Legal review":  # the other review still waits: so does the execution
                    after_first = await execution()
                    assert after_first["status"] == "WAITING", after_first
                    assert statuses(after_first)["decide"] == "PENDING"
            done = await eventually(
                execution, lambda data: data["status"] in ("COMPLETED", "FAILED"), timeout=60
            )
    assert done["status"] == "COMPLETED", done
    assert set(statuses(done).values()) == {"COMPLETED"}
    conn = await asyncpg.connect(database_url)
    try:
        attempts = await conn.fetchval(
            "SELECT count(*) FROM execution_step_attempts a "
            "JOIN execution_steps s ON s.id = a.execution_step_id "
            "WHERE s.execution_id = $1 AND s.step_key = 'decide'",
            execution_id,
        )
        waits = await conn.fetch(
            "SELECT action, reason FROM audit_logs WHERE entity_type = 'execution' "
            "AND entity_id = $1 AND action IN ('WORKFLOW_EXECUTION_PROCESS_WAITING', "
            "'WORKFLOW_EXECUTION_PROCESS_RESUMED') ORDER BY id",
            execution_id,
        )
    finally:
        await conn.close()
    assert attempts == 1, "the join ran once"
    # Waiting once (the worker's finish of the last branch to wait), resumed once (the second
    # approval, which released the join; the approver's comment is its reason).
    assert [tuple(row) for row in waits] == [
        ("WORKFLOW_EXECUTION_PROCESS_WAITING", "every_open_step_waits"),
        ("WORKFLOW_EXECUTION_PROCESS_RESUMED", "fine"),
    ]
