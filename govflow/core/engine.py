"""What happens next to a step: one event in, one decision (new statuses + commands) out.

:func:`decide` is pure: the caller loads a :class:`StepState`, turns what happened into an
event, passes ``now`` (and, for events that may schedule a retry, a ``rand`` in ``[0, 1)``)
and then carries the :class:`Decision` out in one transaction. Every status change goes through
the tables in :mod:`govflow.core.machines`.

Rules
-----
- **Guarded terminal statuses.** A worker or recovery event (claim, attempt outcome, lease
  expiry, lookup result, condition) for an execution that is already terminal, or for a step
  that has moved on (a zombie worker reporting late), changes nothing and yields an
  ``Audit(WORKFLOW_EXECUTION_PROCESS_SKIPPED)``; so does a claim while the execution waits for a
  person. The exception: a lease expiring on a step still ``RUNNING`` in an ended execution
  cancels the step, since nothing else will. Operator requests (cancel, retry, skip, mark done)
  are checked instead: a request the machines refuse raises ``IllegalTransition``.
- **Claims.** A claim (``StartAttempt``, and the execution's start when it is ``PENDING``)
  depends on the execution's status alone, not on the attempt count (the statement that carries
  ``StartAttempt`` out counts it): callers decide it before the statement that finds the step.
- **Whole executions.** :func:`decide_cancel` cancels an execution and every step of it that
  has not ended (and the human task of a waiting one); :func:`decide_timeout` fails an execution
  past its workflow's ``timeout`` (``EXECUTION_TIMED_OUT``) and cancels those steps the same way.
- **Attempts.** ``StepState.attempt`` is the number of the attempt the step is on; every claim
  counts one, including attempts cut off by a crash, so a step that kills its worker cannot
  loop forever: it fails when ``max_attempts`` is reached. An operator retry starts a fresh
  budget (``ResetAttempts``); recorded attempts stay in the history.
- **Lost lease (``LeaseExpired``).** If the attempt start was never committed the plugin was
  never called: re-run (after backoff) whatever the strategy. Otherwise the step's strategy
  rules: ``none``, ``remote_key`` (same key) and ``local`` re-run after backoff;
  ``remote_lookup`` first asks the plugin (``CallLookup``; the step stays ``RUNNING`` for the
  recovery that holds it) and completes with the found output (audited as skipped,
  ``already_applied_remote``) or re-runs; ``at_most_once`` goes to ``NEEDS_ATTENTION``.
  A lease expiring on a step that already completed is reported (``already_completed``).
- **Failures.** A business error fails the step and the execution at once; a technical error
  (timeouts and unexpected exceptions included) is retried per the step's
  :class:`~govflow.core.retry.RetrySchedule` and fails the execution with that last error once
  the attempts are exhausted. A ``continue_on_error`` step fails alone: its error is recorded
  (``RecordStepError``), audited ``STEP_FAILURE_CONTINUED``, and the execution goes on (or
  completes, after the last step) as after a completed step; ``ACTION_UNAVAILABLE`` (no worker
  can run the step) still fails the execution, for an operator to install and retry.
- **Graphs.** A step of a graph (``StepState.dependents``, :mod:`govflow.core.graph`) goes on
  by releasing the steps that need it (``ReleaseDependents``; each is runnable once its last need
  settles, :func:`~govflow.core.graph.join_released`) instead of the next step, completes the
  execution when the graph ends in it, and fails the execution with the other open branches
  canceled (``CancelOpenBranches``). While one branch waits the others run: a step of a graph
  that suspends or settles leaves the execution's ``RUNNING``/``WAITING`` to its open steps
  (``FollowBranches``, :func:`decide_branches`): ``RUNNING`` while one is runnable or running,
  ``WAITING`` once every open step waits, so no step of it is ever due in a ``WAITING`` one.
- **Failure handlers.** With ``handlers_from`` (the workflow has ``compensate`` or
  ``on_failure``), a decision that fails the execution also starts its handlers
  (``StartFailureHandlers``). A handler (``handler``) runs in the ``FAILED`` execution and never
  changes it: its failure is recorded and the next handler runs, it cannot wait nor need
  attention, and no operator request applies to it.
- **Unknown outcomes.** An attempt that ended without saying whether its effect happened
  (``AttemptOutcomeUnknown``: the plugin's ``OutcomeUnknown``, or a timeout or an unexpected
  exception of an ``at_most_once`` step) puts an ``at_most_once`` step in ``NEEDS_ATTENTION``
  with its error kept, never a second attempt; any other strategy may repeat the effect, so it
  is retried like a technical failure.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from govflow.core.audit_events import AuditEvent, SkipReason
from govflow.core.durations import format_duration
from govflow.core.error_codes import StepErrorCode
from govflow.core.idempotency import Idempotency
from govflow.core.machines import (
    EXECUTION_MACHINE,
    STEP_MACHINE,
    ExecutionEvent,
    IllegalTransition,
    StepEvent,
    transition,
)
from govflow.core.retry import RetrySchedule, decide_retry
from govflow.core.statuses import ExecutionStatus, StepStatus

Output = Mapping[str, object]
"""A step's output (or a human task's payload): JSON-like data."""


@dataclass(frozen=True)
class StepError:
    """What went wrong in an attempt: a stable code, a human-readable message, and the
    JSON-able ``details`` the action gave (kept in the attempt record; empty: none)."""

    code: str
    message: str
    details: Mapping[str, object] = field(default_factory=dict, compare=False, hash=False)


@dataclass(frozen=True)
class StepState:
    """What the engine knows about one step of one execution when an event arrives."""

    execution_status: ExecutionStatus
    step_status: StepStatus
    attempt: int
    """The number of the attempt the step is on (claims counted, 0 before the first claim)."""
    idempotency: Idempotency
    retry: RetrySchedule = field(default_factory=RetrySchedule)
    attempt_started: bool = False
    """The attempt start was committed, so the plugin may have been called."""
    is_last_step: bool = False
    """No step follows this one in the workflow."""
    continue_on_error: bool = False
    """The step's ``continue_on_error``: its failure does not fail the execution."""
    dependents: tuple[int, ...] | None = None
    """In a graph (a step of the workflow says ``needs``), the positions of the steps that need
    this one (:mod:`govflow.core.graph`); ``None`` in a list, where the next step follows. In a
    graph ``is_last_step`` is the step the graph ends in."""
    handlers_from: int | None = None
    """The position of the execution's first failure handler (``None``: the workflow has no
    ``compensate`` nor ``on_failure``): failing the execution starts the handlers there."""
    handler: bool = False
    """The step is a failure handler (a compensation or an ``on_failure`` step): it runs in the
    ``FAILED`` execution, and its own failure is recorded and the next handler runs."""

    def __post_init__(self) -> None:
        if self.attempt < 0:
            raise ValueError(f"attempt must not be negative, got {self.attempt}")

    @property
    def max_attempts(self) -> int:
        """Attempts allowed in the current budget."""
        return self.retry.max_attempts


