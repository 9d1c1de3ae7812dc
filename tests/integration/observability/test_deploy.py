"""The operator's view that ships in deploy/ uses only metrics and labels GovFlow registers, and
docs/operations.md lists exactly those metrics; docker-compose.yml's observability profile is
wired to the files it mounts."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import govflow_jira.guard
import pytest
import yaml
from litestar.plugins.prometheus import PrometheusMiddleware
from prometheus_client import REGISTRY, Counter, Gauge, Histogram
from prometheus_client.metrics import MetricWrapperBase

import govflow.adapters.audit_metrics
import govflow.adapters.breaker_metrics
import govflow.adapters.metrics
import govflow.adapters.security.passwords
import govflow.adapters.state_metrics
import govflow.adapters.task_metrics
from govflow.adapters.state_metrics import COUNTED
from govflow.core.breakers import BreakerState
from govflow.core.statuses import AttemptOutcome
from govflow.http.metrics import prometheus_config

METRIC_MODULES = (
    govflow.adapters.audit_metrics,
    govflow.adapters.breaker_metrics,
    govflow.adapters.metrics,
    govflow.adapters.security.passwords,
    govflow.adapters.state_metrics,
    govflow.adapters.task_metrics,
    govflow_jira.guard,  # the Jira plugin's
)
"""The modules that register GovFlow's metrics (the API's request metrics aside)."""
ROOT = Path(__file__).resolve().parents[3]
DEPLOY = ROOT / "deploy"
ALWAYS = {"job", "instance"}
"""Labels Prometheus adds to every scraped series."""
VALUES: dict[tuple[str, str], set[str]] = {
    ("govflow_steps_total", "outcome"): {o.value for o in AttemptOutcome},
    ("govflow_executions", "status"): {s.value for s in COUNTED},
    ("govflow_breaker_state", "state"): {s.value for s in BreakerState},
}
"""Label values an expression may match, where GovFlow's enums decide them."""


def _request_metrics() -> None:
    """Litestar creates the API's request metrics on the first request: create them now."""
    middleware = PrometheusMiddleware(app=lambda *a: None, config=prometheus_config())  # type: ignore[arg-type]
    labels: dict[str, str | int | float] = {
        "method": "GET",
        "path": "/",
        "status_code": 200,
        "app_name": "govflow",
    }
    middleware.request_count(labels)
    middleware.request_time(labels)
    middleware.requests_in_progress(labels)
    middleware.requests_error_count(labels)


def registered() -> dict[str, set[str]]:
    """Every GovFlow series name as exposed (``_total``, ``_bucket``...) and its label names."""
    _request_metrics()
    series: dict[str, set[str]] = {}
    collectors = set(REGISTRY._names_to_collectors.values())
    for collector in collectors:
        if not isinstance(collector, MetricWrapperBase):
            continue
        name = collector._name
        if not name.startswith("govflow_"):
            continue
        labels = set(collector._labelnames)
        if isinstance(collector, Counter):
            series[f"{name}_total"] = labels
        elif isinstance(collector, Histogram):
            series[f"{name}_bucket"] = labels | {"le"}
            series[f"{name}_count"] = labels
            series[f"{name}_sum"] = labels
        elif isinstance(collector, Gauge):
            series[name] = labels
    return series


def expressions() -> list[tuple[str, str]]:
    """Every PromQL expression of the dashboard and the alert rules, with where it is."""
    found = []
    dashboard = json.loads((DEPLOY / "grafana/dashboards/govflow.json").read_text())
    for panel in dashboard["panels"]:
        for target in panel.get("targets", []):
            found.append((f"dashboard: {panel['title']}", target["expr"]))
    rules = yaml.safe_load((DEPLOY / "prometheus/alerts.yml").read_text())
    for group in rules["groups"]:
        for rule in group["rules"]:
            found.append((f"alert: {rule['alert']}", rule["expr"]))
    return found


SELECTOR = re.compile(r"\b(govflow_[a-z0-9_]+)\s*(\{([^}]*)\})?")
MATCHER = re.compile(r'([a-z_]+)\s*(=~|!~|!=|=)\s*"([^"]*)"')
GROUPING = re.compile(r"\b(?:by|without)\s*\(([^)]*)\)")


def problems_of(where: str, expr: str, series: dict[str, set[str]]) -> list[str]:
    problems = []
    used = SELECTOR.findall(expr)
    if not used:
        problems.append(f"{where}: uses no GovFlow metric")
    labels_in_expr: set[str] = set()
    for name, _, matchers in used:
        if name not in series:
            problems.append(f"{where}: no metric {name}")
            continue
        labels_in_expr |= series[name]
        for label, op, value in MATCHER.findall(matchers):
            if label not in series[name] | ALWAYS:
                problems.append(f"{where}: {name} has no label {label}")
            allowed = VALUES.get((name, label))
            if allowed is None:
                continue
            wanted = value.split("|") if op == "=~" else [value]
            for one in wanted:
                if one not in allowed:
                    problems.append(f"{where}: {name}{{{label}}} is never {one!r}")
    for grouping in GROUPING.findall(expr):
        for label in (part.strip() for part in grouping.split(",")):
            if label and label not in labels_in_expr | ALWAYS:
                problems.append(f"{where}: no metric of the expression has the label {label}")
    return problems


