"""Administration: users (ADMIN), departments (ADMIN; a MANAGER reads their own), the audit log
with its filters (ADMIN; a MANAGER their department's entries) and, for an ADMIN, the seal
verification of the whole log.

The same use cases as ``/users``, ``/departments`` and ``/audit-logs``, with the same roles; the
forms are checked by the API's own request schemas, so a value the API refuses is refused here
with the same words, next to its field.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, time, timedelta
from typing import Any
from urllib.parse import urlencode
from uuid import UUID

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, FromQuery

from govflow.bootstrap.audit import verify_running
from govflow.core.roles import Role
from govflow.http.console.executions_view import parse_day, when
from govflow.http.console.pages import BASE, field_errors, redirect, render
from govflow.http.console.viewer import console_of
from govflow.http.departments.schemas import DepartmentCreateIn
from govflow.http.users.schemas import UserCreateIn
from govflow.usecases.access_errors import ForbiddenError
from govflow.usecases.audit_logs import AuditLogFilter
from govflow.usecases.errors import ConflictError, InvalidInputError
from govflow.usecases.paging import PageRequest
from govflow.usecases.principal import Principal
from govflow.usecases.users import UserFilter

ADMINS = frozenset({Role.ADMIN})
READERS = frozenset({Role.ADMIN, Role.MANAGER})
PAGE_SIZE = 25
TEXT_LIMIT = 100
_AT = re.compile(r"at `\$\.([A-Za-z_]+)")


def _allow(viewer: Principal, roles: frozenset[Role]) -> None:
    if viewer.role not in roles:
        raise ForbiddenError("this page is for " + " and ".join(sorted(r.value for r in roles)))


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _schema_errors(error: msgspec.ValidationError) -> dict[str, str]:
    """``{"email": "..."}`` from the API schema's refusal (``... - at `$.email```)."""
    message = str(error)
    match = _AT.search(message)
    return {match.group(1) if match else "form": message.split(" - at `")[0]}


async def _departments(request: Request[Any, Any, Any], viewer: Principal) -> list[Any]:
    found = await console_of(request).api.departments.search(viewer, PageRequest(1, 100))
    return list(found.items)


class AdminPages(Controller):
    path = "/admin"

    @get("/")
    async def index(
        self, request: Request[Any, Any, Any], viewer: NamedDependency[Principal]
    ) -> Response[Any]:
        _allow(viewer, READERS)
        return render(request, "admin/index.html", {"is_admin": viewer.is_admin}, viewer=viewer)

    # -- users ---------------------------------------------------------------------------

    @get("/users")
    async def users_page(
        self,
        request: Request[Any, Any, Any],
        viewer: NamedDependency[Principal],
        role: FromQuery[str | None] = None,
        page: FromQuery[int] = 1,
    ) -> Response[Any]:
        _allow(viewer, ADMINS)
        return await _users_page(request, viewer, role or "", page)

    @post("/users")
    async def create_user(
        self, request: Request[Any, Any, Any], viewer: NamedDependency[Principal]
    ) -> Response[Any]:
        _allow(viewer, ADMINS)
        form = await request.form()
        posted = {key: _text(form.get(key)) for key in form}
        body: dict[str, Any] = {
            "email": posted.get("email", "").strip(),
            "full_name": posted.get("full_name", "").strip(),
            "password": posted.get("password", ""),
            "role": posted.get("role", ""),
            "department_id": posted.get("department_id") or None,
        }
        try:
            new = msgspec.convert(body, UserCreateIn).to_new()
            created = await console_of(request).api.users.create(viewer, new)
        except msgspec.ValidationError as exc:
            return await _users_page(request, viewer, "", 1, posted, _schema_errors(exc), 400)
        except InvalidInputError as exc:
            errors = field_errors(exc.problems)
            return await _users_page(request, viewer, "", 1, posted, errors, 400)
        except ConflictError as exc:
            return await _users_page(request, viewer, "", 1, posted, {"email": str(exc)}, 409)
        return redirect(request, f"{BASE}/admin/users", f"User {created.email} created.")

    @post("/users/{user_id:uuid}/{switch:str}")
    async def switch_user(
        self,
        request: Request[Any, Any, Any],
        viewer: NamedDependency[Principal],
        user_id: FromPath[UUID],
        switch: FromPath[str],
    ) -> Response[Any]:
        _allow(viewer, ADMINS)
        if switch not in ("enable", "disable"):
            raise NotFoundException()
        try:
            user = await console_of(request).api.users.set_active(
                viewer, user_id, switch == "enable"
            )
        except ConflictError as exc:
            return redirect(request, f"{BASE}/admin/users", str(exc))
        return redirect(request, f"{BASE}/admin/users", f"User {user.email} {switch}d.")

    # -- departments -----------------------------------------------------------------------

    @get("/departments")
    async def departments_page(
        self, request: Request[Any, Any, Any], viewer: NamedDependency[Principal]
    ) -> Response[Any]:
        _allow(viewer, READERS)
        return await _departments_page(request, viewer)

    @post("/departments")
    async def create_department(
        self, request: Request[Any, Any, Any], viewer: NamedDependency[Principal]
    ) -> Response[Any]:
        _allow(viewer, ADMINS)
        form = await request.form()
        posted = {key: _text(form.get(key)) for key in form}
        body = {
            "code": posted.get("code", "").strip(),
            "name": posted.get("name", "").strip(),
            "description": posted.get("description", "").strip(),
        }
        try:
            new = msgspec.convert(body, DepartmentCreateIn).to_new()
            created = await console_of(request).api.departments.create(viewer, new)
        except msgspec.ValidationError as exc:
            return await _departments_page(request, viewer, posted, _schema_errors(exc), 400)
        except InvalidInputError as exc:
            errors = field_errors(exc.problems)
            return await _departments_page(request, viewer, posted, errors, 400)
        except ConflictError as exc:
            return await _departments_page(request, viewer, posted, {"code": str(exc)}, 409)
        return redirect(request, f"{BASE}/admin/departments", f"Department {created.code} created.")

    # -- audit log -------------------------------------------------------------------------

    @get("/audit")
    async def audit_page(
        self,
        request: Request[Any, Any, Any],
        viewer: NamedDependency[Principal],
        action: FromQuery[str | None] = None,
        entity_type: FromQuery[str | None] = None,
        entity_id: FromQuery[str | None] = None,
        actor_id: FromQuery[str | None] = None,
        day_from: FromQuery[str | None] = None,
        day_to: FromQuery[str | None] = None,
        verify: FromQuery[str | None] = None,
        page: FromQuery[int] = 1,
    ) -> Response[Any]:
        _allow(viewer, READERS)
        given = {
            "action": (action or "").strip()[:TEXT_LIMIT],
            "entity_type": (entity_type or "").strip()[:TEXT_LIMIT],
            "entity_id": (entity_id or "").strip()[:TEXT_LIMIT],
            "actor_id": (actor_id or "").strip()[:40],
            "day_from": (day_from or "")[:20],
            "day_to": (day_to or "")[:20],
        }
        where, errors = _audit_filter(given)
        wanted = PageRequest(max(1, min(page, 100_000)), PAGE_SIZE)
        found = await console_of(request).api.audit_logs.search(viewer, where, wanted)
        seals = None
        if verify and viewer.is_admin:
            try:
                seals = await verify_running(console_of(request).api.services)
            except OSError as exc:  # the anchor file cannot be read from this process
                errors["verify"] = f"cannot verify here: {exc.strerror or exc}"
        query = urlencode({k: v for k, v in given.items() if v})
        context = {
            "given": given,
            "errors": errors,
            "found": found,
            "query": query,
            "seals": seals,
            "can_verify": viewer.is_admin,
            "when": when,
        }
        return render(request, "admin/audit.html", context, viewer=viewer)


