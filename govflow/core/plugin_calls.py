"""How a call of a plugin's action ended, as ``govflow_plugin_call_duration_seconds`` labels it."""

from __future__ import annotations

from enum import StrEnum


class PluginCallOutcome(StrEnum):
    """The end of one ``Action.execute`` call."""

    OK = "ok"
    """It returned its output."""
    SUSPENDED = "suspended"
    """It suspended the step (a human task, a signal)."""
    BUSINESS_ERROR = "business_error"
    """It refused (``BusinessError``)."""
    TECHNICAL_ERROR = "technical_error"
    """It failed in a way worth retrying (``TechnicalError``)."""
    OUTCOME_UNKNOWN = "outcome_unknown"
    """It could not tell whether its effect happened (``OutcomeUnknown``)."""
    TIMEOUT = "timeout"
    """It did not finish within the step's timeout (or its lease was lost): it was canceled."""
    UNEXPECTED_ERROR = "unexpected_error"
    """It raised anything else (a plugin bug)."""
