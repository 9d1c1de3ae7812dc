"""Starting an execution: validate inputs, pin the version, store it durably, wake a worker.

An ``Idempotency-Key`` belongs to its caller (the user; GovFlow itself when no user starts the
execution), as with Stripe-style APIs: one caller's key never answers another caller's request.
The caller's same request again (same workflow, same inputs) gives the execution it started;
the key used for another workflow or other inputs is refused (``IdempotencyKeyReused``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol
from uuid import UUID

import msgspec

from govflow.core.audit_events import AuditEvent
from govflow.core.durations import parse_duration
from govflow.core.expressions import ExpressionError, VarError
from govflow.core.graph import step_graph
from govflow.core.inputs import InputError, validate_execution_inputs
from govflow.core.spec import WorkflowSpec, effective_retry, step_at, step_count
from govflow.core.statuses import ExecutionStatus
from govflow.usecases.audit import SYSTEM, Actor
from govflow.usecases.department_status import DepartmentStatus, ensure_department_active
from govflow.usecases.errors import ConflictError, InvalidInputError, NotFoundError
from govflow.usecases.expression_runner import ExpressionRunner
from govflow.usecases.idempotency_keys import IdempotencyKeyReused
from govflow.usecases.ports import SpecSource, StepQueue
from govflow.usecases.tracing import tracing


class CurrentWorkflow(msgspec.Struct, frozen=True, kw_only=True):
    workflow_id: UUID
    name: str
    version_id: UUID
    department_id: UUID | None
    is_active: bool


class NewStep(msgspec.Struct, frozen=True, array_like=True):
    position: int
    step_key: str
    action: str
    max_attempts: int
    continue_on_error: bool = False
    needs_left: int = 0
    """In a graph, how many steps this one needs (:mod:`govflow.core.graph`); 0 in a list."""
    root: bool = False
    """Runnable as the execution is created: the first step of a list, a graph's steps that
    need none."""
    dependents: str | None = None
    """In a graph, the positions of the steps that need this one, comma-separated."""


class NewExecution(msgspec.Struct, frozen=True, kw_only=True):
    workflow_id: UUID
    version_id: UUID
    department_id: UUID | None
    inputs: Mapping[str, Any]
    steps: list[NewStep]
    idempotency_key: str | None
    variables: Mapping[str, Any] = msgspec.field(default_factory=dict)
    """The workflow's ``vars:`` as evaluated for this execution."""
    timeout_seconds: float | None = None
    """The workflow's ``timeout``: the execution's deadline is its creation plus this."""
    actor: Actor
    request_id: str | None = None
    trace_context: Mapping[str, str] | None = None
    """The start's W3C trace context (tracing on), kept in the creation's audit metadata: a
    recovery that starts a trace of its own links to the execution's."""
    parent_execution_id: UUID | None = None
    """The execution whose ``workflow`` step started this one (``None``: a top-level one)."""
    parent_step_id: UUID | None = None
    """That ``workflow`` step (one child per step: a unique index)."""
    depth: int = 0
    """How deep the execution is nested: 0 for a top-level one, its parent's plus one."""
    only_current: bool = False
    """Create it only while ``version_id`` is its workflow's current version and the workflow is
    active, in ``department_id``; otherwise the writer answers :class:`WorkflowMoved` and writes
    nothing (the start read the workflow from a cache that went stale)."""

    @property
    def runnable_steps(self) -> int | None:
        """A graph's steps runnable as it is created (its roots), counted on the execution
        (:func:`govflow.core.graph.runnable`); ``None`` for a list, which counts nothing."""
        if all(step.dependents is None for step in self.steps):
            return None
        return sum(1 for step in self.steps if step.root and step.dependents is not None)


class StartResult(msgspec.Struct, frozen=True, kw_only=True):
    execution_id: UUID
    workflow_id: UUID
    """The workflow started (a start may name it by name)."""
    first_step_id: UUID | None
    more_step_ids: tuple[UUID, ...] = ()
    """The other steps runnable as the execution was created (a graph's other roots)."""
    created: bool
    """False when the caller's idempotency key gave the execution it started before."""
    status: ExecutionStatus = ExecutionStatus.PENDING
    """The execution's status: ``PENDING`` when created, its current one otherwise."""


