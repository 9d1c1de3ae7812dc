"""How an action's external effect may be repeated: the strategies the engine enforces.

A plugin declares one strategy per action; after a crash the engine (not the plugin) decides
from it whether an attempt that may have had an effect is run again.
"""

from __future__ import annotations

from enum import StrEnum


class Idempotency(StrEnum):
    """The idempotency strategy an action declares."""

    NONE = "none"
    """No external effect, or harmless to repeat: re-run freely."""
    LOCAL = "local"
    """A completed step never re-runs; an attempt cut off mid-way may run again."""
    REMOTE_LOOKUP = "remote_lookup"
    """Before re-running, ask the plugin's ``lookup`` whether the effect already happened."""
    REMOTE_KEY = "remote_key"
    """The remote side deduplicates by the idempotency key: re-run with the same key."""
    AT_MOST_ONCE = "at_most_once"
    """An attempt that may have had an effect is never re-run: an operator decides."""
