"""Malformed input is a 400 naming the field, never a 500 with a traceback in the log.

NUL characters (PostgreSQL text refuses them) and unpaired surrogates in any string of a body,
query, path or workflow file; JSON nested too deep; bodies that are not UTF-8; datetimes and
booleans given as numbers. Unauthenticated routes included.
"""

from __future__ import annotations

import uuid
from typing import Any

import structlog

from govflow.http.decoding import MAX_JSON_DEPTH
from tests.integration.api.conftest import PASSWORD, ApiHarness
from tests.integration.api.workflow_support import hello_yaml, lowercase_departments, unique_name

NUL = "a\x00b"
JSON = {"content-type": "application/json"}
YAML = {"content-type": "application/x-yaml"}


def _no_errors_logged(logs: list[dict[str, Any]]) -> list[str]:
    return [
        str(entry.get("event"))
        for entry in logs
        if entry.get("log_level") in ("error", "critical") or "exc_info" in entry
    ]


def _body_cases(api: ApiHarness) -> list[tuple[str, str, str, Any, str]]:
    """(role or '' for anonymous, method, url, JSON body, the field the 400 must name)."""
    operator = api.user("OPERATOR")
    department = api.departments["A"]
    some = uuid.uuid4()
    user = {"email": "new@example.org", "full_name": "New", "password": PASSWORD}
    audit = {"action": "MANUAL_NOTE", "entity_type": "t", "entity_id": "1", "reason": "abcd"}
    executions = f"/workflow-executions/{some}"
    return [
        ("", "POST", "/auth/login", {"email": "a\x00@b.org", "password": "x"}, "body.email"),
        ("", "POST", "/auth/login", {"email": "a@b.org", "password": NUL}, "body.password"),
        ("", "POST", "/auth/refresh", {"refresh_token": NUL}, "body.refresh_token"),
        ("", "POST", "/auth/password-reset/request", {"email": f"{NUL}@b.org"}, "body.email"),
        (
            "",
            "POST",
            "/auth/password-reset/confirm",
            {"token": NUL, "new_password": PASSWORD},
            "body.token",
        ),
        (
            "",
            "POST",
            "/auth/password-reset/confirm",
            {"token": "t", "new_password": PASSWORD + NUL},
            "body.new_password",
        ),
        (
            "OPERATOR",
            "POST",
            "/auth/password/change",
            {"current_password": NUL, "new_password": PASSWORD},
            "body.current_password",
        ),
        ("ADMIN", "POST", "/users", {**user, "email": f"{NUL}@b.org"}, "body.email"),
        ("ADMIN", "POST", "/users", {**user, "full_name": NUL}, "body.full_name"),
        ("ADMIN", "POST", "/users", {**user, "password": PASSWORD + NUL}, "body.password"),
        ("ADMIN", "PATCH", f"/users/{operator.id}", {"full_name": NUL}, "body.full_name"),
        ("ADMIN", "POST", "/departments", {"code": NUL, "name": "n"}, "body.code"),
        ("ADMIN", "POST", "/departments", {"code": "NEW", "name": NUL}, "body.name"),
        (
            "ADMIN",
            "POST",
            "/departments",
            {"code": "NEW", "name": "n", "description": NUL},
            "body.description",
        ),
        ("ADMIN", "PATCH", f"/departments/{department}", {"name": NUL}, "body.name"),
        ("ADMIN", "POST", "/audit-logs", {**audit, "action": NUL}, "body.action"),
        ("ADMIN", "POST", "/audit-logs", {**audit, "entity_type": NUL}, "body.entity_type"),
        ("ADMIN", "POST", "/audit-logs", {**audit, "entity_id": NUL}, "body.entity_id"),
        ("ADMIN", "POST", "/audit-logs", {**audit, "reason": f"abc{NUL}"}, "body.reason"),
        (
            "ADMIN",
            "POST",
            "/audit-logs",
            {**audit, "metadata": {"note": ["ok", NUL]}},
            "body.metadata.note[1]",
        ),
        ("ADMIN", "POST", "/audit-logs", {**audit, "metadata": {NUL: 1}}, "body.metadata"),
        (
            "OPERATOR",
            "POST",
            f"/workflows/{some}/executions",
            {"inputs": {"who": NUL}},
            "body.inputs.who",
        ),
        (
            "OPERATOR",
            "POST",
            f"/workflows/{some}/executions",
            {"inputs": {NUL: "x"}},
            "body.inputs",
        ),
        ("MANAGER", "POST", f"{executions}/cancel", {"reason": NUL}, "body.reason"),
        ("MANAGER", "POST", f"{executions}/retry", {"reason": NUL}, "body.reason"),
        (
            "MANAGER",
            "POST",
            f"{executions}/steps/greet/resolve",
            {"action": "skip", "reason": NUL},
            "body.reason",
        ),
        (
            "MANAGER",
            "POST",
            f"{executions}/steps/greet/resolve",
            {"action": "mark_done", "reason": "done", "output": {"x": [{"y": NUL}]}},
            "body.output.x[0].y",
        ),
        ("MANAGER", "POST", "/workflows", {"source": f"name: {NUL}"}, "body.source"),
        ("MANAGER", "POST", "/workflows", {"source": "x", "filename": NUL}, "body.filename"),
        ("MANAGER", "POST", "/workflows/validate", {"source": f"title: {NUL}"}, "body.source"),
        ("MANAGER", "POST", f"/workflows/{some}/activate", {"reason": NUL}, "body.reason"),
        ("MANAGER", "POST", f"/workflows/{some}/deactivate", {"reason": NUL}, "body.reason"),
    ]


