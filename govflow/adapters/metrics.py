"""Prometheus measurements of the engine (served at ``/metrics`` by the API process and, with
``WORKER_METRICS_PORT``, by each worker)."""

from __future__ import annotations

import os
from collections.abc import Mapping

from prometheus_client import Counter, Histogram

from govflow.adapters import audit_metrics, breaker_metrics, state_metrics
from govflow.core.plugin_calls import PluginCallOutcome
from govflow.usecases.step_metrics import StepMetrics

STEPS = Counter("govflow_steps_total", "Step attempts by action and outcome", ["action", "outcome"])
STEP_SECONDS = Histogram(
    "govflow_step_duration_seconds",
    "Duration of a step attempt, action included",
    ["action"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
)
RETRIES = Counter("govflow_step_retries_total", "Retries scheduled", ["action"])
SKIPS = Counter("govflow_step_skips_total", "Steps skipped, by reason", ["reason"])
RECOVERIES = Counter(
    "govflow_recoveries_total", "Expired leases recovered, by outcome", ["outcome"]
)
QUEUE_LAG = Histogram(
    "govflow_queue_lag_seconds",
    "Time a runnable step waited before a worker claimed it",
    buckets=(0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 2, 5, 10, 30, 60),
)

PLUGIN_CALL_SECONDS = Histogram(
    "govflow_plugin_call_duration_seconds",
    "Duration of an action's execute call (the plugin's own work), by action and outcome",
    ["action", "outcome"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
)

ROUND_ITEMS = Histogram(
    "govflow_round_items",
    "Items one statement of group commit carried out, by kind (claims, finishes, starts)",
    ["kind"],
    buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256, 1000),
)


def observe_round(kind: str, items: int) -> None:
    """A round of group commit of ``kind`` was sent with ``items`` items."""
    ROUND_ITEMS.labels(kind).observe(items)


SERVED_EVERYWHERE = (audit_metrics, breaker_metrics, state_metrics)
"""Registered in every process that measures steps, so that each ``/metrics`` lists the same
families (the scheduler's gauges stay empty elsewhere; with ``PROMETHEUS_MULTIPROC_DIR`` the
API serves the scheduler's values)."""


class PrometheusStepMetrics(StepMetrics):
    """The engine's measurements in Prometheus. The children of the per-step families are kept
    per label values (``labels()`` takes a lock and builds a key on every call; each step
    records three)."""

    def __init__(self) -> None:
        self._finished: dict[tuple[str, str], tuple[Counter, Histogram]] = {}
        self._plugin_calls: dict[tuple[str, PluginCallOutcome], Histogram] = {}

    def step_finished(self, action: str, outcome: str, seconds: float) -> None:
        children = self._finished.get((action, outcome))
        if children is None:
            children = STEPS.labels(action, outcome), STEP_SECONDS.labels(action)
            self._finished[(action, outcome)] = children
        children[0].inc()
        children[1].observe(seconds)

    def plugin_call(self, action: str, outcome: PluginCallOutcome, seconds: float) -> None:
        child = self._plugin_calls.get((action, outcome))
        if child is None:
            child = self._plugin_calls[(action, outcome)] = PLUGIN_CALL_SECONDS.labels(
                action, outcome.value
            )
        child.observe(seconds)

    def retry(self, action: str) -> None:
        RETRIES.labels(action).inc()

    def skip(self, reason: str) -> None:
        SKIPS.labels(reason).inc()

    def recovery(self, outcome: str) -> None:
        RECOVERIES.labels(outcome).inc()

    def queue_lag(self, seconds: float) -> None:
        QUEUE_LAG.observe(seconds)


def shared_between_processes(env: Mapping[str, str] = os.environ) -> bool:
    """Whether this process's values are written for the API to serve
    (``PROMETHEUS_MULTIPROC_DIR``, or its older lower-case name)."""
    return "PROMETHEUS_MULTIPROC_DIR" in env or "prometheus_multiproc_dir" in env


def worker_measured(metrics_port: int | None, env: Mapping[str, str] = os.environ) -> bool:
    """Whether a worker's measurements can be read: it serves them (``WORKER_METRICS_PORT``) or
    the API does (``PROMETHEUS_MULTIPROC_DIR``)."""
    return bool(metrics_port) or shared_between_processes(env)


def worker_step_metrics(
    metrics_port: int | None, env: Mapping[str, str] = os.environ
) -> StepMetrics:
    """A worker's step measurements: Prometheus's when someone can read them
    (:func:`worker_measured`); otherwise none are taken (each step would record three values no
    one reads)."""
    if worker_measured(metrics_port, env):
        return PrometheusStepMetrics()
    return StepMetrics()
