"""``PluginManager``: a typed facade around pluggy, one method per hook.

Plugins come from the ``govflow.plugins`` entry-point group (the built-ins too) and may also be
registered directly (tests, the test kit). Which entry points load is a ``PluginSelection``;
read it from the environment at the edge with ``PluginSelection.from_env(os.environ)``.
"""

from __future__ import annotations

import importlib
import inspect
import logging
from collections.abc import Iterable, Mapping, Sequence
from importlib import metadata
from types import ModuleType
from typing import Any

import pluggy

from govflow.plugins import hookspecs
from govflow.plugins.errors import (
    PluginLoadError,
    UnknownHookError,
    describe_exception,
)
from govflow.plugins.info import ActionInfo, PluginInfo
from govflow.plugins.registry import ActionRegistry
from govflow.plugins.selection import PluginSelection
from govflow.plugins.settings import PluginSettings

ENTRY_POINT_GROUP = "govflow.plugins"

_log = logging.getLogger("govflow.plugins")


class PluginManager:
    """The plugins of one process and the hooks they implement.

    :param selection: which entry-point plugins to load, and whether to trace hook calls.
    :param logger: where traces and shutdown failures are logged.
    """

    def __init__(
        self,
        selection: PluginSelection | None = None,
        *,
        logger: logging.Logger | None = None,
    ) -> None:
        self.selection = selection or PluginSelection()
        self._log = logger or _log
        self._pm = pluggy.PluginManager(hookspecs.PROJECT)
        self._pm.add_hookspecs(hookspecs)
        self._dists: dict[str, metadata.Distribution] = {}
        self._registry: ActionRegistry | None = None
        if self.selection.trace:
            self._pm.add_hookcall_monitoring(self._trace_before, self._trace_after)

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> PluginManager:
        """Build a manager from ``GOVFLOW_PLUGINS_*`` variables and load the entry points.

        :param env: the environment (``os.environ`` at the edge).
        """
        manager = cls(PluginSelection.from_env(env))
        manager.load_entry_points()
        manager.load_modules()
        manager.check_pending()
        return manager

    # -- loading ---------------------------------------------------------------------------

    def load_entry_points(self, group: str = ENTRY_POINT_GROUP) -> list[str]:
        """Load and register every admitted plugin of the entry-point ``group``.

        :returns: the names of the plugins loaded.
        :raises PluginLoadError: a plugin failed to import or to register, or the allow list
            names a plugin that is not installed.
        """
        entry_points = sorted(metadata.entry_points(group=group), key=lambda ep: ep.name)
        if self.selection.allow is not None:
            missing = self.selection.allow - {ep.name for ep in entry_points}
            if missing:
                names = ", ".join(sorted(missing))
                raise PluginLoadError(names, f"allowed but not installed (group {group!r})")
        loaded = []
        for ep in entry_points:
            if not self.selection.admits(ep.name) or self._pm.has_plugin(ep.name):
                continue
            try:
                plugin = ep.load()
            except Exception as exc:
                raise PluginLoadError(
                    ep.name, describe_exception(exc), entry_point=ep.value
                ) from exc
            self.register(plugin, name=ep.name, entry_point=ep.value)
            if ep.dist is not None:
                self._dists[ep.name] = ep.dist
            loaded.append(ep.name)
        return loaded

    def load_modules(self) -> list[str]:
        """Import and register the selection's extra plugin modules (``GOVFLOW_PLUGINS_MODULES``).

        :raises PluginLoadError: a module failed to import or to register.
        """
        loaded = []
        for module_name in self.selection.modules:
            if not self.selection.admits(module_name) or self._pm.has_plugin(module_name):
                continue
            try:
                module = importlib.import_module(module_name)
            except Exception as exc:
                raise PluginLoadError(module_name, describe_exception(exc)) from exc
            loaded.append(self.register(module, name=module_name))
        return loaded

    def register(
        self,
        plugin: ModuleType | object,
        name: str | None = None,
        *,
        entry_point: str | None = None,
    ) -> str:
        """Register a plugin module or object directly.

        :param plugin: a module or object with ``@hookimpl`` functions.
        :param name: the plugin's name; defaults to the module's name.
        :param entry_point: where it came from, for error messages.
        :returns: the name it was registered under.
        :raises PluginLoadError: pluggy rejected it (e.g. a hook with wrong arguments).
        """
        plugin_name = name or getattr(plugin, "__name__", None) or repr(plugin)
        try:
            self._pm.register(plugin, name=plugin_name)
        except (ValueError, pluggy.PluginValidationError) as exc:
            raise PluginLoadError(
                plugin_name, describe_exception(exc), entry_point=entry_point
            ) from exc
        self._registry = None
        return plugin_name

    def check_pending(self) -> None:
        """Fail when a plugin implements a hook that is not defined (usually a misspelling).

        :raises UnknownHookError: naming the plugin and the unknown hook.
        """
        try:
            self._pm.check_pending()
        except pluggy.PluginValidationError as exc:
            name = self._pm.get_name(exc.plugin) or repr(exc.plugin)
            known = ", ".join(sorted(self.hook_names()))
            raise UnknownHookError(
                f"plugin {name!r}: {describe_exception(exc)}; known hooks: {known}"
            ) from exc

    # -- what is loaded --------------------------------------------------------------------

    def plugin_names(self) -> list[str]:
        """Return the names of the registered plugins, sorted."""
        return sorted(name for name, _ in self._pm.list_name_plugin() if name is not None)

    def hook_names(self) -> list[str]:
        """Return the names of the hooks GovFlow defines."""
        return sorted(name for name in vars(self._pm.hook) if name.startswith("govflow_"))

    def plugin_info(self) -> list[PluginInfo]:
        """Describe every plugin: name, version and the actions it registers."""
        registry = self.actions()
        infos = []
        for name in self.plugin_names():
            plugin = self._pm.get_plugin(name)
            dist = self._dists.get(name)
            actions = [
                ActionInfo.of(action) for action in registry if registry.owner(action.name) == name
            ]
            infos.append(
                PluginInfo(
                    name=name,
                    module=getattr(plugin, "__name__", type(plugin).__qualname__),
                    distribution=dist.metadata["Name"] if dist is not None else None,
                    version=dist.version if dist is not None else None,
                    actions=actions,
                )
            )
        return infos

    def settings(self, env: Mapping[str, str]) -> PluginSettings:
        """Collect each registered plugin's ``GOVFLOW_PLUGIN_<NAME>_<KEY>`` settings.

        :param env: the environment (``os.environ`` at the edge).
        """
        return PluginSettings.from_env(env, self.plugin_names())

    # -- hooks -----------------------------------------------------------------------------

    def actions(self) -> ActionRegistry:
        """Build (once) the registry of every plugin's actions: ``govflow_register_actions``.

        :raises DuplicateActionError: two plugins register the same action name.
        """
        if self._registry is None:
            registry = ActionRegistry()
            for name, caller in self._per_plugin("govflow_register_actions"):
                caller(register=registry.registering_for(name))
            self._registry = registry
        return self._registry

    async def startup(self, settings: PluginSettings) -> None:
        """Run ``govflow_startup`` in every plugin, awaiting the coroutine ones."""
        for result in self._pm.hook.govflow_startup(settings=settings):
            if inspect.isawaitable(result):
                await result

    async def shutdown(self) -> None:
        """Run ``govflow_shutdown`` in every plugin; a failure is logged, the others still run."""
        for name, caller in self._per_plugin("govflow_shutdown"):
            try:
                for result in caller():
                    if inspect.isawaitable(result):
                        await result
            except Exception:
                self._log.exception("plugin %r failed to shut down", name)

    # -- internals -------------------------------------------------------------------------

    def _per_plugin(self, hook_name: str) -> Iterable[tuple[str, pluggy.HookCaller]]:
        """Yield one caller per plugin implementing ``hook_name``, in registration order."""
        hook: pluggy.HookCaller = getattr(self._pm.hook, hook_name)
        plugins = [impl.plugin for impl in hook.get_hookimpls()]
        for plugin in plugins:
            others = [other for other in plugins if other is not plugin]
            name = self._pm.get_name(plugin) or repr(plugin)
            yield name, self._pm.subset_hook_caller(hook_name, remove_plugins=others)

    def _trace_before(
        self, hook_name: str, impls: Sequence[pluggy.HookImpl], kwargs: Mapping[str, Any]
    ) -> None:
        plugins = [impl.plugin_name for impl in impls]
        self._log.info("hook %s calling %s with %r", hook_name, plugins, dict(kwargs))

    def _trace_after(
        self,
        outcome: pluggy.Result[Any],
        hook_name: str,
        impls: Sequence[pluggy.HookImpl],
        kwargs: Mapping[str, Any],
    ) -> None:
        exc = outcome.exception
        if exc is not None:
            self._log.info("hook %s raised %s", hook_name, describe_exception(exc))
        else:
            self._log.info("hook %s returned %r", hook_name, outcome.get_result())
