"""``/tasks`` through the real app: building-permit's review (an OPERATOR submits, a MANAGER
approves) completes the step and the execution goes on; concurrent approvals, exactly one wins;
department scoping and refusals naming the field.

The workflow is ``workflows.d/building-permit.yaml`` up to its Jira steps (no Jira client exists
yet), filed in the harness's department A.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any
from uuid import UUID

from govflow.adapters.db.workflows import PgWorkflowStore
from govflow.core.validation import validate_workflow
from govflow.usecases.audit import SYSTEM
from tests.integration.api.conftest import ApiHarness
from tests.integration.api.workflow_support import department_code, lowercase_departments
from tests.support.engine import CollectingQueue

ROOT = Path(__file__).resolve().parents[3]


def permit_review_yaml() -> str:
    text = (ROOT / "workflows.d" / "building-permit.yaml").read_text()
    text = text[: text.index("  - id: comment")]
    return text.replace("department: urban-planning", f"department: {department_code('A')}")


async def _waiting_task(api: ApiHarness, queue: CollectingQueue) -> tuple[str, str]:
    """Start the permit review as an OPERATOR and run its first step: execution and task ids."""
    await lowercase_departments(api)
    text = permit_review_yaml()
    spec = validate_workflow(text, "building-permit.yaml", api.services.actions.inputs())
    async with api.services.db.pool.acquire() as conn:
        saved = await PgWorkflowStore(conn).save(spec, text, "building-permit.yaml", SYSTEM)
    started = await api.client.post(
        f"/workflows/{saved.workflow_id}/executions",
        json={"inputs": {"issue_key": "PERMIT-42", "applicant": "Ada"}},
        headers=api.headers("OPERATOR"),
    )
    assert started.status_code == 201, started.text
    execution_id: str = started.json()["data"]["execution_id"]
    await api.services.step_runner().run(queue.woken[-1])
    listed = await api.client.get(
        f"/tasks?eligible_for_me=true&execution_id={execution_id}",
        headers=api.headers("OPERATOR"),
    )
    assert listed.status_code == 200, listed.text
    [task] = listed.json()["data"]
    assert task["status"] == "OPEN"
    assert task["title"] == "Review permit PERMIT-42 for Ada"
    assert task["offered_to"]["role"] == "OPERATOR"
    return execution_id, task["id"]


async def _post(api: ApiHarness, role: str, path: str, body: dict[str, Any]) -> Any:
    return await api.client.post(path, json=body, headers=api.headers(role))


async def _submitted(api: ApiHarness, task_id: str) -> None:
    for action, body in (("claim", {}), ("start", {}), ("submit", {"form": {}})):
        response = await _post(api, "OPERATOR", f"/tasks/{task_id}/{action}", body)
        assert response.status_code == 200, (action, response.text)


async def test_an_operator_submits_a_manager_approves_and_the_execution_goes_on(
    api: ApiHarness, queue: CollectingQueue
) -> None:
    execution_id, task_id = await _waiting_task(api, queue)
    manager = api.headers("MANAGER")
    execution = await api.client.get(f"/workflow-executions/{execution_id}", headers=manager)
    assert execution.json()["data"]["status"] == "WAITING"
    await _submitted(api, task_id)
    mine = await api.client.get("/tasks?assigned_to_me=true", headers=api.headers("OPERATOR"))
    assert [t["id"] for t in mine.json()["data"]] == [task_id]
    four_eyes = await _post(api, "OPERATOR", f"/tasks/{task_id}/approve", {})
    assert four_eyes.status_code == 403

    approved = await _post(api, "MANAGER", f"/tasks/{task_id}/approve", {"comment": "ok"})
    assert approved.status_code == 200, approved.text
    assert approved.json()["data"]["status"] == "CLOSED"
    assert approved.json()["data"]["decision"] == "approved"
    await api.services.step_runner().run(queue.woken[-1])

    done = (await api.client.get(f"/workflow-executions/{execution_id}", headers=manager)).json()
    assert done["data"]["status"] == "COMPLETED"
    assert [s["status"] for s in done["data"]["steps"]] == ["COMPLETED", "COMPLETED"]
    async with api.services.db.pool.acquire() as conn:
        output = await conn.fetchval(
            "SELECT output->>'decision' FROM execution_steps "
            "WHERE execution_id = $1 AND step_key = 'review'",
            UUID(execution_id),
        )
    assert output == "approved"
    assert "HUMAN_TASK_APPROVED" in await api.audit_actions()


async def test_concurrent_approvals_exactly_one_wins(
    api: ApiHarness, queue: CollectingQueue
) -> None:
    _, task_id = await _waiting_task(api, queue)
    await _submitted(api, task_id)
    managers = [api.user("MANAGER")] + [await api.add_user("MANAGER", "A") for _ in range(2)]
    answers = await asyncio.gather(
        *(
            api.client.post(f"/tasks/{task_id}/approve", json={}, headers=manager.headers)
            for manager in managers
        )
    )
    assert sorted(answer.status_code for answer in answers) == [200, 409, 409]
    approvals = await api.services.db.pool.fetchval(
        "SELECT count(*) FROM audit_logs WHERE entity_id = $1 AND action = 'HUMAN_TASK_APPROVED'",
        task_id,
    )
    assert approvals == 1


async def test_another_departments_task_is_a_404_and_refusals_name_the_field(
    api: ApiHarness, queue: CollectingQueue
) -> None:
    _, task_id = await _waiting_task(api, queue)
    for role in ("MANAGER", "OPERATOR"):
        far = api.headers(role, "B")
        assert (await api.client.get(f"/tasks/{task_id}", headers=far)).status_code == 404
        claimed = await api.client.post(f"/tasks/{task_id}/claim", json={}, headers=far)
        assert claimed.status_code == 404
        listed = await api.client.get("/tasks", headers=far)
        assert task_id not in [t["id"] for t in listed.json()["data"]]
    early = await _post(api, "OPERATOR", f"/tasks/{task_id}/start", {})
    assert early.status_code == 409
    assert "status" in early.text
    unknown = await _post(api, "OPERATOR", f"/tasks/{task_id}/claim", {"who": "me"})
    assert unknown.status_code == 400
    assert "who" in unknown.text
    no_reason = await _post(api, "MANAGER", f"/tasks/{task_id}/reject", {})
    assert no_reason.status_code == 400
    assert "reason" in no_reason.text
    seen = await api.client.get(f"/tasks/{task_id}", headers=api.headers("ADMIN", "B"))
    assert seen.status_code == 200
    assert seen.json()["data"]["version"] == 1


async def test_a_manager_assigns_and_the_assignee_delegates(
    api: ApiHarness, queue: CollectingQueue
) -> None:
    _, task_id = await _waiting_task(api, queue)
    first, second = api.user("OPERATOR"), await api.add_user("OPERATOR", "A")
    refused = await _post(api, "OPERATOR", f"/tasks/{task_id}/assign", {"user_id": str(second.id)})
    assert refused.status_code == 403
    assigned = await _post(
        api, "MANAGER", f"/tasks/{task_id}/assign", {"user_id": str(first.id), "reason": "rota"}
    )
    assert assigned.status_code == 200, assigned.text
    assert assigned.json()["data"]["assignee_id"] == str(first.id)
    far = api.user("OPERATOR", "B")
    ineligible = await api.client.post(
        f"/tasks/{task_id}/delegate", json={"user_id": str(far.id)}, headers=first.headers
    )
    assert ineligible.status_code == 400
    assert "body.user_id" in ineligible.text
    unknown = await api.client.post(
        f"/tasks/{task_id}/delegate", json={"user_id": str(UUID(int=3))}, headers=first.headers
    )
    assert unknown.status_code == 400
    delegated = await api.client.post(
        f"/tasks/{task_id}/delegate", json={"user_id": str(second.id)}, headers=first.headers
    )
    assert delegated.status_code == 200, delegated.text
    assert delegated.json()["data"]["assignee_id"] == str(second.id)
    started = await api.client.post(f"/tasks/{task_id}/start", json={}, headers=second.headers)
    assert started.status_code == 200, started.text
    actions = await api.audit_actions()
    assert actions.index("HUMAN_TASK_ASSIGNED") < actions.index("HUMAN_TASK_DELEGATED")


async def test_comments_and_decisions_are_the_tasks_records(
    api: ApiHarness, queue: CollectingQueue
) -> None:
    _, task_id = await _waiting_task(api, queue)
    await _submitted(api, task_id)
    commented = await _post(
        api, "MANAGER", f"/tasks/{task_id}/comment", {"text": "Is the plot plan attached?"}
    )
    assert commented.status_code == 201, commented.text
    assert commented.json()["data"]["action"] == "HUMAN_TASK_COMMENTED"
    empty = await _post(api, "MANAGER", f"/tasks/{task_id}/comment", {"text": ""})
    assert empty.status_code == 400
    far = await api.client.post(
        f"/tasks/{task_id}/comment", json={"text": "hi"}, headers=api.headers("OPERATOR", "B")
    )
    assert far.status_code == 404
    rejected = await _post(api, "MANAGER", f"/tasks/{task_id}/reject", {"reason": "no plan"})
    assert rejected.status_code == 200, rejected.text
    records = await api.client.get(f"/tasks/{task_id}/records", headers=api.headers("OPERATOR"))
    assert records.status_code == 200, records.text
    assert [(r["action"], r["reason"]) for r in records.json()["data"]] == [
        ("HUMAN_TASK_CLAIMED", None),
        ("HUMAN_TASK_STARTED", None),
        ("HUMAN_TASK_SUBMITTED", None),
        ("HUMAN_TASK_COMMENTED", "Is the plot plan attached?"),
        ("HUMAN_TASK_REJECTED", "no plan"),
    ]
    hidden = await api.client.get(f"/tasks/{task_id}/records", headers=api.headers("MANAGER", "B"))
    assert hidden.status_code == 404
