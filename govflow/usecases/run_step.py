"""Running steps: claim, evaluate ``if:``, render ``with:``, call the action, record, go on.

A worker that finishes step *k* records it and claims step *k+1* in the same statement and
goes on in-process: no queue round trip between the steps of one execution.

Every status change is the engine's: a claim is decided before its statement (the claim port
carries the engine's rule out for the execution status it finds, and reports that status), an
attempt's end is decided from the real state the claim left, and each statement re-checks its
guards, so a race can only make it do less. Every line logged while a step runs carries the
execution id, the step key, the attempt and the workflow (bound as logging context).
"""

from __future__ import annotations

import asyncio
import functools
import logging
import random
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, get_args, get_origin
from uuid import UUID

import msgspec

from govflow.core.audit_events import AuditEvent, SkipReason
from govflow.core.durations import DURATION_PATTERN
from govflow.core.engine import (
    HUMAN_TASK_WAIT,
    ActionUnavailable,
    AttemptFailedBusiness,
    AttemptFailedTechnical,
    AttemptOutcomeUnknown,
    AttemptSucceeded,
    AttemptSuspended,
    ConditionFalse,
    Event,
    HandBack,
    ScheduleRetry,
    StepError,
    StepState,
    decide,
)
from govflow.core.error_codes import StepErrorCode
from govflow.core.expressions import ExpressionError, ExpressionLimitError
from govflow.core.foreach import (
    DEFAULT_FOREACH_MAX_ITEMS,
    INDEX_NAME,
    ITEM_NAME,
    ItemEnd,
    foreach_items,
    foreach_output,
    item_event,
    item_key,
)
from govflow.core.idempotency import Idempotency
from govflow.core.plugin_calls import PluginCallOutcome
from govflow.core.secrets import (
    SECRET_FUNCTION,
    SecretLookup,
    SecretSession,
    UnknownSecret,
    no_secrets,
    redact,
    redact_event,
)
from govflow.core.spec import (
    OUTPUTS_ACTION,
    OUTPUTS_STEP_ID,
    StepSpec,
    WorkflowSpec,
    is_handler_key,
)
from govflow.core.statuses import AttemptOutcome, ExecutionStatus, StepStatus
from govflow.core.subworkflows import SUB_WORKFLOW_WAIT
from govflow.core.timers import TIMER_WAIT, TimerError, parse_until
from govflow.core.validation import convert_action_inputs
from govflow.plugins import Action, BusinessError, OutcomeUnknown, TechnicalError
from govflow.plugins.action import ActionError, Progress, RecordedEvent, Suspend
from govflow.usecases.action_host import ActionHost
from govflow.usecases.audit import AuditEntry
from govflow.usecases.expression_runner import ExpressionRunner
from govflow.usecases.fleet import Fleet
from govflow.usecases.foreach import (
    ItemFailed,
    ItemResults,
    LeaseLost,
    MemoryItemResults,
    run_items,
)
from govflow.usecases.lease_keeper import LEASE_LOST, LeaseKeeper
from govflow.usecases.long_actions import LongActions, progress_value, token_hash
from govflow.usecases.ports import ClaimedStep, ClaimOrder, SpecSource, StepQueue, StepStore
from govflow.usecases.signals import SignalStore
from govflow.usecases.step_log import enter_step, leave_step
from govflow.usecases.step_metrics import StepMetrics
from govflow.usecases.step_plans import StepPlan, StepPlans
from govflow.usecases.subworkflows import SubWorkflowStore, resume_parents
from govflow.usecases.timers import TimerStore
from govflow.usecases.tracing import Span, tracing
from govflow.usecases.translate import audit_entries, claim_order, to_finish
from govflow.usecases.workflow_outputs import evaluate_outputs

log = logging.getLogger("govflow.engine")

STARTED_BEFORE_EXECUTE = frozenset({Idempotency.AT_MOST_ONCE, Idempotency.REMOTE_LOOKUP})
"""Strategies whose attempt start is committed before the plugin is called."""

LOCAL_WAKE_LIMIT = timedelta(seconds=30)
"""Retries due sooner than this are woken by the worker itself (the sweeper is the backup)."""


