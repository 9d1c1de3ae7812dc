"""The ``UserStore`` port over PostgreSQL, with Piccolo's query builder."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import asyncpg
import msgspec

from govflow.adapters.db.audit import append_audit
from govflow.adapters.db.crud import now, paged, views
from govflow.adapters.db.engine import Database
from govflow.adapters.db.tables import User
from govflow.adapters.db.tokens import revoke_user_sessions
from govflow.usecases.access_errors import FieldConflictError
from govflow.usecases.audit import AuditEntry
from govflow.usecases.errors import InvalidInputError
from govflow.usecases.paging import PageRequest
from govflow.usecases.principal import Role
from govflow.usecases.users import NewUser, UserFilter, UserView

_COLUMNS = (
    User.id,
    User.email,
    User.full_name,
    User.role,
    User.department_id,
    User.is_active,
    User.last_login_at,
    User.created_at,
    User.updated_at,
)
_UPDATABLE = {"role": User.role, "department_id": User.department_id, "full_name": User.full_name}


def _unknown_department() -> InvalidInputError:
    return InvalidInputError([("body.department_id", "no such department")])


def _matching(where: UserFilter) -> list[Any]:
    conditions: list[Any] = []
    if where.role is not None:
        conditions.append(User.role == where.role.value)
    if where.department_id is not None:
        conditions.append(User.department_id == where.department_id)
    if where.is_active is not None:
        conditions.append(User.is_active == where.is_active)
    return conditions


def _stored(value: Any) -> Any:
    return value.value if isinstance(value, Role) else value


class PgUserStore:
    """Users in PostgreSQL."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def search(self, where: UserFilter, page: PageRequest) -> tuple[list[UserView], int]:
        conditions = _matching(where)
        rows, total = await paged(
            self._db,
            User.select(*_COLUMNS).where(*conditions).order_by(User.created_at, User.id),
            User.count().where(*conditions),
            page,
        )
        return views(rows, UserView), total

    async def get(self, user_id: UUID) -> UserView | None:
        rows = await self._db.run(User.select(*_COLUMNS).where(User.id == user_id))
        return views(rows, UserView)[0] if rows else None

    async def create(
        self, user_id: UUID, user: NewUser, password_hash: str, audit: list[AuditEntry]
    ) -> UserView:
        row = User(
            id=user_id,
            email=user.email,
            full_name=user.full_name,
            password_hash=password_hash,
            role=user.role.value,
            department_id=user.department_id,
            created_at=now(),
            updated_at=now(),
        )
        try:
            async with self._db.transaction() as conn:
                rows = await self._db.run(User.insert(row).returning(*_COLUMNS))
                await append_audit(conn, [_with_department(e, user.department_id) for e in audit])
        except asyncpg.UniqueViolationError:
            raise FieldConflictError(
                "A user with this email exists already", "body.email", "already in use"
            ) from None
        except asyncpg.ForeignKeyViolationError:
            raise _unknown_department() from None
        return views(rows, UserView)[0]

    async def update(
        self, user_id: UUID, changes: dict[str, Any], revoke: bool, audit: list[AuditEntry]
    ) -> UserView | None:
        values: dict[Any, Any] = {
            column: _stored(changes[name]) for name, column in _UPDATABLE.items() if name in changes
        }
        values[User.updated_at] = now()
        try:
            async with self._db.transaction() as conn:
                rows = await self._db.run(
                    User.update(values).where(User.id == user_id).returning(*_COLUMNS)
                )
                if not rows:
                    return None
                if revoke:
                    await revoke_user_sessions(self._db, user_id)
                department_id = rows[0]["department_id"]
                await append_audit(conn, [_with_department(e, department_id) for e in audit])
        except asyncpg.ForeignKeyViolationError:
            raise _unknown_department() from None
        return views(rows, UserView)[0]

    async def set_active(
        self, user_id: UUID, active: bool, audit: list[AuditEntry]
    ) -> UserView | None:
        async with self._db.transaction() as conn:
            rows = await self._db.run(
                User.update({User.is_active: active, User.updated_at: now()})
                .where(User.id == user_id)
                .returning(*_COLUMNS)
            )
            if not rows:
                return None
            if not active:
                await revoke_user_sessions(self._db, user_id)
            department_id = rows[0]["department_id"]
            await append_audit(conn, [_with_department(e, department_id) for e in audit])
        return views(rows, UserView)[0]

    async def revoke_sessions(self, user_id: UUID, audit: list[AuditEntry]) -> bool:
        async with self._db.transaction() as conn:
            rows = await self._db.run(
                User.select(User.department_id).where(User.id == user_id).lock_rows()
            )
            if not rows:
                return False
            await revoke_user_sessions(self._db, user_id)
            department_id = rows[0]["department_id"]
            await append_audit(conn, [_with_department(e, department_id) for e in audit])
        return True


def _with_department(entry: AuditEntry, department_id: UUID | None) -> AuditEntry:
    """The entry filed under the user's department, so that department's managers see it."""
    return msgspec.structs.replace(entry, department_id=department_id)