class KeyTaken(msgspec.Struct, frozen=True, kw_only=True):
    """The execution the caller started before with the same idempotency key."""

    execution_id: UUID
    workflow_id: UUID
    inputs: Mapping[str, Any]
    status: ExecutionStatus


class WorkflowMoved(msgspec.Struct, frozen=True):
    """The answer to a start marked ``only_current`` whose workflow has since changed: a new
    current version, deactivated, or moved to another department. Nothing was written."""


class WorkflowCatalog(Protocol):
    async def current(
        self, workflow: str | UUID, department: UUID | None, *, cached: bool = False
    ) -> CurrentWorkflow | None:
        """The workflow (by id or name) and its current version, if visible in ``department``
        (``None``: every department). With ``cached``, an answer read earlier may be given
        without reading the database: a caller asking for it must create with
        ``only_current``, which checks it as the execution is written."""
        ...


class ExecutionWriter(Protocol):
    async def create(self, new: NewExecution) -> StartResult | KeyTaken | WorkflowMoved:
        """Create the execution, or find the one its actor started with the same key; a start
        marked ``only_current`` whose workflow changed gets :class:`WorkflowMoved`."""
        ...


class StartRequest(msgspec.Struct, frozen=True, kw_only=True):
    workflow: str | UUID
    inputs: Mapping[str, Any] = msgspec.field(default_factory=dict)
    idempotency_key: str | None = None
    actor: Actor = SYSTEM
    department_scope: UUID | None = None
    request_id: str | None = None


def plan_steps(spec: WorkflowSpec) -> list[NewStep]:
    graph = step_graph(spec)
    steps: list[NewStep] = []
    for position in range(step_count(spec)):
        step = step_at(spec, position)
        in_graph = not graph.linear and position < len(graph.needs)
        steps.append(
            NewStep(
                position,
                step.id,
                step.action,
                effective_retry(spec, step).max_attempts,
                step.continue_on_error,
                len(graph.needs[position]) if in_graph else 0,
                not graph.needs[position] if in_graph else position == 0,
                ",".join(map(str, graph.dependents[position])) if in_graph else None,
            )
        )
    return steps


async def start_execution(
    request: StartRequest,
    *,
    catalog: WorkflowCatalog,
    specs: SpecSource,
    writer: ExecutionWriter,
    queue: StepQueue,
    departments: DepartmentStatus,
    expressions: ExpressionRunner | None = None,
) -> StartResult:
    """Create the execution and its steps in one transaction, audited; wake a worker after
    (in a span ``govflow.start_execution`` when tracing is on; see :func:`_start`).

    :param expressions: evaluates the workflow's ``vars:`` (a default runner when omitted).
    """
    runner = expressions or _RUNNER
    traced = tracing()
    if not traced.enabled:
        return await _start(request, catalog, specs, writer, queue, departments, runner)
    with traced.span(
        "govflow.start_execution", attributes={"govflow.workflow": str(request.workflow)}
    ) as span:
        result = await _start(request, catalog, specs, writer, queue, departments, runner)
        span.set_attribute("govflow.execution_id", str(result.execution_id))
        span.set_attribute("govflow.created", result.created)
        return result


START_ATTEMPTS = 3
"""Times a start reads its workflow: from the cache first, then from the database after each
:class:`WorkflowMoved` (another change during the start itself)."""


