"""Prometheus measurements of human-task deadlines and notifications (the scheduler's; served
with ``SCHEDULER_METRICS_PORT``, or through ``PROMETHEUS_MULTIPROC_DIR`` by the API)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge

from govflow.core.audit_events import AuditEvent
from govflow.usecases.task_deadlines import DeadlineMetrics
from govflow.usecases.task_notifications import NoticeMetrics

DEADLINES = Counter(
    "govflow_human_task_deadlines_total",
    "Human tasks marked overdue or escalated by the sweeper",
    ["event"],
)
OVERDUE_OPEN = Gauge(
    "govflow_human_tasks_overdue",
    "Human tasks overdue and still to be decided (as of the last sweep)",
    multiprocess_mode="mostrecent",
)
NOTICES = Counter(
    "govflow_human_task_notifications_total",
    "Human-task notifications by channel and outcome (sent, retried, given_up)",
    ["channel", "outcome"],
)

NOTICES_NOT_STORED = Counter(
    "govflow_human_task_notifications_not_stored_total",
    "Human-task decisions written whose notifications could not be stored, by event",
    ["why"],
)

_EVENTS = {
    AuditEvent.HUMAN_TASK_OVERDUE: "overdue",
    AuditEvent.HUMAN_TASK_ESCALATED: "escalated",
}


class PrometheusDeadlineMetrics(DeadlineMetrics):
    def deadline(self, event: AuditEvent) -> None:
        DEADLINES.labels(_EVENTS.get(event, event.value.lower())).inc()

    def overdue_open(self, count: int) -> None:
        OVERDUE_OPEN.set(count)


class PrometheusNoticeMetrics(NoticeMetrics):
    def notice(self, channel: str, outcome: str) -> None:
        NOTICES.labels(channel, outcome).inc()

    def not_stored(self, why: str) -> None:
        NOTICES_NOT_STORED.labels(why).inc()
