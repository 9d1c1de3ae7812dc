"""Departments and the audit log: scoping in SQL, conflicts, filters, manual entries."""

from __future__ import annotations

from tests.integration.api.conftest import ApiHarness


async def test_department_crud_and_code_conflict(api: ApiHarness) -> None:
    admin = api.headers("ADMIN")
    created = await api.client.post(
        "/departments", json={"code": "PERMITS", "name": "Permits"}, headers=admin
    )
    assert created.status_code == 201, created.text
    department_id = created.json()["data"]["id"]
    again = await api.client.post(
        "/departments", json={"code": "PERMITS", "name": "Other"}, headers=admin
    )
    assert again.status_code == 409
    assert again.json()["errors"] == [{"field": "body.code", "message": "already in use"}]
    renamed = await api.client.patch(
        f"/departments/{department_id}", json={"name": "Permits Office"}, headers=admin
    )
    assert renamed.json()["data"]["name"] == "Permits Office"
    clash = await api.client.patch(
        f"/departments/{department_id}", json={"code": "DEPT_A"}, headers=admin
    )
    assert clash.status_code == 409
    assert {"DEPARTMENT_CREATED", "DEPARTMENT_UPDATED"} <= set(await api.audit_actions())


async def test_manager_sees_only_own_department(api: ApiHarness) -> None:
    manager = api.user("MANAGER", "A")
    listed = await api.client.get("/departments", headers=manager.headers)
    assert [d["code"] for d in listed.json()["data"]] == ["DEPT_A"]
    other = await api.client.get(f"/departments/{api.departments['B']}", headers=manager.headers)
    assert other.status_code == 404
    everything = await api.client.get("/departments", headers=api.headers("ADMIN"))
    assert everything.json()["pagination"]["total"] == 2


async def test_audit_log_scoping_and_filters(api: ApiHarness) -> None:
    admin = api.headers("ADMIN")
    for department in ("A", "B"):
        response = await api.client.post(
            "/audit-logs",
            json={
                "action": "MANUAL_NOTE",
                "entity_type": "case",
                "entity_id": f"case-{department}",
                "reason": "phone call with the applicant",
                "metadata": {"channel": "phone"},
                "department_id": str(api.departments[department]),
            },
            headers=admin,
        )
        assert response.status_code == 201, response.text
        assert response.json()["data"]["metadata"] == {"channel": "phone", "manual": True}
    manager = api.headers("MANAGER", "A")
    seen = await api.client.get("/audit-logs", params={"action": "MANUAL_NOTE"}, headers=manager)
    assert [e["entity_id"] for e in seen.json()["data"]] == ["case-A"]
    all_notes = await api.client.get(
        "/audit-logs", params={"action": "MANUAL_NOTE", "entity_id": "case-B"}, headers=admin
    )
    assert all_notes.json()["pagination"]["total"] == 1
    window = await api.client.get(
        "/audit-logs",
        params={"from": "2100-01-01T00:00:00Z", "to": "2000-01-01T00:00:00Z"},
        headers=admin,
    )
    assert window.status_code == 400
    assert window.json()["errors"][0]["field"] == "query.from"


async def test_deep_health_is_audited(api: ApiHarness) -> None:
    response = await api.client.get("/health/deep", headers=api.headers("ADMIN"))
    assert response.status_code == 200, response.text
    data = response.json()["data"]
    assert data["checks"]["database"] == "up"
    assert data["migrations"]["pending"] == []
    assert data["plugin_count"] == len(data["plugins"])
    assert "HEALTH_CHECK_DEEP_EXECUTED" in await api.audit_actions()
