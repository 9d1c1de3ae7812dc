"""Sub-workflows: the rules of a ``workflow`` step and of the child execution it starts.

A ``workflow`` step starts a child execution and waits for it (its step is ``WAITING`` with the
wait reason :data:`SUB_WORKFLOW_WAIT`). The child's end is turned into the engine's event on the
waiting step by :func:`child_end_event`: a ``COMPLETED`` child completes the step with its
workflow outputs, a ``FAILED`` or ``CANCELED`` one fails it (a business failure, never
retried: the child ran once and its end is final) with an error naming the child.

Who may start whom (:func:`start_refusal`): the child runs in its own workflow's department,
and only a workflow of the same department may start it, or any workflow when the child's
workflow belongs to no department (a shared workflow). Nesting is limited: a child sits at
its parent's depth plus one, and no execution is started deeper than the limit (a workflow
starting itself recursively stops there).
"""

from __future__ import annotations

from collections.abc import Mapping
from uuid import UUID

from govflow.core.engine import AttemptFailedBusiness, AttemptSucceeded, StepError
from govflow.core.error_codes import StepErrorCode
from govflow.core.statuses import ExecutionStatus

SUB_WORKFLOW_WAIT = "sub_workflow"
"""The wait reason of a ``workflow`` step: its child execution decides the step."""

DEFAULT_MAX_DEPTH = 5
"""How deep executions may nest by default: a top-level execution is at depth 0."""

CHILD_ENDED = "child_execution_ended"
"""The audit reason of a parent step decided by its child's end."""
PARENT_ENDED = "parent_ended"
"""The audit reason of a child canceled because its parent execution ended."""


def start_refusal(
    parent_department: UUID | None,
    child_department: UUID | None,
    parent_depth: int,
    max_depth: int,
) -> tuple[StepErrorCode, str] | None:
    """Why the parent may not start the child (an error code and a message), or ``None``.

    :param parent_department: the parent workflow's department (``None``: shared).
    :param child_department: the child workflow's department (``None``: shared).
    :param parent_depth: the parent execution's depth (0 for a top-level execution).
    :param max_depth: the deepest depth a child may have.
    """
    if parent_depth + 1 > max_depth:
        return StepErrorCode.SUB_WORKFLOW_TOO_DEEP, (
            f"the child would run at nesting depth {parent_depth + 1}, deeper than the limit "
            f"{max_depth}"
        )
    if child_department is not None and child_department != parent_department:
        return StepErrorCode.SUB_WORKFLOW_REFUSED, (
            "the child workflow belongs to another department: a workflow may start only "
            "workflows of its own department or shared ones (no department)"
        )
    return None


def child_end_event(
    child_id: UUID,
    status: ExecutionStatus,
    outputs: Mapping[str, object] | None,
    error: Mapping[str, object] | None,
) -> AttemptSucceeded | AttemptFailedBusiness:
    """The engine's event on the parent's waiting step for its child's end.

    :raises ValueError: the child has not ended.
    """
    if status is ExecutionStatus.COMPLETED:
        return AttemptSucceeded(dict(outputs or {}))
    if status is ExecutionStatus.FAILED:
        code = str((error or {}).get("code") or "")
        message = str((error or {}).get("message") or "")
        described = f"{code}: {message}" if code or message else "no error recorded"
        return AttemptFailedBusiness(
            StepError(
                StepErrorCode.SUB_WORKFLOW_FAILED,
                f"child execution {child_id} failed ({described})",
                {"child_execution_id": str(child_id), "child_error": dict(error or {})},
            )
        )
    if status is ExecutionStatus.CANCELED:
        return AttemptFailedBusiness(
            StepError(
                StepErrorCode.SUB_WORKFLOW_CANCELED,
                f"child execution {child_id} was canceled",
                {"child_execution_id": str(child_id)},
            )
        )
    raise ValueError(f"child execution {child_id} has not ended: it is {status}")
