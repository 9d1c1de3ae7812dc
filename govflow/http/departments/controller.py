"""``/departments`` endpoints."""

from __future__ import annotations

from uuid import UUID

from litestar import Controller, get, patch, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody
from litestar.status_codes import HTTP_201_CREATED

from govflow.bootstrap.api import Api
from govflow.http.departments.schemas import DepartmentCreateIn, DepartmentUpdateIn
from govflow.http.envelope import Envelope, PagedEnvelope, ok, paged
from govflow.http.idempotency import idempotent
from govflow.http.policy import roles
from govflow.usecases.departments import DepartmentView
from govflow.usecases.paging import PageRequest
from govflow.usecases.principal import Principal, Role


class DepartmentsController(Controller):
    path = "/departments"
    tags = ["departments"]

    @get("/", operation_id="listDepartments", **roles(Role.ADMIN, Role.MANAGER))
    async def list_departments(
        self,
        api: NamedDependency[Api],
        principal: NamedDependency[Principal],
        page: FromQuery[int] = 1,
        limit: FromQuery[int] = 20,
    ) -> PagedEnvelope[DepartmentView]:
        """Departments; a MANAGER sees only their own."""
        return paged(await api.departments.search(principal, PageRequest(page, limit)))

    @get("/{department_id:uuid}", operation_id="getDepartment", **roles(Role.ADMIN, Role.MANAGER))
    async def get_department(
        self,
        department_id: FromPath[UUID],
        api: NamedDependency[Api],
        principal: NamedDependency[Principal],
    ) -> Envelope[DepartmentView]:
        """One department; another department is a 404 for a MANAGER."""
        return ok(await api.departments.get(principal, department_id))

    @idempotent
    @post("/", operation_id="createDepartment", status_code=HTTP_201_CREATED, **roles(Role.ADMIN))
    async def create_department(
        self,
        data: JSONBody[DepartmentCreateIn],
        api: NamedDependency[Api],
        principal: NamedDependency[Principal],
    ) -> Envelope[DepartmentView]:
        """Create a department; its code is unique."""
        return ok(await api.departments.create(principal, data.to_new()), "Department created")

    @patch("/{department_id:uuid}", operation_id="updateDepartment", **roles(Role.ADMIN))
    async def update_department(
        self,
        department_id: FromPath[UUID],
        data: JSONBody[DepartmentUpdateIn],
        api: NamedDependency[Api],
        principal: NamedDependency[Principal],
    ) -> Envelope[DepartmentView]:
        """Change a department's code, name, description or active flag."""
        updated = await api.departments.update(principal, department_id, data.to_changes())
        return ok(updated, "Department updated")
