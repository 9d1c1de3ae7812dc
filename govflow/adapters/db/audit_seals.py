"""Sealing the audit log off the hot path, anchoring each seal outside PostgreSQL, verifying.

Sealing continues the *anchored* chain, not merely the newest seal in the database: if the
newest anchored seal is missing or changed in the database, nothing more is sealed (a new seal
would bury the gap) and :class:`SealRefused` names the problem. A seal is anchored after its
transaction commits; a crash in between leaves a valid seal unanchored, which the next run
anchors once its MAC and link check out.
"""

from __future__ import annotations

import asyncio
import logging

import asyncpg
import msgspec

from govflow.adapters.audit_sealing import AuditSealing
from govflow.adapters.audit_witness import post_head
from govflow.core.audit_chain import GENESIS, SealHead, chain_hash, mac_ok, signed
from govflow.core.audit_verification import SealCheck, anchor_problems, seal_problems

log = logging.getLogger(__name__)

SEAL_LOCK_KEY = 0x60F10_0002
SETTLE_SECONDS = 30
"""Rows younger than this are left for the next seal: a transaction that took an earlier id
may still be committing."""
BATCH = 5000
MAX_SEALS = 100
"""Seals written by one call (one transaction); the next call goes on."""

_ROWS = """
SELECT id, occurred_at, action, actor_id, actor_email, entity_type, entity_id, department_id,
       request_id, reason, metadata::text
  FROM audit_logs WHERE id > $1 AND id <= $2 ORDER BY audit_logs.id
"""
"""The sealed columns, in the order of :data:`~govflow.core.audit_chain.SEALED_COLUMNS` (a test
compares them)."""

_PENDING = """
SELECT max(id) FROM (
    SELECT id FROM audit_logs
     WHERE id > $1 AND occurred_at < now() - make_interval(secs => $2)
     ORDER BY id LIMIT $3) batch
"""

_SEAL_BY_ID = """
SELECT id, first_id, last_id, row_count, previous_hash, hash, mac FROM audit_seals WHERE id = $1
"""
_SEALS_AFTER = """
SELECT id, first_id, last_id, row_count, previous_hash, hash, mac FROM audit_seals
 WHERE last_id > $1 ORDER BY last_id
"""
_NEWEST_SEAL = """
SELECT id, first_id, last_id, row_count, previous_hash, hash, mac FROM audit_seals
 ORDER BY last_id DESC LIMIT 1
"""
_ALL_SEALS = """
SELECT id, first_id, last_id, row_count, previous_hash, hash, mac FROM audit_seals
 ORDER BY last_id
"""
_INSERT_SEAL = """
INSERT INTO audit_seals (id, first_id, last_id, row_count, previous_hash, hash, mac)
VALUES ($1, $2, $3, $4, $5, $6, $7)
"""


class SealRefused(Exception):
    """The database's chain does not continue the anchored one; sealing more would hide it."""


class SealReport(msgspec.Struct, frozen=True, kw_only=True):
    seals: int = 0
    rows: int = 0
    caught_up: int = 0
    """Seals already in the database that this call anchored (left unanchored by a crash)."""
    busy: bool = False
    """Another process held the anchor's lock; nothing was done."""


class VerifyReport(msgspec.Struct, frozen=True, kw_only=True):
    seals: int
    rows: int
    anchored: int
    unsealed: int
    problems: list[str]

    @property
    def ok(self) -> bool:
        return not self.problems


def _head(row: asyncpg.Record) -> SealHead:
    return SealHead(
        id=row["id"],
        first_id=row["first_id"],
        last_id=row["last_id"],
        row_count=row["row_count"],
        previous_hash=row["previous_hash"],
        hash=row["hash"],
        mac=row["mac"],
    )


async def _seal(conn: asyncpg.Connection, seal_id: int) -> SealHead | None:
    row = await conn.fetchrow(_SEAL_BY_ID, seal_id)
    return _head(row) if row else None


async def _anchored_head(
    conn: asyncpg.Connection, sealing: AuditSealing
) -> tuple[SealHead | None, int]:
    """The head to continue from: the anchored one, after anchoring valid seals that follow it
    (their number is returned too).

    :raises SealRefused: the anchor is missing or unreadable while seals exist, or the database
        no longer holds the anchored head, or a later seal does not continue it.
    """
    anchor = await asyncio.to_thread(sealing.anchor.read)
    where = sealing.anchor.path
    if not anchor.present:
        stored = await conn.fetchval("SELECT count(*) FROM audit_seals")
        if stored:
            raise SealRefused(
                f"the anchor file {where} is missing but the database holds {stored} seal(s): "
                "restore the file (or point AUDIT_ANCHOR_PATH at it)"
            )
        await asyncio.to_thread(sealing.anchor.create)
        head = None
    else:
        if anchor.unreadable:
            raise SealRefused(
                f"the anchor file {where} has unreadable lines {anchor.unreadable}: "
                "run `govflow audit verify`"
            )
        head = anchor.heads[-1] if anchor.heads else None
        if head is not None and await _seal(conn, head.id) != head:
            raise SealRefused(
                f"seal {head.id}, the newest anchored in {where}, is missing or changed in the "
                "database: run `govflow audit verify`"
            )
    later = await conn.fetch(
        _SEALS_AFTER,
        head.last_id if head else 0,
    )
    unanchored: list[SealHead] = []
    for row in later:
        candidate = _head(row)
        previous = head.hash if head else GENESIS
        if candidate.previous_hash != previous or not mac_ok(sealing.key, candidate):
            raise SealRefused(
                f"seal {candidate.id} in the database does not continue the anchored chain: "
                "run `govflow audit verify`"
            )
        unanchored.append(candidate)
        head = candidate
    if unanchored:
        await asyncio.to_thread(sealing.anchor.append, unanchored)
        log.warning("anchored %d seal(s) a crash had left unanchored", len(unanchored))
    return head, len(unanchored)


