"""A plugin may not read its settings from GovFlow's own variables nor from another plugin's:
such a plugin is refused at load, the problem naming the plugin and the variable."""

from __future__ import annotations

import logging
import types
from typing import Annotated

import msgspec
import pytest

from govflow.plugins import Env, PluginLoadError, PluginManager, hookimpl
from govflow.plugins.namespace import name_problem


def plugin(name: str, struct: type[msgspec.Struct] | None = None) -> types.ModuleType:
    module = types.ModuleType(name)
    if struct is not None:

        @hookimpl
        def govflow_settings() -> type[msgspec.Struct]:
            return struct

        module.govflow_settings = govflow_settings  # type: ignore[attr-defined]
    return module


class Allow(msgspec.Struct, frozen=True, kw_only=True):
    allow: str = "x"


class ReadsTheDatabase(msgspec.Struct, frozen=True, kw_only=True):
    database: Annotated[str | None, Env("DATABASE_URL")] = None


class ReadsTheMode(msgspec.Struct, frozen=True, kw_only=True):
    mode: Annotated[str | None, Env("GOVFLOW_MODE")] = None


class ReadsASecret(msgspec.Struct, frozen=True, kw_only=True):
    token: Annotated[str | None, Env("GOVFLOW_SECRET_TOKEN")] = None


class SiteUrl(msgspec.Struct, frozen=True, kw_only=True):
    url: Annotated[str | None, Env("SITE_URL")] = None


@pytest.mark.parametrize("name", ["plugins", "secret", "plugin", "plugins-extra", "secret.store"])
def test_a_name_in_govflow_s_own_namespace_is_refused_at_load(name: str) -> None:
    manager = PluginManager()
    with pytest.raises(PluginLoadError) as caught:
        manager.register(plugin(name, Allow), name=name)
    assert f"plugin {name!r}" in str(caught.value)
    assert "GOVFLOW_" in caught.value.cause
    assert "rename the plugin" in caught.value.cause
    assert name not in manager.plugin_names()


def test_the_plugins_name_names_the_selection_variables() -> None:
    problem = name_problem("plugins")
    assert problem is not None
    assert "GOVFLOW_PLUGINS_<FIELD>" in problem
    assert "plugin selection" in problem
    assert name_problem("pluginsmith") is None
    assert name_problem("secretary") is None


def test_a_plugin_named_plugins_is_listed_broken_with_why(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    module = plugin("plugins", Allow)
    monkeypatch.setitem(__import__("sys").modules, "plugins", module)
    manager = PluginManager.from_env(
        {"GOVFLOW_PLUGINS_ALLOW": "plugins", "GOVFLOW_PLUGINS_MODULES": "plugins"}
    )
    broken = manager.broken()["plugins"]
    assert "GOVFLOW_PLUGINS_<FIELD>" in broken.reason
    assert manager.plugin_names() == []


@pytest.mark.parametrize(
    ("struct", "variable"),
    [
        (ReadsTheDatabase, "DATABASE_URL"),
        (ReadsTheMode, "GOVFLOW_MODE"),
        (ReadsASecret, "GOVFLOW_SECRET_TOKEN"),
    ],
)
def test_a_setting_read_from_a_core_variable_is_refused(
    struct: type[msgspec.Struct], variable: str, caplog: pytest.LogCaptureFixture
) -> None:
    manager = PluginManager()
    manager.register(plugin("greedy", struct), name="greedy")
    manager.register(plugin("modest", SiteUrl), name="modest")
    with caplog.at_level(logging.WARNING, logger="govflow.plugins"):
        assert set(manager.settings_types()) == {"modest"}
    (problem,) = manager.broken()["greedy"].problems
    assert problem.startswith(f"settings: setting variable {variable} is ")
    assert "plugin 'greedy'" in caplog.text
    assert variable in caplog.text
    assert manager.plugin_names() == ["modest"]
    assert manager.settings({variable: "x"}).for_plugin("modest") == SiteUrl()


def test_two_plugins_reading_one_variable_set_the_second_aside() -> None:
    manager = PluginManager()
    manager.register(plugin("first", SiteUrl), name="first")
    manager.register(plugin("second", SiteUrl), name="second")
    assert set(manager.settings_types()) == {"first"}
    assert manager.broken()["second"].problems == [
        "settings: setting variable SITE_URL is read by plugin 'first' already; "
        "read the setting from another variable"
    ]


def test_the_builtin_plugins_claim_no_core_variable() -> None:
    manager = PluginManager.from_env({})
    assert manager.broken() == {}
    assert {"jira", "manual", "notification"} <= set(manager.plugin_names())
