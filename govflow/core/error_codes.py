"""The error codes GovFlow gives a step's (and an execution's) error: one vocabulary.

A step that fails records ``{code, message, details}`` (:class:`~govflow.core.engine.StepError`),
in its attempt, its step and its execution rows, and the API returns it as is. Every code
GovFlow itself produces is a member of :class:`StepErrorCode`, spelled out nowhere else; the
values are stored, so a member's value never changes. Codes from outside stay free-form
strings: a signal's ``error.code`` (``SIGNALED_ERROR`` when it names none), and what a plugin
puts in its error's ``details`` (its own ``code`` among them), which GovFlow keeps and never
reads. ``tests/unit/test_error_codes.py`` fails on a code produced as a bare string, and keeps
the table of ``docs/engine.md`` ("Step error codes") equal to this enum.
"""

from __future__ import annotations

from enum import StrEnum


class StepErrorCode(StrEnum):
    """Why GovFlow failed a step (or an execution): the ``code`` of its error."""

    # An action's own end -------------------------------------------------------------------
    BUSINESS_ERROR = "BUSINESS_ERROR"
    """The action raised ``BusinessError``: refused for a reason a retry cannot fix."""
    TECHNICAL_ERROR = "TECHNICAL_ERROR"
    """The action raised ``TechnicalError``: retried per the step's retry policy."""
    OUTCOME_UNKNOWN = "OUTCOME_UNKNOWN"
    """The action raised ``OutcomeUnknown``: an ``at_most_once`` step needs attention."""
    TIMEOUT = "TIMEOUT"
    """The action did not finish within the step's ``timeout``."""
    UNEXPECTED_ERROR = "UNEXPECTED_ERROR"
    """The action (or preparing its call) raised any other exception: a plugin bug."""
    INVALID_SUSPEND = "INVALID_SUSPEND"
    """The action suspended the step in a way this host cannot keep or resume."""

    # A step's inputs -----------------------------------------------------------------------
    INVALID_STEP_INPUT = "INVALID_STEP_INPUT"
    """The step's ``with:`` did not render, or does not fit the action's inputs."""
    EXPRESSION_LIMIT = "EXPRESSION_LIMIT"
    """An expression of the step went beyond a time, size or depth limit."""
    UNKNOWN_SECRET = "UNKNOWN_SECRET"  # noqa: S105 -- an error code
    """The step's template names a secret no secret provider knows."""

    # The engine's own decisions ------------------------------------------------------------
    ACTION_UNAVAILABLE = "ACTION_UNAVAILABLE"
    """No live worker offers the step's action, handed back as often as the engine allows."""
    LEASE_EXPIRED = "LEASE_EXPIRED"
    """The worker lost its lease during the attempt; the sweeper recovered the step."""
    HANDLER_CANNOT_WAIT = "HANDLER_CANNOT_WAIT"
    """A failure handler's action suspended: no person or signal resumes a failed execution."""
    HANDLER_NEEDS_ATTENTION = "HANDLER_NEEDS_ATTENTION"
    """A failure handler would need an operator: it fails instead, the next handler runs."""
    EXECUTION_TIMED_OUT = "EXECUTION_TIMED_OUT"
    """The execution ran longer than its workflow's ``timeout``."""
    OUTPUTS_INVALID = "OUTPUTS_INVALID"
    """The workflow's ``outputs:`` could not be rendered or do not fit their types."""

    # foreach steps -------------------------------------------------------------------------
    FOREACH_NOT_A_LIST = "FOREACH_NOT_A_LIST"
    """The step's ``foreach`` rendered something other than a list."""
    FOREACH_TOO_MANY_ITEMS = "FOREACH_TOO_MANY_ITEMS"
    """The step's ``foreach`` gave more items than the ``FOREACH_MAX_ITEMS`` setting allows."""
    FOREACH_ITEM_FAILED = "FOREACH_ITEM_FAILED"
    """An item failed for good; ``details`` name the item and its own ``code``."""
    FOREACH_CANNOT_WAIT = "FOREACH_CANNOT_WAIT"
    """An item's action tried to wait (the item's code under ``FOREACH_ITEM_FAILED``)."""

    # Sub-workflows -------------------------------------------------------------------------
    SUB_WORKFLOW_FAILED = "SUB_WORKFLOW_FAILED"
    """The ``workflow`` step's child execution failed (its error in ``details``)."""
    SUB_WORKFLOW_CANCELED = "SUB_WORKFLOW_CANCELED"
    """The ``workflow`` step's child execution was canceled."""
    SUB_WORKFLOW_REFUSED = "SUB_WORKFLOW_REFUSED"
    """``details.code`` of a ``BUSINESS_ERROR``: the child belongs to another department."""
    SUB_WORKFLOW_TOO_DEEP = "SUB_WORKFLOW_TOO_DEEP"
    """``details.code`` of a ``BUSINESS_ERROR``: the child would nest deeper than the limit."""
    SUB_WORKFLOW_NOT_FOUND = "SUB_WORKFLOW_NOT_FOUND"
    """``details.code`` of a ``BUSINESS_ERROR``: no such workflow, or it is deactivated."""
    SUB_WORKFLOW_INVALID_INPUTS = "SUB_WORKFLOW_INVALID_INPUTS"
    """``details.code`` of a ``BUSINESS_ERROR``: the inputs do not fit the child workflow."""

    # Timers --------------------------------------------------------------------------------
    WAIT_INVALID = "WAIT_INVALID"
    """``details.code`` of a ``BUSINESS_ERROR``: a ``wait`` step's ``for``/``until`` is no time."""
    WAIT_TOO_FAR = "WAIT_TOO_FAR"
    """``details.code`` of a ``BUSINESS_ERROR``: a ``wait`` step's due time is too far away."""

    # People and external systems -----------------------------------------------------------
    SIGNALED_ERROR = "SIGNALED_ERROR"
    """A signal reported an error and named no code of its own."""
    TASK_REJECTED = "task_rejected"
    """The ``manual`` step's human task was rejected (``on_reject: fail``); stored lower case."""
