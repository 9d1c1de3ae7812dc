"""Small data-level defences, each attacked through the real app: department codes that differ
only in case, forged system audit entries, LIKE wildcards in ``?name=``, hostile upload file
names, a MANAGER's stale recovery reaching other departments, over-long access tokens."""

from __future__ import annotations

import ast
import re
import time
import uuid
from pathlib import Path
from typing import Any
from uuid import UUID

import asyncpg
import jwt
import pytest

from govflow.adapters.db.migrations import discover
from govflow.adapters.security.tokens import ALGORITHM, LEEWAY_SECONDS
from govflow.core.audit_events import AuditEvent
from govflow.usecases.audit_logs import MANUAL_PREFIX, manual_action_problem
from tests.integration.api.conftest import ApiHarness
from tests.integration.api.workflow_support import (
    hello_yaml,
    install_hello,
    lowercase_departments,
    unique_name,
)
from tests.support.engine import CollectingQueue


def errors(response: Any) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = response.json()["errors"]
    return found


# Department codes -------------------------------------------------------------------------------


async def test_department_codes_are_unique_whatever_the_case(api: ApiHarness) -> None:
    admin = api.headers("ADMIN")
    created = await api.client.post(
        "/departments", json={"code": "Permits", "name": "Permits"}, headers=admin
    )
    assert created.status_code == 201, created.text
    assert created.json()["data"]["code"] == "permits"
    departments = await api.count("departments")
    audit_rows = await api.count("audit_logs")
    for spelling in ("PERMITS", "permits", "pErMiTs", "dept_a"):  # dept_a: the harness's DEPT_A
        clash = await api.client.post(
            "/departments", json={"code": spelling, "name": "Impostor"}, headers=admin
        )
        assert clash.status_code == 409, (spelling, clash.text)
        assert errors(clash) == [{"field": "body.code", "message": "already in use"}]
    other = await api.client.post(
        "/departments", json={"code": "Roads", "name": "Roads"}, headers=admin
    )
    assert other.status_code == 201, other.text
    renamed = await api.client.patch(
        f"/departments/{other.json()['data']['id']}", json={"code": "PERMITS"}, headers=admin
    )
    assert renamed.status_code == 409
    assert errors(renamed)[0]["field"] == "body.code"
    assert await api.count("departments") == departments + 1
    assert await api.count("audit_logs") == audit_rows + 1  # only Roads' DEPARTMENT_CREATED
    codes = await api.services.db.pool.fetch("SELECT code FROM departments ORDER BY code")
    assert [row["code"] for row in codes] == ["DEPT_A", "DEPT_B", "permits", "roads"]


async def test_department_code_with_a_trailing_newline_is_refused(api: ApiHarness) -> None:
    admin = api.headers("ADMIN")
    for code in ("permits\n", "-permits", "per mits"):
        response = await api.client.post(
            "/departments", json={"code": code, "name": "Permits"}, headers=admin
        )
        assert response.status_code == 400, (code, response.text)
        assert errors(response)[0]["field"] == "body.code"
    assert await api.count("departments") == 2


async def test_migration_0008_names_codes_that_differ_only_in_case(database_url: str) -> None:
    [migration] = [m for m in discover() if m.name == "0008_department_codes.sql"]
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute("DROP INDEX departments_code_lower_key")
        await conn.execute("INSERT INTO departments (code, name) VALUES ('Fin', 'F'), ('fin', 'f')")
        with pytest.raises(asyncpg.RaiseError, match=r"differ only in case: (Fin, fin|fin, Fin)\n"):
            await conn.execute(migration.sql)
        await conn.execute("DELETE FROM departments WHERE code = 'Fin'")
        await conn.execute(migration.sql)
        with pytest.raises(asyncpg.UniqueViolationError):
            await conn.execute("INSERT INTO departments (code, name) VALUES ('FIN', 'F')")
    finally:
        await conn.close()


# Manual audit entries ---------------------------------------------------------------------------


def manual(action: str, **extra: Any) -> dict[str, Any]:
    return {
        "action": action,
        "entity_type": "case",
        "entity_id": "42",
        "reason": "because",
        **extra,
    }


async def test_manual_audit_entries_cannot_take_system_names(api: ApiHarness) -> None:
    admin = api.headers("ADMIN")
    before = await api.count("audit_logs")
    system = [event.value for event in AuditEvent]
    api_events = ["LOGIN_SUCCESS", "USER_CREATED", "DEPARTMENT_CREATED", "WORKFLOW_ACTIVATED"]
    for action in [*system, *api_events, "NOTE", "MANUAL_", "MANUAL_NOTE\n"]:
        response = await api.client.post("/audit-logs", json=manual(action), headers=admin)
        assert response.status_code == 400, (action, response.text)
        assert [e["field"] for e in errors(response)] == ["body.action"], action
    assert await api.count("audit_logs") == before
    forged_flag = manual("MANUAL_NOTE", metadata={"manual": False})
    accepted = await api.client.post("/audit-logs", json=forged_flag, headers=admin)
    assert accepted.status_code == 201, accepted.text
    assert accepted.json()["data"]["action"] == "MANUAL_NOTE"
    assert accepted.json()["data"]["metadata"] == {"manual": True}


