"""Human tasks acted on through the use case, with the engine in one process."""

from __future__ import annotations

from tests.integration.engine.conftest import engine
from tests.support.peers import (  # noqa: F401 - fixtures
    smtp_server,
    start_smtp_server,
    webhook_receiver,
)

__all__ = ["engine"]