@dataclass
class RunContext:
    """What templates of the steps of one execution see, kept in memory between steps."""

    inputs: Mapping[str, Any]
    steps: dict[str, dict[str, Any]]
    execution: dict[str, Any]
    variables: Mapping[str, Any]
    failure: Mapping[str, Any] | None = None
    """What failed the execution, for its failure handlers (``None`` for the other steps)."""
    has_parent: bool = False
    """Started by a ``workflow`` step: only then does its end have a parent to resume."""

    def as_mapping(self) -> dict[str, Any]:
        values = {
            "inputs": self.inputs,
            "vars": self.variables,
            "steps": self.steps,
            "execution": self.execution,
        }
        if self.failure is not None:
            values["failure"] = self.failure
        return values


@dataclass
class StepRunner:
    """Runs the steps of executions for one worker process."""

    store: StepStore
    specs: SpecSource
    queue: StepQueue
    host: ActionHost
    worker_id: str
    lease: timedelta
    metrics: StepMetrics = field(default_factory=StepMetrics)
    long_actions: LongActions | None = None
    """Heartbeats and signal waits; without it a heartbeat only renews nothing and a suspended
    step keeps no resume token."""
    fleet: Fleet | None = None
    """The workers table; without it a step whose action is missing fails at once."""
    subworkflows: tuple[SubWorkflowStore, SignalStore] | None = None
    """Where a parent waiting for an execution that ended is found and locked, to resume it
    at once; without it the sweeper resumes it."""
    timers: TimerStore | None = None
    """Where a ``wait`` step keeps its due time; without it such a step fails
    (``INVALID_SUSPEND``)."""
    expressions: ExpressionRunner = field(default_factory=ExpressionRunner)
    secrets: SecretLookup = no_secrets
    """The secret providers ``secret('NAME')`` reads (in order); none by default."""
    items: ItemResults = field(default_factory=MemoryItemResults)
    """Where the results of ``foreach`` items are kept (in this process only by default)."""
    foreach_max_items: int = DEFAULT_FOREACH_MAX_ITEMS
    """How many items a ``foreach`` step may run (the ``FOREACH_MAX_ITEMS`` setting)."""
    rng: random.Random = field(default_factory=random.Random)
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    stopping: asyncio.Event = field(default_factory=asyncio.Event)
    _wakers: set[asyncio.Task[None]] = field(default_factory=set)
    _claims: ClaimOrder | None = None
    plans: StepPlans = field(default_factory=StepPlans)
    """What each step of each workflow version runs with, worked out once."""

    @property
    def claims(self) -> ClaimOrder:
        """The engine's claim decisions (the same for every claim: decided once)."""
        if self._claims is None:
            self._claims = claim_order(self.clock())
        return self._claims

    async def run(self, step_id: UUID) -> None:
        """Claim ``step_id`` if it is runnable, then go on with the execution's next steps."""
        order = self.claims
        claimed = await self.store.claim(step_id, self.worker_id, self.lease, order)
        if claimed is None:
            return
        claim, context = claimed
        self.metrics.queue_lag(claim.queue_lag_seconds)
        rule = order.rule(claim.execution_status)
        assert rule is not None, "the claim port claims only where the order has a rule"
        execution_status: ExecutionStatus | None = rule.execution_becomes or claim.execution_status
        run_context = RunContext(
            inputs=context.inputs,
            variables=context.variables,
            steps={k: dict(v) for k, v in context.steps.items()},
            execution={
                "id": str(claim.execution_id),
                "name": context.workflow_name,
                "version": str(claim.workflow_version_id),
            },
            has_parent=context.parent_execution_id is not None,
        )
        # Each step's lines name it; restored as it was when the execution is left.
        named = enter_step(context.workflow_name, claim)
        try:
            spec = await self.specs.spec(claim.workflow_version_id)
            if is_handler_key(claim.step_key):
                run_context.failure = failure_of(spec, context.steps, context.error)
            next_claim: ClaimedStep | None = claim
            while next_claim is not None and execution_status is not None:
                if next_claim is not claim:
                    enter_step(context.workflow_name, next_claim)
                next_claim, execution_status = await self._run_claimed(
                    next_claim, execution_status, spec, run_context
                )
        finally:
            leave_step(named)

    async def _run_claimed(
        self,
        claim: ClaimedStep,
        execution_status: ExecutionStatus,
        spec: WorkflowSpec,
        context: RunContext,
    ) -> tuple[ClaimedStep | None, ExecutionStatus | None]:
        """Run one attempt of ``claim`` and carry its decision out (in a span of its own when
        tracing is on); the next step this worker claimed with it (if any) and the execution's
        status after it."""
        traced = tracing()
        if not traced.enabled:  # no span, no attributes: tracing off costs this test only
            return await self._run_attempt(claim, execution_status, spec, context, None)
        action = self.plans.plan(claim.workflow_version_id, spec, claim.position).step.action
        attributes = {
            "govflow.workflow": context.execution["name"],
            "govflow.workflow_version_id": str(claim.workflow_version_id),
            "govflow.execution_id": str(claim.execution_id),
            "govflow.step_key": claim.step_key,
            "govflow.action": action,
            "govflow.attempt": claim.attempt,
        }
        with traced.span(f"govflow.step {action}", attributes=attributes) as span:
            return await self._run_attempt(claim, execution_status, spec, context, span)

    async def _run_attempt(
        self,
        claim: ClaimedStep,
        execution_status: ExecutionStatus,
        spec: WorkflowSpec,
        context: RunContext,
        span: Span | None,
    ) -> tuple[ClaimedStep | None, ExecutionStatus | None]:
        """One attempt and its finish; ``span`` is the attempt's (``None``: tracing is off)."""
        plan = self.plans.plan(claim.workflow_version_id, spec, claim.position)
        step = plan.step
        action = self.host.actions.get(step.action)
        state = StepState(
            execution_status=execution_status,
            step_status=StepStatus.RUNNING,
            attempt=claim.attempt,
            idempotency=action.idempotency if action else Idempotency.NONE,
            retry=plan.retry,
            is_last_step=plan.is_last_step,
            dependents=plan.dependents,
            continue_on_error=step.continue_on_error,
            handlers_from=plan.handlers_from,
            handler=is_handler_key(claim.step_key),
        )
        started = time.perf_counter()
        recorded: list[RecordedEvent] = []
        secrets = SecretSession(self.secrets)
        event, state, outcome = await self._attempt(
            claim, spec, plan, action, state, context, recorded, secrets
        )
        if secrets.resolved and event is not None:  # no secret's value is stored
            event = redact_event(event, secrets.resolved)
        if span is not None:
            span.set_attribute("govflow.strategy", state.idempotency.value)
            span.set_attribute("govflow.outcome", outcome.value)
            error = getattr(event, "error", None)
            if isinstance(error, StepError):
                span.set_error(f"{error.code}: {error.message}")
        if event is None:  # the lease was lost before the action ran
            return None, None
        now = self.clock()
        decision = decide(state, event, now)
        handed = [c for c in decision.commands if isinstance(c, HandBack)]
        if handed and self.fleet is not None:
            delay = max(timedelta(0), handed[0].at - now)
            if await self.fleet.hand_back(claim, delay, audit_entries(decision, claim)):
                self.metrics.step_finished(step.action, outcome, time.perf_counter() - started)
                self._wake_later(claim.step_id, delay)
            else:
                await self._report_late(claim, outcome)
            return None, None
        after = decision.execution_status or execution_status
        finish = to_finish(
            decision,
            claim,
            now,
            execution_from=state.execution_status,
            outcome=outcome,
            next_claim=None if self.stopping.is_set() else self.claims.rule(after),
            attempt_error=getattr(event, "error", None),
        )
        if recorded:
            finish = msgspec.structs.replace(
                finish, audit=[*finish.audit, *_recorded_audit(claim, recorded)]
            )
        ids = tracing().ids() if span is not None else None
        if ids is not None:  # the step's audit entries name the span that recorded them
            finish = msgspec.structs.replace(finish, audit=_with_trace(finish.audit, ids))
        result = await self.store.finish(claim, finish, self.worker_id, self.lease)
        self.metrics.step_finished(step.action, outcome, time.perf_counter() - started)
        if not result.applied:
            await self._report_late(claim, outcome)
            return None, None
        if (
            finish.output is not None
            or outcome is AttemptOutcome.SKIPPED
            or finish.step_status is StepStatus.FAILED  # continue_on_error: later ifs read it
        ):
            context.steps[claim.step_key] = {"output": finish.output, "status": finish.step_status}
        for command in decision.commands:
            if isinstance(command, ScheduleRetry):
                self.metrics.retry(step.action)
                self._wake_later(claim.step_id, finish.retry_in or timedelta(0))
        if result.released_step_id is not None:
            await self.queue.wake([result.released_step_id])
        if result.released_step_ids:
            await self.queue.wake(list(result.released_step_ids))
        if self.subworkflows is not None and (
            isinstance(event, AttemptSuspended)
            or (after in ExecutionStatus.TERMINAL and context.has_parent)
        ):
            await self._sub_workflow_ended(claim, context, event, after)
        return result.next_claim, result.execution_status

    async def _sub_workflow_ended(
        self, claim: ClaimedStep, context: RunContext, event: Event, after: ExecutionStatus
    ) -> None:
        """Resume at once the parent of an execution that just ended, or a ``workflow`` step
        that just suspended on a child that ended meanwhile (the sweeper finds both anyway)."""
        assert self.subworkflows is not None
        child: object = None
        if isinstance(event, AttemptSuspended) and event.reason == SUB_WORKFLOW_WAIT:
            child = event.payload.get("child_execution_id")
        elif after in ExecutionStatus.TERMINAL and context.has_parent:
            child = claim.execution_id  # an execution without a parent has none to resume
        if child is None:
            return
        store, signals = self.subworkflows
        try:
            child_id = child if isinstance(child, UUID) else UUID(str(child))
            await resume_parents(store, signals, self.queue, limit=1, child_id=child_id)
        except asyncio.CancelledError:
            raise
        except Exception:  # the sweeper resumes it: never fail the step for this
            log.exception("resuming the parent of execution %s failed", child)

    async def _open_timer(self, claim: ClaimedStep, suspended: Suspend) -> bool | StepError | None:
        """Keep the due time of a step suspended on a timer: True; the error that fails the
        step (no timer store, no due time); ``None``: the lease was lost."""
        if self.timers is None:
            return StepError(StepErrorCode.INVALID_SUSPEND, "this host cannot keep timers")
        try:
            due_at = parse_until(suspended.payload.get("due_at"))
        except TimerError as exc:
            return StepError(StepErrorCode.INVALID_SUSPEND, f"a timer needs its due_at: {exc}")
        return True if await self.timers.open(claim, due_at) else None

    async def _attempt(
        self,
        claim: ClaimedStep,
        spec: WorkflowSpec,
        plan: StepPlan,
        action: Action | None,
        state: StepState,
        context: RunContext,
        recorded: list[RecordedEvent],
        secrets: SecretSession,
    ) -> tuple[Event | None, StepState, AttemptOutcome]:
        """Run one attempt; the event that describes how it ended (None: lease lost)."""
        step = plan.step
        values = context.as_mapping()
        values[SECRET_FUNCTION] = secrets
        if step.action == OUTPUTS_ACTION:
            outputs = await evaluate_outputs(self.expressions, spec, step, values)
            done = isinstance(outputs, AttemptSucceeded)
            return outputs, state, AttemptOutcome.COMPLETED if done else AttemptOutcome.FAILED
        try:
            if step.if_ is not None and not await self.expressions.condition(step.if_, values):
                self.metrics.skip(SkipReason.CONDITION_FALSE)
                return ConditionFalse(), state, AttemptOutcome.SKIPPED
            if action is None:
                if self.fleet is None:
                    raise BusinessError(f"no installed plugin provides the action {step.action!r}")
                return (
                    await self._unavailable(claim, step.action),
                    state,
                    AttemptOutcome.HANDED_BACK,
                )
            if step.foreach is not None:
                listed = await self.expressions.render(step.foreach, values)
                items = foreach_items(listed, self.foreach_max_items)
                if not isinstance(items, list):
                    return AttemptFailedBusiness(items), state, AttemptOutcome.FAILED
                return await self._foreach(claim, spec, step, action, state, values, items, secrets)
            rendered = await self.expressions.render(step.with_, values, plan.with_inline)
            params = _convert_inputs(action.inputs, rendered)
        except ExpressionLimitError as exc:
            error = StepError(StepErrorCode.EXPRESSION_LIMIT, str(exc))
            return AttemptFailedBusiness(error), state, AttemptOutcome.FAILED
        except UnknownSecret as exc:
            error = StepError(StepErrorCode.UNKNOWN_SECRET, str(exc))
            return AttemptFailedBusiness(error), state, AttemptOutcome.FAILED
        except (ExpressionError, ValueError, BusinessError) as exc:
            error = StepError(StepErrorCode.INVALID_STEP_INPUT, str(exc))
            return AttemptFailedBusiness(error), state, AttemptOutcome.FAILED
        except asyncio.CancelledError:
            raise
        except BaseException as exc:  # MemoryError and the like: recorded, retried per policy
            log.exception("preparing step %s failed unexpectedly", claim.step_key)
            error = StepError(StepErrorCode.UNEXPECTED_ERROR, describe(exc))
            return AttemptFailedTechnical(error, self.rng.random()), state, AttemptOutcome.RETRY
        strategy = action.idempotency_for(params)
        if strategy is not state.idempotency:
            state = replace(state, idempotency=strategy)
        if strategy in STARTED_BEFORE_EXECUTE:
            params_data = redact(msgspec.to_builtins(params), secrets.resolved)
            if not await self.store.mark_attempt_started(claim, strategy, params_data):
                return None, state, AttemptOutcome.LOST
            state = replace(state, attempt_started=True)
        ctx = self.host.context(
            claim,
            action,
            recorded,
            heartbeat_sink=functools.partial(self._heartbeat, claim),
            resumable=True,
        )
        timeout = plan.timeout_seconds
        retry_after: timedelta | None = None
        try:
            call = _plugin_call(self.metrics, action.name, action.execute(ctx, params))
            output = await self._with_lease(claim, call, timeout)
        except Suspend as suspended:
            # A human task, a child execution or a timer decides the step: no resume token.
            if suspended.reason == TIMER_WAIT:
                opened = await self._open_timer(claim, suspended)
                if opened is None:
                    return None, state, AttemptOutcome.LOST
                if isinstance(opened, StepError):
                    return AttemptFailedBusiness(opened), state, AttemptOutcome.FAILED
            elif suspended.reason not in (HUMAN_TASK_WAIT, SUB_WORKFLOW_WAIT):
                if self.long_actions is None:
                    error = StepError(
                        StepErrorCode.INVALID_SUSPEND, "this host cannot resume the step"
                    )
                    return AttemptFailedBusiness(error), state, AttemptOutcome.FAILED
                # The token the action handed out (drawn now if it read none).
                token = ctx.resume_token
                assert token is not None, "the worker's contexts are resumable"
                if not await self.long_actions.open_wait(claim, token_hash(token)):
                    return None, state, AttemptOutcome.LOST
            waits = AttemptSuspended(suspended.payload, suspended.reason)
            return waits, state, AttemptOutcome.SUSPENDED
        except BusinessError as exc:
            error = _action_error(StepErrorCode.BUSINESS_ERROR, exc)
            return AttemptFailedBusiness(error), state, AttemptOutcome.FAILED
        except OutcomeUnknown as exc:
            error = _action_error(StepErrorCode.OUTCOME_UNKNOWN, exc)
            return _unknown(error, state, self.rng.random())
        except TechnicalError as exc:
            error = _action_error(StepErrorCode.TECHNICAL_ERROR, exc)
            retry_after = _retry_after(exc)
        except TimeoutError:
            error = StepError(
                StepErrorCode.TIMEOUT, f"the action did not finish within {timeout:g}s"
            )
            if strategy is Idempotency.AT_MOST_ONCE:  # it may still have had its effect
                return _unknown(error, state, self.rng.random())
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a plugin bug (or MemoryError) must not kill the worker
            log.exception("action %s raised unexpectedly", action.name)
            cause = exc.cause if isinstance(exc, _Escaped) else exc
            error = StepError(StepErrorCode.UNEXPECTED_ERROR, describe(cause))
            if strategy is Idempotency.AT_MOST_ONCE:
                return _unknown(error, state, self.rng.random())
        else:
            return AttemptSucceeded(dict(output)), state, AttemptOutcome.COMPLETED
        event = AttemptFailedTechnical(error, self.rng.random(), retry_after)
        return event, state, AttemptOutcome.RETRY

    async def _foreach(
        self,
        claim: ClaimedStep,
        spec: WorkflowSpec,
        step: StepSpec,
        action: Action,
        state: StepState,
        values: Mapping[str, Any],
        items: list[Any],
        secrets: SecretSession,
    ) -> tuple[Event | None, StepState, AttemptOutcome]:
        """One attempt of a ``foreach`` step: its items not run yet, ``max_parallel`` at once
        (``govflow.usecases.foreach``); its output is theirs, in order."""
        strategy = action.idempotency
        if strategy is not state.idempotency:
            state = replace(state, idempotency=strategy)
        if strategy is Idempotency.AT_MOST_ONCE:  # an item cut off may have had its effect
            if not await self.store.mark_attempt_started(claim, strategy, {"items": len(items)}):
                return None, state, AttemptOutcome.LOST
            state = replace(state, attempt_started=True)
        # remote_lookup: each item without a kept result is looked up by its own key before it
        # runs again (the step's attempt start is not recorded: a lost lease re-runs the step).
        looks_up = strategy is Idempotency.REMOTE_LOOKUP and claim.attempt > 1
        timeout = self._timeout(claim, spec)

        async def run_item(index: int, item: Any) -> Mapping[str, Any]:
            params = _convert_inputs(
                action.inputs,
                await self.expressions.render(
                    step.with_, {**values, ITEM_NAME: item, INDEX_NAME: index}
                ),
            )
            item_claim = msgspec.structs.replace(
                claim,
                step_key=item_key(claim.step_key, index),
                idempotency_key=item_key(claim.idempotency_key, index),
            )
            ctx = self.host.context(
                item_claim, action, heartbeat_sink=functools.partial(self._heartbeat, claim)
            )
            if looks_up:
                async with asyncio.timeout(timeout):
                    found = await action.lookup(ctx, params)
                if found is not None:
                    return dict(found)
            call = _plugin_call(self.metrics, action.name, action.execute(ctx, params))
            return dict(await self._with_lease(claim, call, timeout))

        async def keep(index: int, output: Mapping[str, Any]) -> bool:
            return await self.items.keep(claim, index, redact(output, secrets.resolved))

        try:
            kept = await self.items.kept(claim)
            max_parallel = step.max_parallel or 1
            outputs = await run_items(items, max_parallel, kept, run_item, keep)
        except LeaseLost:
            return None, state, AttemptOutcome.LOST
        except ItemFailed as failed:
            return self._item_event(failed, state)
        return AttemptSucceeded(foreach_output(outputs)), state, AttemptOutcome.COMPLETED

    def _item_event(
        self, failed: ItemFailed, state: StepState
    ) -> tuple[Event, StepState, AttemptOutcome]:
        """How a foreach step's attempt ends when item ``failed.index`` raised ``failed.cause``
        (the engine's :func:`~govflow.core.foreach.item_event`)."""
        cause = failed.cause
        retry_after: timedelta | None = None
        end, error = (
            ItemEnd.UNEXPECTED_ERROR,
            StepError(StepErrorCode.UNEXPECTED_ERROR, describe(cause)),
        )
        if isinstance(cause, BusinessError):
            end, error = ItemEnd.BUSINESS_ERROR, _action_error(StepErrorCode.BUSINESS_ERROR, cause)
        elif isinstance(cause, ExpressionLimitError):
            end, error = (
                ItemEnd.INVALID_INPUT,
                StepError(StepErrorCode.EXPRESSION_LIMIT, str(cause)),
            )
        elif isinstance(cause, UnknownSecret):
            end, error = ItemEnd.INVALID_INPUT, StepError(StepErrorCode.UNKNOWN_SECRET, str(cause))
        elif isinstance(cause, (ExpressionError, ValueError)):
            end, error = (
                ItemEnd.INVALID_INPUT,
                StepError(StepErrorCode.INVALID_STEP_INPUT, str(cause)),
            )
        elif isinstance(cause, Suspend):
            end = ItemEnd.WAITED
        elif isinstance(cause, OutcomeUnknown):
            end, error = (
                ItemEnd.OUTCOME_UNKNOWN,
                _action_error(StepErrorCode.OUTCOME_UNKNOWN, cause),
            )
        elif isinstance(cause, TechnicalError):
            end, error = (
                ItemEnd.TECHNICAL_ERROR,
                _action_error(StepErrorCode.TECHNICAL_ERROR, cause),
            )
            retry_after = _retry_after(cause)
        elif isinstance(cause, TimeoutError):
            end, error = (
                ItemEnd.TIMEOUT,
                StepError(StepErrorCode.TIMEOUT, "the action did not finish in time"),
            )
        elif isinstance(cause, _Escaped):
            error = StepError(StepErrorCode.UNEXPECTED_ERROR, describe(cause.cause))
        event = item_event(
            failed.index, end, error, state.idempotency, self.rng.random(), retry_after
        )
        if isinstance(event, AttemptFailedBusiness):
            return event, state, AttemptOutcome.FAILED
        if isinstance(event, AttemptOutcomeUnknown):
            return _unknown(event.error, state, event.rand)
        return event, state, AttemptOutcome.RETRY

    def _timeout(self, claim: ClaimedStep, spec: WorkflowSpec) -> float:
        """The timeout in seconds of ``claim``'s step."""
        return self.plans.plan(claim.workflow_version_id, spec, claim.position).timeout_seconds

    async def _unavailable(self, claim: ClaimedStep, action: str) -> ActionUnavailable:
        """The engine's event for a step whose action this worker lacks."""
        assert self.fleet is not None
        log.warning("no installed plugin provides the action %r: handing the step back", action)
        return ActionUnavailable(
            action=action,
            handbacks=await self.fleet.handbacks(claim),
            offered_elsewhere=await self.fleet.offered_elsewhere(action, self.worker_id),
        )

    async def _heartbeat(self, claim: ClaimedStep, progress: Progress) -> None:
        """``ctx.heartbeat``: renew the lease now and record ``progress``."""
        value = progress_value(progress)
        if self.long_actions is None:
            alive = await self.store.extend_lease(claim, self.lease)
        else:
            alive = await self.long_actions.heartbeat(claim, self.lease, value)
        if not alive:
            raise TechnicalError(LEASE_LOST)

    async def _with_lease(
        self, claim: ClaimedStep, work: Awaitable[Mapping[str, Any]], timeout: float
    ) -> Mapping[str, Any]:
        """Await ``work`` under ``timeout``, renewing the lease every third of it meanwhile."""
        renew_every = self.lease.total_seconds() / 3
        async with (
            asyncio.timeout(timeout),
            LeaseKeeper(functools.partial(self.store.extend_lease, claim, self.lease), renew_every),
        ):
            return await work

    async def _report_late(self, claim: ClaimedStep, outcome: AttemptOutcome) -> None:
        """The step moved on without this worker (canceled or recovered): report, change nothing."""
        log.warning(
            "late result for step %s of execution %s discarded", claim.step_key, claim.execution_id
        )
        await self.store.record_audit(
            [
                AuditEntry(
                    action=AuditEvent.WORKFLOW_EXECUTION_PROCESS_SKIPPED,
                    entity_type="execution",
                    entity_id=str(claim.execution_id),
                    department_id=claim.department_id,
                    reason="late_result",
                    metadata={
                        "execution_id": str(claim.execution_id),
                        "step": claim.step_key,
                        "attempt": claim.attempt,
                        "discarded_outcome": outcome,
                    },
                )
            ]
        )

    def _wake_later(self, step_id: UUID, delay: timedelta) -> None:
        if delay > LOCAL_WAKE_LIMIT or self.stopping.is_set():
            return

        async def wake() -> None:
            await asyncio.sleep(delay.total_seconds())
            await self.queue.wake([step_id])

        task = asyncio.create_task(wake())
        self._wakers.add(task)
        task.add_done_callback(self._wakers.discard)

    async def close(self) -> None:
        self.stopping.set()
        for task in list(self._wakers):
            task.cancel()


