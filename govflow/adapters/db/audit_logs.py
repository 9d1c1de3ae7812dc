"""The ``AuditLogStore`` port: filtered, department-scoped reads and single manual entries.

Rows become :class:`AuditLogView` here and nowhere else; entries become rows through
:func:`~govflow.adapters.db.audit.audit_row`, as every audit entry GovFlow writes does.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

import msgspec

from govflow.adapters.db.audit import AUDIT_COLUMNS, audit_row
from govflow.adapters.db.crud import now, paged
from govflow.adapters.db.engine import Database
from govflow.adapters.db.tables import AuditLog
from govflow.usecases.audit import AuditEntry
from govflow.usecases.audit_logs import AuditLogFilter, AuditLogView
from govflow.usecases.paging import PageRequest

_COLUMNS = (
    AuditLog.id,
    AuditLog.occurred_at,
    AuditLog.action,
    AuditLog.actor_id,
    AuditLog.actor_email,
    AuditLog.entity_type,
    AuditLog.entity_id,
    AuditLog.department_id,
    AuditLog.request_id,
    AuditLog.reason,
    AuditLog.metadata,
)


def audit_view(row: dict[str, Any]) -> AuditLogView:
    """An ``audit_logs`` row (``metadata`` as JSON text) as the API shows it."""
    return msgspec.convert({**row, "metadata": msgspec.json.decode(row["metadata"])}, AuditLogView)


def _matching(where: AuditLogFilter, scope: UUID | None) -> list[Any]:
    conditions: list[Any] = []
    if where.action is not None:
        conditions.append(AuditLog.action == where.action)
    if where.actor_id is not None:
        conditions.append(AuditLog.actor_id == where.actor_id)
    if where.entity_type is not None:
        conditions.append(AuditLog.entity_type == where.entity_type)
    if where.entity_id is not None:
        conditions.append(AuditLog.entity_id == where.entity_id)
    if where.occurred_from is not None:
        conditions.append(AuditLog.occurred_at >= where.occurred_from)
    if where.occurred_to is not None:
        conditions.append(AuditLog.occurred_at <= where.occurred_to)
    if scope is not None:
        conditions.append(AuditLog.department_id == scope)
    return conditions


class PgAuditLogStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def search(
        self, where: AuditLogFilter, scope: UUID | None, page: PageRequest
    ) -> tuple[list[AuditLogView], int]:
        conditions = _matching(where, scope)
        rows, total = await paged(
            self._db,
            AuditLog.select(*_COLUMNS)
            .where(*conditions)
            .order_by(AuditLog.occurred_at, AuditLog.id, ascending=False),
            AuditLog.count().where(*conditions),
            page,
        )
        return [audit_view(row) for row in rows], total

    async def add(self, entry: AuditEntry) -> AuditLogView:
        values: dict[Any, Any] = {
            AuditLog._meta.get_column_by_name(name): value
            for name, value in zip(AUDIT_COLUMNS, audit_row(entry), strict=True)
        }
        values[AuditLog.occurred_at] = now()
        rows = await self._db.run(AuditLog.insert(AuditLog(values)).returning(*_COLUMNS))
        return audit_view(rows[0])
