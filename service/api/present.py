"""Turn rows into response models, with the Chinese label next to every code."""
from __future__ import annotations

from sqlalchemy.orm import Session

from models import EventKind, RequestType, Ticket, TicketEvent, TicketStatus, Urgency, User
from service.pipeline.dedupe import PossibleDuplicate, readable
from service.domain.privacy import shown_phone
from service.domain.reference import reference
from service.pipeline.workflow import ACTION_LABELS, SATISFACTION, allowed_actions
from service.schemas.common import Coded
from service.schemas.ticket import (
    Deadlines, DuplicateOut, EventOut, Routing, TicketOut, TicketRef, UnitRef, Work,
)

SUPERVISION_LABELS = {"yellow": "黄灯督办", "red": "红灯督办"}


def coded(kind: str, code: str | None) -> Coded | None:
    """{"code", "label"} for a reference code (kind: channels, categories, counties, towns)."""
    return None if code is None else Coded(code=code, label=reference().label(kind, code))


def status(code: str | None) -> Coded | None:
    return None if code is None else Coded(code=code, label=TicketStatus(code).label)


def unit(code: str | None) -> UnitRef | None:
    return None if code is None else UnitRef(code=code, name=reference().label("units", code))


def ticket_out(ticket: Ticket, session: Session | None, model: type[TicketOut] = TicketOut, *, user: User | None = None,
               full_contact: bool = False, **extra) -> TicketOut:
    """The public shape of a ticket, with what `user` may do next (the session reads the ticket it was merged
    into; a new ticket needs none). The phone is masked unless full_contact and the user's role needs it."""
    merged_into = None
    if ticket.merged_into_id is not None and readable(session, user, [ticket.merged_into_id]):
        target = session.get(Ticket, ticket.merged_into_id)
        merged_into = TicketRef(id=target.id, number=target.number)
    return model(
        id=ticket.id, number=ticket.number, channel=coded("channels", ticket.channel_code),
        external_id=ticket.external_id,
        enterprise={"id": ticket.enterprise_id, "name": ticket.enterprise_name, "uscc": ticket.uscc},
        contact={"name": ticket.contact_name, "phone": shown_phone(user, ticket, full=full_contact)},
        county=coded("counties", ticket.county_code), town=coded("towns", ticket.town_code),
        request_type=Coded(code=ticket.request_type, label=RequestType(ticket.request_type).label),
        category=coded("categories", ticket.category_code),
        urgency=Coded(code=ticket.urgency, label=Urgency(ticket.urgency).label),
        title=ticket.title, description=ticket.description, status=status(ticket.status),
        lead_unit=unit(ticket.lead_unit_code), assisting_units=[unit(c) for c in ticket.assisting_units or []],
        registered_by_unit=unit(ticket.registered_by_unit_code),
        routing=Routing(rule_id=ticket.route_rule_id, ruleset_version=ticket.route_ruleset_version,
                        reasons=ticket.route_reasons, routed_at=ticket.routed_at),
        merged_into=merged_into,
        deadlines=Deadlines(accept_due_at=ticket.accept_due_at, resolve_due_at=ticket.resolve_due_at,
                            provisional=ticket.due_provisional, reminded_at=ticket.reminded_at,
                            supervision=None if ticket.supervision is None else Coded(
                                code=ticket.supervision, label=SUPERVISION_LABELS[ticket.supervision])),
        work=Work(assigned_at=ticket.assigned_at, accepted_at=ticket.accepted_at, resolved_at=ticket.resolved_at,
                  closed_at=ticket.closed_at, opinion=ticket.opinion, pending_refusal=ticket.pending_refusal,
                  pending_extension=ticket.pending_extension, reopen_count=ticket.reopen_count,
                  feedback=None if ticket.feedback_at is None else {
                      "satisfaction": Coded(code=ticket.satisfaction, label=SATISFACTION[ticket.satisfaction]),
                      "solved": ticket.solved, "at": ticket.feedback_at}),
        allowed_actions=[] if user is None else [Coded(code=a, label=ACTION_LABELS[a])
                                                 for a in allowed_actions(ticket, user)],
        received_at=ticket.received_at, created_at=ticket.created_at, updated_at=ticket.updated_at,
        version=ticket.version, **extra,
    )


def event_out(event: TicketEvent, payload: dict | None = None) -> EventOut:
    """An event; `payload` replaces the stored one (links to tickets the reader may not see removed)."""
    return EventOut(id=event.id, kind=event.kind, kind_label=EventKind(event.kind).label, from_status=status(event.from_status),
                    to_status=status(event.to_status), actor=event.actor, unit=unit(event.unit_code),
                    at=event.at, payload=event.payload if payload is None else payload)


def duplicate_out(dup: PossibleDuplicate) -> DuplicateOut:
    return DuplicateOut(id=dup.id, number=dup.number, title=dup.title, status=status(dup.status),
                        similarity=dup.similarity)
