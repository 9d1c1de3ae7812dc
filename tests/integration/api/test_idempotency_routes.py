"""``Idempotency-Key`` on the creating routes (``govflow/http/idempotency.py``), in process.

The replay is the first answer byte for byte; another request under the key is a 422 and a
refused request frees its key; keys belong to their caller and their route; every creating
route opts in. The real server's behaviour (replays, concurrent duplicates) is in
``test_idempotency_server.py``.
"""

from __future__ import annotations

import uuid

import pytest

from govflow.http.idempotency import fingerprint, is_idempotent
from tests.integration.api.conftest import ApiHarness
from tests.integration.api.routes import route_cases

OWN_KEYS = {"POST /workflows/{workflow}/executions"}
"""Routes whose resource keeps its own key (an execution's, shared with the CLI)."""


def _keyed(api: ApiHarness, key: str, role: str = "ADMIN") -> dict[str, str]:
    return {**api.headers(role), "Idempotency-Key": key}


def _department(code: str) -> dict[str, str]:
    return {"code": code, "name": f"Department {code}"}


def test_every_creating_route_honours_the_key() -> None:
    creating = [
        case
        for case in route_cases()
        if case.method == "POST"
        and case.handler.status_code == 201
        and case.policy is not None
        and not case.policy.public
    ]
    assert creating, "no creating routes found"
    missing = [
        str(case)
        for case in creating
        if not is_idempotent(case.handler) and str(case) not in OWN_KEYS
    ]
    assert not missing, f"creating routes without Idempotency-Key: {missing}"


def test_fingerprint_compares_json_by_value() -> None:
    one = fingerprint("POST", "/departments", b"", b'{"code": "X", "name": "Y"}')
    same = fingerprint("POST", "/departments", b"", b'{"name":"Y","code":"X"}')
    other = fingerprint("POST", "/departments", b"", b'{"name":"Z","code":"X"}')
    elsewhere = fingerprint("POST", "/users", b"", b'{"code": "X", "name": "Y"}')
    assert one == same
    assert len({one, other, elsewhere}) == 3


async def test_the_same_request_again_replays_the_first_answer(api: ApiHarness) -> None:
    headers = _keyed(api, "dept-1")
    first = await api.client.post("/departments", json=_department("IDEM_1"), headers=headers)
    assert first.status_code == 201, first.text
    assert "idempotent-replayed" not in first.headers
    again = await api.client.post(
        "/departments",
        content=b'{"name": "Department IDEM_1", "code": "IDEM_1"}',
        headers={**headers, "Content-Type": "application/json"},
    )
    assert again.status_code == 201, again.text
    assert again.headers["idempotent-replayed"] == "true"
    assert again.content == first.content
    assert await api.count("departments WHERE code = 'idem_1'") == 1
    actions = await api.audit_actions()
    assert actions.count("DEPARTMENT_CREATED") == 1


async def test_another_body_under_the_key_is_422_naming_the_key(api: ApiHarness) -> None:
    headers = _keyed(api, "dept-2")
    first = await api.client.post("/departments", json=_department("IDEM_2"), headers=headers)
    assert first.status_code == 201, first.text
    other = await api.client.post("/departments", json=_department("IDEM_3"), headers=headers)
    assert other.status_code == 422, other.text
    body = other.json()
    assert body["code"] == "IDEMPOTENCY_KEY_REUSED"
    assert [item["field"] for item in body["errors"]] == ["header.idempotency_key"]
    assert "Idempotency-Key" in body["message"]
    assert await api.count("departments WHERE code = 'idem_3'") == 0


async def test_a_refused_request_frees_its_key(api: ApiHarness) -> None:
    headers = _keyed(api, "dept-4")
    taken = api.departments["A"]
    code = await api.services.db.pool.fetchval("SELECT code FROM departments WHERE id = $1", taken)
    clash = await api.client.post("/departments", json=_department(code), headers=headers)
    assert clash.status_code == 409, clash.text
    corrected = await api.client.post("/departments", json=_department("IDEM_4"), headers=headers)
    assert corrected.status_code == 201, corrected.text
    assert "idempotent-replayed" not in corrected.headers


async def test_keys_belong_to_their_caller_and_route(api: ApiHarness) -> None:
    first_admin = _keyed(api, "shared-key", "ADMIN")
    other_admin = {**(await api.add_user("ADMIN", "A")).headers, "Idempotency-Key": "shared-key"}
    one = await api.client.post("/departments", json=_department("IDEM_5"), headers=first_admin)
    two = await api.client.post("/departments", json=_department("IDEM_6"), headers=other_admin)
    assert (one.status_code, two.status_code) == (201, 201), two.text
    user = {
        "email": f"idem.{uuid.uuid4().hex[:6]}@example.org",
        "full_name": "Idem User",
        "password": "Correct-Horse-9-battery",
        "role": "OPERATOR",
    }
    created = await api.client.post("/users", json=user, headers=first_admin)
    assert created.status_code == 201, created.text
    assert "idempotent-replayed" not in created.headers


@pytest.mark.parametrize(
    "key",
    ["", "x" * 201, "with space", "tab\tkey", "caf\u00e9"],
    ids=["empty", "long", "sp", "tab", "latin1"],
)
async def test_a_malformed_key_is_400_naming_the_header(api: ApiHarness, key: str) -> None:
    response = await api.client.post(
        "/departments",
        json=_department("IDEM_7"),
        headers=[*api.headers("ADMIN").items(), ("Idempotency-Key", key.encode("latin-1"))],
    )
    assert response.status_code == 400, response.text
    assert response.json()["errors"][0]["field"] == "header.idempotency_key"
    assert await api.count("departments WHERE code = 'idem_7'") == 0


async def test_a_role_that_may_not_create_gets_403_not_a_key(api: ApiHarness) -> None:
    headers = _keyed(api, "dept-8", "OPERATOR")
    response = await api.client.post("/departments", json=_department("IDEM_8"), headers=headers)
    assert response.status_code == 403, response.text
    assert await api.count("http_idempotency_keys") == 0


async def test_expired_keys_are_purged_while_writing(api: ApiHarness) -> None:
    headers = _keyed(api, "dept-9")
    first = await api.client.post("/departments", json=_department("IDEM_9"), headers=headers)
    assert first.status_code == 201
    await api.services.db.pool.execute(
        "UPDATE http_idempotency_keys SET expires_at = now() - interval '1 second'"
    )
    # An expired key is a new key: the request runs again (and clashes with its own result).
    again = await api.client.post("/departments", json=_department("IDEM_9"), headers=headers)
    assert again.status_code == 409, again.text
    assert "idempotent-replayed" not in again.headers
    keys = api.app.state["govflow_api"].idempotency
    keys._next_purge = 0.0  # the next write purges
    fresh = await api.client.post(
        "/departments", json=_department("IDEM_10"), headers=_keyed(api, "k")
    )
    assert fresh.status_code == 201
    assert await api.count("http_idempotency_keys WHERE expires_at <= now()") == 0
