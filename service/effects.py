"""What a unit of work does once its transaction has committed: jobs to enqueue and metrics to count.

Pipeline code appends these to the unit of work (`uow.add(...)`); the edge that opened the unit (a request,
a job, a CLI command) commits and then runs them, in order, once each. None runs when the transaction rolls
back. A failing effect is logged and never undoes the commit: everything it would do is recovered from the
database (the scheduler's sweeps enqueue what was lost, the statistics refresh on every tick).
"""
from __future__ import annotations

import asyncio
import logging
from abc import ABC, abstractmethod
from dataclasses import dataclass

from service import metrics, queues

log = logging.getLogger(__name__)


class Effect(ABC):
    """One thing to do after the commit. Effects that compare equal run once per unit of work."""

    @abstractmethod
    def run(self) -> None:
        """Do it (enqueue, count); a Redis outage is logged by the queue code, not raised."""

    async def run_async(self) -> None:
        """The same from the event loop: on a thread unless the effect has a way that does not block."""
        await asyncio.to_thread(self.run)


@dataclass(frozen=True)
class RouteNewTickets(Effect):
    """Ask a worker to route the tickets waiting in `new` (one job serves a whole burst)."""

    def run(self) -> None:
        queues.request_routing_safely()

    async def run_async(self) -> None:
        await queues.request_routing_async()


@dataclass(frozen=True)
class RouteTicket(Effect):
    """Ask a worker to route one ticket, with retries of its own."""

    ticket_id: int

    def run(self) -> None:
        queues.enqueue_route_safely(self.ticket_id)


@dataclass(frozen=True)
class DeliverNotifications(Effect):
    """Ask a worker to drain the notification outbox (rows were added to it)."""

    def run(self) -> None:
        queues.enqueue_delivery_safely()


@dataclass(frozen=True)
class RefreshStats(Effect):
    """Ask for a statistics refresh: tickets changed."""

    def run(self) -> None:
        queues.enqueue_stats_refresh_soon()

    async def run_async(self) -> None:
        await queues.enqueue_stats_refresh_soon_async()


@dataclass(frozen=True)
class RunExport(Effect):
    """Ask a worker to build a requested export."""

    export_id: int

    def run(self) -> None:
        queues.enqueue_export_safely(self.export_id)


@dataclass(frozen=True)
class RunImport(Effect):
    """Ask a worker to run a stored import."""

    import_id: int

    def run(self) -> None:
        queues.enqueue_import_safely(self.import_id)


@dataclass(frozen=True)
class Counted(Effect):
    """A metric to count: in memory, done at once wherever it runs."""

    async def run_async(self) -> None:
        self.run()


@dataclass(frozen=True)
class TicketReceived(Counted):
    """hotline_tickets_received_total: one new ticket."""

    ticket_id: int
    channel: str
    category: str

    def run(self) -> None:
        metrics.TICKETS_RECEIVED.labels(self.channel, self.category).inc()


@dataclass(frozen=True)
class TicketResolved(Counted):
    """hotline_tickets_resolved_total and the resolution-time histogram: a ticket's first resolution."""

    ticket_id: int
    channel: str
    category: str
    office_hours: float

    def run(self) -> None:
        metrics.TICKETS_RESOLVED.labels(self.channel, self.category).inc()
        metrics.RESOLUTION_HOURS.labels(self.channel).observe(self.office_hours)


@dataclass(frozen=True)
class RoutingDecided(Counted):
    """hotline_routing_decisions_total: one routing decision, by rule (or no_match)."""

    ticket_id: int
    rule: str

    def run(self) -> None:
        metrics.ROUTING_DECISIONS.labels(self.rule).inc()


def run_all(effects: list[Effect]) -> None:
    """Run each distinct effect once, in the order first added; a failure is logged and the rest still run."""
    for effect in dict.fromkeys(effects):
        try:
            effect.run()
        except Exception:
            log.exception("after-commit effect %r failed", effect)


async def run_all_async(effects: list[Effect]) -> None:
    """run_all from the event loop; an intake's two requests (routing, statistics) share one round trip."""
    effects = list(dict.fromkeys(effects))
    if RouteNewTickets() in effects and RefreshStats() in effects:
        effects = [e for e in effects if e not in (RouteNewTickets(), RefreshStats())]
        try:
            await queues.request_routing_and_stats_async()
        except Exception:
            log.exception("after-commit effects (routing, statistics) failed")
    for effect in effects:
        try:
            await effect.run_async()
        except Exception:
            log.exception("after-commit effect %r failed", effect)
