"""The plugin manager: loading, selection, errors, tracing, settings, lifecycle."""

from __future__ import annotations

import logging
import types
from importlib import metadata
from typing import Any, ClassVar

import httpx
import msgspec
import pytest

from govflow.plugins import (
    Action,
    ActionContext,
    ActionRegistry,
    DuplicateActionError,
    Idempotency,
    InvalidActionError,
    PluginHost,
    PluginLoadError,
    PluginManager,
    PluginSelection,
    UnknownHookError,
    hookimpl,
)


class EchoInputs(msgspec.Struct, frozen=True):
    text: str


class Echo(Action):
    name: ClassVar[str] = "echo"
    description: ClassVar[str] = "Echo the text."
    inputs: ClassVar[type[msgspec.Struct]] = EchoInputs
    idempotency: ClassVar[Idempotency] = Idempotency.NONE

    async def execute(self, ctx: ActionContext, params: EchoInputs) -> dict[str, Any]:
        return {"text": params.text}


def plugin(name: str, *actions: Action) -> types.ModuleType:
    module = types.ModuleType(name)

    @hookimpl
    def govflow_register_actions(register: ActionRegistry) -> None:
        for action in actions:
            register.add(action)

    module.govflow_register_actions = govflow_register_actions  # type: ignore[attr-defined]
    return module


class FakeEntryPoint:
    """Stands in for ``importlib.metadata.EntryPoint``."""

    def __init__(self, name: str, value: str, module: object | Exception) -> None:
        self.name, self.value, self.group, self.dist = name, value, "govflow.plugins", None
        self._module = module

    def load(self) -> object:
        if isinstance(self._module, Exception):
            raise self._module
        return self._module


@pytest.fixture
def entry_points(monkeypatch: pytest.MonkeyPatch) -> list[FakeEntryPoint]:
    found: list[FakeEntryPoint] = []

    def fake(*, group: str) -> list[FakeEntryPoint]:
        return [ep for ep in found if ep.group == group]

    monkeypatch.setattr(metadata, "entry_points", fake)
    return found


def test_builtins_load_through_the_entry_point_group() -> None:
    manager = PluginManager.from_env({})
    assert {"manual", "notification", "jira"} <= set(manager.plugin_names())
    registry = manager.actions()
    assert registry.owner("manual") == "manual"
    assert registry.owner("jira_comment") == "jira"
    infos = {info.name: info for info in manager.plugin_info()}
    assert infos["manual"].version == metadata.version("govflow")
    assert infos["manual"].distribution == "govflow"


def test_allow_loads_only_the_named_plugins() -> None:
    manager = PluginManager.from_env({"GOVFLOW_PLUGINS_ALLOW": "manual, jira"})
    assert set(manager.plugin_names()) == {"manual", "jira"}


def test_block_wins() -> None:
    env = {"GOVFLOW_PLUGINS_ALLOW": "manual,jira", "GOVFLOW_PLUGINS_BLOCK": "jira"}
    assert PluginManager.from_env(env).plugin_names() == ["manual"]


def test_allow_naming_an_absent_plugin_reports_it_broken() -> None:
    manager = PluginManager.from_env({"GOVFLOW_PLUGINS_ALLOW": "mannual"})
    assert manager.plugin_names() == []
    (problem,) = manager.broken()["mannual"].problems
    assert "allowed but not installed" in problem


def test_selection_from_env() -> None:
    selection = PluginSelection.from_env(
        {"GOVFLOW_PLUGINS_ALLOW": "", "GOVFLOW_PLUGINS_BLOCK": "a,b", "GOVFLOW_PLUGINS_TRACE": "1"}
    )
    assert selection == PluginSelection(allow=None, block=frozenset({"a", "b"}), trace=True)
    assert not selection.admits("a")
    assert selection.admits("c")