# Events -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StepClaimed:
    """A worker claimed the pending step (its lease starts a new attempt)."""


@dataclass(frozen=True)
class ConditionFalse:
    """The step's ``if`` condition is false: it is skipped (before or after its claim)."""


@dataclass(frozen=True)
class AttemptSucceeded:
    """The action returned (or the human task was approved) with this output."""

    output: Output


@dataclass(frozen=True)
class AttemptFailedBusiness:
    """The action raised a ``BusinessError``: final, no retry."""

    error: StepError


@dataclass(frozen=True)
class AttemptFailedTechnical:
    """A ``TechnicalError``, a timeout or an unexpected exception: retried per policy."""

    error: StepError
    rand: float
    """In ``[0, 1)``, for the jitter of the next attempt."""
    retry_after: timedelta | None = None
    """The least wait the failure asked for (``TechnicalError(retry_after=...)``)."""


@dataclass(frozen=True)
class AttemptOutcomeUnknown:
    """The attempt ended without knowing whether its effect happened (e.g. the connection broke
    after an email was handed over): ``at_most_once`` needs an operator, the others retry."""

    error: StepError
    rand: float
    """In ``[0, 1)``, for the jitter of the next attempt (strategies that may repeat)."""


HUMAN_TASK_WAIT = "human_task"
"""The wait reason of a ``manual`` step: its human task is opened and decides the step."""


@dataclass(frozen=True)
class AttemptSuspended:
    """The action waits for an external event.

    For :data:`HUMAN_TASK_WAIT` a human task is opened with this payload; for any other reason
    the step waits for a signal carrying its resume token (``AwaitSignal``).
    """

    payload: Output
    reason: str = HUMAN_TASK_WAIT


@dataclass(frozen=True)
class ActionUnavailable:
    """The claiming worker has no plugin providing the step's action.

    :ivar handbacks: how many times the step was handed back before this one.
    :ivar offered_elsewhere: a live worker of the fleet offers the action.
    """

    action: str
    handbacks: int
    offered_elsewhere: bool


@dataclass(frozen=True)
class LeaseExpired:
    """The worker holding the step died (or stalled) mid-attempt."""

    rand: float


@dataclass(frozen=True)
class LookupResult:
    """What the plugin's ``lookup`` found for the step's key (``None``: no effect found)."""

    found_output: Output | None
    rand: float


@dataclass(frozen=True)
class CancelRequested:
    """An operator cancels the execution."""

    reason: str = ""


@dataclass(frozen=True)
class OperatorRetry:
    """An operator retries a failed or attention-needing step with a fresh attempt budget."""

    reason: str = ""


@dataclass(frozen=True)
class OperatorSkip:
    """An operator skips a step that needs attention."""

    reason: str


@dataclass(frozen=True)
class OperatorMarkDone:
    """An operator states the step's effect happened and gives its output."""

    output: Output
    reason: str


Event = (
    StepClaimed
    | ConditionFalse
    | AttemptSucceeded
    | AttemptFailedBusiness
    | AttemptFailedTechnical
    | AttemptOutcomeUnknown
    | AttemptSuspended
    | ActionUnavailable
    | LeaseExpired
    | LookupResult
    | CancelRequested
    | OperatorRetry
    | OperatorSkip
    | OperatorMarkDone
)

# Commands ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StartAttempt:
    """Start the step's next attempt for its claimer: count it, move the fencing token on, take
    the lease and record the attempt. The number it gets is counted where it is carried out, and
    recorded on the audit records of the claim."""


@dataclass(frozen=True)
class ScheduleRetry:
    """Set the step's ``next_attempt_at``; it is claimable from then on."""

    at: datetime


@dataclass(frozen=True)
class ResetAttempts:
    """Start a fresh attempt budget for the step (earlier attempts stay recorded)."""


