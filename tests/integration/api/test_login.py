"""Login: enumeration safety, throttling shared across processes, password reset and change."""

from __future__ import annotations

import httpx
import structlog

from govflow.http.app import create_app
from tests.integration.api.conftest import PASSWORD, ApiHarness, running


async def _login(api: ApiHarness, email: str, password: str, **kw: object) -> httpx.Response:
    return await api.client.post(
        "/auth/login",
        json={"email": email, "password": password},
        **kw,  # type: ignore[arg-type]
    )


async def test_unknown_wrong_and_disabled_look_the_same(api: ApiHarness) -> None:
    disabled = await api.add_user("OPERATOR", "A", active=False)
    known = api.user("OPERATOR")
    answers = [
        await _login(api, "nobody@example.org", PASSWORD),
        await _login(api, known.email, PASSWORD + "x"),
        await _login(api, disabled.email, PASSWORD),
    ]
    assert {r.status_code for r in answers} == {401}
    assert len({r.content for r in answers}) == 1
    assert answers[0].json()["code"] == "UNAUTHORIZED"
    actions = await api.audit_actions()
    assert actions.count("LOGIN_FAILED") == 3
    rows = await api.services.db.pool.fetch("SELECT metadata::text AS m FROM audit_logs")
    assert all(PASSWORD not in row["m"] for row in rows)


async def test_login_is_case_insensitive_on_email(api: ApiHarness) -> None:
    user = api.user("ADMIN")
    assert (await _login(api, user.email.upper(), PASSWORD)).status_code == 200


async def test_throttle_answers_429_with_retry_after(api: ApiHarness) -> None:
    user = api.user("OPERATOR")
    limit = api.settings.login_max_attempts
    for _ in range(limit):
        assert (await _login(api, user.email, "Wrong-password-1")).status_code == 401
    response = await _login(api, user.email, PASSWORD)
    assert response.status_code == 429
    assert int(response.headers["retry-after"]) > 0
    assert response.json()["code"] == "RATE_LIMITED"


async def test_throttle_counts_per_ip_across_app_instances(api: ApiHarness) -> None:
    """Two app instances (as two processes would) share one Redis counter per IP."""
    other = create_app(api.settings, api.services)
    limit = api.settings.login_max_attempts
    async with running(other):
        transport = httpx.ASGITransport(app=other)
        async with httpx.AsyncClient(transport=transport, base_url="http://b.test") as second:
            for i in range(limit):
                client = api.client if i % 2 else second
                response = await client.post(
                    "/auth/login", json={"email": f"u{i}@example.org", "password": "x"}
                )
                assert response.status_code == 401
            response = await second.post(
                "/auth/login", json={"email": "fresh@example.org", "password": "x"}
            )
    assert response.status_code == 429


async def test_forwarded_for_is_ignored_without_trusted_proxies(api: ApiHarness) -> None:
    limit = api.settings.login_max_attempts
    for i in range(limit):
        await _login(api, f"x{i}@example.org", "x", headers={"X-Forwarded-For": f"10.0.0.{i}"})
    response = await _login(api, "y@example.org", "x", headers={"X-Forwarded-For": "10.9.9.9"})
    assert response.status_code == 429


async def test_password_reset_flow(api: ApiHarness) -> None:
    user = api.user("MANAGER")
    with structlog.testing.capture_logs() as logs:
        known = await api.client.post("/auth/password-reset/request", json={"email": user.email})
        unknown = await api.client.post(
            "/auth/password-reset/request", json={"email": "nobody@example.org"}
        )
    assert known.status_code == unknown.status_code == 202
    assert known.json() == unknown.json()
    tokens = [e["password_reset_token"] for e in logs if "password_reset_token" in e]
    assert len(tokens) == 1
    new_password = "Brand-new-Passw0rd"
    confirm = await api.client.post(
        "/auth/password-reset/confirm", json={"token": tokens[0], "new_password": new_password}
    )
    assert confirm.status_code == 200, confirm.text
    again = await api.client.post(
        "/auth/password-reset/confirm", json={"token": tokens[0], "new_password": new_password}
    )
    assert again.status_code == 400
    assert again.json()["errors"][0]["field"] == "body.token"
    assert (await _login(api, user.email, new_password)).status_code == 200
    assert (await api.client.get("/auth/me", headers=user.headers)).status_code == 401
    stored = await api.services.db.pool.fetchval("SELECT token_hash FROM password_reset_tokens")
    assert stored != tokens[0]


async def test_password_reset_confirm_enforces_the_policy(api: ApiHarness) -> None:
    response = await api.client.post(
        "/auth/password-reset/confirm", json={"token": "whatever", "new_password": "short"}
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "body.new_password"


async def test_change_password(api: ApiHarness) -> None:
    user = api.user("OPERATOR")
    wrong = await api.client.post(
        "/auth/password/change",
        json={"current_password": "nope", "new_password": "Another-Passw0rd-1"},
        headers=user.headers,
    )
    assert wrong.status_code == 400
    assert wrong.json()["errors"][0]["field"] == "body.current_password"
    weak = await api.client.post(
        "/auth/password/change",
        json={"current_password": PASSWORD, "new_password": "weak"},
        headers=user.headers,
    )
    assert weak.status_code == 400
    ok = await api.client.post(
        "/auth/password/change",
        json={"current_password": PASSWORD, "new_password": "Another-Passw0rd-1"},
        headers=user.headers,
    )
    assert ok.status_code == 200, ok.text
    fresh = ok.json()["data"]["access_token"]
    assert (await api.client.get("/auth/me", headers=user.headers)).status_code == 401
    me = await api.client.get("/auth/me", headers={"Authorization": f"Bearer {fresh}"})
    assert me.status_code == 200
    assert "PASSWORD_CHANGED" in await api.audit_actions()


async def test_login_rehashes_outdated_hashes(api: ApiHarness) -> None:
    from argon2 import PasswordHasher

    user = api.user("ADMIN")
    old = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1).hash(PASSWORD)
    await api.services.db.pool.execute(
        "UPDATE users SET password_hash = $2 WHERE id = $1", user.id, old
    )
    assert (await _login(api, user.email, PASSWORD)).status_code == 200
    stored = await api.services.db.pool.fetchval(
        "SELECT password_hash FROM users WHERE id = $1", user.id
    )
    assert stored != old
