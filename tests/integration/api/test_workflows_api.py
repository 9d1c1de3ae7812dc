"""``/workflows``: upload (YAML or JSON) validated as the CLI does, versions, scoping, switches."""

from __future__ import annotations

import pytest

from tests.integration.api.conftest import ApiHarness
from tests.integration.api.workflow_support import (
    hello_yaml,
    install_hello,
    lowercase_departments,
    unique_name,
)

YAML = {"Content-Type": "application/x-yaml"}

BAD_WITH = """name: bad-one
title: Bad one
department: dept_a
steps:
  - id: first
    action: notification
    with: {channel: log, message: hi}
  - id: second
    action: notification
    with:
      channel: log
      message: ok
      colour: red
"""


@pytest.fixture(autouse=True)
async def workflow_departments(api: ApiHarness) -> None:
    await lowercase_departments(api)


async def test_upload_yaml_creates_then_unchanged_then_new_version(api: ApiHarness) -> None:
    headers = {**api.headers("MANAGER"), **YAML}
    name = unique_name()
    first = await api.client.post(
        "/workflows", content=hello_yaml(name), headers=headers, params={"filename": "h.yaml"}
    )
    assert first.status_code == 201, first.text
    data = first.json()["data"]
    assert (data["name"], data["version"], data["created"], data["outcome"]) == (
        name,
        1,
        True,
        "created",
    )
    again = await api.client.post("/workflows", content=hello_yaml(name), headers=headers)
    assert again.status_code == 200, again.text
    assert again.json()["data"]["outcome"] == "unchanged"
    changed = await api.client.post(
        "/workflows",
        json={"source": hello_yaml(name, message="Hi {{ inputs.who }}"), "filename": "h2.yaml"},
        headers=api.headers("MANAGER"),
    )
    assert changed.status_code == 201, changed.text
    assert changed.json()["data"]["version"] == 2
    workflow_id = data["workflow_id"]
    detail = (await api.client.get(f"/workflows/{workflow_id}", headers=headers)).json()["data"]
    assert [v["version"] for v in detail["versions"]] == [2, 1]
    assert detail["workflow"]["current_version"] == 2
    assert detail["steps"][0]["config"]["with"]["message"] == "Hi {{ inputs.who }}"
    old = await api.client.get(f"/workflows/{workflow_id}/versions/1", headers=headers)
    assert old.status_code == 200
    assert old.json()["data"]["source"] == hello_yaml(name)
    assert old.json()["data"]["spec"]["name"] == name
    steps = await api.client.get(f"/workflows/{workflow_id}/steps", headers=headers)
    assert [s["step_key"] for s in steps.json()["data"]] == ["greet"]
    actions = await api.audit_actions()
    assert actions.count("WORKFLOW_CREATED") == 1
    assert actions.count("WORKFLOW_VERSION_CREATED") == 2


async def test_invalid_yaml_names_the_field_line_and_column(api: ApiHarness) -> None:
    before = await api.count("workflows")
    response = await api.client.post(
        "/workflows", content=BAD_WITH, headers={**api.headers("ADMIN"), **YAML}
    )
    assert response.status_code == 422, response.text
    payload = response.json()
    assert payload["success"] is False
    assert payload["code"] == "INVALID_WORKFLOW"
    [problem] = payload["errors"]
    assert problem["field"] == "steps[1].with.colour"
    assert (problem["line"], problem["column"]) == (13, 7)
    assert "colour" in problem["message"]
    assert await api.count("workflows") == before


async def test_validate_saves_nothing(api: ApiHarness) -> None:
    headers = {**api.headers("MANAGER"), **YAML}
    good = await api.client.post("/workflows/validate", content=hello_yaml("v-1"), headers=headers)
    assert good.status_code == 200, good.text
    assert good.json()["data"]["name"] == "v-1"
    assert good.json()["data"]["steps"] == 1
    bad = await api.client.post("/workflows/validate", content="steps: [", headers=headers)
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["line"] >= 1
    assert await api.count("workflows") == 0


