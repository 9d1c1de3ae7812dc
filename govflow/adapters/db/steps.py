"""The engine's statements, run: claiming, finishing and recovering execution steps.

The statements are the named queries of ``sql/steps.sql``; each is one statement (one implicit
transaction, one round trip) that carries out a decision of the pure engine, passed in as
parameters, and re-checks the guards the decision was made under. A finish picks the one
complete query for the shape of its decision (the execution's status changes or stays; the
next step is claimed, released or neither; a human task is opened).

A statement met by a lost connection is run again on a fresh one (:mod:`.resilience`); the
guards make a second run of a statement that did commit change nothing, and a claim or finish
whose second run finds nothing to do reads what its first run did (:mod:`.step_outcomes`).
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, TypeVar
from uuid import UUID

import asyncpg
import msgspec

from govflow.adapters.db.audit import append_audit
from govflow.adapters.db.group_commit import GroupCommit, RoundBounds
from govflow.adapters.db.queries import Query, load_queries
from govflow.adapters.db.resilience import DEFAULT_POLICY, Resilient, RetryPolicy, connection_lost
from govflow.adapters.db.step_outcomes import CLAIMED_BY, Grants, finish_outcome
from govflow.core.idempotency import Idempotency
from govflow.core.statuses import ExecutionStatus, StepStatus
from govflow.usecases.audit import AuditEntry
from govflow.usecases.ports import (
    ClaimedStep,
    ClaimOrder,
    ExecutionContext,
    ExpiredStep,
    FinishResult,
    StepFinish,
)

log = logging.getLogger("govflow.db")

_encode = msgspec.json.encode
_decode = msgspec.json.decode

QUERIES = load_queries("steps.sql")
"""The engine's statements, by name."""

_FINISH: dict[tuple[bool, str, bool], Query] = {
    # (the execution's status changes, what happens to the next step, a human task): the query
    (False, "none", False): QUERIES["finish_step"],
    (False, "claim", False): QUERIES["finish_step_claim_next"],
    (False, "release", False): QUERIES["finish_step_release_next"],
    (True, "none", False): QUERIES["finish_execution"],
    (True, "claim", False): QUERIES["finish_execution_claim_next"],
    (True, "release", False): QUERIES["finish_execution_release_next"],
    (True, "none", True): QUERIES["finish_suspended"],
    (True, "handlers", False): QUERIES["finish_execution_start_handlers"],
}


ROUND = load_queries("step_rounds.sql")["step_round"]
"""A round of claims and of finishes of the shapes in ``ROUND_SHAPES``, one statement for all."""

CLAIM_ROUND = load_queries("step_rounds.sql")["claim_steps"]
"""A round of claims only."""

FINISH_ROUND = load_queries("step_rounds.sql")["finish_steps"]
"""A round of finishes only."""

ROUND_SHAPES = frozenset(
    QUERIES[name]
    for name in (
        "finish_step",
        "finish_step_claim_next",
        "finish_execution",
        "finish_execution_claim_next",
    )
)
"""The finishes a round carries: those of a list's steps that open no task and release no step."""


@dataclass(frozen=True, slots=True)
class _Claiming:
    """A claim waiting for its round."""

    step_id: UUID
    worker: str
    lease: timedelta
    order: ClaimOrder


@dataclass(frozen=True, slots=True)
class _Finishing:
    """A finish waiting for its round: the claim it ends and the engine's decision."""

    claim: ClaimedStep
    finish: StepFinish
    worker: str
    lease: timedelta


_Work = _Claiming | _Finishing
"""A claim or a finish waiting for its round."""

DEFERRED = object()
"""A round's answer to a finish it left out (a step of its execution was claimed in the round,
and no row is changed twice by one statement): the finish goes in the next round."""

_T = TypeVar("_T")
_R = TypeVar("_R")


