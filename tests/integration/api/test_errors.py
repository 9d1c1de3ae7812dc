"""Bad input never causes a 500, errors name the field, headers are always there."""

from __future__ import annotations

import httpx
import pytest
from litestar import get

from govflow.http.app import create_app
from govflow.http.policy import public
from govflow.settings import Settings
from tests.integration.api.conftest import ApiHarness, running
from tests.integration.api.routes import route_cases


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"email": "a@b.org"}, "body.password"),
        ({"email": 5, "password": "x"}, "body.email"),
        ({"email": "not-an-email", "password": "x"}, "body.email"),
        ({"email": "a@b.org", "password": "x" * 5000}, "body.password"),
        ([1, 2], "body"),
        ("null", "body"),
    ],
)
async def test_login_bad_input_names_the_field(api: ApiHarness, body: object, field: str) -> None:
    response = await api.client.post("/auth/login", json=body)
    assert response.status_code == 400, response.text
    payload = response.json()
    assert payload["success"] is False
    assert payload["code"] == "VALIDATION_FAILED"
    assert payload["errors"][0]["field"] == field


async def test_malformed_json(api: ApiHarness) -> None:
    response = await api.client.post(
        "/auth/login", content=b"{nope", headers={"content-type": "application/json"}
    )
    assert response.status_code == 400
    assert response.json()["errors"] == [{"field": "body", "message": "malformed JSON"}]


async def test_query_and_path_validation(api: ApiHarness) -> None:
    admin = api.headers("ADMIN")
    for params, field in (
        ({"page": 0}, "query.page"),
        ({"limit": 1000}, "query.limit"),
        ({"page": "abc"}, "query.page"),
        ({"role": "KING"}, "query.role"),
        ({"department_id": "nope"}, "query.department_id"),
    ):
        response = await api.client.get("/users", params=params, headers=admin)
        assert response.status_code == 400, (params, response.text)
        assert response.json()["errors"][0]["field"] == field
    bad_id = await api.client.get("/users/not-a-uuid", headers=admin)
    assert bad_id.status_code == 404
    assert bad_id.json()["code"] == "NOT_FOUND"


async def test_oversized_body_is_413_and_nothing_is_written(api: ApiHarness) -> None:
    before = await api.count("departments")
    big = "x" * (api.settings.max_request_body_bytes + 10)
    response = await api.client.post(
        "/departments", json={"code": "BIG", "name": big}, headers=api.headers("ADMIN")
    )
    assert response.status_code == 413
    assert response.json()["code"] == "PAYLOAD_TOO_LARGE"
    assert await api.count("departments") == before


async def test_unknown_route_and_method(api: ApiHarness) -> None:
    missing = await api.client.get("/nowhere")
    assert missing.status_code == 404
    assert missing.json()["code"] == "NOT_FOUND"
    assert missing.headers["x-request-id"]
    wrong = await api.client.put("/auth/login", json={})
    assert wrong.status_code == 405
    assert wrong.json()["code"] == "METHOD_NOT_ALLOWED"


async def test_security_headers_and_request_id(api: ApiHarness) -> None:
    response = await api.client.get("/health", headers={"X-Request-ID": "abc-12345678"})
    assert response.headers["x-request-id"] == "abc-12345678"
    assert response.headers["content-security-policy"].startswith("default-src 'none'")
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["referrer-policy"] == "no-referrer"
    assert response.headers["cross-origin-opener-policy"] == "same-origin"
    assert response.headers["cross-origin-resource-policy"] == "same-origin"
    assert "strict-transport-security" not in response.headers
    weird = await api.client.get("/health", headers={"X-Request-ID": "bad id\twith spaces"})
    assert weird.headers["x-request-id"] != "bad id\twith spaces"


