"""A worker measures its steps only where the measurements can be read."""

from __future__ import annotations

from govflow.adapters.metrics import PrometheusStepMetrics, worker_step_metrics
from govflow.usecases.step_metrics import StepMetrics


def test_a_worker_with_a_metrics_port_measures_its_steps_in_prometheus() -> None:
    assert isinstance(worker_step_metrics(9100, {}), PrometheusStepMetrics)


def test_a_worker_whose_values_the_api_serves_measures_its_steps_in_prometheus() -> None:
    for name in ("PROMETHEUS_MULTIPROC_DIR", "prometheus_multiproc_dir"):
        assert isinstance(worker_step_metrics(None, {name: "metrics"}), PrometheusStepMetrics)


def test_a_worker_nobody_reads_takes_no_step_measurements() -> None:
    metrics = worker_step_metrics(None, {})
    assert type(metrics) is StepMetrics
