"""Every route declares a policy, and the policy holds for every role and department.

The matrix is generated from the app's routes: a route added later is covered without a change
here. To test department scoping on a new kind of object, add a factory to ``TARGETS`` that
creates one in a given department and returns its id.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable

import pytest

from govflow.core.statuses import HumanTaskStatus
from govflow.usecases.start_execution import StartRequest
from tests.integration.api.conftest import ROLES, ApiHarness
from tests.integration.api.routes import RouteCase, offline_app, route_cases
from tests.integration.api.workflow_support import HELLO_STEP, install_hello

CASES = route_cases()

Target = Callable[[ApiHarness, str], Awaitable[str]]


async def _user_in(api: ApiHarness, department: str) -> str:
    return str((await api.add_user("OPERATOR", department)).id)


async def _department(api: ApiHarness, department: str) -> str:
    return str(api.departments[department])


async def _workflow_in(api: ApiHarness, department: str) -> str:
    return str(await install_hello(api, department))


async def _execution_in(api: ApiHarness, department: str) -> str:
    workflow_id = await install_hello(api, department)
    started = await api.services.start_execution(StartRequest(workflow=workflow_id))
    return str(started.execution_id)


async def _task_in(api: ApiHarness, department: str) -> str:
    """A standalone task of the department, submitted, asking no review: every action the
    matrix sends is refused by its status (409) or its department (404), never by role."""
    async with api.services.db.pool.acquire() as conn:
        task_id = await conn.fetchval(
            "INSERT INTO human_tasks (department_id, title, status) "
            "VALUES ($1, 'matrix', $2) RETURNING id",
            api.departments[department],
            HumanTaskStatus.SUBMITTED.value,
        )
    return str(task_id)


async def _constant(value: str) -> str:
    return value


TARGETS: dict[str, Target] = {
    "user_id": _user_in,
    "department_id": _department,
    "workflow_id": _workflow_in,
    "workflow": _workflow_in,
    "execution_id": _execution_in,
    "task_id": _task_in,
    "version": lambda api, department: _constant("1"),
    "step_key": lambda api, department: _constant(HELLO_STEP),
    "name": lambda api, department: _constant("notification"),
}
"""Path parameter -> a factory of an object in a department."""

SCOPED = {"department_id", "workflow_id", "workflow", "execution_id", "task_id"}
"""Path parameters naming objects that belong to a department (404 for other departments)."""

BODIES: dict[str, object] = {
    "POST /workflow-executions/{execution_id}/cancel": {"reason": "matrix"},
    "POST /workflow-executions/{execution_id}/retry": {"reason": "matrix"},
    "POST /workflow-executions/{execution_id}/steps/{step_key}/resolve": {
        "action": "skip",
        "reason": "matrix",
    },
    "POST /workflow-executions/{execution_id}/steps/{step_key}/signal": {"token": "matrix"},
    "POST /workflow-executions/{execution_id}/steps/{step_key}/fire-timer": {"reason": "matrix"},
    "POST /tasks/{task_id}/reject": {"reason": "matrix"},
    "POST /tasks/{task_id}/comment": {"text": "matrix"},
    "POST /tasks/{task_id}/assign": {"user_id": str(uuid.UUID(int=1))},
    "POST /tasks/{task_id}/delegate": {"user_id": str(uuid.UUID(int=1))},
    "POST /tasks": {"title": "matrix"},
    "POST /workflows/{workflow_id}/steps": {
        "step": {
            "id": "matrix",
            "action": "notification",
            "with": {"channel": "log", "message": "m"},
        }
    },
    "PATCH /tasks/{task_id}": {"version": 1, "title": "matrix"},
}
"""A valid body for routes that refuse ``{}`` before they look the object up."""


def test_every_route_declares_a_policy() -> None:
    missing = [str(case) for case in CASES if case.policy is None]
    assert not missing, f"routes without an access policy: {missing}"


def test_every_route_is_in_openapi_with_an_operation_id() -> None:
    paths = offline_app().openapi_schema.to_schema()["paths"]
    served = {str(case) for case in CASES if not case.path.startswith("/schema")}
    documented = {
        f"{method.upper()} {path}": operation.get("operationId")
        for path, item in paths.items()
        for method, operation in item.items()
    }
    assert served <= set(documented), served - set(documented)
    assert all(documented.values()), [op for op, oid in documented.items() if not oid]


@pytest.mark.parametrize("case", CASES, ids=str)
async def test_authorization_matrix(api: ApiHarness, case: RouteCase) -> None:
    policy = case.policy
    assert policy is not None
    body = BODIES.get(str(case), {}) if case.method in ("POST", "PUT", "PATCH") else None

    async def call(headers: dict[str, str], department: str) -> int:
        values = {}
        for name in case.params:
            factory = TARGETS.get(name)
            values[name] = await factory(api, department) if factory else str(uuid.uuid4())
        response = await api.client.request(
            case.method, case.url(values), json=body, headers=headers
        )
        assert response.status_code < 500, f"{case}: {response.status_code} {response.text}"
        return response.status_code

    anonymous = await call({}, "A")
    if policy.public:
        assert anonymous not in (401, 403), case
        return
    assert anonymous == 401, case
    for role in ROLES:
        for department in ("A", "B"):
            actor = await api.add_user(role, "A")
            status = await call(actor.headers, department)
            if role not in {r.value for r in policy.roles}:
                assert status == 403, (case, role, department, status)
                continue
            assert status not in (401, 403), (case, role, department, status)
            scoped = any(name in SCOPED for name in case.params)
            if scoped and role in {r.value for r in policy.own_only}:
                # The object is not the caller's own (a factory made it): hidden everywhere.
                assert status == 404, (case, role, department, status)
            elif scoped and department == "B" and role != "ADMIN":
                assert status == 404, (case, role, department, status)
            elif any(name in TARGETS for name in case.params):
                assert status != 404, (case, role, department, status)
