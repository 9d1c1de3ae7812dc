"""The engine in one process (the test plugin, a collecting queue), for the trigger tests."""

from __future__ import annotations

from tests.integration.engine.conftest import engine

__all__ = ["engine"]
