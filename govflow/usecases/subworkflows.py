"""Sub-workflows: starting the child of a ``workflow`` step, resuming its parent when it ends,
and canceling the children of an execution that ended.

- :class:`ChildStarter` is the host's :class:`~govflow.plugins.children.ChildExecutions`: it
  resolves the child workflow's version (the current active one when the step names none),
  applies the rules of :func:`govflow.core.subworkflows.start_refusal` (department, depth),
  checks the inputs against the child's ``inputs:`` and creates the child with the parent's
  execution and step recorded. The step's idempotency key is the child's, and one child per
  parent step is a unique index: a retried or recovered attempt gets the first child.
- :func:`resume_parents` turns the end of children into the engine's decision on their
  parents' waiting steps (:func:`govflow.core.subworkflows.child_end_event`), each with the
  parent execution locked as a signal locks it, audited. The state itself is the wake-up: a
  parent step ``WAITING`` on a child that ended is found by the sweeper at every pass, so a
  worker killed between the child's end and the parent's resume delays the parent by one sweep
  at most; the worker that ends a child resumes its parent at once (:meth:`resume_parent_of`).
- :func:`cancel_children` cancels the active children whose parent step was canceled (the
  parent canceled or timed out), recursively: the children's own children are found by the
  next round.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol
from uuid import UUID

import msgspec

from govflow.core.durations import parse_duration
from govflow.core.error_codes import StepErrorCode
from govflow.core.expressions import ExpressionError
from govflow.core.inputs import InputError, validate_execution_inputs
from govflow.core.statuses import ExecutionStatus
from govflow.core.subworkflows import (
    CHILD_ENDED,
    DEFAULT_MAX_DEPTH,
    PARENT_ENDED,
    SUB_WORKFLOW_WAIT,
    child_end_event,
    start_refusal,
)
from govflow.plugins.action import BusinessError
from govflow.plugins.children import ChildStart, ChildStarted
from govflow.usecases.audit import SYSTEM
from govflow.usecases.errors import ConflictError
from govflow.usecases.expression_runner import ExpressionRunner
from govflow.usecases.operate import ExecutionControl, cancel_execution
from govflow.usecases.ports import SpecSource, StepQueue
from govflow.usecases.signals import SignalStore
from govflow.usecases.start_execution import (
    ExecutionWriter,
    KeyTaken,
    NewExecution,
    WorkflowMoved,
    plan_steps,
)
from govflow.usecases.waiting_steps import resume_waiting_step

log = logging.getLogger("govflow.engine")

KEY_PREFIX = "workflow-step:"
"""Before the parent step's idempotency key in its child's ``idempotency_key``."""


class ParentExecution(msgspec.Struct, frozen=True, kw_only=True):
    department_id: UUID | None
    depth: int


class ChildWorkflow(msgspec.Struct, frozen=True, kw_only=True):
    workflow_id: UUID
    name: str
    version_id: UUID
    version: int
    department_id: UUID | None
    is_active: bool


class EndedChild(msgspec.Struct, frozen=True, kw_only=True):
    """A child that ended while its parent's step still waits for it."""

    child_id: UUID
    status: ExecutionStatus
    outputs: Mapping[str, Any] | None
    error: Mapping[str, Any] | None
    parent_execution_id: UUID
    parent_step_key: str


class SubWorkflowStore(Protocol):
    async def parent(self, execution_id: UUID) -> ParentExecution | None:
        """The parent execution's department and nesting depth (``None``: no such one)."""
        ...

    async def workflow(self, name: str, version: int | None) -> ChildWorkflow | None:
        """The workflow ``name`` at ``version`` (``None``: its current version)."""
        ...

    async def ended_children(
        self, limit: int, child_id: UUID | None = None
    ) -> Sequence[EndedChild]:
        """Ended children whose parent step still waits for them (only ``child_id``'s when
        given)."""
        ...

    async def orphans(self, limit: int) -> Sequence[UUID]:
        """Active children whose parent step was canceled."""
        ...


def _refused(code: StepErrorCode, message: str) -> BusinessError:
    return BusinessError(message, details={"code": code})


