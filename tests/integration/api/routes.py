"""The app's routes, read from the app itself, for tests that must cover every route."""

from __future__ import annotations

import re
from dataclasses import dataclass

from litestar import Litestar
from litestar.handlers import HTTPRouteHandler
from litestar.routes import HTTPRoute

from govflow.http.app import create_app
from govflow.http.policy import Policy, route_policy
from govflow.settings import Mode, Settings

_PARAM = re.compile(r"\{(\w+):(\w+)\}")


@dataclass(frozen=True)
class RouteCase:
    method: str
    path: str
    handler: HTTPRouteHandler

    @property
    def policy(self) -> Policy | None:
        return route_policy(self.handler)

    @property
    def params(self) -> list[str]:
        return [name for name, _ in _PARAM.findall(self.path)]

    @property
    def doc_path(self) -> str:
        """``/users/{user_id}``: the path as OpenAPI and docs/api.md spell it."""
        return _PARAM.sub(r"{\1}", self.path)

    def url(self, values: dict[str, str]) -> str:
        return _PARAM.sub(lambda m: values[m.group(1)], self.path)

    def __str__(self) -> str:
        return f"{self.method} {self.doc_path}"


def offline_app() -> Litestar:
    return create_app(Settings(mode=Mode.TEST, jwt_secret="r" * 40, _env_file=None))


def route_cases(app: Litestar | None = None, *, documented_only: bool = False) -> list[RouteCase]:
    """Every (method, path) the app serves, OPTIONS excluded."""
    app = app or offline_app()
    cases = []
    for route in app.routes:
        if not isinstance(route, HTTPRoute):
            continue
        for handler in route.route_handlers:
            if documented_only and not handler.include_in_schema:
                continue
            for method in sorted(handler.http_methods):
                if method != "OPTIONS":
                    cases.append(RouteCase(method, route.path, handler))
    return sorted(cases, key=str)
