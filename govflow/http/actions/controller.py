"""``/actions`` endpoints (any authenticated user): what workflow steps may use.

Each action comes with the plugin that registers it, its idempotency strategy and the JSON
Schema of its ``with:`` block; the catalogue is built once per process (plugins do not change
while it runs).
"""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Controller, get
from litestar.di import NamedDependency
from litestar.params import FromPath

from govflow.bootstrap import Container
from govflow.http.envelope import Envelope, ok
from govflow.http.policy import authenticated
from govflow.plugins.info import ActionInfo, PluginInfo
from govflow.plugins.manager import PluginManager
from govflow.usecases.errors import NotFoundError


class ActionView(msgspec.Struct, frozen=True, kw_only=True):
    """One action with the plugin that registers it."""

    name: str
    description: str
    plugin: str
    plugin_version: str | None
    idempotency: str
    refines_idempotency: bool
    inputs_schema: dict[str, Any]


class Catalogue(msgspec.Struct, frozen=True, kw_only=True):
    """Installed plugins (with their actions), and every action by name."""

    plugins: list[PluginInfo]
    actions: list[ActionView]


_CACHE: dict[int, Catalogue] = {}


def _view(plugin: PluginInfo, action: ActionInfo) -> ActionView:
    return ActionView(
        name=action.name,
        description=action.description,
        plugin=plugin.name,
        plugin_version=plugin.version,
        idempotency=action.idempotency,
        refines_idempotency=action.refines_idempotency,
        inputs_schema=action.inputs_schema,
    )


def catalogue(plugins: PluginManager) -> Catalogue:
    """The catalogue of ``plugins``, computed on first use."""
    key = id(plugins)
    found = _CACHE.get(key)
    if found is None:
        infos = plugins.plugin_info()
        views = [_view(plugin, action) for plugin in infos for action in plugin.actions]
        found = Catalogue(plugins=infos, actions=sorted(views, key=lambda view: view.name))
        _CACHE.clear()
        _CACHE[key] = found
    return found


class ActionsController(Controller):
    path = "/actions"
    tags = ["actions"]

    @get("/", operation_id="listActions", **authenticated())
    async def list_actions(self, services: NamedDependency[Container]) -> Envelope[Catalogue]:
        """Installed plugins (name, version) and every action with its idempotency strategy and
        the JSON Schema of its inputs."""
        return ok(catalogue(services.plugins))

    @get("/{name:str}", operation_id="getAction", **authenticated())
    async def get_action(
        self, name: FromPath[str], services: NamedDependency[Container]
    ) -> Envelope[ActionView]:
        """One action by name."""
        for action in catalogue(services.plugins).actions:
            if action.name == name:
                return ok(action)
        raise NotFoundError(f"no action {name!r}")
