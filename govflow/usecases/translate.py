"""Turning the engine's pure decisions into the ports' values (and back)."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from govflow.core.audit_events import AuditEvent
from govflow.core.durations import parse_duration
from govflow.core.engine import (
    HUMAN_TASK_WAIT,
    Audit,
    AwaitSignal,
    CancelOpenBranches,
    CompleteExecution,
    ContinueWithNextStep,
    CreateHumanTask,
    Decision,
    FailExecution,
    FollowBranches,
    RecordOutput,
    RecordStepError,
    ReleaseDependents,
    ScheduleRetry,
    StartAttempt,
    StartFailureHandlers,
    StepClaimed,
    StepError,
    StepState,
    decide,
    decide_branches,
)
from govflow.core.idempotency import Idempotency
from govflow.core.retry import Backoff, RetrySchedule
from govflow.core.spec import RetryPolicy
from govflow.core.statuses import AttemptOutcome, ExecutionStatus, StepStatus
from govflow.core.tasks.model import OnReject
from govflow.usecases.audit import AuditEntry
from govflow.usecases.ports import (
    BranchRule,
    ClaimAudit,
    ClaimedStep,
    ClaimOrder,
    ClaimRule,
    StepFinish,
)

EXECUTION = "execution"
STEP = "execution_step"


@functools.lru_cache(maxsize=1024)
def retry_schedule(policy: RetryPolicy) -> RetrySchedule:
    """The schedule of a (frozen, hashable) policy; cached: every step attempt asks for one."""
    return RetrySchedule(
        max_attempts=policy.max_attempts,
        backoff=Backoff(policy.backoff),
        initial_delay=policy.initial_delay_delta,
        max_delay=max(policy.max_delay_delta, policy.initial_delay_delta),
        jitter=policy.jitter,
    )


def error_payload(error: StepError) -> dict[str, Any]:
    """A step's (and its attempt's) recorded error: code, message, and the action's ``details``
    when it gave any."""
    payload: dict[str, Any] = {"code": error.code, "message": error.message}
    if error.details:
        payload["details"] = dict(error.details)
    return payload


def _party_columns(party: Mapping[str, Any] | None) -> tuple[str | None, str | None, list[str]]:
    """(role, department id, user ids) of a resolved party of the ``manual`` action."""
    if not party:
        return None, None, []
    return party.get("role"), party.get("department_id"), list(party.get("users") or [])


def human_task_row(payload: Mapping[str, Any]) -> dict[str, Any]:
    """The columns of a human task, from the ``manual`` action's payload (its people resolved
    to ids by the action: ``{users, role, department_id}`` each)."""
    offer_role, offer_department, offer_users = _party_columns(payload.get("assignee"))
    reviewer_role, reviewer_department, reviewer_users = _party_columns(payload.get("reviewers"))
    escalate = payload.get("escalate_to")
    due_in = payload.get("due_in")
    return {
        "title": str(payload.get("title") or "Task"),
        "description": str(payload.get("description") or ""),
        "assignee_role": offer_role,
        "offer_department_id": offer_department,
        "offer_users": offer_users,
        "reviewer_role": reviewer_role,
        "reviewer_department_id": reviewer_department,
        "reviewer_users": reviewer_users,
        "approvals_required": int(payload.get("approvals") or 1),
        "starter_cannot_approve": bool(payload.get("starter_cannot_approve")),
        "on_reject": str(payload.get("on_reject") or OnReject.REWORK),
        "escalate_to": dict(escalate) if escalate else None,
        "notify": list(payload.get("notify") or []) or None,
        "form": payload.get("form") or {},
        "due_in_seconds": parse_duration(due_in).total_seconds() if due_in else None,
    }


def entity_type(event: AuditEvent) -> str:
    """Whether an engine audit record is about the step or about its execution."""
    return STEP if event in AuditEvent.STEP else EXECUTION


def audit_entries(
    decision: Decision, claim: ClaimedStep, extra: Mapping[str, Any] | None = None
) -> list[AuditEntry]:
    entries = []
    for command in decision.commands:
        if not isinstance(command, Audit):
            continue
        kind = entity_type(command.event_name)
        entries.append(
            AuditEntry(
                action=command.event_name,
                entity_type=kind,
                entity_id=str(claim.step_id if kind == STEP else claim.execution_id),
                department_id=claim.department_id,
                reason=command.reason,
                metadata={
                    "execution_id": str(claim.execution_id),
                    "step": claim.step_key,
                    **jsonable(command.data),
                    **(extra or {}),
                },
            )
        )
    return entries


def jsonable(data: Mapping[str, object]) -> dict[str, object]:
    """Audit data as JSON values (ids and times as text)."""
    if not data:
        return {}
    return {k: str(v) if isinstance(v, UUID | datetime) else v for k, v in data.items()}


def claim_rule(
    execution_status: ExecutionStatus, decision: Decision, *, handlers: bool = False
) -> ClaimRule:
    """A claim decision, made for an execution in ``execution_status``, as the claim port's rule.

    Raises ``ValueError`` for a decision that is not a claim (a stale one included)."""
    audit: list[ClaimAudit] = []
    for command in decision.commands:
        match command:
            case StartAttempt():
                pass
            case Audit(event_name=name, reason=reason, data=data):
                audit.append(
                    ClaimAudit(
                        action=name,
                        entity_type=entity_type(name),
                        reason=reason,
                        data=jsonable(data),
                    )
                )
            case _:
                raise ValueError(f"a claim cannot carry out {command!r}")
    if not any(isinstance(c, StartAttempt) for c in decision.commands):
        raise ValueError(f"not a claim: {decision!r}")
    return ClaimRule(
        execution_status=execution_status,
        step_status=decision.step_status,
        execution_becomes=decision.execution_status,
        audit=tuple(audit),
        handlers=handlers,
    )


def claim_order(now: datetime) -> ClaimOrder:
    """The engine's decisions for claiming a ``PENDING`` step, one per status its execution may
    be claimed in.

    The claim statement's guard makes the step ``PENDING``; what else a claim does depends on the
    execution's status only (the attempt it starts is counted by the statement), so the claim is
    decided before the statement and the statement carries out the rule of the status it finds.
    A failure handler is claimed in a ``FAILED`` execution only, by a rule of its own.
    """
    rules = []
    for status in sorted(ExecutionStatus.RUNNABLE):
        state = StepState(
            execution_status=status,
            step_status=StepStatus.PENDING,
            attempt=0,
            idempotency=Idempotency.NONE,
        )
        rules.append(claim_rule(status, decide(state, StepClaimed(), now)))
    handler = StepState(
        execution_status=ExecutionStatus.FAILED,
        step_status=StepStatus.PENDING,
        attempt=0,
        idempotency=Idempotency.NONE,
        handler=True,
    )
    failed = decide(handler, StepClaimed(), now)
    rules.append(claim_rule(ExecutionStatus.FAILED, failed, handlers=True))
    return ClaimOrder(rules=tuple(rules))


@functools.cache
def branch_rules() -> tuple[BranchRule, ...]:
    """The engine's decisions on a graph's execution after a step of it suspended or settled
    (``FollowBranches``), one per situation that changes it: the statement finds the
    execution's status and whether another step is runnable or one waits, and applies the rule
    of that situation (none: the execution is left as it is)."""
    rules = []
    for status in (ExecutionStatus.RUNNING, ExecutionStatus.WAITING):
        for runnable in (False, True):
            for waiting in (False, True):
                decided = decide_branches(status, runnable=runnable, waiting=waiting)
                if decided.execution_status is None:
                    continue
                audit = tuple(
                    ClaimAudit(
                        action=c.event_name,
                        entity_type=entity_type(c.event_name),
                        reason=c.reason,
                        data=jsonable(c.data),
                    )
                    for c in decided.commands
                    if isinstance(c, Audit)
                )
                rules.append(
                    BranchRule(
                        execution_status=status,
                        runnable=runnable,
                        waiting=waiting,
                        execution_becomes=decided.execution_status,
                        audit=audit,
                    )
                )
    return tuple(rules)


def to_finish(
    decision: Decision,
    claim: ClaimedStep,
    now: datetime,
    *,
    execution_from: ExecutionStatus,
    outcome: AttemptOutcome,
    next_claim: ClaimRule | None,
    attempt_error: StepError | None = None,
) -> StepFinish:
    """The one statement that carries ``decision`` out.

    :param execution_from: the execution's status ``decision`` was made on.
    :param next_claim: when the decision goes on with the next step, claim it for this worker
        as this rule says (decided for the status the execution is left in); ``None``: release
        it to any worker instead.
    Raises ``ValueError`` for a command a step's finish does not carry out.
    """
    output: Mapping[str, Any] | None = None
    error: Mapping[str, Any] | None = error_payload(attempt_error) if attempt_error else None
    retry_in: timedelta | None = None
    human_task: Mapping[str, Any] | None = None
    wait_reason: str | None = None
    handlers_at: int | None = None
    go_on = False
    dependents: tuple[int, ...] | None = None
    cancel: CancelOpenBranches | None = None
    follow = False
    for command in decision.commands:
        match command:
            case RecordOutput(output=recorded):
                output = recorded
            case FailExecution(error=failed) | RecordStepError(error=failed):
                error = error_payload(failed)
            case ScheduleRetry(at=at):
                retry_in = max(timedelta(0), at - now)
            case CreateHumanTask(payload=payload):
                human_task = human_task_row(payload)
                wait_reason = HUMAN_TASK_WAIT
            case AwaitSignal(reason=reason):
                wait_reason = reason
            case ContinueWithNextStep():
                go_on = True
            case ReleaseDependents(positions=positions):
                dependents = positions
            case CancelOpenBranches():
                cancel = command
            case FollowBranches():
                follow = True
            case StartFailureHandlers(position=position):
                handlers_at = position
            case CompleteExecution() | Audit():
                pass
            case _:
                raise ValueError(f"a step's finish cannot carry out {command!r}")
    return StepFinish(
        step_status=decision.step_status,
        execution_from=execution_from,
        execution_status=decision.execution_status,
        outcome=outcome,
        output=output,
        error=error,
        retry_in=retry_in,
        claim_next=next_claim if go_on else None,
        release_next=go_on and next_claim is None,
        human_task=human_task,
        wait_reason=wait_reason,
        audit=audit_entries(decision, claim),
        release_dependents=dependents,
        cancel_from=cancel.from_statuses if cancel else None,
        cancel_reason=cancel.reason if cancel else None,
        start_handlers_at=handlers_at,
        follow_branches=branch_rules() if follow else None,
    )