def test_failing_import_names_the_plugin_and_the_cause(
    entry_points: list[FakeEntryPoint],
) -> None:
    entry_points.append(FakeEntryPoint("broken", "govflow_broken", ImportError("no module x")))
    entry_points.append(FakeEntryPoint("echo", "govflow_echo", plugin("echo", Echo())))
    manager = PluginManager()
    assert manager.load_entry_points() == ["echo"]
    broken = manager.broken()["broken"]
    assert broken.problems == ["ImportError: no module x"]
    assert broken.entry_point == "govflow_broken"
    assert manager.plugin_names() == ["echo"]
    assert manager.actions().names() == ["echo"]


def test_blocked_plugin_is_not_even_imported(entry_points: list[FakeEntryPoint]) -> None:
    entry_points.append(FakeEntryPoint("broken", "govflow_broken", ImportError("boom")))
    entry_points.append(FakeEntryPoint("echo", "govflow_echo", plugin("echo", Echo())))
    manager = PluginManager(PluginSelection(block=frozenset({"broken"})))
    assert manager.load_entry_points() == ["echo"]


def test_duplicate_action_names_both_plugins_and_sets_the_second_aside() -> None:
    manager = PluginManager()
    manager.register(plugin("first", Echo()))
    manager.register(plugin("second", Echo()))
    assert manager.actions().owner("echo") == "first"
    (problem,) = manager.broken()["second"].problems
    assert problem == "action 'echo' is registered by both plugin 'first' and plugin 'second'"
    registry = ActionRegistry()
    registry.registering_for("first").add(Echo())
    with pytest.raises(DuplicateActionError, match=r"'echo'.*'first'.*'second'"):
        registry.registering_for("second").add(Echo())


def test_registry_rejects_what_is_not_an_action() -> None:
    class Nameless:
        name = "Bad Name"

    with pytest.raises(InvalidActionError, match="name must match"):
        ActionRegistry().add(Nameless())  # type: ignore[arg-type]


def test_registry_by_name() -> None:
    manager = PluginManager()
    manager.register(plugin("echoes", Echo()))
    registry = manager.actions()
    assert registry.names() == ["echo"]
    assert "echo" in registry
    assert isinstance(registry.get("echo"), Echo)
    assert registry.inputs() == {"echo": EchoInputs}
    assert registry.owner("echo") == "echoes"


def test_check_pending_catches_a_misspelled_hook() -> None:
    module = types.ModuleType("typo")

    @hookimpl
    def govflow_register_action(register: ActionRegistry) -> None:
        """Misspelled: the s is missing."""

    module.govflow_register_action = govflow_register_action  # type: ignore[attr-defined]
    manager = PluginManager()
    manager.register(module)
    with pytest.raises(UnknownHookError, match=r"'typo'.*govflow_register_action"):
        manager.check_pending()
    manager.set_aside_unknown_hooks()
    assert "govflow_register_action" in manager.broken()["typo"].reason
    assert manager.plugin_names() == []


def test_wrong_hook_arguments_are_a_load_error() -> None:
    module = types.ModuleType("wrong")

    @hookimpl
    def govflow_register_actions(registry: ActionRegistry) -> None:
        """The argument must be called ``register``."""

    module.govflow_register_actions = govflow_register_actions  # type: ignore[attr-defined]
    with pytest.raises(PluginLoadError, match="plugin 'wrong' failed to load"):
        PluginManager().register(module)


def test_trace_logs_hook_calls(caplog: pytest.LogCaptureFixture) -> None:
    manager = PluginManager(PluginSelection(trace=True))
    manager.register(plugin("echoes", Echo()))
    with caplog.at_level(logging.INFO, logger="govflow.plugins"):
        manager.actions()
    assert "hook govflow_register_actions calling ['echoes']" in caplog.text


def test_no_trace_by_default(caplog: pytest.LogCaptureFixture) -> None:
    manager = PluginManager()
    manager.register(plugin("echoes", Echo()))
    with caplog.at_level(logging.INFO, logger="govflow.plugins"):
        manager.actions()
    assert caplog.text == ""


