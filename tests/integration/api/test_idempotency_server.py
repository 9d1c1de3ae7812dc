"""``Idempotency-Key`` through the real server (``govflow api``, production argon2 parameters,
so creating a user takes long enough for duplicates to arrive while it runs)."""

from __future__ import annotations

import asyncio
import uuid

import httpx

from govflow.settings import Settings
from tests.support.api_server import ApiServer, add_user, audit_rows

ADMIN = "idem.admin@example.org"
PASSWORD = "Correct-Horse-9-battery"


async def _admin(client: httpx.AsyncClient) -> dict[str, str]:
    login = await client.post("/auth/login", json={"email": ADMIN, "password": PASSWORD})
    assert login.status_code == 200, login.text
    return {"Authorization": f"Bearer {login.json()['data']['access_token']}"}


def _user(email: str) -> dict[str, str]:
    return {"email": email, "full_name": "Keyed User", "password": PASSWORD, "role": "OPERATOR"}


async def test_replays_and_reuse_through_the_server(settings: Settings) -> None:
    database_url = str(settings.database_url)
    await add_user(database_url, ADMIN, PASSWORD, "ADMIN")
    async with (
        ApiServer(settings) as server,
        httpx.AsyncClient(base_url=server.url, timeout=30) as client,
    ):
        headers = {**await _admin(client), "Idempotency-Key": str(uuid.uuid4())}
        first = await client.post("/users", json=_user("keyed.one@example.org"), headers=headers)
        assert first.status_code == 201, first.text
        assert "idempotent-replayed" not in first.headers
        again = await client.post("/users", json=_user("keyed.one@example.org"), headers=headers)
        assert again.status_code == 201, again.text
        assert again.headers["idempotent-replayed"] == "true"
        assert again.content == first.content
        assert again.headers["x-request-id"] != first.headers["x-request-id"]
        other = await client.post("/users", json=_user("keyed.two@example.org"), headers=headers)
        assert other.status_code == 422, other.text
        assert other.json()["errors"][0]["field"] == "header.idempotency_key"
    created = await audit_rows(database_url, "USER_CREATED")
    assert [row["email"] for row in created] == ["keyed.one@example.org"]


async def test_concurrent_duplicates_create_once(settings: Settings) -> None:
    database_url = str(settings.database_url)
    await add_user(database_url, ADMIN, PASSWORD, "ADMIN")
    async with (
        ApiServer(settings) as server,
        httpx.AsyncClient(
            base_url=server.url, timeout=30, limits=httpx.Limits(max_connections=20)
        ) as client,
    ):
        headers = {**await _admin(client), "Idempotency-Key": str(uuid.uuid4())}
        body = _user("keyed.concurrent@example.org")
        answers = await asyncio.gather(
            *(client.post("/users", json=body, headers=headers) for _ in range(8))
        )
        statuses = sorted(answer.status_code for answer in answers)
        assert set(statuses) <= {201, 409}, [a.text for a in answers]
        fresh = [
            a for a in answers if a.status_code == 201 and "idempotent-replayed" not in a.headers
        ]
        assert len(fresh) == 1, statuses
        for answer in answers:
            if answer.status_code == 409:
                assert answer.json()["errors"][0]["field"] == "header.idempotency_key"
            elif answer is not fresh[0]:
                assert answer.content == fresh[0].content
        later = await client.post("/users", json=body, headers=headers)
        assert later.status_code == 201
        assert later.headers["idempotent-replayed"] == "true"
        assert later.content == fresh[0].content
    created = await audit_rows(database_url, "USER_CREATED")
    assert [row["email"] for row in created] == ["keyed.concurrent@example.org"]