class _Escaped(Exception):
    """A ``BaseException`` (``SystemExit``, ``KeyboardInterrupt``, ...) an action raised, carried
    as an ordinary exception: raised raw inside a task, asyncio would stop the event loop."""

    def __init__(self, cause: BaseException) -> None:
        super().__init__(describe(cause))
        self.cause = cause


async def _plugin_call(
    metrics: StepMetrics, action: str, work: Awaitable[Mapping[str, Any]]
) -> Mapping[str, Any]:
    """``work`` (an action's ``execute``), its duration measured by how it ended; any
    ``BaseException`` but cancellation comes out as :class:`_Escaped`."""
    started = time.perf_counter()
    outcome = PluginCallOutcome.UNEXPECTED_ERROR
    try:
        result = await work
        outcome = PluginCallOutcome.OK
        return result
    except Suspend:
        outcome = PluginCallOutcome.SUSPENDED
        raise
    except BusinessError:
        outcome = PluginCallOutcome.BUSINESS_ERROR
        raise
    except OutcomeUnknown:
        outcome = PluginCallOutcome.OUTCOME_UNKNOWN
        raise
    except TechnicalError:
        outcome = PluginCallOutcome.TECHNICAL_ERROR
        raise
    except (TimeoutError, asyncio.CancelledError):
        outcome = PluginCallOutcome.TIMEOUT
        raise
    except Exception:
        raise
    except BaseException as exc:
        raise _Escaped(exc) from exc
    finally:
        metrics.plugin_call(action, outcome, time.perf_counter() - started)


