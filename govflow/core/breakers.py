"""The states of a circuit breaker, as every breaker GovFlow or a plugin keeps reports them.

``closed``: requests go through; ``open``: nothing is sent until a cooldown ends;
``half_open``: after the cooldown, requests go through and the first outcome closes or opens it
again. They are metric label values (``govflow_breaker_state{breaker, state}``).
"""

from __future__ import annotations

from enum import StrEnum


class BreakerState(StrEnum):
    """Where a circuit breaker stands."""

    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"
