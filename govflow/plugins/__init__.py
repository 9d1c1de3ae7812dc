"""The plugin contract: what a plugin author imports. Semver-stable public API."""

from __future__ import annotations

from govflow.core.idempotency import Idempotency
from govflow.plugins.action import (
    Action,
    ActionContext,
    ActionError,
    BusinessError,
    OutcomeUnknown,
    Suspend,
    TechnicalError,
)
from govflow.plugins.errors import (
    DuplicateActionError,
    InvalidActionError,
    PluginError,
    PluginLoadError,
    UnknownHookError,
)
from govflow.plugins.hookspecs import hookimpl
from govflow.plugins.host import PluginHost
from govflow.plugins.info import ActionInfo, BrokenPlugin, PluginInfo
from govflow.plugins.manager import ENTRY_POINT_GROUP, PluginManager
from govflow.plugins.registry import ActionRegistry
from govflow.plugins.secrets import EnvironmentSecrets, SecretProvider
from govflow.plugins.selection import PluginSelection
from govflow.plugins.settings import (
    Env,
    NoSettings,
    PluginSettings,
    PluginSettingsError,
    Secret,
    SettingInfo,
)

__all__ = [
    "ENTRY_POINT_GROUP",
    "Action",
    "ActionContext",
    "ActionError",
    "ActionInfo",
    "ActionRegistry",
    "BrokenPlugin",
    "BusinessError",
    "DuplicateActionError",
    "Env",
    "EnvironmentSecrets",
    "Idempotency",
    "InvalidActionError",
    "NoSettings",
    "OutcomeUnknown",
    "PluginError",
    "PluginHost",
    "PluginInfo",
    "PluginLoadError",
    "PluginManager",
    "PluginSelection",
    "PluginSettings",
    "PluginSettingsError",
    "Secret",
    "SecretProvider",
    "SettingInfo",
    "Suspend",
    "TechnicalError",
    "UnknownHookError",
    "hookimpl",
]
