"""Who is signed in to the console: the session cookie's access token, verified as the API
verifies a bearer token (signature, user active, token version, department active).

When the access token no longer passes, the refresh token is rotated through the same use case
as ``POST /auth/refresh`` and the new pair is written back to the cookie with the response
(:data:`RENEWED_KEY`). No usable session is :class:`SignInRequired` (the sign-in page).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from litestar import Request
from litestar.datastructures import Cookie
from litestar.exceptions import NotAuthorizedException

from govflow.bootstrap.api import Api
from govflow.http.authentication import Authenticator
from govflow.http.client_ip import Network, client_ip
from govflow.http.console.session import SESSION_COOKIE, CookieSigner, Session
from govflow.http.observability import request_id_of
from govflow.usecases.access_errors import NotAuthenticatedError
from govflow.usecases.auth import ClientInfo, TokenPair
from govflow.usecases.principal import Principal

CONSOLE_STATE_KEY = "govflow_console"
RENEWED_KEY = "govflow_console_cookies"
"""Request state: cookies to set on the response (a refreshed session, a new CSRF token)."""


class SignInRequired(Exception):
    """No usable session: the browser is sent to the sign-in page."""


@dataclass(frozen=True, slots=True)
class Console:
    """What the console's handlers run on (the app's state ``govflow_console``)."""

    api_of: Callable[[], Api]
    authenticator: Authenticator
    signer: CookieSigner
    trusted: tuple[Network, ...]
    development: bool

    @property
    def api(self) -> Api:
        return self.api_of()

    def session_cookie(self, pair: TokenPair) -> Cookie:
        session = Session(access=pair.access_token, refresh=pair.refresh_token)
        return self.signer.session_cookie(session, pair.refresh_expires_in)


def console_of(request: Request[Any, Any, Any]) -> Console:
    console: Console = request.app.state[CONSOLE_STATE_KEY]
    return console


def client_of(request: Request[Any, Any, Any], console: Console) -> ClientInfo:
    """The caller's address (trusted-proxy aware), user agent and request id."""
    peer = request.client.host if request.client else None
    return ClientInfo(
        ip=client_ip(peer, request.headers.get("x-forwarded-for"), console.trusted),
        user_agent=request.headers.get("user-agent"),
        request_id=request_id_of(request.scope),
    )


def set_cookie_later(request: Request[Any, Any, Any], cookie: Cookie) -> None:
    """Have the response set ``cookie`` (see :func:`govflow.http.console.app.console_app`)."""
    pending: dict[str, Cookie] = request.state.setdefault(RENEWED_KEY, {})
    pending[cookie.key] = cookie


async def viewer(request: Request[Any, Any, Any]) -> Principal:
    """The signed-in user (dependency ``viewer``), refreshing the access token when needed."""
    console = console_of(request)
    session = console.signer.session(request.cookies.get(SESSION_COOKIE))
    if session is None:
        raise SignInRequired()
    pool = console.api.services.db.pool
    request_id = request_id_of(request.scope)
    try:
        return await console.authenticator.principal(pool, f"Bearer {session.access}", request_id)
    except NotAuthorizedException:
        pass
    try:
        pair = await console.api.auth.refresh(session.refresh, client_of(request, console))
    except NotAuthenticatedError:
        set_cookie_later(request, console.signer.expired(SESSION_COOKIE))
        raise SignInRequired() from None
    set_cookie_later(request, console.session_cookie(pair))
    try:
        return await console.authenticator.principal(
            pool, f"Bearer {pair.access_token}", request_id
        )
    except NotAuthorizedException:
        raise SignInRequired() from None