def _unknown(
    error: StepError, state: StepState, rand: float
) -> tuple[Event, StepState, AttemptOutcome]:
    """An attempt whose effect may or may not have happened: not retried when at most once."""
    at_most_once = state.idempotency is Idempotency.AT_MOST_ONCE
    outcome = AttemptOutcome.FAILED if at_most_once else AttemptOutcome.RETRY
    return AttemptOutcomeUnknown(error, rand), state, outcome


def _action_error(code: StepErrorCode, exc: ActionError) -> StepError:
    """An action's error as recorded: its message and its JSON-able ``details``."""
    try:
        details = msgspec.to_builtins(exc.details) if exc.details else {}
    except (TypeError, ValueError):  # not JSON-able: kept as text rather than lost
        details = {str(k): repr(v) for k, v in exc.details.items()}
    return StepError(code, str(exc), details)


def _retry_after(exc: TechnicalError) -> timedelta | None:
    """The wait a ``TechnicalError`` asks for (``None``: none, or not a number of seconds)."""
    try:
        seconds = float(exc.retry_after) if exc.retry_after is not None else None
    except (TypeError, ValueError):
        return None
    if seconds is None or seconds != seconds:  # NaN
        return None
    return timedelta(seconds=min(max(0.0, seconds), 86400.0))


