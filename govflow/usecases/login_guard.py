"""The throttling scheme of the credential endpoints, and the aggregated auditing of refusals.

Login (``LOGIN_MAX_ATTEMPTS`` per ``LOGIN_WINDOW_SECONDS`` unless noted):

- **per address**: every attempt from one client address, whatever the account (stops one
  address from trying many accounts);
- **per account from one address**: the attempts on one account from one address; this is the
  per-account protection, and it only ever blocks the address that made the attempts, so a third
  party cannot lock the owner out from the owner's own address;
- **per account, from addresses it has not logged in from recently**: a generous ceiling
  (``LOGIN_ACCOUNT_MAX_ATTEMPTS``) against guessing from many addresses. Addresses the account
  logged in from successfully within the refresh-token lifetime are exempt, so even a
  distributed attack does not lock the owner out of their usual addresses.

Attempts refused by a limit count nowhere; a successful login takes its attempt back from the
address and account counters and clears the account-from-address counter.

Password-reset confirmations are limited per address, password changes per user. A refusal
answers 429 with ``Retry-After``; it is audited once per limit and window (the first refusal),
with the number of refusals of the previous window of the same limit, never once per request.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

import msgspec

from govflow.core.audit_events import AuditEvent
from govflow.usecases.access_errors import RateLimitedError
from govflow.usecases.audit import Actor, AuditEntry
from govflow.usecases.throttling import Attempts, KnownSources, Limit, RefusalTally

LOGIN_ADDRESS = "login-ip"
LOGIN_ACCOUNT_SOURCE = "login-account-ip"
LOGIN_ACCOUNT = "login-account"
RESET_REQUEST_ADDRESS = "reset-ip"
RESET_REQUEST_ACCOUNT = "reset-account"
RESET_CONFIRM_ADDRESS = "reset-confirm-ip"
PASSWORD_CHANGE_USER = "password-change"  # noqa: S105 - a counter name

LIMIT_NAMES = {
    LOGIN_ADDRESS: "address",
    LOGIN_ACCOUNT_SOURCE: "account_from_address",
    LOGIN_ACCOUNT: "account_from_new_addresses",
    RESET_REQUEST_ADDRESS: "address",
    RESET_REQUEST_ACCOUNT: "account",
    RESET_CONFIRM_ADDRESS: "address",
    PASSWORD_CHANGE_USER: "user",
}
"""How each limit is named in audit metadata (``limit``)."""


class AuditAppender(Protocol):
    async def append_audit(self, entries: list[AuditEntry]) -> None: ...


class GuardPolicy(msgspec.Struct, frozen=True, kw_only=True):
    """The numbers of the scheme (settings)."""

    max_attempts: int
    window_seconds: int
    account_max_attempts: int
    known_source_seconds: int


class Refused(msgspec.Struct, frozen=True, kw_only=True):
    """What to audit when a limit refuses: the event name, who and from where."""

    action: AuditEvent
    actor: Actor
    ip: str
    request_id: str | None
    entity_type: str | None = None
    entity_id: str | None = None
    metadata: Mapping[str, Any] = msgspec.field(default_factory=dict)


class LoginAttempt(msgspec.Struct, frozen=True):
    """The limits one allowed login attempt was counted against."""

    account: str
    ip: str
    counted: tuple[Limit, ...]


class Guard:
    """Applies the limits; see the module docstring."""

    def __init__(
        self,
        attempts: Attempts,
        sources: KnownSources,
        tally: RefusalTally,
        audit: AuditAppender,
        policy: GuardPolicy,
    ) -> None:
        self._attempts = attempts
        self._sources = sources
        self._tally = tally
        self._audit = audit
        self._policy = policy

    def _limit(self, kind: str, subject: str, ceiling: int | None = None) -> Limit:
        return Limit(
            kind,
            subject,
            ceiling if ceiling is not None else self._policy.max_attempts,
            self._policy.window_seconds,
        )

    async def check(self, limits: list[Limit], refused: Refused, message: str) -> None:
        """Count the attempt, or raise :class:`RateLimitedError` (audited once per window)."""
        verdict = await self._attempts.attempt(limits)
        if verdict.limit is None:
            return
        tally = await self._tally.refused(verdict.limit)
        if tally.first:
            await self._audit.append_audit(
                [
                    AuditEntry(
                        action=refused.action,
                        actor=refused.actor,
                        entity_type=refused.entity_type,
                        entity_id=refused.entity_id,
                        department_id=refused.actor.department_id,
                        request_id=refused.request_id,
                        reason="too many attempts; later refusals in this window are counted, "
                        "not recorded one by one",
                        metadata={
                            **refused.metadata,
                            "ip": refused.ip,
                            "limit": LIMIT_NAMES.get(verdict.limit.kind, verdict.limit.kind),
                            "window_seconds": verdict.limit.window_seconds,
                            "retry_after": verdict.wait,
                            "refused_in_previous_window": tally.previous,
                        },
                    )
                ]
            )
        raise RateLimitedError(verdict.wait, message)

    async def login(self, account: str, ip: str, request_id: str | None) -> LoginAttempt:
        """Count a login attempt, or raise :class:`RateLimitedError`."""
        limits = [
            self._limit(LOGIN_ADDRESS, ip),
            self._limit(LOGIN_ACCOUNT_SOURCE, f"{account}|{ip}"),
        ]
        if not await self._sources.known(account, ip):
            limits.append(self._limit(LOGIN_ACCOUNT, account, self._policy.account_max_attempts))
        await self.check(
            limits,
            Refused(
                action=AuditEvent.LOGIN_THROTTLED,
                actor=Actor(email=account, name=account),
                ip=ip,
                request_id=request_id,
            ),
            "Too many login attempts; try again later",
        )
        return LoginAttempt(account, ip, tuple(limits))

    async def login_succeeded(self, attempt: LoginAttempt) -> None:
        """The attempt was no failure: take it back, and remember the address as known."""
        source = next(limit for limit in attempt.counted if limit.kind == LOGIN_ACCOUNT_SOURCE)
        await self._attempts.clear(source)
        await self._attempts.refund([limit for limit in attempt.counted if limit is not source])
        await self._sources.remember(attempt.account, attempt.ip, self._policy.known_source_seconds)

    async def reset_request(self, account: str, ip: str) -> bool:
        """Count a reset request; ``False`` when refused (silently: the answer never changes)."""
        verdict = await self._attempts.attempt(
            [self._limit(RESET_REQUEST_ADDRESS, ip), self._limit(RESET_REQUEST_ACCOUNT, account)]
        )
        return not verdict.refused

    async def reset_confirm(self, ip: str, request_id: str | None) -> None:
        await self.check(
            [self._limit(RESET_CONFIRM_ADDRESS, ip)],
            Refused(
                action=AuditEvent.PASSWORD_RESET_THROTTLED,
                actor=Actor(name="anonymous"),
                ip=ip,
                request_id=request_id,
            ),
            "Too many password reset attempts; try again later",
        )

    async def password_change(self, actor: Actor, ip: str, request_id: str | None) -> Limit:
        limit = self._limit(PASSWORD_CHANGE_USER, str(actor.user_id))
        await self.check(
            [limit],
            Refused(
                action=AuditEvent.PASSWORD_CHANGE_THROTTLED,
                actor=actor,
                ip=ip,
                request_id=request_id,
                entity_type="user",
                entity_id=str(actor.user_id),
            ),
            "Too many password change attempts; try again later",
        )
        return limit

    async def password_changed(self, limit: Limit) -> None:
        await self._attempts.clear(limit)
