"""A ``wait`` step's literal ``until`` checked against the clock when the file is validated.

A literal ``until`` (no template) that is no timestamp with an offset is refused by the action's
input Struct (:class:`govflow_wait.WaitInputs`) without a clock. One that parses but lies more
than :data:`~govflow.core.timers.MAX_WAIT` ahead of the moment the file is validated would fail
with ``WAIT_TOO_FAR`` in every execution: :func:`literal_until_problems` reports it at its
position instead. The caller passes ``now`` (the core reads no clock); a moment already passed
is not a problem (the step completes at once, as documented).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

from govflow.core.durations import format_duration
from govflow.core.expressions import is_template
from govflow.core.timers import MAX_WAIT, WAIT_ACTION, TimerError, parse_until
from govflow.core.yaml_source import child_path


def _steps(data: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every step of the file with its spec path: the steps, their compensations, on_failure."""
    for block in ("steps", "on_failure"):
        steps = data.get(block)
        if not isinstance(steps, list):
            continue
        for index, step in enumerate(steps):
            if not isinstance(step, dict):
                continue
            path = child_path(block, index)
            yield path, step
            undo = step.get("compensate")
            if isinstance(undo, dict):
                yield child_path(path, "compensate"), undo


def literal_until_problems(data: dict[str, Any], now: datetime) -> list[tuple[str, str, bool]]:
    """(spec path, message, at key) for each ``wait`` step whose literal ``until`` lies more
    than :data:`~govflow.core.timers.MAX_WAIT` after ``now``."""
    problems: list[tuple[str, str, bool]] = []
    for path, step in _steps(data):
        params = step.get("with")
        if step.get("action") != WAIT_ACTION or not isinstance(params, dict):
            continue
        until = params.get("until")
        if not isinstance(until, str) or is_template(until):
            continue
        try:
            due = parse_until(until)
        except TimerError:
            continue  # reported by the input check
        if due - now > MAX_WAIT:
            problems.append(
                (
                    child_path(child_path(path, "with"), "until"),
                    f"`until` {until!r} is more than {format_duration(MAX_WAIT)} from now, "
                    "the longest a step may wait",
                    False,
                )
            )
    return problems
