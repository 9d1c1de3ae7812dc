"""``Idempotency-Key`` on starting an execution: the key belongs to its caller.

The caller's same request again gives the execution it started (200, its current status); the
key reused for another workflow or other inputs is a 422 naming the header, and nothing is
started; another caller's key of the same spelling is another key.
"""

from __future__ import annotations

import pytest

from govflow.usecases.idempotency_keys import IdempotencyKeyReused
from govflow.usecases.start_execution import StartRequest
from tests.integration.api.conftest import ApiHarness
from tests.integration.api.workflow_support import install_hello
from tests.support.engine import CollectingQueue


def _keyed(api: ApiHarness, key: str, role: str = "OPERATOR") -> dict[str, str]:
    return {**api.headers(role), "Idempotency-Key": key}


async def test_a_key_reused_on_another_workflow_is_422_and_starts_nothing(
    api: ApiHarness, queue: CollectingQueue
) -> None:
    first_workflow = await install_hello(api, "A")
    other_workflow = await install_hello(api, "A")
    headers = _keyed(api, "order-7")
    first = await api.client.post(
        f"/workflows/{first_workflow}/executions", json={"inputs": {}}, headers=headers
    )
    assert first.status_code == 201, first.text
    other = await api.client.post(
        f"/workflows/{other_workflow}/executions", json={"inputs": {}}, headers=headers
    )
    assert other.status_code == 422, other.text
    body = other.json()
    assert body["code"] == "IDEMPOTENCY_KEY_REUSED"
    assert [e["field"] for e in body["errors"]] == ["header.idempotency_key"]
    assert "data" not in body or body["data"] is None
    assert first.json()["data"]["execution_id"] not in other.text
    assert await api.count("executions") == 1
    assert len(queue.woken) == 1


async def test_the_same_request_again_gives_the_execution_and_its_current_status(
    api: ApiHarness, queue: CollectingQueue
) -> None:
    workflow_id = await install_hello(api, "A")
    url = f"/workflows/{workflow_id}/executions"
    headers = _keyed(api, "order-8")
    first = await api.client.post(url, json={"inputs": {"who": "ada"}}, headers=headers)
    assert first.status_code == 201, first.text
    await api.services.step_runner().run(queue.woken[0])
    again = await api.client.post(url, json={"inputs": {"who": "ada"}}, headers=headers)
    assert again.status_code == 200, again.text
    data = again.json()["data"]
    assert data["execution_id"] == first.json()["data"]["execution_id"]
    assert (data["created"], data["status"]) == (False, "COMPLETED")
    other_inputs = await api.client.post(url, json={"inputs": {"who": "bob"}}, headers=headers)
    assert other_inputs.status_code == 422, other_inputs.text
    assert other_inputs.json()["errors"][0]["field"] == "header.idempotency_key"
    assert await api.count("executions") == 1


async def test_a_key_belongs_to_its_caller(api: ApiHarness, queue: CollectingQueue) -> None:
    workflow_id = await install_hello(api, "A")
    url = f"/workflows/{workflow_id}/executions"
    by_operator = await api.client.post(
        url, json={"inputs": {"who": "ada"}}, headers=_keyed(api, "order-9", "OPERATOR")
    )
    by_manager = await api.client.post(
        url, json={"inputs": {"who": "bob"}}, headers=_keyed(api, "order-9", "MANAGER")
    )
    assert (by_operator.status_code, by_manager.status_code) == (201, 201), by_manager.text
    ids = {r.json()["data"]["execution_id"] for r in (by_operator, by_manager)}
    assert len(ids) == 2
    manager = api.headers("MANAGER")
    detail = await api.client.get(f"/workflow-executions/{ids.pop()}", headers=manager)
    assert detail.status_code == 200
    assert await api.count("executions") == 2
    assert len(queue.woken) == 2


async def test_starts_without_a_user_share_one_key_space(
    api: ApiHarness, queue: CollectingQueue
) -> None:
    first_workflow = await install_hello(api, "A")
    other_workflow = await install_hello(api, "A")
    first = await api.services.start_execution(
        StartRequest(workflow=first_workflow, idempotency_key="nightly-1")
    )
    again = await api.services.start_execution(
        StartRequest(workflow=first_workflow, idempotency_key="nightly-1")
    )
    assert (first.created, again.created) == (True, False)
    assert again.execution_id == first.execution_id
    with pytest.raises(IdempotencyKeyReused):
        await api.services.start_execution(
            StartRequest(workflow=other_workflow, idempotency_key="nightly-1")
        )
    assert await api.count("executions") == 1
