"""The worker and scheduler processes: a Taskiq receiver running steps, and the sweeper loop."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import time

from taskiq.receiver import Receiver

from govflow.adapters.audit_metrics import seal_refused, seal_succeeded
from govflow.adapters.audit_sealing import audit_sealing
from govflow.adapters.db.audit_seals import SealRefused, seal_pending
from govflow.adapters.metrics import worker_step_metrics
from govflow.adapters.queue.tasks import register_run_step
from govflow.adapters.state_metrics import StateGauges
from govflow.bootstrap import Container, container
from govflow.bootstrap.fleet import equipped_runner, fleet_membership
from govflow.bootstrap.tracing import traced_process
from govflow.settings import Settings
from govflow.worker.memory_limit import limit_memory
from govflow.worker.schedule_loop import run_schedule_triggers

log = logging.getLogger("govflow.worker")

SEAL_EVERY_SECONDS = 10.0


def _stop_on_signals(event: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, event.set)


async def run_worker(settings: Settings) -> None:
    """Consume wake-ups and run steps until SIGINT/SIGTERM; in-flight steps finish first."""
    limit_memory(settings.worker_memory_limit_mb)
    stop = asyncio.Event()
    _stop_on_signals(stop)
    async with (
        traced_process(settings, "govflow-worker"),
        container(settings, worker=True, role="govflow-worker") as services,
    ):
        runner = equipped_runner(services)
        runner.metrics = worker_step_metrics(settings.worker_metrics_port)
        runner.stopping = stop  # on shutdown, finish the running steps and hand on the next ones
        register_run_step(services.broker, runner.run)
        if settings.worker_metrics_port:
            from prometheus_client import start_http_server

            start_http_server(settings.worker_metrics_port, addr=settings.host)
        receiver = Receiver(
            services.broker,
            validate_params=False,  # one argument, a step id our own wake-ups send as text
            max_async_tasks=settings.worker_concurrency,
            max_prefetch=settings.worker_concurrency,
            propagate_exceptions=False,
            wait_tasks_timeout=settings.lease_seconds,
        )
        log.info("worker %s ready (concurrency %d)", runner.worker_id, settings.worker_concurrency)
        try:
            async with fleet_membership(services, runner.worker_id):
                await receiver.listen(stop)
        finally:
            await runner.close()
            with contextlib.suppress(Exception):
                await services.broker.shutdown()


async def run_scheduler(settings: Settings) -> None:
    """Sweep every ``SWEEP_INTERVAL_SECONDS`` and fire the schedule triggers every second
    (:mod:`govflow.worker.schedule_loop`) until SIGINT/SIGTERM."""
    stop = asyncio.Event()
    _stop_on_signals(stop)
    async with (
        traced_process(settings, "govflow-scheduler"),
        container(settings, role="govflow-scheduler") as services,
    ):
        if settings.scheduler_metrics_port:
            from prometheus_client import start_http_server

            start_http_server(settings.scheduler_metrics_port, addr=settings.host)
        log.info("scheduler ready (every %gs)", settings.sweep_interval_seconds)
        triggers = asyncio.create_task(run_schedule_triggers(services, stop))
        try:
            await _sweep_until(stop, settings, services)
        finally:
            stop.set()
            await triggers


async def _sweep_until(stop: asyncio.Event, settings: Settings, services: Container) -> None:
    """The sweeper's loop: recover, refresh the gauges, seal the audit log every 10 s."""
    sweeper = services.sweeper()
    sealing = audit_sealing(settings)
    next_seal = time.monotonic()
    gauges = StateGauges(services.db.pool)
    while not stop.is_set():
        try:
            report = await sweeper.sweep_once()
            if report.recovered or report.needs_attention or report.failed:
                log.info("sweep: %s", report)
            await gauges.maybe_refresh()
            if time.monotonic() >= next_seal:
                next_seal = time.monotonic() + SEAL_EVERY_SECONDS
                async with services.db.pool.acquire() as conn:
                    await seal_pending(conn, sealing)
                seal_succeeded()
        except SealRefused as exc:  # tampering, or a lost anchor: a person must look
            seal_refused()
            log.error("audit sealing refused: %s", exc)
        except Exception:  # a database or Redis outage: log and keep sweeping
            log.exception("sweep failed")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), settings.sweep_interval_seconds)
