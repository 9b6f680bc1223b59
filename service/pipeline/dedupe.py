"""Duplicates across channels: spot them at intake, merge them (并单), and undo a merge."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from models import OPEN_STATUSES, EventKind, Role, Ticket, TicketEvent, TicketStatus, User
from service.errors import InvalidTransition, TicketNotFound, field_error
from service.domain import events
from service.pipeline.actions import finish
from service.domain.tickets import visible_to
from service.pipeline.workflow import Action, check
from service.unit_of_work import UnitOfWork



@dataclass(frozen=True)
class PossibleDuplicate:
    id: int
    number: str
    title: str
    status: str
    category_code: str | None
    similarity: float


def _lock(session: UnitOfWork, ticket_id: int) -> Ticket:
    ticket = session.scalar(select(Ticket).where(Ticket.id == ticket_id).with_for_update())
    if ticket is None:
        raise TicketNotFound(f"ticket {ticket_id} not found")
    return ticket


def merge(session: UnitOfWork, ticket: Ticket, into_id: int, *, user: User, reason: str = "") -> Ticket:
    """并单: ticket becomes `merged` into an open ticket; both histories record the link."""
    check(Action.MERGE, ticket, user)
    if into_id == ticket.id:
        raise field_error("into_ticket_id", "a ticket cannot be merged into itself")
    # Lock both rows in id order so two crossing merges cannot deadlock.
    first, second = sorted([ticket.id, into_id])
    locked = {first: _lock(session, first), second: _lock(session, second)}
    source, target = locked[ticket.id], locked[into_id]
    open_values = {s.value for s in OPEN_STATUSES}
    if target.status not in open_values:
        raise field_error("into_ticket_id", f"ticket {target.number} is {target.status}; merge into an open ticket")
    source.merged_into_id = target.id
    events.transition(session, source, EventKind.MERGED, TicketStatus.MERGED, user=user,
                      payload={"into_ticket_id": target.id, "into_number": target.number, "reason": reason})
    events.record(session, target, EventKind.MERGE_RECEIVED, user=user,
                  payload={"from_ticket_id": source.id, "from_number": source.number, "reason": reason})
    return finish(session, source)


def unmerge(session: UnitOfWork, ticket: Ticket, *, user: User, reason: str = "") -> Ticket:
    """Undo a merge: the ticket returns to the state it had before, and the link is removed on both sides."""
    check(Action.UNMERGE, ticket, user)
    source = _lock(session, ticket.id)
    if source.status != TicketStatus.MERGED.value or source.merged_into_id is None:
        raise InvalidTransition(f"ticket {source.number} is not merged", status=source.status)
    merged_event = session.scalar(
        select(TicketEvent).where(TicketEvent.ticket_id == source.id,
                                         TicketEvent.kind == EventKind.MERGED).order_by(TicketEvent.id.desc())
    )
    restore = merged_event.from_status if merged_event is not None else TicketStatus.PENDING_DISPATCH.value
    target = session.get(Ticket, source.merged_into_id)
    source.merged_into_id = None
    events.transition(session, source, EventKind.UNMERGED, restore, user=user,
                      payload={"from_ticket_id": target.id, "from_number": target.number, "reason": reason})
    events.record(session, target, EventKind.MERGE_UNDONE, user=user,
                  payload={"ticket_id": source.id, "number": source.number, "reason": reason})
    return finish(session, source)


def merged_children(session: UnitOfWork, ticket_id: int, user: User | None = None) -> list[Ticket]:
    """Tickets currently merged into ticket_id (those the user may read)."""
    query = select(Ticket).where(Ticket.merged_into_id == ticket_id)
    if user is not None:
        query = query.where(visible_to(user))
    return list(session.scalars(query.order_by(Ticket.id)))


# Events that link two tickets, and the payload keys naming the other one.
LINKS = {EventKind.MERGED: ("into_ticket_id", "into_number"),
         EventKind.MERGE_RECEIVED: ("from_ticket_id", "from_number"),
         EventKind.UNMERGED: ("from_ticket_id", "from_number"), EventKind.MERGE_UNDONE: ("ticket_id", "number")}


def readable(session: UnitOfWork, user: User | None, ids) -> set[int]:
    """Of these ticket ids, the ones the user may read (one query, and only for handlers)."""
    ids = {i for i in ids if i is not None}
    if not ids or user is None or user.role != Role.HANDLER.value:
        return ids
    return set(session.scalars(select(Ticket.id).where(Ticket.id.in_(ids), visible_to(user))))


def shown_payloads(session: UnitOfWork, user: User | None, history: list[TicketEvent]) -> list[dict | None]:
    """Each event's payload as the user may see it: a link to a ticket it may not read names no ticket."""
    linked = {e.id: e.payload.get(LINKS[e.kind][0]) for e in history if e.kind in LINKS and e.payload}
    seen = readable(session, user, linked.values())
    return [dict(e.payload, **dict.fromkeys(LINKS[e.kind], None)) if e.id in linked and linked[e.id] not in seen
            else e.payload for e in history]
