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

    def later(col, value):
        return col < value if descending else col > value

    if after is not None:
        _, value, last_id = after
        if value is not None:
            ahead = later(tuple_(key, ident), tuple_(value, last_id))
            source = source.where(or_(ahead, key.is_(None)) if name in _NULLABLE else ahead)
        else:  # within the tickets without this deadline
            source = source.where(and_(key.is_(None), later(ident, last_id)))

    def order(k, i):
        if name not in _NULLABLE:  # never NULL: the plain order, which the (key, id) index gives read either way
            return [k.desc(), i.desc()] if descending else [k.asc(), i.asc()]
        return [k.desc().nulls_last(), i.desc()] if descending else [k.asc().nulls_last(), i.asc()]

    source = source.order_by(*order(key, ident)).limit(limit + 1)
    if materialize:
        chosen = source.subquery()
        source = select(Ticket).join(chosen, Ticket.id == chosen.c.id).order_by(*order(chosen.c.key, chosen.c.id))
    rows = list(session.scalars(source))
    next_cursor = encode(sort, rows[limit - 1]) if len(rows) > limit else None
    return rows[:limit], next_cursor
