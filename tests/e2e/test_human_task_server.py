"""building-permit's review through the real server (``govflow api``) and a real worker
(``govflow worker``): an OPERATOR starts the execution, claims, starts and submits the task, a
MANAGER approves it, and the worker takes the execution to COMPLETED.

The workflow is ``workflows.d/building-permit.yaml`` up to its Jira steps (no Jira client exists
yet), in its own department ``urban-planning``.
"""

from __future__ import annotations

from pathlib import Path
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

ROOT = Path(__file__).resolve().parents[2]


def permit_review_yaml() -> str:
    text = (ROOT / "workflows.d" / "building-permit.yaml").read_text()
    return text[: text.index("  - id: comment")]


async def _prepare(settings: Settings, database_url: str) -> tuple[str, dict[str, str]]:
    """The stored workflow's id, and an OPERATOR's and a MANAGER's bearer headers."""
    text = permit_review_yaml()
    spec = validate_workflow(text, "building-permit.yaml", plugins_for_tests().actions().inputs())
    tokens = AccessTokens(
        signing_secret(settings),
        issuer=settings.jwt_issuer,
        audience=settings.jwt_audience,
        ttl_seconds=settings.jwt_access_ttl_seconds,
    )
    conn = await asyncpg.connect(database_url)
    try:
        await seed_departments(conn)
        saved = await PgWorkflowStore(conn).save(spec, text, "building-permit.yaml", SYSTEM)
        department = await conn.fetchval("SELECT id FROM departments WHERE code = 'urban-planning'")
        headers = {}
        for role in ("OPERATOR", "MANAGER"):
            row = await conn.fetchrow(
                "INSERT INTO users (email, full_name, password_hash, role, department_id) "
                "VALUES ($1, $1, 'x', $2, $3) RETURNING id, token_version",
                f"{role.lower()}@permits.example.org",
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


async def test_building_permit_review_completes_through_the_api_and_a_worker(
    settings: Settings, database_url: str
) -> None:
    workflow_id, auth = await _prepare(settings, database_url)
    operator = {"Authorization": auth["OPERATOR"]}
    manager = {"Authorization": auth["MANAGER"]}
    with processes(settings, GOVFLOW_PLUGINS_MODULES="") as group:
        group.start("worker")
        async with (
            ApiServer(settings) as server,
            httpx.AsyncClient(base_url=server.url, timeout=10.0) as client,
        ):
            started = await client.post(
                f"/workflows/{workflow_id}/executions",
                json={"inputs": {"issue_key": "PERMIT-42", "applicant": "Ada Lovelace"}},
                headers=operator,
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

            [task] = await eventually(tasks, lambda found: len(found) == 1)
            for action, body in (("claim", {}), ("start", {}), ("submit", {"form": {}})):
                acted = await client.post(
                    f"/tasks/{task['id']}/{action}", json=body, headers=operator
                )
                assert acted.status_code == 200, (action, acted.text)
            approved = await client.post(
                f"/tasks/{task['id']}/approve", json={"comment": "complete"}, headers=manager
            )
            assert approved.status_code == 200, approved.text

            async def execution() -> dict[str, Any]:
                read = await client.get(f"/workflow-executions/{execution_id}", headers=manager)
                assert read.status_code == 200, read.text
                data: dict[str, Any] = read.json()["data"]
                return data

            done = await eventually(
                execution, lambda data: data["status"] in ("COMPLETED", "FAILED"), timeout=60
            )
    assert done["status"] == "COMPLETED", done
    assert [step["status"] for step in done["steps"]] == ["COMPLETED", "COMPLETED"]
