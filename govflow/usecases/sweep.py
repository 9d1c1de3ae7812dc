"""The sweeper: recovers steps whose worker died and re-sends wake-ups that were lost.

Run by ``govflow scheduler`` every few seconds, by ``govflow recover`` and by the API's stale
recovery endpoint. Every recovery is decided by the pure engine from the step's idempotency
strategy and audited with its reason.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec

from govflow.core.engine import (
    CallLookup,
    Decision,
    LeaseExpired,
    LookupResult,
    StepState,
    decide,
)
from govflow.core.idempotency import Idempotency
from govflow.core.spec import effective_retry
from govflow.core.statuses import ExecutionStatus, StepStatus
from govflow.core.validation import convert_action_inputs
from govflow.usecases.action_host import ActionHost
from govflow.usecases.ports import ExpiredStep, SpecSource, StepFinish, StepQueue, StepStore
from govflow.usecases.step_metrics import StepMetrics
from govflow.usecases.translate import audit_entries, retry_schedule, to_finish

log = logging.getLogger("govflow.sweeper")


class SweepReport(msgspec.Struct, frozen=True, kw_only=True):
    recovered: int = 0
    needs_attention: int = 0
    completed_by_lookup: int = 0
    failed: int = 0
    resent: int = 0


@dataclass
class Sweeper:
    store: StepStore
    specs: SpecSource
    queue: StepQueue
    host: ActionHost
    worker_id: str
    lease: timedelta
    resend_after: timedelta
    metrics: StepMetrics = field(default_factory=StepMetrics)
    rng: random.Random = field(default_factory=random.Random)
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    batch: int = 200

    async def sweep_once(self) -> SweepReport:
        """Recover expired leases, then re-send wake-ups for runnable steps nobody claimed."""
        counts = {"recovered": 0, "needs_attention": 0, "completed_by_lookup": 0, "failed": 0}
        for expired in await self.store.take_expired(self.worker_id, self.lease, self.batch):
            outcome = await self._recover(expired)
            counts[outcome] = counts.get(outcome, 0) + 1
            self.metrics.recovery(outcome)
        due = await self.store.due_unclaimed(self.resend_after, self.batch * 5)
        if due:
            await self.queue.wake(due)
        return SweepReport(resent=len(due), **counts)

    async def _recover(self, expired: ExpiredStep) -> str:
        claim = expired.claim
        spec = await self.specs.spec(claim.workflow_version_id)
        step = spec.steps[claim.position]
        state = StepState(
            execution_status=ExecutionStatus(expired.execution_status),
            step_status=StepStatus.RUNNING,
            attempt=claim.attempt,
            idempotency=Idempotency(expired.idempotency or Idempotency.NONE),
            retry=retry_schedule(effective_retry(spec, step)),
            attempt_started=expired.attempt_started,
            is_last_step=claim.position == len(spec.steps) - 1,
        )
        now = self.clock()
        decision = decide(state, LeaseExpired(self.rng.random()), now)
        earlier_audit = []
        if any(isinstance(c, CallLookup) for c in decision.commands):
            found = await self._lookup(expired)
            if found is _LOOKUP_FAILED:
                return "lookup_failed"  # the lease taken above expires; the next sweep retries
            earlier_audit = audit_entries(decision, claim)
            decision = decide(state, LookupResult(found, self.rng.random()), now)  # type: ignore[arg-type]
        finish = to_finish(decision, claim, now, outcome="RECOVERED", continue_in_process=False)
        if decision.step_status is StepStatus.RUNNING:  # stale: the execution ended meanwhile
            finish = msgspec.structs.replace(finish, step_status=StepStatus.CANCELED.value)
        finish = msgspec.structs.replace(finish, audit=[*earlier_audit, *finish.audit])
        result = await self.store.finish(claim, finish, self.worker_id, self.lease)
        if result.released_step_id is not None:
            await self.queue.wake([result.released_step_id])
        return _outcome(decision, finish)

    async def _lookup(self, expired: ExpiredStep) -> Mapping[str, Any] | object | None:
        claim = expired.claim
        action = self.host.actions.get(claim.action)
        if action is None:
            return _LOOKUP_FAILED
        try:
            params = convert_action_inputs(action.inputs, expired.params or {})
            found = await action.lookup(self.host.context(claim, action), params)
        except Exception:  # the remote system may be down: try again on the next sweep
            log.exception("lookup for step %s failed", claim.step_id)
            return _LOOKUP_FAILED
        return None if found is None else dict(found)


_LOOKUP_FAILED = object()


def _outcome(decision: Decision, finish: StepFinish) -> str:
    if finish.step_status == StepStatus.NEEDS_ATTENTION.value:
        return "needs_attention"
    if finish.step_status == StepStatus.COMPLETED.value:
        return "completed_by_lookup"
    if finish.step_status == StepStatus.FAILED.value:
        return "failed"
    return "recovered"
