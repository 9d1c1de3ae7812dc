"""Request rate limits through the real server: per client (the token's user, else the address)
and for the whole deployment, counted in Redis; 429 with ``Retry-After`` and the IETF draft's
``RateLimit-*`` headers; probes are never limited."""

from __future__ import annotations

import asyncpg
import httpx

from govflow.bootstrap.api import access_tokens
from govflow.settings import Settings
from tests.integration.api.conftest import ApiHarness
from tests.support.api_server import ApiServer, add_user

PASSWORD = "Correct-Horse-9-battery"


async def _token(settings: Settings, email: str) -> dict[str, str]:
    await add_user(str(settings.database_url), email, PASSWORD)
    conn = await asyncpg.connect(str(settings.database_url))
    try:
        row = await conn.fetchrow(
            "SELECT id, role, department_id, token_version FROM users WHERE email = $1", email
        )
    finally:
        await conn.close()
    assert row is not None
    assert settings.jwt_secret is not None
    token = access_tokens(settings, settings.jwt_secret).issue(
        row["id"],
        role=row["role"],
        department_id=row["department_id"],
        token_version=row["token_version"],
    )
    return {"Authorization": f"Bearer {token}"}


async def test_per_client_and_global_limits(settings: Settings) -> None:
    first = await _token(settings, "rate.first@example.org")
    second = await _token(settings, "rate.second@example.org")
    env = {
        "RATE_LIMIT_PER_CLIENT": "3",
        "RATE_LIMIT_GLOBAL": "5",
        "RATE_LIMIT_WINDOW_SECONDS": "60",
    }
    async with (
        ApiServer(settings, **env) as server,
        httpx.AsyncClient(base_url=server.url, timeout=30) as client,
    ):
        answers = [await client.get("/auth/me", headers=first) for _ in range(3)]
        assert [a.status_code for a in answers] == [200, 200, 200], answers[-1].text
        assert [a.headers["ratelimit-remaining"] for a in answers] == ["2", "1", "0"]
        assert {a.headers["ratelimit-limit"] for a in answers} == {"3"}
        assert all(1 <= int(a.headers["ratelimit-reset"]) <= 60 for a in answers)
        assert answers[0].headers["ratelimit-policy"] == "5;w=60, 3;w=60"

        refused = await client.get("/auth/me", headers=first)
        assert refused.status_code == 429, refused.text
        assert refused.json()["code"] == "RATE_LIMITED"
        assert 1 <= int(refused.headers["retry-after"]) <= 60
        assert refused.headers["ratelimit-remaining"] == "0"
        assert refused.headers["ratelimit-limit"] == "3"
        assert refused.headers["x-request-id"]

        for _ in range(6):
            probe = await client.get("/livez")
            assert probe.status_code == 200
            assert "ratelimit-limit" not in probe.headers

        # The refusal counted nowhere: the deployment has served 3 of its 5.
        others = [await client.get("/auth/me", headers=second) for _ in range(2)]
        assert [a.status_code for a in others] == [200, 200], others[-1].text
        assert others[-1].headers["ratelimit-limit"] == "5"
        assert others[-1].headers["ratelimit-remaining"] == "0"
        over = await client.get("/auth/me", headers=second)
        assert over.status_code == 429
        assert over.headers["ratelimit-limit"] == "5"
        anonymous = await client.post("/auth/login", json={"email": "a@b.c", "password": "x"})
        assert anonymous.status_code == 429
        assert int(anonymous.headers["retry-after"]) >= 1


async def test_anonymous_clients_are_told_apart_by_address(settings: Settings) -> None:
    env = {"RATE_LIMIT_PER_CLIENT": "2", "RATE_LIMIT_GLOBAL": "0", "TRUSTED_PROXIES": "127.0.0.1"}
    async with (
        ApiServer(settings, **env) as server,
        httpx.AsyncClient(base_url=server.url, timeout=30) as client,
    ):

        async def me(address: str) -> int:
            headers = {"X-Forwarded-For": address, "Authorization": "Bearer not-a-token"}
            return (await client.get("/auth/me", headers=headers)).status_code

        assert [await me("203.0.113.7") for _ in range(3)] == [401, 401, 429]
        assert [await me("203.0.113.8") for _ in range(2)] == [401, 401]
        response = await client.get("/auth/me", headers={"X-Forwarded-For": "203.0.113.8"})
        assert response.status_code == 429
        assert response.headers["ratelimit-policy"] == "2;w=60"
        assert int(response.headers["retry-after"]) >= 1


async def test_limits_are_off_in_test_mode(api: ApiHarness) -> None:
    assert api.settings.rate_limits == (0, 0)
    for _ in range(3):
        response = await api.client.get("/auth/me", headers=api.headers("OPERATOR"))
        assert response.status_code == 200
        assert "ratelimit-limit" not in response.headers
