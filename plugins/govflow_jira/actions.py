"""``jira_comment`` and ``jira_transition``: inputs and behaviour."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, ClassVar

import msgspec

from govflow.plugins import Action, ActionContext, Idempotency
from govflow_jira.port import jira_client

ISSUE_KEY_PATTERN = r"^[A-Z][A-Z0-9]+-[0-9]+$"
IssueKey = Annotated[str, msgspec.Meta(pattern=ISSUE_KEY_PATTERN, examples=["PERMIT-42"])]
NonEmpty = Annotated[str, msgspec.Meta(min_length=1)]


class JiraCommentInputs(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """The ``with:`` block of a ``jira_comment`` step."""

    issue: IssueKey
    body: NonEmpty


class JiraTransitionInputs(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """The ``with:`` block of a ``jira_transition`` step: exactly one of the target status name
    or the transition id."""

    issue: IssueKey
    to_status: NonEmpty | None = None
    transition_id: NonEmpty | None = None

    def __post_init__(self) -> None:
        if (self.to_status is None) == (self.transition_id is None):
            raise ValueError("give exactly one of to_status or transition_id")


class JiraCommentAction(Action):
    """Comment on a Jira issue."""

    name: ClassVar[str] = "jira_comment"
    description: ClassVar[str] = "Add a comment to a Jira issue."
    inputs: ClassVar[type[msgspec.Struct]] = JiraCommentInputs
    idempotency: ClassVar[Idempotency] = Idempotency.REMOTE_LOOKUP

    async def execute(self, ctx: ActionContext, params: JiraCommentInputs) -> Mapping[str, Any]:
        """Add the comment, tagged with the step's idempotency key."""
        result = await jira_client(ctx).add_comment(params.issue, params.body, ctx.idempotency_key)
        return {"issue": params.issue, **result}

    async def lookup(
        self, ctx: ActionContext, params: JiraCommentInputs
    ) -> Mapping[str, Any] | None:
        """Find the comment an earlier attempt added."""
        found = await jira_client(ctx).find_comment(params.issue, ctx.idempotency_key)
        return None if found is None else {"issue": params.issue, **found}


class JiraTransitionAction(Action):
    """Move a Jira issue through its workflow."""

    name: ClassVar[str] = "jira_transition"
    description: ClassVar[str] = "Transition a Jira issue by target status or transition id."
    inputs: ClassVar[type[msgspec.Struct]] = JiraTransitionInputs
    idempotency: ClassVar[Idempotency] = Idempotency.REMOTE_LOOKUP

    async def execute(self, ctx: ActionContext, params: JiraTransitionInputs) -> Mapping[str, Any]:
        """Apply the transition, recording the step's idempotency key on the issue."""
        result = await jira_client(ctx).transition(
            params.issue,
            to_status=params.to_status,
            transition_id=params.transition_id,
            key=ctx.idempotency_key,
        )
        return {"issue": params.issue, **result}

    async def lookup(
        self, ctx: ActionContext, params: JiraTransitionInputs
    ) -> Mapping[str, Any] | None:
        """Find the transition an earlier attempt applied."""
        found = await jira_client(ctx).find_transition(params.issue, ctx.idempotency_key)
        return None if found is None else {"issue": params.issue, **found}
