"""The Litestar application: routes, dependencies and the lifespan that owns the container."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from litestar import Litestar
from litestar.di import Provide

from govflow.bootstrap import Container, container
from govflow.http.health import HealthController
from govflow.settings import Settings


def create_app(settings: Settings, services: Container | None = None) -> Litestar:
    """The app; it builds its own container unless one is given (tests share theirs)."""
    state: dict[str, Container] = {}

    @contextlib.asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        if services is not None:
            state["services"] = services
            yield
            return
        async with container(settings) as built:
            state["services"] = built
            yield

    def provide_services() -> Container:
        return state["services"]

    return Litestar(
        route_handlers=[HealthController],
        dependencies={"services": Provide(provide_services, sync_to_thread=False)},
        lifespan=[lifespan],
        debug=False,
    )
