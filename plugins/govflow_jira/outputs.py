"""The outputs of the Jira actions (``steps.<id>.output``), as the actions declare them."""

from __future__ import annotations

import msgspec


class JiraCommentOutput(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """The output of a ``jira_comment`` step."""

    issue: str
    """The issue commented on."""
    comment_id: str
    """The comment's id in Jira."""


class JiraTransitionOutput(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """The output of a ``jira_transition`` step."""

    issue: str
    """The issue moved."""
    transition_id: str
    """The transition applied."""
    to_status: str
    """The status it reached."""