async def test_nul_in_any_body_string_is_a_400_naming_the_field(api: ApiHarness) -> None:
    before = {table: await api.count(table) for table in ("users", "departments", "audit_logs")}
    failures = []
    with structlog.testing.capture_logs() as logs:
        for role, method, url, body, field in _body_cases(api):
            headers = api.headers(role) if role else {}
            response = await api.client.request(method, url, json=body, headers=headers)
            payload = response.json()
            fields = [error["field"] for error in payload.get("errors", [])]
            if response.status_code != 400 or payload.get("code") != "VALIDATION_FAILED":
                failures.append(f"{method} {url} {field}: {response.status_code} {payload}")
            elif fields != [field]:
                failures.append(f"{method} {url}: named {fields}, expected {field}")
    assert not failures, "\n".join(failures)
    assert not _no_errors_logged(logs)
    for table, count in before.items():
        assert await api.count(table) == count, table


async def test_nul_in_query_and_path_parameters(api: ApiHarness) -> None:
    cases = [
        ("ADMIN", "/audit-logs?action=a%00b", "query.action"),
        ("ADMIN", "/audit-logs?entity_type=a%00b", "query.entity_type"),
        ("ADMIN", "/audit-logs?entity_id=a%00b", "query.entity_id"),
        ("MANAGER", "/workflows?name=a%00b", "query.name"),
        ("MANAGER", "/workflow-executions?workflow=a%00b", "query.workflow"),
        ("ADMIN", "/users?x%00y=1", "query"),
        ("OPERATOR", "/actions/a%00b", "path.name"),
    ]
    with structlog.testing.capture_logs() as logs:
        for role, url, field in cases:
            response = await api.client.get(url, headers=api.headers(role))
            assert response.status_code == 400, (url, response.text)
            assert [e["field"] for e in response.json()["errors"]] == [field], url
        resolve = f"/workflow-executions/{uuid.uuid4()}/steps/a%00b/resolve"
        response = await api.client.post(
            resolve, json={"action": "skip", "reason": "r"}, headers=api.headers("MANAGER")
        )
        assert response.status_code == 400, response.text
        assert response.json()["errors"][0]["field"] == "path.step_key"
    assert not _no_errors_logged(logs)


async def test_unpaired_surrogates_are_refused(api: ApiHarness) -> None:
    raw = b'{"email": "\\ud800@example.org", "password": "x"}'
    response = await api.client.post("/auth/login", content=raw, headers=JSON)
    assert response.status_code == 400, response.text
    assert response.json()["errors"][0]["field"] == "body"
    name = hello_yaml(unique_name()).replace("title: Hello", 'description: "\\ud800"\ntitle: x', 1)
    response = await api.client.post(
        "/workflows/validate", content=name.encode(), headers={**api.headers("MANAGER"), **YAML}
    )
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["line"] == 2
    paired = b'{"email": "\\ud83d\\ude00@example.org", "password": "x"}'
    assert (await api.client.post("/auth/login", content=paired, headers=JSON)).status_code == 401


async def test_deeply_nested_json_is_a_400(api: ApiHarness) -> None:
    admin = {**api.headers("ADMIN"), **JSON}
    with structlog.testing.capture_logs() as logs:
        for url, headers in (("/auth/login", JSON), ("/auth/refresh", JSON), ("/users", admin)):
            response = await api.client.post(
                url, content=b"[" * 1000 + b"]" * 1000, headers=headers
            )
            assert response.status_code == 400, (url, response.text)
            assert response.json()["errors"][0]["field"] == "body"
        metadata = b'{"a":' * 5000 + b"1" + b"}" * 5000
        raw = b'{"action":"MANUAL_NOTE","entity_type":"t","entity_id":"1","reason":"abcd",'
        response = await api.client.post(
            "/audit-logs", content=raw + b'"metadata":' + metadata + b"}", headers=admin
        )
        assert response.status_code == 400, response.text
        assert response.json()["errors"][0]["field"].startswith("body")
    assert not _no_errors_logged(logs)