@dataclass(frozen=True)
class ContinueWithNextStep:
    """Go on with the next step of the workflow (in-process on the hot path)."""


@dataclass(frozen=True)
class ReleaseDependents:
    """A step of a graph is settled: count it down on each step that needs it (``positions``);
    a step whose last need this was becomes runnable and is woken
    (:func:`govflow.core.graph.join_released`)."""

    positions: tuple[int, ...]


@dataclass(frozen=True)
class FollowBranches:
    """A step of a graph suspended or settled without ending its execution: the execution's
    status follows the graph's open steps, as :func:`decide_branches` decides for what the
    statement that carries this out finds under the execution's row lock (whether another step
    of the graph is runnable or running, whether one waits)."""


@dataclass(frozen=True)
class CancelOpenBranches:
    """A step of a graph failed its execution: every other step of it in one of
    ``from_statuses`` is canceled, as an operator's cancel cancels it (a waiting one's human task
    too), audited with ``reason``."""

    from_statuses: frozenset[StepStatus]
    reason: str = "branch_failed"


@dataclass(frozen=True)
class RecordStepError:
    """Store the error of a step that failed without failing its execution
    (``continue_on_error``)."""

    error: StepError


@dataclass(frozen=True)
class StartFailureHandlers:
    """Make the execution's first failure handler (at ``position``) claimable now."""

    position: int


@dataclass(frozen=True)
class CompleteExecution:
    """Mark the execution completed."""


@dataclass(frozen=True)
class FailExecution:
    """Mark the execution failed with this error."""

    error: StepError


@dataclass(frozen=True)
class CreateHumanTask:
    """Open a human task with this payload."""

    payload: Output


@dataclass(frozen=True)
class AwaitSignal:
    """Keep the step waiting for a signal that carries its resume token."""

    reason: str
    payload: Output


@dataclass(frozen=True)
class HandBack:
    """Release the step, unstarted, to any worker at ``at`` (the claim's attempt not counted)."""

    at: datetime


@dataclass(frozen=True)
class CancelHumanTask:
    """Cancel the step's open human task."""


@dataclass(frozen=True)
class CallLookup:
    """Call the plugin's ``lookup`` with the step's key, then feed back a ``LookupResult``."""


@dataclass(frozen=True)
class RecordOutput:
    """Store the step's output."""

    output: Output


@dataclass(frozen=True)
class Audit:
    """Append an audit record (actor and request id are added by the caller)."""

    event_name: AuditEvent
    reason: str | None = None
    data: Mapping[str, object] = field(default_factory=dict)


Command = (
    StartAttempt
    | ScheduleRetry
    | ResetAttempts
    | ContinueWithNextStep
    | ReleaseDependents
    | FollowBranches
    | CancelOpenBranches
    | CompleteExecution
    | FailExecution
    | CreateHumanTask
    | AwaitSignal
    | HandBack
    | CancelHumanTask
    | CallLookup
    | RecordOutput
    | RecordStepError
    | StartFailureHandlers
    | Audit
)


@dataclass(frozen=True)
class Decision:
    """The step's new status, the execution's new status (``None``: unchanged), commands."""

    step_status: StepStatus
    execution_status: ExecutionStatus | None
    commands: tuple[Command, ...]


@dataclass(frozen=True)
class ExecutionDecision:
    """A decision over a whole execution: its new status, the decision for each step that
    changes (by position), and the commands that concern the execution itself."""

    execution_status: ExecutionStatus
    steps: Mapping[int, Decision]
    commands: tuple[Command, ...]


# Deciding ---------------------------------------------------------------------------------------

_WORKER_EVENTS: Mapping[type[object], frozenset[StepStatus]] = {
    StepClaimed: frozenset({StepStatus.PENDING}),
    ConditionFalse: frozenset({StepStatus.PENDING, StepStatus.RUNNING}),
    AttemptSucceeded: frozenset({StepStatus.RUNNING, StepStatus.WAITING}),
    AttemptFailedBusiness: frozenset({StepStatus.RUNNING, StepStatus.WAITING}),
    AttemptFailedTechnical: frozenset({StepStatus.RUNNING}),
    AttemptOutcomeUnknown: frozenset({StepStatus.RUNNING}),
    AttemptSuspended: frozenset({StepStatus.RUNNING}),
    ActionUnavailable: frozenset({StepStatus.RUNNING}),
    LeaseExpired: frozenset({StepStatus.RUNNING}),
    LookupResult: frozenset({StepStatus.RUNNING}),
}
"""Worker and recovery events, with the step statuses they apply to (others are stale)."""

_OPERATOR_EVENTS: Mapping[type[object], StepEvent] = {
    CancelRequested: StepEvent.CANCEL,
    OperatorRetry: StepEvent.OPERATOR_RETRY,
    OperatorSkip: StepEvent.OPERATOR_SKIP,
    OperatorMarkDone: StepEvent.OPERATOR_MARK_DONE,
}
"""Operator requests, with the step event each would be (refused for a failure handler)."""

_CANCELABLE_STEP = frozenset(
    {StepStatus.PENDING, StepStatus.RUNNING, StepStatus.WAITING, StepStatus.NEEDS_ATTENTION}
)


