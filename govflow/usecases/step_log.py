"""The step a worker is running, as its log lines name it.

Every line logged while a worker runs a step carries ``execution_id``, ``workflow``,
``step_id``, ``step`` and ``attempt``. Steps run far more often than lines are logged, so a
step only sets one context variable (the claim itself); the ids become text when a line is
logged (:func:`running_step_fields`, read by the logging adapter's processor).
"""

from __future__ import annotations

from contextvars import ContextVar, Token
from typing import Any

from govflow.usecases.ports import ClaimedStep

_running: ContextVar[tuple[str, ClaimedStep] | None] = ContextVar(
    "govflow_running_step", default=None
)


def enter_step(workflow: str, claim: ClaimedStep) -> Token[tuple[str, ClaimedStep] | None]:
    """Name ``claim``'s step (of a ``workflow`` execution) on the lines logged from now on in
    this context; :func:`leave_step` with the token restores what was there before."""
    return _running.set((workflow, claim))


def leave_step(token: Token[tuple[str, ClaimedStep] | None]) -> None:
    """Undo the :func:`enter_step` that gave ``token``."""
    _running.reset(token)


def running_step_fields() -> dict[str, Any] | None:
    """The ids of the step running in this context, for a log line (``None``: none is)."""
    running = _running.get()
    if running is None:
        return None
    workflow, claim = running
    return {
        "execution_id": str(claim.execution_id),
        "workflow": workflow,
        "step_id": str(claim.step_id),
        "step": claim.step_key,
        "attempt": claim.attempt,
    }
