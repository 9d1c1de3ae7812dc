"""A ``manual`` step run again opens a new task: an operator's retry after a rejection under
``on_reject: fail``, and a graph step the failed branch canceled, reopened by the retry. The
ended task stays (CLOSED or CANCELED), the new one is listed by ``GET /tasks`` and linked from
the console's execution page, its approval resumes the step, and the execution completes."""

from __future__ import annotations

from typing import Any

from govflow.adapters.db.workflows import PgWorkflowStore
from govflow.core.roles import Role
from govflow.core.validation import validate_workflow
from govflow.usecases.audit import SYSTEM
from tests.integration.api.conftest import ApiHarness
from tests.integration.api.test_console_hostile import signed_in
from tests.integration.api.workflow_support import department_code, lowercase_departments
from tests.support.engine import CollectingQueue

REVIEW = """
  - id: {key}
    action: manual{needs}
    with:
      title: "{title}"
      assignee: {{role: OPERATOR}}
      reviewers: {{role: MANAGER}}
      on_reject: fail
"""

LIST = (
    """
name: reviewed-once-more
title: Reviewed once more
department: DEPT
steps:"""
    + REVIEW.format(key="review", needs="", title="Review")
    + """
  - id: after
    action: notification
    with: {channel: log, message: "reviewed: {{ steps.review.output.decision }}"}
"""
)

GRAPH = (
    """
name: two-reviews
title: Two reviews side by side
department: DEPT
steps:
  - id: intake
    action: notification
    with: {channel: log, message: intake}"""
    + REVIEW.format(key="legal", needs="\n    needs: [intake]", title="Legal review")
    + REVIEW.format(key="fire", needs="\n    needs: [intake]", title="Fire review")
    + """
  - id: decide
    action: notification
    needs: [legal, fire]
    with: {channel: log, message: "{{ steps.legal.output.decision }}/{{ steps.fire.status }}"}
"""
)


async def _start(api: ApiHarness, text: str) -> str:
    await lowercase_departments(api)
    text = text.replace("DEPT", department_code("A"))
    spec = validate_workflow(text, "reopen.yaml", api.services.actions.inputs())
    async with api.services.db.pool.acquire() as conn:
        saved = await PgWorkflowStore(conn).save(spec, text, "reopen.yaml", SYSTEM)
    started = await api.client.post(
        f"/workflows/{saved.workflow_id}/executions", json={}, headers=api.headers("OPERATOR")
    )
    assert started.status_code == 201, started.text
    execution_id: str = started.json()["data"]["execution_id"]
    return execution_id


async def _run_woken(api: ApiHarness, queue: CollectingQueue) -> None:
    """Run every step woken so far, and those they wake, until none is left."""
    while queue.woken:
        await api.services.step_runner().run(queue.woken.pop(0))


async def _tasks(api: ApiHarness, execution_id: str) -> list[dict[str, Any]]:
    listed = await api.client.get(
        f"/tasks?execution_id={execution_id}&limit=50", headers=api.headers("MANAGER")
    )
    assert listed.status_code == 200, listed.text
    tasks: list[dict[str, Any]] = listed.json()["data"]
    return tasks


async def _post(api: ApiHarness, role: str, path: str, body: dict[str, Any]) -> Any:
    response = await api.client.post(path, json=body, headers=api.headers(role))
    assert response.status_code == 200, (path, response.text)
    return response.json()["data"]


async def _submit(api: ApiHarness, task_id: str) -> None:
    for action, body in (("claim", {}), ("start", {}), ("submit", {"form": {}})):
        await _post(api, "OPERATOR", f"/tasks/{task_id}/{action}", body)


async def _execution(api: ApiHarness, execution_id: str) -> dict[str, Any]:
    found = await api.client.get(
        f"/workflow-executions/{execution_id}", headers=api.headers("MANAGER")
    )
    data: dict[str, Any] = found.json()["data"]
    return data


async def _retry(api: ApiHarness, execution_id: str) -> None:
    await _post(api, "MANAGER", f"/workflow-executions/{execution_id}/retry", {"reason": "again"})


