"""Delivering password-reset tokens through the ``notification`` action's email channel."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from typing import Any

import httpx

from govflow.core.validation import convert_action_inputs
from govflow.plugins import ActionContext, ActionError
from govflow.plugins.registry import ActionRegistry

log = logging.getLogger("govflow.auth")

RESET_SUBJECT = "Your GovFlow password reset"


class NotificationResetDelivery:
    """Sends the reset token by email with the installed ``notification`` action.

    When the channel cannot deliver (no SMTP settings, the server refuses), the failure is
    logged without the token and the caller's answer stays the same: the request endpoint never
    tells whether an account exists.
    """

    def __init__(
        self,
        actions: ActionRegistry,
        plugin_settings: Callable[[str], Any],
        http: httpx.AsyncClient | None,
        *,
        ttl_minutes: int,
        resources: Callable[[str], Any] = lambda _plugin: None,
    ) -> None:
        self._actions = actions
        self._settings = plugin_settings
        self._http = http or httpx.AsyncClient()
        self._resources = resources
        self._ttl_minutes = ttl_minutes

    async def deliver(self, email: str, token: str) -> bool:
        """Send ``token`` to ``email``; ``False`` when it could not be delivered."""
        action = self._actions.get("notification")
        if action is None:
            log.warning("password reset not delivered: no notification action is installed")
            return False
        key = f"password-reset:{uuid.uuid4()}"
        message = (
            f"A password reset was requested for your GovFlow account.\n\n"
            f"Reset token: {token}\n\n"
            f"It works once and expires in {self._ttl_minutes} minutes. If you did not ask for "
            f"it, ignore this message."
        )
        try:
            params = convert_action_inputs(
                action.inputs,
                {"channel": "email", "to": [email], "subject": RESET_SUBJECT, "message": message},
            )
            await action.execute(
                ActionContext(
                    execution_id=uuid.UUID(int=0),
                    step_id=uuid.UUID(int=0),
                    step_key="password_reset",
                    attempt=1,
                    idempotency_key=key,
                    settings=self._settings(self._actions.owner(action.name)),
                    http=self._http,
                    resources=self._resources(self._actions.owner(action.name)),
                ),
                params,
            )
        except (ActionError, ValueError) as exc:
            log.warning("password reset not delivered: %s", exc)
            return False
        return True
