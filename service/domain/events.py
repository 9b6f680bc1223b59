"""Writing the append-only history of a ticket."""
from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import EventKind, Ticket, TicketEvent, TicketStatus, User
from service.effects import RefreshStats
from service.unit_of_work import Transition, UnitOfWork


def actor_name(user: User | None, system: str = "system") -> str:
    """How an actor appears in the history: the username, or system:<component>."""
    return user.username if user is not None else f"system:{system}"


def record(session: UnitOfWork, ticket: Ticket, kind: EventKind, *, user: User | None = None, system: str = "system",
           from_status: TicketStatus | None = None, to_status: TicketStatus | None = None, unit_code: str | None = None,
           payload: dict[str, Any] | None = None) -> TicketEvent:
    """Append one event for ticket (flushed, not committed); the statistics are refreshed after the commit."""
    event = TicketEvent(
        ticket_id=ticket.id, kind=kind, from_status=from_status, to_status=to_status,
        actor_id=user.id if user is not None else None, actor=actor_name(user, system),
        unit_code=unit_code if unit_code is not None else (user.unit_code if user is not None else None),
        payload=payload or {},
    )
    session.add(event)
    session.flush()
    session.add_effect(RefreshStats())
    return event


def transition(session: UnitOfWork, ticket: Ticket, kind: EventKind, to_status: TicketStatus, **kw: Any) -> TicketEvent:
    """Move ticket to to_status, bump its version and record the event (and the transition, for the stages that
    react to one before the commit)."""
    from_status = ticket.status
    ticket.status = to_status
    ticket.version += 1
    session.transitions.append(Transition(ticket.id, kind))
    return record(session, ticket, kind, from_status=from_status, to_status=to_status, **kw)


def history(session: Session, ticket_id: int) -> list[TicketEvent]:
    """Every event of a ticket, oldest first."""
    return list(session.scalars(select(TicketEvent).where(TicketEvent.ticket_id == ticket_id).order_by(TicketEvent.id)))
