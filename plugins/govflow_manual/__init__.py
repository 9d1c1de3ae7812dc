"""The ``manual`` action: a human task the execution waits for.

The action opens nothing itself: it raises ``Suspend(reason="human_task", payload=...)`` with
the rendered task, and the host opens the human task and completes the step when the task is
approved (output: ``decision``, ``form``, ``submitted_by``, ``approved_by``).
"""

from __future__ import annotations

from govflow.plugins import ActionRegistry, hookimpl
from govflow_manual.action import Assignee, FormField, ManualAction, ManualInputs, Reviewer

__all__ = ["Assignee", "FormField", "ManualAction", "ManualInputs", "Reviewer"]


@hookimpl
def govflow_register_actions(register: ActionRegistry) -> None:
    """Register ``manual``."""
    register.add(ManualAction())
