"""Prometheus metrics: the counters and histograms every process (API workers and RQ workers) writes, into
PROMETHEUS_MULTIPROC_DIR when it is set. The gauges of the current state and the exposition are in
service/gauges.py."""
from __future__ import annotations

import logging
import time

from prometheus_client import Counter, Histogram

from service import queues
from service.config import get_settings

TICKETS_RECEIVED = Counter("hotline_tickets_received_total", "Tickets registered", ["channel", "category"])
TICKETS_RESOLVED = Counter("hotline_tickets_resolved_total", "First resolutions (办结 and 即时办结)",
                           ["channel", "category"])
RESOLUTION_HOURS = Histogram("hotline_resolution_office_hours", "Office hours from receipt to first resolution",
                             ["channel"], buckets=(0.5, 1, 2, 4, 8, 16, 24, 40, 80, 120, 200, 400))
ROUTING_DECISIONS = Counter("hotline_routing_decisions_total", "Routing decisions by rule (or no_match)", ["rule"])
JOBS = Counter("hotline_jobs_total", "Background jobs run", ["job", "outcome"])
JOB_SECONDS = Histogram("hotline_job_duration_seconds", "Background job duration", ["job"])
HTTP_SECONDS = Histogram("hotline_http_request_duration_seconds", "HTTP request latency",
                         ["method", "route", "status"],
                         buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5))


def verification_key() -> str:
    return f"{get_settings().queue_prefix}:stats-verified"


def record_stats_verification(drift_cells: int) -> None:
    """Keep the last statistics verification's outcome in Redis, where every process's /metrics reads it."""
    try:
        queues.connection().hset(verification_key(), mapping={"cells": drift_cells, "at": time.time()})
    except queues.REDIS_DOWN as exc:
        logging.getLogger(__name__).warning("could not record the statistics verification (%s)", exc)


def timed_job(name: str):
    """Decorator: count a job's outcome and time it (failures re-raise, so RQ retries them)."""

    def wrap(fn):
        def run(*args, **kwargs):
            started = time.perf_counter()
            try:
                result = fn(*args, **kwargs)
            except Exception:
                JOBS.labels(name, "failure").inc()
                raise
            finally:
                JOB_SECONDS.labels(name).observe(time.perf_counter() - started)
            JOBS.labels(name, "success").inc()
            return result

        run.__name__, run.__doc__, run.__wrapped__ = fn.__name__, fn.__doc__, fn
        return run

    return wrap