@dataclass
class _Plan:
    """The decision being built: statuses move only through the machines."""

    state: StepState
    now: datetime
    step_status: StepStatus
    execution_status: ExecutionStatus
    commands: list[Command] = field(default_factory=list)

    def step(self, event: StepEvent) -> None:
        self.step_status = transition(STEP_MACHINE, self.step_status, event)

    def execution(self, event: ExecutionEvent) -> None:
        self.execution_status = transition(EXECUTION_MACHINE, self.execution_status, event)

    def add(self, *commands: Command) -> None:
        self.commands.extend(commands)

    def audit(self, name: AuditEvent, reason: str | None = None, **data: object) -> None:
        self.commands.append(Audit(name, reason, data))

    def decision(self) -> Decision:
        changed = self.execution_status != self.state.execution_status
        return Decision(
            step_status=self.step_status,
            execution_status=self.execution_status if changed else None,
            commands=tuple(self.commands),
        )


def decide(state: StepState, event: Event, now: datetime) -> Decision:
    """Decide the step's and the execution's next statuses and what to do, given ``event``.

    Raises ``IllegalTransition`` for an operator request the machines refuse (or an event that
    cannot happen in the state given) and ``ValueError`` for a naive ``now``.
    """
    _check_now(now)
    plan = _Plan(state, now, state.step_status, state.execution_status)
    if state.handler and type(event) in _OPERATOR_EVENTS:  # handlers are no operator's to steer
        raise IllegalTransition(STEP_MACHINE.name, state.step_status, _OPERATOR_EVENTS[type(event)])
    if type(event) in _WORKER_EVENTS and _is_stale(plan, event):
        return plan.decision()
    match event:
        case StepClaimed():
            _on_claimed(plan)
        case ConditionFalse():
            plan.step(StepEvent.SKIP)
            _audit_skip(plan, SkipReason.CONDITION_FALSE)
            _advance(plan)
        case AttemptSucceeded(output=output):
            plan.step(StepEvent.COMPLETE)
            plan.add(RecordOutput(output))
            plan.audit(AuditEvent.WORKFLOW_EXECUTION_STEP_COMPLETED, attempt=state.attempt)
            _advance(plan)
        case AttemptFailedBusiness(error=error):
            _fail(plan, StepEvent.FAIL_BUSINESS, error, "business_error")
        case AttemptFailedTechnical(error=error, rand=rand, retry_after=retry_after):
            data: dict[str, object] = {"attempt": state.attempt, "error": error.message}
            if retry_after is not None:
                data["retry_after_seconds"] = retry_after.total_seconds()
            plan.audit(AuditEvent.WORKFLOW_EXECUTION_PROCESS_TECHNICAL_FAILURE, error.code, **data)
            _retry_or_fail(
                plan,
                StepEvent.FAIL_TECHNICAL_RETRY,
                error,
                rand,
                retry_after=retry_after,
            )
        case AttemptOutcomeUnknown(error=error, rand=rand):
            _on_outcome_unknown(plan, error, rand)
        case AttemptSuspended() if state.handler:
            error = StepError(StepErrorCode.HANDLER_CANNOT_WAIT, "a failure handler cannot wait")
            _fail(plan, StepEvent.FAIL_BUSINESS, error, "handler_cannot_wait")
        case AttemptSuspended(payload=payload, reason=reason):
            plan.step(StepEvent.SUSPEND)
            branch = state.dependents is not None
            if not branch:
                plan.execution(ExecutionEvent.STEP_WAITING)
            elif plan.execution_status is not ExecutionStatus.WAITING:
                # A graph's execution waits once every open step waits (FollowBranches), and
                # only from where it could wait: the same refusals.
                transition(EXECUTION_MACHINE, plan.execution_status, ExecutionEvent.STEP_WAITING)
            if reason == HUMAN_TASK_WAIT:
                plan.add(CreateHumanTask(payload))
                plan.audit(AuditEvent.WORKFLOW_EXECUTION_STEP_WAITING)
            else:
                plan.add(AwaitSignal(reason, payload))
                plan.audit(AuditEvent.WORKFLOW_EXECUTION_STEP_WAITING, reason)
            if branch:
                plan.add(FollowBranches())
            else:
                plan.audit(AuditEvent.WORKFLOW_EXECUTION_PROCESS_WAITING)
        case ActionUnavailable():
            _on_action_unavailable(plan, event)
        case LeaseExpired(rand=rand):
            _on_lease_expired(plan, rand)
        case LookupResult(found_output=found, rand=rand):
            _on_lookup_result(plan, found, rand)
        case CancelRequested(reason=reason):
            _on_cancel(plan, reason)
        case OperatorRetry(reason=reason):
            plan.step(StepEvent.OPERATOR_RETRY)
            plan.execution(ExecutionEvent.OPERATOR_RETRY)
            plan.add(ResetAttempts(), ScheduleRetry(now))
            plan.audit(AuditEvent.WORKFLOW_EXECUTION_OPERATOR_RETRY, reason or None)
        case OperatorSkip(reason=reason):
            plan.step(StepEvent.OPERATOR_SKIP)
            plan.execution(ExecutionEvent.OPERATOR_RESOLVE)
            _audit_skip(plan, SkipReason.OPERATOR_SKIP, operator_reason=reason)
            _advance(plan)
        case OperatorMarkDone(output=output, reason=reason):
            plan.step(StepEvent.OPERATOR_MARK_DONE)
            plan.execution(ExecutionEvent.OPERATOR_RESOLVE)
            plan.add(RecordOutput(output))
            plan.audit(AuditEvent.WORKFLOW_EXECUTION_STEP_MARKED_DONE, reason)
            _advance(plan)
    return plan.decision()


