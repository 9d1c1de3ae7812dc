"""``/users`` endpoints (ADMIN only)."""

from __future__ import annotations

from uuid import UUID

from litestar import Controller, get, patch, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED

from govflow.bootstrap.api import Api
from govflow.http.envelope import Envelope, PagedEnvelope, ok, paged
from govflow.http.idempotency import idempotent
from govflow.http.policy import roles
from govflow.http.users.schemas import UserCreateIn, UserUpdateIn
from govflow.usecases.paging import PageRequest
from govflow.usecases.principal import Principal, Role
from govflow.usecases.users import UserFilter, UserView


class UsersController(Controller):
    path = "/users"
    tags = ["users"]

    @get("/", operation_id="listUsers", **roles(Role.ADMIN))
    async def list_users(
        self,
        api: NamedDependency[Api],
        role: FromQuery[Role | None] = None,
        department_id: FromQuery[UUID | None] = None,
        is_active: FromQuery[bool | None] = None,
        page: FromQuery[int] = 1,
        limit: FromQuery[int] = 20,
    ) -> PagedEnvelope[UserView]:
        """Users, filtered by role, department and active flag."""
        where = UserFilter(role=role, department_id=department_id, is_active=is_active)
        return paged(await api.users.search(where, PageRequest(page, limit)))

    @get("/{user_id:uuid}", operation_id="getUser", **roles(Role.ADMIN))
    async def get_user(
        self, user_id: FromPath[UUID], api: NamedDependency[Api]
    ) -> Envelope[UserView]:
        """One user."""
        return ok(await api.users.get(user_id))

    @idempotent
    @post("/", operation_id="createUser", status_code=HTTP_201_CREATED, **roles(Role.ADMIN))
    async def create_user(
        self,
        data: JSONBody[UserCreateIn],
        api: NamedDependency[Api],
        principal: NamedDependency[Principal],
    ) -> Envelope[UserView]:
        """Create a user; the password must meet the policy."""
        return ok(await api.users.create(principal, data.to_new()), "User created")

    @patch("/{user_id:uuid}", operation_id="updateUser", **roles(Role.ADMIN))
    async def update_user(
        self,
        user_id: FromPath[UUID],
        data: JSONBody[UserUpdateIn],
        api: NamedDependency[Api],
        principal: NamedDependency[Principal],
    ) -> Envelope[UserView]:
        """Change role, department or name; a role or department change ends the sessions."""
        return ok(await api.users.update(principal, user_id, data.to_changes()), "User updated")

    @post(
        "/{user_id:uuid}/disable",
        operation_id="disableUser",
        status_code=HTTP_200_OK,
        **roles(Role.ADMIN),
    )
    async def disable_user(
        self,
        user_id: FromPath[UUID],
        api: NamedDependency[Api],
        principal: NamedDependency[Principal],
    ) -> Envelope[UserView]:
        """Disable the account and end its sessions."""
        return ok(await api.users.set_active(principal, user_id, False), "User disabled")

    @post(
        "/{user_id:uuid}/enable",
        operation_id="enableUser",
        status_code=HTTP_200_OK,
        **roles(Role.ADMIN),
    )
    async def enable_user(
        self,
        user_id: FromPath[UUID],
        api: NamedDependency[Api],
        principal: NamedDependency[Principal],
    ) -> Envelope[UserView]:
        """Re-enable a disabled account."""
        return ok(await api.users.set_active(principal, user_id, True), "User enabled")

    @post(
        "/{user_id:uuid}/revoke-sessions",
        operation_id="revokeUserSessions",
        status_code=HTTP_200_OK,
        **roles(Role.ADMIN),
    )
    async def revoke_sessions(
        self,
        user_id: FromPath[UUID],
        api: NamedDependency[Api],
        principal: NamedDependency[Principal],
    ) -> Envelope[None]:
        """End every session of the user (access and refresh tokens)."""
        await api.users.revoke_sessions(principal, user_id)
        return ok(None, "Sessions revoked")