def finish_query(finish: StepFinish) -> Query:
    """The complete query that carries out ``finish``; ``ValueError`` for a shape none does."""
    following = "claim" if finish.claim_next else "release" if finish.release_next else "none"
    if finish.start_handlers_at is not None:
        following = "handlers"
    if (
        finish.release_dependents is not None
        or finish.cancel_from is not None
        or finish.follow_branches is not None
    ):
        return _graph_finish_query(finish)
    shape = (finish.execution_status is not None, following, finish.human_task is not None)
    query = _FINISH.get(shape)
    if query is None:
        raise ValueError(f"no finish statement carries out {shape!r}")
    return query


def _graph_finish_query(finish: StepFinish) -> Query:
    """The finish of a step of a graph: it releases the steps that need it, or waits (the
    execution's status following its open steps), or fails the execution and cancels its open
    branches."""
    plain = finish.human_task is None and finish.claim_next is None and not finish.release_next
    going_on = finish.claim_next is None and not finish.release_next
    if finish.cancel_from is not None:
        if plain and finish.execution_status is not None and finish.release_dependents is None:
            return QUERIES["finish_execution_cancel_branches"]
    elif finish.execution_status is not None or finish.follow_branches is None or not going_on:
        pass
    elif finish.release_dependents is not None and finish.human_task is None:
        return QUERIES["finish_step_release_dependents"]
    elif finish.release_dependents is None and finish.step_status is StepStatus.WAITING:
        return QUERIES["finish_suspended_branch"]
    raise ValueError(f"no finish statement of a graph carries out {finish!r}")


def _claim_values(order: ClaimOrder) -> dict[str, Any]:
    return {"rules": _encode(order.rules).decode()}


def _finish_values(
    claim: ClaimedStep, finish: StepFinish, worker: str, lease: timedelta
) -> dict[str, Any]:
    """The parameters of ``finish``'s query, by name (only those of its shape)."""
    audit = finish.audit
    values: dict[str, Any] = {
        "step_id": claim.step_id,
        "token": claim.fencing_token,
        "execution_id": claim.execution_id,
        "execution_from": finish.execution_from,
        "position": claim.position,
        "status": finish.step_status,
        "output": _json(finish.output),
        "error": _json(finish.error),
        "outcome": finish.outcome,
        "retry_in": (
            max(0.0, finish.retry_in.total_seconds()) if finish.retry_in is not None else 0.0
        ),
        "wait_reason": finish.wait_reason,
        "department": claim.department_id,
        "a_action": [e.action for e in audit],
        "a_entity_type": [e.entity_type for e in audit],
        "a_entity_id": [e.entity_id for e in audit],
        "a_reason": [e.reason for e in audit],
        "a_metadata": [_encode(dict(e.metadata)).decode() for e in audit],
    }
    if finish.execution_status is not None:
        values["execution_status"] = finish.execution_status
        failed = finish.execution_status is ExecutionStatus.FAILED
        values["execution_error"] = values["error"] if failed else None
    if finish.human_task is not None:
        values["task"] = _json(finish.human_task)
    next_claim = finish.claim_next
    if next_claim is not None:
        if next_claim.execution_becomes is not None:
            raise ValueError("a next step is claimed only in an execution that keeps its status")
        values["worker"] = worker
        values["lease"] = lease.total_seconds()
        values["next_when"] = next_claim.execution_status
        values["next_status"] = next_claim.step_status
        values["next_audit"] = _encode(next_claim.audit).decode()
    elif finish.release_next:
        values["next_when"] = finish.execution_status or finish.execution_from
    if finish.start_handlers_at is not None:
        values["handlers_from"] = finish.start_handlers_at
    if finish.release_dependents is not None:
        values["dependents"] = list(finish.release_dependents)
    if finish.follow_branches is not None:
        values["branch_rules"] = _encode(finish.follow_branches).decode()
        if finish.release_dependents is None:
            values["task"] = _json(finish.human_task)
    if finish.cancel_from is not None:
        values["cancel_from"] = sorted(finish.cancel_from)
        values["cancel_reason"] = finish.cancel_reason
        values.setdefault("handlers_from", None)
    return values


