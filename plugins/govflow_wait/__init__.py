"""The ``wait`` action: a durable timer (``for: 3d`` or ``until:`` a timestamp).

The step holds no worker while it waits: its due time is stored with the step in PostgreSQL
and the sweeper resumes it once that time has come (:mod:`govflow.core.timers`).
"""

from __future__ import annotations

from govflow.plugins import ActionRegistry, hookimpl
from govflow_wait.action import WaitAction, WaitInputs

__all__ = ["WaitAction", "WaitInputs"]


@hookimpl
def govflow_register_actions(register: ActionRegistry) -> None:
    """Register ``wait``."""
    register.add(WaitAction())