def test_govflow_never_writes_a_name_of_the_manual_namespace() -> None:
    root = Path(__file__).parents[3]
    written = set()
    for source in [
        *root.joinpath("govflow").rglob("*.py"),
        *root.joinpath("plugins").rglob("*.py"),
    ]:
        for node in ast.walk(ast.parse(source.read_text())):
            value = node.value if isinstance(node, ast.Constant) else None
            if isinstance(value, str) and re.fullmatch(r"[A-Z][A-Z0-9_]{2,99}", value):
                written.add(value)
    assert {"LOGIN_SUCCESS", "WORKFLOW_EXECUTION_RECOVERY_TRIGGERED"} <= written
    assert {name for name in written if name.startswith(MANUAL_PREFIX)} == {MANUAL_PREFIX}
    assert all(manual_action_problem(name) for name in written)


# LIKE filters -----------------------------------------------------------------------------------


async def test_workflow_name_filter_takes_wildcards_literally(api: ApiHarness) -> None:
    titles = {"Rate 50% off": None, "Rate 500 off": None, "snake_case": None, "snakeXcase": None}
    for title in titles:
        workflow_id = await install_hello(api, "A")
        await api.services.db.pool.execute(
            "UPDATE workflows SET title = $2 WHERE id = $1", workflow_id, title
        )
    back = await install_hello(api, "A")
    await api.services.db.pool.execute(
        "UPDATE workflows SET title = $2 WHERE id = $1", back, "C:\\forms"
    )

    async def found(name: str) -> list[str]:
        response = await api.client.get(
            "/workflows", params={"name": name, "limit": 100}, headers=api.headers("ADMIN")
        )
        assert response.status_code == 200, response.text
        return sorted(w["title"] for w in response.json()["data"])

    assert await found("50%") == ["Rate 50% off"]
    assert await found("%") == ["Rate 50% off"]
    assert await found("5_0") == []
    assert await found("e_c") == ["snake_case"]
    assert await found("_") == ["snake_case"]
    assert await found("\\") == ["C:\\forms"]
    assert await found("\\f") == ["C:\\forms"]
    assert await found("rate") == ["Rate 50% off", "Rate 500 off"]


# Upload file names ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "filename",
    [
        "hello.yaml\n",
        "hello.yaml\r\n",
        "..",
        "../hello.yaml",
        "a..yaml",
        "dir/hello.yaml",
        "dir\\hello.yaml",
        "hel\tlo.yaml",
        "hel\x1blo.yaml",
        ".hidden.yaml",
        "hello.yaml\x7f",
    ],
)
async def test_upload_filename_refuses_paths_and_control_characters(
    api: ApiHarness, filename: str
) -> None:
    await lowercase_departments(api)
    manager = api.headers("MANAGER")
    source = hello_yaml(unique_name(), "A")
    as_json = await api.client.post(
        "/workflows", json={"source": source, "filename": filename}, headers=manager
    )
    assert as_json.status_code == 400, as_json.text
    assert [e["field"] for e in errors(as_json)] == ["body.filename"]
    as_yaml = await api.client.post(
        "/workflows",
        params={"filename": filename},
        content=source.encode(),
        headers={**manager, "Content-Type": "application/x-yaml"},
    )
    assert as_yaml.status_code == 400, as_yaml.text
    assert [e["field"] for e in errors(as_yaml)] == ["query.filename"]
    validated = await api.client.post(
        "/workflows/validate", json={"source": source, "filename": filename}, headers=manager
    )
    assert validated.status_code == 400, validated.text
    assert await api.count("workflows") == 0


async def test_upload_filename_still_accepts_plain_names(api: ApiHarness) -> None:
    await lowercase_departments(api)
    response = await api.client.post(
        "/workflows",
        json={"source": hello_yaml(unique_name(), "A"), "filename": "permit.v2_final-1.yaml"},
        headers=api.headers("MANAGER"),
    )
    assert response.status_code == 201, response.text


# Stale recovery ---------------------------------------------------------------------------------


async def start(api: ApiHarness, department: str) -> UUID:
    workflow_id = await install_hello(api, department)
    response = await api.client.post(
        f"/workflows/{workflow_id}/executions",
        json={"inputs": {}},
        headers=api.headers("OPERATOR", department),
    )
    assert response.status_code == 201, response.text
    return UUID(response.json()["data"]["execution_id"])


