"""The OpenAPI document lists ``Idempotency-Key`` on every route that honours it, with the
constraints the server checks, and on no other route."""

from __future__ import annotations

import re
from typing import Any

from govflow.http.idempotency import is_idempotent
from govflow.http.openapi_contract import IDEMPOTENCY_KEY_PATTERN
from tests.integration.api.conftest import ApiHarness
from tests.integration.api.routes import route_cases

OWN_KEY = ("post", "/workflows/{workflow}/executions")
"""Starting an execution keeps its own key (shared with the CLI), declared by the route."""


def _key_header(operation: dict[str, Any]) -> dict[str, Any] | None:
    return next(
        (
            p
            for p in operation.get("parameters", [])
            if p["in"] == "header" and p["name"].lower() == "idempotency-key"
        ),
        None,
    )


async def test_every_idempotent_route_lists_the_header(api: ApiHarness) -> None:
    document = (await api.client.get("/schema/openapi.json")).json()
    honouring = {
        (case.method.lower(), case.doc_path)
        for case in route_cases()
        if is_idempotent(case.handler)
    }
    assert ("post", "/departments") in honouring
    listed = set()
    for path, item in document["paths"].items():
        for method, operation in item.items():
            header = _key_header(operation)
            if header is None:
                continue
            listed.add((method, path))
            assert header["required"] is False
            if (method, path) == OWN_KEY:
                assert header["schema"]["maxLength"] == 200
                continue
            assert header["schema"] == {
                "type": "string",
                "minLength": 1,
                "maxLength": 200,
                "pattern": IDEMPOTENCY_KEY_PATTERN,
            }
            assert "422" in operation["responses"]
            assert "409" in operation["responses"]
            assert "Idempotent-Replayed" in header["description"]
    assert listed == {*honouring, OWN_KEY}


async def test_a_key_outside_the_documented_constraints_is_a_400(api: ApiHarness) -> None:
    for key in ("has space", "x" * 201, "tab\there"):
        response = await api.client.post(
            "/departments",
            json={"code": "IDEM_DOC", "name": "Department"},
            headers={**api.headers("ADMIN"), "Idempotency-Key": key},
        )
        assert response.status_code == 400, response.text
        assert response.json()["errors"][0]["field"] == "header.idempotency_key"
        assert re.fullmatch(IDEMPOTENCY_KEY_PATTERN, key) is None
    fits = "a" * 200
    assert re.fullmatch(IDEMPOTENCY_KEY_PATTERN, fits)
    response = await api.client.post(
        "/departments",
        json={"code": "IDEM_DOC", "name": "Department"},
        headers={**api.headers("ADMIN"), "Idempotency-Key": fits},
    )
    assert response.status_code == 201, response.text