def _audit_filter(given: dict[str, str]) -> tuple[AuditLogFilter, dict[str, str]]:
    errors: dict[str, str] = {}
    actor = None
    if given["actor_id"]:
        try:
            actor = UUID(given["actor_id"])
        except ValueError:
            errors["actor_id"] = "a user id (UUID)"
    start = parse_day(given["day_from"], "day_from", errors)
    end = parse_day(given["day_to"], "day_to", errors)
    occurred_from = datetime.combine(start, time.min, UTC) if start else None
    occurred_to = datetime.combine(end + timedelta(days=1), time.min, UTC) if end else None
    if occurred_from and occurred_to and occurred_from >= occurred_to:
        errors["day_to"] = "must not be before the first day"
        occurred_to = None
    where = AuditLogFilter(
        action=given["action"] or None,
        actor_id=actor,
        entity_type=given["entity_type"] or None,
        entity_id=given["entity_id"] or None,
        occurred_from=occurred_from,
        occurred_to=occurred_to,
    )
    return where, errors


async def _users_page(
    request: Request[Any, Any, Any],
    viewer: Principal,
    role: str,
    page: int,
    posted: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response[Any]:
    chosen = Role(role) if role in {r.value for r in Role} else None
    found = await console_of(request).api.users.search(
        UserFilter(role=chosen), PageRequest(max(1, min(page, 100_000)), PAGE_SIZE)
    )
    departments = await _departments(request, viewer)
    context = {
        "found": found,
        "role": chosen.value if chosen else "",
        "roles": [r.value for r in Role],
        "departments": departments,
        "department_names": {d.id: d.code for d in departments},
        "posted": posted or {},
        "errors": errors or {},
        "when": when,
    }
    return render(request, "admin/users.html", context, viewer=viewer, status_code=status_code)


async def _departments_page(
    request: Request[Any, Any, Any],
    viewer: Principal,
    posted: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response[Any]:
    context = {
        "departments": await _departments(request, viewer),
        "posted": posted or {},
        "errors": errors or {},
        "is_admin": viewer.is_admin,
    }
    return render(
        request, "admin/departments.html", context, viewer=viewer, status_code=status_code
    )