async def test_cors_allowlist(settings: Settings, services: object) -> None:
    allowed = "https://portal.example.org"
    app = create_app(settings.model_copy(update={"cors_origins": [allowed]}), services)  # type: ignore[arg-type]
    async with running(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            preflight = {"Access-Control-Request-Method": "POST"}
            ok = await client.options("/auth/login", headers={"Origin": allowed, **preflight})
            assert ok.headers.get("access-control-allow-origin") == allowed
            bad = await client.options(
                "/auth/login", headers={"Origin": "https://evil.example", **preflight}
            )
            assert bad.headers.get("access-control-allow-origin") != "https://evil.example"


async def test_unexpected_errors_leak_nothing(settings: Settings, services: object) -> None:
    from govflow.http import app as app_module

    @get("/boom", operation_id="boom", **public())
    async def boom() -> None:
        raise RuntimeError("secret database detail")

    original = list(app_module.ROUTE_HANDLERS)
    app_module.ROUTE_HANDLERS.append(boom)
    try:
        app = create_app(settings, services)  # type: ignore[arg-type]
    finally:
        app_module.ROUTE_HANDLERS[:] = original
    async with running(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            response = await client.get("/boom")
    assert response.status_code == 500
    assert response.json() == {
        "success": False,
        "message": "Internal server error",
        "code": "INTERNAL",
        "errors": [],
    }


async def test_metrics_and_schema_are_served(api: ApiHarness) -> None:
    await api.client.get("/health")
    metrics = await api.client.get("/metrics")
    assert metrics.status_code == 200
    assert "govflow_requests_total" in metrics.text
    assert "/users/{user_id" not in metrics.text or "path=" in metrics.text
    schema = await api.client.get("/schema/openapi.json")
    assert schema.status_code == 200
    document = schema.json()
    assert document["components"]["securitySchemes"]["BearerAuth"]["scheme"] == "bearer"
    assert document["paths"]["/users"]["get"]["security"] == [{"BearerAuth": []}]
    assert document["paths"]["/auth/login"]["post"].get("security", []) == []


async def test_options_answers_the_full_allow_set(api: ApiHarness) -> None:
    """Every path's OPTIONS names every method the path serves, as its 405 does."""
    methods: dict[str, set[str]] = {}
    for case in route_cases(api.app):
        url = case.url(dict.fromkeys(case.params, "00000000-0000-0000-0000-000000000001"))
        url = url.replace("/versions/00000000-0000-0000-0000-000000000001", "/versions/1")
        methods.setdefault(url, set()).add(case.method)
    for url, served in methods.items():
        response = await api.client.options(url)
        assert response.status_code == 204, (url, response.text)
        allowed = {method.strip() for method in response.headers["allow"].split(",")}
        assert allowed == served | {"OPTIONS"}, url
    for url in ("/users", "/users/00000000-0000-0000-0000-000000000001"):
        options = await api.client.options(url)
        wrong = await api.client.put(url, headers=api.headers("ADMIN"))
        assert wrong.status_code == 405
        assert set(options.headers["allow"].split(", ")) == set(wrong.headers["allow"].split(", "))


async def test_openapi_states_what_the_code_enforces(api: ApiHarness) -> None:
    document = (await api.client.get("/schema/openapi.json")).json()
    paths, schemas = document["paths"], document["components"]["schemas"]
    for path in ("/auth/login", "/auth/refresh", "/auth/password-reset/confirm"):
        assert "401" in paths[path]["post"]["responses"], path
    for name in ("LoginIn", "UserCreateIn", "DepartmentUpdateIn", "StartIn", "ResolveIn"):
        assert schemas[name]["additionalProperties"] is False, name
    assert "additionalProperties" not in schemas["ErrorBody"]
    for path in ("/users", "/departments", "/audit-logs", "/workflows", "/workflow-executions"):
        query = {p["name"]: p["schema"] for p in paths[path]["get"]["parameters"]}
        assert (query["page"]["minimum"], query["page"]["maximum"]) == (1, 1_000_000), path
        assert (query["limit"]["minimum"], query["limit"]["maximum"]) == (1, 100), path
    activate = paths["/workflows/{workflow_id}/activate"]["post"]["requestBody"]
    assert activate["required"] is False
    assert paths["/workflow-executions/{execution_id}/cancel"]["post"]["requestBody"]["required"]
    for path in ("/workflows", "/workflows/validate"):
        operation = paths[path]["post"]
        body = operation["requestBody"]
        assert body["required"] is True
        file_form, workflow = body["content"]["application/json"]["schema"]["anyOf"]
        assert file_form["required"] == ["source"]
        assert workflow["type"] == "object"
        assert body["content"]["application/x-yaml"]["schema"]["type"] == "string"
        assert "filename" in {p["name"] for p in operation["parameters"]}
    admin = api.headers("ADMIN")
    assert (await api.client.get("/users?page=1000000&limit=100", headers=admin)).status_code == 200
    for params in ("page=1000001", "page=0", "limit=101", "limit=0"):
        response = await api.client.get(f"/users?{params}", headers=admin)
        assert response.status_code == 400, params


async def test_unknown_query_parameters_are_refused(api: ApiHarness) -> None:
    admin = api.headers("ADMIN")
    response = await api.client.get("/users?departmentId=x", headers=admin)
    assert response.status_code == 400
    assert response.json()["errors"] == [
        {"field": "query.departmentId", "message": "unknown query parameter"}
    ]
    response = await api.client.get("/audit-logs?from=2026-01-01T00:00:00Z", headers=admin)
    assert response.status_code == 200, response.text
    manager = {**api.headers("MANAGER"), "content-type": "application/x-yaml"}
    response = await api.client.post(
        "/workflows/validate?filename=x.yaml", content=b"name: x\n", headers=manager
    )
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["field"] != "query.filename"
