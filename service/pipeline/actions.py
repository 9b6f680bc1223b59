"""The lifecycle actions. Each locks the ticket, checks the state machine, changes the ticket,
writes one event, refreshes the clocks and queues the notifications; none commits."""
from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import func, select

from models import HELD_STATUSES, EventKind, Ticket, TicketStatus, User
from service.errors import Conflict, TicketNotFound, field_error, unknown_code
from service.pipeline import clocks, notify, sla
from service.domain import events, lookup
from service.domain.reference import known_unit_codes
from service.pipeline.workflow import REFUSAL_REASONS, Action, check
from service.unit_of_work import UnitOfWork

S = TicketStatus


def lock(session: UnitOfWork, ticket_id: int, expected_version: int | None = None) -> Ticket:
    """Re-read the ticket under a row lock; concurrent actions queue here and see each other's result."""
    ticket = session.scalar(select(Ticket).where(Ticket.id == ticket_id).with_for_update()
                            .execution_options(populate_existing=True))
    if ticket is None:
        raise TicketNotFound(f"ticket {ticket_id} not found")
    if expected_version is not None and ticket.version != expected_version:
        raise Conflict(f"ticket {ticket.number} changed (version {ticket.version}, you had {expected_version}); "
                       "reload it", version=ticket.version)
    return ticket


def finish(session: UnitOfWork, ticket: Ticket, unit_event: str | None = None, unit_code: str | None = None) -> Ticket:
    """After an action: refresh the clocks, tell the unit (unit_event) and push status changes to 帮企云."""
    clocks.recompute(session, ticket)
    if unit_event:
        notify.to_unit(session, ticket, unit_event, unit_code)
    for change in [t for t in session.transitions if t.ticket_id == ticket.id]:
        notify.status_push(session, ticket, change.kind)
        session.transitions.remove(change)
    session.flush()
    return ticket


def check_units(lead: str, assisting: list[str]) -> list[str]:
    """Validate unit codes; returns the assisting list without duplicates or the lead."""
    known = known_unit_codes()
    if lead not in known:
        raise unknown_code("lead_unit", "units", lead)
    for i, code in enumerate(assisting):
        if code not in known:
            raise unknown_code(f"assisting_units.{i}", "units", code)
    return [c for c in dict.fromkeys(assisting) if c != lead]


def assign(session: UnitOfWork, ticket: Ticket, *, lead: str, assisting: list[str], kind: EventKind,
           user: User | None = None, system: str = "router", payload: dict | None = None,
           sla_override: dict | None = None) -> Ticket:
    """Make `lead` the unit that must sign for the ticket, with fresh 签收 and (first time) 办结 deadlines."""
    now = datetime.now(UTC)
    ticket.lead_unit_code, ticket.assisting_units = lead, list(assisting)
    limits = sla.sla_table().limits(ticket.request_type, ticket.urgency, sla_override)
    ticket.assigned_at, ticket.accept_hours = now, limits.accept_hours
    if ticket.resolve_due_at is None:  # the enterprise-facing deadline does not move when the unit changes
        ticket.resolve_days, ticket.resolve_from_at = limits.resolve_days, ticket.received_at
    set_deadlines(ticket)
    ticket.pending_refusal = None
    events.transition(session, ticket, kind, S.ASSIGNED, user=user, system=system, unit_code=lead,
                      payload={"lead_unit": lead, "assisting_units": list(assisting), **(payload or {})})
    return finish(session, ticket, "assigned")


def set_deadlines(ticket: Ticket) -> None:
    """Compute the deadlines from their stored inputs (also used to recompute provisional ones)."""
    provisional = False
    if ticket.assigned_at is not None and ticket.accept_hours is not None:
        ticket.accept_due_at, provisional = sla.accept_deadline(ticket.assigned_at, ticket.accept_hours, ticket.urgency)
    if ticket.resolve_days is not None and ticket.resolve_from_at is not None:
        ticket.resolve_due_at, ticket.remind_at, ticket.red_due_at, p = sla.resolve_deadlines(
            ticket.resolve_from_at, ticket.resolve_days)
        provisional |= p
    ticket.due_provisional = provisional


def _signing_facts(ticket: Ticket) -> dict:
    """Whether a 签收 came within the unit's 签收 deadline, fixed when it happens."""
    due = ticket.accept_due_at
    return {"on_time": due is None or datetime.now(UTC) <= due, "due_at": due.isoformat() if due else None}


def accept(session: UnitOfWork, ticket: Ticket, user: User, note: str = "") -> Ticket:
    check(Action.ACCEPT, ticket, user)
    ticket.accepted_at = func.now()
    events.transition(session, ticket, EventKind.ACCEPTED, S.IN_PROGRESS, user=user, unit_code=ticket.lead_unit_code,
                      payload={"note": note, **_signing_facts(ticket)})
    return finish(session, ticket)


