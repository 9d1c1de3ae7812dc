"""``GET /jira/test-connection``, ``govflow jira check`` and the breaker in ``/health/deep`` and
``/metrics``, with the plugin configured from the environment as a process is."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import pytest
from click.testing import CliRunner

from govflow.cli.main import cli
from govflow.devtools.jira_emulator import JiraEmulator
from govflow.plugins import TechnicalError
from tests.integration.api.conftest import ApiHarness, api  # noqa: F401 - the api fixture

TOKEN = "emulator-token"
WRONG = "wrong-token-do-not-show"


def environment(url: str | None, token: str = TOKEN) -> dict[str, str]:
    if url is None:
        return {"JIRA_ENABLED": "false"}
    return {
        "JIRA_ENABLED": "true",
        "JIRA_BASE_URL": url,
        "JIRA_EMAIL": "govflow@example.com",
        "JIRA_API_TOKEN": token,
        "GOVFLOW_JIRA_BREAKER_FAILURES": "2",
        "GOVFLOW_JIRA_BREAKER_COOLDOWN_SECONDS": "30",
    }


@pytest.fixture(autouse=True)
def jira_env(
    request: pytest.FixtureRequest,
    monkeypatch: pytest.MonkeyPatch,
    jira_emulator: JiraEmulator,
    redis_namespace: str,
) -> dict[str, str]:
    """The Jira variables of the process, set before the app is built (``ok`` unless the test
    is parametrized with ``wrong`` or ``off``)."""
    kind = getattr(request, "param", "ok")
    values = environment(
        None if kind == "off" else jira_emulator.url, WRONG if kind == "wrong" else TOKEN
    )
    values["GOVFLOW_JIRA_REDIS_PREFIX"] = f"{redis_namespace}:jira"
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    return values


async def connection(api: ApiHarness, role: str = "ADMIN") -> Any:  # noqa: F811
    return await api.client.get("/jira/test-connection", headers=api.headers(role))


async def test_an_admin_sees_the_account_and_never_the_token(
    api: ApiHarness,  # noqa: F811
    jira_emulator: JiraEmulator,
) -> None:
    response = await connection(api)

    assert response.status_code == 200, response.text
    data = response.json()["data"]
    assert data["status"] == "ok"
    assert data["account"]["display_name"] == "GovFlow"
    assert data["base_url"] == jira_emulator.url
    assert data["circuit"] == "closed"
    assert TOKEN not in response.text
    assert [r.path for r in jira_emulator.requests()] == ["/rest/api/3/myself"]


@pytest.mark.parametrize("role", ["MANAGER", "OPERATOR"])
async def test_only_an_admin_may_test_the_connection(
    api: ApiHarness,  # noqa: F811
    jira_emulator: JiraEmulator,
    role: str,
) -> None:
    response = await connection(api, role)

    assert response.status_code == 403
    assert jira_emulator.requests() == []


@pytest.mark.parametrize("jira_env", ["wrong"], indirect=True)
async def test_a_wrong_token_is_unauthorized_and_not_shown(api: ApiHarness) -> None:  # noqa: F811
    response = await connection(api)

    assert response.json()["data"]["status"] == "unauthorized"
    assert WRONG not in response.text


@pytest.mark.parametrize("jira_env", ["off"], indirect=True)
async def test_disabled_jira_is_reported_disabled(
    api: ApiHarness,  # noqa: F811
    jira_emulator: JiraEmulator,
) -> None:
    response = await connection(api)
    deep = await api.client.get("/health/deep", headers=api.headers("ADMIN"))

    assert response.json()["data"]["status"] == "disabled"
    assert response.json()["data"]["detail"] == "JIRA_ENABLED is false"
    assert "jira" not in deep.json()["data"]["checks"]
    assert jira_emulator.requests() == []


async def test_connection_tests_are_throttled_per_user(api: ApiHarness) -> None:  # noqa: F811
    for _ in range(6):
        assert (await connection(api)).status_code == 200
    refused = await connection(api)
    other_admin = await api.add_user("ADMIN")
    allowed = await api.client.get("/jira/test-connection", headers=other_admin.headers)

    assert refused.status_code == 429
    assert int(refused.headers["Retry-After"]) > 0
    assert allowed.status_code == 200


async def test_an_open_breaker_shows_in_deep_health_and_metrics(
    api: ApiHarness,  # noqa: F811
    jira_emulator: JiraEmulator,
) -> None:
    healthy = (await api.client.get("/health/deep", headers=api.headers("ADMIN"))).json()
    client = api.services.plugins.resources("jira").client
    jira_emulator.fail(count=2, status=503)
    for _ in range(2):
        with pytest.raises(TechnicalError):
            await client.myself()

    deep = (await api.client.get("/health/deep", headers=api.headers("ADMIN"))).json()
    tested = (await connection(api)).json()["data"]
    metrics = (await api.client.get("/metrics")).text

    assert healthy["data"]["checks"]["jira"] == "up"
    assert deep["data"]["checks"]["jira"] == "circuit_open"
    assert deep["data"]["status"] == "degraded"
    assert tested["status"] == "ok"
    assert tested["circuit"] == "open"
    assert re.search(r"^govflow_jira_circuit_open(\{[^}]*\})? 1\.0$", metrics, re.MULTILINE)
    assert re.search(r'^govflow_jira_requests_total\{outcome="error"\} [1-9]', metrics, re.M)


async def test_govflow_jira_check(jira_emulator: JiraEmulator) -> None:
    runner = CliRunner()

    async def check(*arguments: str, url: str | None, token: str = TOKEN) -> Any:
        # In a thread: the command runs its own event loop while this one serves the emulator.
        return await asyncio.to_thread(
            runner.invoke, cli, ["jira", "check", *arguments], env=environment(url, token)
        )

    ok = await check(url=jira_emulator.url)
    wrong = await check(url=jira_emulator.url, token=WRONG)
    off = await check("--json", url=None)

    assert ok.exit_code == 0, ok.output
    assert ok.output.strip() == f"ok: authenticated as GovFlow at {jira_emulator.url}"
    assert wrong.exit_code == 1
    assert wrong.output.startswith(f"unauthorized at {jira_emulator.url}: ")
    assert WRONG not in wrong.output
    assert off.exit_code == 1
    assert '"status": "disabled"' in off.output
