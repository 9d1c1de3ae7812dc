"""Human tasks acted on through the use case, with the engine in one process."""

from __future__ import annotations

from tests.integration.engine.conftest import engine

__all__ = ["engine"]