async def stall(api: ApiHarness, execution_id: UUID) -> None:
    """The execution's step as a dead worker leaves it: RUNNING, lease expired."""
    await api.services.db.pool.execute(
        "UPDATE execution_steps SET status = 'RUNNING', attempt = 1, lease_owner = 'gone', "
        "lease_expires_at = now() - interval '1 minute' WHERE execution_id = $1",
        execution_id,
    )
    await api.services.db.pool.execute(
        "UPDATE executions SET status = 'RUNNING' WHERE id = $1", execution_id
    )


async def steps_of(api: ApiHarness, execution_id: UUID) -> list[dict[str, Any]]:
    rows = await api.services.db.pool.fetch(
        "SELECT id, status, lease_owner, fencing_token, enqueued_at FROM execution_steps "
        "WHERE execution_id = $1",
        execution_id,
    )
    return [dict(row) for row in rows]


async def test_manager_stale_recovery_stays_in_their_department(
    api: ApiHarness, queue: CollectingQueue
) -> None:
    stalled_a = await start(api, "A")
    stalled_b = await start(api, "B")
    lost_b = await start(api, "B")
    await stall(api, stalled_a)
    await stall(api, stalled_b)
    await api.services.db.pool.execute(
        "UPDATE execution_steps SET enqueued_at = NULL WHERE execution_id = $1", lost_b
    )
    before_b = await steps_of(api, stalled_b) + await steps_of(api, lost_b)
    queue.woken.clear()

    response = await api.client.post(
        "/workflow-executions/recovery/stale-running", headers=api.headers("MANAGER", "A")
    )
    assert response.status_code == 200, response.text
    report = response.json()["data"]
    assert report["recovered"] + report["needs_attention"] + report["completed_by_lookup"] == 1
    assert [s["lease_owner"] for s in await steps_of(api, stalled_a)] != ["gone"]
    assert await steps_of(api, stalled_b) + await steps_of(api, lost_b) == before_b
    assert not {s["id"] for s in before_b} & set(queue.woken)
    entry = await api.services.db.pool.fetchrow(
        "SELECT department_id FROM audit_logs WHERE action = $1",
        "WORKFLOW_EXECUTION_RECOVERY_TRIGGERED",
    )
    assert entry["department_id"] == api.departments["A"]
    seen_by_b = await api.client.get(
        "/audit-logs",
        params={"action": "WORKFLOW_EXECUTION_RECOVERY_TRIGGERED"},
        headers=api.headers("MANAGER", "B"),
    )
    assert seen_by_b.json()["data"] == []

    everything = await api.client.post(
        "/workflow-executions/recovery/stale-running", headers=api.headers("ADMIN")
    )
    assert everything.status_code == 200, everything.text
    report = everything.json()["data"]
    assert report["recovered"] + report["needs_attention"] + report["completed_by_lookup"] == 1
    assert report["resent"] >= 1
    assert [s["lease_owner"] for s in await steps_of(api, stalled_b)] != ["gone"]
    lost_step = (await steps_of(api, lost_b))[0]
    assert lost_step["enqueued_at"] is not None
    assert lost_step["id"] in queue.woken


# Access token lifetime --------------------------------------------------------------------------


async def forge(api: ApiHarness, *, issued: object, expires: object) -> str:
    """A token signed with the server's own secret, for the ADMIN of A, with the times given."""
    admin = api.user("ADMIN")
    version = await api.services.db.pool.fetchval(
        "SELECT token_version FROM users WHERE id = $1", admin.id
    )
    payload = {
        "iss": api.settings.jwt_issuer,
        "aud": api.settings.jwt_audience,
        "sub": str(admin.id),
        "iat": issued,
        "exp": expires,
        "jti": uuid.uuid4().hex,
        "role": "ADMIN",
        "department": str(admin.department_id),
        "tv": version,
    }
    assert api.settings.jwt_secret is not None
    return jwt.encode(payload, api.settings.jwt_secret, algorithm=ALGORITHM)


async def test_access_tokens_cannot_outlive_the_configured_lifetime(api: ApiHarness) -> None:
    ttl = api.settings.jwt_access_ttl_seconds
    now = int(time.time())

    async def status(token: str) -> int:
        response = await api.client.get("/auth/me", headers={"Authorization": f"Bearer {token}"})
        return response.status_code

    assert await status(await forge(api, issued=now, expires=now + ttl)) == 200
    assert await status(await forge(api, issued=now, expires=now + ttl + LEEWAY_SECONDS)) == 200
    assert await status(await forge(api, issued=now, expires=now + ttl + LEEWAY_SECONDS + 1)) == 401
    assert await status(await forge(api, issued=now, expires=now + 10 * 365 * 86400)) == 401
    assert await status(await forge(api, issued=now - 86400, expires=now + 60)) == 401
    assert await status(await forge(api, issued=str(now), expires=now + 60)) == 401
    assert await status(await forge(api, issued=True, expires=now + 60)) == 401
