"""User administration (ADMIN): list, read, create, change, disable, enable, revoke sessions.

A change of role or department, and disabling, end the user's sessions: their token version is
incremented and their refresh tokens revoked.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol
from uuid import UUID, uuid4

import msgspec

from govflow.core.audit_events import AuditEvent
from govflow.core.passwords import password_problems
from govflow.core.roles import Role
from govflow.usecases.audit import AuditEntry
from govflow.usecases.auth import Hasher
from govflow.usecases.errors import ConflictError, InvalidInputError, NotFoundError
from govflow.usecases.paging import Page, PageRequest
from govflow.usecases.principal import Principal


class UserView(msgspec.Struct, frozen=True, kw_only=True):
    id: UUID
    email: str
    full_name: str
    role: Role
    department_id: UUID | None
    is_active: bool
    last_login_at: datetime | None
    created_at: datetime
    updated_at: datetime


class UserFilter(msgspec.Struct, frozen=True, kw_only=True):
    role: Role | None = None
    department_id: UUID | None = None
    is_active: bool | None = None


class NewUser(msgspec.Struct, frozen=True, kw_only=True):
    email: str
    full_name: str
    password: str
    role: Role
    department_id: UUID | None = None


class UserChanges(msgspec.Struct, frozen=True, kw_only=True):
    """Only the fields that are set change; ``department_id`` may be set to ``None``."""

    role: Role | msgspec.UnsetType = msgspec.UNSET
    department_id: UUID | msgspec.UnsetType | None = msgspec.UNSET
    full_name: str | msgspec.UnsetType = msgspec.UNSET

    def as_dict(self) -> dict[str, Any]:
        return {
            name: getattr(self, name)
            for name in self.__struct_fields__
            if getattr(self, name) is not msgspec.UNSET
        }


class UserStore(Protocol):
    """Users in storage; writes run in one transaction with their audit entries."""

    async def search(self, where: UserFilter, page: PageRequest) -> tuple[list[UserView], int]: ...

    async def get(self, user_id: UUID) -> UserView | None: ...

    async def create(
        self, user_id: UUID, user: NewUser, password_hash: str, audit: list[AuditEntry]
    ) -> UserView: ...

    async def update(
        self, user_id: UUID, changes: dict[str, Any], revoke: bool, audit: list[AuditEntry]
    ) -> UserView | None: ...

    async def set_active(
        self, user_id: UUID, active: bool, audit: list[AuditEntry]
    ) -> UserView | None: ...

    async def revoke_sessions(self, user_id: UUID, audit: list[AuditEntry]) -> bool: ...


def _entry(
    principal: Principal, action: AuditEvent, user_id: UUID, metadata: dict[str, Any] | None = None
) -> AuditEntry:
    return AuditEntry(
        action=action,
        actor=principal.actor(),
        entity_type="user",
        entity_id=str(user_id),
        request_id=principal.request_id,
        metadata=metadata or {},
    )


class Users:
    """The user administration use cases."""

    def __init__(self, store: UserStore, hasher: Hasher) -> None:
        self._store = store
        self._hasher = hasher

    async def search(self, where: UserFilter, page: PageRequest) -> Page[UserView]:
        items, total = await self._store.search(where, page)
        return Page(items, total, page)

    async def get(self, user_id: UUID) -> UserView:
        user = await self._store.get(user_id)
        if user is None:
            raise NotFoundError("User not found")
        return user

    async def create(self, principal: Principal, user: NewUser) -> UserView:
        problems = password_problems(user.password)
        if problems:
            raise InvalidInputError([("body.password", "password " + "; ".join(problems))])
        user = msgspec.structs.replace(user, email=user.email.strip().lower())
        user_id = uuid4()
        audit = _entry(
            principal,
            AuditEvent.USER_CREATED,
            user_id,
            {
                "email": user.email,
                "role": user.role.value,
                "department_id": _text(user.department_id),
            },
        )
        password_hash = await self._hasher.hash(user.password)
        return await self._store.create(user_id, user, password_hash, [audit])

    async def update(self, principal: Principal, user_id: UUID, changes: UserChanges) -> UserView:
        values = changes.as_dict()
        if not values:
            raise InvalidInputError([("body", "name at least one field to change")])
        if user_id == principal.user_id and values.get("role", Role.ADMIN) is not Role.ADMIN:
            raise ConflictError("You cannot remove your own ADMIN role")
        revoke = "role" in values or "department_id" in values
        metadata = {key: _text(value) for key, value in values.items()}
        audit = _entry(principal, AuditEvent.USER_UPDATED, user_id, {"changes": metadata})
        updated = await self._store.update(user_id, values, revoke, [audit])
        if updated is None:
            raise NotFoundError("User not found")
        return updated

    async def set_active(self, principal: Principal, user_id: UUID, active: bool) -> UserView:
        if user_id == principal.user_id and not active:
            raise ConflictError("You cannot disable your own account")
        action = AuditEvent.USER_ENABLED if active else AuditEvent.USER_DISABLED
        updated = await self._store.set_active(
            user_id, active, [_entry(principal, action, user_id)]
        )
        if updated is None:
            raise NotFoundError("User not found")
        return updated

    async def revoke_sessions(self, principal: Principal, user_id: UUID) -> None:
        audit = [_entry(principal, AuditEvent.USER_SESSIONS_REVOKED, user_id)]
        if not await self._store.revoke_sessions(user_id, audit):
            raise NotFoundError("User not found")


def _text(value: object) -> object:
    return str(value) if isinstance(value, UUID) else value
