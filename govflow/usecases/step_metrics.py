"""The engine's measurements, as a port: the worker plugs Prometheus in, tests may read them."""

from __future__ import annotations

from govflow.core.audit_events import SkipReason
from govflow.core.plugin_calls import PluginCallOutcome
from govflow.core.statuses import AttemptOutcome, RecoveryOutcome


class StepMetrics:
    """Does nothing; subclassed by the Prometheus adapter."""

    def step_finished(self, action: str, outcome: AttemptOutcome, seconds: float) -> None:
        """An attempt ended with ``outcome`` after ``seconds``."""

    def plugin_call(self, action: str, outcome: PluginCallOutcome, seconds: float) -> None:
        """An action's ``execute`` ended with ``outcome`` after ``seconds``."""

    def retry(self, action: str) -> None:
        """A retry was scheduled."""

    def skip(self, reason: SkipReason) -> None:
        """A step was skipped for ``reason``."""

    def recovery(self, outcome: RecoveryOutcome) -> None:
        """The sweeper recovered a step whose lease had expired."""

    def queue_lag(self, seconds: float) -> None:
        """A runnable step waited ``seconds`` before a worker claimed it."""
