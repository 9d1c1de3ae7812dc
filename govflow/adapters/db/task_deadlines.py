"""Task deadlines and the notification outbox over PostgreSQL (``sql/task_deadlines.sql``).

:class:`PgDeadlines` finds the tasks whose deadline passed and that are still to be marked or
escalated (the partial index ``human_tasks_due`` answers it) and counts the open overdue ones;
:func:`enqueue_notices` writes a decision's notices in the decision's transaction;
:class:`PgNoticeOutbox` hands due notices to one sender at a time (``FOR UPDATE SKIP LOCKED``
and a lease) and records what became of them.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

import asyncpg
import msgspec

from govflow.adapters.db.queries import load_queries
from govflow.core.tasks.model import Party
from govflow.core.tasks.notices import Notice
from govflow.usecases.task_notifications import HeldNotice

QUERIES = load_queries("task_deadlines.sql")

MAX_RECIPIENTS = 50
"""At most this many addresses are read for one emailed notice."""


def _json(value: Any) -> Any:
    return msgspec.json.decode(value) if isinstance(value, str) else value


async def enqueue_notices(conn: asyncpg.Connection, notices: list[Notice]) -> None:
    """Store ``notices`` in the transaction of ``conn`` (a notice already stored is kept)."""
    if not notices:
        return
    query = QUERIES["enqueue_notice"]
    await conn.executemany(
        query.sql,
        [
            query.args(
                {
                    "key": notice.key,
                    "task_id": notice.task_id,
                    "why": notice.why,
                    "recipients": msgspec.json.encode(notice.to).decode(),
                    "channel": msgspec.json.encode(notice.channel).decode(),
                    "message": notice.message,
                }
            )
            for notice in notices
        ],
    )


class PgDeadlines:
    """The ``DeadlineStore`` port."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def due(self, limit: int) -> list[UUID]:
        query = QUERIES["due_tasks"]
        rows = await self._pool.fetch(query.sql, *query.args({"limit": limit}))
        return [row["id"] for row in rows]

    async def unannounced(self, limit: int) -> list[UUID]:
        query = QUERIES["unannounced_step_tasks"]
        rows = await self._pool.fetch(query.sql, *query.args({"limit": limit}))
        return [row["id"] for row in rows]

    async def overdue_open(self) -> int:
        query = QUERIES["overdue_open"]
        return int(await self._pool.fetchval(query.sql))


class PgNoticeOutbox:
    """The ``NoticeOutbox`` port."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def take(self, limit: int, lease_seconds: float) -> list[HeldNotice]:
        query = QUERIES["take_notices"]
        rows = await self._pool.fetch(
            query.sql, *query.args({"limit": limit, "lease_seconds": lease_seconds})
        )
        return [
            HeldNotice(
                id=row["id"],
                notice=Notice(
                    key=row["key"],
                    task_id=row["task_id"],
                    why=row["why"],
                    to=msgspec.convert(_json(row["recipients"]), Party),
                    channel=_json(row["channel"]),
                    message=row["message"],
                ),
                attempts=row["attempts"],
                was_in_flight=row["was_in_flight"],
                execution_id=row["execution_id"],
                step_id=row["execution_step_id"],
            )
            for row in rows
        ]

    async def sent(self, notice_id: int) -> None:
        query = QUERIES["notice_sent"]
        await self._pool.execute(query.sql, *query.args({"id": notice_id}))

    async def retry(self, notice_id: int, error: str, delay_seconds: float) -> None:
        query = QUERIES["notice_retry"]
        await self._pool.execute(
            query.sql,
            *query.args({"id": notice_id, "error": error, "delay_seconds": delay_seconds}),
        )

    async def give_up(self, notice_id: int, error: str) -> None:
        query = QUERIES["notice_given_up"]
        await self._pool.execute(query.sql, *query.args({"id": notice_id, "error": error}))

    async def emails(self, party: Party) -> list[str]:
        query = QUERIES["party_emails"]
        rows = await self._pool.fetch(
            query.sql,
            *query.args(
                {
                    "users": list(party.users),
                    "role": None if party.role is None else party.role.value,
                    "department_id": party.department_id,
                    "limit": MAX_RECIPIENTS,
                }
            ),
        )
        return [row["email"] for row in rows]
