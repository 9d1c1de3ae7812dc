"""Fixtures of the Jira tests: the emulator and a client whose traffic is validated against
the vendored OpenAPI document (tests/support/jira)."""

from __future__ import annotations

from tests.support.jira.fixtures import jira_api, jira_emulator  # noqa: F401 - fixtures
