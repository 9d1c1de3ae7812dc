"""``started_plugin``: a plugin loaded, configured and started as a host would, for tests.

::

    async with started_plugin(govflow_hello, env={"GOVFLOW_HELLO_GREETING": "Hi"}) as hello:
        output = await hello.run("hello_greet", {"name": "Ada"})

The plugin's settings are read from ``env`` (not the process environment), its
``govflow_startup`` runs with a :class:`~govflow.plugins.PluginHost` around ``http``, each
action gets its settings and resources in ``ctx``, and ``govflow_shutdown`` runs at the end.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import httpx

from govflow.plugins import (
    ActionContext,
    ActionRegistry,
    PluginError,
    PluginHost,
    PluginManager,
)
from govflow.plugins.directory import Directory
from govflow.testing.context import make_context
from govflow.testing.run import run_action


def raise_for_broken(manager: PluginManager) -> None:
    """Raise ``PluginError`` naming every broken plugin of ``manager`` and why."""
    broken = manager.broken()
    if broken:
        raise PluginError(
            "; ".join(f"plugin {name!r} is broken: {b.reason}" for name, b in broken.items())
        )


@dataclass(frozen=True, slots=True)
class StartedPlugin:
    """A started plugin.

    :ivar name: the name it is registered under.
    :ivar manager: the manager holding only it.
    :ivar actions: its actions.
    :ivar settings: its typed settings.
    :ivar resources: what its ``govflow_startup`` returned.
    :ivar http: the client its host offers.
    """

    name: str
    manager: PluginManager
    actions: ActionRegistry
    settings: Any
    resources: Any
    http: httpx.AsyncClient

    def context(self, **overrides: Any) -> ActionContext:
        """``make_context`` with this plugin's settings, resources and client filled in."""
        fields = {"settings": self.settings, "resources": self.resources, "http": self.http}
        return make_context(**(fields | overrides))

    async def run(
        self, action: str, with_: Mapping[str, Any], **overrides: Any
    ) -> Mapping[str, Any]:
        """Run one of its actions on a ``with:`` block, in :meth:`context`."""
        found = self.actions.get(action)
        if found is None:
            raise LookupError(f"plugin {self.name!r} has no action {action!r}")
        return await run_action(found, with_, self.context(**overrides))


@contextlib.asynccontextmanager
async def started_plugin(
    plugin: ModuleType | object,
    *,
    name: str | None = None,
    env: Mapping[str, str] | None = None,
    http: httpx.AsyncClient | None = None,
    directory: Directory | None = None,
    redis_url: str | None = None,
) -> AsyncIterator[StartedPlugin]:
    """Register ``plugin`` alone, read its settings from ``env``, start it, stop it at the end.

    :param plugin: the module (or object) with the ``@hookimpl`` functions.
    :param name: its name (the entry point's name: what ``GOVFLOW_<NAME>_*`` variables use);
        the module's name by default.
    :param env: the environment its settings are read from (empty by default).
    :param http: the host client (a new one, closed at the end, by default).
    :param directory: the host's directory of users and departments, if the plugin needs one.
    :param redis_url: the Redis the host offers, if any.
    :raises PluginError: the plugin is broken (import, hooks, registration, settings, startup),
        naming why; settings problems one per line.
    """
    manager = PluginManager()
    registered = manager.register(plugin, name=name)
    manager.check_pending()
    actions = manager.actions()
    settings = manager.settings(env or {})
    raise_for_broken(manager)
    async with contextlib.AsyncExitStack() as stack:
        client = http
        if client is None:
            client = httpx.AsyncClient()
            stack.push_async_callback(client.aclose)
        host = PluginHost(http=client, process="test", directory=directory, redis_url=redis_url)
        await manager.startup(settings, host)
        stack.push_async_callback(manager.shutdown)
        raise_for_broken(manager)
        yield StartedPlugin(
            name=registered,
            manager=manager,
            actions=actions,
            settings=settings.for_plugin(registered),
            resources=manager.resources(registered),
            http=client,
        )
