"""Audit entries as rows: the one mapping from :class:`AuditEntry` to ``audit_logs`` columns, and
appending entries with one statement inside the caller's transaction."""

from __future__ import annotations

import asyncpg
import msgspec

from govflow.usecases.audit import AuditEntry

_INSERT = """
INSERT INTO audit_logs (action, actor_id, actor_email, entity_type, entity_id, department_id,
                        request_id, reason, metadata)
SELECT * FROM unnest($1::text[], $2::uuid[], $3::text[], $4::text[], $5::text[], $6::uuid[],
                     $7::text[], $8::text[], $9::jsonb[])
"""


AUDIT_COLUMNS = (
    "action",
    "actor_id",
    "actor_email",
    "entity_type",
    "entity_id",
    "department_id",
    "request_id",
    "reason",
    "metadata",
)
"""The columns an entry fills, in the order of :func:`audit_row` (the database sets ``id`` and
``occurred_at``)."""


def audit_row(entry: AuditEntry) -> tuple[object, ...]:
    """The entry's values for :data:`AUDIT_COLUMNS`; ``metadata`` as JSON text."""
    return (
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


async def append_audit(conn: asyncpg.Connection, entries: list[AuditEntry]) -> None:
    """Insert ``entries`` in one round trip."""
    if not entries:
        return
    await conn.execute(
        _INSERT, *(list(column) for column in zip(*map(audit_row, entries), strict=True))
    )


class PgAuditSink:
    """The ``AuditSink`` port over one connection (and its open transaction)."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self._conn = conn

    async def append(self, entries: list[AuditEntry]) -> None:
        await append_audit(self._conn, entries)
