"""Workflows for the API tests: small YAML files of the ``notification`` action (channel log),
stored in a department of the harness."""

from __future__ import annotations

import uuid

from govflow.adapters.db.workflows import PgWorkflowStore
from govflow.core.validation import validate_workflow
from govflow.usecases.audit import SYSTEM
from tests.integration.api.conftest import ApiHarness

HELLO_STEP = "greet"


def hello_yaml(name: str, department: str = "A", message: str = "Hello, {{ inputs.who }}!") -> str:
    """A one-step workflow of department ``dept_<department>`` with an optional input ``who``."""
    return f"""name: {name}
title: Hello {name}
department: {department_code(department)}
inputs:
  who: {{type: string, default: world}}
  count: {{type: integer, default: 1}}
steps:
  - id: {HELLO_STEP}
    action: notification
    with:
      channel: log
      message: "{message}"
"""


def department_code(department: str) -> str:
    """The DSL spelling (lowercase) of a harness department's code."""
    return f"dept_{department.lower()}"


async def lowercase_departments(api: ApiHarness) -> None:
    """Give the harness departments codes a workflow file may name (``dept_a``, ``dept_b``)."""
    for department, department_id in api.departments.items():
        await api.services.db.pool.execute(
            "UPDATE departments SET code = $2 WHERE id = $1",
            department_id,
            department_code(department),
        )


def unique_name() -> str:
    return f"hello-{uuid.uuid4().hex[:8]}"


async def install_hello(api: ApiHarness, department: str, name: str | None = None) -> uuid.UUID:
    """Store a hello workflow in ``department``; its id."""
    await lowercase_departments(api)
    text = hello_yaml(name or unique_name(), department)
    spec = validate_workflow(text, "hello.yaml", api.services.actions.inputs())
    async with api.services.db.pool.acquire() as conn:
        result = await PgWorkflowStore(conn).save(spec, text, "hello.yaml", SYSTEM)
    return result.workflow_id
