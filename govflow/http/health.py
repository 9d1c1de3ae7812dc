"""Liveness, readiness, the public health summary and the audited deep check (ADMIN)."""

from __future__ import annotations

import msgspec
from litestar import Controller, Response, get
from litestar.di import NamedDependency
from litestar.status_codes import HTTP_200_OK, HTTP_503_SERVICE_UNAVAILABLE

from govflow import __version__
from govflow.bootstrap import Container
from govflow.bootstrap.jira import circuit_state
from govflow.core.audit_events import AuditEvent
from govflow.http.envelope import Envelope, ok
from govflow.http.policy import public, roles
from govflow.usecases.audit import AuditEntry
from govflow.usecases.principal import Principal, Role


async def dependency_status(services: Container) -> dict[str, str]:
    return {
        "database": "up" if await services.db.ping() else "down",
        "redis": "up" if await services.redis_ok() else "down",
    }


class MigrationStatus(msgspec.Struct, frozen=True):
    applied: list[str]
    pending: list[str]


class DeepHealth(msgspec.Struct, frozen=True):
    status: str
    version: str
    checks: dict[str, str]
    plugins: list[str]
    plugin_count: int
    migrations: MigrationStatus


async def _migrations(services: Container) -> MigrationStatus:
    applied, pending = await services.migrations()
    return MigrationStatus(applied=applied, pending=pending)


class HealthController(Controller):
    tags = ["health"]

    @get("/health", operation_id="getHealth", summary="Public health summary", **public())
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

    @get("/livez", operation_id="getLivez", summary="The process is alive", **public())
    async def livez(self) -> dict[str, str]:
        return {"status": "alive"}

    @get("/readyz", operation_id="getReadyz", summary="Database and Redis reachable", **public())
    async def readyz(self, services: NamedDependency[Container]) -> Response[dict[str, object]]:
        status = await dependency_status(services)
        ready = all(state == "up" for state in status.values())
        return Response(
            {"status": "ready" if ready else "not ready", "checks": status},
            status_code=HTTP_200_OK if ready else HTTP_503_SERVICE_UNAVAILABLE,
        )

    @get(
        "/health/deep",
        operation_id="getDeepHealth",
        summary="Dependencies, plugins and migrations (audited)",
        **roles(Role.ADMIN),
    )
    async def deep(
        self, services: NamedDependency[Container], principal: NamedDependency[Principal]
    ) -> Envelope[DeepHealth]:
        """Every dependency in detail; each call is recorded as HEALTH_CHECK_DEEP_EXECUTED."""
        checks = await dependency_status(services)
        try:
            plugins = list(services.plugins.plugin_names())
            checks["plugins"] = "up"
        except Exception:
            plugins = []
            checks["plugins"] = "down"
        migrations = await _migrations(services)
        checks["migrations"] = "up" if not migrations.pending else "pending"
        circuit = await circuit_state(services.plugins)
        if circuit is not None:
            checks["jira"] = "up" if circuit == "closed" else f"circuit_{circuit}"
        healthy = all(state == "up" for state in checks.values())
        report = DeepHealth(
            status="ok" if healthy else "degraded",
            version=__version__,
            checks=checks,
            plugins=plugins,
            plugin_count=len(plugins),
            migrations=migrations,
        )
        if checks["database"] == "up":
            await services.record_audit(
                [
                    AuditEntry(
                        action=AuditEvent.HEALTH_CHECK_DEEP_EXECUTED,
                        actor=principal.actor(),
                        request_id=principal.request_id,
                        metadata={"status": report.status, "checks": checks},
                    )
                ]
            )
        return ok(report, "Deep health check completed")
