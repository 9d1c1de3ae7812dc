"""The shipped Jira workflows (``workflows.d/``) end to end against the Jira emulator: the real
API server and a real worker, the human task acted on through the task API, then the Jira steps;
each step's key appears once in Jira, and every request the worker sent is valid for the
OpenAPI document."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from govflow_jira.client import COMMENT_PROPERTY, transition_property

from govflow.adapters.db.seed import seed_departments
from govflow.adapters.db.workflows import PgWorkflowStore
from govflow.adapters.security.tokens import AccessTokens
from govflow.core.audit_events import AuditEvent
from govflow.core.validation import validate_workflow
from govflow.devtools.jira_emulator import JiraEmulator
from govflow.http.app import signing_secret
from govflow.settings import Settings
from govflow.usecases.audit import SYSTEM
from tests.support.api_server import ApiServer
from tests.support.engine import eventually, plugins_for_tests, processes
from tests.support.jira.validation import validate_request

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
EMAIL, TOKEN = "govflow@example.com", "emulator-token"


def jira_env(url: str, prefix: str) -> dict[str, str]:
    return {
        "GOVFLOW_PLUGINS_MODULES": "",
        "JIRA_ENABLED": "true",
        "JIRA_BASE_URL": url,
        "JIRA_EMAIL": EMAIL,
        "JIRA_API_TOKEN": TOKEN,
        "GOVFLOW_JIRA_REDIS_PREFIX": f"{prefix}:jira",
    }


@pytest.fixture
async def emulator() -> AsyncIterator[JiraEmulator]:
    async with JiraEmulator() as running:
        yield running


async def install(settings: Settings, database_url: str, name: str) -> tuple[str, dict[str, str]]:
    """Store ``workflows.d/<name>.yaml``; its id, and bearer headers of an OPERATOR and a
    MANAGER of its department."""
    text = (ROOT / "workflows.d" / f"{name}.yaml").read_text()
    spec = validate_workflow(text, f"{name}.yaml", plugins_for_tests().actions().inputs())
    tokens = AccessTokens(
        signing_secret(settings),
        issuer=settings.jwt_issuer,
        audience=settings.jwt_audience,
        ttl_seconds=settings.jwt_access_ttl_seconds,
    )
    conn = await asyncpg.connect(database_url)
    try:
        await seed_departments(conn)
        saved = await PgWorkflowStore(conn).save(spec, text, f"{name}.yaml", SYSTEM)
        department = await conn.fetchval(
            "SELECT id FROM departments WHERE code = $1", spec.department
        )
        headers = {}
        for role in ("OPERATOR", "MANAGER"):
            row = await conn.fetchrow(
                "INSERT INTO users (email, full_name, password_hash, role, department_id) "
                "VALUES ($1, $1, 'x', $2, $3) RETURNING id, token_version",
                f"{role.lower()}@{spec.department}.example.org",
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


async def run_through_review(
    client: httpx.AsyncClient,
    workflow_id: str,
    auth: dict[str, str],
    inputs: dict[str, Any],
    form: dict[str, Any],
) -> dict[str, Any]:
    """Start, work the human task (claim, start, submit, approve), wait for the end."""
    operator = {"Authorization": auth["OPERATOR"]}
    manager = {"Authorization": auth["MANAGER"]}
    started = await client.post(
        f"/workflows/{workflow_id}/executions", json={"inputs": inputs}, headers=operator
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

    [task] = await eventually(tasks, lambda found: len(found) == 1, timeout=60)
    for action, body in (("claim", {}), ("start", {}), ("submit", {"form": form})):
        acted = await client.post(f"/tasks/{task['id']}/{action}", json=body, headers=operator)
        assert acted.status_code == 200, (action, acted.text)
    approved = await client.post(
        f"/tasks/{task['id']}/approve", json={"comment": "fine"}, headers=manager
    )
    assert approved.status_code == 200, approved.text

    async def execution() -> dict[str, Any]:
        read = await client.get(f"/workflow-executions/{execution_id}", headers=manager)
        assert read.status_code == 200, read.text
        data: dict[str, Any] = read.json()["data"]
        return data

    return await eventually(
        execution, lambda data: data["status"] in ("COMPLETED", "FAILED"), timeout=90
    )


async def step_keys(database_url: str, execution_id: str) -> dict[str, str]:
    conn = await asyncpg.connect(database_url)
    try:
        rows = await conn.fetch(
            "SELECT step_key, idempotency_key FROM execution_steps WHERE execution_id = $1::uuid",
            execution_id,
        )
    finally:
        await conn.close()
    return {row["step_key"]: row["idempotency_key"] for row in rows}


async def jira_events(database_url: str, execution_id: str) -> list[tuple[str, str]]:
    """The execution's JIRA_* audit events: (event, step), in order."""
    conn = await asyncpg.connect(database_url)
    try:
        rows = await conn.fetch(
            "SELECT action, metadata->>'step' AS step FROM audit_logs "
            "WHERE action LIKE 'JIRA%' AND metadata->>'execution_id' = $1 ORDER BY id",
            execution_id,
        )
    finally:
        await conn.close()
    return [(row["action"], row["step"]) for row in rows]


