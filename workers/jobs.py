"""RQ jobs: thin, idempotent wrappers over pipeline functions; each job is one transaction."""
from __future__ import annotations

import logging

from service import db
from service.pipeline import route
from workers import queues

log = logging.getLogger(__name__)


def route_ticket(ticket_id: int) -> dict:
    """Route one ticket by the rules; a ticket already routed is left as it is."""
    with db.session_factory()() as session:
        decision = route.route_ticket(session, ticket_id)
        db.commit(session)
    if decision is None:
        return {"ticket_id": ticket_id, "skipped": True}
    return {"ticket_id": ticket_id, "matched": decision.matched, "rule_id": decision.rule_id,
            "lead_unit": decision.lead_unit}


def sweep_unrouted() -> dict:
    """Re-enqueue tickets left `new` (their job was lost, or Redis was down at intake)."""
    with db.session_factory()() as session:
        ids = route.unrouted_ticket_ids(session)
    for ticket_id in ids:
        queues.enqueue_route(ticket_id)
    if ids:
        log.info("sweep re-enqueued %d unrouted tickets", len(ids))
    return {"enqueued": len(ids)}
