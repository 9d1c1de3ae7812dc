"""Sending the human-task notifications stored in the outbox, through the ``notification``
plugin's channels.

A decision that notifies (a task opened, assigned, claimed, submitted, rejected, canceled,
overdue or escalated) stores its
:class:`~govflow.core.tasks.notices.Notice` entries in its own transaction; the sweeper calls
:meth:`TaskNotifier.send_due` every round. A notice is held by one sender at a time (a lease),
sent with its key as the idempotency key (a webhook's ``Idempotency-Key``, an email's
``Message-ID``), then marked sent; a channel's refusal that a retry cannot fix
(``BusinessError``) gives it up, a transient failure (``TechnicalError``) tries again later, up
to :data:`MAX_ATTEMPTS`; an outcome the channel cannot tell (``OutcomeUnknown``, or an
unexpected error) gives an email up and tries a webhook again. A notice found still in
flight was held by a sender that died: a webhook is sent again (the receiver deduplicates by
key), an email is given up (at most once: it may have been delivered).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Protocol
from uuid import UUID

import msgspec

from govflow.core.idempotency import Idempotency
from govflow.core.tasks.model import Party
from govflow.core.tasks.notices import Notice
from govflow.core.validation import convert_action_inputs
from govflow.plugins import ActionContext, BusinessError, OutcomeUnknown, TechnicalError
from govflow.usecases.action_host import ActionHost, StepLogger

log = logging.getLogger("govflow.tasks.notifications")

CHANNEL_ACTION = "notification"
"""The action whose channels carry the notifications."""
MAX_ATTEMPTS = 8
"""A notice still failing after this many attempts is given up."""
LEASE_SECONDS = 60.0
"""How long a sender holds the notices it took."""


def retry_delay(attempts: int) -> float:
    """Seconds before the next attempt after ``attempts`` failed ones: 5 s, doubling, at most
    an hour."""
    return float(min(5 * 2 ** max(attempts - 1, 0), 3600))


class HeldNotice(msgspec.Struct, frozen=True, kw_only=True):
    """A notice a sender took from the outbox.

    :ivar attempts: this attempt's number.
    :ivar was_in_flight: an earlier sender took it and never said what became of it.
    """

    id: int
    notice: Notice
    attempts: int
    was_in_flight: bool
    execution_id: UUID | None
    step_id: UUID | None


class NoticeOutbox(Protocol):
    """The stored notices."""

    async def take(self, limit: int, lease_seconds: float) -> list[HeldNotice]:
        """Up to ``limit`` notices due, held for ``lease_seconds`` (other senders skip them)."""
        ...

    async def sent(self, notice_id: int) -> None:
        """The notice was delivered."""
        ...

    async def retry(self, notice_id: int, error: str, delay_seconds: float) -> None:
        """The notice failed for now: try again after ``delay_seconds``."""
        ...

    async def give_up(self, notice_id: int, error: str) -> None:
        """The notice is not sent (again)."""
        ...

    async def emails(self, party: Party) -> list[str]:
        """The addresses of the active users in ``party``."""
        ...


class NoticeMetrics:
    """Does nothing; subclassed by the Prometheus adapter."""

    def notice(self, channel: str, outcome: str) -> None:
        """A notice on ``channel`` was ``sent``, ``retried`` or ``given_up``."""

    def not_stored(self, why: str) -> None:
        """A decision's notices about ``why`` could not be stored; the decision stands."""


@dataclass
class TaskNotifier:
    """Sends the due notices of the outbox (see the module docstring)."""

    outbox: NoticeOutbox
    host: ActionHost
    metrics: NoticeMetrics
    batch: int = 100

    async def send_due(self) -> int:
        """Send the notices due now; how many were delivered."""
        delivered = 0
        for held in await self.outbox.take(self.batch, LEASE_SECONDS):
            outcome = await self._send(held)
            self.metrics.notice(str(held.notice.channel.get("channel", "")), outcome)
            delivered += outcome == "sent"
        return delivered

    async def _send(self, held: HeldNotice) -> str:
        notice = held.notice
        action = self.host.actions.get(CHANNEL_ACTION)
        if action is None:
            return await self._give_up(held, "the notification plugin is not installed")
        try:
            params = convert_action_inputs(action.inputs, await self._inputs(notice))
        except ValueError as exc:
            return await self._give_up(held, f"the notify channel is invalid: {exc}")
        if held.was_in_flight and action.idempotency_for(params) is Idempotency.AT_MOST_ONCE:
            return await self._give_up(held, "an earlier attempt's outcome is unknown")
        at_most_once = action.idempotency_for(params) is Idempotency.AT_MOST_ONCE
        try:
            await action.execute(self._context(held), params)
        except OutcomeUnknown as exc:
            if at_most_once or held.attempts >= MAX_ATTEMPTS:  # an email may have gone out
                return await self._give_up(held, str(exc))
            await self.outbox.retry(held.id, str(exc), retry_delay(held.attempts))
            return "retried"
        except TechnicalError as exc:
            if held.attempts >= MAX_ATTEMPTS:
                return await self._give_up(held, str(exc))
            await self.outbox.retry(held.id, str(exc), retry_delay(held.attempts))
            return "retried"
        except BusinessError as exc:
            return await self._give_up(held, str(exc))
        except Exception as exc:  # a plugin's bug: logged, tried again like a transient failure
            log.exception("notice %s failed", notice.key)
            if at_most_once:
                return await self._give_up(held, repr(exc))
            await self.outbox.retry(held.id, repr(exc), retry_delay(held.attempts))
            return "retried"
        await self.outbox.sent(held.id)
        return "sent"

    async def _inputs(self, notice: Notice) -> dict[str, Any]:
        inputs: dict[str, Any] = {**notice.channel, "message": notice.message}
        if inputs.get("channel") == "email":
            if not inputs.get("to"):
                inputs["to"] = await self.outbox.emails(notice.to)
            inputs.setdefault("subject", f"GovFlow task {notice.why}")
        return inputs

    async def _give_up(self, held: HeldNotice, error: str) -> str:
        log.warning("notice %s given up: %s", held.notice.key, error)
        await self.outbox.give_up(held.id, error)
        return "given_up"

    def _context(self, held: HeldNotice) -> ActionContext:
        notice = held.notice
        step_key = f"task:{notice.why}"
        fields = {"task_id": str(notice.task_id), "notice": notice.key, "attempt": held.attempts}
        owner = self.host.actions.owner(CHANNEL_ACTION)
        return ActionContext(
            execution_id=held.execution_id or notice.task_id,
            step_id=held.step_id or notice.task_id,
            step_key=step_key,
            attempt=held.attempts,
            idempotency_key=notice.key,
            settings=self.host.plugin_settings(owner),
            logger=StepLogger(logging.getLogger(f"govflow.action.{CHANNEL_ACTION}"), fields),
            http=self.host.http,
            resources=self.host.resources(owner),
        )
