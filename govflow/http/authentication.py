"""Bearer-token authentication: verify the JWT, then check the user is active and current.

A member of a deactivated department is refused (403 naming ``department_id``) on every route
from the moment the department is deactivated, with the tokens issued before.

The middleware sets ``scope["user"]`` to a :class:`Principal` (one indexed SELECT per request);
handlers receive it with ``principal: NamedDependency[Principal]``. When it refuses a presented
token it notes so in the scope state (with the token's user when the signature held), for the
denial audit (:mod:`govflow.http.denials`).
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

import asyncpg
from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException
from litestar.middleware import AbstractAuthenticationMiddleware, AuthenticationResult
from litestar.types import ASGIApp, Method

from govflow.bootstrap.api import AccessTokens, InvalidToken
from govflow.http.denials import REFUSED_TOKEN_KEY
from govflow.usecases.department_status import DepartmentInactiveError
from govflow.usecases.principal import Principal, Role

_CURRENT_USER = (
    "SELECT u.email, u.role, u.department_id, COALESCE(d.is_active, true) AS department_active "
    "FROM users u LEFT JOIN departments d ON d.id = u.department_id "
    "WHERE u.id = $1 AND u.is_active AND u.token_version = $2"
)


class TokenRefused(NotAuthorizedException):
    """A presented bearer token was refused; ``user_id`` is its subject when the signature held
    (a disabled user, a revoked session), otherwise ``None``."""

    def __init__(self, detail: str, user_id: UUID | None = None) -> None:
        super().__init__(detail)
        self.user_id = user_id


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
            raise TokenRefused("Invalid or expired token") from None
        row = await pool.fetchrow(_CURRENT_USER, claims.user_id, claims.token_version)
        if row is None:
            raise TokenRefused("Invalid or expired token", claims.user_id)
        if not row["department_active"]:
            raise DepartmentInactiveError()
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
        state: dict[str, Any] = connection.scope.setdefault("state", {})  # type: ignore[typeddict-item]
        try:
            principal = await self._authenticator.principal(
                self._pool_of(), connection.headers.get("authorization"), state.get("request_id")
            )
        except TokenRefused as refused:
            state[REFUSED_TOKEN_KEY] = refused.user_id
            raise
        return AuthenticationResult(user=principal, auth=None)


def provide_principal(request: ASGIConnection[Any, Any, Any, Any]) -> Principal:
    """The authenticated caller (dependency ``principal``)."""
    user = request.scope.get("user")
    if not isinstance(user, Principal):
        raise NotAuthorizedException("Authentication required")
    return user
