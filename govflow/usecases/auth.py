"""Authentication: login, refresh rotation with reuse detection, logout, password changes.

Access tokens are short JWTs bound to the user's token version; refresh tokens are opaque,
stored hashed, rotated on every use and grouped in families. Presenting a rotated refresh
token again revokes its whole family and every access token of the user.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Protocol
from uuid import UUID, uuid4

import msgspec
import structlog

from govflow.core.passwords import password_problems
from govflow.usecases.access_errors import NotAuthenticatedError, RateLimitedError
from govflow.usecases.audit import Actor, AuditEntry
from govflow.usecases.errors import InvalidInputError
from govflow.usecases.principal import Principal

INVALID_CREDENTIALS = "Invalid email or password"
RESET_TTL = timedelta(minutes=30)

log = structlog.get_logger("govflow.auth")


class AuthUser(msgspec.Struct, frozen=True, kw_only=True):
    id: UUID
    email: str
    full_name: str
    role: str
    department_id: UUID | None
    is_active: bool
    token_version: int
    password_hash: str


class NewRefreshToken(msgspec.Struct, frozen=True, kw_only=True):
    token_hash: str
    family_id: UUID
    expires_at: datetime
    client_ip: str | None
    user_agent: str | None


class Rotated(msgspec.Struct, frozen=True):
    user: AuthUser


class Reused(msgspec.Struct, frozen=True):
    user_id: UUID
    family_id: UUID


RotateOutcome = Rotated | Reused | None
ReuseAudit = Callable[[UUID, UUID], list[AuditEntry]]


class AuthStore(Protocol):
    """Users, refresh tokens and reset tokens; every method is one transaction."""

    async def user_by_email(self, email: str) -> AuthUser | None: ...

    async def user_by_id(self, user_id: UUID) -> AuthUser | None: ...

    async def record_login(
        self, user_id: UUID, new_hash: str | None, refresh: NewRefreshToken, audit: list[AuditEntry]
    ) -> None: ...

    async def append_audit(self, entries: list[AuditEntry]) -> None: ...

    async def rotate_refresh(
        self, token_hash: str, new: NewRefreshToken, on_reuse: ReuseAudit
    ) -> RotateOutcome: ...

    async def revoke_sessions(self, user_id: UUID, audit: list[AuditEntry]) -> None: ...

    async def create_reset_token(
        self, user_id: UUID, token_hash: str, expires_at: datetime, audit: list[AuditEntry]
    ) -> None: ...

    async def consume_reset_token(
        self, token_hash: str, new_hash: str, audit: Callable[[UUID], list[AuditEntry]]
    ) -> UUID | None: ...

    async def set_password(
        self, user_id: UUID, new_hash: str, refresh: NewRefreshToken, audit: list[AuditEntry]
    ) -> int: ...


class Hasher(Protocol):
    async def hash(self, password: str) -> str: ...

    async def verify(self, stored_hash: str | None, password: str) -> bool: ...

    def needs_rehash(self, stored_hash: str) -> bool: ...


class Issuer(Protocol):
    ttl_seconds: int

    def issue(
        self, user_id: UUID, *, role: str, department_id: UUID | None, token_version: int
    ) -> str: ...


class Attempts(Protocol):
    async def hit(self, subjects: dict[str, str]) -> int: ...

    async def reset(self, kind: str, subject: str) -> None: ...


class Opaque(Protocol):
    def new(self) -> str: ...

    def digest(self, token: str) -> str: ...


class ClientInfo(msgspec.Struct, frozen=True, kw_only=True):
    ip: str
    user_agent: str | None = None
    request_id: str | None = None


class TokenPair(msgspec.Struct, frozen=True, kw_only=True):
    access_token: str
    refresh_token: str
    expires_in: int
    refresh_expires_in: int
    user: AuthUser
    token_type: str = "Bearer"  # noqa: S105 - the OAuth token type, not a secret


def _policy(field: str, password: str) -> None:
    problems = password_problems(password)
    if problems:
        raise InvalidInputError([(field, "password " + "; ".join(problems))])


class ResetDelivery(Protocol):
    """Sends a password-reset token to its account's owner (the notification channel)."""

    async def deliver(self, email: str, token: str) -> bool: ...


