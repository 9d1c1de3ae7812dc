"""``POST /webhooks/{workflow}`` over real PostgreSQL: a good delivery starts exactly one
execution; a bad signature, a stale or missing header, a replayed delivery id, a body that does
not fit the inputs, hostile bodies and an unset secret are refused with a 4xx (503 for the
secret) naming the field, and create nothing. ``GET /workflows/{id}/triggers`` shows it all."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from govflow.adapters.db.workflows import PgWorkflowStore
from govflow.core.validation import validate_workflow
from govflow.testing import signed_headers
from govflow.usecases.audit import SYSTEM
from tests.integration.api.conftest import ApiHarness, body
from tests.integration.api.workflow_support import department_code, lowercase_departments

SECRET = "portal-shared-secret-0123456789"
WORKFLOW = """
name: NAME
title: Permit received
department: DEPARTMENT
inputs:
  permit_id: {type: string, pattern: "^P-[0-9]+$"}
  applicant: {type: string, default: unknown}
triggers:
  webhook:
    secret: PORTAL_HOOK
    inputs:
      permit_id: body.permit.id
      applicant: body.permit.applicant.name
steps:
  - id: log
    action: notification
    with: {channel: log, message: "Permit {{ inputs.permit_id }}"}
"""
GOOD = json.dumps({"permit": {"id": "P-12", "applicant": {"name": "Ada"}}}).encode()


@pytest.fixture
def hook_secret(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("GOVFLOW_SECRET_PORTAL_HOOK", SECRET)
    return SECRET


async def _install(api: ApiHarness, name: str | None = None) -> tuple[str, uuid.UUID]:
    await lowercase_departments(api)
    name = name or f"permit-{uuid.uuid4().hex[:8]}"
    text = WORKFLOW.replace("NAME", name).replace("DEPARTMENT", department_code("A"))
    spec = validate_workflow(text, "permit.yaml", api.services.actions.inputs())
    async with api.services.db.pool.acquire() as conn:
        saved = await PgWorkflowStore(conn).save(spec, text, "permit.yaml", SYSTEM)
    return name, saved.workflow_id


async def _deliver(
    api: ApiHarness,
    name: str,
    payload: bytes = GOOD,
    delivery: str = "d-1",
    *,
    secret: str = SECRET,
    when: datetime | None = None,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    sent = signed_headers(secret, delivery, payload, when or datetime.now(UTC))
    return await api.client.post(
        f"/webhooks/{name}", content=payload, headers={**sent, **(headers or {})}
    )


async def _executions(api: ApiHarness, workflow_id: uuid.UUID) -> list[dict[str, Any]]:
    rows = await api.services.db.pool.fetch(
        "SELECT id, inputs::text AS inputs, created_by FROM executions WHERE workflow_id = $1",
        workflow_id,
    )
    return [{**dict(r), "inputs": json.loads(r["inputs"])} for r in rows]


def _fields(response: httpx.Response) -> list[str]:
    return [item["field"] for item in body(response)["errors"]]


async def test_a_good_delivery_starts_exactly_one_execution(
    hook_secret: str, api: ApiHarness, queue: object
) -> None:
    name, workflow_id = await _install(api)
    response = await _deliver(api, name)
    assert response.status_code == 201, response.text
    data = body(response)["data"]
    assert data["delivery_id"] == "d-1"
    executions = await _executions(api, workflow_id)
    assert [(e["id"], e["inputs"], e["created_by"]) for e in executions] == [
        (uuid.UUID(data["execution_id"]), {"permit_id": "P-12", "applicant": "Ada"}, None)
    ]
    assert "WEBHOOK_DELIVERY_ACCEPTED" in await api.audit_actions()


async def test_a_replayed_delivery_id_starts_nothing_more(
    hook_secret: str, api: ApiHarness, queue: object
) -> None:
    name, workflow_id = await _install(api)
    assert (await _deliver(api, name)).status_code == 201
    again = await _deliver(api, name)
    assert again.status_code == 409
    assert body(again)["code"] == "WEBHOOK_DELIVERY_REPLAYED"
    other_body = await _deliver(api, name, json.dumps({"permit": {"id": "P-13"}}).encode())
    assert other_body.status_code == 409
    assert len(await _executions(api, workflow_id)) == 1
    assert (await api.audit_actions()).count("WEBHOOK_DELIVERY_REFUSED") == 2


async def test_the_same_delivery_sent_many_times_at_once_starts_one_execution(
    hook_secret: str, api: ApiHarness, queue: object
) -> None:
    name, workflow_id = await _install(api)
    answers = await asyncio.gather(*(_deliver(api, name, delivery="burst") for _ in range(8)))
    assert sorted(a.status_code for a in answers) == [201] + [409] * 7
    assert len(await _executions(api, workflow_id)) == 1


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"secret": "not-the-secret"}, "header.X-GovFlow-Signature"),
        ({"headers": {"X-GovFlow-Signature": "sha256=" + "0" * 64}}, "header.X-GovFlow-Signature"),
        ({"headers": {"X-GovFlow-Signature": "bogus"}}, "header.X-GovFlow-Signature"),
        ({"headers": {"X-GovFlow-Delivery": "d-2"}}, "header.X-GovFlow-Signature"),
        ({"headers": {"X-GovFlow-Delivery": "bad id!"}}, "header.X-GovFlow-Delivery"),
        ({"when": datetime.now(UTC) - timedelta(minutes=10)}, "header.X-GovFlow-Timestamp"),
        ({"headers": {"X-GovFlow-Timestamp": "1e9"}}, "header.X-GovFlow-Timestamp"),
    ],
)
async def test_a_delivery_not_signed_right_is_refused_with_401(
    hook_secret: str, api: ApiHarness, queue: object, change: dict[str, Any], field: str
) -> None:
    name, workflow_id = await _install(api)
    response = await _deliver(api, name, **change)
    assert response.status_code == 401, response.text
    assert body(response)["code"] == "WEBHOOK_SIGNATURE_INVALID"
    assert _fields(response) == [field]
    assert await _executions(api, workflow_id) == []
    assert "WEBHOOK_DELIVERY_REFUSED" not in await api.audit_actions()


async def test_a_tampered_body_is_refused(hook_secret: str, api: ApiHarness, queue: object) -> None:
    name, workflow_id = await _install(api)
    sent = signed_headers(SECRET, "d-1", GOOD, datetime.now(UTC))
    tampered = GOOD.replace(b"P-12", b"P-99")
    response = await api.client.post(f"/webhooks/{name}", content=tampered, headers=sent)
    assert response.status_code == 401
    assert await _executions(api, workflow_id) == []


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        (json.dumps({"permit": {"id": "nope"}}).encode(), "inputs.permit_id"),
        (json.dumps({"permit": {"applicant": {"name": "Ada"}}}).encode(), "inputs.permit_id"),
        (json.dumps({"permit": {"id": 12}}).encode(), "inputs.permit_id"),
        (json.dumps({"permit": {"id": "P-1", "applicant": {"name": 7}}}).encode(),
         "inputs.applicant"),
        (b"[1, 2, 3]", "inputs.permit_id"),
    ],
)  # fmt: skip
async def test_a_body_that_does_not_fit_the_inputs_names_the_input_and_creates_nothing(
    hook_secret: str, api: ApiHarness, queue: object, payload: bytes, field: str
) -> None:
    name, workflow_id = await _install(api)
    response = await _deliver(api, name, payload)
    assert response.status_code == 400, response.text
    assert field in _fields(response)
    assert await _executions(api, workflow_id) == []
    assert "WEBHOOK_DELIVERY_REFUSED" in await api.audit_actions()
    # The id was not used up: the corrected delivery goes through.
    assert (await _deliver(api, name)).status_code == 201


@pytest.mark.parametrize(
    "payload",
    [
        b"{not json",
        b"\xff\xfe",
        b"[" * 5000 + b"]" * 5000,
        b'{"permit": {"id": "P-1"}, "x": "' + b"a" * 70_000 + b'"}',
        b"",
    ],
)
async def test_hostile_bodies_never_get_a_500(
    hook_secret: str, api: ApiHarness, queue: object, payload: bytes
) -> None:
    name, workflow_id = await _install(api)
    response = await _deliver(api, name, payload)
    assert 400 <= response.status_code < 500, response.text
    assert body(response)["errors"]
    assert await _executions(api, workflow_id) == []


async def test_hostile_headers_and_names_never_get_a_500(
    hook_secret: str, api: ApiHarness, queue: object
) -> None:
    name, _ = await _install(api)
    hostile: tuple[dict[str, str | bytes], ...] = (
        {},
        {"X-GovFlow-Delivery": "x" * 5000},
        {"X-GovFlow-Timestamp": "9" * 400},
        {"X-GovFlow-Signature": ("sha256=" + "é" * 64).encode("latin-1")},
    )
    for headers in hostile:
        response = await api.client.post(f"/webhooks/{name}", content=GOOD, headers=headers)
        assert response.status_code == 401, response.text
    for path in ("/webhooks/no-such-workflow", "/webhooks/UPPER", "/webhooks/" + "a" * 300):
        response = await _deliver(api, path.rsplit("/", 1)[1])
        assert response.status_code in (400, 404), response.text


async def test_a_workflow_without_a_webhook_is_not_found(api: ApiHarness, queue: object) -> None:
    from tests.integration.api.workflow_support import install_hello

    hello_id = await install_hello(api, "A", name="plain-hello")
    response = await _deliver(api, "plain-hello")
    assert response.status_code == 404
    assert await _executions(api, hello_id) == []


async def test_an_unset_secret_refuses_every_delivery_with_503(
    api: ApiHarness, queue: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("GOVFLOW_SECRET_PORTAL_HOOK", raising=False)
    name, workflow_id = await _install(api)
    response = await _deliver(api, name)
    assert response.status_code == 503
    assert body(response)["code"] == "WEBHOOK_SECRET_UNSET"
    assert await _executions(api, workflow_id) == []


async def test_the_triggers_endpoint_shows_the_webhook_and_its_deliveries(
    hook_secret: str, api: ApiHarness, queue: object
) -> None:
    name, workflow_id = await _install(api)
    assert (await _deliver(api, name, delivery="first")).status_code == 201
    assert (await _deliver(api, name, delivery="first")).status_code == 409
    response = await api.client.get(
        f"/workflows/{workflow_id}/triggers", headers=api.headers("MANAGER")
    )
    assert response.status_code == 200, response.text
    data = body(response)["data"]
    assert data["schedule"] is None
    assert data["webhook"]["url_path"] == f"/webhooks/{name}"
    assert data["webhook"]["secret"] == "PORTAL_HOOK"
    assert data["webhook"]["secret_configured"] is True
    assert SECRET not in response.text
    assert [(e["action"], e["delivery"]) for e in data["recent"]] == [
        ("WEBHOOK_DELIVERY_REFUSED", "first"),
        ("WEBHOOK_DELIVERY_ACCEPTED", "first"),
    ]
    other = await api.client.get(
        f"/workflows/{workflow_id}/triggers", headers=api.headers("MANAGER", "B")
    )
    assert other.status_code == 404
    operator = await api.client.get(
        f"/workflows/{workflow_id}/triggers", headers=api.headers("OPERATOR")
    )
    assert operator.status_code == 403
