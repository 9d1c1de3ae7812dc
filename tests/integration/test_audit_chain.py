"""The audit log is append-only and its sealed batches are hash chained."""

from __future__ import annotations

import asyncpg
import pytest

from govflow.adapters.db.audit import append_audit
from govflow.adapters.db.audit_seals import seal_pending, verify_chain
from govflow.usecases.audit import AuditEntry


async def _append(conn: asyncpg.Connection, n: int) -> None:
    await append_audit(
        conn,
        [AuditEntry(action="TEST_EVENT", reason=f"r{i}", metadata={"i": i}) for i in range(n)],
    )


async def test_seals_chain_and_verification_finds_tampering(database_url: str) -> None:
    conn = await asyncpg.connect(database_url)
    try:
        await _append(conn, 7)
        first = await seal_pending(conn, settle_seconds=0, batch=5)
        assert (first.seals, first.rows) == (2, 7)
        await _append(conn, 3)
        assert (await seal_pending(conn, settle_seconds=0)).rows == 3
        assert (await seal_pending(conn, settle_seconds=0)).rows == 0
        report = await verify_chain(conn)
        assert report.ok
        assert (report.seals, report.rows) == (3, 10)

        with pytest.raises(asyncpg.RaiseError, match="append-only"):
            await conn.execute("UPDATE audit_logs SET reason = 'rewritten' WHERE id = 2")
        with pytest.raises(asyncpg.RaiseError, match="append-only"):
            await conn.execute("DELETE FROM audit_seals")

        # Someone with the rights to disable the guard rewrites history: the chain shows it.
        await conn.execute("ALTER TABLE audit_logs DISABLE TRIGGER audit_logs_no_update")
        await conn.execute("UPDATE audit_logs SET reason = 'rewritten' WHERE id = 2")
        await conn.execute("DELETE FROM audit_logs WHERE id = 9")
        tampered = await verify_chain(conn)
        assert not tampered.ok
        assert any("seal 1: rows 1..5 changed" in p for p in tampered.problems)
        assert any(
            p.startswith("seal 3: 2 rows in ids 8..10, 3 were sealed") for p in tampered.problems
        )
    finally:
        await conn.close()


async def test_rows_younger_than_the_settle_time_wait_for_the_next_seal(database_url: str) -> None:
    conn = await asyncpg.connect(database_url)
    try:
        await _append(conn, 2)
        assert (await seal_pending(conn, settle_seconds=3600)).rows == 0
    finally:
        await conn.close()
