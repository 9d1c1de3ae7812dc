"""The hooks a GovFlow plugin may implement. Few on purpose: registration and lifecycle.

Every hook is prefixed ``govflow_``. Hooks are called through ``PluginManager``, once per
process and per plugin (each plugin's implementation receives its own settings and resources),
never on the hot path: steps run through the registered ``Action`` objects. An implementation
may take fewer arguments than the hook offers (``def govflow_startup(settings): ...``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import msgspec
import pluggy

from govflow.plugins.host import PluginHost
from govflow.plugins.registry import ActionRegistry
from govflow.plugins.secrets import SecretProvider

PROJECT = "govflow"

hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def govflow_register_actions(register: ActionRegistry) -> None:
    """Register the plugin's action types.

    Called once when the registry is built. Call ``register.add(action)`` for each action; an
    action name another plugin registered already, or an action that does not fulfil the
    contract, leaves this plugin broken (``govflow plugins list`` says why).

    :param register: the registry to add ``Action`` instances to.
    """


@hookspec
def govflow_settings() -> type[msgspec.Struct] | None:
    """Declare the plugin's settings: return a ``msgspec.Struct`` class.

    Each field ``<name>`` is read from ``GOVFLOW_<PLUGIN>_<NAME>`` (see
    :mod:`govflow.plugins.settings`: types, defaults, ``Secret``, ``Env`` for other names);
    the instance reaches ``govflow_startup`` and every action's ``ctx.settings``. A plugin
    that declares none gets ``NoSettings()``.
    """


@hookspec
def govflow_startup(settings: Any, host: PluginHost) -> Any:
    """Prepare the plugin when an API, worker, scheduler or CLI process starts.

    Build the plugin's clients here from its settings and return them: what it returns (or
    what the returned awaitable gives) is the plugin's resources, handed to every one of its
    actions as ``ctx.resources`` and back to ``govflow_shutdown``. May be a coroutine function.
    A failure leaves the plugin broken in this process (logged with its name); the other
    plugins start.

    :param settings: this plugin's settings, an instance of the Struct ``govflow_settings``
        returned (``NoSettings()`` when it declares none).
    :param host: what the process offers: the shared ``http`` client, the ``directory`` of
        users and departments, the ``redis_url``, the ``process`` kind.
    """


@hookspec
def govflow_shutdown(resources: Any) -> Any:
    """Release what ``govflow_startup`` acquired, when the process stops.

    May be a coroutine function: the returned awaitable is awaited. Called even when another
    plugin's shutdown failed.

    :param resources: what this plugin's ``govflow_startup`` returned (``None`` if nothing).
    """


@hookspec
def govflow_secret_providers(settings: Any, resources: Any) -> Sequence[SecretProvider] | None:
    """Offer providers of the secrets templates read with ``secret('NAME')``.

    Called once per process, after ``govflow_startup``. GovFlow asks the environment first
    (``GOVFLOW_SECRET_<NAME>``), then these providers in plugin registration order; each
    provider's ``get_secret(name)`` returns the value or ``None``. A failure here leaves the
    plugin broken in this process, like a failed startup.

    :param settings: this plugin's settings (as ``govflow_startup`` received them).
    :param resources: what this plugin's ``govflow_startup`` returned (``None`` if nothing).
    """
