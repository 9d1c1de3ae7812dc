"""Finishing a suspended step from outside: ``POST /workflow-executions/{id}/steps/{key}/signal``.

An action that raised ``Suspend(reason, payload)`` (any reason but ``human_task``) left its step
``WAITING`` with the hash of its resume token (:mod:`govflow.usecases.long_actions`). The
external system sends the token back with the step's ``output`` (the step completes) or an
``error`` (the step and the execution fail with it, ``details`` kept). The engine decides, as for
an approved human task (an ``AttemptSucceeded`` or ``AttemptFailedBusiness`` on the ``WAITING``
step, :func:`govflow.usecases.operate.step_change`), in one transaction with the execution
locked; then the next step is woken.

Refusals: another department's execution, or a step the workflow lacks, is ``NotFoundError``; a
step that does not wait for a signal (running, done, or waiting for a human task: a replay of a
signal included) ``ConflictError``; a wrong token ``ForbiddenError``, audited
(``WORKFLOW_EXECUTION_STEP_SIGNAL_REFUSED``) with nothing else changed. The token is compared
in constant time, by its hash.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Protocol
from uuid import UUID

import msgspec

from govflow.core.audit_events import AuditEvent
from govflow.core.engine import (
    HUMAN_TASK_WAIT,
    AttemptFailedBusiness,
    AttemptSucceeded,
    Event,
    StepError,
)
from govflow.core.error_codes import StepErrorCode
from govflow.core.statuses import StepStatus
from govflow.usecases.access_errors import ForbiddenError
from govflow.usecases.audit import AuditEntry
from govflow.usecases.errors import ConflictError, NotFoundError
from govflow.usecases.long_actions import token_matches
from govflow.usecases.operate import (
    ExecutionChange,
    ExecutionSnapshot,
    StepSnapshot,
    waiting_step_change,
)
from govflow.usecases.ports import StepQueue
from govflow.usecases.principal import Principal, scope_department
from govflow.usecases.translate import STEP


class SignalError(msgspec.Struct, frozen=True, kw_only=True):
    """What the external system reports went wrong."""

    message: str
    code: str | None = None
    details: Mapping[str, Any] | None = None


class Signal(msgspec.Struct, frozen=True, kw_only=True):
    """The token, and either the step's output or its error."""

    token: str
    output: Mapping[str, Any] | None = None
    error: SignalError | None = None


class Signaled(msgspec.Struct, frozen=True, kw_only=True):
    """What the signal did."""

    execution_id: UUID
    step_key: str
    step_status: StepStatus
    execution_status: str
    woken: list[UUID] = msgspec.field(default_factory=list)


class SignalUnit(Protocol):
    """An execution locked for a signal, and what its step stores of the wait."""

    snapshot: ExecutionSnapshot
    wait_reason: str | None
    resume_token_hash: str | None
    wake_at: datetime | None
    """A timer's due time (a ``wait`` step's), else ``None``."""

    async def apply(self, change: ExecutionChange) -> None:
        """Carry ``change`` out; ``ConflictError`` (and nothing written) if a guard fails."""
        ...


class SignalStore(Protocol):
    def locked(
        self, execution_id: UUID, department_scope: UUID | None, step_key: str
    ) -> contextlib.AbstractAsyncContextManager[SignalUnit | None]:
        """The execution locked, with the wait of its step ``step_key`` (``None``: no such
        execution in the scope)."""
        ...

    async def record(self, entries: Sequence[AuditEntry]) -> None:
        """Append audit entries in a transaction of their own."""
        ...


def signal_event(signal: Signal) -> Event:
    """The engine's event for a signal: its output, or its error (a business failure)."""
    if signal.error is not None:
        error = signal.error
        details = dict(error.details or {})
        return AttemptFailedBusiness(
            StepError(error.code or StepErrorCode.SIGNALED_ERROR, error.message, details)
        )
    return AttemptSucceeded(dict(signal.output or {}))


def _audit(
    action: AuditEvent, snapshot: ExecutionSnapshot, step: StepSnapshot, principal: Principal
) -> AuditEntry:
    return AuditEntry(
        action=action,
        actor=principal.actor(),
        entity_type=STEP,
        entity_id=str(step.step_id),
        department_id=snapshot.department_id,
        request_id=principal.request_id,
        metadata={"execution_id": str(snapshot.execution_id), "step": step.step_key},
    )


async def signal_step(
    store: SignalStore,
    queue: StepQueue,
    execution_id: UUID,
    step_key: str,
    signal: Signal,
    principal: Principal,
    *,
    now: datetime | None = None,
) -> Signaled:
    """Finish the suspended step ``step_key`` of ``execution_id`` (see the module docstring)."""
    moment = now or datetime.now(UTC)
    refused: AuditEntry | None = None
    async with store.locked(execution_id, scope_department(principal), step_key) as unit:
        if unit is None:
            raise NotFoundError("execution not found")
        snapshot = unit.snapshot
        found = [step for step in snapshot.steps if step.step_key == step_key]
        if not found:
            raise NotFoundError(f"execution {execution_id} has no step {step_key!r}")
        step = found[0]
        waits = (
            step.status is StepStatus.WAITING
            and unit.wait_reason != HUMAN_TASK_WAIT
            and unit.resume_token_hash is not None
        )
        if not waits:
            raise ConflictError(f"step {step_key} is {step.status}: it does not wait for a signal")
        if not token_matches(signal.token, unit.resume_token_hash):
            refused = _audit(
                AuditEvent.WORKFLOW_EXECUTION_STEP_SIGNAL_REFUSED, snapshot, step, principal
            )
        else:
            event = signal_event(signal)
            change = waiting_step_change(snapshot, step, event, principal.actor(), "signal", moment)
            signaled = _audit(
                AuditEvent.WORKFLOW_EXECUTION_STEP_SIGNALED, snapshot, step, principal
            )
            change = msgspec.structs.replace(change, audit=(signaled, *change.audit))
            await unit.apply(change)
    if refused is not None:
        await store.record([refused])
        raise ForbiddenError("token: the resume token does not match")
    woken = [c.step_id for c in change.steps if c.runnable_now]
    if woken:
        await queue.wake(woken)
    return Signaled(
        execution_id=execution_id,
        step_key=step_key,
        step_status=change.steps[0].status,
        execution_status=change.execution_status or snapshot.status,
        woken=woken,
    )
