"""The ``Action`` contract a plugin implements, the context it runs in, and its errors.

Error tree::

    ActionError            an action could not do its work
    ├── BusinessError      final: the step and the execution fail, no retry
    ├── TechnicalError     transient: retried per the step's retry policy
    └── OutcomeUnknown     the effect may or may not have happened: an at_most_once step
                           goes to NEEDS_ATTENTION, other strategies retry

    Suspend                not an error: the step waits for an external event
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, ClassVar, Protocol, TypeVar, runtime_checkable
from uuid import UUID

import httpx
import msgspec

from govflow.core.idempotency import Idempotency
from govflow.plugins.settings import NoSettings

R = TypeVar("R")


class ActionError(Exception):
    """An action could not do its work."""

    def __init__(self, message: str | None = None, *, details: Mapping[str, Any] | None = None):
        super().__init__(message or (self.__doc__ or "").strip())
        self.details: dict[str, Any] = dict(details or {})


class BusinessError(ActionError):
    """The action was refused for a reason a retry cannot fix."""


class TechnicalError(ActionError):
    """The action failed for a transient reason; a later attempt may succeed.

    :param retry_after: the least wait before the next attempt is worth making, in seconds or
        as a ``timedelta`` (e.g. a remote service's ``Retry-After``); ``None`` leaves the wait
        to the backoff. The engine waits the longer of the two (capped at an hour).
    """

    def __init__(
        self,
        message: str | None = None,
        *,
        details: Mapping[str, Any] | None = None,
        retry_after: float | timedelta | None = None,
    ):
        super().__init__(message, details=details)
        if isinstance(retry_after, timedelta):
            retry_after = retry_after.total_seconds()
        self.retry_after: float | None = retry_after


class OutcomeUnknown(ActionError):
    """The action cannot tell whether its effect happened (e.g. the connection broke after the
    request was sent).

    For an ``at_most_once`` step the engine never tries again: the step goes to
    ``NEEDS_ATTENTION`` with this error, for an operator to retry, skip or mark done. Any other
    strategy makes a repeat safe, so the step is retried like after a ``TechnicalError``.
    """


class Suspend(Exception):
    """The step waits for an external event (e.g. a human task); the execution pauses.

    The engine records the step as ``WAITING`` with ``reason`` and ``payload`` and completes it
    later from the event, without calling the action again. ``"human_task"`` opens a human task
    from the payload (the ``manual`` action); any other reason waits for a signal carrying
    ``ctx.resume_token`` (``POST /workflow-executions/{id}/steps/{key}/signal``), which gives
    the step its output or its error.

    :ivar reason: what the step waits for, e.g. ``"human_task"`` or ``"payment_callback"``.
    :ivar payload: JSON-able data the host needs to open the wait (e.g. the task to create).
    """

    def __init__(self, reason: str, payload: Mapping[str, Any] | None = None) -> None:
        super().__init__(f"step waits for {reason}")
        self.reason = reason
        self.payload: dict[str, Any] = dict(payload or {})


Progress = str | int | float | Mapping[str, Any] | None
"""What :meth:`ActionContext.heartbeat` records: a text, a number or a JSON-able mapping."""


@dataclass(frozen=True, slots=True)
class RecordedEvent:
    """An audit entry an action asked for with :meth:`ActionContext.record_event`."""

    action: str
    reason: str | None
    metadata: dict[str, Any]


@dataclass(frozen=True, slots=True)
class ActionContext:
    """What an action knows about the attempt it runs in.

    :ivar execution_id: the execution the step belongs to.
    :ivar step_id: the execution step's id (stable across attempts).
    :ivar step_key: the step's ``id`` in the workflow spec.
    :ivar attempt: 1 for the first attempt, then 2, 3, ...
    :ivar idempotency_key: deterministic per execution step, the same on every attempt; send it
        to remote systems that deduplicate, or store it beside the effect for ``lookup``.
    :ivar http: the host's shared ``httpx.AsyncClient`` (always there); never close it.
    :ivar settings: the plugin's typed settings, the Struct its ``govflow_settings`` declares
        (``GOVFLOW_<PLUGIN>_<NAME>`` variables; ``NoSettings()`` when it declares none).
    :ivar logger: a logger bound to the execution and step.
    :ivar resources: what the plugin's ``govflow_startup`` returned in this process (its
        clients); ``None`` if nothing. :meth:`resource` checks its type.
    :ivar recorded: the audit entries asked for with :meth:`record_event`.
    :ivar resume_token: the secret an external system sends to finish this step once it raised
        ``Suspend`` (give it to the system before raising); ``None`` outside a worker.
    :ivar heartbeat_sink: where :meth:`heartbeat` reports (set by the host).
    """

    execution_id: UUID
    step_id: UUID
    step_key: str
    attempt: int
    idempotency_key: str
    http: httpx.AsyncClient
    settings: Any = field(default_factory=NoSettings)
    logger: logging.Logger | logging.LoggerAdapter[logging.Logger] = field(
        default_factory=lambda: logging.getLogger("govflow.action")
    )
    resources: Any = None
    recorded: list[RecordedEvent] = field(default_factory=list)
    resume_token: str | None = None
    heartbeat_sink: Callable[[Progress], Awaitable[None]] | None = None

    def resource(self, kind: type[R]) -> R:
        """Return :attr:`resources` as a ``kind``, e.g. ``ctx.resource(JiraResources)``.

        :raises BusinessError: this process has no such resources (the plugin's
            ``govflow_startup`` returned something else, or did not run).
        """
        if not isinstance(self.resources, kind):
            raise BusinessError(
                f"this process offers no {kind.__name__}: the plugin's govflow_startup "
                f"returned {type(self.resources).__name__}"
            )
        return self.resources

    async def heartbeat(self, progress: Progress = None) -> None:
        """Say the action is alive: renews the step's lease now and records ``progress``
        (shown as the step's ``progress`` in the API). Each call is one database write: call
        it every few seconds at most. Raises ``TechnicalError`` when the lease was lost (a
        recovery took the step over): stop the work.

        :param progress: a short text, a number (e.g. a percentage) or a JSON-able mapping.
        """
        if self.heartbeat_sink is not None:
            await self.heartbeat_sink(progress)

    def record_event(self, action: str, reason: str | None = None, **metadata: Any) -> None:
        """Add an entry to the audit log, written in the same transaction as the step's result.

        :param action: the event's name, e.g. ``NOTIFICATION_SENT``.
        :param reason: a short reason, if any.
        :param metadata: JSON-able details.
        """
        self.recorded.append(RecordedEvent(action, reason, dict(metadata)))


@runtime_checkable
class Action(Protocol):
    """One action type, e.g. ``jira_comment``.

    ``inputs`` is a frozen ``msgspec.Struct`` describing the step's ``with:`` block; its JSON
    Schema is published in the DSL schema. ``execute`` receives an instance of ``inputs`` and
    returns the step's output, a JSON-able mapping; it may raise ``BusinessError``,
    ``TechnicalError`` or ``Suspend``.

    ``idempotency`` is the strategy of the action as a whole; ``idempotency_for`` refines it for
    one step's parameters (e.g. ``notification`` is ``remote_key`` for webhooks and
    ``at_most_once`` for email). ``lookup`` is only called when the strategy for the parameters
    is ``Idempotency.REMOTE_LOOKUP``: it returns the output of an effect already applied for
    ``ctx.idempotency_key``, or ``None``.

    An action may also declare ``outputs``, a ``msgspec.Struct`` describing the mapping
    ``execute`` returns (optional, read with ``getattr``: an action without it keeps working).
    ``govflow workflows validate`` then checks every ``steps.<id>.output.<field>`` reference
    to the step against it; the outputs of an action that declares none are not checked.

    Subclass ``Action`` explicitly to inherit the defaults of ``idempotency_for`` (the class
    strategy) and ``lookup`` (nothing found).
    """

    name: ClassVar[str]
    description: ClassVar[str]
    inputs: ClassVar[type[msgspec.Struct]]
    idempotency: ClassVar[Idempotency]

    async def execute(self, ctx: ActionContext, params: Any) -> Mapping[str, Any]:
        """Perform the step's effect and return its output."""
        ...

    async def lookup(self, ctx: ActionContext, params: Any) -> Mapping[str, Any] | None:
        """Return the output of an effect already applied for ``ctx.idempotency_key``."""
        return None

    def idempotency_for(self, params: Any) -> Idempotency:
        """Return the strategy that applies to a step with these parameters."""
        return self.idempotency
