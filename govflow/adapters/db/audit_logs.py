"""The ``AuditLogStore`` port: filtered, department-scoped reads and single manual entries."""

from __future__ import annotations

from uuid import UUID

import asyncpg
import msgspec

from govflow.usecases.audit import AuditEntry
from govflow.usecases.audit_logs import AuditLogFilter, AuditLogView
from govflow.usecases.paging import PageRequest

_COLUMNS = (
    "id, occurred_at, action, actor_id, actor_email, entity_type, entity_id, department_id, "
    "request_id, reason, metadata::text AS metadata"
)
_WHERE = (
    "($1::text IS NULL OR action = $1) AND ($2::uuid IS NULL OR actor_id = $2) "
    "AND ($3::text IS NULL OR entity_type = $3) AND ($4::text IS NULL OR entity_id = $4) "
    "AND ($5::timestamptz IS NULL OR occurred_at >= $5) "
    "AND ($6::timestamptz IS NULL OR occurred_at <= $6) "
    "AND ($7::uuid IS NULL OR department_id = $7)"
)


def _view(row: asyncpg.Record) -> AuditLogView:
    return AuditLogView(
        id=row["id"],
        occurred_at=row["occurred_at"],
        action=row["action"],
        actor_id=row["actor_id"],
        actor_email=row["actor_email"],
        entity_type=row["entity_type"],
        entity_id=row["entity_id"],
        department_id=row["department_id"],
        request_id=row["request_id"],
        reason=row["reason"],
        metadata=msgspec.json.decode(row["metadata"]),
    )


class PgAuditLogStore:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def search(
        self, where: AuditLogFilter, scope: UUID | None, page: PageRequest
    ) -> tuple[list[AuditLogView], int]:
        args = (
            where.action,
            where.actor_id,
            where.entity_type,
            where.entity_id,
            where.occurred_from,
            where.occurred_to,
            scope,
        )
        async with self._pool.acquire() as conn:
            rows = await conn.fetch(
                f"SELECT {_COLUMNS}, count(*) OVER () AS total FROM audit_logs WHERE {_WHERE} "
                "ORDER BY occurred_at DESC, id DESC LIMIT $8 OFFSET $9",
                *args,
                page.limit,
                page.offset,
            )
            total = (
                rows[0]["total"]
                if rows
                else await conn.fetchval(f"SELECT count(*) FROM audit_logs WHERE {_WHERE}", *args)
            )
        return [_view(row) for row in rows], int(total)

    async def add(self, entry: AuditEntry) -> AuditLogView:
        row = await self._pool.fetchrow(
            "INSERT INTO audit_logs (action, actor_id, actor_email, entity_type, entity_id, "
            "department_id, request_id, reason, metadata) "
            f"VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::jsonb) RETURNING {_COLUMNS}",
            entry.action,
            entry.actor.user_id,
            entry.actor.email,
            entry.entity_type,
            entry.entity_id,
            entry.department_id,
            entry.request_id,
            entry.reason,
            msgspec.json.encode(dict(entry.metadata)).decode(),
        )
        return _view(row)
