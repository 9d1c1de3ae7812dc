"""Every engine, scheduler and API metric of docs/operations.md, read where an operator reads it
(a real worker's ``WORKER_METRICS_PORT``, the scheduler's ``SCHEDULER_METRICS_PORT``, the API's
``/metrics``), moves by exactly what the executions did.

Four executions started through the API: one whose at_most_once step SIGKILLs its worker (the
scheduler recovers it into NEEDS_ATTENTION; a new worker takes over), one with a retried, a
skipped and a completed step, one that fails for a business reason, one waiting on a human task
whose one-second deadline passes (marked overdue, its log notice sent).
"""

from __future__ import annotations

import subprocess
import time

import asyncpg
import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from govflow.adapters.db.seed import seed_departments
from govflow.adapters.db.workflows import PgWorkflowStore
from govflow.adapters.security.passwords import Passwords
from govflow.core.validation import validate_workflow
from govflow.settings import Settings
from govflow.usecases.audit import SYSTEM
from tests.support.api_server import ApiServer
from tests.support.engine import eventually, plugins_for_tests, prepare_effects, processes
from tests.support.peers import closed_port

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

WORKFLOWS = {
    "crashing": """
name: crashing
title: Kills its worker as its at-most-once attempt starts
department: general-administration
steps:
  - {id: charge, action: effect_at_most_once, with: {label: charge, crash: before_effect}}
""",
    "metered": """
name: metered
title: A retry, a skip, a completion
department: general-administration
defaults:
  retry: {max_attempts: 2, initial_delay: 0s, jitter: false}
steps:
  - {id: flaky, action: effect_none, with: {label: flaky, fail_times: 1}}
  - {id: skipped, action: echo, if: "false", with: {value: 1}}
  - {id: done, action: echo, with: {value: 2}}
""",
    "broken": """
name: broken
title: Fails for a business reason
department: general-administration
steps:
  - {id: refuse, action: effect_none, with: {label: refuse, business_error: true}}
""",
    "reviewed": """
name: reviewed
title: Waits on a person past its deadline
department: general-administration
steps:
  - id: review
    action: manual
    with:
      title: Review
      assignee: {role: OPERATOR}
      due_in: 1s
      notify:
        - {channel: log, level: info, on: [overdue]}
""",
}
EMAIL = "metrics@example.org"
PASSWORD = "a long enough password for metrics"


def samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Every sample of an exposition, by name and labels."""
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return found


class Scrape:
    def __init__(self, text: str) -> None:
        self.samples = samples(text)

    def __call__(self, name: str, **labels: str) -> float:
        """The sample's value; 0 for a series not exported (yet)."""
        return self.samples.get((name, frozenset(labels.items())), 0.0)

    def names(self) -> set[str]:
        return {name for name, _ in self.samples}


async def scrape(url: str) -> Scrape:
    async with httpx.AsyncClient(timeout=5.0) as client:
        answer = await client.get(url)
    assert answer.status_code == 200, answer.text
    return Scrape(answer.text)


async def _prepare(settings: Settings, database_url: str) -> dict[str, str]:
    inputs = plugins_for_tests().actions().inputs()
    conn = await asyncpg.connect(database_url)
    try:
        await seed_departments(conn)
        ids = {}
        for name, text in WORKFLOWS.items():
            spec = validate_workflow(text, f"{name}.yaml", inputs)
            ids[name] = str(
                (await PgWorkflowStore(conn).save(spec, text, None, SYSTEM)).workflow_id
            )
        await conn.execute(
            "INSERT INTO users (email, full_name, password_hash, role, department_id) "
            "SELECT $1, 'Metrics', $2, 'OPERATOR', id FROM departments "
            "WHERE code = 'general-administration'",
            EMAIL,
            await Passwords().hash(PASSWORD),
        )
    finally:
        await conn.close()
    return ids


@pytest.fixture
def ports() -> dict[str, int]:
    return {"worker": closed_port(), "scheduler": closed_port()}


