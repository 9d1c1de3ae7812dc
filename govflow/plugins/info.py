"""What ``govflow plugins list`` and the action catalogue show about plugins and actions."""

from __future__ import annotations

from typing import Any

import msgspec

from govflow.plugins.action import Action
from govflow.plugins.settings import SettingInfo


class ActionInfo(msgspec.Struct, frozen=True, kw_only=True):
    """One registered action as a plugin author declared it.

    :ivar name: the action name used in ``action:``.
    :ivar description: one line for catalogues.
    :ivar idempotency: the strategy declared for the action as a whole.
    :ivar refines_idempotency: whether ``idempotency_for`` may pick another strategy per step.
    :ivar inputs_schema: the JSON Schema of the ``with:`` block.
    """

    name: str
    description: str
    idempotency: str
    refines_idempotency: bool
    inputs_schema: dict[str, Any]

    @classmethod
    def of(cls, action: Action) -> ActionInfo:
        """Describe ``action``."""
        refines = getattr(type(action), "idempotency_for", None) is not Action.idempotency_for
        return cls(
            name=action.name,
            description=action.description,
            idempotency=str(action.idempotency),
            refines_idempotency=refines,
            inputs_schema=msgspec.json.schema(action.inputs),
        )


class PluginInfo(msgspec.Struct, frozen=True, kw_only=True):
    """One loaded plugin.

    :ivar name: the plugin's name (its entry point name, or the name it was registered under).
    :ivar module: the module or object that implements the hooks.
    :ivar distribution: the installed distribution that ships it, if any.
    :ivar version: that distribution's version, if any.
    :ivar actions: the actions it registers, sorted by name.
    :ivar settings: the settings it declares, with the values this process sees (secrets
        masked).
    :ivar broken: why it is set aside, one line per problem; empty when it works.
    """

    name: str
    module: str
    distribution: str | None = None
    version: str | None = None
    actions: list[ActionInfo] = msgspec.field(default_factory=list)
    settings: list[SettingInfo] = msgspec.field(default_factory=list)
    broken: list[str] = msgspec.field(default_factory=list)


class BrokenPlugin(msgspec.Struct, frozen=True, kw_only=True):
    """A plugin set aside in this process.

    :ivar name: the plugin's name.
    :ivar problems: what went wrong, one line each (for settings: each naming its variable).
    :ivar entry_point: where it came from, if an entry point.
    :ivar settings: whether it is its settings that are wrong (a serving process refuses to
        start on those, as on its own settings).
    """

    name: str
    problems: list[str]
    entry_point: str | None = None
    settings: bool = False

    @property
    def reason(self) -> str:
        """The problems on one line."""
        return "; ".join(self.problems)