def _check_now(now: datetime) -> None:
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be timezone-aware")


def _stale_data(state: StepState, event: Event) -> dict[str, object]:
    """What the skip entry of a stale event records of it."""
    return {
        "event": type(event).__name__,
        "execution_status": state.execution_status.value,
        "step_status": state.step_status.value,
    }


def _is_stale(plan: _Plan, event: Event) -> bool:
    """Report (and drop) a worker event that comes too late; True when it was dropped."""
    state = plan.state
    handling = state.handler and state.execution_status is ExecutionStatus.FAILED
    if state.execution_status in ExecutionStatus.TERMINAL and not handling:
        plan.audit(
            AuditEvent.WORKFLOW_EXECUTION_PROCESS_SKIPPED,
            "execution_terminal",
            **_stale_data(state, event),
        )
        if isinstance(event, LeaseExpired) and state.step_status is StepStatus.RUNNING:
            # Nobody else closes a step whose execution ended while it was held.
            plan.step(StepEvent.CANCEL)
            plan.audit(AuditEvent.WORKFLOW_EXECUTION_STEP_CANCELED, "execution_ended")
        return True
    runnable = ExecutionStatus.RUNNABLE
    if isinstance(event, StepClaimed) and state.execution_status not in runnable and not handling:
        plan.audit(
            AuditEvent.WORKFLOW_EXECUTION_PROCESS_SKIPPED,
            "stale_event",
            **_stale_data(state, event),
        )
        return True
    if state.step_status in _WORKER_EVENTS[type(event)]:
        return False
    if isinstance(event, LeaseExpired) and state.step_status is StepStatus.COMPLETED:
        _audit_skip(plan, SkipReason.ALREADY_COMPLETED, **_stale_data(state, event))
    else:
        plan.audit(
            AuditEvent.WORKFLOW_EXECUTION_PROCESS_SKIPPED,
            "stale_event",
            **_stale_data(state, event),
        )
    return True


def _on_claimed(plan: _Plan) -> None:
    plan.step(StepEvent.CLAIM)
    plan.add(StartAttempt())
    if plan.execution_status is ExecutionStatus.PENDING:
        plan.execution(ExecutionEvent.START)
        plan.audit(AuditEvent.WORKFLOW_EXECUTION_PROCESS_STARTED)
    plan.audit(AuditEvent.WORKFLOW_EXECUTION_STEP_STARTED)


def _on_lease_expired(plan: _Plan, rand: float) -> None:
    state = plan.state
    if not state.attempt_started:
        _retry_or_fail(plan, StepEvent.LEASE_EXPIRED, _lost_lease(state), rand, recovery=True)
        return
    match state.idempotency:
        case Idempotency.AT_MOST_ONCE:
            _needs_attention(plan, "at_most_once_interrupted")
        case Idempotency.REMOTE_LOOKUP:
            plan.add(CallLookup())
            plan.audit(AuditEvent.WORKFLOW_EXECUTION_STEP_LOOKUP_REQUESTED, attempt=state.attempt)
        case Idempotency.NONE | Idempotency.LOCAL | Idempotency.REMOTE_KEY:
            _retry_or_fail(plan, StepEvent.LEASE_EXPIRED, _lost_lease(state), rand, recovery=True)


def _needs_attention(plan: _Plan, reason: str, **data: object) -> None:
    if plan.state.handler:  # nobody resolves a step of a failed execution: the handler fails
        message = f"the failure handler needs attention ({reason}): not run again"
        _fail(
            plan,
            StepEvent.FAIL_BUSINESS,
            StepError(StepErrorCode.HANDLER_NEEDS_ATTENTION, message),
            reason,
        )
        return
    plan.step(StepEvent.NEEDS_ATTENTION)
    plan.execution(ExecutionEvent.NEEDS_ATTENTION)
    plan.audit(
        AuditEvent.WORKFLOW_EXECUTION_STEP_NEEDS_ATTENTION,
        reason,
        attempt=plan.state.attempt,
        **data,
    )
    plan.audit(AuditEvent.WORKFLOW_EXECUTION_PROCESS_NEEDS_ATTENTION, reason)


def _on_outcome_unknown(plan: _Plan, error: StepError, rand: float) -> None:
    state = plan.state
    if state.idempotency is Idempotency.AT_MOST_ONCE:
        _needs_attention(plan, "outcome_unknown", code=error.code, error=error.message)
        return
    data: dict[str, object] = {"attempt": state.attempt, "error": error.message}
    plan.audit(AuditEvent.WORKFLOW_EXECUTION_PROCESS_TECHNICAL_FAILURE, error.code, **data)
    _retry_or_fail(plan, StepEvent.FAIL_TECHNICAL_RETRY, error, rand)


def _on_lookup_result(plan: _Plan, found: Output | None, rand: float) -> None:
    state = plan.state
    if state.idempotency is not Idempotency.REMOTE_LOOKUP:
        raise ValueError(f"a lookup result for a step with strategy {state.idempotency.value}")
    if found is None:
        _retry_or_fail(plan, StepEvent.LEASE_EXPIRED, _lost_lease(state), rand, recovery=True)
        return
    plan.step(StepEvent.COMPLETE)
    plan.add(RecordOutput(found))
    _audit_skip(plan, SkipReason.ALREADY_APPLIED_REMOTE, attempt=state.attempt)
    plan.audit(AuditEvent.WORKFLOW_EXECUTION_STEP_COMPLETED, attempt=state.attempt)
    _advance(plan)


