"""What validation knows of the installed actions: each one's input Struct, and the output
Struct of those that declare one.

:class:`ActionTypes` is the mapping action name -> input Struct that validation has always
taken, carrying the declared output Structs beside it (``outputs``), so every caller that hands
the registry's mapping on gets the output references checked without a new parameter. A plain
mapping (a test's ``{"greet": GreetInputs}``) declares no outputs: nothing is checked.
"""

from __future__ import annotations

from collections.abc import Mapping

import msgspec


class ActionTypes(dict[str, type[msgspec.Struct]]):
    """Action name -> input Struct, with ``outputs``: action name -> declared output Struct."""

    def __init__(
        self,
        inputs: Mapping[str, type[msgspec.Struct]],
        outputs: Mapping[str, type[msgspec.Struct]] | None = None,
    ) -> None:
        super().__init__(inputs)
        self.outputs: dict[str, type[msgspec.Struct]] = dict(outputs or {})


def declared_outputs(
    actions: Mapping[str, type[msgspec.Struct]],
) -> dict[str, type[msgspec.Struct]]:
    """The output Structs ``actions`` declares (none for a plain mapping)."""
    return dict(actions.outputs) if isinstance(actions, ActionTypes) else {}
