"""Prometheus metrics. Counters and histograms are written by every process (API workers and RQ
workers) into PROMETHEUS_MULTIPROC_DIR when it is set, and /metrics adds them up; gauges of the
current state (open and overdue tickets by unit, queue depth) are read at scrape time."""
from __future__ import annotations

import logging
import os
import time

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily

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


class StateCollector:
    """Open and overdue tickets per unit and queue depths, computed when Prometheus scrapes (cached briefly)."""

    def __init__(self):
        self.cached_at, self.cached = 0.0, []

    def collect(self):
        from service.config import get_settings

        if time.monotonic() - self.cached_at >= get_settings().metrics_state_ttl_seconds:
            self.cached, self.cached_at = self._read(), time.monotonic()
        yield from self.cached

    def _read(self) -> list:
        from sqlalchemy import text

        from service.db import get_engine
        from service import queues

        open_ = GaugeMetricFamily("hotline_open_tickets", "Open tickets by lead unit", labels=["unit"])
        overdue = GaugeMetricFamily("hotline_overdue_tickets", "Open tickets past the 办结 deadline", labels=["unit"])
        depth = GaugeMetricFamily("hotline_queue_depth", "Jobs waiting in a queue", labels=["queue"])
        stats_backlog = GaugeMetricFamily("hotline_stats_backlog", "Ticket changes not yet in the statistics")
        try:
            with get_engine().connect() as conn:
                rows = conn.execute(text("""
                    SELECT coalesce(lead_unit_code, ''), count(*),
                           count(*) FILTER (WHERE resolve_due_at < now())
                    FROM ticket WHERE status IN ('new', 'pending_dispatch', 'assigned', 'refuse_review', 'in_progress')
                    GROUP BY 1""")).all()
                stats_backlog.add_metric([], conn.execute(text("SELECT count(*) FROM stat_queue")).scalar())
            for unit, n, late in rows:
                open_.add_metric([unit], n)
                overdue.add_metric([unit], late)
        except Exception:  # a scrape must not fail because the database is down; the gauges are just absent
            pass
        try:
            for name in queues.QUEUES:
                depth.add_metric([name], queues.queue(name).count)
        except Exception:
            pass
        return [open_, overdue, depth, stats_backlog, *_stats_verification()]


def _verification_key() -> str:
    from service.config import get_settings

    return f"{get_settings().queue_prefix}:stats-verified"


def record_stats_verification(drift_cells: int) -> None:
    """Keep the last statistics verification's outcome in Redis, where every process's /metrics reads it."""
    from service import queues

    try:
        queues.connection().hset(_verification_key(), mapping={"cells": drift_cells, "at": time.time()})
    except queues.REDIS_DOWN as exc:
        logging.getLogger(__name__).warning("could not record the statistics verification (%s)", exc)


def _stats_verification() -> list:
    """hotline_stats_drift_cells and hotline_stats_verified_timestamp_seconds, once a verification has run."""
    from service import queues

    drift = GaugeMetricFamily("hotline_stats_drift_cells", "Rollup cells differing from a direct count at the "
                              "last verification")
    at = GaugeMetricFamily("hotline_stats_verified_timestamp_seconds", "When the statistics were last verified")
    try:
        last = queues.connection().hgetall(_verification_key())
    except Exception:  # a scrape must not fail because Redis is down
        return []
    if not last:
        return []
    drift.add_metric([], int(last[b"cells"]))
    at.add_metric([], float(last[b"at"]))
    return [drift, at]


_state = StateCollector()


def render() -> bytes:
    """The exposition text: every process's counters added up, plus the state gauges."""
    registry = CollectorRegistry()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.MultiProcessCollector(registry)
    else:
        from prometheus_client import REGISTRY

        registry.register(REGISTRY)
    registry.register(_state)
    return generate_latest(registry)


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
