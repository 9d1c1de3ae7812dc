"""``jira_comment`` and ``jira_transition``: inputs and behaviour.

Both are ``remote_lookup``, and both send the step's idempotency key **in the same request** as
their effect: a comment carries it in its ``properties``, a transition writes an issue property
(``IssueUpdateDetails.properties``). There is no moment at which the effect exists without the
key, so ``lookup`` (after a crash) and a later attempt (after a timeout or a dropped
connection) find what an earlier attempt did instead of doing it twice.

Each attempt records ``JIRA_<ACTION>_ATTEMPTED`` and then ``_COMPLETED`` or ``_FAILED`` in the
step's transaction.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, ClassVar, Literal

import msgspec

from govflow.core.audit_events import AuditEvent
from govflow.plugins import (
    Action,
    ActionContext,
    ActionError,
    BusinessError,
    Idempotency,
    TechnicalError,
)
from govflow_jira.adf import to_adf
from govflow_jira.client import JiraClient, Transition
from govflow_jira.outputs import JiraCommentOutput, JiraTransitionOutput
from govflow_jira.port import jira_client

ISSUE_KEY_PATTERN = r"^[A-Z][A-Z0-9_]*-[0-9]+$"
IssueKey = Annotated[str, msgspec.Meta(pattern=ISSUE_KEY_PATTERN, examples=["PERMIT-42"])]
NonEmpty = Annotated[str, msgspec.Meta(min_length=1)]
CommentText = Annotated[str, msgspec.Meta(min_length=1, max_length=32_000)]
BodyFormat = Literal["plain", "markdown"]


class Visibility(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """Who may see a comment: the members of a project role or of a group."""

    type: Literal["role", "group"]
    value: NonEmpty


class JiraCommentInputs(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """The ``with:`` block of a ``jira_comment`` step."""

    issue: IssueKey
    body: CommentText
    format: BodyFormat = "plain"
    visibility: Visibility | None = None


class JiraTransitionInputs(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """The ``with:`` block of a ``jira_transition`` step: exactly one of the target status name
    or the transition id."""

    issue: IssueKey
    to_status: NonEmpty | None = None
    transition_id: Annotated[str, msgspec.Meta(pattern=r"^[0-9]+$")] | None = None
    fields: dict[str, Any] | None = None
    comment: CommentText | None = None
    format: BodyFormat = "plain"

    def __post_init__(self) -> None:
        if (self.to_status is None) == (self.transition_id is None):
            raise ValueError("give exactly one of to_status or transition_id")


def _failed(ctx: ActionContext, event: AuditEvent, issue: str, exc: ActionError) -> None:
    ctx.record_event(
        event,
        str(exc)[:500],
        issue=issue,
        retryable=isinstance(exc, TechnicalError),
        **({"status_code": exc.details["status_code"]} if "status_code" in exc.details else {}),
    )


class JiraCommentAction(Action):
    """Comment on a Jira issue."""

    name: ClassVar[str] = "jira_comment"
    description: ClassVar[str] = "Add a comment to a Jira issue."
    inputs: ClassVar[type[msgspec.Struct]] = JiraCommentInputs
    outputs: ClassVar[type[msgspec.Struct]] = JiraCommentOutput
    idempotency: ClassVar[Idempotency] = Idempotency.REMOTE_LOOKUP

    async def execute(self, ctx: ActionContext, params: JiraCommentInputs) -> Mapping[str, Any]:
        """Add the comment, its ``properties`` carrying the step's idempotency key."""
        client = jira_client(ctx)
        ctx.record_event(AuditEvent.JIRA_COMMENT_ATTEMPTED, issue=params.issue)
        try:
            found = await self._find(client, ctx, params) if ctx.attempt > 1 else None
            if found is None:
                visibility = msgspec.to_builtins(params.visibility) if params.visibility else None
                comment = await client.add_comment(
                    params.issue,
                    to_adf(params.body, params.format),
                    ctx.idempotency_key,
                    visibility,
                )
                found = {"issue": params.issue, "comment_id": str(comment.get("id"))}
        except ActionError as exc:
            _failed(ctx, AuditEvent.JIRA_COMMENT_FAILED, params.issue, exc)
            raise
        ctx.record_event(AuditEvent.JIRA_COMMENT_COMPLETED, **found)
        return found

    async def lookup(
        self, ctx: ActionContext, params: JiraCommentInputs
    ) -> Mapping[str, Any] | None:
        """Find the comment an earlier attempt added (paging through the issue's comments)."""
        return await self._find(jira_client(ctx), ctx, params)

    @staticmethod
    async def _find(
        client: JiraClient, ctx: ActionContext, params: JiraCommentInputs
    ) -> dict[str, Any] | None:
        comment = await client.find_comment(params.issue, ctx.idempotency_key)
        if comment is None:
            return None
        return {"issue": params.issue, "comment_id": str(comment.get("id"))}


