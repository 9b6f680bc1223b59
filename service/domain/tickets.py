"""Reading the one table: who may see which ticket, filters and keyset pagination."""
from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import ColumnElement, and_, func, literal, not_, or_, select, true
from sqlalchemy.dialects.postgresql import array
from sqlalchemy.orm import Session

from models import OPEN_STATUSES, Role, Ticket, TicketStatus, User
from service.errors import TicketNotFound, field_error
from service.domain.bounds import is_id
from service.domain.textsearch import token_string


def overdue(now: datetime | ColumnElement | None = None) -> ColumnElement[bool]:
    """Overdue: still open (any of OPEN_STATUSES, whoever holds it, also back in the dispatch queue after an
    approved 退单) and past its 办结 deadline. Never NULL, so its negation is "not overdue"."""
    return and_(Ticket.status.in_(OPEN_STATUSES), Ticket.resolve_due_at.is_not(None),
                Ticket.resolve_due_at < (func.now() if now is None else now))


# The ticket column behind each statistics dimension, for the counts of tickets as they are now.
DIMENSION_COLUMNS = {"unit": "lead_unit_code", "county": "county_code", "town": "town_code",
                     "channel": "channel_code", "category": "category_code", "request_type": "request_type"}


def open_counts(session: Session, now: datetime, group: str | None = None,
                unit: str | None = None) -> dict[str, tuple[int, int]]:
    """未办结: (open, overdue) tickets now, by status (OPEN_STATUSES), keyed by the value of a statistics
    dimension (`group`, see DIMENSION_COLUMNS; '' when blank) or one '' key; `unit`: the tickets it leads.

    The one count of open tickets: the dashboard, the summary and the monthly report all show this, never
    受理 minus 办结 (a merged ticket is received and never resolved; a reopened one is resolved and open)."""
    counts = (func.count(), func.count().filter(overdue(now)))
    column = getattr(Ticket, DIMENSION_COLUMNS[group]) if group else None
    query = select(func.coalesce(column, ""), *counts).group_by(column) if column is not None \
        else select(literal(""), *counts)
    query = query.where(Ticket.status.in_(OPEN_STATUSES))
    if unit is not None:
        query = query.where(Ticket.lead_unit_code == unit)
    return {k: (n, late) for k, n, late in session.execute(query)}


def visible_to(user: User) -> ColumnElement[bool]:
    """A handler sees tickets where its unit leads, assists, or registered them; other roles see all."""
    if user.role != Role.HANDLER.value:
        return true()
    return handler_sees(user.unit_code)


def handler_sees(unit, ticket=Ticket) -> ColumnElement[bool]:
    """The handlers' rule, for a unit code or a column, over the ticket table or an alias of it (intake compiles
    it into its one statement)."""
    assisting = [unit] if isinstance(unit, str) or unit is None else array([unit])
    return or_(ticket.lead_unit_code == unit, ticket.assisting_units.contains(assisting),
               ticket.registered_by_unit_code == unit)


def get_visible(session: Session, ticket_id: int, user: User, *, for_update: bool = False) -> Ticket:
    """The ticket, if the user may see it; otherwise 404 (a forbidden read does not reveal existence)."""
    if not is_id(ticket_id):  # beyond bigint: no such row, and the query could not even be asked
        raise TicketNotFound(f"ticket {ticket_id} not found")
    query = select(Ticket).where(Ticket.id == ticket_id, visible_to(user))
    if for_update:
        query = query.with_for_update()
    ticket = session.scalar(query)
    if ticket is None:
        raise TicketNotFound(f"ticket {ticket_id} not found")
    return ticket


@dataclass
class TicketFilter:
    status: list[str] = field(default_factory=list)
    channel: list[str] = field(default_factory=list)
    county: list[str] = field(default_factory=list)
    town: list[str] = field(default_factory=list)
    unit: str | None = None
    category: list[str] = field(default_factory=list)
    request_type: list[str] = field(default_factory=list)
    urgency: list[str] = field(default_factory=list)
    uscc: str | None = None
    created_from: datetime | None = None
    created_to: datetime | None = None
    q: str | None = None
    overdue: bool | None = None
    supervision: list[str] = field(default_factory=list)

    def clauses(self) -> list[ColumnElement[bool]]:
        out: list[ColumnElement[bool]] = []
        if self.status:  # a code that is no status matches no ticket
            out.append(Ticket.status.in_([s for s in TicketStatus if s in self.status]))
        for values, column in ((self.channel, Ticket.channel_code),
                               (self.county, Ticket.county_code), (self.town, Ticket.town_code),
                               (self.category, Ticket.category_code), (self.request_type, Ticket.request_type),
                               (self.urgency, Ticket.urgency)):
            if values:
                out.append(column.in_(values))
        if self.unit:
            out.append(or_(Ticket.lead_unit_code == self.unit, Ticket.assisting_units.contains([self.unit])))
        if self.uscc:
            out.append(Ticket.uscc == self.uscc)
        if self.created_from:
            out.append(Ticket.created_at >= self.created_from)
        if self.created_to:
            out.append(Ticket.created_at < self.created_to)
        if self.overdue is not None:
            out.append(overdue() if self.overdue else not_(overdue()))
        if self.supervision:
            out.append(Ticket.supervision.in_(self.supervision))
        if self.q and (terms := token_string(self.q)):
            out.append(Ticket.search_vector.op("@@")(func.plainto_tsquery("simple", terms)))
        return out


def encode_cursor(ticket_id: int) -> str:
    return base64.urlsafe_b64encode(f"t:{ticket_id}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    """The id a cursor points after; 422 naming `cursor` when it was not made by us."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        prefix, value = raw.split(":", 1)
        if prefix != "t":
            raise ValueError
        ticket_id = int(value)
        if not is_id(ticket_id):
            raise ValueError
        return ticket_id
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise field_error("cursor", "not a cursor returned by this endpoint") from None


def list_tickets(session: Session, flt: TicketFilter, user: User, *, cursor: str | None,
                 limit: int) -> tuple[list[Ticket], str | None]:
    """Newest first, keyset-paginated on id so page 10,000 costs what page 1 does."""
    query = select(Ticket).where(visible_to(user), *flt.clauses())
    if cursor:
        query = query.where(Ticket.id < decode_cursor(cursor))
    rows = list(session.scalars(query.order_by(Ticket.id.desc()).limit(limit + 1)))
    next_cursor = encode_cursor(rows[limit - 1].id) if len(rows) > limit else None
    return rows[:limit], next_cursor
