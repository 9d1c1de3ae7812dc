"""The ``KeyStore`` port over ``http_idempotency_keys`` (statements in ``sql/idempotency.sql``).

A claim is one guarded ``INSERT ... ON CONFLICT DO UPDATE ... WHERE``: of concurrent requests
with one key exactly one gets the row back, the others find the holder.
"""

from __future__ import annotations

from typing import Any

from govflow.adapters.db.engine import Database
from govflow.adapters.db.queries import load_queries
from govflow.usecases.idempotency_keys import Claim, Holder, KeyedRequest

QUERIES = load_queries("idempotency.sql")


def _scope(request: KeyedRequest) -> dict[str, Any]:
    return {
        "user_id": request.caller,
        "key": request.key,
        "method": request.method,
        "path": request.route,
    }


class PgKeyStore:
    """Idempotency keys in PostgreSQL, shared by every API process."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def claim(
        self, request: KeyedRequest, ttl_seconds: int, in_flight_seconds: int
    ) -> Claim | None:
        query = QUERIES["claim_key"]
        values = {
            **_scope(request),
            "request_hash": request.fingerprint,
            "ttl_seconds": ttl_seconds,
            "in_flight_seconds": in_flight_seconds,
        }
        row = await self._db.pool.fetchrow(query.sql, *query.args(values))
        return None if row is None else Claim(row["id"], row["created_at"])

    async def holder(self, request: KeyedRequest) -> Holder | None:
        query = QUERIES["find_key"]
        row = await self._db.pool.fetchrow(query.sql, *query.args(_scope(request)))
        if row is None:
            return None
        return Holder(
            fingerprint=row["request_hash"],
            status=row["response_status"],
            body=row["response_body"],
        )

    async def complete(self, claim: Claim, status: int, body: str) -> None:
        query = QUERIES["complete_key"]
        values = {"id": claim.id, "claimed_at": claim.claimed_at, "status": status, "body": body}
        await self._db.pool.execute(query.sql, *query.args(values))

    async def release(self, claim: Claim) -> None:
        query = QUERIES["release_key"]
        values = {"id": claim.id, "claimed_at": claim.claimed_at}
        await self._db.pool.execute(query.sql, *query.args(values))

    async def purge(self, batch: int) -> int:
        query = QUERIES["purge_keys"]
        status = await self._db.pool.execute(query.sql, *query.args({"batch": batch}))
        return int(status.rsplit(" ", 1)[-1])
