"""The ``manual`` action: a human task the execution waits for.

The action opens nothing itself: it raises ``Suspend(reason="human_task", payload=...)`` with
the task, its people resolved to ids, and the host opens the human task and completes the step
when the task is decided (output: ``decision``, ``form``, ``submitted_by``, ``approved_by``,
``comments``).
"""

from __future__ import annotations

from govflow.plugins import ActionRegistry, PluginHost, hookimpl
from govflow.plugins.directory import Directory
from govflow_manual.action import ManualAction
from govflow_manual.inputs import EscalateTo, ManualInputs, NotifyTarget, Parties

__all__ = ["EscalateTo", "ManualAction", "ManualInputs", "NotifyTarget", "Parties"]


@hookimpl
def govflow_register_actions(register: ActionRegistry) -> None:
    """Register ``manual``."""
    register.add(ManualAction())


@hookimpl
def govflow_startup(host: PluginHost) -> Directory | None:
    """Keep the host's directory: the action resolves the people a task names through it."""
    return host.directory