def _round_values(
    finishes: Sequence[_Finishing], claims: Sequence[_Claiming], worker: str, lease: timedelta
) -> dict[str, Any]:
    """The parameters of :data:`ROUND` for one worker and one lease: one array element per
    finish and the audit records of all, each naming its row (from 1); the claimed steps and
    their claim rules (those of the first claim: a round's claims share them)."""
    values: dict[str, Any] = {name: [] for name in ROUND.params}
    for row, finishing in enumerate(finishes, start=1):
        finish = finishing.finish
        one = _finish_values(finishing.claim, finish, worker, lease)
        for name in _ROUND_COLUMNS:
            values[name].append(one.get(name))
        for entry in finish.audit:
            values["a_row"].append(row)
            values["a_action"].append(entry.action)
            values["a_entity_type"].append(entry.entity_type)
            values["a_entity_id"].append(entry.entity_id)
            values["a_reason"].append(entry.reason)
            values["a_metadata"].append(_encode(dict(entry.metadata)).decode())
    values["claim_id"] = [claiming.step_id for claiming in claims]
    values["rules"] = _claim_values(claims[0].order)["rules"] if claims else "[]"
    return values | {"worker": worker, "lease": lease.total_seconds()}


_ROUND_COLUMNS = (
    "step_id",
    "token",
    "execution_id",
    "position",
    "execution_from",
    "execution_status",
    "execution_error",
    "status",
    "output",
    "error",
    "outcome",
    "retry_in",
    "wait_reason",
    "department",
    "next_when",
    "next_status",
    "next_audit",
)
"""The per-row parameters of a round, as ``_finish_values`` names them."""


def _claimed(row: Mapping[str, Any]) -> ClaimedStep:
    return ClaimedStep(
        step_id=row["step_id"],
        execution_id=row["execution_id"],
        workflow_version_id=row["workflow_version_id"],
        department_id=row["department_id"],
        position=row["position"],
        step_key=row["step_key"],
        action=row["action"],
        attempt=row["attempt"],
        fencing_token=row["fencing_token"],
        idempotency_key=row["idempotency_key"],
        execution_status=ExecutionStatus(row["execution_status"]),
        queue_lag_seconds=max(0.0, float(row.get("lag") or 0.0)),
    )


def _json(value: Mapping[str, Any] | None) -> str | None:
    return None if value is None else _encode(value).decode()


def _step(claim: ClaimedStep, statement: str) -> Callable[[], str]:
    """Names a statement and its step for the log, built only when a connection is lost."""
    return lambda: (
        f"{statement} of step {claim.step_key} (step {claim.step_id}, execution "
        f"{claim.execution_id}, attempt {claim.attempt}, token {claim.fencing_token})"
    )


class _RoundFailed(Exception):
    """A round's statement failed as a whole; ``lost``: with its connection (it may have
    committed unseen)."""

    def __init__(self, lost: bool) -> None:
        super().__init__(lost)
        self.lost = lost


async def _each(
    round_: Sequence[_T], alone: Callable[[_T], Awaitable[_R]]
) -> list[_R | BaseException]:
    """Each item of ``round_`` in a statement of its own, all at once (as they would have gone
    without rounds); each answered with its result or its own error."""
    if len(round_) == 1:  # a round of one: no task to gather it
        try:
            return [await alone(round_[0])]
        except Exception as exc:
            return [exc]
    answers = await asyncio.gather(*(alone(item) for item in round_), return_exceptions=True)
    for answer in answers:
        if isinstance(answer, BaseException) and not isinstance(answer, Exception):
            raise answer  # a cancellation or an exit is no item's answer
    return answers


