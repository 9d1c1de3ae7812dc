"""The ``DepartmentStore`` port over PostgreSQL."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import asyncpg

from govflow.adapters.db.audit import append_audit
from govflow.usecases.access_errors import FieldConflictError
from govflow.usecases.audit import AuditEntry
from govflow.usecases.departments import DepartmentView, NewDepartment
from govflow.usecases.paging import PageRequest

_COLUMNS = "id, code, name, description, is_active, created_at, updated_at"
_UPDATABLE = ("code", "name", "description", "is_active")


def _view(row: asyncpg.Record) -> DepartmentView:
    return DepartmentView(
        id=row["id"],
        code=row["code"],
        name=row["name"],
        description=row["description"],
        is_active=row["is_active"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


def _code_taken() -> FieldConflictError:
    return FieldConflictError(
        "A department with this code exists already", "body.code", "already in use"
    )


class PgDepartmentStore:
    """Departments in PostgreSQL; scoping is a ``WHERE`` clause, never a check afterwards."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def search(
        self, scope: UUID | None, page: PageRequest
    ) -> tuple[list[DepartmentView], int]:
        async with self._pool.acquire() as conn:
            rows = await conn.fetch(
                f"SELECT {_COLUMNS}, count(*) OVER () AS total FROM departments "
                "WHERE ($1::uuid IS NULL OR id = $1) ORDER BY code LIMIT $2 OFFSET $3",
                scope,
                page.limit,
                page.offset,
            )
            total = (
                rows[0]["total"]
                if rows
                else await conn.fetchval(
                    "SELECT count(*) FROM departments WHERE ($1::uuid IS NULL OR id = $1)", scope
                )
            )
        return [_view(row) for row in rows], int(total)

    async def get(self, department_id: UUID, scope: UUID | None) -> DepartmentView | None:
        row = await self._pool.fetchrow(
            f"SELECT {_COLUMNS} FROM departments WHERE id = $1 AND ($2::uuid IS NULL OR id = $2)",
            department_id,
            scope,
        )
        return _view(row) if row else None

    async def create(
        self, department_id: UUID, department: NewDepartment, audit: list[AuditEntry]
    ) -> DepartmentView:
        try:
            async with self._pool.acquire() as conn, conn.transaction():
                row = await conn.fetchrow(
                    "INSERT INTO departments (id, code, name, description) "
                    f"VALUES ($1, $2, $3, $4) RETURNING {_COLUMNS}",
                    department_id,
                    department.code,
                    department.name,
                    department.description,
                )
                await append_audit(conn, audit)
        except asyncpg.UniqueViolationError:
            raise _code_taken() from None
        return _view(row)

    async def update(
        self, department_id: UUID, changes: dict[str, Any], audit: list[AuditEntry]
    ) -> DepartmentView | None:
        names = [name for name in _UPDATABLE if name in changes]
        assignments = ", ".join(f"{name} = ${i}" for i, name in enumerate(names, start=2))
        try:
            async with self._pool.acquire() as conn, conn.transaction():
                row = await conn.fetchrow(
                    f"UPDATE departments SET {assignments}, updated_at = now() WHERE id = $1 "
                    f"RETURNING {_COLUMNS}",
                    department_id,
                    *(changes[name] for name in names),
                )
                if row is None:
                    return None
                await append_audit(conn, audit)
        except asyncpg.UniqueViolationError:
            raise _code_taken() from None
        return _view(row)
