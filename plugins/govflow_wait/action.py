"""The ``wait`` action: suspend the step until its due time (``for`` or ``until``).

``with: {for: 14d}`` waits fourteen days from the moment the step runs; ``with: {until:
"2026-12-01T09:00:00+01:00"}`` waits until that moment. Either may be templated. A due time
already passed completes the step at once; one further than two years away fails it
(``WAIT_TOO_FAR``). The output is ``{due_at, waited}``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any, ClassVar

import msgspec

from govflow.core.spec import Duration
from govflow.core.timers import (
    TIMER_WAIT,
    WAIT_ACTION,
    TimerError,
    check_wait,
    due_time,
    is_due,
    timer_output,
)
from govflow.plugins import Action, ActionContext, BusinessError, Idempotency, Suspend


class WaitInputs(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """The ``with:`` block of a ``wait`` step: exactly one of ``for`` and ``until``."""

    for_: Duration | None = msgspec.field(default=None, name="for")
    """How long to wait from the moment the step runs: a duration such as ``30s``, ``2h`` or
    ``14d`` (at most ``730d``)."""
    until: str | None = None
    """The moment to wait for: an ISO 8601 timestamp with its UTC offset, such as
    ``2026-12-01T09:00:00Z`` (a moment already passed: the step completes at once)."""

    def __post_init__(self) -> None:
        try:
            check_wait(self.for_, self.until)
        except TimerError as exc:
            raise ValueError(str(exc)) from None


class WaitOutput(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """The output of a ``wait`` step (:func:`~govflow.core.timers.timer_output`)."""

    due_at: str
    """The due time, ISO 8601 in UTC."""
    waited: bool
    """Whether the step waited (``False``: the time had already passed when it ran)."""


class WaitAction(Action):
    """Wait for a duration or until a moment, holding no worker."""

    name: ClassVar[str] = WAIT_ACTION
    description: ClassVar[str] = (
        "A durable timer: wait `for` a duration or `until` a timestamp; the step waits in "
        "PostgreSQL, holding no worker, and the sweeper resumes it once due."
    )
    inputs: ClassVar[type[msgspec.Struct]] = WaitInputs
    outputs: ClassVar[type[msgspec.Struct]] = WaitOutput
    idempotency: ClassVar[Idempotency] = Idempotency.NONE

    def __init__(self, clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.clock = clock

    async def execute(self, ctx: ActionContext, params: WaitInputs) -> Mapping[str, Any]:
        """Complete at once when the due time has passed, else suspend the step until it."""
        now = self.clock()
        try:
            due = due_time(params.for_, params.until, now)
        except TimerError as exc:
            raise BusinessError(str(exc), details={"code": exc.code}) from None
        if is_due(due, now):
            return timer_output(due, waited=False)
        raise Suspend(reason=TIMER_WAIT, payload={"due_at": due.isoformat()})
