"""Use cases of the execution endpoints: start, read, operate, wake up, recover.

Every read and every operator action is restricted to the caller's department
(:func:`~govflow.usecases.principal.scope_department`): another department's execution is "not
found". An OPERATOR reads only the executions it started or has a task assigned in
(:func:`viewer_of`); any other is "not found" as well. Operator actions are the engine's
(:mod:`govflow.usecases.operate`), audited there with the principal as the actor.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, Protocol, TypeVar
from uuid import UUID

from govflow.core.audit_events import AuditEvent
from govflow.core.statuses import ExecutionStatus
from govflow.usecases.audit import AuditEntry
from govflow.usecases.errors import ConflictError, InvalidInputError, NotFoundError
from govflow.usecases.execution_views import (
    ExecutionFilter,
    ExecutionSummary,
    ExecutionView,
    JobView,
    RecoveryView,
    RunnableSteps,
    StartedView,
    StepDetail,
)
from govflow.usecases.operate import (
    ExecutionControl,
    OperatorResult,
    Resolution,
    cancel_execution,
    resolve_step,
    retry_execution,
)
from govflow.usecases.paging import Page, PageRequest
from govflow.usecases.ports import StepQueue
from govflow.usecases.principal import Principal, Role, scope_department
from govflow.usecases.start_execution import StartRequest, StartResult
from govflow.usecases.sweep import SweepReport

T = TypeVar("T")


class ExecutionReader(Protocol):
    """Executions as the API reads them, restricted to a scope."""

    async def search(
        self,
        where: ExecutionFilter,
        page: PageRequest,
        scope: UUID | None,
        viewer: UUID | None = None,
    ) -> Page[ExecutionSummary]:
        """Executions in ``scope``; with a ``viewer``, only those that user started or has a
        task assigned in."""
        ...

    async def get(
        self, execution_id: UUID, scope: UUID | None, viewer: UUID | None = None
    ) -> ExecutionView | None: ...

    async def steps(
        self, execution_id: UUID, scope: UUID | None, viewer: UUID | None = None
    ) -> list[StepDetail] | None: ...

    async def job(self, execution_id: UUID, scope: UUID | None) -> JobView | None: ...

    async def runnable(self, execution_id: UUID, scope: UUID | None) -> RunnableSteps | None: ...

    async def record(self, entries: Sequence[AuditEntry]) -> None: ...


class Sweep(Protocol):
    async def sweep_once(self, department: UUID | None = None) -> SweepReport:
        """One sweep over ``department``'s executions (``None``: every department's)."""
        ...


class ExecutionAdmin:
    """The execution endpoints' use cases."""

    def __init__(
        self,
        reader: ExecutionReader,
        start: Callable[[StartRequest], Awaitable[StartResult]],
        control: ExecutionControl,
        queue: StepQueue,
        sweeper: Sweep,
    ) -> None:
        self._reader = reader
        self._start = start
        self._control = control
        self._queue = queue
        self._sweeper = sweeper

    async def start(
        self,
        principal: Principal,
        workflow: UUID | str,
        inputs: Mapping[str, Any],
        idempotency_key: str | None,
    ) -> StartedView:
        """Start the current version of the workflow (by id, or by name); the same idempotency
        key gives the same execution (``created`` false). The caller is recorded as the
        execution's ``created_by``.

        :raises NotFoundError: no such workflow in the caller's department.
        :raises ConflictError: the workflow is deactivated.
        :raises InvalidInputError: the inputs do not match (fields ``body.inputs.<name>``).
        """
        try:
            result = await self._start(
                StartRequest(
                    workflow=workflow,
                    inputs=inputs,
                    idempotency_key=idempotency_key,
                    actor=principal.actor(),
                    department_scope=scope_department(principal),
                    request_id=principal.request_id,
                )
            )
        except InvalidInputError as exc:
            raise InvalidInputError([(f"body.{f}", m) for f, m in exc.problems]) from None
        return StartedView(
            execution_id=result.execution_id,
            workflow_id=result.workflow_id,
            status=result.status,
            created=result.created,
            idempotency_key=idempotency_key,
        )

    async def search(
        self, principal: Principal, where: ExecutionFilter, page: PageRequest
    ) -> Page[ExecutionSummary]:
        return await self._reader.search(
            where, page, scope_department(principal), viewer_of(principal)
        )

    async def get(self, principal: Principal, execution_id: UUID) -> ExecutionView:
        scope = scope_department(principal)
        return _found(await self._reader.get(execution_id, scope, viewer_of(principal)))

    async def steps(self, principal: Principal, execution_id: UUID) -> list[StepDetail]:
        scope = scope_department(principal)
        return _found(await self._reader.steps(execution_id, scope, viewer_of(principal)))

    async def job(self, principal: Principal, execution_id: UUID) -> JobView:
        return _found(await self._reader.job(execution_id, scope_department(principal)))

    async def process(self, principal: Principal, execution_id: UUID) -> OperatorResult:
        """Send a wake-up for every runnable step again (a pure wake-up: nothing is written;
        a worker that finds the step taken does nothing).

        :raises ConflictError: the execution has ended.
        """
        runnable = _found(await self._reader.runnable(execution_id, scope_department(principal)))
        if ExecutionStatus(runnable.execution_status) in ExecutionStatus.TERMINAL:
            raise ConflictError(f"execution is {runnable.execution_status}: nothing to process")
        if runnable.step_ids:
            await self._queue.wake(runnable.step_ids)
        return OperatorResult(
            execution_id=execution_id,
            execution_status=runnable.execution_status,
            woken=runnable.step_ids,
        )

    async def cancel(self, principal: Principal, execution_id: UUID, reason: str) -> OperatorResult:
        return await cancel_execution(
            self._control,
            execution_id,
            actor=principal.actor(),
            reason=reason,
            department_scope=scope_department(principal),
        )

    async def retry(self, principal: Principal, execution_id: UUID, reason: str) -> OperatorResult:
        return await retry_execution(
            self._control,
            self._queue,
            execution_id,
            actor=principal.actor(),
            reason=reason,
            department_scope=scope_department(principal),
        )

    async def resolve(
        self,
        principal: Principal,
        execution_id: UUID,
        step_key: str,
        resolution: Resolution,
        reason: str,
        output: Mapping[str, Any] | None,
    ) -> OperatorResult:
        return await resolve_step(
            self._control,
            self._queue,
            execution_id,
            step_key,
            resolution,
            actor=principal.actor(),
            reason=reason,
            output=output,
            department_scope=scope_department(principal),
        )

    async def recover_stale(self, principal: Principal) -> RecoveryView:
        """One sweep: recover expired leases, re-send lost wake-ups. Audited with the report.

        A MANAGER's sweep touches, counts and audits their own department's executions only.
        """
        scope = scope_department(principal)
        report = await self._sweeper.sweep_once(scope)
        view = RecoveryView(
            recovered=report.recovered,
            needs_attention=report.needs_attention,
            completed_by_lookup=report.completed_by_lookup,
            failed=report.failed,
            resent=report.resent,
        )
        await self._reader.record(
            [
                AuditEntry(
                    action=AuditEvent.WORKFLOW_EXECUTION_RECOVERY_TRIGGERED,
                    actor=principal.actor(),
                    entity_type="execution",
                    department_id=None if scope is None else principal.department_id,
                    request_id=principal.request_id,
                    reason="stale running recovery requested through the API",
                    metadata={name: getattr(view, name) for name in RecoveryView.__struct_fields__},
                )
            ]
        )
        return view


def viewer_of(principal: Principal) -> UUID | None:
    """The user whose executions alone the principal may read: an OPERATOR's own (started, or
    with a task assigned to it); ``None`` (the whole department scope) for the other roles."""
    return principal.user_id if principal.role is Role.OPERATOR else None


def _found(value: T | None) -> T:
    if value is None:
        raise NotFoundError("execution not found")
    return value
