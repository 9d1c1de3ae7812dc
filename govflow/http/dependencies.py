"""Dependencies every slice may declare: ``api``, ``principal`` and ``client``.

``principal: NamedDependency[Principal]`` is the authenticated caller (routes with a role
policy); ``client: NamedDependency[ClientInfo]`` is the caller's address (trusted-proxy aware),
user agent and request id; ``api: NamedDependency[Api]`` holds the use cases.
"""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.di import Provide

from govflow.bootstrap.api import Api
from govflow.http.authentication import provide_principal
from govflow.http.client_ip import Network, client_ip
from govflow.http.observability import request_id_of
from govflow.usecases.auth import ClientInfo

API_STATE_KEY = "govflow_api"
TRUSTED_STATE_KEY = "govflow_trusted_proxies"


def provide_api(request: Request[Any, Any, Any]) -> Api:
    api: Api = request.app.state[API_STATE_KEY]
    return api


def provide_client(request: Request[Any, Any, Any]) -> ClientInfo:
    trusted: tuple[Network, ...] = request.app.state[TRUSTED_STATE_KEY]
    peer = request.client.host if request.client else None
    return ClientInfo(
        ip=client_ip(peer, request.headers.get("x-forwarded-for"), trusted),
        user_agent=request.headers.get("user-agent"),
        request_id=request_id_of(request.scope),
    )


DEPENDENCIES = {
    "api": Provide(provide_api, sync_to_thread=False),
    "principal": Provide(provide_principal, sync_to_thread=False),
    "client": Provide(provide_client, sync_to_thread=False),
}
