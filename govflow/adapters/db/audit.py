"""Appending audit entries with one statement, inside the caller's transaction."""

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


async def append_audit(conn: asyncpg.Connection, entries: list[AuditEntry]) -> None:
    """Insert ``entries`` in one round trip."""
    if not entries:
        return
    encode = msgspec.json.encode
    await conn.execute(
        _INSERT,
        [e.action for e in entries],
        [e.actor.user_id for e in entries],
        [e.actor.email for e in entries],
        [e.entity_type for e in entries],
        [e.entity_id for e in entries],
        [e.department_id for e in entries],
        [e.request_id for e in entries],
        [e.reason for e in entries],
        [encode(dict(e.metadata)).decode() for e in entries],
    )


class PgAuditSink:
    """The ``AuditSink`` port over one connection (and its open transaction)."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self._conn = conn

    async def append(self, entries: list[AuditEntry]) -> None:
        await append_audit(self._conn, entries)
