"""Long actions over PostgreSQL: heartbeats with progress, signal waits, and the signal's
locked execution (the statements of ``sql/long_actions.sql``)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Sequence
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

import asyncpg
import msgspec

from govflow.adapters.db.audit import append_audit
from govflow.adapters.db.operations import lock_execution
from govflow.adapters.db.queries import load_queries
from govflow.adapters.db.resilience import DEFAULT_POLICY, Resilient, RetryPolicy
from govflow.usecases.audit import AuditEntry
from govflow.usecases.operate import ExecutionChange, ExecutionSnapshot, LockedExecution
from govflow.usecases.ports import ClaimedStep

QUERIES = load_queries("long_actions.sql")


class PgLongActions:
    """The ``LongActions`` port (the worker's side)."""

    def __init__(self, pool: asyncpg.Pool, policy: RetryPolicy = DEFAULT_POLICY) -> None:
        self._db = Resilient(pool, policy)

    async def _guarded(self, name: str, values: dict[str, Any], what: str) -> bool:
        query = QUERIES[name]
        args = query.args(values)
        status = await self._db.run(lambda conn: conn.execute(query.sql, *args), lambda: what)
        return bool(status == "UPDATE 1")

    async def heartbeat(self, claim: ClaimedStep, lease: timedelta, progress: Any) -> bool:
        values = {
            "step_id": claim.step_id,
            "token": claim.fencing_token,
            "lease": lease.total_seconds(),
            "progress": msgspec.json.encode(progress).decode(),
        }
        return await self._guarded("heartbeat", values, f"heartbeat of step {claim.step_id}")

    async def open_wait(self, claim: ClaimedStep, resume_token_hash: str) -> bool:
        values = {
            "step_id": claim.step_id,
            "token": claim.fencing_token,
            "token_hash": resume_token_hash,
        }
        return await self._guarded("open_wait", values, f"signal wait of step {claim.step_id}")


class _SignalUnit:
    def __init__(
        self,
        locked: LockedExecution,
        wait_reason: str | None,
        token_hash: str | None,
        wake_at: datetime | None,
    ) -> None:
        self._locked = locked
        self.snapshot: ExecutionSnapshot = locked.snapshot
        self.wait_reason = wait_reason
        self.resume_token_hash = token_hash
        self.wake_at = wake_at

    async def apply(self, change: ExecutionChange) -> None:
        await self._locked.apply(change)


class PgSignalStore:
    """The ``SignalStore`` port: the execution locked as operator actions lock it, and the wait
    its step stores."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    @contextlib.asynccontextmanager
    async def locked(
        self, execution_id: UUID, department_scope: UUID | None, step_key: str
    ) -> AsyncIterator[_SignalUnit | None]:
        async with self._pool.acquire() as conn, conn.transaction():
            locked = await lock_execution(conn, execution_id, department_scope)
            if locked is None:
                yield None
                return
            query = QUERIES["step_wait"]
            row = await conn.fetchrow(
                query.sql, *query.args({"execution_id": execution_id, "step_key": step_key})
            )
            reason = row["wait_reason"] if row else None
            token_hash = row["resume_token_hash"] if row else None
            wake_at = row["wake_at"] if row else None
            yield _SignalUnit(locked, reason, token_hash, wake_at)

    async def record(self, entries: Sequence[AuditEntry]) -> None:
        async with self._pool.acquire() as conn, conn.transaction():
            await append_audit(conn, list(entries))
