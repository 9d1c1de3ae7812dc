"""Hostile input to the console's executions, workflows and administration pages: every odd
query, path or form is a 4xx page (or the page with the problem at its field), never a 500, and
the role rules hold for posts sent without the page."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator

import httpx

from govflow.core.roles import Role
from tests.integration.api.conftest import PASSWORD, ApiHarness


@contextlib.asynccontextmanager
async def signed_in(api: ApiHarness, role: Role) -> AsyncIterator[tuple[httpx.AsyncClient, str]]:
    """A client of the in-process app signed in to the console; the form's CSRF token."""
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=api.app), base_url="http://govflow.test"
    ) as client:
        yield client, await _sign_in(api, client, role)


async def _sign_in(api: ApiHarness, client: httpx.AsyncClient, role: Role) -> str:
    page = await client.get("/ui/login")
    token = page.text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    answer = await client.post(
        "/ui/login",
        data={"email": api.user(role.value).email, "password": PASSWORD, "csrf_token": token},
    )
    assert answer.status_code == 303, answer.text
    page = await client.get("/ui/executions")  # the token of the signed-in session's forms
    return page.text.split('"X-CSRF-Token": "', 1)[1].split('"', 1)[0]


ODD_GETS = [
    "/ui/executions?page=-7&status=%00&workflow=" + "x" * 5000,
    "/ui/executions?page=99999999999999999999",
    "/ui/executions?started_from=2026-02-30&started_to=9999-12-31&department=..%2f",
    "/ui/executions/rows?status=RUNNING%27--",
    f"/ui/executions/{uuid.uuid4()}",
    f"/ui/executions/{uuid.uuid4()}/live",
    "/ui/executions/not-a-uuid",
    "/ui/workflows?name=%3Cscript%3E&page=0",
    f"/ui/workflows/{uuid.uuid4()}",
    f"/ui/workflows/{uuid.uuid4()}/versions/0",
    f"/ui/workflows/{uuid.uuid4()}/versions/99999999999",
    f"/ui/workflows/{uuid.uuid4()}/start",
    "/ui/admin/users?role=ROOT&page=-1",
    "/ui/admin/audit?actor_id=me&day_from=yesterday&day_to=2026-13-01&page=abc",
    "/ui/admin/audit?verify=1&action=" + "%FF" * 300,
]


async def test_odd_queries_and_paths_are_never_a_server_error(api: ApiHarness) -> None:
    async with signed_in(api, Role.ADMIN) as (client, _):
        for path in ODD_GETS:
            answer = await client.get(path)
            assert answer.status_code < 500, (path, answer.status_code, answer.text[:500])
            assert "text/html" in answer.headers["content-type"]


async def test_odd_forms_are_refused_at_their_field(api: ApiHarness) -> None:
    missing = uuid.uuid4()
    async with signed_in(api, Role.ADMIN) as (client, token):
        for path, data, expected in [
            (f"/ui/executions/{missing}/cancel", {"reason": "x" * 1001}, 404),
            (f"/ui/executions/{missing}/cancel", {"reason": "   "}, 404),
            (f"/ui/executions/{missing}/explode", {"reason": "why"}, 404),
            (f"/ui/executions/{missing}/steps/%2e%2e/resolve", {"resolution": "burn"}, 404),
            ("/ui/workflows/upload", {"source": "", "filename": "../../etc/passwd"}, 400),
            ("/ui/workflows/upload", {"source": "name: [", "filename": "x.yaml"}, 422),
            (f"/ui/workflows/{missing}/start", {"input.who": "\x00"}, 404),
            (f"/ui/workflows/{missing}/nuke", {"reason": "why"}, 404),
            ("/ui/admin/users", {"email": "a@b", "role": "ROOT", "department_id": "x"}, 400),
            ("/ui/admin/users/not-a-uuid/disable", {}, 404),
            ("/ui/admin/departments", {"code": "Not A Code!", "name": ""}, 400),
        ]:
            answer = await client.post(path, data={**data, "csrf_token": token})
            assert answer.status_code == expected, (path, answer.status_code, answer.text[-400:])
        empty_reason = await client.post(
            f"/ui/workflows/{missing}/deactivate", data={"reason": "", "csrf_token": token}
        )
        assert empty_reason.status_code == 404, empty_reason.text[-800:]  # not found first
        bad_yaml = await client.post(
            "/ui/workflows/upload",
            data={"source": "name: x\nsteps: [\n", "filename": "x.yaml", "csrf_token": token},
        )
        assert bad_yaml.status_code == 422
        assert "x.yaml:" in bad_yaml.text


async def test_role_rules_hold_for_posts_sent_without_the_page(api: ApiHarness) -> None:
    target = api.user(Role.MANAGER.value).id
    async with signed_in(api, Role.OPERATOR) as (client, token):
        for path, data in [
            (f"/ui/executions/{uuid.uuid4()}/cancel", {"reason": "mine now"}),
            ("/ui/workflows/upload", {"source": "name: x", "filename": "x.yaml"}),
            (f"/ui/admin/users/{target}/disable", {}),
            ("/ui/admin/departments", {"code": "evil", "name": "Evil"}),
        ]:
            answer = await client.post(path, data={**data, "csrf_token": token})
            assert answer.status_code == 403, (path, answer.status_code)
        for path in ("/ui/admin/users", "/ui/admin/audit", "/ui/workflows/upload"):
            assert (await client.get(path)).status_code == 403, path
    rows = await api.services.db.pool.fetchval("SELECT is_active FROM users WHERE id = $1", target)
    assert rows is True