class LifecycleSettings(msgspec.Struct, frozen=True, kw_only=True):
    key: str


async def test_lifecycle_hooks_may_be_async_and_carry_settings_and_resources() -> None:
    calls: list[str] = []
    module = types.ModuleType("lifecycle")

    @hookimpl
    def govflow_settings() -> type[msgspec.Struct]:
        return LifecycleSettings

    @hookimpl
    async def govflow_startup(settings: LifecycleSettings, host: PluginHost) -> dict[str, str]:
        calls.append(f"start {settings.key} {host.process}")
        return {"client": settings.key}

    @hookimpl
    def govflow_shutdown(resources: dict[str, str]) -> None:
        calls.append(f"stop {resources['client']}")

    module.govflow_settings = govflow_settings  # type: ignore[attr-defined]
    module.govflow_startup = govflow_startup  # type: ignore[attr-defined]
    module.govflow_shutdown = govflow_shutdown  # type: ignore[attr-defined]
    manager = PluginManager()
    manager.register(module)
    settings = manager.settings({"GOVFLOW_LIFECYCLE_KEY": "v"})
    async with httpx.AsyncClient() as http:
        await manager.startup(settings, PluginHost(http=http, process="worker"))
    assert manager.resources("lifecycle") == {"client": "v"}
    await manager.shutdown()
    assert calls == ["start v worker", "stop v"]


async def test_a_failing_startup_sets_only_that_plugin_aside(
    caplog: pytest.LogCaptureFixture,
) -> None:
    failing, working = types.ModuleType("failing"), types.ModuleType("working")

    @hookimpl
    def fail() -> None:
        raise RuntimeError("no route to the service")

    @hookimpl
    def work() -> str:
        return "ready"

    failing.govflow_startup = fail  # type: ignore[attr-defined]
    failing.govflow_register_actions = plugin("x", Echo()).govflow_register_actions  # type: ignore[attr-defined]
    working.govflow_startup = work  # type: ignore[attr-defined]
    manager = PluginManager()
    manager.register(failing)
    manager.register(working)
    assert manager.actions().names() == ["echo"]
    with caplog.at_level(logging.ERROR, logger="govflow.plugins"):
        async with httpx.AsyncClient() as http:
            await manager.startup(manager.settings({}), PluginHost(http=http))
    assert manager.resources("working") == "ready"
    assert manager.broken()["failing"].problems == [
        "startup: RuntimeError: no route to the service"
    ]
    assert "plugin 'failing' failed to start" in caplog.text
    assert manager.actions().names() == []


async def test_a_failing_shutdown_does_not_stop_the_others(
    caplog: pytest.LogCaptureFixture,
) -> None:
    stopped: list[str] = []
    failing, working = types.ModuleType("failing"), types.ModuleType("working")

    @hookimpl
    async def fail() -> None:
        raise RuntimeError("cannot close")

    @hookimpl
    def work() -> None:
        stopped.append("working")

    failing.govflow_shutdown = fail  # type: ignore[attr-defined]
    working.govflow_shutdown = work  # type: ignore[attr-defined]
    manager = PluginManager()
    manager.register(failing)
    manager.register(working)
    with caplog.at_level(logging.ERROR, logger="govflow.plugins"):
        await manager.shutdown()
    assert stopped == ["working"]
    assert "plugin 'failing' failed to shut down" in caplog.text


def test_action_info_carries_strategy_and_schema() -> None:
    manager = PluginManager()
    manager.register(plugin("echoes", Echo()))
    (info,) = manager.plugin_info()
    assert info.version is None
    (action,) = info.actions
    assert action.idempotency == "none"
    assert action.refines_idempotency is False
    assert action.inputs_schema == msgspec.json.schema(EchoInputs)


def test_the_default_strategy_is_the_class_strategy() -> None:
    assert Echo().idempotency_for(EchoInputs(text="x")) is Idempotency.NONE