def _on_cancel(plan: _Plan, reason: str) -> None:
    plan.execution(ExecutionEvent.CANCEL)
    if plan.step_status in _CANCELABLE_STEP:
        if plan.step_status is StepStatus.WAITING:
            plan.add(CancelHumanTask())
        plan.step(StepEvent.CANCEL)
        plan.audit(AuditEvent.WORKFLOW_EXECUTION_STEP_CANCELED, reason or None)
    plan.audit(AuditEvent.WORKFLOW_EXECUTION_CANCELED, reason or None)


def decide_cancel(
    execution_status: ExecutionStatus,
    step_statuses: Sequence[StepStatus],
    event: CancelRequested,
    now: datetime,
) -> ExecutionDecision:
    """Cancel a whole execution: the execution, and each of its steps that has not ended.

    Raises ``IllegalTransition`` when the execution cannot be canceled (it ended already).
    """
    _check_now(now)
    status = transition(EXECUTION_MACHINE, execution_status, ExecutionEvent.CANCEL)
    reason = event.reason or None
    return ExecutionDecision(
        execution_status=status,
        steps=_cancel_steps(step_statuses, reason),
        commands=(Audit(AuditEvent.WORKFLOW_EXECUTION_CANCELED, reason),),
    )


def _cancel_steps(step_statuses: Sequence[StepStatus], reason: str | None) -> dict[int, Decision]:
    """The cancel of each step that has not ended (with its human task when it waits)."""
    steps: dict[int, Decision] = {}
    for position, step_status in enumerate(step_statuses):
        if step_status not in _CANCELABLE_STEP:
            continue
        commands: list[Command] = []
        if step_status is StepStatus.WAITING:
            commands.append(CancelHumanTask())
        commands.append(Audit(AuditEvent.WORKFLOW_EXECUTION_STEP_CANCELED, reason))
        canceled = transition(STEP_MACHINE, step_status, StepEvent.CANCEL)
        steps[position] = Decision(canceled, None, tuple(commands))
    return steps


def decide_reopen(step_status: StepStatus, needs_left: int, now: datetime) -> Decision:
    """An operator's retry of a graph's execution reopens a step that its failed branch
    canceled: the step is ``PENDING`` again with a fresh attempt budget, due now when every one
    of its needs has settled (``needs_left`` 0), otherwise released by the last of them as
    before; audited ``STEP_REOPENED``.

    Raises ``IllegalTransition`` for a step that was not canceled and ``ValueError`` for a
    negative ``needs_left`` or a naive ``now``.
    """
    _check_now(now)
    if needs_left < 0:
        raise ValueError(f"needs_left must not be negative, got {needs_left}")
    status = transition(STEP_MACHINE, step_status, StepEvent.OPERATOR_REOPEN)
    commands: list[Command] = [ResetAttempts()]
    if needs_left == 0:
        commands.append(ScheduleRetry(now))
    data = {"needs_left": needs_left}
    commands.append(Audit(AuditEvent.WORKFLOW_EXECUTION_STEP_REOPENED, "branch_reopened", data))
    return Decision(status, None, tuple(commands))


TIMED_OUT_REASON = "execution_timed_out"
"""The audit reason of a timeout's records (the steps canceled, the execution failed)."""


def decide_timeout(
    execution_status: ExecutionStatus,
    step_statuses: Sequence[StepStatus],
    timeout: timedelta,
    now: datetime,
    handlers_from: int | None = None,
) -> ExecutionDecision:
    """Fail an execution that ran longer than its workflow's ``timeout``: the
    execution becomes ``FAILED`` with ``EXECUTION_TIMED_OUT``, and every step that has not
    ended is canceled as an operator's cancel cancels it (a waiting one's human task too). With
    failure handlers (from position ``handlers_from`` on) those are left and started instead.

    Raises ``IllegalTransition`` when the execution has ended already.
    """
    _check_now(now)
    status = transition(EXECUTION_MACHINE, execution_status, ExecutionEvent.TIME_OUT)
    limit = format_duration(timeout)
    error = StepError(
        StepErrorCode.EXECUTION_TIMED_OUT, f"the execution ran longer than its timeout ({limit})"
    )
    data = {"code": error.code, "error": error.message}
    commands: list[Command] = [
        FailExecution(error),
        Audit(AuditEvent.WORKFLOW_EXECUTION_PROCESS_FAILED, TIMED_OUT_REASON, data),
    ]
    if handlers_from is not None:
        step_statuses = step_statuses[:handlers_from]
        commands.append(StartFailureHandlers(handlers_from))
        started = AuditEvent.WORKFLOW_EXECUTION_FAILURE_HANDLERS_STARTED
        commands.append(Audit(started, TIMED_OUT_REASON, data))
    return ExecutionDecision(
        execution_status=status,
        steps=_cancel_steps(step_statuses, TIMED_OUT_REASON),
        commands=tuple(commands),
    )