def _key_of(work: _Work) -> UUID:
    """A round claims each step once and holds one finish per execution."""
    return work.claim.execution_id if isinstance(work, _Finishing) else work.step_id


class PgStepStore:
    """The ``StepStore`` port over an asyncpg pool."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        policy: RetryPolicy = DEFAULT_POLICY,
        rounds: RoundBounds | None = None,
        round_pool: asyncpg.Pool | None = None,
        observe_round: Callable[[str, int], None] | None = None,
    ) -> None:
        """:param rounds: group the finishes into rounds so (``None``: one statement each).
        :param round_pool: the connections that send the rounds, and the claims and finishes
            of one step (``Database.round_pool``: each statement planned once, for key
            lookups); ``pool`` without it."""
        self._pool = pool
        self._round_pool = round_pool or pool
        self._db = Resilient(pool, policy)
        self._keyed = Resilient(self._round_pool, policy)
        """The claims and the finishes of the rounds' shapes, one step at a time: on the round
        connections, whose plans are made once."""
        self._grants = Grants()
        self._observe = observe_round
        self.rounds: GroupCommit[_Work, Any] | None = None
        """Claims and finishes grouped into rounds (``None``: one statement each)."""
        if rounds is not None:
            self.rounds = GroupCommit(self._round, _key_of, rounds)

    async def claim(
        self, step_id: UUID, worker: str, lease: timedelta, order: ClaimOrder
    ) -> tuple[ClaimedStep, ExecutionContext] | None:
        if self.rounds is not None:
            row = await self.rounds.submit(_Claiming(step_id, worker, lease, order))
        else:
            row = await self._claim_one(_Claiming(step_id, worker, lease, order))
        if row is None:
            return None
        claim = _claimed(row)
        if not self._grants.take(claim.step_id, claim.fencing_token):
            return None  # another call of this process was handed this claim
        return claim, ExecutionContext(
            execution_id=claim.execution_id,
            workflow_name=row["workflow_name"],
            inputs=_decode(row["inputs"]),
            variables=_decode(row["vars"]),
            steps=_decode(row["steps"]) if row["steps"] else {},
            error=_decode(row["execution_error"]) if row["execution_error"] else None,
            parent_execution_id=row["parent_execution_id"],
        )

    async def _claim_one(
        self, claiming: _Claiming, maybe_committed: bool = False
    ) -> Mapping[str, Any] | None:
        """The claim statement's row for one step (``None``: not claimed); ``maybe_committed``:
        a round holding it lost its connection, so a step found not claimable is read back."""
        step_id, worker = claiming.step_id, claiming.worker
        query = QUERIES["claim_step"]
        args = query.args(
            {"step_id": step_id, "worker": worker, "lease": claiming.lease.total_seconds()}
            | _claim_values(claiming.order)
        )
        runs = 1 if maybe_committed else 0

        async def claim_step(conn: asyncpg.Connection) -> asyncpg.Record | None:
            nonlocal runs
            runs += 1
            return await conn.fetchrow(query.sql, *args)

        def what() -> str:
            return f"claim of step {step_id} for {worker}"

        row = await self._keyed.run(claim_step, what)
        if row is None and runs > 1:  # the first run may have committed unseen
            mine = CLAIMED_BY.args({"step_id": step_id, "worker": worker})
            row = await self._keyed.run(lambda conn: conn.fetchrow(CLAIMED_BY.sql, *mine), what)
        return row

    async def _round(self, round_: Sequence[_Work]) -> list[Any]:
        """Send ``round_`` as one statement (:data:`ROUND`, or :data:`CLAIM_ROUND` /
        :data:`FINISH_ROUND` for a round of one kind, whose statements leave the other kind's
        part out); when it fails as a whole, or holds one item, or items of different workers,
        leases or claim rules, each item goes alone, so that each meets only its own error. A
        claim is answered with its row or ``None``, a finish with its :class:`FinishResult` or
        :data:`DEFERRED`."""
        finishes = [work for work in round_ if isinstance(work, _Finishing)]
        claims = [work for work in round_ if isinstance(work, _Claiming)]
        if self._observe is not None:
            for kind, items in (("finishes", finishes), ("claims", claims)):
                if items:
                    self._observe(kind, len(items))
        worker, lease = round_[0].worker, round_[0].lease
        alike = all(work.worker == worker and work.lease == lease for work in round_) and all(
            claiming.order is claims[0].order for claiming in claims
        )
        if len(round_) == 1 or not alike:
            return await _each(round_, self._alone)
        query = ROUND if claims and finishes else CLAIM_ROUND if claims else FINISH_ROUND
        args = query.args(_round_values(finishes, claims, worker, lease))
        try:
            rows = await self._send_round(query, args)
        except _RoundFailed as failed:
            return await _each(round_, functools.partial(self._alone, maybe_committed=failed.lost))
        if query is ROUND:  # the finishes' rows (by their number), then the claimed steps
            claimed = [row for row in rows if row["taken"]]
            rows = sorted((row for row in rows if not row["taken"]), key=lambda r: r["n"])
        else:
            claimed, rows = (rows, []) if claims else ([], rows)
        finished = iter(rows)
        taken = {row["step_id"]: row for row in claimed}
        answers: list[Any] = []
        for work in round_:
            if isinstance(work, _Claiming):
                answers.append(taken.get(work.step_id))
                continue
            row = next(finished)
            answers.append(
                DEFERRED if row.get("deferred") else self._result(work.claim, work.finish, row)
            )
        return answers

    async def _alone(self, work: _Work, maybe_committed: bool = False) -> Any:
        """``work`` in its own statement (``maybe_committed``: see :meth:`_claim_one` and
        :meth:`_finish_one`)."""
        if isinstance(work, _Claiming):
            return await self._claim_one(work, maybe_committed)
        return await self._finish_one(
            work.claim, work.finish, work.worker, work.lease, maybe_committed, on=self._keyed
        )

    async def _send_round(self, query: Query, args: Sequence[Any]) -> list[asyncpg.Record]:
        """``query`` on a round connection; :class:`_RoundFailed` when it fails as a whole."""
        conn: asyncpg.Connection | None = None
        try:
            async with self._round_pool.acquire() as conn:
                rows: list[asyncpg.Record] = await conn.fetch(query.sql, *args)
                return rows
        except Exception as exc:
            lost = connection_lost(exc, conn)
            if lost:
                await self._round_pool.expire_connections()
            log.warning("a round (%s) failed (%r); each of it goes alone", query.name, exc)
            raise _RoundFailed(lost) from exc

    async def mark_attempt_started(
        self, claim: ClaimedStep, idempotency: Idempotency, params: Mapping[str, Any]
    ) -> bool:
        query = QUERIES["mark_attempt_started"]
        args = query.args(
            {
                "step_id": claim.step_id,
                "token": claim.fencing_token,
                "idempotency": idempotency.value,
                "params": _json(params),
            }
        )
        status = await self._db.run(
            lambda conn: conn.execute(query.sql, *args),
            _step(claim, "marking the attempt start"),
        )
        return bool(status == "UPDATE 1")

    async def extend_lease(self, claim: ClaimedStep, lease: timedelta) -> bool:
        query = QUERIES["extend_lease"]
        args = query.args(
            {"step_id": claim.step_id, "token": claim.fencing_token, "lease": lease.total_seconds()}
        )
        status = await self._db.run(
            lambda conn: conn.execute(query.sql, *args), _step(claim, "lease renewal")
        )
        return bool(status == "UPDATE 1")

    async def finish(
        self, claim: ClaimedStep, finish: StepFinish, worker: str, lease: timedelta
    ) -> FinishResult:
        if self.rounds is not None and finish_query(finish) in ROUND_SHAPES:
            while True:
                result = await self.rounds.submit(_Finishing(claim, finish, worker, lease))
                if result is not DEFERRED:
                    return result  # type: ignore[no-any-return]
        return await self._finish_one(claim, finish, worker, lease, on=self._db)

    async def _finish_one(
        self,
        claim: ClaimedStep,
        finish: StepFinish,
        worker: str,
        lease: timedelta,
        maybe_committed: bool = False,
        *,
        on: Resilient,
    ) -> FinishResult:
        """``finish`` alone, in its own statement, on ``on``'s connections; ``maybe_committed``:
        a round holding it lost its connection, so a finish found not applied is read back (it
        may be the round's)."""
        query = finish_query(finish)
        args = query.args(_finish_values(claim, finish, worker, lease))
        runs = 1 if maybe_committed else 0

        async def finish_step(conn: asyncpg.Connection) -> Mapping[str, Any] | None:
            nonlocal runs
            runs += 1
            result: Mapping[str, Any] | None = await conn.fetchrow(query.sql, *args)
            return result

        what = _step(claim, "finish")
        row = await on.run(finish_step, what)
        assert row is not None
        if not row["applied"] and runs > 1:  # the first run may have committed unseen
            row = await on.run(lambda c: finish_outcome(c, claim, finish, worker), what)
            if row["applied"]:
                log.warning("%s had been recorded before its connection was lost", what())
        return self._result(claim, finish, row)

    def _result(
        self, claim: ClaimedStep, finish: StepFinish, row: Mapping[str, Any]
    ) -> FinishResult:
        """What a finish statement's row (or a round's row for ``claim``) says it did."""
        next_claim = None
        if finish.claim_next is not None and row.get("step_id") is not None:
            next_claim = ClaimedStep(
                step_id=row["step_id"],
                execution_id=row["execution_id"],
                workflow_version_id=claim.workflow_version_id,
                department_id=claim.department_id,
                position=row["position"],
                step_key=row["step_key"],
                action=row["action"],
                attempt=row["attempt"],
                fencing_token=row["fencing_token"],
                idempotency_key=row["idempotency_key"],
                execution_status=finish.claim_next.execution_status,
            )
            if not self._grants.take(next_claim.step_id, next_claim.fencing_token):
                next_claim = None
        status = row["execution_status"]
        return FinishResult(
            applied=row["applied"],
            execution_status=ExecutionStatus(status) if status is not None else None,
            next_claim=next_claim,
            released_step_id=row.get("released_id"),
            released_step_ids=tuple(row.get("released_ids") or ()),
        )

    async def record_audit(self, entries: Sequence[AuditEntry]) -> None:
        await self._db.run(lambda conn: append_audit(conn, list(entries)), lambda: "audit")

    async def take_expired(
        self, worker: str, lease: timedelta, limit: int, department: UUID | None = None
    ) -> list[ExpiredStep]:
        query = QUERIES["take_expired"]
        args = query.args(
            {
                "worker": worker,
                "lease": lease.total_seconds(),
                "limit": limit,
                "department": department,
            }
        )
        rows = await self._db.run(
            lambda conn: conn.fetch(query.sql, *args), lambda: "taking expired leases"
        )
        return [
            ExpiredStep(
                claim=_claimed(row),
                attempt_started=row["attempt_started"],
                idempotency=Idempotency(row["idempotency"]) if row["idempotency"] else None,
                params=_decode(row["params"]) if row["params"] else None,
            )
            for row in rows
        ]

    async def due_unclaimed(
        self, resend_after: timedelta, limit: int, department: UUID | None = None
    ) -> list[UUID]:
        query = QUERIES["due_unclaimed"]
        args = query.args(
            {"resend_after": resend_after.total_seconds(), "limit": limit, "department": department}
        )
        rows = await self._db.run(
            lambda conn: conn.fetch(query.sql, *args), lambda: "finding unclaimed steps"
        )
        return [row["id"] for row in rows]
