"""The engine in one process: a started container with the test plugin and a collecting queue."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from govflow.bootstrap import Container, container
from govflow.settings import Settings
from tests.support.engine import CollectingQueue, plugins_for_tests, prepare_effects


@pytest.fixture
async def engine(
    settings: Settings, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Container]:
    monkeypatch.setenv("GOVFLOW_TEST_EFFECTS_DSN", database_url)
    await prepare_effects(database_url)
    async with container(settings, plugins=plugins_for_tests()) as services:
        services.queue = CollectingQueue()  # type: ignore[assignment]
        yield services
