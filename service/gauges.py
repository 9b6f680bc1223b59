"""The gauges of the current state (open and overdue tickets by unit, queue depths, the statistics backlog and
their last verification), read when Prometheus scrapes, and the exposition /metrics answers: every process's
counters (service/metrics.py) added up, plus these gauges."""
from __future__ import annotations

import os
import time

from prometheus_client import REGISTRY, CollectorRegistry, generate_latest, multiprocess
from prometheus_client.core import GaugeMetricFamily
from sqlalchemy import func, select

from models import OPEN_STATUSES, StatQueue, Ticket
from service import queues
from service.config import get_settings
from service.db import get_engine
from service.domain.tickets import overdue as is_overdue
from service.metrics import verification_key


class StateCollector:
    """Open and overdue tickets per unit and queue depths, computed when Prometheus scrapes (cached briefly)."""

    def __init__(self):
        self.cached_at, self.cached = 0.0, []

    def collect(self):
        if time.monotonic() - self.cached_at >= get_settings().metrics_state_ttl_seconds:
            self.cached, self.cached_at = self._read(), time.monotonic()
        yield from self.cached

    def _read(self) -> list:
        open_ = GaugeMetricFamily("hotline_open_tickets", "Open tickets by lead unit", labels=["unit"])
        overdue = GaugeMetricFamily("hotline_overdue_tickets", "Open tickets past the 办结 deadline", labels=["unit"])
        depth = GaugeMetricFamily("hotline_queue_depth", "Jobs waiting in a queue", labels=["queue"])
        stats_backlog = GaugeMetricFamily("hotline_stats_backlog", "Ticket changes not yet in the statistics")
        try:
            with get_engine().connect() as conn:
                rows = conn.execute(select(func.coalesce(Ticket.lead_unit_code, ""), func.count(),
                                           func.count().filter(is_overdue()))
                                    .where(Ticket.status.in_(OPEN_STATUSES)).group_by(Ticket.lead_unit_code)).all()
                stats_backlog.add_metric([], conn.execute(select(func.count()).select_from(StatQueue)).scalar())
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


def _stats_verification() -> list:
    """hotline_stats_drift_cells and hotline_stats_verified_timestamp_seconds, once a verification has run."""
    drift = GaugeMetricFamily("hotline_stats_drift_cells", "Rollup cells differing from a direct count at the "
                              "last verification")
    at = GaugeMetricFamily("hotline_stats_verified_timestamp_seconds", "When the statistics were last verified")
    try:
        last = queues.connection().hgetall(verification_key())
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
        multiprocess.MultiProcessCollector(registry)
    else:
        registry.register(REGISTRY)
    registry.register(_state)
    return generate_latest(registry)
