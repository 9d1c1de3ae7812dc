"""Execution endpoints. Starting: every role; reads: every role, an OPERATOR its own
executions only (those it started or has a task assigned in); operator actions: ADMIN, MANAGER.

A non-ADMIN works within their own department: another department's workflow or execution is a
404, in lists too; so is, for an OPERATOR, an execution that is not its own.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

from litestar import Controller, Response, get, post
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, FromQuery, JSONBody, PathParameter
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED, HTTP_202_ACCEPTED

from govflow.bootstrap import Container
from govflow.bootstrap.fleet import fire_timer_now, signal
from govflow.core.spec import STEP_ID_PATTERN
from govflow.core.statuses import ExecutionStatus
from govflow.http.envelope import Envelope, PagedEnvelope, ok, paged
from govflow.http.executions.schemas import IdempotencyKey, ReasonIn, ResolveIn, SignalIn, StartIn
from govflow.http.policy import roles
from govflow.http.workflows.openapi import with_responses
from govflow.usecases.errors import InvalidInputError
from govflow.usecases.execution_admin import ExecutionAdmin
from govflow.usecases.execution_views import (
    ExecutionFilter,
    ExecutionSummary,
    ExecutionView,
    JobView,
    RecoveryView,
    StartedView,
    StepDetail,
)
from govflow.usecases.operate import OperatorResult
from govflow.usecases.paging import PageRequest
from govflow.usecases.principal import Principal, Role
from govflow.usecases.signals import Signal, Signaled, SignalError

MANAGERS = (Role.ADMIN, Role.MANAGER)
EVERYONE = (Role.ADMIN, Role.MANAGER, Role.OPERATOR)
OPERATORS_OWN = [Role.OPERATOR]
"""An OPERATOR reads only its own executions (see the module docstring)."""
WorkflowRef = Annotated[
    str,
    PathParameter(
        min_length=1,
        max_length=64,
        pattern=r"^[A-Za-z0-9-]+$",
        description="The workflow's id, or its name (like `building-permit`).",
    ),
]

StepKey = Annotated[str, PathParameter(pattern=STEP_ID_PATTERN, max_length=64)]
"""A step key in a path: a step id of the DSL."""


def provide_executions(services: NamedDependency[Container]) -> ExecutionAdmin:
    """The execution use cases, as the container builds them (over its current queue)."""
    return services.execution_admin()


EXECUTIONS = {"executions": Provide(provide_executions, sync_to_thread=False)}


@post(
    "/workflows/{workflow:str}/executions",
    operation_id="startExecution",
    tags=["executions"],
    status_code=HTTP_201_CREATED,
    dependencies=EXECUTIONS,
    **with_responses(
        roles(*EVERYONE),
        {HTTP_200_OK: (Envelope[StartedView], "The idempotency key was used before")},
    ),
)
async def start_execution(
    workflow: WorkflowRef,
    data: JSONBody[StartIn],
    executions: NamedDependency[ExecutionAdmin],
    principal: NamedDependency[Principal],
    idempotency_key: IdempotencyKey = None,
) -> Response[Envelope[StartedView]]:
    """Start the current version of the workflow named by id or by name: 201, or 200 with the
    earlier execution when the ``Idempotency-Key`` was used before for this workflow. The
    caller is recorded as the execution's ``created_by``."""
    started = await executions.start(principal, _reference(workflow), data.inputs, idempotency_key)
    status = HTTP_201_CREATED if started.created else HTTP_200_OK
    message = "Execution created" if started.created else "Execution already exists"
    return Response(ok(started, message), status_code=status)


def _reference(workflow: str) -> UUID | str:
    """A workflow id when the path segment is one, else a workflow name."""
    try:
        return UUID(workflow)
    except ValueError:
        return workflow


