"""``foreach``: one step run once per item of a list, ``max_parallel`` items at a time.

A step with ``foreach: "{{ inputs.parcels }}"`` renders that list when it runs and calls its
action once per item, its ``with:`` rendered with ``item`` (the item) and ``index`` (its
position, from 0) besides the usual names. Each item is a child of the step: it has its own
idempotency key (the step's with ``[index]`` appended, :func:`item_key`) and its result is kept
as soon as it ends, so an attempt that follows a crash runs only the items that had not ended.
The step's output is ``{"items": [...]}``, the items' outputs in index order
(:func:`foreach_output`). An item's business error fails the step (``FOREACH_ITEM_FAILED``,
naming the item); a technical one is the step's, retried per its policy.

Pure: the checks of the list a step rendered (:func:`foreach_items`) and of a file's
``foreach`` and ``max_parallel`` keys (:func:`foreach_problems`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import timedelta
from enum import StrEnum
from typing import Any

from govflow.core.engine import (
    AttemptFailedBusiness,
    AttemptFailedTechnical,
    AttemptOutcomeUnknown,
    StepError,
)
from govflow.core.error_codes import StepErrorCode
from govflow.core.idempotency import Idempotency
from govflow.core.subworkflow_refs import WORKFLOW_ACTION
from govflow.core.timers import WAIT_ACTION

ITEM_NAME = "item"
"""In a foreach step's ``with:``, the item being run."""
INDEX_NAME = "index"
"""In a foreach step's ``with:``, the item's position in the list (from 0)."""
FOREACH_NAMES = frozenset({ITEM_NAME, INDEX_NAME})

FOREACH_ITEMS_CEILING = 10_000
"""The most items any ``FOREACH_MAX_ITEMS`` setting may allow (and a literal list may hold)."""
DEFAULT_FOREACH_MAX_ITEMS = 1000
"""How many items a foreach step may run unless the ``FOREACH_MAX_ITEMS`` setting says else."""
MAX_PARALLEL_CEILING = 100
"""The largest ``max_parallel`` a step may ask for."""

MANUAL_ACTION = "manual"
"""The built-in action of a human task."""
WAITING_ACTIONS = frozenset({MANUAL_ACTION, WORKFLOW_ACTION, WAIT_ACTION})
"""The built-in actions that wait (a human task, a child execution, a timer): a foreach step's
items run inside its attempt, which cannot wait, so no foreach step runs them (an effect such as
a started child would be left behind by an item that fails for waiting)."""

ITEM_OUTSIDE_FOREACH = (
    "{name!r} is defined only in the with: of a step with foreach "
    "(the item being run and its index)"
)


def item_key(step_key: str, index: int) -> str:
    """An item's key (and idempotency key) from its step's: ``parcels`` -> ``parcels[3]``."""
    return f"{step_key}[{index}]"


def foreach_items(value: object, limit: int) -> list[Any] | StepError:
    """The items a step's ``foreach`` rendered, or the error that fails the step: not a list,
    or more than ``limit`` items."""
    if not isinstance(value, list):
        kind = "nothing" if value is None else type(value).__name__
        return StepError(
            StepErrorCode.FOREACH_NOT_A_LIST, f"foreach must give a list, it gave {kind}"
        )
    if len(value) > limit:
        return StepError(
            StepErrorCode.FOREACH_TOO_MANY_ITEMS,
            f"foreach gave {len(value)} items, more than the {limit} allowed "
            "(the FOREACH_MAX_ITEMS setting)",
            {"items": len(value), "limit": limit},
        )
    return value


def item_failed(index: int, error: StepError) -> StepError:
    """The step's error when item ``index`` failed with ``error``."""
    return StepError(
        StepErrorCode.FOREACH_ITEM_FAILED,
        f"item {index} failed: {error.code}: {error.message}",
        {"index": index, "code": error.code, "message": error.message, **error.details},
    )


