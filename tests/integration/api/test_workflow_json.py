"""Authoring through the API with JSON: ``POST /workflows`` with the workflow as a JSON object,
and ``POST /workflows/{id}/steps`` inserting a step into the current version."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
import yaml

from govflow.adapters.db.workflows import PgWorkflowStore
from govflow.core.validation import validate_workflow
from govflow.usecases.audit import SYSTEM
from tests.integration.api.conftest import ApiHarness
from tests.integration.api.workflow_support import (
    department_code,
    hello_yaml,
    install_hello,
    lowercase_departments,
    unique_name,
)

YAML = {"Content-Type": "application/x-yaml"}


@pytest.fixture(autouse=True)
async def workflow_departments(api: ApiHarness) -> None:
    await lowercase_departments(api)


def hello_document(name: str, department: str = "A") -> dict[str, Any]:
    """The workflow of :func:`hello_yaml`, as data."""
    document: dict[str, Any] = yaml.safe_load(hello_yaml(name, department))
    return document


def notify(step_id: str, message: str = "hi") -> dict[str, Any]:
    return {"id": step_id, "action": "notification", "with": {"channel": "log", "message": message}}


async def current_source(api: ApiHarness, workflow_id: object, version: int) -> str:
    response = await api.client.get(
        f"/workflows/{workflow_id}/versions/{version}", headers=api.headers("ADMIN")
    )
    assert response.status_code == 200, response.text
    source: str = response.json()["data"]["source"]
    return source


# -- POST /workflows with the workflow as JSON -----------------------------------------------


async def test_json_upload_equals_yaml_upload(api: ApiHarness) -> None:
    name = unique_name()
    manager = api.headers("MANAGER")
    by_json = await api.client.post("/workflows", json=hello_document(name), headers=manager)
    assert by_json.status_code == 201, by_json.text
    created = by_json.json()["data"]
    assert (created["name"], created["version"], created["outcome"]) == (name, 1, "created")
    by_yaml = await api.client.post(
        "/workflows", content=hello_yaml(name), headers={**manager, **YAML}
    )
    assert by_yaml.status_code == 200, by_yaml.text
    assert by_yaml.json()["data"]["outcome"] == "unchanged"
    assert by_yaml.json()["data"]["content_hash"] == created["content_hash"]
    source = await current_source(api, created["workflow_id"], 1)
    assert yaml.safe_load(source) == hello_document(name)
    assert source.startswith(f"name: {name}\ntitle: ")
    actions = await api.audit_actions()
    assert actions.count("WORKFLOW_CREATED") == 1
    assert actions.count("WORKFLOW_VERSION_CREATED") == 1


async def test_json_upload_of_a_changed_workflow_adds_a_version(api: ApiHarness) -> None:
    name = unique_name()
    headers = api.headers("ADMIN")
    first = await api.client.post("/workflows", json=hello_document(name), headers=headers)
    assert first.status_code == 201, first.text
    changed = hello_document(name)
    changed["steps"][0]["with"]["message"] = "line one\nline two"
    second = await api.client.post(
        "/workflows", json=changed, headers=headers, params={"filename": "hello.yaml"}
    )
    assert second.status_code == 201, second.text
    assert second.json()["data"]["version"] == 2
    source = await current_source(api, first.json()["data"]["workflow_id"], 2)
    assert "    message: |-\n      line one\n      line two\n" in source
    detail = await api.client.get(
        f"/workflows/{first.json()['data']['workflow_id']}", headers=headers
    )
    assert detail.json()["data"]["versions"][0]["source_path"] == "hello.yaml"


async def test_json_validate_saves_nothing(api: ApiHarness) -> None:
    checked = await api.client.post(
        "/workflows/validate", json=hello_document("v-json"), headers=api.headers("MANAGER")
    )
    assert checked.status_code == 200, checked.text
    assert checked.json()["data"]["name"] == "v-json"
    assert await api.count("workflows") == 0


def _mistakes(name: str) -> dict[str, Any]:
    document = hello_document(name)
    document["steps"] = [
        notify("first"),
        {"id": "second", "action": "notificaton"},
        {**notify("first"), "if": "steps.later.output"},
    ]
    document["colour"] = "red"
    return document


async def test_json_problems_carry_json_paths(api: ApiHarness) -> None:
    before = await api.count("workflows")
    response = await api.client.post(
        "/workflows", json=_mistakes(unique_name()), headers=api.headers("ADMIN")
    )
    assert response.status_code == 422, response.text
    payload = response.json()
    assert payload["code"] == "INVALID_WORKFLOW"
    problems = {p["field"]: p for p in payload["errors"]}
    assert set(problems) >= {
        "body.colour",
        "body.steps[1].action",
        "body.steps[2].id",
        "body.steps[2].if",
    }
    assert all((p["line"], p["column"]) == (None, None) for p in payload["errors"])
    assert "notification" in problems["body.steps[1].action"]["message"]
    assert "(first at body.steps[0].id)" in problems["body.steps[2].id"]["message"]
    assert await api.count("workflows") == before


async def test_json_unknown_department_and_other_departments(api: ApiHarness) -> None:
    document = hello_document(unique_name())
    document["department"] = "nowhere"
    unknown = await api.client.post("/workflows", json=document, headers=api.headers("ADMIN"))
    assert unknown.status_code == 422, unknown.text
    assert unknown.json()["errors"][0]["field"] == "body.department"
    foreign = await api.client.post(
        "/workflows", json=hello_document(unique_name(), "B"), headers=api.headers("MANAGER")
    )
    assert foreign.status_code == 403, foreign.text
    assert foreign.json()["errors"][0]["field"] == "body.department"


@pytest.mark.parametrize(
    ("content", "field"),
    [
        (b'{"name": "x", "name": "y"}', "body.name"),
        (b'{"name": "x", "steps": [{"id": "a", "id": "b"}]}', "body.steps[0].id"),
        (b"[1, 2]", "body"),
        (b'{"name": NaN}', "body"),
        (b'{"name": 1e999}', "body"),
        (b'{"source": "x", "name": "y"}', "body.name"),
    ],
)
async def test_json_bodies_that_are_not_a_workflow_are_400(
    api: ApiHarness, content: bytes, field: str
) -> None:
    response = await api.client.post(
        "/workflows",
        content=content,
        headers={**api.headers("ADMIN"), "Content-Type": "application/json"},
    )
    assert response.status_code == 400, response.text
    assert response.json()["errors"][0]["field"] == field


async def test_json_upload_honours_idempotency_key(api: ApiHarness) -> None:
    headers = {**api.headers("MANAGER"), "Idempotency-Key": str(uuid.uuid4())}
    document = hello_document(unique_name())
    first = await api.client.post("/workflows", json=document, headers=headers)
    again = await api.client.post("/workflows", json=document, headers=headers)
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert again.content == first.content


# -- POST /workflows/{workflow_id}/steps ------------------------------------------------------


COMMENTED = """# Hello, with comments the author wants to keep.
name: {name}
title: Hello
department: {department}
steps:
  # the greeting
  - id: greet
    action: notification
    with: {{channel: log, message: "Hello"}}
  - id: bye
    action: notification
    with:
      channel: log
      message: Bye