def _retry_or_fail(
    plan: _Plan,
    retry_event: StepEvent,
    error: StepError,
    rand: float,
    *,
    recovery: bool = False,
    retry_after: timedelta | None = None,
) -> None:
    """Schedule the next attempt, or fail the step and execution with ``error`` (``recovery``:
    the attempt is being recovered after its lease expired, not reported by its worker)."""
    state = plan.state
    retry = decide_retry(state.retry, max(state.attempt, 1), plan.now, rand, retry_after)
    if retry.next_attempt_at is None:
        if recovery:
            plan.audit(
                AuditEvent.WORKFLOW_EXECUTION_RECOVERY_FAILED,
                "attempts_exhausted",
                attempt=state.attempt,
            )
        _fail(plan, StepEvent.FAIL_EXHAUSTED, error, "attempts_exhausted")
        return
    plan.step(retry_event)
    plan.add(ScheduleRetry(retry.next_attempt_at))
    if recovery:
        plan.audit(
            AuditEvent.WORKFLOW_EXECUTION_STEP_RECOVERED,
            "attempt_not_started" if not state.attempt_started else state.idempotency.value,
            attempt=state.attempt,
        )
    plan.audit(
        AuditEvent.WORKFLOW_EXECUTION_STEP_RETRY_SCHEDULED,
        attempt=state.attempt,
        next_attempt_at=retry.next_attempt_at.isoformat(),
    )


HANDBACK_LIMIT = 60
"""Hand-backs of one step after which it fails when no live worker offers its action."""
HANDBACK_DELAY = timedelta(seconds=1)
"""The wait before a handed-back step is claimable again while a live worker offers it."""
HANDBACK_DELAY_UNOFFERED = timedelta(seconds=5)
"""The wait while no live worker offers the action (a worker with the plugin may be starting)."""


def _on_action_unavailable(plan: _Plan, event: ActionUnavailable) -> None:
    """Hand the step back to the fleet, or fail it once nobody can run it.

    A step whose action this worker lacks is released, unstarted, to any worker: after
    :data:`HANDBACK_DELAY` while a live worker offers the action, after
    :data:`HANDBACK_DELAY_UNOFFERED` while none does. It fails (``ACTION_UNAVAILABLE``) when it
    has been handed back :data:`HANDBACK_LIMIT` times and no live worker offers the action
    (about five minutes of nobody able to run it); while one does, it keeps being handed on.
    """
    offered = event.offered_elsewhere
    if event.handbacks + 1 >= HANDBACK_LIMIT and not offered:
        message = (
            f"no live worker offers the action {event.action!r} (handed back "
            f"{event.handbacks + 1} times): install the plugin that provides it on the workers "
            "and restart them, then retry the execution"
        )
        _fail(
            plan,
            StepEvent.FAIL_BUSINESS,
            StepError(StepErrorCode.ACTION_UNAVAILABLE, message),
            "action_unavailable",
            final=True,
        )
        return
    at = plan.now + (HANDBACK_DELAY if offered else HANDBACK_DELAY_UNOFFERED)
    plan.step(StepEvent.HAND_BACK)
    plan.add(HandBack(at))
    plan.audit(
        AuditEvent.WORKFLOW_EXECUTION_STEP_HANDED_BACK,
        "action_unavailable",
        action=event.action,
        handbacks=event.handbacks + 1,
        offered_elsewhere=offered,
        next_attempt_at=at.isoformat(),
    )


def _fail(
    plan: _Plan, step_event: StepEvent, error: StepError, reason: str, *, final: bool = False
) -> None:
    """Fail the step and the execution with ``error``; a ``continue_on_error`` step fails alone
    and the execution goes on (``final``: a failure no step setting tolerates)."""
    plan.step(step_event)
    data = {"attempt": plan.state.attempt, "code": error.code, "error": error.message}
    plan.audit(AuditEvent.WORKFLOW_EXECUTION_STEP_FAILED, reason, **data)
    if plan.state.handler:  # recorded; the next handler runs, the execution stays FAILED
        plan.add(RecordStepError(error))
        plan.audit(AuditEvent.WORKFLOW_EXECUTION_STEP_HANDLER_FAILED, reason, **data)
        _advance(plan)
        return
    if plan.state.continue_on_error and not final:
        # Only where the execution could fail: the same states, the same refusals.
        transition(EXECUTION_MACHINE, plan.execution_status, ExecutionEvent.FAIL)
        plan.add(RecordStepError(error))
        plan.audit(AuditEvent.WORKFLOW_EXECUTION_STEP_FAILURE_CONTINUED, reason, **data)
        _advance(plan)
        return
    plan.execution(ExecutionEvent.FAIL)
    plan.add(FailExecution(error))
    if plan.state.dependents is not None:  # a graph: the other branches end with it
        plan.add(CancelOpenBranches(_CANCELABLE_STEP))
    plan.audit(AuditEvent.WORKFLOW_EXECUTION_PROCESS_FAILED, reason, **data)
    if plan.state.handlers_from is not None:
        plan.add(StartFailureHandlers(plan.state.handlers_from))
        plan.audit(AuditEvent.WORKFLOW_EXECUTION_FAILURE_HANDLERS_STARTED, reason, **data)