class JiraTransitionAction(Action):
    """Move a Jira issue through its workflow."""

    name: ClassVar[str] = "jira_transition"
    description: ClassVar[str] = "Transition a Jira issue by target status or transition id."
    inputs: ClassVar[type[msgspec.Struct]] = JiraTransitionInputs
    outputs: ClassVar[type[msgspec.Struct]] = JiraTransitionOutput
    idempotency: ClassVar[Idempotency] = Idempotency.REMOTE_LOOKUP

    async def execute(self, ctx: ActionContext, params: JiraTransitionInputs) -> Mapping[str, Any]:
        """Resolve the transition, then apply it, the issue property for the step's key
        written by the same request."""
        client = jira_client(ctx)
        ctx.record_event(AuditEvent.JIRA_TRANSITION_ATTEMPTED, issue=params.issue)
        try:
            done = await self._find(client, ctx, params) if ctx.attempt > 1 else None
            if done is None:
                done = await self._apply(client, ctx, params)
        except ActionError as exc:
            _failed(ctx, AuditEvent.JIRA_TRANSITION_FAILED, params.issue, exc)
            raise
        ctx.record_event(AuditEvent.JIRA_TRANSITION_COMPLETED, **done)
        return done

    async def lookup(
        self, ctx: ActionContext, params: JiraTransitionInputs
    ) -> Mapping[str, Any] | None:
        """Find the transition an earlier attempt applied (the issue property of the key)."""
        return await self._find(jira_client(ctx), ctx, params)

    @staticmethod
    async def _find(
        client: JiraClient, ctx: ActionContext, params: JiraTransitionInputs
    ) -> dict[str, Any] | None:
        record = await client.transition_record(params.issue, ctx.idempotency_key)
        if record is None:
            return None
        return {
            "issue": params.issue,
            "transition_id": str(record.get("transition_id", params.transition_id or "")),
            "to_status": str(record.get("to_status", params.to_status or "")),
        }

    @staticmethod
    async def _apply(
        client: JiraClient, ctx: ActionContext, params: JiraTransitionInputs
    ) -> dict[str, Any]:
        available = await client.transitions(params.issue)
        chosen = _choose(available, params)
        if chosen is None:
            status = await client.status(params.issue)
            offered = (
                ", ".join(f"{t.name!r} (id {t.id}) to {t.to_status!r}" for t in available) or "none"
            )
            wanted = (
                f"status {params.to_status!r}"
                if params.to_status
                else f"transition id {params.transition_id}"
            )
            raise BusinessError(
                f"{params.issue} is in status {status!r} and cannot reach {wanted}; "
                f"transitions available now: {offered}",
                details={
                    "status": status,
                    "available": [msgspec.to_builtins(t) for t in available],
                },
            )
        done = {"issue": params.issue, "transition_id": chosen.id, "to_status": chosen.to_status}
        await client.transition(
            params.issue,
            chosen.id,
            key=ctx.idempotency_key,
            record={
                "key": ctx.idempotency_key,
                "transition_id": chosen.id,
                "to_status": chosen.to_status,
                "execution_id": str(ctx.execution_id),
                "step": ctx.step_key,
            },
            fields=params.fields,
            comment=to_adf(params.comment, params.format) if params.comment else None,
        )
        return done


def _choose(available: list[Transition], params: JiraTransitionInputs) -> Transition | None:
    """The transition the step asks for among those available (status names compared without
    regard to case)."""
    if params.transition_id is not None:
        return next((t for t in available if t.id == params.transition_id), None)
    wanted = (params.to_status or "").casefold()
    return next((t for t in available if t.to_status.casefold() == wanted), None)
