"""Reading the one table: who may see which ticket, filters and keyset pagination."""
from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import ColumnElement, Select, and_, func, literal, not_, or_, select, true
from sqlalchemy.dialects.postgresql import array
from sqlalchemy.orm import Session

from models import OPEN_STATUSES, Enterprise, Role, Ticket, TicketStatus, User
from service.errors import TicketNotFound, field_error
from service.domain import lookup, queues, sorting
from service.domain.bounds import is_id


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
    enterprise: int | None = None
    created_from: datetime | None = None
    created_to: datetime | None = None
    q: str | None = None
    overdue: bool | None = None
    supervision: list[str] = field(default_factory=list)
    # The queues (service.domain.queues): the step a ticket waits for, a unit's part in it (relative to a handler's
    # own unit, or else to `unit`), its current step falling due within a span ("24h", "3d"), who registered it.
    awaiting: list[str] = field(default_factory=list)
    role_of_unit: list[str] = field(default_factory=list)
    due_within: str | None = None
    registered_by: int | None = None

    def clauses(self, user: User | None = None, *, search: bool = True) -> list[ColumnElement[bool]]:
        """The conditions of the filter for `user` (whose unit role_of_unit refers to, and who may match a phone
        with `q`; without one, no phone is matched); `search=False`: all but `q`'s (see `search`)."""
        out: list[ColumnElement[bool]] = []
        handler = user is not None and user.role == Role.HANDLER.value
        if self.status:  # a code that is no status matches no ticket
            out.append(Ticket.status.in_([s for s in TicketStatus if s in self.status]))
        for values, column in ((self.channel, Ticket.channel_code),
                               (self.county, Ticket.county_code), (self.town, Ticket.town_code),
                               (self.category, Ticket.category_code), (self.request_type, Ticket.request_type),
                               (self.urgency, Ticket.urgency)):
            if values:
                out.append(column.in_(values))
        if self.role_of_unit:
            out.append(queues.role_of_unit(self.role_of_unit, user.unit_code if handler else self.unit))
        if self.unit and (handler or not self.role_of_unit):  # else `unit` is what role_of_unit refers to
            out.append(or_(Ticket.lead_unit_code == self.unit, Ticket.assisting_units.contains([self.unit])))
        if self.uscc:  # the company's tickets, also those registered under its name before its code was known
            out.append(Ticket.enterprise_id.in_(select(Enterprise.id).where(Enterprise.uscc == self.uscc)))
        if self.enterprise is not None:
            out.append(Ticket.enterprise_id == self.enterprise)
        if self.created_from:
            out.append(Ticket.created_at >= self.created_from)
        if self.created_to:
            out.append(Ticket.created_at < self.created_to)
        if self.overdue is not None:
            out.append(overdue() if self.overdue else not_(overdue()))
        if self.supervision:
            out.append(Ticket.supervision.in_(self.supervision))
        if self.awaiting:
            out.append(queues.awaiting(self.awaiting))
        if self.due_within:
            if (span := queues.parse_span(self.due_within)) is None:
                raise field_error("due_within", "a span like 24h or 3d (hours or days, at most 366 days)")
            out.append(queues.due_within(span))
        if self.registered_by is not None:
            out.append(Ticket.created_by_id == self.registered_by)
        if search and (matched := self.search(user)) is not None:
            out.append(matched)
        return out

    def search(self, user: User | None = None) -> ColumnElement[bool] | None:
        """The condition of `q` (service.domain.lookup), or None."""
        return lookup.matches(self.q, user) if self.q else None


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


def list_tickets(session: Session, flt: TicketFilter, user: User, *, cursor: str | None, limit: int,
                 sort: str = sorting.DEFAULT_SORT) -> tuple[list[Ticket], str | None]:
    """What the user may see under the filter, in the order `sort` (newest received first by default), keyset-
    paginated (service.domain.sorting) so page 10,000 costs what page 1 does."""
    found = flt.search(user)
    beside = [c for c in (visible_to(user), *flt.clauses(user, search=False)) if c is not true()]
    query = select(Ticket).where(*beside)
    if found is None:
        return sorting.page(session, query, sort, cursor, limit)
    alone = _estimated_rows(session, select(Ticket).where(found))
    query = query.where(found)
    if alone >= COMMON * FEW_MATCHES:
        # A common search (whatever the filters beside it): its page is looked for among the next WINDOW tickets
        # along the order first, at a bounded cost; only when they hold less than a page is it planned as below.
        if (walked := sorting.page_within(session, query, sort, cursor, limit, WINDOW)) is not None:
            return walked
    few = _few(session, query, None if beside else alone)
    return sorting.page(session, query, sort, cursor, limit, materialize=few)


# A search listing at most this many tickets is listed from its matches (read through the text index and sorted);
# one listing more, along the order of the list, which meets enough of them soon.
FEW_MATCHES = 10_000
# A search the planner expects to match this many times FEW_MATCHES (a common word) is not counted first: walking
# the list's order meets a page of matches sooner than a count would reach FEW_MATCHES. (The estimate of a common
# word beside a filter is taken as if they were independent: too low a share here lets the walk meet a search
# whose matches are far fewer than estimated, and read the whole index for them.)
COMMON = 4
# How many tickets along the order a common search's page is first looked for among (each read by its id and
# checked): a few milliseconds, and a page of matches for a search that matches one ticket in a hundred there.
WINDOW = 5_000


def _few(session: Session, query: Select, estimate: float | None = None) -> bool:
    """Whether a search lists at most FEW_MATCHES tickets, counting no further. The matches are read lazily from a
    materialized CTE, which the planner reads through the text index unless it expects a large share of the table
    (then a scan stops as soon as it has counted enough): whatever it guesses, a rare word costs its few matches.
    A search the planner's statistics call common is not counted at all. `estimate`: the planner's, when known."""
    if (_estimated_rows(session, query) if estimate is None else estimate) >= COMMON * FEW_MATCHES:
        return False
    matches = query.with_only_columns(literal(1)).cte("matches").prefix_with("MATERIALIZED")
    counted = select(literal(1)).select_from(matches).limit(FEW_MATCHES + 1).subquery()
    return session.scalar(select(func.count()).select_from(counted)) <= FEW_MATCHES


def _estimated_rows(session: Session, query: Select) -> float:
    """The planner's estimate of how many rows `query` returns (EXPLAIN: planned, not run)."""
    conn = session.connection()
    compiled = query.with_only_columns(literal(1)).compile(dialect=conn.dialect, compile_kwargs={"render_postcompile": True})
    plan = conn.exec_driver_sql(f"EXPLAIN (FORMAT JSON) {compiled}", compiled.params).scalar()
    plan = json.loads(plan) if isinstance(plan, str) else plan
    return float(plan[0]["Plan"]["Plan Rows"])


def count_tickets(session: Session, flt: TicketFilter, user: User) -> int:
    """How many tickets list_tickets lists, over all its pages."""
    return session.scalar(select(func.count()).select_from(Ticket).where(visible_to(user), *flt.clauses(user)))


def get_by_number(session: Session, number: str, user: User) -> Ticket:
    """The ticket of a number as people quote it (20261201-0000017, or without the dash), if the user may see it;
    otherwise, and for anything that is no ticket number, 404 naming the number."""
    text = number.strip()
    if len(text) == 15 and text.isascii() and text.isdigit():
        text = f"{text[:8]}-{text[8:]}"
    ticket = None
    if len(text) <= 32 and text.isascii():
        ticket = session.scalar(select(Ticket).where(Ticket.number == text, visible_to(user)))
    if ticket is None:
        raise TicketNotFound(f"no ticket numbered {number!r}")
    return ticket