def test_the_dashboard_and_the_alerts_use_only_registered_metrics_and_labels() -> None:
    series = registered()
    found = expressions()
    assert len(found) > 20
    problems = [p for where, expr in found for p in problems_of(where, expr, series)]
    assert problems == []


def test_the_check_finds_unknown_metrics_labels_and_values() -> None:
    series = registered()
    assert problems_of("x", "rate(govflow_nothing_total[5m])", series) == [
        "x: no metric govflow_nothing_total"
    ]
    assert problems_of("x", 'govflow_steps_total{colour="red"}', series) == [
        "x: govflow_steps_total has no label colour"
    ]
    assert problems_of("x", 'govflow_steps_total{outcome=~"FAILED|BROKEN"}', series) == [
        "x: govflow_steps_total{outcome} is never 'BROKEN'"
    ]
    assert problems_of("x", "sum by (colour) (govflow_executions)", series) == [
        "x: no metric of the expression has the label colour"
    ]


def test_the_alerts_cover_what_operators_are_paged_for() -> None:
    rules = yaml.safe_load((DEPLOY / "prometheus/alerts.yml").read_text())
    used = {
        rule["alert"]: {name for name, _, _ in SELECTOR.findall(rule["expr"])}
        for group in rules["groups"]
        for rule in group["rules"]
    }
    watched = set().union(*used.values())
    for metric in (
        "govflow_queue_oldest_pending_seconds",  # stuck executions
        "govflow_executions",  # NEEDS_ATTENTION
        "govflow_queue_lag_seconds_bucket",  # queue lag
        "govflow_steps_total",  # error rate
        "govflow_requests_total",
        "govflow_breaker_state",  # breaker open
        "govflow_audit_seal_refusals_total",  # audit seal failure
        "govflow_audit_last_seal_timestamp_seconds",
    ):
        assert metric in watched, metric
    for group in rules["groups"]:
        for rule in group["rules"]:
            assert rule["annotations"]["summary"], rule["alert"]


def test_operations_md_lists_exactly_the_registered_metrics() -> None:
    text = (ROOT / "docs/operations.md").read_text()
    section = text[text.index("## Metrics") :]
    section = section[: section.index("\n## ", 1)]
    documented = {}
    for row in re.findall(r"^\| `(govflow_[a-z0-9_]+)` \|([^|]*)\|", section, re.MULTILINE):
        name, labels = row
        documented[name] = {label.strip() for label in labels.split(",") if label.strip()}
    series = registered()
    metrics: dict[str, set[str]] = {}
    for name, labels in series.items():
        if name.endswith(("_count", "_sum")):
            continue
        exposed = name.removesuffix("_bucket") if name.endswith("_bucket") else name
        metrics[exposed] = labels - {"le"}
    assert documented == metrics


def test_the_compose_observability_profile_is_wired_to_deploy() -> None:
    compose: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    profiled = {name for name, s in services.items() if "observability" in s.get("profiles", [])}
    assert profiled == {"otel-collector", "jaeger", "prometheus", "grafana"}
    for name in profiled:
        for volume in services[name].get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("./"):
                assert (ROOT / source).exists(), (name, source)
    assert services["worker"]["environment"]["WORKER_METRICS_PORT"] == "9100"
    assert services["scheduler"]["environment"]["SCHEDULER_METRICS_PORT"] == "9101"
    for name in ("api", "worker", "scheduler"):
        assert "OTEL_EXPORTER_OTLP_ENDPOINT" in services[name]["environment"], name
    prometheus = yaml.safe_load((DEPLOY / "prometheus/prometheus.yml").read_text())
    jobs = {job["job_name"] for job in prometheus["scrape_configs"]}
    assert jobs == {"govflow-api", "govflow-worker", "govflow-scheduler"}
    collector = yaml.safe_load((DEPLOY / "otel-collector/config.yaml").read_text())
    assert collector["service"]["pipelines"]["traces"]["receivers"] == ["otlp"]
    assert collector["exporters"]["otlp/jaeger"]["endpoint"] == "jaeger:4317"


@pytest.mark.parametrize("path", sorted(DEPLOY.rglob("*.y*ml")), ids=lambda p: p.name)
def test_every_deploy_yaml_parses(path: Path) -> None:
    assert yaml.safe_load(path.read_text()) is not None
