"""Hostile templates through the real server (``govflow api`` in its own process): each is a fast
422 naming the template's field and position, and ``/livez`` keeps answering meanwhile, also
while a large valid file is validated (validation runs off the event loop)."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import httpx
import pytest

from govflow.settings import Settings
from tests.support.api_server import ApiServer, add_user
from tests.support.liveness import LivenessProbe

EMAIL = "hostile.manager@example.org"
PASSWORD = "Correct-Horse-9-battery"
YAML = {"Content-Type": "application/x-yaml"}
LIVEZ_BOUND = 0.05
"""The longest a ``/livez`` answer may take while hostile validations run."""
LARGE_FILE_LIVEZ_BOUND = 0.1
"""The same while a large valid file is validated (about a second of work per request here, so
validating on the event loop would hold ``/livez`` back that long); the validating thread
shares the interpreter lock with the loop, hence a little more than ``LIVEZ_BOUND``."""
ANSWER_BOUND = 2.0
"""The longest a hostile validation may take to be refused."""

HOSTILE = {
    "huge power": (
        "{{ 10**10000000 }}",
        "expression goes beyond a limit: integer result larger than 4096 bits",
    ),
    "huge repeat": (
        "{{ 'a' * 10**9 }}",
        "expression goes beyond a limit: string result longer than 1,048,576 characters",
    ),
    "huger power": (
        "{{ 10**50000000 }}",
        "expression goes beyond a limit: integer result larger than 4096 bits",
    ),
    "nested loops": (
        "{% for a in range(10**6) %}{% for b in range(10**6) %}{{ a }}{% endfor %}{% endfor %}",
        "unknown name 'range' in expression",
    ),
    "padding": (
        "{{ 'x'|center(10**9) }}",
        "expression goes beyond a limit: string result longer than 1,048,576 characters",
    ),
    "format width": (
        "{{ '%999999999d' % 1 }}",
        "expression goes beyond a limit: string result longer than 1,048,576 characters",
    ),
    "macro": (
        "{% macro m() %}x{% endmacro %}{{ m() }}",
        "{% macro %} is not available in workflow templates",
    ),
}


def workflow(name: str, message: str) -> str:
    quoted = message.replace("'", "''")
    return f"""name: {name}
title: Hostile {name}
department: hostile
steps:
  - id: say
    action: notification
    with:
      channel: log
      message: '{quoted}'
"""


def probe_of(url: str) -> LivenessProbe:
    """A probe asking the real server on a connection of its own."""
    return LivenessProbe(lambda: httpx.AsyncClient(base_url=url, timeout=10))


@pytest.fixture
async def server(settings: Settings, database_url: str) -> AsyncIterator[httpx.AsyncClient]:
    """The real server and a client holding a MANAGER's token."""
    await add_user(database_url, EMAIL, PASSWORD, role="MANAGER")
    async with (
        ApiServer(settings) as api,
        httpx.AsyncClient(base_url=api.url, timeout=30) as client,
    ):
        login = await client.post("/auth/login", json={"email": EMAIL, "password": PASSWORD})
        assert login.status_code == 200, login.text
        token = login.json()["data"]["access_token"]
        client.headers["Authorization"] = f"Bearer {token}"
        yield client


async def validate(client: httpx.AsyncClient, text: str) -> tuple[httpx.Response, float]:
    started = time.perf_counter()
    response = await client.post("/workflows/validate", content=text, headers=YAML)
    return response, time.perf_counter() - started


async def test_hostile_templates_are_fast_422s_while_livez_keeps_answering(
    server: httpx.AsyncClient,
) -> None:
    url = str(server.base_url)
    async with probe_of(url) as probe:
        answers = [
            await validate(server, workflow(f"hostile-{i}", template))
            for i in range(3)
            for template, _ in HOSTILE.values()
        ]
        await probe.answered_more()
    expected = [message for _ in range(3) for _, message in HOSTILE.values()]
    for (response, took), message in zip(answers, expected, strict=True):
        assert response.status_code == 422, response.text
        assert took < ANSWER_BOUND, f"{message}: answered in {took:.2f}s"
        [problem] = response.json()["errors"]
        assert problem["field"] == "steps[0].with.message"
        assert (problem["line"], problem["column"]) == (9, 16)
        assert message in problem["message"], problem
    probe.assert_answered_within(LIVEZ_BOUND)


async def test_upload_of_a_hostile_template_is_422_and_saves_nothing(
    server: httpx.AsyncClient,
) -> None:
    for template, message in HOSTILE.values():
        response = await server.post(
            "/workflows", content=workflow("hostile-upload", template), headers=YAML
        )
        assert response.status_code == 422, response.text
        assert message in response.json()["errors"][0]["message"]
    listed = await server.get("/workflows")
    assert listed.status_code == 200
    assert listed.json()["data"] == []


async def test_a_large_valid_file_is_validated_off_the_event_loop(
    server: httpx.AsyncClient,
) -> None:
    steps = "".join(
        f"""  - id: s{i}
    action: notification
    with:
      channel: log
      message: "{"".join(f"{{{{ inputs.who ~ '{i}.{j}' | upper }}}} " for j in range(40))}"
"""
        for i in range(120)
    )
    text = f"""name: large
title: Large
department: hostile
inputs:
  who: {{type: string}}
steps:
{steps}"""
    assert 150_000 < len(text) < 256 * 1024
    async with probe_of(str(server.base_url)) as probe:
        answers = [await validate(server, text.replace("~ '", f"~ '{n}-")) for n in range(3)]
        await probe.answered_more()
    for response, _ in answers:
        assert response.status_code == 200, response.text
        assert response.json()["data"]["steps"] == 120
    # On the loop, a /livez asked during a validation would wait for most of it; off the loop it
    # waits a small part of it, however loaded the machine is.
    shortest = min(elapsed for _, elapsed in answers)
    probe.assert_answered_within(max(LARGE_FILE_LIVEZ_BOUND, shortest / 4))
