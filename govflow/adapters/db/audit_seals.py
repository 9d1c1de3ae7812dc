"""Sealing the audit log off the hot path, and verifying the chain of seals."""

from __future__ import annotations

import asyncpg
import msgspec

from govflow.core.audit_chain import GENESIS, SEALED_COLUMNS, chain_hash

SEAL_LOCK_KEY = 0x60F10_0002
SETTLE_SECONDS = 30
"""Rows younger than this are left for the next seal: a transaction that took an earlier id
may still be committing."""
BATCH = 5000

_ROWS = f"""
SELECT {", ".join(f"{c}::text" for c in SEALED_COLUMNS)}
  FROM audit_logs WHERE id > $1 AND id <= $2 ORDER BY id
"""

_PENDING = """
SELECT max(id) FROM (
    SELECT id FROM audit_logs
     WHERE id > $1 AND occurred_at < now() - make_interval(secs => $2)
     ORDER BY id LIMIT $3) batch
"""


class SealReport(msgspec.Struct, frozen=True, kw_only=True):
    seals: int = 0
    rows: int = 0


class VerifyReport(msgspec.Struct, frozen=True, kw_only=True):
    seals: int
    rows: int
    problems: list[str]

    @property
    def ok(self) -> bool:
        return not self.problems


async def seal_pending(
    conn: asyncpg.Connection, *, settle_seconds: float = SETTLE_SECONDS, batch: int = BATCH
) -> SealReport:
    """Seal the audit rows not sealed yet (older than ``settle_seconds``), in batches."""
    seals = rows = 0
    async with conn.transaction():
        if not await conn.fetchval("SELECT pg_try_advisory_xact_lock($1)", SEAL_LOCK_KEY):
            return SealReport()
        while True:
            last = await conn.fetchrow(
                "SELECT last_id, hash FROM audit_seals ORDER BY last_id DESC LIMIT 1"
            )
            after, previous = (last["last_id"], last["hash"]) if last else (0, GENESIS)
            upto = await conn.fetchval(_PENDING, after, settle_seconds, batch)
            if upto is None:
                return SealReport(seals=seals, rows=rows)
            batch_rows = [tuple(r) for r in await conn.fetch(_ROWS, after, upto)]
            await conn.execute(
                "INSERT INTO audit_seals (first_id, last_id, row_count, previous_hash, hash) "
                "VALUES ($1, $2, $3, $4, $5)",
                int(batch_rows[0][0]),  # type: ignore[call-overload]
                upto,
                len(batch_rows),
                previous,
                chain_hash(previous, batch_rows),
            )
            seals += 1
            rows += len(batch_rows)


async def verify_chain(conn: asyncpg.Connection) -> VerifyReport:
    """Recompute every seal; name each one whose rows or link no longer match."""
    problems: list[str] = []
    previous, after, count, total = GENESIS, 0, 0, 0
    for seal in await conn.fetch("SELECT * FROM audit_seals ORDER BY last_id"):
        count += 1
        if seal["previous_hash"] != previous:
            problems.append(f"seal {seal['id']}: not linked to the seal before it")
        rows = [tuple(r) for r in await conn.fetch(_ROWS, after, seal["last_id"])]
        total += len(rows)
        if len(rows) != seal["row_count"]:
            problems.append(
                f"seal {seal['id']}: {len(rows)} rows in ids {after + 1}..{seal['last_id']}, "
                f"{seal['row_count']} were sealed"
            )
        if chain_hash(seal["previous_hash"], rows) != seal["hash"]:
            problems.append(
                f"seal {seal['id']}: rows {after + 1}..{seal['last_id']} changed since sealed"
            )
        previous, after = seal["hash"], seal["last_id"]
    return VerifyReport(seals=count, rows=total, problems=problems)
