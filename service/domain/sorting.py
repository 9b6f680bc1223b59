"""The orders of the one table's list and their cursors: keyset pagination on (sort key, id), so that every ticket
is listed exactly once however the pages are walked and page 10,000 costs what page 1 does.

A deadline may be unset (not assigned yet): such tickets come after those with one, whichever the direction, in id
order. A cursor names the sort it was made for, the key of the last ticket listed and its id."""
from __future__ import annotations

import base64
import binascii
from datetime import datetime

from sqlalchemy import Select, and_, or_, select, tuple_
from sqlalchemy.orm import Session

from models import Ticket
from service.domain.bounds import is_id
from service.errors import field_error

DEFAULT_SORT = "-received_at"
SORTS = ("-received_at", "received_at", "accept_due_at", "-accept_due_at", "resolve_due_at", "-resolve_due_at")
_COLUMNS = {"received_at": Ticket.received_at, "accept_due_at": Ticket.accept_due_at,
            "resolve_due_at": Ticket.resolve_due_at}
_NULLABLE = {"accept_due_at", "resolve_due_at"}
_LEGACY = "t"  # a cursor of the list before it could be sorted: the id it points after


def encode(sort: str, ticket: Ticket) -> str:
    value = getattr(ticket, sort.lstrip("-"))
    raw = f"s:{sort}|{value.isoformat() if value is not None else ''}|{ticket.id}"
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode(cursor: str, sort: str) -> tuple[bool, datetime | None, int]:
    """(keyed, key, id) after which the page starts; keyed is False for a cursor that gives only an id (the list's
    earlier form: tickets with a lower id). 422 naming `cursor` when it was not made by us, or for another sort."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        prefix, rest = raw.split(":", 1)
        if prefix == _LEGACY:
            ticket_id = int(rest)
            if not is_id(ticket_id):
                raise ValueError
            return False, None, ticket_id
        if prefix != "s":
            raise ValueError
        made_for, value, ticket_id = rest.split("|")
        ticket_id = int(ticket_id)
        key = datetime.fromisoformat(value) if value else None
        if made_for not in SORTS or not is_id(ticket_id) or (key is not None and key.tzinfo is None) \
                or (key is None and made_for.lstrip("-") not in _NULLABLE):
            raise ValueError
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise field_error("cursor", "not a cursor returned by this endpoint") from None
    if made_for != sort:
        raise field_error("cursor", f"this cursor continues the list sorted by {made_for}; ask with sort={made_for} "
                                    "or start again without a cursor")
    return True, key, ticket_id


def page(session: Session, query: Select, sort: str, cursor: str | None, limit: int, *,
         materialize: bool = False) -> tuple[list[Ticket], str | None]:
    """One page of `query` (a select of Ticket) in the order `sort`, after `cursor`; and the cursor of the next.

    `materialize`: the query matches few tickets (a rare search): they are read once in a materialized CTE, whose
    plan the ordering cannot lead astray (an ordered index scan hoping to meet matches soon would read the whole
    table for a word that occurs twice), then sorted."""
    name, descending = sort.lstrip("-"), sort.startswith("-")
    after = decode(cursor, sort) if cursor else None
    if after is not None and not after[0]:
        query, after = query.where(Ticket.id < after[2]), None
    if materialize:
        found = query.with_only_columns(Ticket.id.label("id"), _COLUMNS[name].label("key")) \
            .cte("found").prefix_with("MATERIALIZED")
        key, ident, source = found.c.key, found.c.id, select(found.c.id, found.c.key)
    else:
        key, ident, source = _COLUMNS[name], Ticket.id, query
    if after is not None:
        source = source.where(_after(name, descending, key, ident, after))
    source = source.order_by(*_order(name, descending, key, ident)).limit(limit + 1)
    if materialize:
        chosen = source.subquery()
        source = select(Ticket).join(chosen, Ticket.id == chosen.c.id) \
            .order_by(*_order(name, descending, chosen.c.key, chosen.c.id))
    return _paged(sort, list(session.scalars(source)), limit)


def page_within(session: Session, query: Select, sort: str, cursor: str | None, limit: int,
                window: int) -> tuple[list[Ticket], str | None] | None:
    """The page `page` gives, looked for among the next `window` tickets along the order only (read from the
    order's (key, id) index, then each checked against the query): a bounded cost whatever the query. None when
    those tickets hold less than a page (the query may match further on), or the order or cursor does not allow
    it (a deadline order, whose unset keys no index holds; a cursor of the list's earlier form)."""
    name, descending = sort.lstrip("-"), sort.startswith("-")
    after = decode(cursor, sort) if cursor else None
    if name in _NULLABLE or (after is not None and not after[0]):
        return None
    key, ident = _COLUMNS[name], Ticket.id
    span = select(Ticket.id, key.label("key")).order_by(*_order(name, descending, key, ident))
    if after is not None:
        span = span.where(_after(name, descending, key, ident, after))
    # Joined in the window's own order, which the plan keeps: each ticket is read and checked in turn, and the
    # reading stops at a page.
    span = span.limit(window).subquery("span")
    rows = list(session.scalars(query.join(span, Ticket.id == span.c.id)
                                .order_by(*_order(name, descending, span.c.key, span.c.id)).limit(limit + 1)))
    return _paged(sort, rows, limit) if len(rows) > limit else None


def _after(name: str, descending: bool, key, ident, after: tuple[bool, datetime | None, int]):
    """The rows after the cursor's (key, id) in the order."""
    _, value, last_id = after

    def later(col, val):
        return col < val if descending else col > val

    if value is not None:
        ahead = later(tuple_(key, ident), tuple_(value, last_id))
        return or_(ahead, key.is_(None)) if name in _NULLABLE else ahead
    return and_(key.is_(None), later(ident, last_id))  # within the tickets without this deadline


def _order(name: str, descending: bool, key, ident) -> list:
    if name not in _NULLABLE:  # never NULL: the plain order, which the (key, id) index gives read either way
        return [key.desc(), ident.desc()] if descending else [key.asc(), ident.asc()]
    return [key.desc().nulls_last(), ident.desc()] if descending else [key.asc().nulls_last(), ident.asc()]


def _paged(sort: str, rows: list[Ticket], limit: int) -> tuple[list[Ticket], str | None]:
    next_cursor = encode(sort, rows[limit - 1]) if len(rows) > limit else None
    return rows[:limit], next_cursor
