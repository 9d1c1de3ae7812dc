"""Rendering a console page: the layout's context (who is signed in, the navigation their role
sees, the CSRF token, the flash message), the errors shown next to their fields, the redirects
after a post and the error pages.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit

from litestar import Request, Response
from litestar.exceptions import (
    HTTPException,
    NotFoundException,
    PermissionDeniedException,
)
from litestar.response import Redirect, Template
from litestar.status_codes import HTTP_303_SEE_OTHER

from govflow.core.roles import Role
from govflow.http.console.session import CSRF_COOKIE, FLASH_COOKIE
from govflow.http.console.viewer import SignInRequired, console_of, set_cookie_later
from govflow.usecases.access_errors import ForbiddenError, RateLimitedError
from govflow.usecases.department_status import DepartmentInactiveError
from govflow.usecases.errors import ConflictError, NotFoundError
from govflow.usecases.principal import Principal

BASE = "/ui"
logger = logging.getLogger("govflow.console")


@dataclass(frozen=True, slots=True)
class NavItem:
    """One entry of the navigation: its label, its path and the roles that see it."""

    label: str
    path: str
    roles: frozenset[Role]


EVERYONE = frozenset(Role)
NAV: list[NavItem] = [
    NavItem("My tasks", f"{BASE}/tasks", EVERYONE),
    NavItem("Executions", f"{BASE}/executions", EVERYONE),
    NavItem("Workflows", f"{BASE}/workflows", EVERYONE),
    NavItem("Administration", f"{BASE}/admin", frozenset({Role.ADMIN, Role.MANAGER})),
]
"""The navigation, in order; a page module adds its entry here."""


def nav_for(principal: Principal | None) -> list[NavItem]:
    if principal is None:
        return []
    return [item for item in NAV if principal.role in item.roles]


def csrf_token(request: Request[Any, Any, Any]) -> str:
    """The CSRF token forms carry: the cookie's, or a new one set with this response."""
    signer = console_of(request).signer
    token = signer.csrf(request.cookies.get(CSRF_COOKIE))
    if token is None:
        token = request.state.get("console_csrf")
    if token is None:
        token, cookie = signer.new_csrf()
        request.state["console_csrf"] = token
        set_cookie_later(request, cookie)
    return token


def take_flash(request: Request[Any, Any, Any]) -> str | None:
    """The message left by the previous post (shown once)."""
    raw = request.cookies.get(FLASH_COOKIE)
    if raw is None:
        return None
    signer = console_of(request).signer
    set_cookie_later(request, signer.expired(FLASH_COOKIE))
    return signer.flash(raw)


def render(
    request: Request[Any, Any, Any],
    template: str,
    context: Mapping[str, Any] | None = None,
    *,
    viewer: Principal | None = None,
    status_code: int = 200,
) -> Template:
    """The page ``template`` with the layout's context and ``context``."""
    full = {
        "base": BASE,
        "viewer": viewer,
        "nav": nav_for(viewer),
        "current": request.url.path,
        "form_token": csrf_token(request),
        "flash": take_flash(request),
        "errors": {},
        **(context or {}),
    }
    return Template(template_name=template, context=full, status_code=status_code)


def redirect(request: Request[Any, Any, Any], path: str, flash: str | None = None) -> Redirect:
    """303 to ``path`` (after a post), with a message for the next page."""
    if flash is not None:
        set_cookie_later(request, console_of(request).signer.flash_cookie(flash))
    return Redirect(path=path, status_code=HTTP_303_SEE_OTHER)


def field_errors(problems: Sequence[tuple[str, str]]) -> dict[str, str]:
    """``{"new_password": "..."}`` from the use cases' ``("body.new_password", "...")``."""
    errors: dict[str, str] = {}
    for path, message in problems:
        name = path.removeprefix("body.")
        errors[name] = f"{errors[name]}; {message}" if name in errors else message
    return errors


def local_path(target: str | None) -> str:
    """``target`` if it is a path of the console, else the console's home (no open redirect)."""
    if not target:
        return f"{BASE}/tasks"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not parts.path.startswith(f"{BASE}/"):
        return f"{BASE}/tasks"
    if "\\" in target or target.startswith("//"):
        return f"{BASE}/tasks"
    return target


def _error_page(
    request: Request[Any, Any, Any], status_code: int, title: str, detail: str
) -> Response[Any]:
    return render(
        request,
        "error.html",
        {"title": title, "detail": detail, "status_code": status_code},
        status_code=status_code,
    )


def on_sign_in_required(request: Request[Any, Any, Any], _: Exception) -> Response[Any]:
    wanted = request.url.path
    if request.url.query:
        wanted = f"{wanted}?{request.url.query}"
    if request.method != "GET":
        wanted = f"{BASE}/tasks"
    return Redirect(path=f"{BASE}/login?next={quote(wanted)}", status_code=HTTP_303_SEE_OTHER)


def on_error(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    """Every other failure as a page with its status."""
    if isinstance(exc, NotFoundError | NotFoundException):
        return _error_page(request, 404, "Not found", "There is no such page, or not for you.")
    if isinstance(exc, ForbiddenError | PermissionDeniedException | DepartmentInactiveError):
        detail = getattr(exc, "detail", "") or str(exc) or "You may not do this."
        return _error_page(request, 403, "Not allowed", detail)
    if isinstance(exc, RateLimitedError):
        page = _error_page(request, 429, "Too many attempts", str(exc))
        page.headers["Retry-After"] = str(exc.retry_after)
        return page
    if isinstance(exc, ConflictError):
        return _error_page(request, 409, "Conflict", str(exc))
    if isinstance(exc, HTTPException) and exc.status_code < 500:
        return _error_page(request, exc.status_code, "Request refused", exc.detail)
    logger.exception("console page failed", exc_info=exc)
    return _error_page(request, 500, "Something went wrong", "The error was logged.")


EXCEPTION_HANDLERS: dict[int | type[Exception], Any] = {
    SignInRequired: on_sign_in_required,
    Exception: on_error,
}

CONSOLE_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
    ),
    "Referrer-Policy": "same-origin",
}
