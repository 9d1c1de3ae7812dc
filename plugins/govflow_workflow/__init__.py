"""The ``workflow`` action: start a child execution and wait for it (a sub-workflow).

The action starts the child through the host's
:class:`~govflow.plugins.children.ChildExecutions` (which the plugin's ``govflow_startup`` keeps
as its resources) and raises ``Suspend(reason="sub_workflow", ...)``; the engine completes the
step with the child's workflow outputs when the child completes, and fails it naming the child
when the child fails or is canceled.
"""

from __future__ import annotations

from govflow.plugins import ActionRegistry, PluginHost, hookimpl
from govflow.plugins.children import ChildExecutions
from govflow_workflow.action import WorkflowAction, WorkflowInputs

__all__ = ["WorkflowAction", "WorkflowInputs"]


@hookimpl
def govflow_register_actions(register: ActionRegistry) -> None:
    """Register ``workflow``."""
    register.add(WorkflowAction())


@hookimpl
def govflow_startup(host: PluginHost) -> ChildExecutions | None:
    """Keep the host's starter of child executions."""
    return host.executions
