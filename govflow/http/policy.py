"""Route policies: every handler declares who may call it, and one guard enforces it.

Declare a policy by unpacking one of these into the route decorator::

    @get("/users", operation_id="listUsers", **roles(Role.ADMIN))
    @get("/auth/me", operation_id="getMe", **authenticated())
    @post("/auth/login", operation_id="login", **public())
    @get("/workflow-executions", **roles(*ALL_ROLES, own_only=[Role.OPERATOR]))

It sets ``opt["policy"]`` (read by :func:`enforce_policy`, an app-level guard), marks public
routes ``exclude_from_auth``, and documents the bearer security requirement, the error
responses and the enforced bounds (:class:`~govflow.http.openapi_contract.ContractOperation`)
in OpenAPI. A route without a policy is refused with 403 (fail closed), and
``tests/integration/api/test_policies.py`` fails for it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypedDict

from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import Operation

from govflow.http.envelope import ErrorBody
from govflow.http.openapi_contract import ContractOperation
from govflow.usecases.principal import Principal, Role

POLICY_KEY = "policy"
BEARER_SCHEME = "BearerAuth"
ALL_ROLES = (Role.ADMIN, Role.MANAGER, Role.OPERATOR)


@dataclass(frozen=True, slots=True)
class Policy:
    """``public`` routes need no token; otherwise the caller's role must be in ``roles``.

    A role in ``own_only`` reaches only its own objects through the route (for executions:
    those the user started or, in their department, has a task assigned in); anything else is
    a 404, in its own department too. The use case enforces it; the declaration documents it
    and tells the authorization matrix what to expect.
    """

    public: bool = False
    roles: frozenset[Role] = frozenset()
    own_only: frozenset[Role] = frozenset()

    def allows(self, role: Role) -> bool:
        return self.public or role in self.roles


class RouteKwargs(TypedDict):
    opt: Mapping[str, Any]
    security: Sequence[dict[str, list[str]]]
    responses: dict[int, ResponseSpec]
    operation_class: type[Operation]


def _errors(*codes: int) -> dict[int, ResponseSpec]:
    return {
        code: ResponseSpec(data_container=ErrorBody, description="Error envelope") for code in codes
    }


_PUBLIC_ERRORS = (400, 401, 413, 429)
"""401: credentials in the body refused (login, refresh and reset tokens)."""
_PROTECTED_ERRORS = (400, 401, 403, 404, 409, 413)


def public() -> RouteKwargs:
    """Anyone may call the route; no token is read."""
    return {
        "opt": {POLICY_KEY: Policy(public=True), "exclude_from_auth": True},
        "security": [],
        "responses": _errors(*_PUBLIC_ERRORS),
        "operation_class": ContractOperation,
    }


def roles(*allowed: Role, own_only: Sequence[Role] = ()) -> RouteKwargs:
    """Only users with one of ``allowed`` roles may call the route; those of ``own_only``
    reach only their own objects through it."""
    if not allowed:
        raise ValueError("name at least one role, or use public()")
    if not set(own_only) <= set(allowed):
        raise ValueError("own_only names a role the route does not allow")
    policy = Policy(roles=frozenset(allowed), own_only=frozenset(own_only))
    return {
        "opt": {POLICY_KEY: policy},
        "security": [{BEARER_SCHEME: []}],
        "responses": _errors(*_PROTECTED_ERRORS),
        "operation_class": ContractOperation,
    }


def authenticated() -> RouteKwargs:
    """Any authenticated user may call the route."""
    return roles(*ALL_ROLES)


def route_policy(handler: BaseRouteHandler) -> Policy | None:
    """The policy a handler declares, if any."""
    policy = handler.opt.get(POLICY_KEY)
    return policy if isinstance(policy, Policy) else None


def enforce_policy(
    connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler
) -> None:
    """The app-level guard: deny unless the route's policy admits the caller."""
    if connection.scope.get("method") == "OPTIONS":
        return
    policy = route_policy(handler)
    if policy is None:
        raise PermissionDeniedException("This route declares no access policy")
    if policy.public:
        return
    principal = connection.scope.get("user")
    if not isinstance(principal, Principal):
        raise NotAuthorizedException("Authentication required")
    if not policy.allows(principal.role):
        raise PermissionDeniedException("Your role may not use this route")
