"""The ``jira_comment`` and ``jira_transition`` actions.

Both are ``remote_lookup``: before an attempt that may already have had an effect is run again,
``lookup`` asks Jira whether the effect carrying the step's idempotency key exists.

Disabled unless ``GOVFLOW_PLUGIN_JIRA_ENABLED`` is true; the host then provides a client that
follows ``JiraPort`` as ``ctx.extras["jira"]``.
"""

from __future__ import annotations

from govflow.plugins import ActionRegistry, hookimpl
from govflow_jira.actions import (
    JiraCommentAction,
    JiraCommentInputs,
    JiraTransitionAction,
    JiraTransitionInputs,
)
from govflow_jira.port import JiraPort

__all__ = [
    "JiraCommentAction",
    "JiraCommentInputs",
    "JiraPort",
    "JiraTransitionAction",
    "JiraTransitionInputs",
]


@hookimpl
def govflow_register_actions(register: ActionRegistry) -> None:
    """Register ``jira_comment`` and ``jira_transition``."""
    register.add(JiraCommentAction())
    register.add(JiraTransitionAction())
