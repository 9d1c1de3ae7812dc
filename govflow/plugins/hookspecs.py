"""The hooks a GovFlow plugin may implement. Few on purpose: registration and lifecycle.

Every hook is prefixed ``govflow_``. Hooks are called through ``PluginManager``, once per
process, never on the hot path: steps run through the registered ``Action`` objects.
"""

from __future__ import annotations

from collections.abc import Awaitable

import pluggy

from govflow.plugins.registry import ActionRegistry
from govflow.plugins.settings import PluginSettings

PROJECT = "govflow"

hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def govflow_register_actions(register: ActionRegistry) -> None:
    """Register the plugin's action types.

    Called once when the registry is built. Call ``register.add(action)`` for each action; two
    plugins registering the same action name is an error that names both.

    :param register: the registry to add ``Action`` instances to.
    """


@hookspec
def govflow_startup(settings: PluginSettings) -> Awaitable[None] | None:
    """Prepare the plugin when an API, worker or CLI process starts.

    May be a coroutine function: the returned awaitable is awaited before the process serves.
    Open long-lived resources here and release them in ``govflow_shutdown``.

    :param settings: every plugin's settings from ``GOVFLOW_PLUGIN_<NAME>_<KEY>`` variables;
        ``settings.for_plugin("name")`` gives one plugin's mapping.
    """


@hookspec
def govflow_shutdown() -> Awaitable[None] | None:
    """Release what ``govflow_startup`` acquired, when the process stops.

    May be a coroutine function: the returned awaitable is awaited. Called even when another
    plugin's shutdown failed.
    """