async def test_a_retry_after_a_final_rejection_opens_a_new_task_whose_approval_completes(
    api: ApiHarness, queue: CollectingQueue
) -> None:
    execution_id = await _start(api, LIST)
    await _run_woken(api, queue)
    [first] = await _tasks(api, execution_id)
    await _submit(api, first["id"])
    rejected = await _post(api, "MANAGER", f"/tasks/{first['id']}/reject", {"reason": "no"})
    assert rejected["status"] == "CLOSED"
    await _run_woken(api, queue)
    assert (await _execution(api, execution_id))["status"] == "FAILED"

    await _retry(api, execution_id)
    await _run_woken(api, queue)
    assert (await _execution(api, execution_id))["status"] == "WAITING"
    second, old = await _tasks(api, execution_id)
    assert old["id"] == first["id"]
    assert (old["status"], old["decision"]) == ("CLOSED", "rejected")
    assert second["status"] == "OPEN"
    assert second["step_id"] == first["step_id"]
    async with signed_in(api, Role.MANAGER) as (console, _):
        page = await console.get(f"/ui/executions/{execution_id}")
    assert page.status_code == 200, page.text
    assert f'/tasks/{second["id"]}" id="task-of-review"' in page.text
    assert f"/tasks/{first['id']}" not in page.text
    refused = await api.client.post(
        f"/tasks/{first['id']}/approve", json={}, headers=api.headers("MANAGER")
    )
    assert refused.status_code == 409

    await _submit(api, second["id"])
    approved = await _post(api, "MANAGER", f"/tasks/{second['id']}/approve", {})
    assert approved["status"] == "CLOSED"
    await _run_woken(api, queue)
    done = await _execution(api, execution_id)
    assert done["status"] == "COMPLETED"
    assert [s["status"] for s in done["steps"]] == ["COMPLETED", "COMPLETED"]
    waits = await api.services.db.pool.fetchval(
        "SELECT count(*) FROM audit_logs WHERE action = 'WORKFLOW_EXECUTION_STEP_WAITING' "
        "AND metadata->>'execution_id' = $1",
        execution_id,
    )
    assert waits == 2


async def test_a_graph_step_reopened_by_a_retry_opens_a_new_task(
    api: ApiHarness, queue: CollectingQueue
) -> None:
    execution_id = await _start(api, GRAPH)
    await _run_woken(api, queue)
    tasks = {t["title"]: t for t in await _tasks(api, execution_id)}
    assert sorted(tasks) == ["Fire review", "Legal review"]
    fire = tasks["Fire review"]
    await _submit(api, fire["id"])
    await _post(api, "MANAGER", f"/tasks/{fire['id']}/reject", {"reason": "unsafe"})
    await _run_woken(api, queue)
    failed = await _execution(api, execution_id)
    assert failed["status"] == "FAILED"
    assert {s["step_key"]: s["status"] for s in failed["steps"]}["legal"] == "CANCELED"
    assert {t["id"]: t["status"] for t in await _tasks(api, execution_id)} == {
        fire["id"]: "CLOSED",
        tasks["Legal review"]["id"]: "CANCELED",
    }

    await _retry(api, execution_id)
    await _run_woken(api, queue)
    assert (await _execution(api, execution_id))["status"] == "WAITING"
    listed = await _tasks(api, execution_id)
    assert len(listed) == 4
    live = {t["title"]: t for t in listed if t["status"] == "OPEN"}
    assert sorted(live) == ["Fire review", "Legal review"]
    assert live["Legal review"]["step_id"] == tasks["Legal review"]["step_id"]
    for task in live.values():
        await _submit(api, task["id"])
        await _post(api, "MANAGER", f"/tasks/{task['id']}/approve", {})
    await _run_woken(api, queue)
    done = await _execution(api, execution_id)
    assert done["status"] == "COMPLETED"
    assert {s["step_key"]: s["status"] for s in done["steps"]} == {
        "intake": "COMPLETED",
        "legal": "COMPLETED",
        "fire": "COMPLETED",
        "decide": "COMPLETED",
    }