"""


async def _commented(api: ApiHarness) -> tuple[str, str]:
    name = unique_name()
    text = COMMENTED.format(name=name, department=department_code("A"))
    uploaded = await api.client.post(
        "/workflows",
        content=text,
        headers={**api.headers("ADMIN"), **YAML},
        params={"filename": "hello.yaml"},
    )
    assert uploaded.status_code == 201, uploaded.text
    workflow_id: str = uploaded.json()["data"]["workflow_id"]
    return workflow_id, text


@pytest.mark.parametrize(
    ("position", "order"),
    [
        (0, ["added", "greet", "bye"]),
        (1, ["greet", "added", "bye"]),
        (2, ["greet", "bye", "added"]),
        (None, ["greet", "bye", "added"]),
    ],
)
async def test_insert_a_step_makes_the_next_version(
    api: ApiHarness, position: int | None, order: list[str]
) -> None:
    workflow_id, text = await _commented(api)
    body: dict[str, Any] = {"step": notify("added", "Added")}
    if position is not None:
        body["position"] = position
    response = await api.client.post(
        f"/workflows/{workflow_id}/steps", json=body, headers=api.headers("MANAGER")
    )
    assert response.status_code == 201, response.text
    data = response.json()["data"]
    assert (data["workflow_id"], data["version"], data["outcome"]) == (
        workflow_id,
        2,
        "new version 2",
    )
    steps = await api.client.get(f"/workflows/{workflow_id}/steps", headers=api.headers("ADMIN"))
    assert [s["step_key"] for s in steps.json()["data"]] == order
    source = await current_source(api, workflow_id, 2)
    assert "- id: added\n" in source
    assert "# Hello, with comments the author wants to keep.\n" in source
    assert "  # the greeting\n" in source
    # Exactly the original lines, with the step's lines written into the list.
    lines = source.splitlines()
    at = lines.index("  - id: added")
    assert lines[at : at + 5] == [
        "  - id: added",
        "    action: notification",
        "    with:",
        "      channel: log",
        "      message: Added",
    ]
    assert lines[:at] + lines[at + 5 :] == text.splitlines()
    detail = await api.client.get(f"/workflows/{workflow_id}", headers=api.headers("ADMIN"))
    assert detail.json()["data"]["versions"][0]["source_path"] == "hello.yaml"
    actions = await api.audit_actions()
    assert actions.count("WORKFLOW_VERSION_CREATED") == 2


async def test_insert_into_a_json_upload(api: ApiHarness) -> None:
    created = await api.client.post(
        "/workflows", json=hello_document(unique_name()), headers=api.headers("ADMIN")
    )
    workflow_id = created.json()["data"]["workflow_id"]
    response = await api.client.post(
        f"/workflows/{workflow_id}/steps",
        json={"position": 0, "step": notify("first")},
        headers=api.headers("ADMIN"),
    )
    assert response.status_code == 201, response.text
    source = await current_source(api, workflow_id, 2)
    assert [s["id"] for s in yaml.safe_load(source)["steps"]] == ["first", "greet"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"step": {"id": "x", "action": "manual", "with": {"title": 5}}}, "body.step.with.title"),
        ({"step": {"id": "x", "action": "notificaton"}}, "body.step.action"),
        ({"step": {**notify("x"), "colour": "red"}}, "body.step.colour"),
        ({"step": {**notify("x"), "if": "steps.bye.output"}, "position": 0}, "body.step.if"),
        ({"step": notify("x"), "position": 3}, "body.position"),
        ({"step": notify("x"), "position": -1}, "body.position"),
        ({"step": [notify("x")]}, "body.step"),
        ({"position": 1}, "body.step"),
        ({"step": notify("x"), "where": 1}, "body.where"),
    ],
)
async def test_a_bad_step_is_a_400_naming_its_field(
    api: ApiHarness, body: dict[str, Any], field: str
) -> None:
    workflow_id, _ = await _commented(api)
    response = await api.client.post(
        f"/workflows/{workflow_id}/steps", json=body, headers=api.headers("ADMIN")
    )
    assert response.status_code == 400, response.text
    assert field in [e["field"] for e in response.json()["errors"]], response.text
    assert (await api.client.get(f"/workflows/{workflow_id}", headers=api.headers("ADMIN"))).json()[
        "data"
    ]["workflow"]["current_version"] == 1


async def test_a_key_written_twice_in_the_step_is_a_400(api: ApiHarness) -> None:
    workflow_id, _ = await _commented(api)
    response = await api.client.post(
        f"/workflows/{workflow_id}/steps",
        content=b'{"step": {"id": "x", "id": "y", "action": "notification"}}',
        headers={**api.headers("ADMIN"), "Content-Type": "application/json"},
    )
    assert response.status_code == 400, response.text
    assert response.json()["errors"][0]["field"] == "body.step.id"


async def test_a_duplicate_step_id_is_a_409(api: ApiHarness) -> None:
    workflow_id, _ = await _commented(api)
    response = await api.client.post(
        f"/workflows/{workflow_id}/steps",
        json={"position": 0, "step": notify("bye")},
        headers=api.headers("MANAGER"),
    )
    assert response.status_code == 409, response.text
    assert response.json()["errors"][0]["field"] == "body.step.id"
    assert await api.count("workflow_versions") == 1


async def test_insert_is_scoped_to_the_department(api: ApiHarness) -> None:
    other = await install_hello(api, "B")
    body = {"step": notify("added")}
    refused = await api.client.post(
        f"/workflows/{other}/steps", json=body, headers=api.headers("MANAGER", "A")
    )
    assert refused.status_code == 404, refused.text
    missing = await api.client.post(
        f"/workflows/{uuid.uuid4()}/steps", json=body, headers=api.headers("ADMIN")
    )
    assert missing.status_code == 404
    operator = await api.client.post(
        f"/workflows/{other}/steps", json=body, headers=api.headers("OPERATOR", "B")
    )
    assert operator.status_code == 403
    own = await api.client.post(
        f"/workflows/{other}/steps", json=body, headers=api.headers("MANAGER", "B")
    )
    assert own.status_code == 201, own.text
    assert await api.count("workflow_versions") == 2


async def test_insert_honours_idempotency_key(api: ApiHarness) -> None:
    workflow_id, _ = await _commented(api)
    headers = {**api.headers("MANAGER"), "Idempotency-Key": str(uuid.uuid4())}
    body = {"position": 1, "step": notify("added")}
    first = await api.client.post(f"/workflows/{workflow_id}/steps", json=body, headers=headers)
    again = await api.client.post(f"/workflows/{workflow_id}/steps", json=body, headers=headers)
    assert first.status_code == 201, first.text
    assert again.status_code == 201
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert again.content == first.content
    assert await api.count("workflow_versions") == 2


async def test_a_stored_version_that_no_longer_validates_is_a_422(api: ApiHarness) -> None:
    """The step is fine but the workflow is not (its action was uninstalled since): the
    workflow's own problem, at its line, not the step's."""
    actions = api.services.actions.inputs()
    text = hello_yaml(unique_name()).replace("action: notification", "action: retired")
    spec = validate_workflow(text, "old.yaml", {**actions, "retired": actions["notification"]})
    async with api.services.db.pool.acquire() as conn:
        saved = await PgWorkflowStore(conn).save(spec, text, "old.yaml", SYSTEM)
    response = await api.client.post(
        f"/workflows/{saved.workflow_id}/steps",
        json={"step": notify("added")},
        headers=api.headers("ADMIN"),
    )
    assert response.status_code == 422, response.text
    [problem] = response.json()["errors"]
    assert problem["field"] == "steps[0].action"
    assert problem["line"] == 9
    assert await api.count("workflow_versions") == 1
