"""The state of every circuit breaker, one Prometheus state set: ``govflow_breaker_state``.

Any breaker (a plugin's client of an outside system, such as the Jira plugin's) reports each
change with :func:`report_breaker_state`; the series of its current state is 1, the others 0.
Alert on ``govflow_breaker_state{state="open"} == 1``.
"""

from __future__ import annotations

from prometheus_client import Gauge

from govflow.core.breakers import BreakerState

BREAKER_STATE = Gauge(
    "govflow_breaker_state",
    "1 for the state a circuit breaker was last seen in by this process, 0 for the others",
    ["breaker", "state"],
    multiprocess_mode="max",
)


def report_breaker_state(breaker: str, state: BreakerState | str) -> None:
    """Record that ``breaker`` (e.g. ``"jira"``) is now in ``state`` (a :class:`BreakerState`
    value; ``ValueError`` for anything else)."""
    current = BreakerState(state)
    for member in BreakerState:
        BREAKER_STATE.labels(breaker, member.value).set(1 if member is current else 0)
