"""``POST /auth/register`` through the real server: absent (404) unless ``ALLOW_REGISTRATION``;
the same answer for a new and a taken address; the new account is an OPERATOR without a
department that reaches no department's work until an ADMIN assigns it one."""

from __future__ import annotations

import asyncio
import time

import httpx

from govflow.settings import Settings
from tests.support.api_server import ApiServer, add_user, audit_rows

ADMIN = "register.admin@example.org"
TAKEN = "register.taken@example.org"
NEWCOMER = "newcomer@example.org"
PASSWORD = "Correct-Horse-9-battery"
CHOSEN = "Newcomers-own-Passw0rd"
WORKFLOW = """name: reg-hello
title: Hello
department: reg-dept
steps:
  - id: greet
    action: notification
    with: {channel: log, message: hello}
"""


async def _login(client: httpx.AsyncClient, email: str, password: str) -> httpx.Response:
    return await client.post("/auth/login", json={"email": email, "password": password})


async def _bearer(client: httpx.AsyncClient, email: str, password: str) -> dict[str, str]:
    login = await _login(client, email, password)
    assert login.status_code == 200, login.text
    return {"Authorization": f"Bearer {login.json()['data']['access_token']}"}


async def _logged_in_once_created(client: httpx.AsyncClient, timeout: float) -> httpx.Response:
    """The account is stored after the answer: poll its first login, with a deadline."""
    deadline = time.monotonic() + timeout
    while True:
        login = await _login(client, NEWCOMER, CHOSEN)
        if login.status_code == 200 or time.monotonic() > deadline:
            return login
        await asyncio.sleep(0.1)


async def test_registration_is_absent_unless_allowed(settings: Settings) -> None:
    async with (
        ApiServer(settings) as server,
        httpx.AsyncClient(base_url=server.url, timeout=30) as client,
    ):
        body = {"email": NEWCOMER, "password": CHOSEN, "name": "New Comer"}
        response = await client.post("/auth/register", json=body)
        assert response.status_code == 404, response.text
        assert response.json()["code"] == "NOT_FOUND"
    assert await audit_rows(str(settings.database_url), "USER_REGISTERED") == []


async def test_a_registered_operator_waits_for_a_department(settings: Settings) -> None:
    database_url = str(settings.database_url)
    await add_user(database_url, ADMIN, PASSWORD, "ADMIN")
    await add_user(database_url, TAKEN, PASSWORD, "MANAGER")
    env = {"ALLOW_REGISTRATION": "true", "LOGIN_MAX_ATTEMPTS": "50"}
    async with (
        ApiServer(settings, **env) as server,
        httpx.AsyncClient(base_url=server.url, timeout=30) as client,
    ):
        weak = await client.post(
            "/auth/register", json={"email": NEWCOMER, "password": "short", "name": "N"}
        )
        assert weak.status_code == 400, weak.text
        assert weak.json()["errors"][0]["field"] == "body.password"

        new = await client.post(
            "/auth/register", json={"email": NEWCOMER, "password": CHOSEN, "name": "New Comer"}
        )
        taken = await client.post(
            "/auth/register", json={"email": TAKEN, "password": CHOSEN, "name": "Someone Else"}
        )
        assert (new.status_code, taken.status_code) == (202, 202), taken.text
        assert new.content == taken.content

        login = await _logged_in_once_created(client, timeout=15)
        assert login.status_code == 200, login.text
        user = login.json()["data"]["user"]
        assert (user["role"], user["department_id"], user["full_name"]) == (
            "OPERATOR",
            None,
            "New Comer",
        )
        # The taken address kept its owner's password.
        assert (await _login(client, TAKEN, CHOSEN)).status_code == 401
        assert (await _login(client, TAKEN, PASSWORD)).status_code == 200

        admin = await _bearer(client, ADMIN, PASSWORD)
        department = await client.post(
            "/departments", json={"code": "reg-dept", "name": "Registration"}, headers=admin
        )
        assert department.status_code == 201, department.text
        uploaded = await client.post(
            "/workflows", json={"source": WORKFLOW, "filename": "reg.yaml"}, headers=admin
        )
        assert uploaded.status_code == 201, uploaded.text

        newcomer = {"Authorization": f"Bearer {login.json()['data']['access_token']}"}
        listed = await client.get("/workflows", headers=newcomer)
        assert listed.status_code == 200, listed.text
        assert listed.json()["data"] == []
        start = await client.post(
            "/workflows/reg-hello/executions", json={"inputs": {}}, headers=newcomer
        )
        assert start.status_code == 404, start.text
        executions = await client.get("/workflow-executions", headers=newcomer)
        assert executions.json()["data"] == []

        assigned = await client.patch(
            f"/users/{user['id']}",
            json={"department_id": department.json()["data"]["id"]},
            headers=admin,
        )
        assert assigned.status_code == 200, assigned.text
        assert (await client.get("/auth/me", headers=newcomer)).status_code == 401
        newcomer = await _bearer(client, NEWCOMER, CHOSEN)
        listed = await client.get("/workflows", headers=newcomer)
        assert [w["name"] for w in listed.json()["data"]] == ["reg-hello"]
        start = await client.post(
            "/workflows/reg-hello/executions", json={"inputs": {}}, headers=newcomer
        )
        assert start.status_code == 201, start.text

    registered = await audit_rows(database_url, "USER_REGISTERED")
    assert [(row["email"], row["role"]) for row in registered] == [(NEWCOMER, "OPERATOR")]


async def test_registration_is_behind_the_login_throttle(settings: Settings) -> None:
    env = {"ALLOW_REGISTRATION": "true", "LOGIN_MAX_ATTEMPTS": "2"}
    async with (
        ApiServer(settings, **env) as server,
        httpx.AsyncClient(base_url=server.url, timeout=30) as client,
    ):
        answers = [
            await client.post(
                "/auth/register",
                json={"email": f"flood{i}@example.org", "password": CHOSEN, "name": "Flood"},
            )
            for i in range(3)
        ]
        assert [a.status_code for a in answers] == [202, 202, 429], answers[-1].text
        assert int(answers[-1].headers["retry-after"]) >= 1
        # The address is throttled for logins too: one budget for both.
        assert (await _login(client, "flood0@example.org", CHOSEN)).status_code == 429
    assert len(await audit_rows(str(settings.database_url), "LOGIN_THROTTLED")) == 1