def refuse(session: UnitOfWork, ticket: Ticket, user: User, reason: str, note: str = "") -> Ticket:
    check(Action.REFUSE, ticket, user)
    if reason not in REFUSAL_REASONS:
        raise field_error("reason", f"unknown reason {reason!r}; allowed: {', '.join(REFUSAL_REASONS)}")
    ticket.pending_refusal = {"reason": reason, "label": REFUSAL_REASONS[reason], "note": note,
                              "unit": ticket.lead_unit_code, "at": datetime.now(UTC).isoformat()}
    events.transition(session, ticket, EventKind.REFUSED, S.REFUSE_REVIEW, user=user, unit_code=ticket.lead_unit_code,
                      payload={"reason": reason, "reason_label": REFUSAL_REASONS[reason], "note": note})
    return finish(session, ticket)


def approve_refusal(session: UnitOfWork, ticket: Ticket, user: User, *, lead: str | None, assisting: list[str],
                    note: str = "") -> Ticket:
    """退单 accepted: 改派 to another unit, or back to the dispatch queue when none is named."""
    check(Action.APPROVE_REFUSAL, ticket, user)
    refused_by = (ticket.pending_refusal or {}).get("unit")
    if lead is None:
        ticket.pending_refusal = None
        ticket.lead_unit_code, ticket.assisting_units = None, []
        events.transition(session, ticket, EventKind.REFUSAL_APPROVED, S.PENDING_DISPATCH, user=user, unit_code=None,
                          payload={"refused_by": refused_by, "note": note})
        return finish(session, ticket)
    if lead == refused_by:
        raise field_error("lead_unit", "name another unit, or overrule the refusal to keep this one")
    return assign(session, ticket, lead=lead, assisting=check_units(lead, assisting),
                  kind=EventKind.REFUSAL_APPROVED, user=user, payload={"refused_by": refused_by, "note": note})


def overrule_refusal(session: UnitOfWork, ticket: Ticket, user: User, note: str = "") -> Ticket:
    """强制派单: the unit keeps the ticket and must handle it (counted as signed now)."""
    check(Action.OVERRULE_REFUSAL, ticket, user)
    ticket.pending_refusal = None
    ticket.accepted_at = func.now()
    events.transition(session, ticket, EventKind.REFUSAL_OVERRULED, S.IN_PROGRESS, user=user,
                      unit_code=ticket.lead_unit_code, payload={"note": note, **_signing_facts(ticket)})
    return finish(session, ticket, "assigned")


def transfer(session: UnitOfWork, ticket: Ticket, user: User, *, lead: str, assisting: list[str],
             reason: str = "") -> Ticket:
    check(Action.TRANSFER, ticket, user)
    if lead == ticket.lead_unit_code:
        raise field_error("lead_unit", "the ticket is already with this unit")
    return assign(session, ticket, lead=lead, assisting=check_units(lead, assisting), kind=EventKind.TRANSFERRED,
                  user=user, payload={"from_unit": ticket.lead_unit_code, "reason": reason})


def dispatch(session: UnitOfWork, ticket: Ticket, user: User, *, lead: str, assisting: list[str],
             reason: str = "") -> Ticket:
    """A dispatcher places a ticket the rules could not (or that still waits for them)."""
    check(Action.DISPATCH, ticket, user)
    assisting = check_units(lead, assisting)
    ticket.route_rule_id, ticket.route_ruleset_version = None, None
    ticket.route_reasons, ticket.routed_at = {"by": "dispatcher", "reason": reason}, func.now()
    return assign(session, ticket, lead=lead, assisting=assisting, kind=EventKind.DISPATCHED, user=user,
                  payload={"reason": reason})


def assist(session: UnitOfWork, ticket: Ticket, user: User, opinion: str) -> Ticket:
    check(Action.ASSIST, ticket, user)
    events.record(session, ticket, EventKind.ASSIST_OPINION, user=user, payload={"opinion": opinion})
    lookup.index_opinion(session, ticket.id, opinion)
    return finish(session, ticket)


def recompute_provisional_deadlines(session: UnitOfWork, batch: int = 500) -> int:
    """Recount deadlines marked provisional (after a year's calendar is published); returns how many changed."""
    changed, last_id = 0, 0
    while True:
        rows = list(session.scalars(
            select(Ticket).where(Ticket.due_provisional.is_(True), Ticket.id > last_id,
                                 Ticket.status.in_(HELD_STATUSES))
            .order_by(Ticket.id).limit(batch).with_for_update(skip_locked=True)))
        if not rows:
            return changed
        for ticket in rows:
            before = (ticket.accept_due_at, ticket.resolve_due_at)
            set_deadlines(ticket)
            if (ticket.accept_due_at, ticket.resolve_due_at) != before or not ticket.due_provisional:
                changed += 1
                events.record(session, ticket, EventKind.DEADLINES_RECOMPUTED, system="calendar",
                              unit_code=ticket.lead_unit_code,
                              payload={"accept_due_at": _iso(ticket.accept_due_at), "resolve_due_at": _iso(ticket.resolve_due_at),
                                       "provisional": ticket.due_provisional,
                                       "before": {"accept_due_at": _iso(before[0]), "resolve_due_at": _iso(before[1])}})
        last_id = rows[-1].id
        session.flush()


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None
