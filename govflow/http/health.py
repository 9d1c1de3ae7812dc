"""Liveness, readiness and the public health summary."""

from __future__ import annotations

from litestar import Controller, Response, get
from litestar.di import NamedDependency
from litestar.status_codes import HTTP_200_OK, HTTP_503_SERVICE_UNAVAILABLE

from govflow import __version__
from govflow.bootstrap import Container


async def dependency_status(services: Container) -> dict[str, str]:
    return {
        "database": "up" if await services.db.ping() else "down",
        "redis": "up" if await services.redis_ok() else "down",
    }


class HealthController(Controller):
    tags = ["health"]

    @get(
        "/health", operation_id="getHealth", summary="Public health summary", exclude_from_auth=True
    )
    async def health(self, services: NamedDependency[Container]) -> Response[dict[str, object]]:
        """``ok`` or ``degraded``; names no host, version detail or error text."""
        status = await dependency_status(services)
        degraded = [name for name, state in status.items() if state != "up"]
        body: dict[str, object] = {
            "success": not degraded,
            "message": "degraded" if degraded else "ok",
            "data": {"status": "degraded" if degraded else "ok", "version": __version__},
        }
        return Response(body, status_code=HTTP_503_SERVICE_UNAVAILABLE if degraded else HTTP_200_OK)

    @get("/livez", operation_id="getLivez", summary="The process is alive", exclude_from_auth=True)
    async def livez(self) -> dict[str, str]:
        return {"status": "alive"}

    @get(
        "/readyz",
        operation_id="getReadyz",
        summary="Database and Redis reachable",
        exclude_from_auth=True,
    )
    async def readyz(self, services: NamedDependency[Container]) -> Response[dict[str, object]]:
        status = await dependency_status(services)
        ready = all(state == "up" for state in status.values())
        return Response(
            {"status": "ready" if ready else "not ready", "checks": status},
            status_code=HTTP_200_OK if ready else HTTP_503_SERVICE_UNAVAILABLE,
        )