async def test_nesting_limit_is_exact(api: ApiHarness) -> None:
    """``MAX_JSON_DEPTH`` levels pass, one more is refused at the path where it happens."""
    admin = api.headers("ADMIN")
    audit = {"action": "MANUAL_NOTE", "entity_type": "t", "entity_id": "1", "reason": "abcd"}

    def nested(levels: int) -> Any:
        value: Any = 1
        for _ in range(levels):
            value = [value]
        return value

    allowed = nested(MAX_JSON_DEPTH - 2)  # the body and ``metadata`` are two levels
    response = await api.client.post(
        "/audit-logs", json={**audit, "metadata": {"x": allowed}}, headers=admin
    )
    assert response.status_code == 201, response.text
    deeper = nested(MAX_JSON_DEPTH - 1)
    response = await api.client.post(
        "/audit-logs", json={**audit, "metadata": {"x": deeper}}, headers=admin
    )
    assert response.status_code == 400, response.text
    field = response.json()["errors"][0]["field"]
    assert field == "body.metadata.x" + "[0]" * (MAX_JSON_DEPTH - 2)


async def test_invalid_utf8_body_is_a_400(api: ApiHarness) -> None:
    admin = {**api.headers("ADMIN"), **JSON}
    with structlog.testing.capture_logs() as logs:
        for url, headers, raw in (
            ("/auth/login", JSON, b'{"email": "\xff\xfe@b.org", "password": "x"}'),
            ("/auth/password-reset/request", JSON, b'{"email": "a\xc3@b.org"}'),
            ("/departments", admin, b'{"code": "NEW", "name": "\xed\xa0\x80"}'),
            ("/workflows/validate", admin, b'{"source": "name: \xff"}'),
        ):
            response = await api.client.post(url, content=raw, headers=headers)
            assert response.status_code == 400, (url, response.text)
            assert response.json()["errors"] == [{"field": "body", "message": "is not valid UTF-8"}]
    assert not _no_errors_logged(logs)


async def test_nul_in_a_workflow_file_is_a_spec_problem_with_its_position(
    api: ApiHarness,
) -> None:
    await lowercase_departments(api)
    manager = api.headers("MANAGER")
    before = await api.count("workflows")
    name = unique_name()
    escaped = hello_yaml(name).replace(f"title: Hello {name}", 'title: "Hel\\0lo"', 1)
    for url in ("/workflows", "/workflows/validate"):
        response = await api.client.post(url, content=escaped.encode(), headers={**manager, **YAML})
        assert response.status_code == 422, response.text
        assert response.json()["errors"] == [
            {
                "field": "title",
                "message": "text must not contain NUL characters",
                "line": 2,
                "column": 8,
            }
        ]
    key = hello_yaml(unique_name()).replace("  who:", '  "w\\0ho":', 1)
    response = await api.client.post(
        "/workflows/validate", content=key.encode(), headers={**manager, **YAML}
    )
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["field"] == "inputs.w\x00ho"
    assert response.json()["errors"][0]["line"] == 5
    raw = hello_yaml(unique_name()).replace("title: Hello", "title: Hel\x00lo", 1)
    response = await api.client.post(
        "/workflows/validate", content=raw.encode(), headers={**manager, **YAML}
    )
    assert response.status_code == 422, response.text
    problem = response.json()["errors"][0]
    assert (problem["line"], problem["column"]) == (2, 11)
    assert "#x0000" in problem["message"]
    assert await api.count("workflows") == before


async def test_query_datetimes_and_booleans_are_not_coerced_from_numbers(
    api: ApiHarness,
) -> None:
    admin = api.headers("ADMIN")
    refused = [
        ("/workflow-executions?created_from=123", "query.created_from"),
        ("/workflow-executions?created_to=1700000000.5", "query.created_to"),
        ("/audit-logs?from=123", "query.from"),
        ("/audit-logs?to=0", "query.to"),
        ("/users?is_active=1", "query.is_active"),
        ("/users?is_active=0", "query.is_active"),
        ("/users?is_active=yes", "query.is_active"),
        ("/workflows?active=1", "query.active"),
    ]
    for url, field in refused:
        response = await api.client.get(url, headers=admin)
        assert response.status_code == 400, (url, response.text)
        assert [e["field"] for e in response.json()["errors"]] == [field], url
    for url in (
        "/workflow-executions?created_from=2026-01-31T12:00:00Z",
        "/audit-logs?from=2026-01-31T12:00:00%2B01:00",
        "/users?is_active=true",
        "/workflows?active=false",
    ):
        response = await api.client.get(url, headers=admin)
        assert response.status_code == 200, (url, response.text)
