"""``PluginManager``: a typed facade around pluggy, one method per hook.

Plugins come from the ``govflow.plugins`` entry-point group (the built-ins too) and may also be
registered directly (tests, the test kit). Which entry points load is a ``PluginSelection``;
read it from the environment at the edge with ``PluginSelection.from_env(os.environ)``.

A plugin that fails (its import, a hook GovFlow does not define, its registration, an action
that does not fulfil the contract, a name or a setting variable GovFlow or another plugin reads
already (:mod:`govflow.plugins.namespace`), its settings, its startup) is **broken**: it is set
aside with the reason, named by :meth:`PluginManager.broken`, and the others work. Whoever needs
it finds it missing; ``govflow plugins list`` shows why.
"""

from __future__ import annotations

import importlib
import inspect
import logging
from collections.abc import Iterable, Mapping, Sequence
from importlib import metadata
from types import ModuleType
from typing import Any

import msgspec
import pluggy

from govflow.plugins import hookspecs
from govflow.plugins.errors import (
    PluginError,
    PluginLoadError,
    UnknownHookError,
    describe_exception,
)
from govflow.plugins.host import PluginHost
from govflow.plugins.info import ActionInfo, BrokenPlugin, PluginInfo
from govflow.plugins.namespace import name_problem, variable_problems
from govflow.plugins.registry import ActionRegistry
from govflow.plugins.secrets import SecretProvider
from govflow.plugins.selection import PluginSelection
from govflow.plugins.settings import (
    NoSettings,
    PluginSettings,
    PluginSettingsError,
    describe_settings,
    read_settings,
)
from govflow.settings import core_variables

ENTRY_POINT_GROUP = "govflow.plugins"

_log = logging.getLogger("govflow.plugins")


