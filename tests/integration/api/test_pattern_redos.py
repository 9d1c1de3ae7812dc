"""Input patterns through the API: a backtracking bomb cannot stall the event loop, and what the
linear-time engine refuses is a 422 at upload, positioned in the file."""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncIterator
from uuid import UUID

import httpx
import pytest

from tests.integration.api.conftest import ApiHarness
from tests.integration.api.workflow_support import lowercase_departments, unique_name
from tests.support.liveness import LivenessProbe

YAML = {"Content-Type": "application/x-yaml"}
LIVEZ_BOUND = 0.05


def pattern_yaml(name: str, pattern: str) -> str:
    return f"""name: {name}
title: Pattern {name}
department: dept_a
inputs:
  x: {{type: string, pattern: '{pattern}'}}
steps:
  - id: greet
    action: notification
    with: {{channel: log, message: "{{{{ inputs.x }}}}"}}
"""


@pytest.fixture(autouse=True)
async def workflow_departments(api: ApiHarness) -> None:
    await lowercase_departments(api)


@contextlib.asynccontextmanager
async def shared(client: httpx.AsyncClient) -> AsyncIterator[httpx.AsyncClient]:
    """The test's in-process client, lent to the probe without closing it."""
    yield client


async def upload(api: ApiHarness, pattern: str) -> UUID:
    response = await api.client.post(
        "/workflows",
        content=pattern_yaml(unique_name(), pattern),
        headers={**api.headers("MANAGER"), **YAML},
    )
    assert response.status_code == 201, response.text
    return UUID(response.json()["data"]["workflow_id"])


async def test_a_backtracking_bomb_answers_400_fast_and_livez_keeps_answering(
    api: ApiHarness,
) -> None:
    workflow_id = await upload(api, "^(a+)+$")
    url = f"/workflows/{workflow_id}/executions"
    async with LivenessProbe(lambda: shared(api.client)) as probe:
        started = time.perf_counter()
        for size in (24, 30, 5_000, 200_000):
            response = await api.client.post(
                url, json={"inputs": {"x": "a" * size + "!"}}, headers=api.headers("OPERATOR")
            )
            assert response.status_code == 400, response.text
            [error] = response.json()["errors"]
            assert error["field"] == "body.inputs.x"
            assert "does not match the pattern" in error["message"]
        elapsed = time.perf_counter() - started
        await probe.answered_more()
    assert elapsed < 1.0
    probe.assert_answered_within(LIVEZ_BOUND)
    assert await api.count("executions") == 0
    ok = await api.client.post(url, json={"inputs": {"x": "aaaa"}}, headers=api.headers("OPERATOR"))
    assert ok.status_code == 201, ok.text


@pytest.mark.parametrize(
    ("pattern", "reason"),
    [
        (r"(a)\1", "backreferences are not supported"),
        (r"^(?=a)a", "lookahead is not supported"),
        (r"^[a-", "missing ]"),
    ],
)
async def test_patterns_the_engine_refuses_are_422_with_their_position(
    api: ApiHarness, pattern: str, reason: str
) -> None:
    for route in ("/workflows", "/workflows/validate"):
        response = await api.client.post(
            route,
            content=pattern_yaml(unique_name(), pattern),
            headers={**api.headers("MANAGER"), **YAML},
        )
        assert response.status_code == 422, response.text
        payload = response.json()
        assert payload["code"] == "INVALID_WORKFLOW"
        [problem] = payload["errors"]
        assert problem["field"] == "inputs.x.pattern"
        assert (problem["line"], problem["column"]) == (5, 30)
        assert reason in problem["message"]
    assert await api.count("workflows") == 0
