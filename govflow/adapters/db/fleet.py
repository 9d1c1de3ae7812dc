"""The fleet over PostgreSQL: the workers table and steps handed back (``sql/fleet.sql``)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any

import asyncpg
import msgspec

from govflow.adapters.db.queries import load_queries
from govflow.adapters.db.resilience import DEFAULT_POLICY, Resilient, RetryPolicy
from govflow.usecases.audit import AuditEntry
from govflow.usecases.fleet import LIVE_WITHIN, FleetMember
from govflow.usecases.ports import ClaimedStep

QUERIES = load_queries("fleet.sql")

GONE_AFTER = timedelta(days=1)
"""Workers silent this long are deleted when a worker joins."""

_encode = msgspec.json.encode


class PgFleet:
    """The ``Fleet`` port."""

    def __init__(self, pool: asyncpg.Pool, policy: RetryPolicy = DEFAULT_POLICY) -> None:
        self._db = Resilient(pool, policy)

    async def _run(self, name: str, values: dict[str, Any], method: str = "execute") -> Any:
        query = QUERIES[name]
        args = query.args(values)

        async def run(conn: asyncpg.Connection) -> Any:
            return await getattr(conn, method)(query.sql, *args)

        return await self._db.run(run, lambda: f"fleet: {name}")

    async def join(self, member: FleetMember) -> None:
        await self._run("forget_gone", {"gone": GONE_AFTER.total_seconds()})
        await self._run(
            "join_fleet",
            {
                "id": member.id,
                "hostname": member.hostname,
                "pid": member.pid,
                "plugins": _encode(dict(member.plugins)).decode(),
                "actions": _encode(sorted(member.actions)).decode(),
            },
        )

    async def beat(self, worker_id: str) -> None:
        await self._run("beat", {"id": worker_id})

    async def leave(self, worker_id: str) -> None:
        await self._run("leave_fleet", {"id": worker_id})

    async def live_actions(self, within: timedelta = LIVE_WITHIN) -> set[str] | None:
        row = await self._run("live_actions", {"within": within.total_seconds()}, "fetchrow")
        if not row["workers"]:
            return None
        return set(msgspec.json.decode(row["actions"]))

    async def offered_elsewhere(
        self, action: str, worker_id: str, within: timedelta = LIVE_WITHIN
    ) -> bool:
        values = {"id": worker_id, "action": action, "within": within.total_seconds()}
        return bool(await self._run("offered_elsewhere", values, "fetchval"))

    async def handbacks(self, claim: ClaimedStep) -> int:
        return int(await self._run("handbacks", {"step_id": claim.step_id}, "fetchval") or 0)

    async def hand_back(
        self, claim: ClaimedStep, delay: timedelta, audit: Sequence[AuditEntry]
    ) -> bool:
        values = {
            "step_id": claim.step_id,
            "token": claim.fencing_token,
            "delay": max(0.0, delay.total_seconds()),
            "department": claim.department_id,
            "a_action": [e.action for e in audit],
            "a_entity_type": [e.entity_type for e in audit],
            "a_entity_id": [e.entity_id for e in audit],
            "a_reason": [e.reason for e in audit],
            "a_metadata": [_encode(dict(e.metadata)).decode() for e in audit],
        }
        return bool(await self._run("hand_back", values, "fetchval"))
