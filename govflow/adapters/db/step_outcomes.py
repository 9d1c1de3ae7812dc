"""What a claim or a finish did when its reply was lost with its connection.

A step statement that met a lost connection is run again on a fresh one
(:mod:`govflow.adapters.db.resilience`). When that second run finds nothing to do, the first one
may have committed unseen: a finish whose step already holds the result, a claim whose step is
already ``RUNNING`` for this worker. These reads tell, so that the worker goes on with the step
it owns instead of leaving it to lease-expiry recovery, which would run its action again.

They are only read after a lost connection, never on the hot path.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

import asyncpg

from govflow.adapters.db.queries import load_queries
from govflow.core.statuses import StepStatus
from govflow.usecases.ports import ClaimedStep, StepFinish

CLAIMED_BY = load_queries("steps.sql")["claimed_by"]
"""The claim's columns for a step this worker already holds: RUNNING under its lease, the action
not started, and the attempt row of the current token its own."""

FINISH_OUTCOME = load_queries("steps.sql")["finish_outcome"]
"""Whether a finish with the claim's token applied, and the next step as it is now."""


async def finish_outcome(
    conn: asyncpg.Connection, claim: ClaimedStep, finish: StepFinish, worker: str
) -> dict[str, Any]:
    """The finish statement's result row, as the finish with ``claim``'s token left it.

    ``step_id`` and the other claimed columns are set only when that finish claimed the next
    step for ``worker`` (and it still holds it); ``released_id`` only when it released it.
    """
    row = await conn.fetchrow(
        FINISH_OUTCOME.sql,
        *FINISH_OUTCOME.args(
            {
                "step_id": claim.step_id,
                "token": claim.fencing_token,
                "execution_id": claim.execution_id,
                "position": claim.position,
            }
        ),
    )
    assert row is not None  # one row, always
    result = dict(row)
    applied = bool(result["applied"])
    ours = (
        applied
        and finish.claim_next is not None
        and result["next_status"] == finish.claim_next.step_status
        and result["next_owner"] == worker
    )
    if not ours:
        for column in ("step_id", "execution_id", "position", "step_key", "action", "attempt"):
            result[column] = None
        result["fencing_token"] = result["idempotency_key"] = None
    released = applied and finish.release_next and result["next_status"] == StepStatus.PENDING
    result["released_id"] = row["step_id"] if released else None
    return result


class Grants:
    """The (step, fencing token) pairs this process was handed, the most recent ones.

    A token is granted by the database to exactly one statement. A claim whose reply was lost
    and whose re-read finds the step held by this worker cannot tell its own grant from one that
    another call of this process (a duplicate wake-up of the same step) received: whichever
    call takes the pair here first runs the step; the other one gets nothing.
    """

    def __init__(self, size: int = 10_000) -> None:
        self._size = size
        self._taken: dict[tuple[UUID, int], None] = {}

    def take(self, step_id: UUID, token: int) -> bool:
        """Record the pair; ``False`` when a call of this process took it already."""
        key = (step_id, token)
        if key in self._taken:
            return False
        self._taken[key] = None
        if len(self._taken) > self._size:
            del self._taken[next(iter(self._taken))]
        return True
