"""Executions through HTTP: start (idempotent, scoped, inputs checked), read, drive to the end
in process, operate (cancel, retry, resolve; 409 when illegal), wake up and recover."""

from __future__ import annotations

from uuid import UUID

from tests.integration.api.conftest import ApiHarness
from tests.integration.api.workflow_support import HELLO_STEP, install_hello
from tests.support.engine import CollectingQueue


async def _start(api: ApiHarness, workflow_id: UUID, role: str = "OPERATOR", **kw: object) -> str:
    response = await api.client.post(
        f"/workflows/{workflow_id}/executions", json={"inputs": kw}, headers=api.headers(role)
    )
    assert response.status_code == 201, response.text
    execution_id: str = response.json()["data"]["execution_id"]
    return execution_id


async def test_start_runs_to_completed_in_process(api: ApiHarness, queue: CollectingQueue) -> None:
    workflow_id = await install_hello(api, "A")
    execution_id = await _start(api, workflow_id, who="ada")
    manager = api.headers("MANAGER")
    detail = (await api.client.get(f"/workflow-executions/{execution_id}", headers=manager)).json()
    assert detail["data"]["status"] == "PENDING"
    assert detail["data"]["inputs"] == {"who": "ada", "count": 1}
    job = (await api.client.get(f"/workflow-executions/{execution_id}/job", headers=manager)).json()
    assert job["data"]["state"] == "pending"
    assert job["data"]["step_key"] == HELLO_STEP
    assert job["data"]["enqueued_at"] is not None
    assert len(queue.woken) == 1
    await api.services.step_runner().run(queue.woken[0])
    done = (await api.client.get(f"/workflow-executions/{execution_id}", headers=manager)).json()
    assert done["data"]["status"] == "COMPLETED"
    assert done["data"]["steps"][0]["status"] == "COMPLETED"
    steps = await api.client.get(f"/workflow-executions/{execution_id}/steps", headers=manager)
    [step] = steps.json()["data"]
    assert [(a["attempt"], a["outcome"]) for a in step["attempts"]] == [(1, "COMPLETED")]
    finished = await api.client.get(f"/workflow-executions/{execution_id}/job", headers=manager)
    assert finished.json()["data"]["state"] == "finished"
    process = await api.client.post(f"/workflow-executions/{execution_id}/process", headers=manager)
    assert process.status_code == 409
    cancel = await api.client.post(
        f"/workflow-executions/{execution_id}/cancel", json={"reason": "late"}, headers=manager
    )
    assert cancel.status_code == 409


async def test_idempotency_key_gives_the_same_execution(
    api: ApiHarness, queue: CollectingQueue
) -> None:
    workflow_id = await install_hello(api, "A")
    headers = {**api.headers("OPERATOR"), "Idempotency-Key": "order-42"}
    url = f"/workflows/{workflow_id}/executions"
    first = await api.client.post(url, json={"inputs": {}}, headers=headers)
    second = await api.client.post(url, json={"inputs": {}}, headers=headers)
    assert (first.status_code, second.status_code) == (201, 200), second.text
    assert first.json()["data"]["execution_id"] == second.json()["data"]["execution_id"]
    assert second.json()["data"]["created"] is False
    assert await api.count("executions") == 1
    assert len(queue.woken) == 1


async def test_invalid_inputs_are_400_with_field_paths_and_nothing_written(
    api: ApiHarness, queue: CollectingQueue
) -> None:
    workflow_id = await install_hello(api, "A")
    response = await api.client.post(
        f"/workflows/{workflow_id}/executions",
        json={"inputs": {"count": "many", "colour": "red"}},
        headers=api.headers("OPERATOR"),
    )
    assert response.status_code == 400, response.text
    fields = {e["field"] for e in response.json()["errors"]}
    assert fields == {"body.inputs.count", "body.inputs.colour"}
    assert await api.count("executions") == 0
    extra = await api.client.post(
        f"/workflows/{workflow_id}/executions",
        json={"inputs": {}, "status": "COMPLETED"},
        headers=api.headers("OPERATOR"),
    )
    assert extra.status_code == 400
    assert extra.json()["errors"][0]["field"] == "body.status"
    assert await api.count("executions") == 0