async def _seal_batches(
    conn: asyncpg.Connection,
    key: bytes,
    head: SealHead | None,
    *,
    settle_seconds: float,
    batch: int,
    max_seals: int,
) -> list[SealHead]:
    """Seal the settled rows after ``head`` in one transaction; return the new seals."""
    new: list[SealHead] = []
    async with conn.transaction():
        if not await conn.fetchval("SELECT pg_try_advisory_xact_lock($1)", SEAL_LOCK_KEY):
            return new
        newest = await conn.fetchrow(_NEWEST_SEAL)
        if (_head(newest) if newest else None) != head:
            return new  # sealed meanwhile by a process with another anchor: catch up next time
        after, previous = (head.last_id, head.hash) if head else (0, GENESIS)
        while len(new) < max_seals:
            upto = await conn.fetchval(_PENDING, after, settle_seconds, batch)
            if upto is None:
                break
            records = await conn.fetch(_ROWS, after, upto)
            rows = [tuple(r) for r in records]
            seal_id = await conn.fetchval(
                "SELECT nextval(pg_get_serial_sequence('audit_seals', 'id'))"
            )
            seal = signed(
                key,
                SealHead(
                    id=seal_id,
                    first_id=records[0]["id"],
                    last_id=upto,
                    row_count=len(rows),
                    previous_hash=previous,
                    hash=chain_hash(previous, rows),
                ),
            )
            await conn.execute(
                _INSERT_SEAL,
                seal.id,
                seal.first_id,
                seal.last_id,
                seal.row_count,
                seal.previous_hash,
                seal.hash,
                seal.mac,
            )
            new.append(seal)
            after, previous = seal.last_id, seal.hash
    return new


async def seal_pending(
    conn: asyncpg.Connection,
    sealing: AuditSealing,
    *,
    settle_seconds: float = SETTLE_SECONDS,
    batch: int = BATCH,
    max_seals: int = MAX_SEALS,
) -> SealReport:
    """Seal the audit rows not sealed yet (older than ``settle_seconds``) and anchor the seals.

    :raises SealRefused: the chain in the database does not continue the anchored one.
    """
    with sealing.anchor.locked() as mine:
        if not mine:
            return SealReport(busy=True)
        head, caught_up = await _anchored_head(conn, sealing)
        new = await _seal_batches(
            conn,
            sealing.key,
            head,
            settle_seconds=settle_seconds,
            batch=batch,
            max_seals=max_seals,
        )
        await asyncio.to_thread(sealing.anchor.append, new)
    if new and sealing.witness_url:
        try:
            await post_head(sealing.witness_url, new[-1])
        except Exception as exc:  # the witness is best effort; the next seal sends a newer head
            log.warning("audit witness %s not reached: %s", sealing.witness_url, exc)
    return SealReport(seals=len(new), rows=sum(seal.row_count for seal in new), caught_up=caught_up)


async def verify_chain(conn: asyncpg.Connection, sealing: AuditSealing) -> VerifyReport:
    """Recompute every seal and compare the chain with the anchor; name every problem."""
    heads = [_head(row) for row in await conn.fetch(_ALL_SEALS)]
    checks: list[SealCheck] = []
    after = 0
    for head in heads:
        records = await conn.fetch(_ROWS, after, head.last_id)
        rows = [tuple(r) for r in records]
        checks.append(
            SealCheck(
                head=head,
                after=after,
                rows=len(rows),
                first_row=records[0]["id"] if records else None,
                hash=chain_hash(head.previous_hash, rows),
            )
        )
        after = head.last_id
    anchor = await asyncio.to_thread(sealing.anchor.read)
    unsealed = await conn.fetchval("SELECT count(*) FROM audit_logs WHERE id > $1", after)
    return VerifyReport(
        seals=len(heads),
        rows=sum(check.rows for check in checks),
        anchored=len(anchor.heads),
        unsealed=unsealed,
        problems=seal_problems(sealing.key, checks) + anchor_problems(sealing.key, heads, anchor),
    )
