"""Durable timers: the rules of a ``wait`` step (``for: 3d`` or ``until:`` a timestamp).

A ``wait`` step computes its due time when it runs (:func:`due_time`): ``for`` is a duration
from that moment, ``until`` an ISO 8601 timestamp with its UTC offset. A due time that has
already passed completes the step at once (:func:`timer_output`, ``waited: false``); a later one
suspends the step (``WAITING``, wait reason :data:`TIMER_WAIT`) with the due time stored beside
it, and holds no worker. The sweeper finds the waiting steps whose time has come and resumes
each with :func:`timer_due_event`, decided by the engine as any waiting step's end.

An operator may end a waiting timer before its time (``fire-timer``): :func:`timer_fired_event`
is the engine's event then, its output saying it was fired early and by whom.

A due time further than :data:`MAX_WAIT` away is refused (``WAIT_TOO_FAR``): a literal ``for``
when the workflow is validated, a templated one or an ``until`` when the step runs.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from govflow.core.durations import DurationError, format_duration, parse_duration
from govflow.core.engine import AttemptSucceeded
from govflow.core.error_codes import StepErrorCode

WAIT_ACTION = "wait"
"""The built-in action of a durable timer (the ``govflow_wait`` plugin)."""

TIMER_WAIT = "timer"
"""The wait reason of a ``wait`` step: the sweeper resumes it at its due time."""

TIMER_DUE = "timer_due"
"""The audit reason of a ``wait`` step the sweeper resumed."""

TIMER_FIRED = "timer_fired"
"""The audit reason of a ``wait`` step an operator ended before the sweeper did (fire-timer)."""

MAX_WAIT = timedelta(days=730)
"""The longest a ``wait`` step may wait (two years)."""

_MAX_TIMESTAMP_LENGTH = 40


class TimerError(ValueError):
    """A ``wait`` step's ``for`` or ``until`` cannot give a due time."""

    def __init__(self, code: StepErrorCode, message: str) -> None:
        super().__init__(message)
        self.code = code


def parse_until(text: object) -> datetime:
    """Parse an ``until`` value: an ISO 8601 timestamp with a UTC offset
    (``2026-12-01T09:00:00+01:00`` or ``...Z``).

    :raises TimerError: not such a timestamp (``WAIT_INVALID``).
    """
    if not isinstance(text, str) or not 0 < len(text) <= _MAX_TIMESTAMP_LENGTH:
        raise TimerError(
            StepErrorCode.WAIT_INVALID,
            f"`until` expects an ISO 8601 timestamp like 2026-12-01T09:00:00Z, got {text!r}",
        )
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise TimerError(
            StepErrorCode.WAIT_INVALID,
            f"`until` expects an ISO 8601 timestamp like 2026-12-01T09:00:00Z, got {text!r}",
        ) from None
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise TimerError(
            StepErrorCode.WAIT_INVALID,
            f"`until` needs a UTC offset (Z or +01:00) to be one moment, got {text!r}",
        )
    return moment


def parse_for(text: object) -> timedelta:
    """Parse a ``for`` value: a duration (``30s``, ``2h``, ``14d``) no longer than
    :data:`MAX_WAIT`.

    :raises TimerError: not a duration (``WAIT_INVALID``), or too long (``WAIT_TOO_FAR``).
    """
    try:
        delta = parse_duration(text)  # type: ignore[arg-type]  # checked by parse_duration
    except DurationError as exc:
        raise TimerError(StepErrorCode.WAIT_INVALID, f"`for`: {exc}") from None
    if delta > MAX_WAIT:
        raise TimerError(StepErrorCode.WAIT_TOO_FAR, _too_far(f"`for` {text!r}"))
    return delta


def _too_far(what: str) -> str:
    return f"{what} waits longer than {format_duration(MAX_WAIT)}, the longest a step may wait"


def check_wait(for_: object, until: object) -> None:
    """Check a ``wait`` step's inputs as far as they can be without a clock: exactly one of
    ``for`` and ``until``, each well formed.

    :raises TimerError: they are not.
    """
    if (for_ is None) == (until is None):
        raise TimerError(StepErrorCode.WAIT_INVALID, "give exactly one of `for` and `until`")
    if for_ is not None:
        parse_for(for_)
    else:
        parse_until(until)


def due_time(for_: str | None, until: str | None, now: datetime) -> datetime:
    """When a ``wait`` step that runs at ``now`` is due.

    :raises TimerError: the inputs are malformed, or the due time is further than
        :data:`MAX_WAIT` from ``now`` (``WAIT_TOO_FAR``).
    """
    check_wait(for_, until)
    if for_ is not None:
        return now + parse_for(for_)
    due = parse_until(until)
    if due - now > MAX_WAIT:
        raise TimerError(StepErrorCode.WAIT_TOO_FAR, _too_far(f"`until` {until!r}"))
    return due


def is_due(due_at: datetime, now: datetime) -> bool:
    """Whether a timer due at ``due_at`` has come at ``now``."""
    return due_at <= now


def timer_output(due_at: datetime, *, waited: bool) -> dict[str, object]:
    """The output of a ``wait`` step: its due time, and whether it waited for it (``False``:
    the time had already passed when the step ran)."""
    return {"due_at": due_at.isoformat(), "waited": waited}


def timer_due_event(due_at: datetime, now: datetime) -> AttemptSucceeded:
    """The engine's event on a waiting ``wait`` step whose time has come.

    :raises ValueError: the timer is not due at ``now``.
    """
    if not is_due(due_at, now):
        raise ValueError(f"the timer is due at {due_at.isoformat()}, not yet at {now.isoformat()}")
    return AttemptSucceeded(timer_output(due_at, waited=True))


def timer_fired_event(due_at: datetime, now: datetime, fired_by: str) -> AttemptSucceeded:
    """The engine's event on a waiting ``wait`` step an operator ends at ``now``: the timer's
    output, with ``fired_early`` (``True`` unless its due time had come already), ``fired_by``
    (who) and ``fired_at`` (when)."""
    output = timer_output(due_at, waited=True)
    output.update(fired_early=not is_due(due_at, now), fired_by=fired_by, fired_at=now.isoformat())
    return AttemptSucceeded(output)
