"""The Litestar application: routes, policies, errors, headers and the lifespan.

Every route declares its access policy (``govflow.http.policy``); one app-level guard enforces
it, a bearer middleware authenticates, ``errors.handle`` answers every failure in the envelope.
"""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import AsyncIterator
from typing import Any

from litestar import Litestar, Router
from litestar.config.cors import CORSConfig
from litestar.datastructures import ResponseHeader, State
from litestar.di import Provide
from litestar.middleware import DefineMiddleware
from litestar.openapi.config import OpenAPIConfig
from litestar.openapi.plugins import JsonRenderPlugin
from litestar.openapi.spec import Components, SecurityScheme

from govflow import __version__
from govflow.bootstrap import Container, container
from govflow.bootstrap.api import Api, access_tokens, build_api, denial_audit, passwords
from govflow.bootstrap.tracing import start_tracing
from govflow.http.actions.controller import ActionsController
from govflow.http.api_docs import DOCS_CSP, LocalSwaggerUI
from govflow.http.audit_logs.controller import AuditLogsController
from govflow.http.auth.controller import AuthController
from govflow.http.authentication import Authenticator, BearerAuthMiddleware
from govflow.http.client_ip import parse_networks
from govflow.http.console.app import console_app, console_mount, root_redirect
from govflow.http.decoding import RequestScreen
from govflow.http.denials import DENIALS_STATE_KEY, DenialRecorder
from govflow.http.departments.controller import DepartmentsController
from govflow.http.dependencies import API_STATE_KEY, DEPENDENCIES, TRUSTED_STATE_KEY
from govflow.http.errors import handle
from govflow.http.executions.controller import ExecutionsController, start_execution
from govflow.http.health import HealthController
from govflow.http.idempotency import IdempotencyMiddleware
from govflow.http.jira.controller import JiraController
from govflow.http.metrics import MetricsController, prometheus_config
from govflow.http.observability import AccessLog, response_headers
from govflow.http.openapi_contract import ClosedStructSchemaPlugin
from govflow.http.options import full_allow_header
from govflow.http.policy import BEARER_SCHEME, enforce_policy, public
from govflow.http.rate_limit import RateLimitMiddleware
from govflow.http.tasks.controller import TasksController
from govflow.http.tracing import traced_requests, traceparent_header
from govflow.http.users.controller import UsersController
from govflow.http.webhooks.controller import deliver_webhook
from govflow.http.workflows.controller import WorkflowsController
from govflow.settings import Mode, Settings, development_jwt_secret
from govflow.usecases.rate_limits import RateLimits

ROUTE_HANDLERS: list[Any] = [
    HealthController,
    MetricsController,
    AuthController,
    UsersController,
    DepartmentsController,
    AuditLogsController,
    WorkflowsController,
    ExecutionsController,
    TasksController,
    start_execution,
    ActionsController,
    JiraController,
    deliver_webhook,
]


def signing_secret(settings: Settings) -> str:
    """``JWT_SECRET``; in development the one kept under the home folder; in tests a random one."""
    if settings.jwt_secret:
        return settings.jwt_secret
    if settings.mode is Mode.DEVELOPMENT:
        return development_jwt_secret(settings.home)[0]
    if settings.mode is Mode.TEST:
        return secrets.token_urlsafe(48)
    raise RuntimeError("JWT_SECRET is required")


def openapi_config() -> OpenAPIConfig:
    """The OpenAPI document: Swagger UI at ``/schema`` from vendored files, the JSON at
    ``/schema/openapi.json``."""
    return OpenAPIConfig(
        title="GovFlow API",
        version=__version__,
        components=Components(
            security_schemes={
                BEARER_SCHEME: SecurityScheme(
                    type="http",
                    scheme="bearer",
                    bearer_format="JWT",
                    description="An access token from POST /auth/login or /auth/refresh.",
                )
            }
        ),
        render_plugins=[LocalSwaggerUI(), JsonRenderPlugin()],
        openapi_router=Router(
            path="/schema",
            route_handlers=[],
            opt=public()["opt"],
            include_in_schema=False,
            response_headers=[ResponseHeader(name="Content-Security-Policy", value=DOCS_CSP)],
        ),
    )


