"""``govflow_secret_providers``: each started plugin's providers, in registration order; a
plugin whose hook fails or offers no provider is set aside like a failed startup."""

from __future__ import annotations

import logging
import types

import httpx
import pytest

from govflow.plugins import PluginHost, PluginManager, SecretProvider, hookimpl
from govflow.plugins.secrets import EnvironmentSecrets, secret_lookup


class Fixed:
    def __init__(self, values: dict[str, str]) -> None:
        self.values = values

    def get_secret(self, name: str) -> str | None:
        return self.values.get(name)


def provider_plugin(name: str, offer: object) -> types.ModuleType:
    module = types.ModuleType(name)

    @hookimpl
    def govflow_startup() -> str:
        return f"{name}-resources"

    @hookimpl
    def govflow_secret_providers(resources: str) -> object:
        if isinstance(offer, Exception):
            raise offer
        assert resources == f"{name}-resources"  # called after startup, with its resources
        return offer

    module.govflow_startup = govflow_startup  # type: ignore[attr-defined]
    module.govflow_secret_providers = govflow_secret_providers  # type: ignore[attr-defined]
    return module


async def started(*plugins: types.ModuleType) -> PluginManager:
    manager = PluginManager()
    for plugin in plugins:
        manager.register(plugin)
    async with httpx.AsyncClient() as http:
        await manager.startup(manager.settings({}), PluginHost(http=http))
    return manager


async def test_providers_come_in_registration_order_after_the_environment() -> None:
    manager = await started(
        provider_plugin("first", [Fixed({"A": "from-first"})]),
        provider_plugin("none", None),
        provider_plugin("second", [Fixed({"A": "from-second", "B": "b"})]),
    )
    providers = manager.secret_providers(manager.settings({}))
    assert [p.values for p in providers] == [{"A": "from-first"}, {"A": "from-second", "B": "b"}]  # type: ignore[attr-defined]
    lookup = secret_lookup([EnvironmentSecrets({"GOVFLOW_SECRET_B": "env"}), *providers])
    assert (lookup("A"), lookup("B"), lookup("C")) == ("from-first", "env", None)
    assert isinstance(providers[0], SecretProvider)


@pytest.mark.parametrize(
    ("offer", "problem"),
    [
        (RuntimeError("vault sealed"), "secret providers: RuntimeError: vault sealed"),
        (["not a provider"], "secret providers: 'not a provider' has no get_secret(name) method"),
    ],
)
async def test_a_failing_hook_sets_the_plugin_aside(
    offer: object, problem: str, caplog: pytest.LogCaptureFixture
) -> None:
    manager = await started(
        provider_plugin("broken", offer), provider_plugin("fine", [Fixed({"A": "a"})])
    )
    with caplog.at_level(logging.ERROR, logger="govflow.plugins"):
        providers = manager.secret_providers(manager.settings({}))
    assert [p.values for p in providers] == [{"A": "a"}]  # type: ignore[attr-defined]
    assert manager.broken()["broken"].problems == [problem]
