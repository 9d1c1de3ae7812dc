"""Prometheus measurements of audit sealing (the scheduler's): when a sealing run last
succeeded, and the runs refused because the chain in the database does not continue the
anchored one (tampering, or a lost anchor). A run that fails otherwise (the database
unreachable) only leaves the last success behind: alert on its age."""

from __future__ import annotations

from prometheus_client import Counter, Gauge

LAST_SEAL = Gauge(
    "govflow_audit_last_seal_timestamp_seconds",
    "Unix time of the last sealing run that succeeded (rows sealed or nothing to seal)",
    multiprocess_mode="max",
)
SEAL_REFUSALS = Counter(
    "govflow_audit_seal_refusals_total",
    "Sealing runs refused: the chain in the database does not continue the anchored one",
)


def seal_succeeded() -> None:
    LAST_SEAL.set_to_current_time()


def seal_refused() -> None:
    SEAL_REFUSALS.inc()
