"""Departments: ADMIN and MANAGER read (a MANAGER only their own), ADMIN creates and changes.

Codes are stored in lowercase, the spelling workflow files use to name their department: a code
received in any case is lowercased before it is written, and storage refuses two codes that differ
only in case (the conflict is answered on ``body.code``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol
from uuid import UUID, uuid4

import msgspec

from govflow.core.audit_events import AuditEvent
from govflow.usecases.audit import AuditEntry
from govflow.usecases.errors import InvalidInputError, NotFoundError
from govflow.usecases.paging import Page, PageRequest
from govflow.usecases.principal import Principal, scope_department


class DepartmentView(msgspec.Struct, frozen=True, kw_only=True):
    id: UUID
    code: str
    name: str
    description: str
    is_active: bool
    created_at: datetime
    updated_at: datetime


class NewDepartment(msgspec.Struct, frozen=True, kw_only=True):
    code: str
    name: str
    description: str = ""


class DepartmentChanges(msgspec.Struct, frozen=True, kw_only=True):
    code: str | msgspec.UnsetType = msgspec.UNSET
    name: str | msgspec.UnsetType = msgspec.UNSET
    description: str | msgspec.UnsetType = msgspec.UNSET
    is_active: bool | msgspec.UnsetType = msgspec.UNSET

    def as_dict(self) -> dict[str, Any]:
        return {
            name: getattr(self, name)
            for name in self.__struct_fields__
            if getattr(self, name) is not msgspec.UNSET
        }


class DepartmentStore(Protocol):
    """Departments in storage; ``scope`` None means every department."""

    async def search(
        self, scope: UUID | None, page: PageRequest
    ) -> tuple[list[DepartmentView], int]: ...

    async def get(self, department_id: UUID, scope: UUID | None) -> DepartmentView | None: ...

    async def create(
        self, department_id: UUID, department: NewDepartment, audit: list[AuditEntry]
    ) -> DepartmentView: ...

    async def update(
        self, department_id: UUID, changes: dict[str, Any], audit: list[AuditEntry]
    ) -> DepartmentView | None: ...


def normalise_code(code: str) -> str:
    """The stored spelling of a department code: lowercase (codes are ASCII)."""
    return code.lower()


def _entry(
    principal: Principal, action: AuditEvent, department_id: UUID, metadata: dict[str, Any]
) -> AuditEntry:
    return AuditEntry(
        action=action,
        actor=principal.actor(),
        entity_type="department",
        entity_id=str(department_id),
        department_id=department_id,
        request_id=principal.request_id,
        metadata=metadata,
    )


class Departments:
    """The department use cases."""

    def __init__(self, store: DepartmentStore) -> None:
        self._store = store

    async def search(self, principal: Principal, page: PageRequest) -> Page[DepartmentView]:
        items, total = await self._store.search(scope_department(principal), page)
        return Page(items, total, page)

    async def get(self, principal: Principal, department_id: UUID) -> DepartmentView:
        found = await self._store.get(department_id, scope_department(principal))
        if found is None:
            raise NotFoundError("Department not found")
        return found

    async def create(self, principal: Principal, department: NewDepartment) -> DepartmentView:
        department = msgspec.structs.replace(department, code=normalise_code(department.code))
        department_id = uuid4()
        audit = _entry(
            principal, AuditEvent.DEPARTMENT_CREATED, department_id, {"code": department.code}
        )
        return await self._store.create(department_id, department, [audit])

    async def update(
        self, principal: Principal, department_id: UUID, changes: DepartmentChanges
    ) -> DepartmentView:
        values = changes.as_dict()
        if not values:
            raise InvalidInputError([("body", "name at least one field to change")])
        if "code" in values:
            values["code"] = normalise_code(values["code"])
        audit = _entry(principal, AuditEvent.DEPARTMENT_UPDATED, department_id, {"changes": values})
        updated = await self._store.update(department_id, values, [audit])
        if updated is None:
            raise NotFoundError("Department not found")
        return updated