@dataclass
class ChildStarter:
    """The host's ``ChildExecutions``: starts the child of a ``workflow`` step once."""

    store: SubWorkflowStore
    specs: SpecSource
    writer: ExecutionWriter
    queue: StepQueue
    max_depth: int = DEFAULT_MAX_DEPTH
    expressions: ExpressionRunner | None = None

    async def start(self, request: ChildStart) -> ChildStarted:
        parent = await self.store.parent(request.parent_execution_id)
        if parent is None:
            raise _refused(
                StepErrorCode.SUB_WORKFLOW_NOT_FOUND,
                f"no parent execution {request.parent_execution_id}",
            )
        child = await self.store.workflow(request.workflow, request.version)
        if child is None:
            named = request.workflow
            if request.version is not None:
                named = f"{named} version {request.version}"
            raise _refused(
                StepErrorCode.SUB_WORKFLOW_NOT_FOUND, f"name: no workflow {named} exists"
            )
        if not child.is_active:
            raise _refused(
                StepErrorCode.SUB_WORKFLOW_NOT_FOUND, f"name: workflow {child.name} is deactivated"
            )
        refusal = start_refusal(
            parent.department_id, child.department_id, parent.depth, self.max_depth
        )
        if refusal is not None:
            raise _refused(*refusal)
        spec = await self.specs.spec(child.version_id)
        try:
            inputs = validate_execution_inputs(spec, request.inputs)
        except InputError as exc:
            raise _refused(StepErrorCode.SUB_WORKFLOW_INVALID_INPUTS, str(exc)) from None
        variables: dict[str, Any] = {}
        if spec.vars:
            try:
                runner = self.expressions or ExpressionRunner()
                variables = await runner.variables(spec.vars, inputs)
            except ExpressionError as exc:
                raise _refused(StepErrorCode.SUB_WORKFLOW_INVALID_INPUTS, f"vars: {exc}") from None
        result = await self.writer.create(
            NewExecution(
                workflow_id=child.workflow_id,
                version_id=child.version_id,
                department_id=child.department_id,
                inputs=inputs,
                steps=plan_steps(spec),
                variables=variables,
                timeout_seconds=(
                    parse_duration(spec.timeout).total_seconds() if spec.timeout else None
                ),
                idempotency_key=KEY_PREFIX + request.idempotency_key,
                actor=SYSTEM,
                parent_execution_id=request.parent_execution_id,
                parent_step_id=request.parent_step_id,
                depth=parent.depth + 1,
            )
        )
        if isinstance(result, KeyTaken):
            return ChildStarted(
                execution_id=result.execution_id,
                workflow=child.name,
                version=child.version,
                created=False,
            )
        # a child may run a version that is not the current one: it is created without
        # only_current, so its workflow's changes never refuse it
        assert not isinstance(result, WorkflowMoved)
        if result.first_step_id is not None:
            await self.queue.wake([result.first_step_id, *result.more_step_ids])
        return ChildStarted(
            execution_id=result.execution_id,
            workflow=child.name,
            version=child.version,
            created=True,
        )


async def resume_parents(
    store: SubWorkflowStore,
    signals: SignalStore,
    queue: StepQueue,
    *,
    limit: int = 200,
    child_id: UUID | None = None,
    now: datetime | None = None,
) -> int:
    """Decide the waiting parent step of every ended child found (only ``child_id``'s when
    given); how many parent steps moved on."""
    resumed = 0
    for ended in await store.ended_children(limit, child_id):
        if await _resume(signals, queue, ended, now or datetime.now(UTC)):
            resumed += 1
    return resumed


async def _resume(signals: SignalStore, queue: StepQueue, ended: EndedChild, now: datetime) -> bool:
    return await resume_waiting_step(
        signals,
        queue,
        execution_id=ended.parent_execution_id,
        step_key=ended.parent_step_key,
        wait_reason=SUB_WORKFLOW_WAIT,
        event=child_end_event(ended.child_id, ended.status, ended.outputs, ended.error),
        reason=CHILD_ENDED,
        now=now,
    )


async def cancel_children(
    store: SubWorkflowStore, control: ExecutionControl, *, limit: int = 200, rounds: int = 8
) -> int:
    """Cancel the active children whose parent step was canceled, and then theirs (up to
    ``rounds`` levels in one call; the next call goes on); how many were canceled."""
    canceled = 0
    for _ in range(rounds):
        orphans = await store.orphans(limit)
        if not orphans:
            break
        for child in orphans:
            try:
                await cancel_execution(control, child, actor=SYSTEM, reason=PARENT_ENDED)
            except ConflictError:  # it ended meanwhile
                continue
            canceled += 1
    return canceled
