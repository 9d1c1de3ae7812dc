"""Authentication: login, refresh rotation with reuse detection, logout, password changes.

Access tokens are short JWTs bound to the user's token version; refresh tokens are opaque,
stored hashed, rotated on every use and grouped in families. Presenting a rotated refresh
token again revokes its whole family and every access token of the user.

Logins and password changes are throttled by the :class:`~govflow.usecases.login_guard.Guard`;
members of an inactive department can neither log in nor refresh their tokens.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Protocol
from uuid import UUID, uuid4

import msgspec
import structlog

from govflow.core.audit_events import AuditEvent
from govflow.core.passwords import password_problems
from govflow.core.roles import Role
from govflow.usecases.access_errors import NotAuthenticatedError
from govflow.usecases.audit import Actor, AuditEntry
from govflow.usecases.department_status import DepartmentInactiveError
from govflow.usecases.errors import InvalidInputError
from govflow.usecases.login_guard import Guard
from govflow.usecases.principal import Principal

INVALID_CREDENTIALS = "Invalid email or password"
RESET_TTL = timedelta(minutes=30)

log = structlog.get_logger("govflow.auth")


class AuthUser(msgspec.Struct, frozen=True, kw_only=True):
    id: UUID
    email: str
    full_name: str
    role: Role
    department_id: UUID | None
    is_active: bool
    token_version: int
    password_hash: str
    department_active: bool = True
    """``False`` when the user's department is deactivated."""


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


class DepartmentBlocked(msgspec.Struct, frozen=True):
    """A valid refresh token of a member of an inactive department: nothing was rotated."""

    user_id: UUID


RotateOutcome = Rotated | Reused | DepartmentBlocked | None
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

    async def reset_token_usable(self, token_hash: str) -> bool:
        """Whether a reset token would be accepted now (unused, unexpired, active user)."""
        ...

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


def check_policy(field: str, password: str) -> None:
    """Raise :class:`InvalidInputError` on ``field`` when ``password`` breaks the policy."""
    problems = password_problems(password)
    if problems:
        raise InvalidInputError([(field, "password " + "; ".join(problems))])


