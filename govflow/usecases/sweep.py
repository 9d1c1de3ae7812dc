"""The sweeper: recovers steps whose worker died and re-sends wake-ups that were lost; with a
task sweep, it also marks and escalates overdue human tasks and sends task notifications
(:mod:`govflow.usecases.task_deadlines`).

Run by ``govflow scheduler`` every few seconds, by ``govflow recover`` and by the API's stale
recovery endpoint. Every recovery is decided by the pure engine from the step's idempotency
strategy and audited with its reason.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol
from uuid import UUID

import msgspec
from structlog.contextvars import bound_contextvars

from govflow.core.engine import (
    CallLookup,
    Decision,
    LeaseExpired,
    LookupResult,
    StepState,
    decide,
)
from govflow.core.graph import graph_place, step_graph
from govflow.core.idempotency import Idempotency
from govflow.core.spec import (
    effective_retry,
    handlers_from,
    is_handler_key,
    is_last_step,
    step_at,
)
from govflow.core.statuses import AttemptOutcome, RecoveryOutcome, StepStatus
from govflow.core.validation import convert_action_inputs
from govflow.usecases.action_host import ActionHost
from govflow.usecases.execution_timeouts import ExecutionDeadlines, time_out_executions
from govflow.usecases.operate import ExecutionControl
from govflow.usecases.ports import ExpiredStep, SpecSource, StepQueue, StepStore
from govflow.usecases.signals import SignalStore
from govflow.usecases.step_metrics import StepMetrics
from govflow.usecases.subworkflows import SubWorkflowStore, cancel_children, resume_parents
from govflow.usecases.task_deadlines import TaskSweep
from govflow.usecases.timers import TimerStore, resume_timers
from govflow.usecases.tracing import AttributeValue, Carrier, TraceContexts, tracing
from govflow.usecases.translate import audit_entries, retry_schedule, to_finish

log = logging.getLogger("govflow.sweeper")


class SweepReport(msgspec.Struct, frozen=True, kw_only=True):
    recovered: int = 0
    needs_attention: int = 0
    completed_by_lookup: int = 0
    failed: int = 0
    resent: int = 0
    timed_out: int = 0
    parents_resumed: int = 0
    timers_resumed: int = 0
    children_canceled: int = 0
    tasks_overdue: int = 0
    tasks_escalated: int = 0
    task_notices_sent: int = 0


class StepOrigin(msgspec.Struct, frozen=True):
    """A step's execution, and the W3C context its start was traced in (``None``: untraced)."""

    execution_id: UUID
    carrier: Carrier | None


class SweepTraces(TraceContexts, Protocol):
    """Where executions' traces started, found from an execution or from its steps."""

    async def of_steps(self, step_ids: Sequence[UUID]) -> Mapping[UUID, StepOrigin]:
        """Each step's :class:`StepOrigin` (a step that no longer exists is left out)."""
        ...


