"""Sign-in, sign-out, the password change and the password reset pages.

Each calls the use case its API route calls (``POST /auth/login``, ``/auth/logout``,
``/auth/password/change``, ``/auth/password-reset/request`` and ``/confirm``): the same
throttle, the same audit, the same answers. A reset request is answered before its work runs,
the same for every address, as the API does.
"""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.background_tasks import BackgroundTask
from litestar.di import NamedDependency
from litestar.params import FromQuery

from govflow.http.console.pages import BASE, field_errors, local_path, redirect, render
from govflow.http.console.session import CSRF_COOKIE, SESSION_COOKIE
from govflow.http.console.viewer import client_of, console_of, set_cookie_later
from govflow.usecases.access_errors import NotAuthenticatedError, RateLimitedError
from govflow.usecases.errors import InvalidInputError
from govflow.usecases.principal import Principal

RESET_SENT = "If the account exists, a password reset has been sent."


def _text(form: Any, name: str) -> str:
    value = form.get(name)
    return value if isinstance(value, str) else ""


class AuthPages(Controller):
    path = "/"

    @get("/login")
    async def login_page(
        self,
        request: Request[Any, Any, Any],
        next: FromQuery[str] = "",
    ) -> Response[Any]:
        return render(request, "login.html", {"next": local_path(next), "email": ""})

    @post("/login")
    async def login(self, request: Request[Any, Any, Any]) -> Response[Any]:
        console = console_of(request)
        form = await request.form()
        email, target = _text(form, "email").strip(), local_path(_text(form, "next"))
        context: dict[str, Any] = {"next": target, "email": email}
        try:
            pair = await console.api.auth.login(
                email, _text(form, "password"), client_of(request, console)
            )
        except NotAuthenticatedError as exc:
            context["errors"] = {"password": str(exc)}
            return render(request, "login.html", context, status_code=401)
        except RateLimitedError as exc:
            context["errors"] = {"email": str(exc)}
            page = render(request, "login.html", context, status_code=429)
            page.headers["Retry-After"] = str(exc.retry_after)
            return page
        except InvalidInputError as exc:
            context["errors"] = field_errors(exc.problems)
            return render(request, "login.html", context, status_code=400)
        set_cookie_later(request, console.session_cookie(pair))
        _token, csrf = console.signer.new_csrf()
        set_cookie_later(request, csrf)
        return redirect(request, target)

    @post("/logout")
    async def logout(
        self, request: Request[Any, Any, Any], viewer: NamedDependency[Principal]
    ) -> Response[Any]:
        console = console_of(request)
        await console.api.auth.logout(viewer)
        set_cookie_later(request, console.signer.expired(SESSION_COOKIE))
        set_cookie_later(request, console.signer.expired(CSRF_COOKIE))
        return redirect(request, f"{BASE}/login", "You are signed out.")

    @get("/password")
    async def password_page(
        self, request: Request[Any, Any, Any], viewer: NamedDependency[Principal]
    ) -> Response[Any]:
        return render(request, "password_change.html", viewer=viewer)

    @post("/password")
    async def change_password(
        self, request: Request[Any, Any, Any], viewer: NamedDependency[Principal]
    ) -> Response[Any]:
        console = console_of(request)
        form = await request.form()
        new_password = _text(form, "new_password")
        if new_password != _text(form, "new_password_again"):
            errors = {"new_password_again": "the two new passwords differ"}
            return render(
                request, "password_change.html", {"errors": errors}, viewer=viewer, status_code=400
            )
        try:
            pair = await console.api.auth.change_password(
                viewer, _text(form, "current_password"), new_password, client_of(request, console)
            )
        except InvalidInputError as exc:
            errors = field_errors(exc.problems)
            return render(
                request, "password_change.html", {"errors": errors}, viewer=viewer, status_code=400
            )
        set_cookie_later(request, console.session_cookie(pair))
        return redirect(request, f"{BASE}/tasks", "Your password was changed.")

    @get("/password-reset")
    async def reset_request_page(self, request: Request[Any, Any, Any]) -> Response[Any]:
        return render(request, "password_reset_request.html", {"email": ""})

    @post("/password-reset")
    async def request_reset(self, request: Request[Any, Any, Any]) -> Response[Any]:
        console = console_of(request)
        form = await request.form()
        email = _text(form, "email").strip()
        answer = redirect(request, f"{BASE}/login", RESET_SENT)
        answer.background = BackgroundTask(
            console.api.password_reset.request, email, client_of(request, console)
        )
        return answer

    @get("/password-reset/confirm")
    async def reset_confirm_page(
        self, request: Request[Any, Any, Any], token: FromQuery[str] = ""
    ) -> Response[Any]:
        return render(request, "password_reset_confirm.html", {"token": token})

    @post("/password-reset/confirm")
    async def confirm_reset(self, request: Request[Any, Any, Any]) -> Response[Any]:
        console = console_of(request)
        form = await request.form()
        token = _text(form, "token").strip()
        try:
            await console.api.password_reset.confirm(
                token, _text(form, "new_password"), client_of(request, console)
            )
        except InvalidInputError as exc:
            context = {"token": token, "errors": field_errors(exc.problems)}
            return render(request, "password_reset_confirm.html", context, status_code=400)
        return redirect(request, f"{BASE}/login", "Your password was reset: sign in with it.")
