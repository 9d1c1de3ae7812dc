"""Request and response bodies of ``/auth``."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

import msgspec

from govflow.usecases.auth import AuthUser, TokenPair
from govflow.usecases.principal import Role

Email = Annotated[str, msgspec.Meta(min_length=3, max_length=320, pattern=r"^[^@\s]+@[^@\s]+$")]
Secret = Annotated[str, msgspec.Meta(min_length=1, max_length=1024)]
OpaqueToken = Annotated[str, msgspec.Meta(min_length=1, max_length=256)]


class LoginIn(msgspec.Struct, forbid_unknown_fields=True):
    email: Email
    password: Secret


class RegisterIn(msgspec.Struct, forbid_unknown_fields=True):
    email: Email
    password: Secret
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]


class RefreshIn(msgspec.Struct, forbid_unknown_fields=True):
    refresh_token: OpaqueToken


class ResetRequestIn(msgspec.Struct, forbid_unknown_fields=True):
    email: Email


class ResetConfirmIn(msgspec.Struct, forbid_unknown_fields=True):
    token: OpaqueToken
    new_password: Secret


class PasswordChangeIn(msgspec.Struct, forbid_unknown_fields=True):
    current_password: Secret
    new_password: Secret


class MeOut(msgspec.Struct, frozen=True, kw_only=True):
    id: UUID
    email: str
    full_name: str
    role: Role
    department_id: UUID | None
    is_active: bool

    @classmethod
    def of(cls, user: AuthUser) -> MeOut:
        return cls(
            id=user.id,
            email=user.email,
            full_name=user.full_name,
            role=Role(user.role),
            department_id=user.department_id,
            is_active=user.is_active,
        )


class TokensOut(msgspec.Struct, frozen=True, kw_only=True):
    access_token: str
    token_type: str
    expires_in: int
    refresh_token: str
    refresh_expires_in: int
    user: MeOut

    @classmethod
    def of(cls, pair: TokenPair) -> TokensOut:
        return cls(
            access_token=pair.access_token,
            token_type=pair.token_type,
            expires_in=pair.expires_in,
            refresh_token=pair.refresh_token,
            refresh_expires_in=pair.refresh_expires_in,
            user=MeOut.of(pair.user),
        )


class AdminCheckOut(msgspec.Struct, frozen=True):
    admin: bool
