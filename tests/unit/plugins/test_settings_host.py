"""Plugin settings and load failures as the host meets them: ``govflow plugins list`` shows
settings masked and broken plugins with why, a server refuses to start on a malformed plugin
setting (exit status 2, one line per problem), and commands that do not need a broken plugin
still work."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from govflow.cli.main import cli
from govflow.plugins import PluginManager

PASSWORD = "hunter2-smtp-password"
BROKEN = "tests.support.broken_plugins"
UNIMPORTABLE = "tests.support.unimportable_plugin"


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> pytest.MonkeyPatch:
    """Only the built-in manual and notification plugins, no ``.env`` file, no stray
    notification variables."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("GOVFLOW_PLUGINS_ALLOW", f"manual,notification,{BROKEN},{UNIMPORTABLE}")
    monkeypatch.delenv("GOVFLOW_PLUGINS_MODULES", raising=False)
    for name in [*__import__("os").environ]:
        if name.startswith(("GOVFLOW_NOTIFICATION_", "GOVFLOW_PLUGIN_NOTIFICATION_")):
            monkeypatch.delenv(name)
    return monkeypatch


def listed(args: list[str] | None = None) -> dict[str, dict[str, object]]:
    result = CliRunner().invoke(cli, ["plugins", "list", "--json", *(args or [])])
    assert result.exit_code == 0, result.output
    return {plugin["name"]: plugin for plugin in json.loads(result.stdout)["plugins"]}


def test_settings_are_listed_with_secrets_masked(env: pytest.MonkeyPatch) -> None:
    env.setenv("GOVFLOW_NOTIFICATION_SMTP_USERNAME", "mailer")
    env.setenv("GOVFLOW_NOTIFICATION_SMTP_PASSWORD", PASSWORD)
    env.setenv("GOVFLOW_PLUGIN_NOTIFICATION_SMTP_PORT", "2525")
    settings = {s["name"]: s for s in listed()["notification"]["settings"]}  # type: ignore[index]
    assert settings["smtp_password"]["value"] == "***"
    assert settings["smtp_password"]["secret"] is True
    assert settings["smtp_username"]["value"] == "mailer"
    assert settings["smtp_port"]["value"] == "2525"
    assert settings["smtp_port"]["variable"] == "GOVFLOW_NOTIFICATION_SMTP_PORT"
    assert settings["smtp_timeout"]["default"] == "10.0"
    table = CliRunner().invoke(cli, ["plugins", "list"])
    assert table.exit_code == 0
    assert "GOVFLOW_NOTIFICATION_SMTP_PASSWORD" in table.output
    assert PASSWORD not in table.output


def test_malformed_settings_show_the_plugin_broken(env: pytest.MonkeyPatch) -> None:
    env.setenv("GOVFLOW_NOTIFICATION_SMTP_PORT", "smtp")
    env.setenv("GOVFLOW_NOTIFICATION_SMTP_PASSWORD", PASSWORD)
    plugins = listed()
    assert plugins["notification"]["broken"] == [
        "GOVFLOW_NOTIFICATION_SMTP_PORT: Expected `int`, got `str`"
    ]
    assert plugins["manual"]["broken"] == []
    result = CliRunner().invoke(cli, ["plugins", "list"])
    assert "notification: GOVFLOW_NOTIFICATION_SMTP_PORT: Expected `int`" in result.output
    assert PASSWORD not in result.output


def test_plugins_that_fail_to_load_are_listed_by_name_with_why(env: pytest.MonkeyPatch) -> None:
    env.setenv("GOVFLOW_PLUGINS_MODULES", f"{BROKEN},{UNIMPORTABLE}")
    plugins = listed()
    assert plugins[UNIMPORTABLE]["broken"] == ["ImportError: libfoo is not installed"]
    (problem,) = plugins[BROKEN]["broken"]  # type: ignore[misc]
    assert "action 'opaque': inputs OpaqueInputs has no JSON Schema" in problem
    assert plugins[BROKEN]["actions"] == []
    assert [a["name"] for a in plugins["manual"]["actions"]] == ["manual"]  # type: ignore[index]


def test_a_command_that_does_not_need_a_broken_plugin_works(
    env: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    env.setenv("GOVFLOW_PLUGINS_MODULES", f"{BROKEN},{UNIMPORTABLE}")
    env.setenv("GOVFLOW_NOTIFICATION_SMTP_PORT", "smtp")
    workflow = tmp_path / "hello.yaml"
    workflow.write_text(
        "name: hello\ntitle: Hello\ndepartment: general-administration\nsteps:\n"
        "  - id: greet\n    action: notification\n"
        "    with: {channel: log, message: Hello}\n"
    )
    result = CliRunner().invoke(cli, ["workflows", "validate", str(workflow)])
    assert result.exit_code == 0, result.output
    uses_broken = tmp_path / "opaque.yaml"
    uses_broken.write_text(workflow.read_text().replace("action: notification", "action: opaque"))
    result = CliRunner().invoke(cli, ["workflows", "validate", str(uses_broken)])
    assert result.exit_code != 0
    assert "opaque" in result.output


@pytest.mark.parametrize("command", ["worker", "scheduler", "api", "up"])
def test_a_server_refuses_to_start_on_a_malformed_plugin_setting(
    env: pytest.MonkeyPatch, command: str
) -> None:
    env.setenv("GOVFLOW_NOTIFICATION_SMTP_TIMEOUT", "-3")
    env.setenv("GOVFLOW_NOTIFICATION_WEBHOOK_FOLLOW_REDIRECTS", "perhaps")
    env.setenv("GOVFLOW_NOTIFICATION_SMTP_PASSWORD", PASSWORD)
    result = CliRunner().invoke(cli, [command])
    assert result.exit_code == 2
    lines = [line for line in result.stderr.splitlines() if line.startswith("govflow:")]
    assert lines == [
        "govflow: configuration: GOVFLOW_NOTIFICATION_SMTP_TIMEOUT: Expected `float` > 0.0",
        "govflow: configuration: GOVFLOW_NOTIFICATION_WEBHOOK_FOLLOW_REDIRECTS: must be true or "
        "false (yes/no, on/off, 1/0)",
    ]
    assert PASSWORD not in result.output


def test_settings_problems_name_only_settings_not_load_failures(env: pytest.MonkeyPatch) -> None:
    environment = {
        "GOVFLOW_PLUGINS_ALLOW": f"notification,{UNIMPORTABLE}",
        "GOVFLOW_PLUGINS_MODULES": UNIMPORTABLE,
        "GOVFLOW_NOTIFICATION_SMTP_SSL": "1",
        "GOVFLOW_NOTIFICATION_SMTP_STARTTLS": "1",
    }
    manager = PluginManager.from_env(environment)
    assert manager.settings_problems(environment) == [
        "plugin 'notification' settings: GOVFLOW_NOTIFICATION_SMTP_SSL and "
        "GOVFLOW_NOTIFICATION_SMTP_STARTTLS exclude each other"
    ]
    assert set(manager.broken()) == {"notification", UNIMPORTABLE}
