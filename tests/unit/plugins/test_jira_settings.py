"""Jira is configured by the ``jira`` plugin's settings alone: GovFlow's own settings do not know
it, every documented variable still works, a wrong value still stops a server naming the
variable, and the Node GovFlow's ``JIRA_TIMEOUT_MS`` is read as ``JIRA_TIMEOUT_SECONDS``."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from click.testing import CliRunner
from govflow_jira.config import JiraSettings

from govflow.cli.main import cli
from govflow.plugins import PluginSettingsError, Secret
from govflow.plugins.settings import read_settings
from govflow.settings import Settings, core_variables

TOKEN = "jira-token-never-shown"


def jira(env: dict[str, str]) -> JiraSettings:
    return read_settings("jira", JiraSettings, env)


def problems(env: dict[str, str]) -> list[str]:
    with pytest.raises(PluginSettingsError) as caught:
        jira(env)
    return caught.value.problems


def test_the_core_settings_know_no_jira_variable() -> None:
    assert not [name for name in Settings.model_fields if "jira" in name]
    assert not [name for name in core_variables() if "JIRA" in name]


def test_every_documented_variable_is_read_by_the_plugin() -> None:
    settings = jira(
        {
            "JIRA_ENABLED": "true",
            "JIRA_BASE_URL": "https://example.atlassian.net",
            "JIRA_EMAIL": "govflow@example.com",
            "JIRA_API_TOKEN": TOKEN,
            "JIRA_TIMEOUT_SECONDS": "7.5",
            "JIRA_RATE_LIMIT_WINDOW_MS": "900000",
            "JIRA_RATE_LIMIT_MAX": "30",
        }
    )
    assert settings.configured
    assert settings.api_token == Secret(TOKEN)
    assert settings.timeout_seconds == 7.5
    assert (settings.rate_limit_window_ms, settings.rate_limit_max) == (900000, 30)
    assert jira({"GOVFLOW_JIRA_TIMEOUT_SECONDS": "3"}).timeout_seconds == 3.0


def test_the_seed_timeout_in_milliseconds_is_read_in_seconds() -> None:
    assert jira({"JIRA_TIMEOUT_MS": "2500"}).timeout_seconds == 2.5
    same = {"JIRA_TIMEOUT_MS": "10000", "JIRA_TIMEOUT_SECONDS": "10"}
    assert jira(same).timeout_seconds == 10.0


def test_both_timeouts_set_to_different_values_name_both() -> None:
    found = problems({"JIRA_TIMEOUT_MS": "1000", "JIRA_TIMEOUT_SECONDS": "10"})
    assert found == ["JIRA_TIMEOUT_SECONDS: JIRA_TIMEOUT_MS is set to another value; set only one"]


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"JIRA_TIMEOUT_MS": "soon"}, "JIRA_TIMEOUT_MS: must be a number"),
        (
            {"JIRA_TIMEOUT_MS": "200000"},
            "JIRA_TIMEOUT_MS (divided by 1000): Expected `float` <= 120",
        ),
        ({"JIRA_TIMEOUT_SECONDS": "0"}, "JIRA_TIMEOUT_SECONDS: Expected `float` > 0"),
        ({"JIRA_ENABLED": "maybe"}, "JIRA_ENABLED: must be true or false"),
        (
            {"JIRA_ENABLED": "true", "JIRA_EMAIL": "a@example.com"},
            "required when JIRA_ENABLED=true: JIRA_BASE_URL, JIRA_API_TOKEN",
        ),
    ],
)
def test_a_wrong_value_names_its_variable(env: dict[str, str], expected: str) -> None:
    (problem,) = problems(env)
    assert expected in problem


@pytest.fixture
def only_jira(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> pytest.MonkeyPatch:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("GOVFLOW_PLUGINS_ALLOW", "jira")
    monkeypatch.delenv("GOVFLOW_PLUGINS_MODULES", raising=False)
    for name in [*os.environ]:
        if "JIRA_" in name:
            monkeypatch.delenv(name)
    return monkeypatch


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"JIRA_ENABLED": "maybe"}, "govflow: configuration: JIRA_ENABLED: must be true or false"),
        (
            {"JIRA_ENABLED": "true", "JIRA_API_TOKEN": TOKEN},
            "required when JIRA_ENABLED=true: JIRA_BASE_URL, JIRA_EMAIL",
        ),
        (
            {"JIRA_TIMEOUT_MS": "1000", "JIRA_TIMEOUT_SECONDS": "10"},
            "govflow: configuration: JIRA_TIMEOUT_SECONDS: JIRA_TIMEOUT_MS is set to another value",
        ),
    ],
)
def test_a_server_does_not_start_on_a_wrong_jira_value(
    only_jira: pytest.MonkeyPatch, env: dict[str, str], expected: str
) -> None:
    for name, value in env.items():
        only_jira.setenv(name, value)
    result = CliRunner().invoke(cli, ["worker"])
    assert result.exit_code == 2, result.output
    assert expected in result.stderr
    assert TOKEN not in result.output