class Auth:
    """The authentication use cases."""

    def __init__(
        self,
        store: AuthStore,
        hasher: Hasher,
        issuer: Issuer,
        throttle: Attempts,
        opaque: Opaque,
        *,
        refresh_ttl_seconds: int,
        log_reset_tokens: bool,
        reset_delivery: ResetDelivery | None = None,
    ) -> None:
        self._store = store
        self._hasher = hasher
        self._issuer = issuer
        self._throttle = throttle
        self._opaque = opaque
        self._refresh_ttl = refresh_ttl_seconds
        self._log_reset_tokens = log_reset_tokens
        self._reset_delivery = reset_delivery

    def _refresh(self, family_id: UUID, client: ClientInfo) -> tuple[str, NewRefreshToken]:
        token = self._opaque.new()
        return token, NewRefreshToken(
            token_hash=self._opaque.digest(token),
            family_id=family_id,
            expires_at=datetime.now(UTC) + timedelta(seconds=self._refresh_ttl),
            client_ip=client.ip[:64],
            user_agent=(client.user_agent or "")[:512] or None,
        )

    def _pair(self, user: AuthUser, refresh: str, token_version: int | None = None) -> TokenPair:
        access = self._issuer.issue(
            user.id,
            role=user.role,
            department_id=user.department_id,
            token_version=user.token_version if token_version is None else token_version,
        )
        return TokenPair(
            access_token=access,
            refresh_token=refresh,
            expires_in=self._issuer.ttl_seconds,
            refresh_expires_in=self._refresh_ttl,
            user=user,
        )

    async def login(self, email: str, password: str, client: ClientInfo) -> TokenPair:
        """Tokens for valid credentials; the same error for unknown, wrong and disabled."""
        account = email.strip().lower()
        wait = await self._throttle.hit({"login-ip": client.ip, "login-account": account})
        if wait:
            await self._store.append_audit(
                [
                    AuditEntry(
                        action="LOGIN_THROTTLED",
                        actor=Actor(email=account, name=account),
                        request_id=client.request_id,
                        metadata={"ip": client.ip},
                    )
                ]
            )
            raise RateLimitedError(wait, "Too many login attempts; try again later")
        user = await self._store.user_by_email(account)
        ok = await self._hasher.verify(user.password_hash if user else None, password)
        if user is None or not ok or not user.is_active:
            reason = "unknown_user" if user is None else ("bad_password" if not ok else "disabled")
            await self._store.append_audit(
                [
                    AuditEntry(
                        action="LOGIN_FAILED",
                        actor=Actor(email=account, name=account),
                        entity_type="user" if user else None,
                        entity_id=str(user.id) if user else None,
                        department_id=user.department_id if user else None,
                        request_id=client.request_id,
                        metadata={"reason": reason, "ip": client.ip},
                    )
                ]
            )
            raise NotAuthenticatedError(INVALID_CREDENTIALS)
        new_hash = (
            await self._hasher.hash(password)
            if self._hasher.needs_rehash(user.password_hash)
            else None
        )
        refresh, stored = self._refresh(uuid4(), client)
        audit = AuditEntry(
            action="LOGIN_SUCCESS",
            actor=_actor(user),
            entity_type="user",
            entity_id=str(user.id),
            department_id=user.department_id,
            request_id=client.request_id,
            metadata={"ip": client.ip, "rehashed": new_hash is not None},
        )
        await self._store.record_login(user.id, new_hash, stored, [audit])
        await self._throttle.reset("login-account", account)
        return self._pair(user, refresh)

    async def refresh(self, refresh_token: str, client: ClientInfo) -> TokenPair:
        """Rotate a refresh token; a rotated one presented again revokes its family."""
        new_token, stored = self._refresh(uuid4(), client)

        def on_reuse(user_id: UUID, family_id: UUID) -> list[AuditEntry]:
            return [
                AuditEntry(
                    action="REFRESH_TOKEN_REUSE_DETECTED",
                    entity_type="user",
                    entity_id=str(user_id),
                    request_id=client.request_id,
                    reason="a rotated refresh token was presented again; its family is revoked",
                    metadata={"family_id": str(family_id), "ip": client.ip},
                )
            ]

        outcome = await self._store.rotate_refresh(
            self._opaque.digest(refresh_token), stored, on_reuse
        )
        if isinstance(outcome, Rotated):
            return self._pair(outcome.user, new_token)
        if isinstance(outcome, Reused):
            log.warning("refresh_token_reuse", user_id=str(outcome.user_id))
        raise NotAuthenticatedError("Invalid or expired refresh token")

    async def logout(self, principal: Principal) -> None:
        """End every session of the caller: access and refresh tokens alike."""
        await self._store.revoke_sessions(
            principal.user_id, [_entry(principal, "LOGOUT", principal.user_id)]
        )

    async def request_reset(self, email: str, client: ClientInfo) -> None:
        """Issue a single-use reset token when the account exists; answer the same either way."""
        account = email.strip().lower()
        if await self._throttle.hit({"reset-ip": client.ip, "reset-account": account}):
            return
        user = await self._store.user_by_email(account)
        if user is None or not user.is_active:
            return
        token = self._opaque.new()
        audit = AuditEntry(
            action="PASSWORD_RESET_REQUESTED",
            actor=_actor(user),
            entity_type="user",
            entity_id=str(user.id),
            department_id=user.department_id,
            request_id=client.request_id,
            metadata={"ip": client.ip},
        )
        await self._store.create_reset_token(
            user.id, self._opaque.digest(token), datetime.now(UTC) + RESET_TTL, [audit]
        )
        if self._reset_delivery is not None:
            await self._reset_delivery.deliver(user.email, token)
        if self._log_reset_tokens:
            log.info(
                "password_reset_token_issued", user_id=str(user.id), password_reset_token=token
            )

    async def confirm_reset(self, token: str, new_password: str, client: ClientInfo) -> None:
        """Set a new password with a reset token; the token works once, before it expires."""
        _policy("body.new_password", new_password)
        new_hash = await self._hasher.hash(new_password)

        def audit(user_id: UUID) -> list[AuditEntry]:
            return [
                AuditEntry(
                    action="PASSWORD_RESET_COMPLETED",
                    entity_type="user",
                    entity_id=str(user_id),
                    request_id=client.request_id,
                    metadata={"ip": client.ip},
                )
            ]

        if (
            await self._store.consume_reset_token(self._opaque.digest(token), new_hash, audit)
            is None
        ):
            raise InvalidInputError([("body.token", "invalid, used or expired reset token")])

    async def change_password(
        self, principal: Principal, current: str, new_password: str, client: ClientInfo
    ) -> TokenPair:
        """Change the caller's own password; other sessions end, this one gets new tokens."""
        user = await self._store.user_by_id(principal.user_id)
        if user is None or not user.is_active:
            raise NotAuthenticatedError("Authentication required")
        if not await self._hasher.verify(user.password_hash, current):
            raise InvalidInputError(
                [("body.current_password", "the current password is incorrect")]
            )
        _policy("body.new_password", new_password)
        if current == new_password:
            raise InvalidInputError(
                [("body.new_password", "must differ from the current password")]
            )
        new_hash = await self._hasher.hash(new_password)
        refresh, stored = self._refresh(uuid4(), client)
        version = await self._store.set_password(
            user.id, new_hash, stored, [_entry(principal, "PASSWORD_CHANGED", user.id)]
        )
        return self._pair(user, refresh, version)

    async def me(self, principal: Principal) -> AuthUser:
        user = await self._store.user_by_id(principal.user_id)
        if user is None:
            raise NotAuthenticatedError("Authentication required")
        return user


def _actor(user: AuthUser) -> Actor:
    return Actor(
        user_id=user.id,
        email=user.email,
        role=user.role,
        department_id=user.department_id,
        name=user.email,
    )


def _entry(principal: Principal, action: str, user_id: UUID) -> AuditEntry:
    return AuditEntry(
        action=action,
        actor=principal.actor(),
        entity_type="user",
        entity_id=str(user_id),
        department_id=principal.department_id,
        request_id=principal.request_id,
    )
