"""What the host gives the actions it runs: their settings, shared clients and a context per
attempt. One object, shared by the worker's step runner and the sweeper's lookups.

Building a context is on every step's path, so nothing in it is computed before an action
asks: the resume token is drawn the first time it is read, and the logger's step ids become
text only when a line is logged.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass, field
from types import MemberDescriptorType
from typing import Any

import httpx

from govflow.plugins import Action, ActionContext, NoSettings
from govflow.plugins.action import Progress, RecordedEvent
from govflow.plugins.registry import ActionRegistry
from govflow.usecases.long_actions import new_resume_token
from govflow.usecases.ports import ClaimedStep


class StepLogger(logging.LoggerAdapter[logging.Logger]):
    """An action's logger: its lines carry the step's ids, and the caller's ``extra`` fields
    with them (a plain ``LoggerAdapter`` would replace those with its own)."""

    def process(
        self, msg: Any, kwargs: MutableMapping[str, Any]
    ) -> tuple[Any, MutableMapping[str, Any]]:
        kwargs["extra"] = {**(self.extra or {}), **(kwargs.get("extra") or {})}
        return msg, kwargs


class ClaimLogger(StepLogger):
    """A :class:`StepLogger` for one attempt of a claimed step: its ids are made text when the
    first line is logged (most steps log none)."""

    def __init__(self, logger: logging.Logger, claim: ClaimedStep) -> None:
        super().__init__(logger, None)
        self._claim = claim

    def process(
        self, msg: Any, kwargs: MutableMapping[str, Any]
    ) -> tuple[Any, MutableMapping[str, Any]]:
        if self.extra is None:
            claim = self._claim
            self.extra = {
                "execution_id": str(claim.execution_id),
                "step": claim.step_key,
                "step_id": str(claim.step_id),
                "attempt": claim.attempt,
            }
        return super().process(msg, kwargs)


_RESUME_TOKEN: MemberDescriptorType = ActionContext.__dict__["resume_token"]
"""The slot that holds a context's resume token (``ActionContext``'s own attribute)."""


class AttemptContext(ActionContext):
    """The context of one attempt run by a worker: ``resume_token`` is drawn the first time it
    is read (by the action, or by the worker when the action suspends on a signal), then stays
    the same; a step that never suspends draws none."""

    __slots__ = ()

    @property  # type: ignore[override]
    def resume_token(self) -> str:
        token: str | None = _RESUME_TOKEN.__get__(self, ActionContext)
        if token is None:
            token = new_resume_token()
            _RESUME_TOKEN.__set__(self, token)
        return token

    @resume_token.setter
    def resume_token(self, token: str | None) -> None:
        # Only the dataclass's ``__init__`` gets here (it is frozen for everyone else).
        _RESUME_TOKEN.__set__(self, token)


@dataclass
class ActionHost:
    """The installed actions and what each receives in its ``ActionContext``: the host's
    client, and its plugin's typed settings and resources (what its ``govflow_startup``
    returned)."""

    actions: ActionRegistry
    http: httpx.AsyncClient = field(default_factory=httpx.AsyncClient)
    plugin_settings: Callable[[str], Any] = lambda _name: NoSettings()
    resources: Callable[[str], Any] = lambda _name: None
    _per_action: dict[str, tuple[str, Any, logging.Logger]] = field(
        default_factory=dict, repr=False
    )
    """Each action's plugin, that plugin's settings and the action's logger (read once: they
    are fixed once the plugins have started)."""

    def context(
        self,
        claim: ClaimedStep,
        action: Action,
        recorded: list[RecordedEvent] | None = None,
        *,
        heartbeat_sink: Callable[[Progress], Awaitable[None]] | None = None,
        resumable: bool = False,
    ) -> ActionContext:
        """The context of one attempt of ``claim``'s step.

        :param heartbeat_sink: where ``ctx.heartbeat`` reports (the worker renews the lease).
        :param resumable: the attempt may suspend on a signal: ``ctx.resume_token`` is drawn
            when first read (otherwise it is ``None``).
        """
        name = action.name
        known = self._per_action.get(name)
        if known is None:
            owner = self.actions.owner(name)
            known = self._per_action[name] = (
                owner,
                self.plugin_settings(owner),
                logging.getLogger(f"govflow.action.{name}"),
            )
        owner, settings, logger = known
        return (AttemptContext if resumable else ActionContext)(
            execution_id=claim.execution_id,
            step_id=claim.step_id,
            step_key=claim.step_key,
            attempt=claim.attempt,
            idempotency_key=claim.idempotency_key,
            settings=settings,
            logger=ClaimLogger(logger, claim),
            http=self.http,
            resources=self.resources(owner),
            recorded=recorded if recorded is not None else [],
            heartbeat_sink=heartbeat_sink,
        )