async def test_metrics_count_what_happened(
    settings: Settings, database_url: str, ports: dict[str, int]
) -> None:
    started_at = time.time()
    workflow_ids = await _prepare(settings, database_url)
    await prepare_effects(database_url)
    worker_url = f"http://127.0.0.1:{ports['worker']}/metrics"
    scheduler_url = f"http://127.0.0.1:{ports['scheduler']}/metrics"
    with processes(
        settings,
        WORKER_METRICS_PORT=str(ports["worker"]),
        SCHEDULER_METRICS_PORT=str(ports["scheduler"]),
        GOVFLOW_PLUGINS_MODULES="tests.support.effects_plugin",
    ) as group:
        first_worker = group.start("worker")
        group.start("scheduler")
        async with (
            ApiServer(settings, GOVFLOW_PLUGINS_MODULES="tests.support.effects_plugin") as api,
            httpx.AsyncClient(base_url=api.url, timeout=10.0) as client,
        ):
            api_before = await scrape(f"{api.url}/metrics")
            login = await client.post("/auth/login", json={"email": EMAIL, "password": PASSWORD})
            assert login.status_code == 200, login.text
            auth = {"Authorization": f"Bearer {login.json()['data']['access_token']}"}

            async def start(name: str) -> str:
                started = await client.post(
                    f"/workflows/{workflow_ids[name]}/executions", json={"inputs": {}}, headers=auth
                )
                assert started.status_code == 201, started.text
                return str(started.json()["data"]["execution_id"])

            async def status(execution_id: str) -> str:
                read = await client.get(f"/workflow-executions/{execution_id}", headers=auth)
                assert read.status_code == 200, read.text
                return str(read.json()["data"]["status"])

            # The at_most_once step kills its worker mid-effect; the scheduler recovers it.
            crashing = await start("crashing")
            await eventually(lambda: _wait(first_worker), lambda code: code is not None)
            assert await eventually(
                lambda: status(crashing), lambda s: s == "NEEDS_ATTENTION", timeout=60
            )
            group.start("worker")  # its metrics count what follows, from zero
            executions = {name: await start(name) for name in ("metered", "broken", "reviewed")}
            final = {"metered": "COMPLETED", "broken": "FAILED", "reviewed": "WAITING"}
            for name, execution_id in executions.items():
                assert (
                    await eventually(
                        lambda e=execution_id: status(e),
                        lambda s, n=name: s == final[n],
                        timeout=60,
                    )
                    == final[name]
                )
            missing = await client.get(
                "/workflow-executions/0190c4f0-0000-7000-8000-000000000000", headers=auth
            )
            assert missing.status_code == 404
            api_after = await scrape(f"{api.url}/metrics")

            worker = await eventually(
                lambda: scrape(worker_url),
                lambda m: m("govflow_steps_total", action="echo", outcome="COMPLETED") == 1,
            )
            scheduler = await eventually(
                lambda: scrape(scheduler_url),
                lambda m: (
                    m("govflow_human_task_notifications_total", channel="log", outcome="sent") == 1
                    and m("govflow_executions", status="NEEDS_ATTENTION") == 1
                    and m("govflow_executions", status="WAITING") == 1
                ),
                timeout=30,
            )

    # The worker: attempts by outcome, durations, plugin calls, retries, skips, queue lag.
    steps = {
        ("effect_none", "RETRY"): 1,
        ("effect_none", "COMPLETED"): 1,
        ("effect_none", "FAILED"): 1,
        ("echo", "SKIPPED"): 1,
        ("echo", "COMPLETED"): 1,
        ("manual", "SUSPENDED"): 1,
    }
    for (action, outcome), count in steps.items():
        assert worker("govflow_steps_total", action=action, outcome=outcome) == count, (
            action,
            outcome,
        )
    assert sum(v for (n, _), v in worker.samples.items() if n == "govflow_steps_total") == 6
    for action, count in (("effect_none", 3), ("echo", 2), ("manual", 1)):
        assert worker("govflow_step_duration_seconds_count", action=action) == count
    calls = {
        ("effect_none", "technical_error"): 1,
        ("effect_none", "ok"): 1,
        ("effect_none", "business_error"): 1,
        ("echo", "ok"): 1,
        ("manual", "suspended"): 1,
    }
    for (action, outcome), count in calls.items():
        assert (
            worker("govflow_plugin_call_duration_seconds_count", action=action, outcome=outcome)
            == count
        ), (action, outcome)
    assert worker("govflow_step_retries_total", action="effect_none") == 1
    assert worker("govflow_step_skips_total", reason="condition_false") == 1
    # One claim per wake-up: three starts and the retry (the others ran in-process).
    assert worker("govflow_queue_lag_seconds_count") == 4

    # The scheduler: the recovery, the deadline, the notice and the state gauges.
    assert scheduler("govflow_recoveries_total", outcome="needs_attention") == 1
    assert scheduler("govflow_human_task_deadlines_total", event="overdue") == 1
    assert scheduler("govflow_human_tasks_overdue") == 1
    assert scheduler("govflow_human_task_notifications_total", channel="log", outcome="sent") == 1
    assert scheduler("govflow_human_tasks_open") == 1
    assert scheduler("govflow_executions", status="RUNNING") == 0
    assert scheduler("govflow_executions", status="PENDING") == 0
    assert scheduler("govflow_queue_pending_steps") == 0
    assert scheduler("govflow_queue_oldest_pending_seconds") == 0
    assert scheduler("govflow_audit_last_seal_timestamp_seconds") >= started_at
    assert scheduler("govflow_audit_seal_refusals_total") == 0

    # The API: requests by route template and status, hashing lanes.
    def moved(name: str, **labels: str) -> float:
        return api_after(name, **labels) - api_before(name, **labels)

    route = {"app_name": "govflow", "method": "POST"}
    assert moved("govflow_password_hashes_total", lane="login") == 1
    assert moved("govflow_requests_total", path="/auth/login", status_code="200", **route) == 1
    starts = {"path": "/workflows/{workflow}/executions", "status_code": "201", **route}
    assert moved("govflow_requests_total", **starts) == 4
    assert moved("govflow_request_duration_seconds_count", **starts) == 4
    assert api_after("govflow_requests_in_progress", **starts) == 0
    read = {"app_name": "govflow", "method": "GET", "path": "/workflow-executions/{execution_id}"}
    assert moved("govflow_requests_total", status_code="404", **read) == 1


async def _wait(process: subprocess.Popen[bytes]) -> int | None:
    return process.poll()
