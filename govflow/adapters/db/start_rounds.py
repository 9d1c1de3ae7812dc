"""Starting executions in rounds: the starts of one process that arrive together are created by
one statement (``create_executions`` in ``sql/starts.sql``), each with its own answer.

:class:`RoundStartWriter` is the ``ExecutionWriter`` port over :class:`GroupCommit`: a start
joins the round forming, and the round is sent by :meth:`PgStartRounds.send`. Each start keeps
its own meaning: its idempotency key, already used by its caller, gives it ``KeyTaken`` and its
neighbours are created; two starts with one key never share a round (the later one is in the
next round and finds the key taken, as if the two had come one after the other).

Execution ids are made here (UUIDv7, time-ordered like the column's default), before the
statement runs. When the round's statement fails - a lost connection, a deadlock, one start's
own bad value (a second child for one ``workflow`` step) - each start of the round is created
again by a statement of its own, so that the failure is only the answer of the start that
caused it. A start the failed statement did commit (the connection was lost after the commit)
is found by its id: its own statement meets its id, or its key, already there, and its answer is
the execution it created. Nothing is lost, and nothing is created twice, with or without a key.

A start marked ``only_current`` whose workflow has changed (a new version, deactivated, moved) is
answered ``WorkflowMoved`` and nothing of it is written; when its own statement finds the change
after its round's statement failed, it is looked for by its id first, since that round may have
created it before the change.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Hashable, Sequence
from typing import Any
from uuid import UUID

import asyncpg
import msgspec
from uuid6 import uuid7

from govflow.adapters.db.executions import existing_start
from govflow.adapters.db.group_commit import GroupCommit, RoundBounds
from govflow.adapters.db.queries import load_queries
from govflow.adapters.db.resilience import retryable
from govflow.usecases.start_execution import (
    CREATED_EVENT,
    KeyTaken,
    NewExecution,
    StartResult,
    WorkflowMoved,
)

QUERIES = load_queries("starts.sql")
_CREATE = QUERIES["create_executions"]
_CREATED = QUERIES["created_execution"]

Answer = StartResult | KeyTaken | WorkflowMoved

Created = dict[UUID, tuple[UUID, ...] | None]
"""The answer of a round's statement: each start it returned, with its steps runnable at once,
or ``None`` for one not written because its workflow changed (``only_current``)."""


class Start(msgspec.Struct, frozen=True):
    """A start in a round: the execution to create and the id it gets."""

    execution_id: UUID
    new: NewExecution

    @property
    def key(self) -> Hashable:
        """What two starts of one round must not share: the caller's idempotency key."""
        if self.new.idempotency_key is None:
            return self.execution_id
        return (self.new.idempotency_key, self.new.actor.user_id)


def new_start(new: NewExecution) -> Start:
    return Start(UUID(int=uuid7().int), new)


def round_values(starts: Sequence[Start]) -> dict[str, Any]:
    """``create_executions``'s parameters for ``starts``."""
    steps = [(start.execution_id, step) for start in starts for step in start.new.steps]
    news = [start.new for start in starts]
    return {
        "id": [start.execution_id for start in starts],
        "workflow_id": [n.workflow_id for n in news],
        "version_id": [n.version_id for n in news],
        "department_id": [n.department_id for n in news],
        "inputs": [msgspec.json.encode(dict(n.inputs)).decode() for n in news],
        "idempotency_key": [n.idempotency_key for n in news],
        "created_by": [n.actor.user_id for n in news],
        "vars": [msgspec.json.encode(dict(n.variables)).decode() for n in news],
        "timeout_seconds": [n.timeout_seconds for n in news],
        "parent_execution_id": [n.parent_execution_id for n in news],
        "parent_step_id": [n.parent_step_id for n in news],
        "depth": [n.depth for n in news],
        "runnable_steps": [n.runnable_steps for n in news],
        "actor_email": [n.actor.email for n in news],
        "request_id": [n.request_id for n in news],
        "trace_context": [
            msgspec.json.encode(n.trace_context).decode() if n.trace_context else None for n in news
        ],
        "only_current": [n.only_current for n in news],
        "step_execution_id": [execution_id for execution_id, _ in steps],
        "step_position": [s.position for _, s in steps],
        "step_key": [s.step_key for _, s in steps],
        "step_action": [s.action for _, s in steps],
        "step_max_attempts": [s.max_attempts for _, s in steps],
        "step_continue_on_error": [s.continue_on_error for _, s in steps],
        "step_needs_left": [s.needs_left for _, s in steps],
        "step_root": [s.root for _, s in steps],
        "step_dependents": [s.dependents for _, s in steps],
        "action": CREATED_EVENT,
    }


