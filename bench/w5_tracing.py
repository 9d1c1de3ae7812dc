#!/usr/bin/env python
"""Benchmark: the cost of tracing on W5 (bench/w5.py's five sequential ``echo`` steps).

The same W5 run twice against the same servers: tracing off, then on, every process (the
``govflow worker`` processes and the bench process calling ``start_execution``) exporting its
spans over OTLP/HTTP to a receiver on loopback (``tests/support/otlp_receiver.py``, decoding
every request as a collector would), every trace sampled. ``--order on-first`` runs them the
other way round; ``--pairs N`` repeats the pair to see the noise. The Taskiq baseline is not
run. Figures: executions/s, durable steps/s, worker CPU per step, sequential start-to-completed
latency, and the spans the receiver got.

Usage::

    GOVFLOW_BENCH_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres \\
    GOVFLOW_BENCH_REDIS_URL=redis://127.0.0.1:6379/0 \\
      .venv/bin/python bench/w5_tracing.py [-n 1000] [--latency-n 100] [--pairs 1]

Takes w5.py's options (``--workers``, ``--concurrency``, ``--rounds``...). Needs the ``otel``
extra (in the dev install).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import w5
from common import say

ENDPOINT = "OTEL_EXPORTER_OTLP_ENDPOINT"


async def traced_run(args: argparse.Namespace) -> tuple[w5.Report, int]:
    """One W5 run with every process exporting to a loopback receiver; the spans received."""
    from govflow.bootstrap.tracing import start_tracing
    from govflow.settings import Settings
    from tests.support.otlp_receiver import OtlpReceiver

    with OtlpReceiver() as receiver:
        os.environ[ENDPOINT] = receiver.endpoint  # the workers inherit it
        stop = start_tracing(Settings(_env_file=None), "govflow-bench")
        try:
            report = await w5.run(args)
        finally:
            stop()
            del os.environ[ENDPOINT]
        return report, len(receiver.spans())


async def pair(args: argparse.Namespace) -> dict[str, Any]:
    results: dict[str, Any] = {}
    for mode in ("on", "off") if args.order == "on-first" else ("off", "on"):
        say(f"--- tracing {mode}")
        if mode == "on":
            report, spans = await traced_run(args)
            results["spans_received"] = spans
        else:
            report = await w5.run(args)
        results[mode] = report.govflow
    return results


def figures(run: dict[str, Any]) -> dict[str, float]:
    tp = run["throughput"]
    latency = run["latency"]["client_start_to_completed_ms"]
    return {
        "executions/s": tp["executions_per_s"],
        "steps/s": tp["steps_per_s"],
        "worker CPU ms/step": tp["worker_cpu_ms_per_step"],
        "bench CPU ms/execution": tp["bench_cpu_ms_per_execution"],
        "latency p50 ms": latency["p50"],
        "latency p90 ms": latency["p90"],
        "latency p99 ms": latency["p99"],
    }


def render(pairs: list[dict[str, Any]]) -> str:
    lines = []
    for number, result in enumerate(pairs, 1):
        off, on = figures(result["off"]), figures(result["on"])
        lines.append(f"pair {number}: {result['spans_received']} spans received with tracing on")
        lines.append(f"{'':26} {'off':>10} {'on':>10} {'change':>8}")
        for name in off:
            change = (on[name] - off[name]) / off[name] * 100 if off[name] else 0.0
            lines.append(f"{name:26} {off[name]:>10.2f} {on[name]:>10.2f} {change:>+7.1f}%")
        lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    extra = argparse.ArgumentParser(add_help=False)
    extra.add_argument("--pairs", type=int, default=1)
    extra.add_argument("--order", choices=["off-first", "on-first"], default="off-first")
    ours, rest = extra.parse_known_args(argv)
    args = w5.parse_args(rest)
    args.no_baseline = True
    args.preload = 0
    pairs = [
        asyncio.run(pair(argparse.Namespace(**vars(args), **vars(ours)))) for _ in range(ours.pairs)
    ]
    if args.json:
        print(json.dumps(pairs, indent=2, default=str))
    else:
        print(render(pairs))
    return 0


if __name__ == "__main__":
    sys.exit(main())
