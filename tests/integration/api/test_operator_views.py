"""An OPERATOR follows its own work through the API: it lists the workflows it may start, starts
one by name, and reads the executions it started or has a task assigned in; everything else is
hidden (404, and absent from lists)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import pytest

from tests.integration.api.conftest import Account, ApiHarness
from tests.integration.api.workflow_support import install_hello, unique_name
from tests.support.engine import CollectingQueue


@pytest.fixture(autouse=True)
def _wake_ups_collected(queue: CollectingQueue) -> CollectingQueue:
    """Every test here collects the API's wake-ups (the shared ``queue`` fixture)."""
    return queue


async def _start(api: ApiHarness, workflow: UUID | str, who: Account) -> dict[str, Any]:
    response = await api.client.post(
        f"/workflows/{workflow}/executions", json={"inputs": {}}, headers=who.headers
    )
    assert response.status_code == 201, response.text
    data: dict[str, Any] = response.json()["data"]
    return data


async def _listed(api: ApiHarness, path: str, who: Account, **query: str) -> list[str]:
    response = await api.client.get(path, params=query, headers=who.headers)
    assert response.status_code == 200, response.text
    return [item["id"] for item in response.json()["data"]]


async def test_an_operator_lists_its_departments_active_workflows_only(api: ApiHarness) -> None:
    active = await install_hello(api, "A")
    paused = await install_hello(api, "A")
    elsewhere = await install_hello(api, "B")
    await api.services.db.pool.execute(
        "UPDATE workflows SET is_active = false WHERE id = $1", paused
    )
    operator, manager = api.user("OPERATOR", "A"), api.user("MANAGER", "A")

    assert await _listed(api, "/workflows", operator) == [str(active)]
    assert await _listed(api, "/workflows", operator, active="true") == [str(active)]
    assert await _listed(api, "/workflows", operator, active="false") == []
    other = str(api.departments["B"])
    assert await _listed(api, "/workflows", operator, department_id=other) == []
    assert sorted(await _listed(api, "/workflows", manager)) == sorted([str(active), str(paused)])
    assert str(elsewhere) in await _listed(api, "/workflows", api.user("ADMIN"))
    # Listing is all an OPERATOR may do with workflow definitions.
    detail = await api.client.get(f"/workflows/{active}", headers=operator.headers)
    assert detail.status_code == 403


async def test_an_operator_starts_by_name_and_is_recorded_as_created_by(api: ApiHarness) -> None:
    name = unique_name()
    workflow_id = await install_hello(api, "A", name)
    operator = api.user("OPERATOR", "A")

    started = await _start(api, name, operator)

    assert started["workflow_id"] == str(workflow_id)
    created_by = await api.services.db.pool.fetchval(
        "SELECT created_by FROM executions WHERE id = $1", UUID(started["execution_id"])
    )
    assert created_by == operator.id
    by_id = await _start(api, workflow_id, api.user("MANAGER", "A"))
    assert by_id["workflow_id"] == str(workflow_id)
    detail = await api.client.get(
        f"/workflow-executions/{by_id['execution_id']}", headers=api.headers("ADMIN")
    )
    assert detail.json()["data"]["created_by"] == str(api.user("MANAGER", "A").id)


async def test_a_start_by_name_is_scoped_and_checked(api: ApiHarness) -> None:
    name = unique_name()
    await install_hello(api, "B", name)
    operator = api.user("OPERATOR", "A")
    for workflow, status, field in [
        (name, 404, None),
        ("no-such-workflow", 404, None),
        ("bad.name", 400, "path.workflow"),
        ("x" * 65, 400, "path.workflow"),
    ]:
        response = await api.client.post(
            f"/workflows/{workflow}/executions", json={}, headers=operator.headers
        )
        assert response.status_code == status, (workflow, response.text)
        if field:
            assert [e["field"] for e in response.json()["errors"]] == [field]
    assert await api.count("executions") == 0
    started = await _start(api, name, api.user("OPERATOR", "B"))
    assert started["status"] == "PENDING"


async def test_an_operator_reads_its_own_executions_only(api: ApiHarness) -> None:
    workflow_a = await install_hello(api, "A")
    workflow_b = await install_hello(api, "B")
    mine, colleague = api.user("OPERATOR", "A"), await api.add_user("OPERATOR", "A")
    own = (await _start(api, workflow_a, mine))["execution_id"]
    theirs = (await _start(api, workflow_a, colleague))["execution_id"]
    managers = (await _start(api, workflow_a, api.user("MANAGER", "A")))["execution_id"]
    other_department = (await _start(api, workflow_b, api.user("OPERATOR", "B")))["execution_id"]

    assert await _listed(api, "/workflow-executions", mine) == [own]
    assert await _listed(api, "/workflow-executions", colleague) == [theirs]
    assert await _listed(api, "/workflow-executions", mine, status="PENDING") == [own]
    assert sorted(await _listed(api, "/workflow-executions", api.user("MANAGER", "A"))) == sorted(
        [own, theirs, managers]
    )
    for path in (f"/workflow-executions/{own}", f"/workflow-executions/{own}/steps"):
        response = await api.client.get(path, headers=mine.headers)
        assert response.status_code == 200, (path, response.text)
    detail = (await api.client.get(f"/workflow-executions/{own}", headers=mine.headers)).json()
    assert detail["data"]["created_by"] == str(mine.id)
    for execution_id in (theirs, managers, other_department):
        for suffix in ("", "/steps"):
            path = f"/workflow-executions/{execution_id}{suffix}"
            response = await api.client.get(path, headers=mine.headers)
            assert response.status_code == 404, (path, response.text)
    # Reading is all: operating an execution, even its own, stays with ADMIN and MANAGER.
    job = await api.client.get(f"/workflow-executions/{own}/job", headers=mine.headers)
    assert job.status_code == 403
    cancel = await api.client.post(
        f"/workflow-executions/{own}/cancel", json={"reason": "mine"}, headers=mine.headers
    )
    assert cancel.status_code == 403


async def test_an_operator_reads_the_executions_it_has_a_task_in(api: ApiHarness) -> None:
    workflow_a = await install_hello(api, "A")
    operator = api.user("OPERATOR", "A")
    execution_id = (await _start(api, workflow_a, api.user("MANAGER", "A")))["execution_id"]
    path = f"/workflow-executions/{execution_id}"
    assert (await api.client.get(path, headers=operator.headers)).status_code == 404

    await api.services.db.pool.execute(
        """INSERT INTO human_tasks (execution_id, execution_step_id, department_id, title,
                                    assignee_id)
           SELECT e.id, s.id, e.department_id, 'Review', $2
             FROM executions e JOIN execution_steps s ON s.execution_id = e.id
            WHERE e.id = $1 AND s.position = 0""",
        UUID(execution_id),
        operator.id,
    )

    assert (await api.client.get(path, headers=operator.headers)).status_code == 200
    assert (await api.client.get(f"{path}/steps", headers=operator.headers)).status_code == 200
    assert await _listed(api, "/workflow-executions", operator) == [execution_id]
    colleague = await api.add_user("OPERATOR", "A")
    assert (await api.client.get(path, headers=colleague.headers)).status_code == 404
    assert await _listed(api, "/workflow-executions", colleague) == []
