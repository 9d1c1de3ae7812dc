"""Resources from the host: what ``govflow_startup`` returns reaches the plugin's actions as
``ctx.resources`` (and ``govflow_shutdown``), ``ctx.http`` is always a client, and the test kit
starts a plugin as a host would, refusing a broken one by name."""

from __future__ import annotations

import types
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import httpx
import msgspec
import pytest

from govflow.plugins import (
    Action,
    ActionContext,
    ActionRegistry,
    BusinessError,
    Idempotency,
    NoSettings,
    PluginError,
    PluginHost,
    PluginManager,
    Secret,
    hookimpl,
)
from govflow.testing import make_context, started_plugin


class PingSettings(msgspec.Struct, frozen=True, kw_only=True):
    url: str = "https://ping.example/"
    token: Secret | None = None


@dataclass(frozen=True)
class Pinger:
    url: str
    closed: list[str]


class PingInputs(msgspec.Struct, frozen=True):
    text: str


class Ping(Action):
    name: ClassVar[str] = "ping"
    description: ClassVar[str] = "Ping the service."
    inputs: ClassVar[type[msgspec.Struct]] = PingInputs
    idempotency: ClassVar[Idempotency] = Idempotency.NONE

    async def execute(self, ctx: ActionContext, params: PingInputs) -> Mapping[str, Any]:
        pinger = ctx.resource(Pinger)
        response = await ctx.http.get(pinger.url, params={"text": params.text})
        return {"status": response.status_code, "text": response.text}


def ping_plugin(closed: list[str], *, fail: bool = False) -> types.ModuleType:
    module = types.ModuleType("ping")

    @hookimpl
    def govflow_register_actions(register: ActionRegistry) -> None:
        register.add(Ping())

    @hookimpl
    def govflow_settings() -> type[msgspec.Struct]:
        return PingSettings

    @hookimpl
    async def govflow_startup(settings: PingSettings, host: PluginHost) -> Pinger:
        if fail:
            raise ConnectionError("the ping service is down")
        return Pinger(settings.url, closed)

    @hookimpl
    def govflow_shutdown(resources: Pinger) -> None:
        resources.closed.append(resources.url)

    for hook in (govflow_register_actions, govflow_settings, govflow_startup, govflow_shutdown):
        setattr(module, hook.__name__, hook)
    return module


def echo_transport() -> httpx.MockTransport:
    return httpx.MockTransport(
        lambda request: httpx.Response(200, text=request.url.params.get("text", ""))
    )


async def test_startup_resources_reach_the_actions_and_come_back_to_shutdown() -> None:
    closed: list[str] = []
    async with httpx.AsyncClient(transport=echo_transport()) as http:
        env = {"GOVFLOW_PING_URL": "https://ping.internal/"}
        async with started_plugin(ping_plugin(closed), name="ping", env=env, http=http) as ping:
            assert ping.resources == Pinger("https://ping.internal/", closed)
            assert await ping.run("ping", {"text": "hi"}) == {"status": 200, "text": "hi"}
            assert closed == []
    assert closed == ["https://ping.internal/"]


async def test_a_failing_startup_is_refused_by_the_kit_naming_the_plugin() -> None:
    with pytest.raises(PluginError, match=r"plugin 'ping' is broken: startup: ConnectionError"):
        async with started_plugin(ping_plugin([], fail=True), name="ping"):
            pass


async def test_a_secret_setting_reaches_the_plugin_masked() -> None:
    env = {"GOVFLOW_PING_TOKEN": "s3cr3t-token", "GOVFLOW_PING_URL": ""}
    async with started_plugin(ping_plugin([]), name="ping", env=env) as ping:
        assert "s3cr3t-token" not in repr(ping.settings)
        assert ping.settings.token.reveal() == "s3cr3t-token"


async def test_resource_checks_the_type() -> None:
    with pytest.raises(BusinessError, match="this process offers no Pinger"):
        make_context().resource(Pinger)
    pinger = Pinger("u", [])
    assert make_context(resources=pinger).resource(Pinger) is pinger


def test_the_context_always_has_a_client_and_settings() -> None:
    ctx = make_context()
    assert isinstance(ctx.http, httpx.AsyncClient)
    assert ctx.settings == NoSettings()
    assert ctx.resources is None
    with pytest.raises(TypeError, match="no field"):
        make_context(extras={})


def test_a_declaration_that_is_not_a_struct_sets_the_plugin_aside() -> None:
    module = types.ModuleType("odd")

    @hookimpl
    def govflow_settings() -> object:
        return dict

    module.govflow_settings = govflow_settings  # type: ignore[attr-defined]
    manager = PluginManager()
    manager.register(module)
    (problem,) = manager.broken()["odd"].problems
    assert problem.startswith("settings: PluginError: govflow_settings returned <class 'dict'>")


def test_the_kit_fixture_refuses_a_broken_plugin(
    govflow_plugin_manager: Callable[..., PluginManager],
) -> None:
    module = types.ModuleType("failing")

    @hookimpl
    def govflow_register_actions(register: ActionRegistry) -> None:
        raise RuntimeError("cannot register")

    module.govflow_register_actions = govflow_register_actions  # type: ignore[attr-defined]
    with pytest.raises(PluginError, match="plugin 'failing' is broken: RuntimeError"):
        govflow_plugin_manager(module)