class Auth:
    """The authentication use cases.

    ``hasher`` is the login lane (verification and rehashing at login); ``background_hasher``
    serves password changes, so that they never take hashing capacity from logins.
    """

    def __init__(
        self,
        store: AuthStore,
        hasher: Hasher,
        issuer: Issuer,
        guard: Guard,
        opaque: Opaque,
        *,
        background_hasher: Hasher,
        refresh_ttl_seconds: int,
    ) -> None:
        self._store = store
        self._hasher = hasher
        self._background_hasher = background_hasher
        self._issuer = issuer
        self._guard = guard
        self._opaque = opaque
        self._refresh_ttl = refresh_ttl_seconds

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
        """Tokens for valid credentials; the same error for unknown, wrong and disabled.

        :raises RateLimitedError: a limit of the guard is reached (nothing is verified).
        :raises DepartmentInactiveError: right credentials, inactive department.
        """
        account = email.strip().lower()
        attempt = await self._guard.login(account, client.ip, client.request_id)
        user = await self._store.user_by_email(account)
        ok = await self._hasher.verify(user.password_hash if user else None, password)
        if user is None or not ok or not user.is_active:
            reason = "unknown_user" if user is None else ("bad_password" if not ok else "disabled")
            await self._login_failed(account, user, reason, client)
            raise NotAuthenticatedError(INVALID_CREDENTIALS)
        if not user.department_active:
            await self._login_failed(account, user, "department_inactive", client)
            raise DepartmentInactiveError()
        new_hash = (
            await self._hasher.hash(password)
            if self._hasher.needs_rehash(user.password_hash)
            else None
        )
        refresh, stored = self._refresh(uuid4(), client)
        audit = AuditEntry(
            action=AuditEvent.LOGIN_SUCCESS,
            actor=user_actor(user),
            entity_type="user",
            entity_id=str(user.id),
            department_id=user.department_id,
            request_id=client.request_id,
            metadata={"ip": client.ip, "rehashed": new_hash is not None},
        )
        await self._store.record_login(user.id, new_hash, stored, [audit])
        await self._guard.login_succeeded(attempt)
        return self._pair(user, refresh)

    async def _login_failed(
        self, account: str, user: AuthUser | None, reason: str, client: ClientInfo
    ) -> None:
        await self._store.append_audit(
            [
                AuditEntry(
                    action=AuditEvent.LOGIN_FAILED,
                    actor=Actor(email=account, name=account),
                    entity_type="user" if user else None,
                    entity_id=str(user.id) if user else None,
                    department_id=user.department_id if user else None,
                    request_id=client.request_id,
                    metadata={"reason": reason, "ip": client.ip},
                )
            ]
        )

    async def refresh(self, refresh_token: str, client: ClientInfo) -> TokenPair:
        """Rotate a refresh token; a rotated one presented again revokes its family.

        :raises DepartmentInactiveError: the user's department is inactive (nothing rotated).
        """
        new_token, stored = self._refresh(uuid4(), client)

        def on_reuse(user_id: UUID, family_id: UUID) -> list[AuditEntry]:
            return [
                AuditEntry(
                    action=AuditEvent.REFRESH_TOKEN_REUSE_DETECTED,
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
        if isinstance(outcome, DepartmentBlocked):
            raise DepartmentInactiveError()
        if isinstance(outcome, Reused):
            log.warning("refresh_token_reuse", user_id=str(outcome.user_id))
        raise NotAuthenticatedError("Invalid or expired refresh token")

    async def logout(self, principal: Principal) -> None:
        """End every session of the caller: access and refresh tokens alike."""
        await self._store.revoke_sessions(
            principal.user_id, [_entry(principal, AuditEvent.LOGOUT, principal.user_id)]
        )

    async def change_password(
        self, principal: Principal, current: str, new_password: str, client: ClientInfo
    ) -> TokenPair:
        """Change the caller's own password; other sessions end, this one gets new tokens.

        Throttled per user; a wrong current password is audited ``PASSWORD_CHANGE_FAILED``.
        """
        limit = await self._guard.password_change(principal.actor(), client.ip, client.request_id)
        user = await self._store.user_by_id(principal.user_id)
        if user is None or not user.is_active:
            raise NotAuthenticatedError("Authentication required")
        check_policy("body.new_password", new_password)
        if current == new_password:
            raise InvalidInputError(
                [("body.new_password", "must differ from the current password")]
            )
        if not await self._background_hasher.verify(user.password_hash, current):
            await self._store.append_audit(
                [
                    AuditEntry(
                        action=AuditEvent.PASSWORD_CHANGE_FAILED,
                        actor=principal.actor(),
                        entity_type="user",
                        entity_id=str(user.id),
                        department_id=principal.department_id,
                        request_id=client.request_id,
                        reason="the current password is incorrect",
                        metadata={"ip": client.ip},
                    )
                ]
            )
            raise InvalidInputError(
                [("body.current_password", "the current password is incorrect")]
            )
        new_hash = await self._background_hasher.hash(new_password)
        refresh, stored = self._refresh(uuid4(), client)
        version = await self._store.set_password(
            user.id, new_hash, stored, [_entry(principal, AuditEvent.PASSWORD_CHANGED, user.id)]
        )
        await self._guard.password_changed(limit)
        return self._pair(user, refresh, version)

    async def me(self, principal: Principal) -> AuthUser:
        user = await self._store.user_by_id(principal.user_id)
        if user is None:
            raise NotAuthenticatedError("Authentication required")
        return user


def user_actor(user: AuthUser) -> Actor:
    """The user as an audit actor."""
    return Actor(
        user_id=user.id,
        email=user.email,
        role=user.role,
        department_id=user.department_id,
        name=user.email,
    )


def _entry(principal: Principal, action: AuditEvent, user_id: UUID) -> AuditEntry:
    return AuditEntry(
        action=action,
        actor=principal.actor(),
        entity_type="user",
        entity_id=str(user_id),
        department_id=principal.department_id,
        request_id=principal.request_id,
    )