class PgStartRounds:
    """Sends a round of starts: one statement, or one per start when that one fails."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def send(self, starts: Sequence[Start]) -> list[Answer | BaseException]:
        """Each start's answer, by position: its execution, the one its key started before,
        or the exception its own statement met."""
        try:
            async with self._pool.acquire() as conn:
                created = await _create(conn, starts)
                return [await _answer(conn, start, created) for start in starts]
        except Exception as exc:
            if len(starts) == 1 and not retryable(exc):
                return [exc]  # the start's own failure: running it again would meet it again
        return [await self._alone(start) for start in starts]

    async def _alone(self, start: Start) -> Answer | BaseException:
        """``start`` created by a statement of its own (after its round's statement failed)."""
        try:
            async with self._pool.acquire() as conn:
                answer = await _answer(conn, start, await _create(conn, [start]))
                if isinstance(answer, KeyTaken) and answer.execution_id == start.execution_id:
                    return await _committed(conn, start)  # its key: taken by itself
                if isinstance(answer, WorkflowMoved):  # the failed round may have created it
                    return await _found(conn, start) or answer  # before the workflow changed
                return answer
        except Exception as exc:
            if not _id_taken(exc):
                return exc
        async with self._pool.acquire() as conn:  # its id: the failed round did create it
            return await _committed(conn, start)


def _id_taken(exc: Exception) -> bool:
    """Whether ``exc`` is a start's insert meeting its own execution id, already there."""
    return isinstance(exc, asyncpg.UniqueViolationError) and (
        exc.constraint_name == "executions_pkey"
    )


async def _create(conn: asyncpg.Connection, starts: Sequence[Start]) -> Created:
    rows = await conn.fetch(_CREATE.sql, *_CREATE.args(round_values(starts)))
    return {row["id"]: tuple(row["runnable_step_ids"]) if row["pinned"] else None for row in rows}


async def _answer(conn: asyncpg.Connection, start: Start, created: Created) -> Answer:
    if start.execution_id in created:
        runnable = created[start.execution_id]
        return WorkflowMoved() if runnable is None else _created(start, runnable)
    new = start.new
    if new.idempotency_key is None:
        raise RuntimeError(f"execution {start.execution_id} was neither created nor refused")
    return await existing_start(conn, new.idempotency_key, new.actor.user_id)


async def _committed(conn: asyncpg.Connection, start: Start) -> Answer:
    """The answer of ``start``, which an earlier statement created."""
    found = await _found(conn, start)
    assert found is not None
    return found


async def _found(conn: asyncpg.Connection, start: Start) -> StartResult | None:
    """The answer of ``start`` if an earlier statement created it."""
    roots = [step.position for step in start.new.steps if step.root]
    values = {"execution_id": start.execution_id, "positions": roots}
    row = await conn.fetchrow(_CREATED.sql, *_CREATED.args(values))
    return None if row is None else _created(start, tuple(row["runnable_step_ids"]))


def _created(start: Start, runnable: tuple[UUID, ...]) -> StartResult:
    return StartResult(
        execution_id=start.execution_id,
        workflow_id=start.new.workflow_id,
        first_step_id=runnable[0] if runnable else None,
        more_step_ids=runnable[1:],
        created=True,
    )


class RoundStartWriter:
    """The ``ExecutionWriter`` port: the starts that arrive together are created in one round.

    One round is written at a time (whatever ``bounds.max_in_flight`` says): the starts that
    arrive meanwhile form the next, and a start whose key was in the round being written is
    sent only once that round has answered, so it finds the earlier start's execution.
    """

    def __init__(
        self,
        pool: asyncpg.Pool,
        bounds: RoundBounds,
        observe_round: Callable[[int], None] | None = None,
    ) -> None:
        """:param observe_round: told the size of each round sent (a metric)."""
        self.rounds: GroupCommit[Start, Answer] = GroupCommit(
            send=PgStartRounds(pool).send,
            key=lambda start: start.key,
            bounds=dataclasses.replace(bounds, max_in_flight=1),
            observe=observe_round,
        )

    async def create(self, new: NewExecution) -> Answer:
        return await self.rounds.submit(new_start(new))

    async def close(self) -> None:
        """Wait for the rounds being formed and sent."""
        await self.rounds.close()
