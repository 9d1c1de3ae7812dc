"""``OPTIONS`` answers the full ``Allow`` set of the path.

Litestar builds each path's automatic ``OPTIONS`` handler with the route it first creates; when
a later handler adds a method to the same path (``GET /users`` and ``POST /users`` are declared
one after the other), the route is rebuilt but the old ``OPTIONS`` handler keeps the old method
set (``Allow: OPTIONS, POST``). This ``before_send`` hook writes the set of the route that
actually serves the path, the same set a 405 names.
"""

from __future__ import annotations

from typing import Any

from litestar.datastructures import MutableScopeHeaders
from litestar.routes import HTTPRoute
from litestar.types import Message, Scope


def allowed_methods(routes: list[Any]) -> dict[str, str]:
    """Path template (``/users/{user_id}``) -> its ``Allow`` header value."""
    return {
        route.path_format: ", ".join(sorted(route.methods))
        for route in routes
        if isinstance(route, HTTPRoute)
    }


def full_allow_header() -> Any:
    """A ``before_send`` hook correcting the ``Allow`` header of ``OPTIONS`` answers."""
    allowed: dict[str, str] = {}

    async def before_send(message: Message, scope: Scope) -> None:
        if message["type"] != "http.response.start" or scope.get("method") != "OPTIONS":
            return
        template = scope.get("path_template")
        if template is None:
            return
        if not allowed:
            allowed.update(allowed_methods(scope["litestar_app"].routes))
        value = allowed.get(template)
        if value is not None:
            MutableScopeHeaders.from_message(message)["Allow"] = value

    return before_send
