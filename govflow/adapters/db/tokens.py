"""The ``AuthStore`` port: users as authentication sees them, refresh and reset tokens.

Every method runs in one transaction together with its audit entries. Revoking sessions means
incrementing ``users.token_version`` (every access token dies) and marking the user's refresh
tokens revoked. Statements are built with Piccolo's query builder; times come from the database's
clock (``now()``).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any
from uuid import UUID

from piccolo.query.functions import Lower
from piccolo.querystring import QueryString

from govflow.adapters.db.audit import append_audit
from govflow.adapters.db.crud import now
from govflow.adapters.db.engine import Database
from govflow.adapters.db.tables import PasswordResetToken, RefreshToken, User
from govflow.core.roles import Role
from govflow.usecases.audit import AuditEntry
from govflow.usecases.auth import (
    AuthUser,
    DepartmentBlocked,
    NewRefreshToken,
    ReuseAudit,
    Rotated,
    RotateOutcome,
)
from govflow.usecases.auth import Reused as ReusedOutcome

_AUTH_USER = (
    User.id,
    User.email,
    User.full_name,
    User.role,
    User.department_id,
    User.is_active,
    User.token_version,
    User.password_hash,
    User.department_id.is_active.as_alias("department_active"),
)


def _user(row: dict[str, Any]) -> AuthUser:
    return AuthUser(
        id=row["id"],
        email=row["email"],
        full_name=row["full_name"],
        role=Role(row["role"]),
        department_id=row["department_id"],
        is_active=row["is_active"],
        token_version=row["token_version"],
        password_hash=row["password_hash"],
        # A user without a department is blocked by no department.
        department_active=row["department_active"] is not False,
    )


def _active_users() -> Any:
    return User.select(User.id).where(User.is_active.eq(True))


async def _auth_user(db: Database, *where: Any) -> AuthUser | None:
    rows = await db.run(User.select(*_AUTH_USER).where(*where))
    return _user(rows[0]) if rows else None


async def revoke_user_sessions(db: Database, user_id: UUID) -> int:
    """Bump the token version and revoke the refresh tokens; the new token version.

    Runs in the caller's :meth:`Database.transaction`.
    """
    rows = await db.run(
        User.update({User.token_version: User.token_version + 1, User.updated_at: now()})
        .where(User.id == user_id)
        .returning(User.token_version)
    )
    await db.run(
        RefreshToken.update({RefreshToken.revoked_at: now()}).where(
            RefreshToken.user_id == user_id, RefreshToken.revoked_at.is_null()
        )
    )
    return int(rows[0]["token_version"]) if rows else 0


async def _insert_refresh(db: Database, user_id: UUID, new: NewRefreshToken) -> None:
    await db.run(
        RefreshToken.insert(
            RefreshToken(
                user_id=user_id,
                family_id=new.family_id,
                token_hash=new.token_hash,
                created_at=now(),
                expires_at=new.expires_at,
                client_ip=new.client_ip,
                user_agent=new.user_agent,
            )
        )
    )


class PgAuthStore:
    """Authentication data in PostgreSQL."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def user_by_email(self, email: str) -> AuthUser | None:
        return await _auth_user(self._db, Lower(User.email) == Lower(email))

    async def user_by_id(self, user_id: UUID) -> AuthUser | None:
        return await _auth_user(self._db, User.id == user_id)

    async def append_audit(self, entries: list[AuditEntry]) -> None:
        async with self._db.transaction() as conn:
            await append_audit(conn, entries)

    async def record_login(
        self, user_id: UUID, new_hash: str | None, refresh: NewRefreshToken, audit: list[AuditEntry]
    ) -> None:
        values: dict[Any, Any] = {User.last_login_at: now()}
        if new_hash is not None:
            values[User.password_hash] = new_hash
        async with self._db.transaction() as conn:
            await self._db.run(User.update(values).where(User.id == user_id))
            await _insert_refresh(self._db, user_id, refresh)
            await append_audit(conn, audit)

    async def rotate_refresh(
        self, token_hash: str, new: NewRefreshToken, on_reuse: ReuseAudit
    ) -> RotateOutcome:
        db = self._db
        async with db.transaction() as conn:
            rows = await db.run(
                RefreshToken.select(
                    RefreshToken.id,
                    RefreshToken.user_id,
                    RefreshToken.family_id,
                    RefreshToken.expires_at,
                    RefreshToken.rotated_at,
                    RefreshToken.revoked_at,
                    QueryString("now()", alias="now"),
                )
                .where(RefreshToken.token_hash == token_hash)
                .lock_rows()
            )
            if not rows or rows[0]["revoked_at"] is not None:
                return None
            row = rows[0]
            if row["rotated_at"] is not None:
                await db.run(
                    RefreshToken.update({RefreshToken.revoked_at: now()}).where(
                        RefreshToken.family_id == row["family_id"],
                        RefreshToken.revoked_at.is_null(),
                    )
                )
                await db.run(
                    User.update(
                        {User.token_version: User.token_version + 1, User.updated_at: now()}
                    ).where(User.id == row["user_id"])
                )
                await append_audit(conn, on_reuse(row["user_id"], row["family_id"]))
                return ReusedOutcome(row["user_id"], row["family_id"])
            if row["expires_at"] <= row["now"]:
                return None
            user = await _auth_user(db, User.id == row["user_id"])
            if user is None or not user.is_active:
                return None
            if not user.department_active:
                return DepartmentBlocked(row["user_id"])
            await db.run(
                RefreshToken.update({RefreshToken.rotated_at: now()}).where(
                    RefreshToken.id == row["id"]
                )
            )
            await _insert_refresh(
                db,
                row["user_id"],
                NewRefreshToken(
                    token_hash=new.token_hash,
                    family_id=row["family_id"],
                    expires_at=new.expires_at,
                    client_ip=new.client_ip,
                    user_agent=new.user_agent,
                ),
            )
            return Rotated(user)

    async def revoke_sessions(self, user_id: UUID, audit: list[AuditEntry]) -> None:
        async with self._db.transaction() as conn:
            await revoke_user_sessions(self._db, user_id)
            await append_audit(conn, audit)

    async def create_reset_token(
        self, user_id: UUID, token_hash: str, expires_at: datetime, audit: list[AuditEntry]
    ) -> None:
        token = PasswordResetToken
        async with self._db.transaction() as conn:
            await self._db.run(
                token.update({token.used_at: now()}).where(
                    token.user_id == user_id, token.used_at.is_null()
                )
            )
            await self._db.run(
                token.insert(
                    token(
                        user_id=user_id,
                        token_hash=token_hash,
                        created_at=now(),
                        expires_at=expires_at,
                    )
                )
            )
            await append_audit(conn, audit)

    async def reset_token_usable(self, token_hash: str) -> bool:
        token = PasswordResetToken
        rows = await self._db.run(
            token.select(token.id).where(
                token.token_hash == token_hash,
                token.used_at.is_null(),
                token.expires_at > now(),
                token.user_id.is_in(_active_users()),
            )
        )
        return bool(rows)

    async def consume_reset_token(
        self, token_hash: str, new_hash: str, audit: Callable[[UUID], list[AuditEntry]]
    ) -> UUID | None:
        token = PasswordResetToken
        async with self._db.transaction() as conn:
            rows = await self._db.run(
                token.update({token.used_at: now()})
                .where(
                    token.token_hash == token_hash,
                    token.used_at.is_null(),
                    token.expires_at > now(),
                    token.user_id.is_in(_active_users()),
                )
                .returning(token.user_id)
            )
            if not rows:
                return None
            user_id: UUID = rows[0]["user_id"]
            await self._db.run(
                User.update({User.password_hash: new_hash}).where(User.id == user_id)
            )
            await revoke_user_sessions(self._db, user_id)
            await append_audit(conn, audit(user_id))
            return user_id

    async def set_password(
        self, user_id: UUID, new_hash: str, refresh: NewRefreshToken, audit: list[AuditEntry]
    ) -> int:
        async with self._db.transaction() as conn:
            await self._db.run(
                User.update({User.password_hash: new_hash}).where(User.id == user_id)
            )
            version = await revoke_user_sessions(self._db, user_id)
            await _insert_refresh(self._db, user_id, refresh)
            await append_audit(conn, audit)
            return version
