"""The registry that plugins fill through the ``govflow_register_actions`` hook."""

from __future__ import annotations

import re
from collections.abc import Iterator

import msgspec

from govflow.core.action_types import ActionTypes
from govflow.core.idempotency import Idempotency
from govflow.plugins.action import Action
from govflow.plugins.errors import DuplicateActionError, InvalidActionError

__all__ = ["ActionRegistry", "DuplicateActionError", "InvalidActionError"]

ACTION_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
"""Action names are lowercase identifiers: ``jira_comment``."""


def check_action(action: object) -> None:
    """Check that ``action`` declares what the ``Action`` contract requires.

    :raises InvalidActionError: a declaration is missing or has the wrong type.
    """
    name = getattr(action, "name", None)
    if not isinstance(name, str) or not ACTION_NAME.match(name):
        raise InvalidActionError(f"{action!r}: name must match {ACTION_NAME.pattern}, got {name!r}")
    inputs = getattr(action, "inputs", None)
    if not (isinstance(inputs, type) and issubclass(inputs, msgspec.Struct)):
        raise InvalidActionError(f"action {name!r}: inputs must be a msgspec.Struct subclass")
    outputs = getattr(action, "outputs", None)
    if outputs is not None and not (
        isinstance(outputs, type) and issubclass(outputs, msgspec.Struct)
    ):
        raise InvalidActionError(
            f"action {name!r}: outputs must be a msgspec.Struct subclass or None"
        )
    if not isinstance(getattr(action, "idempotency", None), Idempotency):
        raise InvalidActionError(f"action {name!r}: idempotency must be an Idempotency member")
    for method in ("execute", "lookup", "idempotency_for"):
        if not callable(getattr(action, method, None)):
            raise InvalidActionError(f"action {name!r}: missing method {method}()")
    try:
        msgspec.json.schema(inputs)
    except Exception as exc:
        raise InvalidActionError(
            f"action {name!r}: inputs {inputs.__name__} has no JSON Schema: {exc}"
        ) from None


def output_struct(action: object) -> type[msgspec.Struct] | None:
    """The output Struct ``action`` declares (its optional ``outputs``), or ``None``."""
    outputs = getattr(action, "outputs", None)
    return outputs if isinstance(outputs, type) and issubclass(outputs, msgspec.Struct) else None


class ActionRegistry:
    """Actions by name, each remembered with the plugin that registered it."""

    def __init__(self) -> None:
        self._actions: dict[str, Action] = {}
        self._owners: dict[str, str] = {}
        self._current_plugin = "<unknown>"

    def registering_for(self, plugin_name: str) -> ActionRegistry:
        """Attribute the following ``add`` calls to ``plugin_name``."""
        self._current_plugin = plugin_name
        return self

    def add(self, action: Action) -> None:
        """Register ``action`` under its ``name``.

        :raises DuplicateActionError: another plugin already registered that name.
        :raises InvalidActionError: the action does not declare what the contract requires.
        """
        check_action(action)
        name = action.name
        if name in self._actions:
            raise DuplicateActionError(
                f"action {name!r} is registered by both plugin {self._owners[name]!r} "
                f"and plugin {self._current_plugin!r}"
            )
        self._actions[name] = action
        self._owners[name] = self._current_plugin

    def merge(self, other: ActionRegistry) -> None:
        """Add every action of ``other`` (one plugin's), all or none.

        :raises DuplicateActionError: one of them is registered already, by another plugin.
        """
        for name in other.names():
            if name in self._actions:
                raise DuplicateActionError(
                    f"action {name!r} is registered by both plugin {self._owners[name]!r} "
                    f"and plugin {other.owner(name)!r}"
                )
        self._actions.update(other._actions)
        self._owners.update(other._owners)

    def withdraw(self, plugin: str) -> list[str]:
        """Remove every action ``plugin`` registered (it broke after registering); return their
        names."""
        names = [name for name, owner in self._owners.items() if owner == plugin]
        for name in names:
            del self._actions[name]
            del self._owners[name]
        return sorted(names)

    def get(self, name: str) -> Action | None:
        """Return the action registered under ``name``, if any."""
        return self._actions.get(name)

    def owner(self, name: str) -> str:
        """Return the name of the plugin that registered ``name``."""
        return self._owners[name]

    def names(self) -> list[str]:
        """Return the registered action names, sorted."""
        return sorted(self._actions)

    def inputs(self) -> ActionTypes:
        """Return each action's input Struct by action name, with the output Structs the
        actions declare (what validation needs)."""
        outputs = {name: output_struct(self._actions[name]) for name in self.names()}
        return ActionTypes(
            {name: self._actions[name].inputs for name in self.names()},
            {name: struct for name, struct in outputs.items() if struct is not None},
        )

    def __contains__(self, name: object) -> bool:
        return name in self._actions

    def __iter__(self) -> Iterator[Action]:
        return iter(self._actions[n] for n in self.names())

    def __len__(self) -> int:
        return len(self._actions)
