"""Request bodies of ``/users``; answers are :class:`~govflow.usecases.users.UserView`."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

import msgspec

from govflow.http.auth.schemas import Email, Secret
from govflow.usecases.principal import Role
from govflow.usecases.users import NewUser, UserChanges

FullName = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]


class UserCreateIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    email: Email
    full_name: FullName
    password: Secret
    role: Role
    department_id: UUID | None = None

    def to_new(self) -> NewUser:
        return NewUser(
            email=self.email,
            full_name=self.full_name,
            password=self.password,
            role=self.role,
            department_id=self.department_id,
        )


class UserUpdateIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    role: Role | msgspec.UnsetType = msgspec.UNSET
    department_id: UUID | msgspec.UnsetType | None = msgspec.UNSET
    full_name: FullName | msgspec.UnsetType = msgspec.UNSET

    def to_changes(self) -> UserChanges:
        return UserChanges(
            role=self.role, department_id=self.department_id, full_name=self.full_name
        )
