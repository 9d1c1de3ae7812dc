"""The ``workflow`` action: start a child execution of a workflow and wait for its end.

``with: {name, version, inputs}``: the child runs the workflow ``name`` pinned to ``version``
(its current active version when left out, resolved when the step runs and recorded), with
``inputs`` checked against the child workflow's declared inputs. The child is started once per
step: the step's idempotency key is the child's, and the host refuses a second child for the
same step, so a retried or recovered attempt finds the child the first one started.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, ClassVar

import msgspec

from govflow.core.spec import WorkflowName
from govflow.core.subworkflows import SUB_WORKFLOW_WAIT
from govflow.plugins import Action, ActionContext, BusinessError, Idempotency, Suspend
from govflow.plugins.children import ChildExecutions, ChildStart


class WorkflowInputs(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """The ``with:`` block of a ``workflow`` step."""

    name: WorkflowName
    """The child workflow's name."""
    version: Annotated[int, msgspec.Meta(ge=1)] | None = None
    """The child workflow's version (its current active version when left out)."""
    inputs: dict[str, Any] = msgspec.field(default_factory=dict)
    """The child execution's inputs, checked against the child workflow's ``inputs:``."""


class WorkflowAction(Action):
    """Start a child execution and wait for it."""

    name: ClassVar[str] = "workflow"
    description: ClassVar[str] = (
        "A sub-workflow: start a child execution (pinned to its version), wait for it, "
        "and take its outputs as the step's output."
    )
    inputs: ClassVar[type[msgspec.Struct]] = WorkflowInputs
    outputs: ClassVar[type[msgspec.Struct] | None] = None
    """The child's outputs: known (and checked) only where the child workflow is validated
    with the file, not declared here."""
    idempotency: ClassVar[Idempotency] = Idempotency.REMOTE_KEY

    async def execute(self, ctx: ActionContext, params: WorkflowInputs) -> Mapping[str, Any]:
        """Start the child (once per step) and suspend the step until it ends."""
        if ctx.resources is None:
            raise BusinessError("this host cannot start child executions (no database)")
        children: ChildExecutions = ctx.resources
        started = await children.start(
            ChildStart(
                parent_execution_id=ctx.execution_id,
                parent_step_id=ctx.step_id,
                idempotency_key=ctx.idempotency_key,
                workflow=params.name,
                version=params.version,
                inputs=params.inputs,
            )
        )
        raise Suspend(
            reason=SUB_WORKFLOW_WAIT,
            payload={
                "child_execution_id": str(started.execution_id),
                "workflow": started.workflow,
                "version": started.version,
            },
        )
