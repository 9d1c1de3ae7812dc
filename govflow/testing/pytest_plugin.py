"""The GovFlow pytest plugin (entry point ``pytest11``): fixtures for plugin authors.

- ``action_context``: an ``ActionContext`` from ``make_context()``.
- ``govflow_plugin_manager``: a factory ``(*plugins) -> PluginManager`` holding only the given
  plugin modules or objects (no entry points); a misspelled hook, a failing registration or a
  broken settings declaration raises ``PluginError`` naming the plugin.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from govflow.plugins import ActionContext, PluginManager
from govflow.testing.context import make_context
from govflow.testing.started import raise_for_broken

PluginManagerFactory = Callable[..., PluginManager]


@pytest.fixture
def action_context() -> ActionContext:
    """An ``ActionContext`` for the first attempt of a test step."""
    return make_context()


@pytest.fixture
def govflow_plugin_manager() -> PluginManagerFactory:
    """Return a factory building a ``PluginManager`` with only the given plugins."""

    def build(*plugins: object) -> PluginManager:
        manager = PluginManager()
        for plugin in plugins:
            manager.register(plugin)
        manager.check_pending()
        manager.actions()
        raise_for_broken(manager)
        return manager

    return build