async def test_unknown_department_is_a_422_on_department(api: ApiHarness) -> None:
    text = hello_yaml(unique_name()).replace("dept_a", "nowhere")
    response = await api.client.post(
        "/workflows", content=text, headers={**api.headers("ADMIN"), **YAML}
    )
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["field"] == "department"


async def test_a_manager_uploads_only_for_their_department(api: ApiHarness) -> None:
    response = await api.client.post(
        "/workflows",
        content=hello_yaml(unique_name(), "B"),
        headers={**api.headers("MANAGER", "A"), **YAML},
    )
    assert response.status_code == 403, response.text
    assert response.json()["errors"][0]["field"] == "department"
    name = unique_name()
    await install_hello(api, "B", name)
    takeover = await api.client.post(
        "/workflows", content=hello_yaml(name, "A"), headers={**api.headers("MANAGER", "A"), **YAML}
    )
    assert takeover.status_code == 403
    assert takeover.json()["errors"][0]["field"] == "name"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"source": "x", "is_active": False}, "body.is_active"),
        ({"filename": "x.yaml"}, "body.source"),
        ({"source": 5}, "body.source"),
        ({"source": "x", "filename": "../etc/passwd"}, "body.filename"),
    ],
)
async def test_upload_body_is_checked(api: ApiHarness, body: object, field: str) -> None:
    response = await api.client.post("/workflows", json=body, headers=api.headers("ADMIN"))
    assert response.status_code == 400, response.text
    assert response.json()["errors"][0]["field"] == field


async def test_other_media_types_are_415(api: ApiHarness) -> None:
    response = await api.client.post(
        "/workflows",
        content=b"<xml/>",
        headers={**api.headers("ADMIN"), "Content-Type": "application/xml"},
    )
    assert response.status_code == 415


async def test_lists_filter_and_scope(api: ApiHarness) -> None:
    a = await install_hello(api, "A")
    b = await install_hello(api, "B")
    manager = api.headers("MANAGER", "A")
    listed = (await api.client.get("/workflows", headers=manager)).json()
    assert [w["id"] for w in listed["data"]] == [str(a)]
    assert listed["pagination"]["total"] == 1
    everything = (await api.client.get("/workflows", headers=api.headers("ADMIN"))).json()
    assert {w["id"] for w in everything["data"]} == {str(a), str(b)}
    only_b = await api.client.get(
        "/workflows", params={"department_id": str(api.departments["B"])}, headers=manager
    )
    assert only_b.json()["data"] == []
    assert (await api.client.get(f"/workflows/{b}", headers=manager)).status_code == 404
    assert (await api.client.get(f"/workflows/{b}/versions/1", headers=manager)).status_code == 404


async def test_activate_and_deactivate_are_audited_and_gate_starts(api: ApiHarness) -> None:
    workflow_id = await install_hello(api, "A")
    manager = api.headers("MANAGER", "A")
    off = await api.client.post(
        f"/workflows/{workflow_id}/deactivate", json={"reason": "paused"}, headers=manager
    )
    assert off.status_code == 200, off.text
    assert off.json()["data"]["workflow"]["is_active"] is False
    start = await api.client.post(
        f"/workflows/{workflow_id}/executions", json={}, headers=api.headers("OPERATOR")
    )
    assert start.status_code == 409
    inactive = await api.client.get("/workflows", params={"active": "false"}, headers=manager)
    assert [w["id"] for w in inactive.json()["data"]] == [str(workflow_id)]
    on = await api.client.post(f"/workflows/{workflow_id}/activate", headers=manager)
    assert on.status_code == 200, on.text
    assert on.json()["data"]["workflow"]["is_active"] is True
    actions = await api.audit_actions()
    assert actions.count("WORKFLOW_DEACTIVATED") == 1
    assert actions.count("WORKFLOW_ACTIVATED") == 1