class _Found(msgspec.Struct, frozen=True):
    """What a plugin's lookup answered: the effect's output, or ``None`` (no effect found)."""

    output: Mapping[str, Any] | None


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
    tasks: TaskSweep | None = None
    """The deadline sweep of human tasks, run by a sweep of every department."""
    traces: SweepTraces | None = None
    """Where executions' traces started: the span of a recovery or of a re-sent wake-up links
    to its execution's."""
    timeouts: tuple[ExecutionDeadlines, ExecutionControl] | None = None
    """Where the executions past their workflow's timeout are found, and how they are locked
    to be failed (a sweep of every department only)."""
    subworkflows: tuple[SubWorkflowStore, SignalStore] | None = None
    """Where the ended children of waiting parent steps and the active children of canceled
    parent steps are found, and how a parent is locked to be resumed (a sweep of every
    department only; the children are canceled through ``timeouts``' control)."""
    timers: tuple[TimerStore, SignalStore] | None = None
    """Where the ``wait`` steps whose due time came are found, and how their execution is
    locked to resume them (a sweep of every department only)."""

    async def sweep_once(self, department: UUID | None = None) -> SweepReport:
        """Recover expired leases, then re-send wake-ups for runnable steps nobody claimed;
        only those of ``department``'s executions when one is given. Without a department, the
        executions past their timeout are failed, and the task sweep follows."""
        counts = dict.fromkeys(SweepReport.__struct_fields__, 0)
        taken = await self.store.take_expired(self.worker_id, self.lease, self.batch, department)
        for expired in taken:
            outcome = await self._recover(expired)
            if outcome.value in counts:
                counts[outcome.value] += 1
            self.metrics.recovery(outcome)
        due = await self.store.due_unclaimed(self.resend_after, self.batch * 5, department)
        if due:
            await self._resend(due)
        counts["resent"] = len(due)
        if self.timeouts is not None and department is None:
            deadlines, control = self.timeouts
            counts["timed_out"] = await time_out_executions(
                deadlines, control, self.clock(), self.batch
            )
        if self.subworkflows is not None and department is None:
            children, signals = self.subworkflows
            counts["parents_resumed"] = await resume_parents(
                children, signals, self.queue, limit=self.batch
            )
            if self.timeouts is not None:
                counts["children_canceled"] = await cancel_children(
                    children, self.timeouts[1], limit=self.batch
                )
        if self.timers is not None and department is None:
            timers, signals = self.timers
            counts["timers_resumed"] = await resume_timers(
                timers, signals, self.queue, self.clock(), limit=self.batch
            )
        if self.tasks is not None and department is None:
            tasks = await self.tasks.sweep()
            counts["tasks_overdue"] = tasks.overdue
            counts["tasks_escalated"] = tasks.escalated
            counts["task_notices_sent"] = tasks.notified
        return SweepReport(**counts)

    async def _resend(self, due: Sequence[UUID]) -> None:
        """Send the wake-ups again; traced, each in a span of its own (a new trace: nothing
        is current here) linked to its execution's trace, so the steps it runs can be found
        from the request that started them."""
        traced = tracing()
        if not traced.enabled or self.traces is None:
            await self.queue.wake(due)
            return
        origins = await self.traces.of_steps(due)
        for step_id in due:
            origin = origins.get(step_id)
            attributes: dict[str, AttributeValue] = {"govflow.step_id": str(step_id)}
            links: list[Carrier] = []
            if origin is not None:
                attributes["govflow.execution_id"] = str(origin.execution_id)
                links = [origin.carrier] if origin.carrier else []
            with traced.span("govflow.resend", attributes=attributes, links=links):
                await self.queue.wake([step_id])

    async def _recover(self, expired: ExpiredStep) -> RecoveryOutcome:
        """Decide the lease expiry (and the lookup it may ask for) and carry the decision out;
        what is logged meanwhile carries the step's ids."""
        claim = expired.claim
        with bound_contextvars(
            execution_id=str(claim.execution_id),
            step=claim.step_key,
            step_id=str(claim.step_id),
            attempt=claim.attempt,
        ):
            traced = tracing()
            if not traced.enabled:
                return await self._recover_step(expired)
            attributes: dict[str, AttributeValue] = {
                "govflow.execution_id": str(claim.execution_id),
                "govflow.step_key": claim.step_key,
                "govflow.action": claim.action,
                "govflow.attempt": claim.attempt,
            }
            origin = await self.traces.of_execution(claim.execution_id) if self.traces else None
            links = [origin] if origin else []
            with traced.span("govflow.recovery", attributes=attributes, links=links) as span:
                outcome = await self._recover_step(expired)
                span.set_attribute("govflow.outcome", outcome.value)
                return outcome

    async def _recover_step(self, expired: ExpiredStep) -> RecoveryOutcome:
        claim = expired.claim
        spec = await self.specs.spec(claim.workflow_version_id)
        step = step_at(spec, claim.position)
        place = graph_place(step_graph(spec), claim.position)
        state = StepState(
            execution_status=claim.execution_status,
            step_status=StepStatus.RUNNING,
            attempt=claim.attempt,
            idempotency=expired.idempotency or Idempotency.NONE,
            retry=retry_schedule(effective_retry(spec, step)),
            attempt_started=expired.attempt_started,
            is_last_step=place[0] if place else is_last_step(spec, claim.position),
            dependents=place[1] if place else None,
            continue_on_error=step.continue_on_error,
            handlers_from=handlers_from(spec),
            handler=is_handler_key(claim.step_key),
        )
        now = self.clock()
        decision = decide(state, LeaseExpired(self.rng.random()), now)
        earlier_audit = []
        if any(isinstance(c, CallLookup) for c in decision.commands):
            found = await self._lookup(expired)
            if found is None:  # the lease taken above expires; the next sweep retries
                return RecoveryOutcome.LOOKUP_FAILED
            earlier_audit = audit_entries(decision, claim)
            decision = decide(state, LookupResult(found.output, self.rng.random()), now)
        finish = to_finish(
            decision,
            claim,
            now,
            execution_from=state.execution_status,
            outcome=AttemptOutcome.RECOVERED,
            next_claim=None,
        )
        finish = msgspec.structs.replace(finish, audit=[*earlier_audit, *finish.audit])
        result = await self.store.finish(claim, finish, self.worker_id, self.lease)
        if result.released_step_id is not None:
            await self.queue.wake([result.released_step_id])
        if result.released_step_ids:
            await self.queue.wake(list(result.released_step_ids))
        return _outcome(decision)

    async def _lookup(self, expired: ExpiredStep) -> _Found | None:
        """Ask the plugin whether the step's effect happened; ``None`` when it cannot say."""
        claim = expired.claim
        action = self.host.actions.get(claim.action)
        if action is None:
            return None
        try:
            params = convert_action_inputs(action.inputs, expired.params or {})
            found = await action.lookup(self.host.context(claim, action), params)
        except Exception:  # the remote system may be down: try again on the next sweep
            log.exception("lookup for step %s failed", claim.step_id)
            return None
        return _Found(None if found is None else dict(found))


def _outcome(decision: Decision) -> RecoveryOutcome:
    match decision.step_status:
        case StepStatus.NEEDS_ATTENTION:
            return RecoveryOutcome.NEEDS_ATTENTION
        case StepStatus.COMPLETED:
            return RecoveryOutcome.COMPLETED_BY_LOOKUP
        case StepStatus.FAILED:
            return RecoveryOutcome.FAILED
        case _:
            return RecoveryOutcome.RECOVERED
