"""Request bodies of the ``/tasks`` actions; answers are ``TaskView``. Unknown fields are
refused; a refused action names the field (``body.form.amount``, ``status``)."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

import msgspec

from govflow.core.tasks.model import Approve, Claim, Reject, Release, Start, Submit

Reason = Annotated[str, msgspec.Meta(max_length=2000)]
RequiredReason = Annotated[str, msgspec.Meta(min_length=1, max_length=2000)]


class EmptyIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """No fields: the action needs nothing but the caller (``{}``)."""

    def to_claim(self) -> Claim:
        return Claim()

    def to_start(self) -> Start:
        return Start()


class ReleaseIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    reason: Reason = ""

    def to_action(self) -> Release:
        return Release(reason=self.reason)


class HandOverIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Who gets the task (an active user the task may be given to), and why."""

    user_id: UUID
    reason: Reason = ""


class CommentIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    text: RequiredReason


class SubmitIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """The form's values, checked against the task's form fields."""

    form: dict[str, Any] = msgspec.field(default_factory=dict)
    comment: Reason = ""

    def to_action(self) -> Submit:
        return Submit(form=self.form, comment=self.comment)


class ApproveIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    comment: Reason = ""

    def to_action(self) -> Approve:
        return Approve(comment=self.comment)


class RejectIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Why the submission goes back (or, under ``on_reject: fail``, fails the step)."""

    reason: RequiredReason

    def to_action(self) -> Reject:
        return Reject(reason=self.reason)