async def test_department_scoping(api: ApiHarness, queue: CollectingQueue) -> None:
    a = await install_hello(api, "A")
    b = await install_hello(api, "B")
    in_a = await _start(api, a)
    in_b = await _start(api, b, role="ADMIN")
    other = await api.client.post(
        f"/workflows/{b}/executions", json={}, headers=api.headers("OPERATOR", "A")
    )
    assert other.status_code == 404
    manager = api.headers("MANAGER", "A")
    listed = (await api.client.get("/workflow-executions", headers=manager)).json()
    assert [e["id"] for e in listed["data"]] == [in_a]
    everything = await api.client.get("/workflow-executions", headers=api.headers("ADMIN"))
    assert {e["id"] for e in everything.json()["data"]} == {in_a, in_b}
    for suffix in ("", "/steps", "/job"):
        response = await api.client.get(f"/workflow-executions/{in_b}{suffix}", headers=manager)
        assert response.status_code == 404, suffix
    cancel = await api.client.post(
        f"/workflow-executions/{in_b}/cancel", json={"reason": "x"}, headers=manager
    )
    assert cancel.status_code == 404


async def test_list_filters(api: ApiHarness, queue: CollectingQueue) -> None:
    a = await install_hello(api, "A")
    first = await _start(api, a)
    admin = api.headers("ADMIN")
    await api.client.post(
        f"/workflow-executions/{first}/cancel", json={"reason": "x"}, headers=admin
    )
    second = await _start(api, a)
    canceled = await api.client.get(
        "/workflow-executions", params={"status": "CANCELED"}, headers=admin
    )
    assert [e["id"] for e in canceled.json()["data"]] == [first]
    by_workflow = await api.client.get(
        "/workflow-executions", params={"workflow_id": str(a), "limit": 1}, headers=admin
    )
    assert [e["id"] for e in by_workflow.json()["data"]] == [second]
    assert by_workflow.json()["pagination"] == {"page": 1, "limit": 1, "total": 2, "totalPages": 2}
    future = await api.client.get(
        "/workflow-executions", params={"created_from": "2999-01-01T00:00:00Z"}, headers=admin
    )
    assert future.json()["data"] == []
    bad = await api.client.get(
        "/workflow-executions",
        params={"created_from": "2030-01-01T00:00:00Z", "created_to": "2020-01-01T00:00:00Z"},
        headers=admin,
    )
    assert bad.status_code == 400
    assert bad.json()["errors"][0]["field"] == "query.created_from"


async def test_cancel_then_illegal_retry(api: ApiHarness, queue: CollectingQueue) -> None:
    execution_id = await _start(api, await install_hello(api, "A"))
    manager = api.headers("MANAGER")
    url = f"/workflow-executions/{execution_id}"
    canceled = await api.client.post(f"{url}/cancel", json={"reason": "wrong"}, headers=manager)
    assert canceled.status_code == 200, canceled.text
    assert canceled.json()["data"]["execution_status"] == "CANCELED"
    retry = await api.client.post(f"{url}/retry", json={"reason": "again"}, headers=manager)
    assert retry.status_code == 409
    assert retry.json()["code"] == "CONFLICT"
    missing = await api.client.post(f"{url}/cancel", json={}, headers=manager)
    assert missing.status_code == 400
    assert missing.json()["errors"][0]["field"] == "body.reason"
    rows = await api.services.db.pool.fetch(
        "SELECT actor_id, reason FROM audit_logs WHERE action = 'WORKFLOW_EXECUTION_CANCELED'"
    )
    assert [(r["actor_id"], r["reason"]) for r in rows] == [(api.user("MANAGER").id, "wrong")]