def foreach_output(outputs: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """A foreach step's output: its items' outputs, in index order."""
    return {"items": [dict(output) for output in outputs]}


def foreach_problems(step: Mapping[str, Any]) -> list[tuple[str, str]]:
    """What is wrong with a step's ``foreach`` and ``max_parallel`` (its key, a message):
    ``foreach`` neither a template nor a list, a literal list longer than the ceiling, on an
    action that waits (:data:`WAITING_ACTIONS`), ``max_parallel`` without ``foreach``. The
    keys' types and bounds are the spec's."""
    problems: list[tuple[str, str]] = []
    value = step.get("foreach")
    if "max_parallel" in step and value is None:
        problems.append(("max_parallel", "max_parallel needs foreach on the same step"))
    if isinstance(value, str) and "{{" not in value:
        problems.append(
            (
                "foreach",
                "foreach expects a list, or a template that gives one like '{{ inputs.parcels }}'",
            )
        )
    action = step.get("action")
    if value is not None and isinstance(action, str) and action in WAITING_ACTIONS:
        problems.append(
            (
                "foreach",
                f"a {action} step cannot have foreach: its items run inside the step's attempt, "
                "which cannot wait",
            )
        )
    if isinstance(value, list) and len(value) > FOREACH_ITEMS_CEILING:
        problems.append(
            ("foreach", f"foreach lists {len(value)} items, at most {FOREACH_ITEMS_CEILING}")
        )
    return problems


class ItemEnd(StrEnum):
    """How an item that did not complete ended (what the worker saw; never stored)."""

    BUSINESS_ERROR = "business_error"
    """The action refused it (``BusinessError``)."""
    INVALID_INPUT = "invalid_input"
    """Its ``with:`` did not render or did not fit the action's inputs (or went beyond an
    expression limit)."""
    WAITED = "waited"
    """The action tried to wait (``Suspend``)."""
    TECHNICAL_ERROR = "technical_error"
    """``TechnicalError``: the action says trying again may work."""
    TIMEOUT = "timeout"
    """The action did not return within the step's timeout."""
    OUTCOME_UNKNOWN = "outcome_unknown"
    """``OutcomeUnknown``: whether its effect happened is not known."""
    UNEXPECTED_ERROR = "unexpected_error"
    """Any other exception (a plugin bug)."""


ItemEvent = AttemptFailedBusiness | AttemptFailedTechnical | AttemptOutcomeUnknown

_STEP_FAILS = frozenset({ItemEnd.BUSINESS_ERROR, ItemEnd.INVALID_INPUT, ItemEnd.WAITED})
_MAY_HAVE_HAD_EFFECT = frozenset(
    {ItemEnd.TIMEOUT, ItemEnd.OUTCOME_UNKNOWN, ItemEnd.UNEXPECTED_ERROR}
)


def item_event(
    index: int,
    end: ItemEnd,
    error: StepError,
    strategy: Idempotency,
    rand: float,
    retry_after: timedelta | None = None,
) -> ItemEvent:
    """The foreach step's attempt event when item ``index`` ended with ``end`` (``error`` as the
    worker recorded it), for :func:`govflow.core.engine.decide`:

    - a business error, a bad ``with:`` or a wait fail the step (``FOREACH_ITEM_FAILED``,
      ``details`` naming the item and its own code; a wait's code is ``FOREACH_CANNOT_WAIT``);
    - an unknown outcome is the step's unknown outcome, and so are a timeout and an unexpected
      error of an ``at_most_once`` action (the item may have had its effect);
    - the others are the step's technical failure, retried per its policy (the next attempt runs
      the items without a kept result).

    The error of the last two keeps its code, its message naming the item.
    """
    if end in _STEP_FAILS:
        if end is ItemEnd.WAITED:
            error = StepError(
                StepErrorCode.FOREACH_CANNOT_WAIT, "an item of a foreach step cannot wait"
            )
        return AttemptFailedBusiness(item_failed(index, error))
    named = StepError(
        error.code, f"item {index}: {error.message}", {**error.details, "index": index}
    )
    if end is ItemEnd.OUTCOME_UNKNOWN or (
        end in _MAY_HAVE_HAD_EFFECT and strategy is Idempotency.AT_MOST_ONCE
    ):
        return AttemptOutcomeUnknown(named, rand)
    return AttemptFailedTechnical(named, rand, retry_after)