def failure_of(
    spec: WorkflowSpec,
    steps: Mapping[str, Mapping[str, Any]],
    error: Mapping[str, Any] | None,
) -> dict[str, Any]:
    """``failure`` in a failure handler's templates: ``step``, the id of the step that failed
    the execution (``None`` when none did, e.g. a timeout), and ``error``, the execution's
    error (``code``, ``message`` and the action's ``details`` when it gave any)."""
    failed = None
    for step in spec.steps:
        result = steps.get(step.id)
        if result and result.get("status") == StepStatus.FAILED and not step.continue_on_error:
            failed = step.id
            break
    outputs = steps.get(OUTPUTS_STEP_ID)
    if failed is None and spec.outputs and outputs and outputs.get("status") == StepStatus.FAILED:
        failed = OUTPUTS_STEP_ID
    return {"step": failed, "error": dict(error or {"code": None, "message": None})}


def describe(exc: BaseException) -> str:
    """An unexpected error as it is recorded: its type, and its message when it has one."""
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _convert_inputs(inputs: type[msgspec.Struct], params: Mapping[str, Any]) -> msgspec.Struct:
    """``convert_action_inputs``, with msgspec alone deciding the values it accepts as they are.

    The full check walks the type to report every problem of a bad ``with:``; a good one (every
    step of a healthy workflow) only needs the conversion."""
    if _msgspec_decides(inputs):
        try:
            return msgspec.convert(params if isinstance(params, dict) else dict(params), inputs)
        except msgspec.ValidationError:
            pass  # the full check phrases every problem
    return convert_action_inputs(inputs, params)


