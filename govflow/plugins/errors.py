"""Errors raised while loading plugins and building the action registry.

Error tree::

    PluginError              the plugin set cannot be used as configured
    ├── PluginLoadError      a plugin's entry point failed to import or to register
    ├── UnknownHookError     a plugin implements a hook GovFlow does not define
    ├── DuplicateActionError two plugins register an action under the same name
    └── InvalidActionError   a registered object does not fulfil the Action contract
"""

from __future__ import annotations


class PluginError(Exception):
    """The plugin set cannot be used as configured."""


class PluginLoadError(PluginError):
    """A plugin failed to load.

    :ivar plugin: the plugin's name (its entry point name).
    :ivar cause: a one-line description of what went wrong.
    """

    def __init__(self, plugin: str, cause: str, *, entry_point: str | None = None) -> None:
        where = f" (entry point {entry_point!r})" if entry_point else ""
        super().__init__(f"plugin {plugin!r}{where} failed to load: {cause}")
        self.plugin = plugin
        self.cause = cause
        self.entry_point = entry_point


class UnknownHookError(PluginError):
    """A plugin implements a hook that GovFlow does not define (often a misspelling)."""


def describe_exception(exc: BaseException) -> str:
    """Return ``"Type: message"`` on one line, for error reports."""
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


class DuplicateActionError(PluginError):
    """Two plugins register an action under the same name."""


class InvalidActionError(PluginError):
    """A plugin registers an object that does not fulfil the ``Action`` contract."""