class ExecutionsController(Controller):
    path = "/workflow-executions"
    tags = ["executions"]
    dependencies = EXECUTIONS

    @get("/", operation_id="listExecutions", **roles(*EVERYONE, own_only=OPERATORS_OWN))
    async def list_executions(
        self,
        executions: NamedDependency[ExecutionAdmin],
        principal: NamedDependency[Principal],
        status: FromQuery[ExecutionStatus | None] = None,
        workflow_id: FromQuery[UUID | None] = None,
        workflow: FromQuery[str | None] = None,
        department_id: FromQuery[UUID | None] = None,
        created_from: FromQuery[datetime | None] = None,
        created_to: FromQuery[datetime | None] = None,
        page: FromQuery[int] = 1,
        limit: FromQuery[int] = 20,
    ) -> PagedEnvelope[ExecutionSummary]:
        """Newest first; filters by status, workflow (id or name), department, creation time.
        An OPERATOR sees its own executions only."""
        where = ExecutionFilter(
            status=status,
            workflow_id=workflow_id,
            workflow=workflow,
            department_id=department_id,
            created_from=created_from,
            created_to=created_to,
        )
        return paged(await executions.search(principal, where, PageRequest(page, limit)))

    @get(
        "/{execution_id:uuid}",
        operation_id="getExecution",
        **roles(*EVERYONE, own_only=OPERATORS_OWN),
    )
    async def get_execution(
        self,
        execution_id: FromPath[UUID],
        executions: NamedDependency[ExecutionAdmin],
        principal: NamedDependency[Principal],
    ) -> Envelope[ExecutionView]:
        """The execution with its inputs, error and steps (an OPERATOR's own only)."""
        return ok(await executions.get(principal, execution_id))

    @get(
        "/{execution_id:uuid}/steps",
        operation_id="listExecutionSteps",
        **roles(*EVERYONE, own_only=OPERATORS_OWN),
    )
    async def list_steps(
        self,
        execution_id: FromPath[UUID],
        executions: NamedDependency[ExecutionAdmin],
        principal: NamedDependency[Principal],
    ) -> Envelope[list[StepDetail]]:
        """The steps in order, each with every attempt it had (an OPERATOR's own execution
        only)."""
        return ok(await executions.steps(principal, execution_id))

    @get("/{execution_id:uuid}/job", operation_id="getExecutionJob", **roles(*MANAGERS))
    async def get_job(
        self,
        execution_id: FromPath[UUID],
        executions: NamedDependency[ExecutionAdmin],
        principal: NamedDependency[Principal],
    ) -> Envelope[JobView]:
        """Queue state of the current step: state, attempts, next attempt, lease, enqueued."""
        return ok(await executions.job(principal, execution_id))

    @post(
        "/{execution_id:uuid}/process",
        operation_id="processExecution",
        status_code=HTTP_202_ACCEPTED,
        **roles(*MANAGERS),
    )
    async def process(
        self,
        execution_id: FromPath[UUID],
        executions: NamedDependency[ExecutionAdmin],
        principal: NamedDependency[Principal],
    ) -> Envelope[OperatorResult]:
        """Wake the runnable step again (idempotent; nothing is written). 409 once ended."""
        return ok(await executions.process(principal, execution_id), "Processing requested")

    @post(
        "/{execution_id:uuid}/cancel",
        operation_id="cancelExecution",
        status_code=HTTP_200_OK,
        **roles(*MANAGERS),
    )
    async def cancel(
        self,
        execution_id: FromPath[UUID],
        data: JSONBody[ReasonIn],
        executions: NamedDependency[ExecutionAdmin],
        principal: NamedDependency[Principal],
    ) -> Envelope[OperatorResult]:
        """Cancel an execution that has not ended; 409 otherwise."""
        result = await executions.cancel(principal, execution_id, data.reason)
        return ok(result, "Execution canceled")

    @post(
        "/{execution_id:uuid}/retry",
        operation_id="retryExecution",
        status_code=HTTP_200_OK,
        **roles(*MANAGERS),
    )
    async def retry(
        self,
        execution_id: FromPath[UUID],
        data: JSONBody[ReasonIn],
        executions: NamedDependency[ExecutionAdmin],
        principal: NamedDependency[Principal],
    ) -> Envelope[OperatorResult]:
        """Run a FAILED execution again from its failed step; 409 otherwise."""
        result = await executions.retry(principal, execution_id, data.reason)
        return ok(result, "Execution retried")

    @post(
        "/{execution_id:uuid}/steps/{step_key:str}/resolve",
        operation_id="resolveExecutionStep",
        status_code=HTTP_200_OK,
        **roles(*MANAGERS),
    )
    async def resolve(
        self,
        execution_id: FromPath[UUID],
        step_key: StepKey,
        data: JSONBody[ResolveIn],
        executions: NamedDependency[ExecutionAdmin],
        principal: NamedDependency[Principal],
    ) -> Envelope[OperatorResult]:
        """Resolve a step in NEEDS_ATTENTION: ``retry``, ``skip`` or ``mark_done``."""
        result = await executions.resolve(
            principal, execution_id, step_key, data.action, data.reason, data.output
        )
        return ok(result, "Step resolved")

    @post(
        "/{execution_id:uuid}/steps/{step_key:str}/fire-timer",
        operation_id="fireExecutionStepTimer",
        status_code=HTTP_200_OK,
        **roles(*MANAGERS),
    )
    async def fire_timer(
        self,
        execution_id: FromPath[UUID],
        step_key: StepKey,
        data: JSONBody[ReasonIn],
        services: NamedDependency[Container],
        principal: NamedDependency[Principal],
    ) -> Envelope[OperatorResult]:
        """End a ``wait`` step's timer now, before its due time: the step completes (its output
        says ``fired_early`` and ``fired_by``) and the execution goes on. 409 when the step is
        not a waiting timer (ended already included), 404 for another department's execution."""
        result = await fire_timer_now(services, principal, execution_id, step_key, data.reason)
        return ok(result, "Timer fired")

    @post(
        "/{execution_id:uuid}/steps/{step_key:str}/signal",
        operation_id="signalExecutionStep",
        status_code=HTTP_200_OK,
        **roles(*EVERYONE),
    )
    async def signal_step(
        self,
        execution_id: FromPath[UUID],
        step_key: StepKey,
        data: JSONBody[SignalIn],
        services: NamedDependency[Container],
        principal: NamedDependency[Principal],
    ) -> Envelope[Signaled]:
        """Finish a step an action suspended on a signal, with the resume token the action gave
        the external system: ``output`` completes it, ``error`` fails it (and the execution).
        403 for a wrong token (audited), 409 when the step does not wait for a signal (a replay
        included), 404 for another department's execution."""
        if data.output is not None and data.error is not None:
            raise InvalidInputError([("body.error", "give either output or error, not both")])
        error = data.error
        body = Signal(
            token=data.token,
            output=data.output,
            error=None
            if error is None
            else SignalError(message=error.message, code=error.code, details=error.details),
        )
        return ok(await signal(services, principal, execution_id, step_key, body), "Step signaled")

    @post(
        "/recovery/stale-running",
        operation_id="recoverStaleExecutions",
        status_code=HTTP_200_OK,
        **roles(*MANAGERS),
    )
    async def recover(
        self, executions: NamedDependency[ExecutionAdmin], principal: NamedDependency[Principal]
    ) -> Envelope[RecoveryView]:
        """Run one sweep now: recover expired leases, re-send lost wake-ups. Audited."""
        return ok(await executions.recover_stale(principal), "Recovery completed")