@functools.cache
def _msgspec_decides(inputs: type[msgspec.Struct]) -> bool:
    """Whether ``msgspec.convert`` accepts exactly what ``convert_action_inputs`` accepts: true
    unless a duration is in the type (the check parses those itself, more strictly)."""
    return not _has_duration(inputs, set())


def _has_duration(annotation: Any, seen: set[type]) -> bool:
    if get_origin(annotation) is Annotated:
        base, *metas = get_args(annotation)
        if any(isinstance(m, msgspec.Meta) and m.pattern == DURATION_PATTERN for m in metas):
            return True
        return _has_duration(base, seen)
    if isinstance(annotation, type) and issubclass(annotation, msgspec.Struct):
        if annotation in seen:
            return False
        seen.add(annotation)
        return any(_has_duration(f.type, seen) for f in msgspec.structs.fields(annotation))
    return any(_has_duration(arg, seen) for arg in get_args(annotation))


def _with_trace(entries: Sequence[AuditEntry], ids: tuple[str, str]) -> list[AuditEntry]:
    trace_id, span_id = ids
    return [
        msgspec.structs.replace(
            entry, metadata={**(entry.metadata or {}), "trace_id": trace_id, "span_id": span_id}
        )
        for entry in entries
    ]


def _recorded_audit(claim: ClaimedStep, recorded: list[RecordedEvent]) -> list[AuditEntry]:
    return [
        AuditEntry(
            action=event.action,
            entity_type="execution_step",
            entity_id=str(claim.step_id),
            department_id=claim.department_id,
            reason=event.reason,
            metadata={
                "execution_id": str(claim.execution_id),
                "step": claim.step_key,
                "attempt": claim.attempt,
                **event.metadata,
            },
        )
        for event in recorded
    ]
