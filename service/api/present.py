"""Turn rows into response models, with the Chinese label next to every code."""
from __future__ import annotations

from sqlalchemy.orm import Session

from models import RequestType, Ticket, TicketEvent, TicketStatus, Urgency
from service.pipeline.dedupe import PossibleDuplicate
from service.pipeline.reference import reference
from service.schemas.common import Coded
from service.schemas.ticket import DuplicateOut, EventOut, Routing, TicketOut, TicketRef, UnitRef


def coded(kind: str, code: str | None) -> Coded | None:
    """{"code", "label"} for a reference code (kind: channels, categories, counties, towns)."""
    return None if code is None else Coded(code=code, label=reference().label(kind, code))


def status(code: str | None) -> Coded | None:
    return None if code is None else Coded(code=code, label=TicketStatus(code).label)


def unit(code: str | None) -> UnitRef | None:
    return None if code is None else UnitRef(code=code, name=reference().label("units", code))


def ticket_out(ticket: Ticket, session: Session, model: type[TicketOut] = TicketOut, **extra) -> TicketOut:
    """The public shape of a ticket."""
    merged_into = None
    if ticket.merged_into_id is not None:
        target = session.get(Ticket, ticket.merged_into_id)
        merged_into = TicketRef(id=target.id, number=target.number)
    return model(
        id=ticket.id, number=ticket.number, channel=coded("channels", ticket.channel_code),
        external_id=ticket.external_id,
        enterprise={"id": ticket.enterprise_id, "name": ticket.enterprise_name, "uscc": ticket.uscc},
        contact={"name": ticket.contact_name, "phone": ticket.contact_phone},
        county=coded("counties", ticket.county_code), town=coded("towns", ticket.town_code),
        request_type=Coded(code=ticket.request_type, label=RequestType(ticket.request_type).label),
        category=coded("categories", ticket.category_code),
        urgency=Coded(code=ticket.urgency, label=Urgency(ticket.urgency).label),
        title=ticket.title, description=ticket.description, status=status(ticket.status),
        lead_unit=unit(ticket.lead_unit_code), assisting_units=[unit(c) for c in ticket.assisting_units or []],
        registered_by_unit=unit(ticket.registered_by_unit_code),
        routing=Routing(rule_id=ticket.route_rule_id, ruleset_version=ticket.route_ruleset_version,
                        reasons=ticket.route_reasons, routed_at=ticket.routed_at),
        merged_into=merged_into, accept_due_at=ticket.accept_due_at, resolve_due_at=ticket.resolve_due_at,
        received_at=ticket.received_at, created_at=ticket.created_at, updated_at=ticket.updated_at,
        version=ticket.version, **extra,
    )


def event_out(event: TicketEvent) -> EventOut:
    return EventOut(id=event.id, kind=event.kind, from_status=status(event.from_status),
                    to_status=status(event.to_status), actor=event.actor, unit=unit(event.unit_code),
                    at=event.at, payload=event.payload)


def duplicate_out(dup: PossibleDuplicate) -> DuplicateOut:
    return DuplicateOut(id=dup.ticket.id, number=dup.ticket.number, title=dup.ticket.title,
                        status=status(dup.ticket.status), similarity=dup.similarity)
