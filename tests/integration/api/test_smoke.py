"""The core endpoints answer in the envelope."""

from __future__ import annotations

from tests.integration.api.conftest import PASSWORD, ApiHarness


async def test_login_and_me(api: ApiHarness) -> None:
    user = api.user("MANAGER", "A")
    response = await api.client.post(
        "/auth/login", json={"email": user.email, "password": PASSWORD}
    )
    assert response.status_code == 200, response.text
    payload = response.json()
    assert payload["success"] is True
    token = payload["data"]["access_token"]
    me = await api.client.get("/auth/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200, me.text
    assert me.json()["data"]["email"] == user.email
    assert me.headers["x-request-id"]
    assert me.headers["x-content-type-options"] == "nosniff"
    assert "LOGIN_SUCCESS" in await api.audit_actions()


async def test_lists(api: ApiHarness) -> None:
    for path in ("/users", "/departments", "/audit-logs"):
        response = await api.client.get(path, headers=api.headers("ADMIN"))
        assert response.status_code == 200, response.text
        assert set(response.json()["pagination"]) == {"page", "limit", "total", "totalPages"}