def assert_requests_valid(emulator: JiraEmulator) -> None:
    basic = "Basic " + base64.b64encode(f"{EMAIL}:{TOKEN}".encode()).decode()
    for received in emulator.requests():
        assert received.user == EMAIL
        query = f"?{received.query}" if received.query else ""
        request = httpx.Request(
            received.method,
            f"{emulator.url}{received.path}{query}",
            content=received.body.encode() if received.body else None,
            headers={"Authorization": basic}
            | ({"Content-Type": "application/json"} if received.body else {}),
        )
        validate_request(request)


async def test_building_permit_comments_and_closes_its_issue_once(
    settings: Settings, database_url: str, redis_namespace: str, emulator: JiraEmulator
) -> None:
    workflow_id, auth = await install(settings, database_url, "building-permit")
    with processes(settings, **jira_env(emulator.url, redis_namespace)) as group:
        group.start("worker")
        async with (
            ApiServer(settings, **jira_env(emulator.url, redis_namespace)) as server,
            httpx.AsyncClient(base_url=server.url, timeout=10.0) as client,
        ):
            done = await run_through_review(
                client,
                workflow_id,
                auth,
                {"issue_key": "PERMIT-42", "applicant": "Ada Lovelace"},
                {},
            )
    assert done["status"] == "COMPLETED", done
    keys = await step_keys(database_url, done["id"])
    issue = emulator.issue("PERMIT-42")
    [comment] = issue.comments
    assert comment.properties == {COMMENT_PROPERTY: {"key": keys["comment"]}}
    assert comment.text.startswith("Permit approved by ")  # the approvers' ids, as the DSL has them
    assert issue.status == "Done"
    assert [t.to_status for t in emulator.transitions("PERMIT-42")] == ["Done"]
    assert transition_property(keys["close"]) in issue.properties
    assert await jira_events(database_url, done["id"]) == [
        (AuditEvent.JIRA_COMMENT_ATTEMPTED, "comment"),
        (AuditEvent.JIRA_COMMENT_COMPLETED, "comment"),
        (AuditEvent.JIRA_TRANSITION_ATTEMPTED, "close"),
        (AuditEvent.JIRA_TRANSITION_COMPLETED, "close"),
    ]
    assert_requests_valid(emulator)


async def test_incident_follow_up_comments_and_resolves_its_issue_once(
    settings: Settings, database_url: str, redis_namespace: str, emulator: JiraEmulator
) -> None:
    workflow_id, auth = await install(settings, database_url, "incident-follow-up")
    with processes(settings, **jira_env(emulator.url, redis_namespace)) as group:
        group.start("worker")
        async with (
            ApiServer(settings, **jira_env(emulator.url, redis_namespace)) as server,
            httpx.AsyncClient(base_url=server.url, timeout=10.0) as client,
        ):
            done = await run_through_review(
                client,
                workflow_id,
                auth,
                {"issue_key": "INC-5", "summary": "Water main burst"},
                {"root_cause": "A frozen valve", "recurrence_risk": "low"},
            )
    assert done["status"] == "COMPLETED", done
    keys = await step_keys(database_url, done["id"])
    issue = emulator.issue("INC-5")
    [comment] = issue.comments
    assert comment.properties == {COMMENT_PROPERTY: {"key": keys["comment"]}}
    assert comment.text == "Follow-up report approved. Root cause: A frozen valve"
    assert issue.status == "Closed"
    assert [t.to_status for t in emulator.transitions("INC-5")] == ["Closed"]
    assert_requests_valid(emulator)
