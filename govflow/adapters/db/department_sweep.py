"""The step store a MANAGER's stale recovery works through: one department's steps only.

The engine's own recovery reads take an optional department
(:meth:`~govflow.adapters.db.steps.PgStepStore.take_expired`,
:meth:`~govflow.adapters.db.steps.PgStepStore.due_unclaimed`); this store names it for every call.
"""

from __future__ import annotations

from datetime import timedelta
from uuid import UUID

import asyncpg

from govflow.adapters.db.steps import PgStepStore
from govflow.usecases.ports import ExpiredStep


class PgDepartmentSteps(PgStepStore):
    """The engine's step store, with recovery reads restricted to ``department_id``."""

    def __init__(self, pool: asyncpg.Pool, department_id: UUID) -> None:
        super().__init__(pool)
        self.department_id = department_id

    async def take_expired(
        self, worker: str, lease: timedelta, limit: int, department: UUID | None = None
    ) -> list[ExpiredStep]:
        return await super().take_expired(worker, lease, limit, self.department_id)

    async def due_unclaimed(
        self, resend_after: timedelta, limit: int, department: UUID | None = None
    ) -> list[UUID]:
        return await super().due_unclaimed(resend_after, limit, self.department_id)
