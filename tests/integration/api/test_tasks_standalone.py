"""Standalone tasks through the real app: ``POST /tasks`` and the rest of their lifecycle
(assign, start, submit, approve, close; cancel, reactivate; soft delete), ``PATCH``, the task's
audit log, department scoping and the refusals naming their field."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import httpx

from tests.integration.api.conftest import ApiHarness


async def _create(api: ApiHarness, role: str = "MANAGER", **body: Any) -> httpx.Response:
    return await api.client.post(
        "/tasks", json={"title": "Check the extinguishers", **body}, headers=api.headers(role)
    )


async def _opened(api: ApiHarness, **body: Any) -> dict[str, Any]:
    created = await _create(api, **body)
    assert created.status_code == 201, created.text
    data: dict[str, Any] = created.json()["data"]
    return data


async def _post(api: ApiHarness, role: str, path: str, body: dict[str, Any]) -> httpx.Response:
    return await api.client.post(path, json=body, headers=api.headers(role))


def _fields(response: httpx.Response) -> list[str]:
    return [error["field"] for error in response.json()["errors"]]


async def test_a_standalone_task_goes_from_create_to_close(api: ApiHarness) -> None:
    operator = api.user("OPERATOR")
    task = await _opened(
        api,
        description="Building A, floors 1-3",
        reviewers={"role": "MANAGER"},
        form={"checked": {"type": "integer", "required": True, "min": 0}},
        due_in="2d",
    )
    task_id = task["id"]
    assert task["status"] == "OPEN"
    assert task["execution_id"] is None
    assert task["step_id"] is None
    assert task["department_id"] == str(api.departments["A"])
    assert task["description"] == "Building A, floors 1-3"
    assert task["due_at"] is not None
    assert task["reviewers"]["role"] == "MANAGER"

    assigned = await _post(
        api, "MANAGER", f"/tasks/{task_id}/assign", {"user_id": str(operator.id)}
    )
    assert assigned.status_code == 200, assigned.text
    for action, body in (("start", {}), ("submit", {"form": {"checked": 12}})):
        done = await api.client.post(
            f"/tasks/{task_id}/{action}", json=body, headers=operator.headers
        )
        assert done.status_code == 200, (action, done.text)
    early = await _post(api, "MANAGER", f"/tasks/{task_id}/close", {})
    assert early.status_code == 409, early.text
    approved = await _post(api, "MANAGER", f"/tasks/{task_id}/approve", {"comment": "fine"})
    assert approved.status_code == 200, approved.text
    assert approved.json()["data"]["status"] == "APPROVED"
    closed = await _post(api, "MANAGER", f"/tasks/{task_id}/close", {"reason": "done"})
    assert closed.status_code == 200, closed.text
    assert closed.json()["data"]["status"] == "CLOSED"
    assert closed.json()["data"]["submission"] == {"checked": 12}

    records = await api.client.get(f"/tasks/{task_id}/records", headers=operator.headers)
    assert [r["action"] for r in records.json()["data"]] == [
        "HUMAN_TASK_CREATED",
        "HUMAN_TASK_ASSIGNED",
        "HUMAN_TASK_STARTED",
        "HUMAN_TASK_SUBMITTED",
        "HUMAN_TASK_APPROVED",
        "HUMAN_TASK_CLOSED",
    ]
    logs = await api.client.get(f"/tasks/{task_id}/audit_logs?limit=2", headers=operator.headers)
    assert logs.status_code == 200, logs.text
    page = logs.json()
    assert [entry["action"] for entry in page["data"]] == [
        "HUMAN_TASK_CLOSED",
        "HUMAN_TASK_APPROVED",
    ]
    assert page["data"][0]["reason"] == "done"
    assert page["pagination"]["total"] == 6


async def test_a_task_opened_for_a_user_starts_assigned(api: ApiHarness) -> None:
    operator = api.user("OPERATOR")
    task = await _opened(api, assignee_id=str(operator.id))
    assert task["status"] == "ASSIGNED"
    assert task["assignee_id"] == str(operator.id)
    mine = await api.client.get("/tasks?assigned_to_me=true", headers=operator.headers)
    assert [t["id"] for t in mine.json()["data"]] == [task["id"]]


async def test_creation_is_for_managers_in_their_own_department(api: ApiHarness) -> None:
    refused = await _create(api, "OPERATOR")
    assert refused.status_code == 403
    elsewhere = await _create(api, department_id=str(api.departments["B"]))
    assert elsewhere.status_code == 403, elsewhere.text
    assert _fields(elsewhere) == ["body.department_id"]
    by_admin = await _create(api, "ADMIN", department_id=str(api.departments["B"]))
    assert by_admin.status_code == 201, by_admin.text
    assert by_admin.json()["data"]["department_id"] == str(api.departments["B"])
    assert await api.count("human_tasks") == 1


async def test_creation_refusals_name_the_field(api: ApiHarness) -> None:
    nobody = str(UUID(int=7))
    cases: list[tuple[dict[str, Any], str]] = [
        ({"title": "   "}, "body.title"),
        ({"department_id": nobody}, "body.department_id"),
        (
            {"offered_to": {"users": [str(api.user("OPERATOR").id), nobody]}},
            "body.offered_to.users[1]",
        ),
        ({"reviewers": {"department_id": nobody}}, "body.reviewers.department_id"),
        ({"reviewers": {}}, "body.reviewers"),
        ({"approvals": 2}, "body.approvals"),
        ({"due_in": "1h", "due_at": "2099-01-01T00:00:00Z"}, "body.due_in"),
        ({"due_at": "2001-01-01T00:00:00Z"}, "body.due_at"),
        ({"due_in": "soon"}, "body.due_in"),
        ({"assignee_id": nobody}, "body.assignee_id"),
        ({"assignee_id": str(api.user("OPERATOR", "B").id)}, "body.assignee_id"),
        ({"form": {"kind": {"type": "choice"}}}, "body.form.kind.options"),
        ({"form": {"x": {"type": "colour"}}}, "body.form[...].type"),
        ({"status": "CLOSED"}, "body.status"),
        ({"on_reject": "retry"}, "body.on_reject"),
    ]
    for body, field in cases:
        refused = await _create(api, **body)
        assert refused.status_code == 400, (body, refused.text)
        assert field in refused.text, (body, refused.text)
    assert await api.count("human_tasks") == 0


async def test_patch_changes_details_over_the_version_read(api: ApiHarness) -> None:
    task = await _opened(api)
    path = f"/tasks/{task['id']}"
    due = (datetime.now(UTC) + timedelta(days=3)).isoformat()
    edited = await api.client.patch(
        path,
        json={"version": 1, "title": "Check extinguishers, B", "due_at": due, "reason": "scope"},
        headers=api.headers("MANAGER"),
    )
    assert edited.status_code == 200, edited.text
    data = edited.json()["data"]
    assert (data["title"], data["status"], data["version"]) == ("Check extinguishers, B", "OPEN", 2)
    assert data["due_at"] is not None
    stale = await api.client.patch(
        path, json={"version": 1, "description": "again"}, headers=api.headers("MANAGER")
    )
    assert stale.status_code == 409, stale.text
    assert _fields(stale) == ["body.version"]
    refusals = [
        ({"version": 2, "status": "CLOSED"}, 400, "body.status"),
        ({"version": 2}, 400, "body"),
        ({"version": 2, "title": ""}, 400, "body.title"),
        ({"version": 2, "due_at": "2001-01-01T00:00:00Z"}, 400, "body.due_at"),
        ({"version": 2, "due_at": "2099-01-01T00:00:00"}, 400, "body.due_at"),
        ({"title": "x"}, 400, "body.version"),
    ]
    for body, status, field in refusals:
        refused = await api.client.patch(path, json=body, headers=api.headers("MANAGER"))
        assert refused.status_code == status, (body, refused.text)
        assert field in _fields(refused) or field in refused.text, (body, refused.text)
    operator = await api.client.patch(
        path, json={"version": 2, "title": "x"}, headers=api.headers("OPERATOR")
    )
    assert operator.status_code == 403
    far = await api.client.patch(
        path, json={"version": 2, "title": "x"}, headers=api.headers("MANAGER", "B")
    )
    assert far.status_code == 404
    cleared = await api.client.patch(
        path, json={"version": 2, "due_at": None}, headers=api.headers("ADMIN", "B")
    )
    assert cleared.status_code == 200, cleared.text
    assert cleared.json()["data"]["due_at"] is None
    updates = await api.services.db.pool.fetch(
        "SELECT reason, metadata->'changed' AS changed FROM audit_logs "
        "WHERE entity_id = $1 AND action = 'HUMAN_TASK_UPDATED' ORDER BY id",
        task["id"],
    )
    assert [(row["reason"], row["changed"]) for row in updates] == [
        ("scope", '["due_at", "title"]'),
        (None, '["due_at"]'),
    ]


async def test_cancel_reactivate_and_soft_delete(api: ApiHarness) -> None:
    task = await _opened(api)
    task_id = task["id"]
    early = await api.client.delete(f"/tasks/{task_id}", headers=api.headers("MANAGER"))
    assert early.status_code == 409, early.text
    canceled = await _post(api, "MANAGER", f"/tasks/{task_id}/cancel", {"reason": "moved"})
    assert canceled.json()["data"]["status"] == "CANCELED"
    reactivated = await _post(api, "MANAGER", f"/tasks/{task_id}/reactivate", {})
    assert reactivated.json()["data"]["status"] == "OPEN"
    await _post(api, "MANAGER", f"/tasks/{task_id}/cancel", {})
    frozen = await api.client.patch(
        f"/tasks/{task_id}", json={"version": 4, "title": "x"}, headers=api.headers("MANAGER")
    )
    assert frozen.status_code == 409, frozen.text
    far = await api.client.delete(f"/tasks/{task_id}", headers=api.headers("MANAGER", "B"))
    assert far.status_code == 404
    operator = await api.client.delete(f"/tasks/{task_id}", headers=api.headers("OPERATOR"))
    assert operator.status_code == 403
    deleted = await api.client.delete(f"/tasks/{task_id}", headers=api.headers("MANAGER"))
    assert deleted.status_code == 200, deleted.text
    assert deleted.json()["data"]["status"] == "DELETED"

    for query in ("", "?status=DELETED", "?status=CANCELED&status=DELETED"):
        listed = await api.client.get(f"/tasks{query}", headers=api.headers("ADMIN"))
        assert task_id not in [t["id"] for t in listed.json()["data"]], query
    shown = await api.client.get(f"/tasks/{task_id}", headers=api.headers("MANAGER"))
    assert shown.json()["data"]["status"] == "DELETED"
    again = await api.client.delete(f"/tasks/{task_id}", headers=api.headers("MANAGER"))
    assert again.status_code == 409
    comment = await _post(api, "MANAGER", f"/tasks/{task_id}/comment", {"text": "hello"})
    assert comment.status_code == 409


async def test_a_final_rejection_closes_a_standalone_task(api: ApiHarness) -> None:
    operator = api.user("OPERATOR")
    task = await _opened(
        api, assignee_id=str(operator.id), reviewers={"role": "MANAGER"}, on_reject="fail"
    )
    for action, body in (("start", {}), ("submit", {})):
        done = await api.client.post(
            f"/tasks/{task['id']}/{action}", json=body, headers=operator.headers
        )
        assert done.status_code == 200, done.text
    rejected = await _post(api, "MANAGER", f"/tasks/{task['id']}/reject", {"reason": "no"})
    assert rejected.status_code == 200, rejected.text
    assert rejected.json()["data"]["status"] == "CLOSED"


async def test_another_departments_task_is_a_404_on_every_route(api: ApiHarness) -> None:
    task_id = (await _opened(api))["id"]
    far = api.headers("MANAGER", "B")
    for method, path in (
        ("GET", f"/tasks/{task_id}"),
        ("GET", f"/tasks/{task_id}/audit_logs"),
        ("GET", f"/tasks/{task_id}/records"),
        ("DELETE", f"/tasks/{task_id}"),
    ):
        answer = await api.client.request(method, path, headers=far)
        assert answer.status_code == 404, (method, path)
    for action in ("close", "cancel", "reactivate", "claim"):
        answer = await api.client.post(f"/tasks/{task_id}/{action}", json={}, headers=far)
        assert answer.status_code == 404, action
    listed = await api.client.get(f"/tasks?department_id={api.departments['A']}", headers=far)
    assert listed.json()["data"] == []


async def test_list_filters(api: ApiHarness) -> None:
    operator = api.user("OPERATOR")
    offered = await _opened(api, title="offered", offered_to={"role": "OPERATOR"})
    assigned = await _opened(
        api, title="assigned", assignee_id=str(operator.id), reviewers={"role": "MANAGER"}
    )
    await api.client.post("/tasks", json={"title": "b"}, headers=api.headers("MANAGER", "B"))
    await api.services.db.pool.execute(
        "UPDATE human_tasks SET due_at = now() - interval '1 hour' WHERE id = $1",
        UUID(offered["id"]),
    )
    for action, body in (("start", {}), ("submit", {})):
        await api.client.post(
            f"/tasks/{assigned['id']}/{action}", json=body, headers=operator.headers
        )

    async def titles(query: str, role: str = "ADMIN", department: str = "A") -> list[str]:
        answer = await api.client.get(f"/tasks?{query}", headers=api.headers(role, department))
        assert answer.status_code == 200, answer.text
        return sorted(task["title"] for task in answer.json()["data"])

    assert await titles("status=OPEN&status=SUBMITTED", "MANAGER") == ["assigned", "offered"]
    assert await titles("status=SUBMITTED") == ["assigned"]
    assert await titles("overdue=true") == ["offered"]
    assert "offered" not in await titles("overdue=false")
    assert await titles(f"department_id={api.departments['B']}") == ["b"]
    assert await titles("eligible_for_me=true", "OPERATOR") == ["offered"]
    assert await titles("eligible_for_me=true", "MANAGER") == ["assigned"]
    assert await titles("eligible_for_me=true", "MANAGER", "B") == []
    assert await titles(f"workflow_id={UUID(int=5)}") == []
    paged = await api.client.get("/tasks?limit=1&page=2", headers=api.headers("MANAGER"))
    assert paged.json()["pagination"] == {"page": 2, "limit": 1, "total": 2, "totalPages": 2}
    wrong = await api.client.get("/tasks?status=LOST", headers=api.headers("MANAGER"))
    assert wrong.status_code == 400
    assert "status" in wrong.text


async def test_an_idempotency_key_opens_the_task_once(api: ApiHarness) -> None:
    headers = {**api.headers("MANAGER"), "Idempotency-Key": "rota-2026-11"}
    body = {"title": "Check the extinguishers", "due_in": "2d"}
    first = await api.client.post("/tasks", json=body, headers=headers)
    assert first.status_code == 201, first.text
    again = await api.client.post("/tasks", json=body, headers=headers)
    assert again.status_code == 201, again.text
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json()["data"]["id"] == first.json()["data"]["id"]
    other = await api.client.post("/tasks", json={**body, "title": "other"}, headers=headers)
    assert other.status_code == 422, other.text
    assert "header.idempotency_key" in other.text
    assert await api.count("human_tasks") == 1


async def test_eligible_leaves_out_what_the_caller_reviewed_or_submitted(api: ApiHarness) -> None:
    operator = api.user("OPERATOR")
    second = await api.add_user("MANAGER", "A")
    task = await _opened(
        api,
        assignee_id=str(operator.id),
        reviewers={"users": [str(api.user("MANAGER").id), str(second.id)]},
        approvals=2,
    )
    for action in ("start", "submit"):
        done = await api.client.post(
            f"/tasks/{task['id']}/{action}", json={}, headers=operator.headers
        )
        assert done.status_code == 200, done.text

    async def eligible(headers: dict[str, str]) -> list[str]:
        listed = await api.client.get("/tasks?eligible_for_me=true", headers=headers)
        return [t["id"] for t in listed.json()["data"]]

    assert await eligible(second.headers) == [task["id"]]
    assert await eligible(api.headers("MANAGER")) == [task["id"]]
    assert await eligible(operator.headers) == []
    first = await _post(api, "MANAGER", f"/tasks/{task['id']}/approve", {})
    assert first.json()["data"]["status"] == "SUBMITTED"
    assert await eligible(api.headers("MANAGER")) == []
    assert await eligible(second.headers) == [task["id"]]
    beyond = await api.client.get("/tasks?page=3&limit=1", headers=api.headers("MANAGER"))
    assert beyond.json()["data"] == []
    assert beyond.json()["pagination"]["total"] == 1


async def test_concurrent_edits_of_one_version_exactly_one_wins(api: ApiHarness) -> None:
    task = await _opened(api)
    managers = [api.user("MANAGER"), api.user("ADMIN")] + [
        await api.add_user("MANAGER", "A") for _ in range(2)
    ]
    answers = await asyncio.gather(
        *(
            api.client.patch(
                f"/tasks/{task['id']}",
                json={"version": 1, "title": f"title {n}"},
                headers=manager.headers,
            )
            for n, manager in enumerate(managers)
        )
    )
    assert sorted(answer.status_code for answer in answers) == [200, 409, 409, 409]
    shown = await api.client.get(f"/tasks/{task['id']}", headers=api.headers("MANAGER"))
    assert shown.json()["data"]["version"] == 2
    updates = await api.services.db.pool.fetchval(
        "SELECT count(*) FROM audit_logs WHERE entity_id = $1 AND action = 'HUMAN_TASK_UPDATED'",
        task["id"],
    )
    assert updates == 1
