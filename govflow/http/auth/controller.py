"""``/auth`` endpoints: thin; decode, call :class:`~govflow.usecases.auth.Auth` or
:class:`~govflow.usecases.password_reset.PasswordReset`, encode.

A password-reset request is answered before its work runs: the handler only schedules
:meth:`~govflow.usecases.password_reset.PasswordReset.request` as a background task, which
uvicorn runs after the response has been sent, the same for every address.
"""

from __future__ import annotations

from typing import Any

from litestar import Controller, Response, get, post
from litestar.background_tasks import BackgroundTask
from litestar.connection import ASGIConnection
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException
from litestar.handlers.base import BaseRouteHandler
from litestar.params import JSONBody
from litestar.status_codes import HTTP_200_OK, HTTP_202_ACCEPTED

from govflow.bootstrap.api import Api
from govflow.http.auth.schemas import (
    AdminCheckOut,
    LoginIn,
    MeOut,
    PasswordChangeIn,
    RefreshIn,
    RegisterIn,
    ResetConfirmIn,
    ResetRequestIn,
    TokensOut,
)
from govflow.http.dependencies import API_STATE_KEY
from govflow.http.envelope import Envelope, ok
from govflow.http.policy import authenticated, public, roles
from govflow.http.workflows.openapi import with_responses
from govflow.usecases.auth import ClientInfo
from govflow.usecases.principal import Principal, Role

RESET_ANSWER = "If the account exists, a password reset has been sent"
REGISTER_ANSWER = (
    "Registration received: sign in with this email and password; an account that already "
    "existed is unchanged"
)


def registration_open(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    """``POST /auth/register`` does not exist unless ``ALLOW_REGISTRATION`` is on (404)."""
    api: Api = connection.app.state[API_STATE_KEY]
    if not api.registration.enabled:
        raise NotFoundException()


class AuthController(Controller):
    path = "/auth"
    tags = ["auth"]

    @post("/login", operation_id="login", status_code=HTTP_200_OK, **public())
    async def login(
        self,
        data: JSONBody[LoginIn],
        api: NamedDependency[Api],
        client: NamedDependency[ClientInfo],
    ) -> Envelope[TokensOut]:
        """Exchange email and password for an access token and a refresh token."""
        pair = await api.auth.login(data.email, data.password, client)
        return ok(TokensOut.of(pair), "Login successful")

    @post(
        "/register",
        operation_id="register",
        status_code=HTTP_202_ACCEPTED,
        guards=[registration_open],
        **with_responses(public(), None, 404),
    )
    async def register(
        self,
        data: JSONBody[RegisterIn],
        api: NamedDependency[Api],
        client: NamedDependency[ClientInfo],
    ) -> Response[Envelope[None]]:
        """Open an OPERATOR account without a department (when ``ALLOW_REGISTRATION`` is on,
        else 404). The same answer whether or not the address has an account; the account is
        stored after the answer."""
        email = await api.registration.admit(data.email, data.password, client)
        return Response(
            ok(None, REGISTER_ANSWER),
            status_code=HTTP_202_ACCEPTED,
            background=BackgroundTask(
                api.registration.create, email, data.password, data.name, client
            ),
        )

    @post("/refresh", operation_id="refreshTokens", status_code=HTTP_200_OK, **public())
    async def refresh(
        self,
        data: JSONBody[RefreshIn],
        api: NamedDependency[Api],
        client: NamedDependency[ClientInfo],
    ) -> Envelope[TokensOut]:
        """Rotate a refresh token: the old one stops working, a new pair is returned."""
        pair = await api.auth.refresh(data.refresh_token, client)
        return ok(TokensOut.of(pair), "Tokens refreshed")

    @post("/logout", operation_id="logout", status_code=HTTP_200_OK, **authenticated())
    async def logout(
        self, api: NamedDependency[Api], principal: NamedDependency[Principal]
    ) -> Envelope[None]:
        """End every session of the caller (all access and refresh tokens)."""
        await api.auth.logout(principal)
        return ok(None, "Logged out")

    @get("/me", operation_id="getMe", **authenticated())
    async def me(
        self, api: NamedDependency[Api], principal: NamedDependency[Principal]
    ) -> Envelope[MeOut]:
        """The caller's account."""
        return ok(MeOut.of(await api.auth.me(principal)))

    @get("/admin-check", operation_id="adminCheck", **roles(Role.ADMIN))
    async def admin_check(self) -> Envelope[AdminCheckOut]:
        """Answers only for ADMIN users."""
        return ok(AdminCheckOut(admin=True), "Admin access confirmed")

    @post(
        "/password-reset/request",
        operation_id="requestPasswordReset",
        status_code=HTTP_202_ACCEPTED,
        **public(),
    )
    async def request_reset(
        self,
        data: JSONBody[ResetRequestIn],
        api: NamedDependency[Api],
        client: NamedDependency[ClientInfo],
    ) -> Response[Envelope[None]]:
        """Always the same answer, sent before anything is looked up, sent or stored."""
        return Response(
            ok(None, RESET_ANSWER),
            status_code=HTTP_202_ACCEPTED,
            background=BackgroundTask(api.password_reset.request, data.email, client),
        )

    @post(
        "/password-reset/confirm",
        operation_id="confirmPasswordReset",
        status_code=HTTP_200_OK,
        **public(),
    )
    async def confirm_reset(
        self,
        data: JSONBody[ResetConfirmIn],
        api: NamedDependency[Api],
        client: NamedDependency[ClientInfo],
    ) -> Envelope[None]:
        """Set a new password with a single-use reset token; every session ends."""
        await api.password_reset.confirm(data.token, data.new_password, client)
        return ok(None, "Password has been reset")

    @post(
        "/password/change",
        operation_id="changePassword",
        status_code=HTTP_200_OK,
        **authenticated(),
    )
    async def change_password(
        self,
        data: JSONBody[PasswordChangeIn],
        api: NamedDependency[Api],
        principal: NamedDependency[Principal],
        client: NamedDependency[ClientInfo],
    ) -> Envelope[TokensOut]:
        """Change the caller's password; other sessions end, this one gets new tokens."""
        pair = await api.auth.change_password(
            principal, data.current_password, data.new_password, client
        )
        return ok(TokensOut.of(pair), "Password changed")
