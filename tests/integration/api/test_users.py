"""User administration, mass assignment and audit events."""

from __future__ import annotations

from tests.integration.api.conftest import PASSWORD, ApiHarness

NEW_USER = {
    "email": "new.person@example.org",
    "full_name": "New Person",
    "password": "Fresh-Passw0rd-here",
    "role": "OPERATOR",
}


async def test_create_get_list_update(api: ApiHarness) -> None:
    admin = api.headers("ADMIN")
    created = await api.client.post(
        "/users", json={**NEW_USER, "department_id": str(api.departments["B"])}, headers=admin
    )
    assert created.status_code == 201, created.text
    user = created.json()["data"]
    assert "password" not in user
    assert "password_hash" not in user
    got = await api.client.get(f"/users/{user['id']}", headers=admin)
    assert got.json()["data"]["email"] == NEW_USER["email"]
    listed = await api.client.get(
        "/users",
        params={"role": "OPERATOR", "department_id": str(api.departments["B"]), "limit": 1},
        headers=admin,
    )
    payload = listed.json()
    assert payload["pagination"] == {"page": 1, "limit": 1, "total": 2, "totalPages": 2}
    changed = await api.client.patch(
        f"/users/{user['id']}", json={"role": "MANAGER", "department_id": None}, headers=admin
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["data"]["role"] == "MANAGER"
    assert changed.json()["data"]["department_id"] is None
    login = await api.client.post(
        "/auth/login", json={"email": NEW_USER["email"], "password": NEW_USER["password"]}
    )
    assert login.status_code == 200
    actions = await api.audit_actions()
    assert {"USER_CREATED", "USER_UPDATED"} <= set(actions)


async def test_duplicate_email_is_a_conflict_naming_the_field(api: ApiHarness) -> None:
    admin = api.headers("ADMIN")
    email = api.user("OPERATOR").email.upper()
    response = await api.client.post("/users", json={**NEW_USER, "email": email}, headers=admin)
    assert response.status_code == 409
    assert response.json()["code"] == "CONFLICT"
    assert response.json()["errors"] == [{"field": "body.email", "message": "already in use"}]


async def test_weak_password_and_unknown_department(api: ApiHarness) -> None:
    admin = api.headers("ADMIN")
    before = await api.count("users")
    weak = await api.client.post("/users", json={**NEW_USER, "password": "short"}, headers=admin)
    assert weak.status_code == 400
    assert weak.json()["errors"][0]["field"] == "body.password"
    unknown = await api.client.post(
        "/users",
        json={**NEW_USER, "department_id": "00000000-0000-0000-0000-000000000001"},
        headers=admin,
    )
    assert unknown.status_code == 400
    assert unknown.json()["errors"][0]["field"] == "body.department_id"
    assert await api.count("users") == before


async def test_mass_assignment_is_refused_naming_the_field(api: ApiHarness) -> None:
    admin = api.headers("ADMIN")
    user = api.user("OPERATOR")
    cases = [
        ("POST", "/users", {**NEW_USER, "password_hash": "x"}, "body.password_hash"),
        ("POST", "/users", {**NEW_USER, "is_active": False}, "body.is_active"),
        ("PATCH", f"/users/{user.id}", {"is_active": False}, "body.is_active"),
        ("PATCH", f"/users/{user.id}", {"status": "ACTIVE"}, "body.status"),
        ("PATCH", f"/users/{user.id}", {"password_hash": "x"}, "body.password_hash"),
        (
            "POST",
            "/auth/login",
            {"email": user.email, "password": PASSWORD, "role": "ADMIN"},
            "body.role",
        ),
        (
            "POST",
            "/auth/password/change",
            {"current_password": PASSWORD, "new_password": "Xx-123456789a", "role": "ADMIN"},
            "body.role",
        ),
        ("POST", "/departments", {"code": "NEW", "name": "N", "id": "x"}, "body.id"),
    ]
    for method, path, body, field in cases:
        headers = user.headers if path.startswith("/auth/password") else admin
        response = await api.client.request(method, path, json=body, headers=headers)
        assert response.status_code == 400, (path, response.text)
        payload = response.json()
        assert payload["code"] == "VALIDATION_FAILED"
        assert payload["errors"][0]["field"] == field, payload
    row = await api.services.db.pool.fetchrow(
        "SELECT role, is_active FROM users WHERE id = $1", user.id
    )
    assert (row["role"], row["is_active"]) == ("OPERATOR", True)


async def test_disable_enable_and_self_protection(api: ApiHarness) -> None:
    admin_user = api.user("ADMIN")
    target = api.user("MANAGER", "B")
    disabled = await api.client.post(f"/users/{target.id}/disable", headers=admin_user.headers)
    assert disabled.status_code == 200
    assert disabled.json()["data"]["is_active"] is False
    assert (await api.client.get("/auth/me", headers=target.headers)).status_code == 401
    login = await api.client.post("/auth/login", json={"email": target.email, "password": PASSWORD})
    assert login.status_code == 401
    enabled = await api.client.post(f"/users/{target.id}/enable", headers=admin_user.headers)
    assert enabled.json()["data"]["is_active"] is True
    own = await api.client.post(f"/users/{admin_user.id}/disable", headers=admin_user.headers)
    assert own.status_code == 409
    demote = await api.client.patch(
        f"/users/{admin_user.id}", json={"role": "OPERATOR"}, headers=admin_user.headers
    )
    assert demote.status_code == 409
    actions = await api.audit_actions()
    assert {"USER_DISABLED", "USER_ENABLED"} <= set(actions)


async def test_role_change_ends_sessions(api: ApiHarness) -> None:
    target = api.user("OPERATOR", "B")
    response = await api.client.patch(
        f"/users/{target.id}", json={"role": "MANAGER"}, headers=api.headers("ADMIN")
    )
    assert response.status_code == 200
    assert (await api.client.get("/auth/me", headers=target.headers)).status_code == 401


async def test_unknown_user_is_404(api: ApiHarness) -> None:
    response = await api.client.get(
        "/users/00000000-0000-0000-0000-000000000009", headers=api.headers("ADMIN")
    )
    assert response.status_code == 404
    assert response.json() == {
        "success": False,
        "message": "User not found",
        "code": "NOT_FOUND",
        "errors": [],
    }