def _advance(plan: _Plan) -> None:
    """The step is done: resume or start the execution, then complete it or go on (a failure
    handler: go on with the next handler, the execution's status untouched)."""
    if plan.state.handler:
        if plan.state.is_last_step:
            plan.audit(AuditEvent.WORKFLOW_EXECUTION_FAILURE_HANDLERS_FINISHED)
        else:
            plan.add(ContinueWithNextStep())
        return
    branch = plan.state.dependents is not None and not plan.state.is_last_step
    if plan.execution_status is ExecutionStatus.WAITING and not branch:
        plan.execution(ExecutionEvent.RESUME)
        plan.audit(AuditEvent.WORKFLOW_EXECUTION_PROCESS_RESUMED)
    elif plan.execution_status is ExecutionStatus.PENDING:
        plan.execution(ExecutionEvent.START)
        plan.audit(AuditEvent.WORKFLOW_EXECUTION_PROCESS_STARTED)
    if plan.state.is_last_step:
        plan.execution(ExecutionEvent.COMPLETE)
        plan.add(CompleteExecution())
        plan.audit(AuditEvent.WORKFLOW_EXECUTION_PROCESS_COMPLETED)
    elif plan.state.dependents is not None:  # a graph: release the steps that need this one
        plan.add(ReleaseDependents(plan.state.dependents), FollowBranches())
    else:
        plan.add(ContinueWithNextStep())


BRANCH_RUNNABLE = "branch_runnable"
"""The audit reason of a graph's execution resumed because one of its steps can run while
another waits."""
BRANCHES_WAIT = "every_open_step_waits"
"""The audit reason of a graph's execution that waits because every one of its open steps does."""


@dataclass(frozen=True)
class BranchDecision:
    """What a graph's execution becomes after a step of it suspended or settled
    (``FollowBranches``): its new status (``None``: unchanged) and the audit records."""

    execution_status: ExecutionStatus | None
    commands: tuple[Command, ...]


def decide_branches(
    execution_status: ExecutionStatus, *, runnable: bool, waiting: bool
) -> BranchDecision:
    """The status of a graph's execution given its open steps: ``RUNNING`` while one is
    runnable (released and due, or due again after a retry) or running, ``WAITING`` once every
    open step waits (a human task, a signal, a child execution). ``runnable``: another step of
    the graph is, or the step that settled released one; ``waiting``: a step of it waits (the
    one that just suspended included). Any other status (``NEEDS_ATTENTION``, an ended
    execution) is left as it is."""
    if execution_status is ExecutionStatus.RUNNING and waiting and not runnable:
        status = transition(EXECUTION_MACHINE, execution_status, ExecutionEvent.STEP_WAITING)
        audit = Audit(AuditEvent.WORKFLOW_EXECUTION_PROCESS_WAITING, BRANCHES_WAIT)
        return BranchDecision(status, (audit,))
    if execution_status is ExecutionStatus.WAITING and runnable:
        status = transition(EXECUTION_MACHINE, execution_status, ExecutionEvent.RESUME)
        audit = Audit(AuditEvent.WORKFLOW_EXECUTION_PROCESS_RESUMED, BRANCH_RUNNABLE)
        return BranchDecision(status, (audit,))
    return BranchDecision(None, ())


def _audit_skip(plan: _Plan, reason: SkipReason, **data: object) -> None:
    data = {"reason": reason.value, **data}
    plan.add(Audit(AuditEvent.WORKFLOW_EXECUTION_STEP_SKIPPED, reason.value, data))


def _lost_lease(state: StepState) -> StepError:
    return StepError(
        StepErrorCode.LEASE_EXPIRED, f"the worker lost its lease during attempt {state.attempt}"
    )


# Whole executions -------------------------------------------------------------------------------


def _settled(
    step_statuses: Sequence[StepStatus], continue_on_error: Sequence[bool]
) -> list[StepStatus]:
    """``step_statuses`` with the failure of each ``continue_on_error`` step counted as done."""
    tolerant = {index for index, tolerates in enumerate(continue_on_error) if tolerates}
    return [
        StepStatus.SKIPPED if status is StepStatus.FAILED and index in tolerant else status
        for index, status in enumerate(step_statuses)
    ]


def execution_outcome(
    step_statuses: Sequence[StepStatus], continue_on_error: Sequence[bool] = ()
) -> ExecutionStatus | None:
    """The status the execution's steps put it in, or ``None`` while steps remain to run.

    ``COMPLETED`` when every step completed or was skipped (or failed with
    ``continue_on_error``, by position in ``continue_on_error``); otherwise the first of
    ``CANCELED``, ``FAILED``, ``NEEDS_ATTENTION``, ``WAITING`` any step is in.
    """
    present = set(_settled(step_statuses, continue_on_error))
    if present <= StepStatus.DONE:
        return ExecutionStatus.COMPLETED
    for step_status, execution_status in (
        (StepStatus.CANCELED, ExecutionStatus.CANCELED),
        (StepStatus.FAILED, ExecutionStatus.FAILED),
        (StepStatus.NEEDS_ATTENTION, ExecutionStatus.NEEDS_ATTENTION),
        (StepStatus.WAITING, ExecutionStatus.WAITING),
    ):
        if step_status in present:
            return execution_status
    return None


def next_step_index(
    step_statuses: Sequence[StepStatus], continue_on_error: Sequence[bool] = ()
) -> int | None:
    """The index of the step to run next: the first not done, if it is ``PENDING`` (a failed
    ``continue_on_error`` step counts as done).

    ``None`` when every step is done or the first unfinished step is not pending (running,
    waiting, failed...): the execution cannot move on by itself.
    """
    for index, status in enumerate(_settled(step_statuses, continue_on_error)):
        if status in StepStatus.DONE:
            continue
        return index if status is StepStatus.PENDING else None
    return None
