"""The console's own Litestar app, mounted by the API's app at ``/ui`` (``/`` redirects there).

It has its own templates, static files, HTML error pages and CSRF check, and runs on the API
app's use cases (``api_of``, available once the API's lifespan has started them). Its routes are
not API routes: they are left out of the OpenAPI document, and the mount is public to the
API's bearer middleware: the console authenticates with its session cookie
(:mod:`govflow.http.console.viewer`).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from litestar import Litestar, Request, asgi, get
from litestar.datastructures import CacheControlHeader, MutableScopeHeaders
from litestar.di import Provide
from litestar.exceptions import PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.response import Redirect
from litestar.static_files import create_static_files_router
from litestar.template.config import TemplateConfig
from litestar.types import Message, Receive, Scope, Send

from govflow.bootstrap.api import AccessTokens, Api
from govflow.http.authentication import Authenticator
from govflow.http.client_ip import Network
from govflow.http.console.admin import AdminPages
from govflow.http.console.auth_pages import AuthPages
from govflow.http.console.executions import ExecutionPages
from govflow.http.console.pages import BASE, CONSOLE_HEADERS, EXCEPTION_HANDLERS
from govflow.http.console.session import (
    CSRF_COOKIE,
    CSRF_FIELD,
    CSRF_HEADER,
    CookieSigner,
    same_token,
)
from govflow.http.console.task_pages import TaskPages
from govflow.http.console.viewer import (
    CONSOLE_STATE_KEY,
    RENEWED_KEY,
    Console,
    console_of,
    viewer,
)
from govflow.http.console.workflows import WorkflowPages
from govflow.http.policy import public

HERE = Path(__file__).parent
TEMPLATES = HERE / "templates"
STATIC = HERE / "static"

ROUTE_HANDLERS: list[Any] = [AuthPages, TaskPages, ExecutionPages, WorkflowPages, AdminPages]
"""The console's pages; a page module adds its controller here."""


@get("/", include_in_schema=False)
async def console_home() -> Redirect:
    return Redirect(path=f"{BASE}/tasks")


async def check_csrf(request: Request[Any, Any, Any]) -> None:
    """Refuse (403) a POST whose CSRF token is missing or is not the cookie's."""
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return
    expected = console_of(request).signer.csrf(request.cookies.get(CSRF_COOKIE))
    given = request.headers.get(CSRF_HEADER)
    if given is None:
        form = await request.form()
        value = form.get(CSRF_FIELD)
        given = value if isinstance(value, str) else None
    if not same_token(expected, given):
        raise PermissionDeniedException("The form is stale or was not sent by this console")


async def _console_headers(message: Message, scope: Scope) -> None:
    """The pending cookies (session, CSRF, flash) and the console's security headers."""
    if message["type"] != "http.response.start":
        return
    headers = MutableScopeHeaders.from_message(message)
    state: dict[str, Any] = scope.get("state", {})  # type: ignore[assignment]
    for cookie in state.get(RENEWED_KEY, {}).values():
        headers.add("set-cookie", cookie.to_header(header=""))
    for name, value in CONSOLE_HEADERS.items():
        headers[name] = value


def console_app(
    api_of: Callable[[], Api],
    tokens: AccessTokens,
    secret: str,
    trusted: tuple[Network, ...],
    *,
    secure_cookies: bool,
    development: bool,
) -> Litestar:
    """The console, over the use cases ``api_of`` returns."""
    console = Console(
        api_of=api_of,
        authenticator=Authenticator(tokens),
        signer=CookieSigner(secret, secure=secure_cookies),
        trusted=trusted,
        development=development,
    )
    static = create_static_files_router(
        path="/static",
        directories=[STATIC],
        include_in_schema=False,
        cache_control=CacheControlHeader(max_age=3600),
    )
    return Litestar(
        route_handlers=[console_home, static, *ROUTE_HANDLERS],
        dependencies={"viewer": Provide(viewer)},
        before_request=check_csrf,
        before_send=[_console_headers],
        exception_handlers=EXCEPTION_HANDLERS,
        template_config=TemplateConfig(directory=TEMPLATES, engine=JinjaTemplateEngine),
        state={CONSOLE_STATE_KEY: console},  # type: ignore[arg-type]
        openapi_config=None,
        logging_config=None,
        debug=False,
    )


def console_mount(app: Litestar) -> BaseRouteHandler:
    """The API app's route that hands ``/ui`` and everything under it to the console."""

    @asgi(BASE, is_mount=True, copy_scope=True, opt=dict(public()["opt"]))
    async def console(scope: Scope, receive: Receive, send: Send) -> None:
        await app(scope, receive, send)

    return console


@asgi("/", copy_scope=False, opt=dict(public()["opt"]))
async def root_redirect(scope: Scope, receive: Receive, send: Send) -> None:
    """``/`` is the console (a plain ASGI answer: not an API route, not in the OpenAPI)."""
    await send(
        {
            "type": "http.response.start",
            "status": 302,
            "headers": [(b"location", BASE.encode()), (b"content-length", b"0")],
        }
    )
    await send({"type": "http.response.body", "body": b"", "more_body": False})
