"""Password reset: request a single-use token by email, then confirm it with a new password.

A request is answered before any of its work is done: the HTTP edge answers 202 and then runs
:meth:`PasswordReset.request` after the response is sent, the same way for every address, so
neither the answer nor its timing says whether an account exists. A confirmation is throttled
per client address and checks the token before hashing anything: a bogus token costs one
indexed lookup, never an argon2 computation, and the hashing of a real one runs on the
background lane, never on the login lane.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Protocol
from uuid import UUID

import structlog

from govflow.core.audit_events import AuditEvent
from govflow.usecases.audit import AuditEntry
from govflow.usecases.auth import (
    RESET_TTL,
    AuthStore,
    ClientInfo,
    Hasher,
    Opaque,
    check_policy,
    user_actor,
)
from govflow.usecases.errors import InvalidInputError
from govflow.usecases.login_guard import Guard

log = structlog.get_logger("govflow.auth")

BAD_TOKEN = "invalid, used or expired reset token"  # noqa: S105 - a message


class ResetDelivery(Protocol):
    """Sends a password-reset token to its account's owner (the notification channel)."""

    async def deliver(self, email: str, token: str) -> bool: ...


class PasswordReset:
    """The password-reset use cases."""

    def __init__(
        self,
        store: AuthStore,
        hasher: Hasher,
        opaque: Opaque,
        guard: Guard,
        *,
        log_reset_tokens: bool,
        delivery: ResetDelivery | None = None,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._store = store
        self._hasher = hasher
        self._opaque = opaque
        self._guard = guard
        self._log_reset_tokens = log_reset_tokens
        self._delivery = delivery
        self._now = now

    async def request(self, email: str, client: ClientInfo) -> None:
        """Issue and send a single-use token when the account exists and is active.

        Runs after the answer was sent; it never raises (a failure is logged without the token).
        """
        try:
            await self._issue(email.strip().lower(), client)
        except Exception:
            log.exception("password_reset_request_failed", request_id=client.request_id)

    async def _issue(self, account: str, client: ClientInfo) -> None:
        if not await self._guard.reset_request(account, client.ip):
            return
        user = await self._store.user_by_email(account)
        if user is None or not user.is_active:
            return
        token = self._opaque.new()
        audit = AuditEntry(
            action=AuditEvent.PASSWORD_RESET_REQUESTED,
            actor=user_actor(user),
            entity_type="user",
            entity_id=str(user.id),
            department_id=user.department_id,
            request_id=client.request_id,
            metadata={"ip": client.ip},
        )
        await self._store.create_reset_token(
            user.id, self._opaque.digest(token), self._now() + RESET_TTL, [audit]
        )
        if self._log_reset_tokens:
            log.info(
                "password_reset_token_issued", user_id=str(user.id), password_reset_token=token
            )
        if self._delivery is not None:
            await self._delivery.deliver(user.email, token)

    async def confirm(self, token: str, new_password: str, client: ClientInfo) -> None:
        """Set a new password with a reset token; the token works once, before it expires.

        :raises RateLimitedError: too many confirmations from this address.
        :raises InvalidInputError: ``body.new_password`` breaks the policy, or ``body.token``
            is invalid, used or expired (checked before any hashing).
        """
        await self._guard.reset_confirm(client.ip, client.request_id)
        check_policy("body.new_password", new_password)
        digest = self._opaque.digest(token)
        if not await self._store.reset_token_usable(digest):
            raise InvalidInputError([("body.token", BAD_TOKEN)])
        new_hash = await self._hasher.hash(new_password)

        def audit(user_id: UUID) -> list[AuditEntry]:
            return [
                AuditEntry(
                    action=AuditEvent.PASSWORD_RESET_COMPLETED,
                    entity_type="user",
                    entity_id=str(user_id),
                    request_id=client.request_id,
                    metadata={"ip": client.ip},
                )
            ]

        if await self._store.consume_reset_token(digest, new_hash, audit) is None:
            raise InvalidInputError([("body.token", BAD_TOKEN)])