def create_app(settings: Settings, services: Container | None = None) -> Litestar:
    """The app; it builds its own container unless one is given (tests share theirs)."""
    hashing = passwords(settings)
    secret = signing_secret(settings)
    tokens = access_tokens(settings, secret)
    state: dict[str, Container] = {}
    apis: dict[str, Api] = {}
    trusted = parse_networks(settings.trusted_proxies)
    denials = DenialRecorder()
    stop_tracing = start_tracing(settings, "govflow-api")

    @contextlib.asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        async with contextlib.AsyncExitStack() as stack:
            stack.callback(stop_tracing)
            built = (
                services
                if services is not None
                else await stack.enter_async_context(container(settings))
            )
            state["services"] = built
            app.state[API_STATE_KEY] = apis["api"] = build_api(built, hashing, tokens)
            await stack.enter_async_context(denials.flushing(denial_audit(built)))
            yield

    def provide_services() -> Container:
        return state["services"]

    def pool_of() -> Any:
        return state["services"].db.pool

    def limits_of() -> RateLimits | None:
        return apis["api"].rate_limits if "api" in apis else None

    console = console_app(
        lambda: apis["api"],
        tokens,
        secret,
        trusted,
        secure_cookies=settings.mode is Mode.PRODUCTION,
        development=settings.mode is Mode.DEVELOPMENT,
    )
    app = Litestar(
        route_handlers=[*ROUTE_HANDLERS, console_mount(console), root_redirect],
        dependencies={"services": Provide(provide_services, sync_to_thread=False), **DEPENDENCIES},
        guards=[enforce_policy],
        before_request=RequestScreen(),
        middleware=[
            prometheus_config().middleware,
            DefineMiddleware(
                RateLimitMiddleware,
                tokens=tokens,
                limits_of=limits_of,
                trusted_of=lambda: trusted,
            ),
            DefineMiddleware(
                BearerAuthMiddleware, authenticator=Authenticator(tokens), pool_of=pool_of
            ),
            DefineMiddleware(IdempotencyMiddleware, keys_of=lambda: apis["api"].idempotency),
        ],
        exception_handlers={Exception: handle},
        before_send=[
            response_headers(settings.mode is Mode.PRODUCTION),
            full_allow_header(),
            traceparent_header(),
        ],
        cors_config=cors_config(settings),
        request_max_body_size=settings.max_request_body_bytes,
        openapi_config=openapi_config(),
        plugins=[ClosedStructSchemaPlugin()],
        state=State(
            {
                TRUSTED_STATE_KEY: trusted,
                DENIALS_STATE_KEY: denials,
            }
        ),
        lifespan=[lifespan],
        logging_config=None,  # logging is configured once, by the process (structured logs)
        debug=False,
    )
    # Outermost, around Litestar's own exception handling: the access log sees the status sent
    # for every request (401s raised by the bearer middleware, unknown routes included).
    # With tracing on, the request's span encloses the access log (its line carries the ids).
    app.asgi_handler = traced_requests(AccessLog(app.asgi_handler, denials.observe))
    return app


def cors_config(settings: Settings) -> CORSConfig | None:
    """The CORS allowlist from ``CORS_ORIGINS``; no CORS headers at all when it is empty."""
    if not settings.cors_origins:
        return None
    return CORSConfig(
        allow_origins=list(settings.cors_origins),
        allow_methods=["GET", "POST", "PATCH", "PUT", "DELETE"],
        allow_headers=["Authorization", "Content-Type", "X-Request-ID", "Idempotency-Key"],
        expose_headers=[
            "X-Request-ID",
            "Retry-After",
            "Idempotent-Replayed",
            "RateLimit-Limit",
            "RateLimit-Remaining",
            "RateLimit-Reset",
            "RateLimit-Policy",
        ],
        allow_credentials=False,
        max_age=600,
    )
