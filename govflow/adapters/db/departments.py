"""The ``DepartmentStore`` port over PostgreSQL, with Piccolo's query builder."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import asyncpg

from govflow.adapters.db.audit import append_audit
from govflow.adapters.db.crud import now, paged, views
from govflow.adapters.db.engine import Database
from govflow.adapters.db.tables import Department
from govflow.usecases.access_errors import FieldConflictError
from govflow.usecases.audit import AuditEntry
from govflow.usecases.departments import DepartmentView, NewDepartment
from govflow.usecases.paging import PageRequest

_COLUMNS = (
    Department.id,
    Department.code,
    Department.name,
    Department.description,
    Department.is_active,
    Department.created_at,
    Department.updated_at,
)
_UPDATABLE = {
    "code": Department.code,
    "name": Department.name,
    "description": Department.description,
    "is_active": Department.is_active,
}


def _code_taken() -> FieldConflictError:
    return FieldConflictError(
        "A department with this code exists already", "body.code", "already in use"
    )


def _in_scope(scope: UUID | None) -> list[Any]:
    """The condition that keeps a non-admin to their own department (none for an admin)."""
    return [] if scope is None else [Department.id == scope]


class PgDepartmentStore:
    """Departments in PostgreSQL; scoping is a ``WHERE`` clause, never a check afterwards."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def search(
        self, scope: UUID | None, page: PageRequest
    ) -> tuple[list[DepartmentView], int]:
        where = _in_scope(scope)
        rows, total = await paged(
            self._db,
            Department.select(*_COLUMNS).where(*where).order_by(Department.code),
            Department.count().where(*where),
            page,
        )
        return views(rows, DepartmentView), total

    async def get(self, department_id: UUID, scope: UUID | None) -> DepartmentView | None:
        rows = await self._db.run(
            Department.select(*_COLUMNS).where(Department.id == department_id, *_in_scope(scope))
        )
        return views(rows, DepartmentView)[0] if rows else None

    async def id_of(self, code: str) -> UUID | None:
        """The id of the department with ``code`` (codes are stored lowercase)."""
        rows = await self._db.run(Department.select(Department.id).where(Department.code == code))
        return rows[0]["id"] if rows else None

    async def create(
        self, department_id: UUID, department: NewDepartment, audit: list[AuditEntry]
    ) -> DepartmentView:
        row = Department(
            id=department_id,
            code=department.code,
            name=department.name,
            description=department.description,
            created_at=now(),
            updated_at=now(),
        )
        try:
            async with self._db.transaction() as conn:
                rows = await self._db.run(Department.insert(row).returning(*_COLUMNS))
                await append_audit(conn, audit)
        except asyncpg.UniqueViolationError:
            raise _code_taken() from None
        return views(rows, DepartmentView)[0]

    async def update(
        self, department_id: UUID, changes: dict[str, Any], audit: list[AuditEntry]
    ) -> DepartmentView | None:
        values: dict[Any, Any] = {
            column: changes[name] for name, column in _UPDATABLE.items() if name in changes
        }
        values[Department.updated_at] = now()
        try:
            async with self._db.transaction() as conn:
                rows = await self._db.run(
                    Department.update(values)
                    .where(Department.id == department_id)
                    .returning(*_COLUMNS)
                )
                if not rows:
                    return None
                await append_audit(conn, audit)
        except asyncpg.UniqueViolationError:
            raise _code_taken() from None
        return views(rows, DepartmentView)[0]
