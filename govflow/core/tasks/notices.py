"""The notifications a task decision asks for, as outbox entries: one per ``Notify`` command and
channel the task's ``notify`` names, each with an idempotency key.

The key is ``task:<id>:<why>:v<version>:<n>`` (the version the decision wrote, the entry's
position among the decision's notices): the same decision always yields the same keys, so an
entry is stored once, and a webhook receiver that deduplicates by ``Idempotency-Key`` sees a
re-sent entry as the same notification. Pure: the use cases store the entries with the decision
and the sweeper sends them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Annotated, Any
from uuid import UUID

import msgspec

from govflow.core.tasks.model import Notify, Party, TaskDecision, TaskState

WHAT_HAPPENED = {
    "created": "was opened for you",
    "assigned": "was assigned to you",
    "delegated": "was delegated to you",
    "offered": "is offered to you",
    "claimed": "was claimed",
    "submitted": "was submitted for your review",
    "rejected": "was rejected",
    "canceled": "was canceled",
    "overdue": "is overdue",
    "escalated": "was escalated to you after its deadline",
}
"""The sentence of each ``Notify.why`` in a notification's message."""

ON = {
    "created": "created",
    "assigned": "assigned",
    "delegated": "assigned",
    "offered": "assigned",
    "claimed": "claimed",
    "submitted": "submitted",
    "rejected": "rejected",
    "canceled": "canceled",
    "overdue": "overdue",
    "escalated": "overdue",
}
"""The ``on`` word of a ``notify`` channel that hears of each ``Notify.why``."""

EVERY_ON = ("assigned", "overdue")
"""What a channel that does not say ``on`` hears of (the other words are asked for by name)."""

ON_WORDS = ("created", "assigned", "claimed", "submitted", "rejected", "canceled", "overdue")
"""Every ``on`` word a ``notify`` channel may name."""

EmailSubject = Annotated[str, msgspec.Meta(max_length=500, pattern=r"^[^\r\n]*$")]
"""An email subject a task's notice may carry: one line (no header injection), bounded."""

MAX_DETAIL = 500
"""At most this many characters of a notice's detail (a rejection's reason) are sent."""


class Notice(msgspec.Struct, frozen=True, kw_only=True):
    """One notification to send about a task, on one channel.

    :ivar key: the idempotency key (unique: an entry is stored and delivered once).
    :ivar why: the event (``assigned``, ``overdue``, ``escalated``...).
    :ivar to: the people it is about (their addresses are read when it is sent by email).
    :ivar channel: the ``notification`` action's inputs but the message (``channel``, ``url``,
        ``to``, ``subject``, ``level``), as the task's ``notify`` names them (without ``on``).
    :ivar message: what is said.
    """

    key: str
    task_id: UUID
    why: str
    to: Party
    channel: Mapping[str, Any]
    message: str


def notify_channels(value: Any) -> tuple[Mapping[str, Any], ...]:
    """The channels of a task's ``notify`` value: none, one mapping, or a list of them."""
    if value is None:
        return ()
    plain = msgspec.to_builtins(value)
    if isinstance(plain, Mapping):
        return (plain,)
    if isinstance(plain, list | tuple):
        return tuple(item for item in plain if isinstance(item, Mapping))
    return ()


def message_of(title: str, task_id: UUID, why: str, detail: str = "") -> str:
    """The message of a notification about task ``title`` (``detail``: a rejection's reason)."""
    happened = WHAT_HAPPENED.get(why, why)
    message = f'Task "{title}" ({task_id}) {happened}.'
    if detail:
        shown = detail if len(detail) <= MAX_DETAIL else detail[: MAX_DETAIL - 3] + "..."
        message += f" Reason: {shown}"
    return message


def notices_for(decision: TaskDecision, channels: Sequence[Mapping[str, Any]]) -> list[Notice]:
    """The notices of ``decision``'s ``Notify`` commands on each of ``channels`` that hears of
    them (its ``on``); none when the task names no channel, or a command names nobody."""
    state = decision.state
    notices: list[Notice] = []
    wanted = [c for c in decision.commands if isinstance(c, Notify)]
    for command in wanted:
        if not (command.to.users or command.to.is_group):
            continue
        for channel in channels:
            if ON.get(command.why) not in channel.get("on", EVERY_ON):
                continue
            notices.append(
                Notice(
                    key=f"task:{state.id}:{command.why}:v{state.version}:{len(notices)}",
                    task_id=state.id,
                    why=command.why,
                    to=command.to,
                    channel={k: v for k, v in channel.items() if k != "on"},
                    message=message_of(state.title, state.id, command.why, command.detail),
                )
            )
    return notices


def task_channels(task: TaskState) -> tuple[Mapping[str, Any], ...]:
    """The channels the task's ``notify`` names (none when it names none)."""
    return notify_channels(task.policy.notify)
