"""Routing: the rule set decides each ticket's lead unit; a dispatcher places what the rules could not."""
from __future__ import annotations

import logging
import threading
import time
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select

from models import Enterprise, EventKind, Ticket, TicketStatus
from routing_rules import DEFAULT_RULES_DIR, Decision, RuleSet, RuleSetError, TicketFacts
from routing_rules.vocab import TOWN_CENTRE_PREFIX
from service.config import get_settings
from service.effects import RoutingDecided
from service.errors import RulesInvalid
from service.pipeline import actions, suggest
from service.domain import events
from service.domain.reference import known_unit_codes, reference
from service.schemas.routing import PreviewIn
from service.unit_of_work import UnitOfWork

log = logging.getLogger(__name__)

_lock = threading.Lock()
_state: dict = {"ruleset": None, "fingerprint": None, "checked": 0.0, "last_error": None}


def rules_dir() -> Path:
    """The folder the rule files are read from."""
    return get_settings().rules_dir or DEFAULT_RULES_DIR


def _fingerprint(directory: Path) -> tuple:
    files = sorted((p.name, p.stat().st_mtime_ns, p.stat().st_size) for p in directory.glob("*.y*ml"))
    return (str(directory.resolve()), *files)


def load_ruleset(directory: Path | None = None) -> RuleSet:
    """Load and validate a rule set (raises RulesInvalid listing every error)."""
    try:
        return RuleSet.load(directory or rules_dir(), known_units=known_unit_codes())
    except RuleSetError as exc:
        raise RulesInvalid([str(e) for e in exc.errors]) from None


def current_ruleset() -> RuleSet:
    """The rule set in force; picks up edited files, but keeps the last good set if the new one is broken."""
    now = time.monotonic()
    directory = rules_dir()
    with _lock:
        fresh = now - _state["checked"] < get_settings().rules_recheck_seconds
        if _state["ruleset"] is not None and fresh and _state["fingerprint"][0] == str(directory.resolve()):
            return _state["ruleset"]
        _state["checked"] = now
        fp = _fingerprint(directory)
        if _state["ruleset"] is None or fp != _state["fingerprint"]:
            try:
                _state["ruleset"] = load_ruleset(directory)
                _state["last_error"] = None
            except RulesInvalid as exc:
                if _state["ruleset"] is None:
                    raise
                _state["last_error"] = exc.detail
                log.error("rule files are broken; keeping version %s: %s", _state["ruleset"].version, exc.detail)
            _state["fingerprint"] = fp
        return _state["ruleset"]


def reload_ruleset() -> RuleSet:
    """Load the rule files now; on error keep the current set and raise RulesInvalid."""
    new = load_ruleset()
    with _lock:
        _state.update(ruleset=new, fingerprint=_fingerprint(rules_dir()), checked=time.monotonic(), last_error=None)
    return new


def ruleset_status() -> dict:
    """Version in force and the errors of a rejected newer edit, if any."""
    rs = current_ruleset()
    return {"version": rs.version, "rules": len(rs.rules), "directory": str(rules_dir()),
            "rejected_edit_errors": _state["last_error"]}


def facts_for(ticket: Ticket, enterprise: Enterprise | None) -> TicketFacts:
    """What the rules may look at for a ticket; `registered_by_town_centre` means the centre of the ticket's own town."""
    registered = bool(ticket.town_code) and ticket.registered_by_unit_code == TOWN_CENTRE_PREFIX + ticket.town_code
    return TicketFacts(
        channel=ticket.channel_code, category=ticket.category_code, request_type=ticket.request_type,
        urgency=ticket.urgency, county=ticket.county_code, town=ticket.town_code,
        enterprise_tier=enterprise.tier_code if enterprise else None,
        enterprise_chain=enterprise.chain_code if enterprise else None,
        above_scale=enterprise.above_scale if enterprise else None,
        title=ticket.title, description=ticket.description,
        registered_by_town_centre=registered, answered_locally=registered and bool(ticket.answered_locally),
    )


def preview_facts(body: PreviewIn) -> TicketFacts:
    """What the rules may look at for an unsaved ticket (the preview endpoint and `hotline rules explain`)."""
    county = body.county or (reference().town(body.town)["county"] if body.town else None)
    return TicketFacts(channel=body.channel, category=body.category, request_type=body.request_type.value,
                       urgency=body.urgency.value, county=county, town=body.town,
                       enterprise_tier=body.enterprise_tier, enterprise_chain=body.enterprise_chain,
                       above_scale=body.above_scale, title=body.title, description=body.description,
                       registered_by_town_centre=body.registered_by_town_centre,
                       answered_locally=body.registered_by_town_centre and body.answered_locally)


def route_ticket(session: UnitOfWork, ticket_id: int, *, skip_locked: bool = False) -> Decision | None:
    """Route a `new` ticket by the rules; a ticket in any other state is left alone (jobs may run twice).
    With skip_locked, a ticket another transaction holds is left alone too."""
    row = session.execute(select(Ticket, Enterprise).join(Enterprise, Enterprise.id == Ticket.enterprise_id)
                          .where(Ticket.id == ticket_id)
                          .with_for_update(of=Ticket, skip_locked=skip_locked)).first()
    if row is None or row.Ticket.status != TicketStatus.NEW.value:
        return None
    ticket = row.Ticket
    decision = current_ruleset().route(facts_for(ticket, row.Enterprise))
    session.add_effect(RoutingDecided(ticket.id, decision.rule_id if decision.matched else "no_match"))
    ticket.route_ruleset_version = decision.ruleset_version
    ticket.route_reasons = decision.reasons
    ticket.routed_at = func.now()
    if not decision.matched:
        ticket.route_rule_id = None
        events.transition(session, ticket, EventKind.ROUTING_NO_MATCH, TicketStatus.PENDING_DISPATCH,
                          system="router", payload=decision.to_dict())
        actions.finish(session, ticket)
        suggest.after_routing(session, ticket, decision)  # for the dispatcher; it never routes
        return decision
    ticket.route_rule_id = decision.rule_id
    if decision.set_category and not ticket.category_code:
        ticket.category_code = decision.set_category
    actions.assign(session, ticket, lead=decision.lead_unit, assisting=list(decision.assisting_units), kind=EventKind.ROUTED,
                   system="router", payload=decision.to_dict(), sla_override=decision.sla)
    suggest.after_routing(session, ticket, decision)  # compared with the rule's choice, which stands
    return decision


def new_ticket_ids(session: UnitOfWork, *, limit: int, after: int = 0) -> list[int]:
    """Tickets waiting in `new`, oldest first (from id `after` on)."""
    return list(session.scalars(select(Ticket.id).where(Ticket.status == TicketStatus.NEW.value, Ticket.id > after)
                                .order_by(Ticket.id).limit(limit)))


def unrouted_ticket_ids(session: UnitOfWork, *, older_than: datetime | None = None, limit: int = 5000) -> list[int]:
    """Tickets still `new` (their routing job was lost or never sent), oldest first."""
    if older_than is None:
        older_than = datetime.now().astimezone() - timedelta(seconds=get_settings().unrouted_grace_seconds)
    return list(session.scalars(
        select(Ticket.id).where(Ticket.status == TicketStatus.NEW.value, Ticket.created_at <= older_than)
        .order_by(Ticket.id).limit(limit)
    ))
