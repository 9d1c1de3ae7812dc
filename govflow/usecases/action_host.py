"""What the host gives the actions it runs: their settings, shared clients and a context per
attempt. One object, shared by the worker's step runner and the sweeper's lookups."""

from __future__ import annotations

import logging
from collections.abc import Callable, MutableMapping
from dataclasses import dataclass, field
from typing import Any

import httpx

from govflow.plugins import Action, ActionContext, NoSettings
from govflow.plugins.action import RecordedEvent
from govflow.plugins.registry import ActionRegistry
from govflow.usecases.ports import ClaimedStep


class StepLogger(logging.LoggerAdapter[logging.Logger]):
    """An action's logger: its lines carry the step's ids, and the caller's ``extra`` fields
    with them (a plain ``LoggerAdapter`` would replace those with its own)."""

    def process(
        self, msg: Any, kwargs: MutableMapping[str, Any]
    ) -> tuple[Any, MutableMapping[str, Any]]:
        kwargs["extra"] = {**(self.extra or {}), **(kwargs.get("extra") or {})}
        return msg, kwargs


@dataclass
class ActionHost:
    """The installed actions and what each receives in its ``ActionContext``: the host's
    client, and its plugin's typed settings and resources (what its ``govflow_startup``
    returned)."""

    actions: ActionRegistry
    http: httpx.AsyncClient = field(default_factory=httpx.AsyncClient)
    plugin_settings: Callable[[str], Any] = lambda _name: NoSettings()
    resources: Callable[[str], Any] = lambda _name: None

    def context(
        self, claim: ClaimedStep, action: Action, recorded: list[RecordedEvent] | None = None
    ) -> ActionContext:
        """The context of one attempt of ``claim``'s step."""
        owner = self.actions.owner(action.name)
        return ActionContext(
            execution_id=claim.execution_id,
            step_id=claim.step_id,
            step_key=claim.step_key,
            attempt=claim.attempt,
            idempotency_key=claim.idempotency_key,
            settings=self.plugin_settings(owner),
            logger=StepLogger(
                logging.getLogger(f"govflow.action.{action.name}"),
                {
                    "execution_id": str(claim.execution_id),
                    "step": claim.step_key,
                    "step_id": str(claim.step_id),
                    "attempt": claim.attempt,
                },
            ),
            http=self.http,
            resources=self.resources(owner),
            recorded=recorded if recorded is not None else [],
        )