class PluginManager:
    """The plugins of one process and the hooks they implement.

    :param selection: which entry-point plugins to load, and whether to trace hook calls.
    :param logger: where traces, broken plugins and shutdown failures are logged.
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
        self._broken: dict[str, BrokenPlugin] = {}
        self._settings_types: dict[str, type[msgspec.Struct]] | None = None
        self._settings: dict[str, msgspec.Struct] = {}
        self._resources: dict[str, Any] = {}
        if self.selection.trace:
            self._pm.add_hookcall_monitoring(self._trace_before, self._trace_after)

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> PluginManager:
        """Build a manager from ``GOVFLOW_PLUGINS_*`` variables and load the entry points.

        A plugin that fails to load is set aside as broken (see :meth:`broken`); loading never
        raises.

        :param env: the environment (``os.environ`` at the edge).
        """
        manager = cls(PluginSelection.from_env(env))
        manager.load_entry_points()
        manager.load_modules()
        manager.set_aside_unknown_hooks()
        manager.settings_types()
        return manager

    # -- loading ---------------------------------------------------------------------------

    def load_entry_points(self, group: str = ENTRY_POINT_GROUP) -> list[str]:
        """Load and register every admitted plugin of the entry-point ``group``.

        A plugin that fails to import or to register, and a name the allow list gives that is
        not installed, is set aside as broken.

        :returns: the names of the plugins loaded.
        """
        entry_points = sorted(metadata.entry_points(group=group), key=lambda ep: ep.name)
        if self.selection.allow is not None:
            installed = {ep.name for ep in entry_points} | set(self.selection.modules)
            for name in sorted(self.selection.allow - installed):
                self._set_aside(name, f"allowed but not installed (group {group!r})")
        loaded = []
        for ep in entry_points:
            if not self.selection.admits(ep.name) or self._pm.has_plugin(ep.name):
                continue
            try:
                plugin = ep.load()
                self.register(plugin, name=ep.name, entry_point=ep.value)
            except PluginLoadError as exc:
                self._set_aside(ep.name, exc.cause, entry_point=ep.value)
                continue
            except Exception as exc:
                self._set_aside(ep.name, describe_exception(exc), entry_point=ep.value)
                continue
            if ep.dist is not None:
                self._dists[ep.name] = ep.dist
            loaded.append(ep.name)
        return loaded

    def load_modules(self) -> list[str]:
        """Import and register the selection's extra plugin modules (``GOVFLOW_PLUGINS_MODULES``);
        one that fails is set aside as broken."""
        loaded = []
        for module_name in self.selection.modules:
            if not self.selection.admits(module_name) or self._pm.has_plugin(module_name):
                continue
            try:
                module = importlib.import_module(module_name)
                loaded.append(self.register(module, name=module_name))
            except PluginLoadError as exc:
                self._set_aside(module_name, exc.cause)
            except Exception as exc:
                self._set_aside(module_name, describe_exception(exc))
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
        :raises PluginLoadError: pluggy rejected it (e.g. a hook with wrong arguments), or its
            name would put its settings among GovFlow's own variables (``plugins``, ``secret``).
        """
        plugin_name = name or getattr(plugin, "__name__", None) or repr(plugin)
        problem = name_problem(plugin_name)
        if problem is not None:
            raise PluginLoadError(plugin_name, problem, entry_point=entry_point)
        try:
            self._pm.register(plugin, name=plugin_name)
        except (ValueError, pluggy.PluginValidationError) as exc:
            raise PluginLoadError(
                plugin_name, describe_exception(exc), entry_point=entry_point
            ) from exc
        self._registry = None
        self._settings_types = None
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

    def set_aside_unknown_hooks(self) -> None:
        """Set aside as broken every plugin implementing a hook that is not defined."""
        while True:
            try:
                self._pm.check_pending()
            except pluggy.PluginValidationError as exc:
                name = self._pm.get_name(exc.plugin) or repr(exc.plugin)
                known = ", ".join(sorted(self.hook_names()))
                self._set_aside(name, f"{describe_exception(exc)}; known hooks: {known}")
                self._pm.unregister(exc.plugin)
                continue
            return

    # -- what is loaded --------------------------------------------------------------------

    def plugin_names(self) -> list[str]:
        """Return the names of the registered plugins that are not broken, sorted."""
        return sorted(
            name
            for name, _ in self._pm.list_name_plugin()
            if name is not None and name not in self._broken
        )

    def broken(self) -> dict[str, BrokenPlugin]:
        """Return the plugins set aside, by name, with why (see the module docstring)."""
        self.actions()
        self.settings_types()
        return dict(sorted(self._broken.items()))

    def hook_names(self) -> list[str]:
        """Return the names of the hooks GovFlow defines."""
        return sorted(name for name in vars(self._pm.hook) if name.startswith("govflow_"))

    def plugin_info(self, env: Mapping[str, str] | None = None) -> list[PluginInfo]:
        """Describe every plugin, working or broken: name, version, the actions it registers,
        its settings (with the values ``env`` gives, secrets masked) and why it is broken.

        :param env: the environment whose settings to show; declarations only when omitted.
        """
        registry = self.actions()
        types = self.settings_types()
        current = self.settings(env) if env is not None else None
        infos = []
        names = sorted({*self.plugin_names(), *self._broken})
        for name in names:
            plugin = self._pm.get_plugin(name)
            dist = self._dists.get(name)
            actions = [
                ActionInfo.of(action) for action in registry if registry.owner(action.name) == name
            ]
            declared = types.get(name)
            settings = (
                describe_settings(
                    name, declared, current.by_plugin.get(name) if current is not None else None
                )
                if declared is not None
                else []
            )
            broken = self._broken.get(name)
            infos.append(
                PluginInfo(
                    name=name,
                    module=(
                        getattr(plugin, "__name__", type(plugin).__qualname__)
                        if plugin is not None
                        else (broken.entry_point or name if broken is not None else name)
                    ),
                    distribution=dist.metadata["Name"] if dist is not None else None,
                    version=dist.version if dist is not None else None,
                    actions=actions,
                    settings=settings,
                    broken=broken.problems if broken is not None else [],
                )
            )
        return infos

    # -- settings --------------------------------------------------------------------------

    def settings_types(self) -> dict[str, type[msgspec.Struct]]:
        """Each plugin's declared settings Struct (``govflow_settings``), by plugin name.

        A declaration that is not a ``msgspec.Struct`` class, or that reads a variable GovFlow
        or a plugin declared before reads (:mod:`govflow.plugins.namespace`), sets the plugin
        aside.
        """
        if self._settings_types is None:
            declared: dict[str, type[msgspec.Struct]] = {}
            core = core_variables()
            claimed: dict[str, str] = {}
            for name, caller in self._per_plugin("govflow_settings"):
                try:
                    results = caller()
                    struct = results[0] if results else None
                    if struct is None:
                        continue
                    if not (isinstance(struct, type) and issubclass(struct, msgspec.Struct)):
                        raise PluginError(f"govflow_settings returned {struct!r}, not a Struct")
                    variables = [
                        variable
                        for info in describe_settings(name, struct)
                        for variable in (info.variable, *info.also)
                    ]
                except Exception as exc:
                    self._set_aside(name, f"settings: {describe_exception(exc)}")
                    continue
                problems = variable_problems(name, variables, core, claimed)
                if problems:
                    self._set_aside(name, *(f"settings: {problem}" for problem in problems))
                    continue
                claimed.update(dict.fromkeys(variables, name))
                declared[name] = struct
            self._settings_types = declared
        return self._settings_types

    def settings(self, env: Mapping[str, str]) -> PluginSettings:
        """Read each plugin's typed settings from ``env``; a plugin whose settings have
        problems is set aside (:meth:`settings_problems` lists them) and gets ``NoSettings()``.

        :param env: the environment (``plugin_environment(os.environ)`` at the edge).
        """
        values: dict[str, msgspec.Struct] = {}
        for name in self.plugin_names():
            struct = self.settings_types().get(name)
            if struct is None:
                values[name] = NoSettings()
                continue
            try:
                values[name] = read_settings(name, struct, env)
            except PluginSettingsError as exc:
                self._set_aside(name, *exc.problems, settings=True)
        self._settings = values
        return PluginSettings(values)

    def settings_problems(self, env: Mapping[str, str]) -> list[str]:
        """Every problem of every plugin's settings in ``env``, one line each, naming the
        variable (what a serving process reports before it exits with status 2)."""
        self.settings(env)
        return [
            problem
            for broken in self._broken.values()
            if broken.settings
            for problem in broken.problems
        ]

    # -- hooks -----------------------------------------------------------------------------

    def actions(self) -> ActionRegistry:
        """Build (once) the registry of every plugin's actions: ``govflow_register_actions``.

        A plugin whose registration fails (an exception, an invalid action, an action name
        another plugin registered first) is set aside, none of its actions registered.
        """
        if self._registry is None:
            registry = ActionRegistry()
            for name, caller in self._per_plugin("govflow_register_actions"):
                own = ActionRegistry()
                try:
                    caller(register=own.registering_for(name))
                    registry.merge(own)
                except Exception as exc:
                    cause = str(exc) if isinstance(exc, PluginError) else describe_exception(exc)
                    self._set_aside(name, cause)
            self._registry = registry
        return self._registry

    def resources(self, plugin: str) -> Any:
        """What ``plugin``'s ``govflow_startup`` returned in this process (``None`` if nothing)."""
        return self._resources.get(plugin)

    async def startup(self, settings: PluginSettings, host: PluginHost) -> None:
        """Run ``govflow_startup`` in every plugin with its own settings, awaiting coroutines,
        and keep what each returns as its resources. A plugin whose startup fails is logged, set
        aside and its actions withdrawn from the registry (a worker hands their steps back); the
        others start."""
        for name, caller in self._per_plugin("govflow_startup"):
            if name in self._broken:
                continue
            try:
                results = caller(settings=settings.for_plugin(name), host=host)
                resources = results[0] if results else None
                if inspect.isawaitable(resources):
                    resources = await resources
            except Exception as exc:
                self._log.exception("plugin %r failed to start", name)
                self._set_aside(name, f"startup: {describe_exception(exc)}")
                if self._registry is not None:
                    self._registry.withdraw(name)
                continue
            self._resources[name] = resources

    def secret_providers(self, settings: PluginSettings) -> list[SecretProvider]:
        """Every started plugin's secret providers (``govflow_secret_providers``), in
        registration order. A plugin whose hook fails or returns something else than providers
        is logged, set aside and its actions withdrawn, as for a failed startup."""
        providers: list[SecretProvider] = []
        for name, caller in self._per_plugin("govflow_secret_providers"):
            if name in self._broken:
                continue
            try:
                results = caller(
                    settings=settings.for_plugin(name), resources=self._resources.get(name)
                )
                offered = list(results[0] or ()) if results else []
                for provider in offered:
                    if not isinstance(provider, SecretProvider):
                        raise PluginError(f"{provider!r} has no get_secret(name) method")
            except Exception as exc:
                self._log.exception("plugin %r failed to offer secret providers", name)
                cause = str(exc) if isinstance(exc, PluginError) else describe_exception(exc)
                self._set_aside(name, f"secret providers: {cause}")
                if self._registry is not None:
                    self._registry.withdraw(name)
                continue
            providers.extend(offered)
        return providers

    async def shutdown(self) -> None:
        """Run ``govflow_shutdown`` in every plugin with its resources; a failure is logged,
        the others still run."""
        for name, caller in self._per_plugin("govflow_shutdown"):
            try:
                for result in caller(resources=self._resources.get(name)):
                    if inspect.isawaitable(result):
                        await result
            except Exception:
                self._log.exception("plugin %r failed to shut down", name)
        self._resources.clear()

    # -- internals -------------------------------------------------------------------------

    def _set_aside(
        self, name: str, *problems: str, entry_point: str | None = None, settings: bool = False
    ) -> None:
        """Mark ``name`` broken with ``problems`` (logged at WARNING) and stop calling it."""
        known = self._broken.get(name)
        if known is None:
            self._broken[name] = BrokenPlugin(
                name=name, problems=list(problems), entry_point=entry_point, settings=settings
            )
        else:
            new = [problem for problem in problems if problem not in known.problems]
            if not new:
                return
            self._broken[name] = BrokenPlugin(
                name=name,
                problems=[*known.problems, *new],
                entry_point=known.entry_point or entry_point,
                settings=known.settings or settings,
            )
        where = f" (entry point {entry_point!r})" if entry_point else ""
        for problem in problems:
            self._log.warning("plugin %r%s is broken: %s", name, where, problem)

    def _per_plugin(self, hook_name: str) -> Iterable[tuple[str, pluggy.HookCaller]]:
        """Yield one caller per working plugin implementing ``hook_name``, in registration
        order."""
        hook: pluggy.HookCaller = getattr(self._pm.hook, hook_name)
        plugins = [impl.plugin for impl in hook.get_hookimpls()]
        for plugin in plugins:
            name = self._pm.get_name(plugin) or repr(plugin)
            if name in self._broken:
                continue
            others = [other for other in plugins if other is not plugin]
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
