"""Firing a timer now: ``POST /workflow-executions/{id}/steps/{key}/fire-timer`` and
``govflow executions fire-timer``. The engine ends the waiting ``wait`` step (its output says it
was fired early and by whom), audited; 409 when the step is not a waiting timer, 404 across
departments, 403 for an OPERATOR; racing the sweeper, the timer ends exactly once."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from govflow.adapters.db.workflows import PgWorkflowStore
from govflow.core.validation import validate_workflow
from govflow.usecases.audit import SYSTEM
from govflow.usecases.start_execution import StartRequest
from tests.integration.api.conftest import ApiHarness
from tests.integration.api.workflow_support import department_code, lowercase_departments
from tests.support.engine import ROOT, CollectingQueue, process_env


def _waiting_yaml(name: str, department: str) -> str:
    return f"""name: {name}
title: A day's wait
department: {department_code(department)}
steps:
  - id: hold
    action: wait
    with: {{for: 1d}}
  - id: after
    action: notification
    with: {{channel: log, message: "held until {{{{ steps.hold.output.due_at }}}}"}}
"""


async def _waiting(api: ApiHarness, queue: CollectingQueue, department: str = "A") -> UUID:
    """An execution of ``department`` whose step ``hold`` waits on a one-day timer."""
    await lowercase_departments(api)
    name = f"hold-{department.lower()}"
    text = _waiting_yaml(name, department)
    spec = validate_workflow(text, "hold.yaml", api.services.actions.inputs())
    async with api.services.db.pool.acquire() as conn:
        await PgWorkflowStore(conn).save(spec, text, "hold.yaml", SYSTEM)
    started = await api.services.start_execution(StartRequest(workflow=name))
    assert started.first_step_id is not None
    await api.services.step_runner().run(started.first_step_id)
    queue.woken.clear()
    assert await _step(api, started.execution_id, "hold") == ("WAITING", None)
    return started.execution_id


async def _step(api: ApiHarness, execution_id: UUID, key: str) -> tuple[str, Any]:
    row = await api.services.db.pool.fetchrow(
        "SELECT status, output FROM execution_steps WHERE execution_id = $1 AND step_key = $2",
        execution_id,
        key,
    )
    return row["status"], None if row["output"] is None else json.loads(row["output"])


async def _fired_audits(api: ApiHarness) -> list[dict[str, Any]]:
    rows = await api.services.db.pool.fetch(
        "SELECT actor_email, reason, metadata FROM audit_logs "
        "WHERE action = 'WORKFLOW_EXECUTION_STEP_TIMER_FIRED' ORDER BY id"
    )
    return [dict(row) for row in rows]


def _url(execution_id: UUID, key: str = "hold") -> str:
    return f"/workflow-executions/{execution_id}/steps/{key}/fire-timer"


async def test_a_manager_fires_a_timer_and_the_execution_goes_on(
    api: ApiHarness, queue: CollectingQueue
) -> None:
    execution_id = await _waiting(api, queue)
    manager = api.user("MANAGER")
    response = await api.client.post(
        _url(execution_id), json={"reason": "applicant waived the period"}, headers=manager.headers
    )
    assert response.status_code == 200, response.text
    data = response.json()["data"]
    assert data["execution_status"] == "RUNNING"
    assert len(data["woken"]) == 1
    assert queue.woken == [UUID(data["woken"][0])]
    status, output = await _step(api, execution_id, "hold")
    assert status == "COMPLETED"
    assert output["fired_early"] is True
    assert output["waited"] is True
    assert output["fired_by"] == manager.email
    assert datetime.fromisoformat(output["fired_at"]) < datetime.fromisoformat(output["due_at"])
    [audit] = await _fired_audits(api)
    assert audit["reason"] == "applicant waived the period"
    await api.services.step_runner().run(queue.woken[0])
    shown = await api.client.get(f"/workflow-executions/{execution_id}", headers=manager.headers)
    assert shown.json()["data"]["status"] == "COMPLETED"

    again = await api.client.post(_url(execution_id), json={"reason": "x"}, headers=manager.headers)
    assert again.status_code == 409, again.text
    assert "not a waiting timer" in again.text
    assert len(await _fired_audits(api)) == 1


async def test_refusals(api: ApiHarness, queue: CollectingQueue) -> None:
    in_a = await _waiting(api, queue, "A")
    in_b = await _waiting(api, queue, "B")
    reason = {"reason": "x"}
    other = await api.client.post(_url(in_b), json=reason, headers=api.headers("MANAGER", "A"))
    assert other.status_code == 404, other.text
    operator = await api.client.post(_url(in_a), json=reason, headers=api.headers("OPERATOR"))
    assert operator.status_code == 403, operator.text
    not_timer = await api.client.post(
        _url(in_a, "after"), json=reason, headers=api.headers("MANAGER")
    )
    assert not_timer.status_code == 409, not_timer.text
    unknown = await api.client.post(_url(in_a, "nope"), json=reason, headers=api.headers("ADMIN"))
    assert unknown.status_code == 404, unknown.text
    no_reason = await api.client.post(_url(in_a), json={}, headers=api.headers("ADMIN"))
    assert no_reason.status_code == 400, no_reason.text
    assert await _step(api, in_a, "hold") == ("WAITING", None)
    assert await _step(api, in_b, "hold") == ("WAITING", None)
    admin = await api.client.post(_url(in_b), json=reason, headers=api.headers("ADMIN"))
    assert admin.status_code == 200, admin.text
    assert await _fired_audits(api) != []


async def test_racing_the_sweeper_the_timer_ends_once(
    api: ApiHarness, queue: CollectingQueue
) -> None:
    """The sweeper, its clock past the due time, and the operator act at the same moment:
    the step completes once, by one of them, and the other changes nothing."""
    sweeper = api.services.sweeper()
    sweeper.clock = lambda: datetime.now(UTC) + timedelta(days=2)
    for _ in range(6):
        execution_id = await _waiting(api, queue)
        fired, swept = await asyncio.gather(
            api.client.post(
                _url(execution_id), json={"reason": "race"}, headers=api.headers("ADMIN")
            ),
            sweeper.sweep_once(),
        )
        assert fired.status_code in (200, 409), fired.text
        won_by_operator = fired.status_code == 200
        assert swept.timers_resumed == (0 if won_by_operator else 1)
        status, output = await _step(api, execution_id, "hold")
        assert status == "COMPLETED"
        assert ("fired_by" in output) is won_by_operator
        completed = await api.services.db.pool.fetchval(
            "SELECT count(*) FROM audit_logs WHERE action = 'WORKFLOW_EXECUTION_STEP_COMPLETED' "
            "AND metadata->>'execution_id' = $1 AND metadata->>'step' = 'hold'",
            str(execution_id),
        )
        assert completed == 1
        assert len(queue.woken) == 1
        queue.woken.clear()


async def test_the_command_line_fires_a_timer(api: ApiHarness, queue: CollectingQueue) -> None:
    execution_id = await _waiting(api, queue)

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "govflow", "executions", *args],
            env=process_env(api.settings, GOVFLOW_PLUGINS_MODULES=""),
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    done = await asyncio.to_thread(cli, "fire-timer", str(execution_id), "hold", "--reason", "ok")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "execution is now RUNNING"
    status, output = await _step(api, execution_id, "hold")
    assert (status, output["fired_by"]) == ("COMPLETED", "cli")
    again = await asyncio.to_thread(cli, "fire-timer", str(execution_id), "hold", "--reason", "ok")
    assert again.returncode != 0
    assert "not a waiting timer" in again.stderr
