"""Fixtures for tests that talk to the Jira emulator (import them into a test module or a
conftest): ``jira_emulator`` serves a fresh emulator in the test's event loop, ``jira_api`` is an
``httpx.AsyncClient`` signed in as the seed's first account whose every request and response is
validated against the vendored OpenAPI document (``jira.spec`` holds the validating transport)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from govflow.devtools.jira_emulator import JiraEmulator
from tests.support.jira.validation import SpecValidatingTransport


class ValidatedJira(httpx.AsyncClient):
    """An httpx client whose traffic is validated; :attr:`spec` is its transport."""

    spec: SpecValidatingTransport


def jira_client(emulator: JiraEmulator, *, auth: tuple[str, str] | None = None) -> ValidatedJira:
    """A validated client of ``emulator`` (signed in as its first account unless ``auth``)."""
    spec = SpecValidatingTransport()
    user = emulator.user
    client = ValidatedJira(
        base_url=emulator.url,
        auth=auth or (user.email, user.api_token),
        transport=spec,
        timeout=30,
    )
    client.spec = spec
    return client


@pytest.fixture
async def jira_emulator() -> AsyncIterator[JiraEmulator]:
    """A started emulator with the default seed (projects PERMIT and INC)."""
    async with JiraEmulator() as emulator:
        yield emulator


@pytest.fixture
async def jira_api(jira_emulator: JiraEmulator) -> AsyncIterator[ValidatedJira]:
    """A validated client signed in as ``govflow@example.com``; no exchange may break the
    document (checked again after the test, in case the test caught the error)."""
    async with jira_client(jira_emulator) as client:
        yield client
    client.spec.assert_clean()
