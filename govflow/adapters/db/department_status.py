"""The ``DepartmentStatus`` port: one indexed lookup of ``departments.is_active``."""

from __future__ import annotations

from uuid import UUID

import asyncpg


class PgDepartmentStatus:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def is_active(self, department_id: UUID) -> bool:
        active = await self._pool.fetchval(
            "SELECT is_active FROM departments WHERE id = $1", department_id
        )
        return bool(active)
