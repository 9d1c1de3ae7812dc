"""Credential endpoints under attack: lockout by a third party, aggregated refusal auditing,
reset confirmations that cost no hashing, change-password throttling, inactive departments.

Client addresses are real ASGI peers (``httpx.ASGITransport(client=...)``), as uvicorn passes
them; no proxy is trusted.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import structlog
from prometheus_client import REGISTRY

from govflow.bootstrap import container
from govflow.http.app import create_app
from tests.integration.api.conftest import PASSWORD, ApiHarness, running
from tests.integration.api.workflow_support import hello_yaml, install_hello, lowercase_departments

NEW_PASSWORD = "Brand-new-Passw0rd-7"


@contextlib.asynccontextmanager
async def peer(app: Any, ip: str) -> AsyncIterator[httpx.AsyncClient]:
    """A client whose TCP peer address is ``ip``."""
    transport = httpx.ASGITransport(app=app, client=(ip, 40123))
    async with httpx.AsyncClient(transport=transport, base_url="http://govflow.test") as client:
        yield client


@contextlib.asynccontextmanager
async def tuned(api: ApiHarness, **overrides: Any) -> AsyncIterator[Any]:
    """A second app over the same database and Redis key space, with other settings."""
    settings = api.settings.model_copy(update=overrides)
    async with container(settings) as services:
        app = create_app(settings, services)
        async with running(app):
            yield app


async def login(client: httpx.AsyncClient, email: str, password: str) -> httpx.Response:
    return await client.post("/auth/login", json={"email": email, "password": password})


async def rows(api: ApiHarness, action: str) -> list[dict[str, Any]]:
    found = await api.services.db.pool.fetch(
        "SELECT metadata::text AS m FROM audit_logs WHERE action = $1 ORDER BY id", action
    )
    return [json.loads(row["m"]) for row in found]


def hashes(lane: str) -> float:
    return REGISTRY.get_sample_value("govflow_password_hashes_total", {"lane": lane}) or 0.0


async def test_bad_logins_from_one_address_do_not_lock_the_owner_out(api: ApiHarness) -> None:
    user = api.user("OPERATOR")
    limit = api.settings.login_max_attempts
    async with peer(api.app, "10.0.0.1") as attacker, peer(api.app, "10.0.0.2") as owner:
        answers = [(await login(attacker, user.email, "Wrong-guess-123")).status_code
                   for _ in range(limit + 5)]  # fmt: skip
        assert answers == [401] * limit + [429] * 5
        assert (await login(attacker, user.email, PASSWORD)).status_code == 429
        assert (await login(owner, user.email, PASSWORD)).status_code == 200
    failed = await rows(api, "LOGIN_FAILED")
    assert {row["ip"] for row in failed} == {"10.0.0.1"}


async def test_the_account_ceiling_spares_addresses_the_owner_logged_in_from(
    api: ApiHarness,
) -> None:
    user = api.user("MANAGER")
    async with tuned(api, login_account_max_attempts=4) as app:
        async with peer(app, "10.1.0.1") as home:
            assert (await login(home, user.email, PASSWORD)).status_code == 200
        for i in range(4):
            async with peer(app, f"10.2.0.{i}") as guesser:
                assert (await login(guesser, user.email, "Wrong-guess-123")).status_code == 401
        async with peer(app, "10.3.0.1") as fresh:
            refused = await login(fresh, user.email, PASSWORD)
            assert refused.status_code == 429
            assert int(refused.headers["retry-after"]) > 0
        async with peer(app, "10.1.0.1") as home:
            assert (await login(home, user.email, PASSWORD)).status_code == 200
    throttled = await rows(api, "LOGIN_THROTTLED")
    assert [row["limit"] for row in throttled] == ["account_from_new_addresses"]


async def test_a_successful_login_does_not_use_up_the_address_allowance(api: ApiHarness) -> None:
    user = api.user("ADMIN")
    async with peer(api.app, "10.4.0.1") as office:
        for _ in range(api.settings.login_max_attempts + 3):
            assert (await login(office, user.email, PASSWORD)).status_code == 200


async def test_throttled_logins_are_audited_once_per_limit_and_window(api: ApiHarness) -> None:
    limit = api.settings.login_max_attempts
    async with peer(api.app, "10.5.0.1") as client:
        statuses = [
            (await login(client, f"guess{i}@example.org", "Wrong-guess-123")).status_code
            for i in range(limit + 50)
        ]
    assert statuses == [401] * limit + [429] * 50
    assert len(await rows(api, "LOGIN_FAILED")) == limit
    throttled = await rows(api, "LOGIN_THROTTLED")
    assert len(throttled) == 1
    assert throttled[0]["ip"] == "10.5.0.1"
    assert throttled[0]["limit"] == "address"
    assert throttled[0]["refused_in_previous_window"] == 0
    assert throttled[0]["window_seconds"] == api.settings.login_window_seconds


async def test_the_next_window_reports_how_many_were_refused_before(api: ApiHarness) -> None:
    async with (
        tuned(api, login_window_seconds=1, login_max_attempts=2) as app,
        peer(app, "10.6.0.1") as client,
    ):
        refused = 0
        for _ in range(2000):
            response = await login(client, "someone@example.org", "Wrong-guess-123")
            if response.status_code == 429:
                refused += 1
                if len(await rows(api, "LOGIN_THROTTLED")) == 2:
                    break
        else:
            raise AssertionError("no second window within 2000 attempts")
    first, second = await rows(api, "LOGIN_THROTTLED")
    assert first["refused_in_previous_window"] == 0
    assert second["refused_in_previous_window"] == refused - 1 > 0


async def test_bogus_reset_confirms_hash_nothing_and_are_throttled(api: ApiHarness) -> None:
    limit = api.settings.login_max_attempts
    before = hashes("login"), hashes("background")
    async with peer(api.app, "10.7.0.1") as attacker:
        answers = [
            await attacker.post(
                "/auth/password-reset/confirm",
                json={"token": f"bogus-{i}", "new_password": NEW_PASSWORD},
            )
            for i in range(limit + 20)
        ]
    assert [r.status_code for r in answers] == [400] * limit + [429] * 20
    assert answers[0].json()["errors"][0]["field"] == "body.token"
    assert answers[-1].json()["code"] == "RATE_LIMITED"
    assert int(answers[-1].headers["retry-after"]) > 0
    assert (hashes("login"), hashes("background")) == before
    assert len(await rows(api, "PASSWORD_RESET_THROTTLED")) == 1

    user = api.user("OPERATOR")
    async with peer(api.app, "10.7.0.2") as owner:
        with structlog.testing.capture_logs() as logs:
            await owner.post("/auth/password-reset/request", json={"email": user.email})
        token = next(e["password_reset_token"] for e in logs if "password_reset_token" in e)
        confirmed = await owner.post(
            "/auth/password-reset/confirm", json={"token": token, "new_password": NEW_PASSWORD}
        )
        assert confirmed.status_code == 200, confirmed.text
    assert hashes("background") == before[1] + 1
    assert hashes("login") == before[0]


async def test_reset_requests_answer_alike_for_known_and_unknown_accounts(
    api: ApiHarness,
) -> None:
    user = api.user("MANAGER")
    with structlog.testing.capture_logs() as logs:
        known = await api.client.post("/auth/password-reset/request", json={"email": user.email})
        unknown = await api.client.post(
            "/auth/password-reset/request", json={"email": "nobody@example.org"}
        )
    assert known.status_code == unknown.status_code == 202
    assert known.content == unknown.content
    assert len([e for e in logs if "password_reset_token" in e]) == 1
    assert await api.audit_actions() == ["PASSWORD_RESET_REQUESTED"]


async def test_change_password_failures_are_audited_and_throttled(api: ApiHarness) -> None:
    user = api.user("OPERATOR")
    limit = api.settings.login_max_attempts

    async def change(current: str) -> httpx.Response:
        return await api.client.post(
            "/auth/password/change",
            json={"current_password": current, "new_password": NEW_PASSWORD},
            headers=user.headers,
        )

    statuses = [(await change("Wrong-current-1")).status_code for _ in range(limit + 15)]
    assert statuses == [400] * limit + [429] * 15
    assert (await change(PASSWORD)).status_code == 429
    assert len(await rows(api, "PASSWORD_CHANGE_FAILED")) == limit
    throttled = await rows(api, "PASSWORD_CHANGE_THROTTLED")
    assert len(throttled) == 1
    assert throttled[0]["limit"] == "user"


async def test_an_inactive_department_blocks_its_members(api: ApiHarness) -> None:
    await lowercase_departments(api)
    operator, manager = api.user("OPERATOR", "A"), api.user("MANAGER", "A")
    workflow_a = await install_hello(api, "A")
    workflow_b = await install_hello(api, "B")
    session = await login(api.client, operator.email, PASSWORD)
    refresh_token = session.json()["data"]["refresh_token"]
    await api.services.db.pool.execute(
        "UPDATE departments SET is_active = false WHERE id = $1", api.departments["A"]
    )

    def forbidden(response: httpx.Response) -> None:
        assert response.status_code == 403, response.text
        assert response.json()["code"] == "FORBIDDEN"
        assert response.json()["errors"] == [
            {"field": "department_id", "message": "the department is inactive"}
        ]

    forbidden(await login(api.client, operator.email, PASSWORD))
    assert (await login(api.client, operator.email, "Wrong-guess-123")).status_code == 401
    forbidden(await api.client.post("/auth/refresh", json={"refresh_token": refresh_token}))
    forbidden(
        await api.client.post(
            "/workflows",
            content=hello_yaml("new-in-a", "A"),
            headers={**manager.headers, "Content-Type": "application/x-yaml"},
        )
    )
    forbidden(
        await api.client.post(
            f"/workflows/{workflow_a}/executions", json={"inputs": {}}, headers=operator.headers
        )
    )
    forbidden(await api.client.get("/workflows", headers=operator.headers))
    forbidden(await api.client.get("/auth/me", headers=manager.headers))
    assert await api.count("executions") == 0
    assert await api.count("workflows") == 2
    reasons = [row["reason"] for row in await rows(api, "LOGIN_FAILED")]
    assert reasons == ["department_inactive", "bad_password"]

    other = api.user("OPERATOR", "B")
    assert (await login(api.client, other.email, PASSWORD)).status_code == 200
    started = await api.client.post(
        f"/workflows/{workflow_b}/executions", json={"inputs": {}}, headers=other.headers
    )
    assert started.status_code == 201, started.text

    await api.services.db.pool.execute(
        "UPDATE departments SET is_active = true WHERE id = $1", api.departments["A"]
    )
    assert (await login(api.client, operator.email, PASSWORD)).status_code == 200
    refreshed = await api.client.post("/auth/refresh", json={"refresh_token": refresh_token})
    assert refreshed.status_code == 200, refreshed.text
