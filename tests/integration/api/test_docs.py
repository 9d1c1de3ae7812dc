"""Every route of the app is documented in docs/api.md as ``METHOD /path``, and its ``curl``
examples work as written."""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from uuid import UUID

from govflow.adapters.db.seed import seed_departments
from govflow.core.statuses import RecoveryOutcome
from tests.integration.api.conftest import ApiHarness
from tests.integration.api.routes import route_cases
from tests.support.doc_examples import ROOT, blocks

DOC = ROOT / "docs" / "api.md"


def test_every_route_is_documented() -> None:
    text = DOC.read_text()
    missing = [
        str(case)
        for case in route_cases()
        if not case.path.startswith("/schema") and str(case) not in text
    ]
    assert not missing, f"routes missing from docs/api.md: {missing}"


# -- the curl examples run -------------------------------------------------------------------

CURL_BASE = "http://127.0.0.1:8000"
MANAGER_EMAIL, MANAGER_PASSWORD = "manager@govflow.local", "Manager-secret-2a"


@dataclass(frozen=True)
class Curl:
    """One ``curl`` example: what it sends."""

    line: int
    method: str
    url: str
    headers: dict[str, str]
    body: bytes | None


def curl_examples() -> list[Curl]:
    """Every ``curl`` command of docs/api.md (``-X``, ``-H``, ``-d``, ``--data-binary @file``)."""
    found = []
    for block in blocks(DOC):
        text = re.sub(r"\\\n\s*", " ", block.text)
        if not text.startswith("curl "):
            continue
        words = shlex.split(text)[1:]
        method, url, headers, body = None, None, {}, None
        while words:
            word = words.pop(0)
            if word == "-X":
                method = words.pop(0)
            elif word == "-H":
                name, _, value = words.pop(0).partition(":")
                headers[name.strip()] = value.strip()
            elif word == "-d":
                body = words.pop(0).encode()
            elif word == "--data-binary":
                body = (ROOT / words.pop(0).removeprefix("@")).read_bytes()
            elif word.startswith("-"):
                raise AssertionError(f"docs/api.md:{block.line}: curl option {word} not understood")
            else:
                url = word
        assert url is not None, f"docs/api.md:{block.line}: no URL"
        assert url.startswith(CURL_BASE), f"docs/api.md:{block.line}: {url}"
        default = "POST" if body is not None else "GET"
        found.append(Curl(block.line, method or default, url, headers, body))
    return found


async def _fresh_execution(api: ApiHarness, workflow_id: str, admin: dict[str, str]) -> str:
    response = await api.client.post(
        f"/workflows/{workflow_id}/executions", json={"inputs": {}}, headers=admin
    )
    assert response.status_code == 201, response.text
    execution_id: str = response.json()["data"]["execution_id"]
    return execution_id


async def test_every_curl_example_succeeds(api: ApiHarness) -> None:
    """Each example, sent as written (``$TOKEN`` an ADMIN's token, ``$WF`` the shipped hello
    workflow, ``$EX`` an execution in the state the operation needs), is answered 2xx."""
    admin = api.headers("ADMIN")
    await seed_departments_through(api)
    created = await api.client.post(
        "/users",
        json={"email": MANAGER_EMAIL, "full_name": "Demo Manager", "password": MANAGER_PASSWORD,
              "role": "MANAGER", "department_id": str(api.departments["A"])},
        headers=admin,
    )  # fmt: skip
    assert created.status_code == 201, created.text
    hello = (ROOT / "workflows.d" / "hello.yaml").read_bytes()
    uploaded = await api.client.post(
        "/workflows?filename=hello.yaml",
        content=hello,
        headers={**admin, "Content-Type": "application/x-yaml"},
    )
    assert uploaded.status_code == 201, uploaded.text
    workflow_id = uploaded.json()["data"]["workflow_id"]
    examples = curl_examples()
    assert len(examples) >= 12
    for example in examples:
        url = example.url.replace("$WF", workflow_id)
        if "$EX" in url:
            execution_id = await _fresh_execution(api, workflow_id, admin)
            if url.endswith("/resolve"):
                await _needs_attention(api, execution_id)
            if url.endswith("/fire-timer"):
                await _waiting_timer(api, execution_id)
            url = url.replace("$EX", execution_id)
        headers = {
            name: value.replace("$TOKEN", admin["Authorization"].removeprefix("Bearer "))
            for name, value in example.headers.items()
        }
        response = await api.client.request(
            example.method, url.removeprefix(CURL_BASE), headers=headers, content=example.body
        )
        assert 200 <= response.status_code < 300, f"docs/api.md:{example.line}: {response.text}"
        assert response.json().get("success", True), f"docs/api.md:{example.line}"


async def seed_departments_through(api: ApiHarness) -> None:
    """The departments ``govflow up`` seeds (the shipped workflows name them)."""
    async with api.services.db.pool.acquire() as conn:
        await seed_departments(conn)


async def _waiting_timer(api: ApiHarness, execution_id: str) -> None:
    """Put the execution's only step where a ``wait`` step waits on its timer (a day ahead),
    the state ``fire-timer`` exists for, as the wait action and the worker leave it."""
    pool = api.services.db.pool
    await pool.execute(
        "UPDATE execution_steps SET status = 'WAITING', wait_reason = 'timer', attempt = 1, "
        "attempt_started = true, wake_at = now() + interval '1 day' WHERE execution_id = $1",
        UUID(execution_id),
    )
    await pool.execute("UPDATE executions SET status = 'WAITING' WHERE id = $1", UUID(execution_id))


async def _needs_attention(api: ApiHarness, execution_id: str) -> None:
    """Put the execution's only step where an ``at_most_once`` step lands after a crash (the
    state ``resolve`` exists for), as tests/integration/api/test_executions_api.py does."""
    pool = api.services.db.pool
    await pool.execute(
        "UPDATE execution_steps SET status = 'NEEDS_ATTENTION', attempt = 1, "
        "attempt_started = true WHERE execution_id = $1",
        UUID(execution_id),
    )
    await pool.execute(
        "UPDATE executions SET status = 'NEEDS_ATTENTION' WHERE id = $1", UUID(execution_id)
    )


def _documented_metrics() -> dict[str, str]:
    """docs/operations.md's metrics table: name -> the row's text."""
    section = (ROOT / "docs" / "operations.md").read_text().split("## Metrics")[1].split("\n## ")[0]
    return dict(re.findall(r"^\| `(govflow_\w+)` \|(.*)$", section, flags=re.MULTILINE))


async def test_the_metrics_table_lists_what_metrics_serves(api: ApiHarness) -> None:
    """Every ``govflow_*`` family ``/metrics`` serves is in the table and the other way round;
    the recovery outcomes listed are the sweeper's."""
    await api.client.get("/health")
    served = await api.client.get("/metrics")
    names = set(re.findall(r"^# TYPE (govflow_\w+) (\w+)$", served.text, flags=re.MULTILINE))
    families = {name for name, kind in names if not name.endswith("_created")}
    documented = _documented_metrics()
    # the error counter's family appears once a request has failed in this process, which an
    # earlier test in the same worker may have done
    sometimes = {"govflow_requests_error_total"}
    assert families - sometimes == set(documented) - sometimes
    missing = [
        o.value for o in RecoveryOutcome if o.value not in documented["govflow_recoveries_total"]
    ]
    assert missing == []
