"""Bearer-token authentication: verify the JWT, then check the user is active and current.

The middleware sets ``scope["user"]`` to a :class:`Principal` (one indexed SELECT per request);
handlers receive it with ``principal: NamedDependency[Principal]``.
"""

from __future__ import annotations

from typing import Any

import asyncpg
from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException
from litestar.middleware import AbstractAuthenticationMiddleware, AuthenticationResult
from litestar.types import ASGIApp, Method

from govflow.adapters.security.tokens import AccessTokens, InvalidToken
from govflow.usecases.principal import Principal, Role

_CURRENT_USER = (
    "SELECT email, role, department_id FROM users "
    "WHERE id = $1 AND is_active AND token_version = $2"
)


class Authenticator:
    """Turns an ``Authorization`` header into a principal, or refuses."""

    def __init__(self, tokens: AccessTokens) -> None:
        self._tokens = tokens

    async def principal(
        self, pool: asyncpg.Pool, header: str | None, request_id: str | None
    ) -> Principal:
        scheme, _, token = (header or "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise NotAuthorizedException("Authentication required")
        try:
            claims = self._tokens.verify(token.strip())
        except InvalidToken:
            raise NotAuthorizedException("Invalid or expired token") from None
        row = await pool.fetchrow(_CURRENT_USER, claims.user_id, claims.token_version)
        if row is None:
            raise NotAuthorizedException("Invalid or expired token")
        return Principal(
            user_id=claims.user_id,
            email=row["email"],
            role=Role(row["role"]),
            department_id=row["department_id"],
            request_id=request_id,
        )


class BearerAuthMiddleware(AbstractAuthenticationMiddleware):
    """Authenticates every route not marked ``exclude_from_auth``."""

    def __init__(self, app: ASGIApp, authenticator: Authenticator, pool_of: Any) -> None:
        methods: list[Method] = ["OPTIONS"]
        super().__init__(app, exclude_http_methods=methods)
        self._authenticator = authenticator
        self._pool_of = pool_of

    async def authenticate_request(
        self, connection: ASGIConnection[Any, Any, Any, Any]
    ) -> AuthenticationResult:
        request_id = connection.scope.get("state", {}).get("request_id")
        principal = await self._authenticator.principal(
            self._pool_of(), connection.headers.get("authorization"), request_id
        )
        return AuthenticationResult(user=principal, auth=None)


def provide_principal(request: ASGIConnection[Any, Any, Any, Any]) -> Principal:
    """The authenticated caller (dependency ``principal``)."""
    user = request.scope.get("user")
    if not isinstance(user, Principal):
        raise NotAuthorizedException("Authentication required")
    return user