async def _start(
    request: StartRequest,
    catalog: WorkflowCatalog,
    specs: SpecSource,
    writer: ExecutionWriter,
    queue: StepQueue,
    departments: DepartmentStatus,
    expressions: ExpressionRunner,
) -> StartResult:
    """Create the execution and its steps in one transaction, audited; wake a worker after.

    The workflow's ``vars:`` are evaluated here, once, and stored with the execution. The
    workflow is first taken from the catalog's cache, which costs no statement; the execution's
    statement checks that its version is still the current one (``only_current``), and when it
    is not, the start reads the workflow again and starts over (nothing was written).

    :raises DepartmentInactiveError: the actor's department is inactive.
    :raises NotFoundError: no such workflow in the caller's scope.
    :raises ConflictError: the workflow is deactivated, or changed during each of the start's
        ``START_ATTEMPTS`` tries.
    :raises IdempotencyKeyReused: the caller's key was used for another workflow or inputs.
    :raises InvalidInputError: the inputs do not match the workflow's ``inputs``, or a
        variable cannot be evaluated with them (the problem names ``vars.<name>``).
    """
    await ensure_department_active(departments, request.actor.department_id)
    for attempt in range(START_ATTEMPTS):
        result = await _start_on_current(
            request, catalog, specs, writer, expressions, cached=attempt == 0
        )
        if isinstance(result, WorkflowMoved):
            continue  # read the workflow again: a new version, deactivated, or moved
        if result.first_step_id is not None:
            await queue.wake([result.first_step_id, *result.more_step_ids])
        return result
    raise ConflictError(f"workflow {request.workflow} kept changing during the start; try again")


async def _start_on_current(
    request: StartRequest,
    catalog: WorkflowCatalog,
    specs: SpecSource,
    writer: ExecutionWriter,
    expressions: ExpressionRunner,
    *,
    cached: bool,
) -> StartResult | WorkflowMoved:
    """One try at the start, on the workflow as the catalog (its cache when ``cached``) knows
    it; the writer checks that it is still current as the execution is written. An answer with
    no first step wakes nothing: a replay of the caller's key, or a workflow of waits only."""
    workflow = await catalog.current(request.workflow, request.department_scope, cached=cached)
    if workflow is None:
        raise NotFoundError(f"workflow {request.workflow} not found")
    if not workflow.is_active:
        raise ConflictError(f"workflow {workflow.name} is deactivated")
    spec = await specs.spec(workflow.version_id)
    try:
        inputs = validate_execution_inputs(spec, request.inputs)
    except InputError as exc:
        raise InvalidInputError(list(exc.problems)) from None
    variables = await _variables(spec, inputs, expressions)
    result = await writer.create(
        NewExecution(
            workflow_id=workflow.workflow_id,
            version_id=workflow.version_id,
            department_id=workflow.department_id,
            inputs=inputs,
            steps=plan_steps(spec),
            variables=variables,
            timeout_seconds=parse_duration(spec.timeout).total_seconds() if spec.timeout else None,
            idempotency_key=request.idempotency_key,
            actor=request.actor,
            request_id=request.request_id,
            trace_context=tracing().carrier() or None,
            only_current=True,
        )
    )
    if isinstance(result, KeyTaken):
        return _replayed(result, workflow.workflow_id, inputs)
    return result


_RUNNER = ExpressionRunner()


async def _variables(
    spec: WorkflowSpec, inputs: Mapping[str, Any], expressions: ExpressionRunner
) -> dict[str, Any]:
    """The workflow's variables for these inputs (none: no evaluation at all)."""
    if not spec.vars:
        return {}
    try:
        return await expressions.variables(spec.vars, inputs)
    except VarError as exc:
        raise InvalidInputError([(f"vars.{exc.name}", str(exc))]) from None
    except ExpressionError as exc:
        raise InvalidInputError([("vars", str(exc))]) from None


def _replayed(taken: KeyTaken, workflow_id: UUID, inputs: Mapping[str, Any]) -> StartResult:
    """The earlier execution, if the request is the one that started it."""
    same_inputs = msgspec.json.decode(msgspec.json.encode(inputs)) == dict(taken.inputs)
    if taken.workflow_id != workflow_id or not same_inputs:
        raise IdempotencyKeyReused
    return StartResult(
        execution_id=taken.execution_id,
        workflow_id=taken.workflow_id,
        first_step_id=None,
        created=False,
        status=taken.status,
    )


CREATED_EVENT = AuditEvent.WORKFLOW_EXECUTION_CREATED.value