async def test_retry_a_failed_execution(api: ApiHarness, queue: CollectingQueue) -> None:
    execution_id = await _start(api, await install_hello(api, "A"))
    pool = api.services.db.pool
    await pool.execute(
        "UPDATE execution_steps SET status = 'FAILED', attempt = 1 WHERE execution_id = $1",
        UUID(execution_id),
    )
    await pool.execute("UPDATE executions SET status = 'FAILED' WHERE id = $1", UUID(execution_id))
    queue.woken.clear()
    url = f"/workflow-executions/{execution_id}"
    retry = await api.client.post(
        f"{url}/retry", json={"reason": "fixed"}, headers=api.headers("ADMIN")
    )
    assert retry.status_code == 200, retry.text
    assert len(queue.woken) == 1
    await api.services.step_runner().run(queue.woken[0])
    detail = await api.client.get(url, headers=api.headers("ADMIN"))
    assert detail.json()["data"]["status"] == "COMPLETED"


async def test_resolve_a_step_that_needs_attention(api: ApiHarness, queue: CollectingQueue) -> None:
    execution_id = await _start(api, await install_hello(api, "A"))
    pool = api.services.db.pool
    url = f"/workflow-executions/{execution_id}/steps/{HELLO_STEP}/resolve"
    manager = api.headers("MANAGER")
    early = await api.client.post(url, json={"action": "skip", "reason": "x"}, headers=manager)
    assert early.status_code == 409
    await pool.execute(
        "UPDATE execution_steps SET status = 'NEEDS_ATTENTION', attempt = 1, "
        "attempt_started = true WHERE execution_id = $1",
        UUID(execution_id),
    )
    await pool.execute(
        "UPDATE executions SET status = 'NEEDS_ATTENTION' WHERE id = $1", UUID(execution_id)
    )
    bad = await api.client.post(url, json={"action": "undo", "reason": "x"}, headers=manager)
    assert bad.status_code == 400
    assert bad.json()["errors"][0]["field"] == "body.action"
    unknown = await api.client.post(
        f"/workflow-executions/{execution_id}/steps/nope/resolve",
        json={"action": "skip", "reason": "x"},
        headers=manager,
    )
    assert unknown.status_code == 404
    done = await api.client.post(
        url,
        json={"action": "mark_done", "reason": "sent by hand", "output": {"sent": True}},
        headers=manager,
    )
    assert done.status_code == 200, done.text
    assert done.json()["data"]["execution_status"] == "COMPLETED"
    steps = await api.client.get(f"/workflow-executions/{execution_id}/steps", headers=manager)
    assert steps.json()["data"][0]["step"]["output"] == {"sent": True}


async def test_process_is_a_pure_wake_up(api: ApiHarness, queue: CollectingQueue) -> None:
    execution_id = await _start(api, await install_hello(api, "A"))
    audits = len(await api.audit_actions())
    queue.woken.clear()
    url = f"/workflow-executions/{execution_id}/process"
    for _ in range(2):
        response = await api.client.post(url, headers=api.headers("MANAGER"))
        assert response.status_code == 202, response.text
    assert len(queue.woken) == 2
    assert len(set(queue.woken)) == 1
    assert len(await api.audit_actions()) == audits


async def test_stale_recovery_endpoint(api: ApiHarness, queue: CollectingQueue) -> None:
    execution_id = await _start(api, await install_hello(api, "A"))
    await api.services.db.pool.execute(
        "UPDATE execution_steps SET status = 'RUNNING', attempt = 1, lease_owner = 'gone', "
        "lease_expires_at = now() - interval '1 minute' WHERE execution_id = $1",
        UUID(execution_id),
    )
    await api.services.db.pool.execute(
        "UPDATE executions SET status = 'RUNNING' WHERE id = $1", UUID(execution_id)
    )
    job = await api.client.get(
        f"/workflow-executions/{execution_id}/job", headers=api.headers("ADMIN")
    )
    assert job.json()["data"]["state"] == "running"
    assert job.json()["data"]["lease_expired"] is True
    response = await api.client.post(
        "/workflow-executions/recovery/stale-running", headers=api.headers("MANAGER")
    )
    assert response.status_code == 200, response.text
    report = response.json()["data"]
    assert report["recovered"] + report["needs_attention"] + report["completed_by_lookup"] == 1
    assert "WORKFLOW_EXECUTION_RECOVERY_TRIGGERED" in await api.audit_actions()
    denied = await api.client.post(
        "/workflow-executions/recovery/stale-running", headers=api.headers("OPERATOR")
    )
    assert denied.status_code == 403
