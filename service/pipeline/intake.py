"""Intake: every channel's problem becomes one ticket in the one table, exactly once."""
from __future__ import annotations

import json
from functools import lru_cache
from types import SimpleNamespace

from sqlalchemy import Connection, literal_column, select, text
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session

from models import Role, Ticket, TicketStatus, User
from service.config import get_settings
from service.db import after_commit, async_engine
from service.errors import field_error
from service.metrics import TICKETS_RECEIVED
from service.pipeline import clocks, dedupe
from service.domain import events
from service.domain.reference import reference
from service.domain.tickets import handler_sees
from service.domain.textsearch import token_string, tokens
from service.schemas.ticket import TicketFields


def _ticket_columns() -> list[str]:
    """Every column of ticket but the search vector (deferred: never read back)."""
    return [c.name for c in Ticket.__table__.columns if c.name != "search_vector"]


def _returned_columns() -> list[str]:
    """What the database decides for a new ticket (its id, number and every server default); the rest of a new
    ticket is what the request gave, or empty."""
    return [c.name for c in Ticket.__table__.columns
            if c.name in ("id", "number") or c.server_default is not None or c.identity is not None]


@lru_cache
def _statement():
    """The whole intake as one statement, written out once (building it per request cost more than running it).

    It creates or refreshes the enterprise; reads the enterprise's recent tickets whose text is similar to the
    new one (textsearch's tokens and Jaccard similarity, as SQL functions of migration 0008); inserts the ticket,
    its `created` event (with the repeat flag) and its clocks, or nothing when (channel, external_id) is already
    taken (concurrent replays wait on the unique index, then find the winner's row); and returns the database's
    own values of the new ticket with the similar tickets the caller may see. One statement is one transaction
    even in autocommit.
    """
    returned = ", ".join([*_returned_columns(), "county_code", "town_code", "enterprise_id"])
    return text(f"""
        WITH ent AS (
            INSERT INTO enterprise (uscc, name, county_code, town_code, chain_code, tier_code, above_scale)
            VALUES (:uscc, :name, :county, :town, :chain, :tier, :above_scale)
            ON CONFLICT (uscc) DO UPDATE SET name = excluded.name,
                county_code = coalesce(excluded.county_code, enterprise.county_code),
                town_code = coalesce(excluded.town_code, enterprise.town_code),
                chain_code = coalesce(excluded.chain_code, enterprise.chain_code),
                tier_code = coalesce(excluded.tier_code, enterprise.tier_code),
                above_scale = coalesce(excluded.above_scale, enterprise.above_scale),
                updated_at = now()
            RETURNING id, county_code, town_code),
        viewer AS (SELECT CAST(:viewer_unit AS varchar) AS unit, CAST(:sees_all AS boolean) AS sees_all),
        alike AS (
            SELECT c.* FROM ent CROSS JOIN LATERAL (
                SELECT ticket.id, ticket.number, ticket.title, ticket.status, ticket.category_code,
                       hotline_jaccard(hotline_tokens(ticket.title || ' ' || ticket.description),
                                       CAST(:text_tokens AS text[])) AS similarity,
                       coalesce(viewer.sees_all OR ({_seen_by_viewer()}), false) AS visible
                FROM ticket CROSS JOIN viewer
                WHERE ticket.enterprise_id = ent.id AND ticket.created_at >= now() - make_interval(days => :days)
                ORDER BY ticket.id DESC LIMIT :candidates) c
            WHERE c.similarity >= :min_similarity),
        t AS (
            INSERT INTO ticket (number, channel_code, external_id, enterprise_id, enterprise_name, uscc, contact_name,
                                contact_phone, county_code, town_code, request_type, category_code, urgency, title,
                                description, search_vector, status, registered_by_unit_code, created_by_id,
                                received_at)
            SELECT to_char(timezone(:tz, now()), 'YYYYMMDD') || '-' || lpad(nextval('ticket_number_seq')::text, 7, '0'),
                   :channel, :external_id, ent.id, :name, :uscc, :contact_name, :contact_phone,
                   CASE WHEN :placed THEN :county ELSE ent.county_code END,
                   CASE WHEN :placed THEN :town ELSE ent.town_code END,
                   :request_type, :category, :urgency, :title, :description,
                   to_tsvector('simple', :search_tokens), :status, :unit, :created_by,
                   coalesce(CAST(:received_at AS timestamptz), now())
            FROM ent
            ON CONFLICT (channel_code, external_id) WHERE external_id IS NOT NULL DO NOTHING
            RETURNING {returned}),
        ev AS (
            INSERT INTO ticket_event (ticket_id, kind, to_status, actor_id, actor, unit_code, payload)
            SELECT id, 'created', :status, :created_by, :actor, :event_unit,
                   jsonb_build_object('channel', CAST(:channel AS text), 'external_id', CAST(:external_id AS text),
                                      'repeat', EXISTS (SELECT 1 FROM alike))
            FROM t),
        clock AS (
            INSERT INTO ticket_clock (ticket_id, total_seconds, accept_seconds, handle_seconds, paused_seconds,
                                      segments)
            SELECT id, :total_seconds, :accept_seconds, :handle_seconds, :paused_seconds,
                   CAST(:segments AS jsonb) FROM t)
        SELECT t.*, (SELECT coalesce(json_agg(a ORDER BY a.id DESC) FILTER (WHERE a.visible), '[]') FROM alike a)
               AS alike FROM t""")


def _seen_by_viewer() -> str:
    """The ticket read's visibility rule for handlers, as SQL over the `viewer` row: the answer lists only the
    similar tickets the caller may read (the repeat flag still counts them all)."""
    return str(handler_sees(literal_column("viewer.unit")).compile(dialect=postgresql.dialect()))


def place(data: TicketFields) -> tuple[str | None, str | None]:
    """The (county, town) the request names: a town implies its county (and must agree with a county given)."""
    county, town = data.county, data.town
    if town:
        town_county = reference().town(town)["county"]
        if county and county != town_county:
            raise field_error("town", f"town {town!r} is in county {town_county!r}, not {county!r}")
        county = town_county
    return county, town


def create_ticket(session: Session, data: TicketFields, *, channel: str, external_id: str | None,
                  user: User | None, registered_by_unit: str | None = None,
                  system: str = "intake") -> tuple[Ticket, bool]:
    """Insert the ticket, or return the one already filed under (channel, external_id). Returns (ticket, created)
    with the ticket as an ORM object."""
    ticket, created = register_ticket(session, data, channel=channel, external_id=external_id, user=user,
                                      registered_by_unit=registered_by_unit, system=system)
    return (session.get(Ticket, ticket.id) if created else ticket), created


def register_ticket(session: Session, data: TicketFields, *, channel: str, external_id: str | None,
                    user: User | None, registered_by_unit: str | None = None, system: str = "intake",
                    alone: bool = False):
    """What create_ticket does, in one statement and without the ORM on the way back: a new ticket is returned
    as a read-only object with every column of ticket (what the request gave, what the database set), one
    already registered as the ORM object. Returns (ticket, created).

    The statement runs in the session's transaction, or, with `alone`, as a transaction of its own (autocommit:
    no BEGIN and COMMIT round trips) when the caller does nothing else in the database that must commit with it.
    """
    kw = {"channel": channel, "external_id": external_id, "user": user, "registered_by_unit": registered_by_unit,
          "system": system}
    if alone:
        with session.get_bind().connect() as conn:
            ticket, found = insert_ticket(conn.execution_options(isolation_level="AUTOCOMMIT"), data, **kw)
    else:
        ticket, found = insert_ticket(session.connection(), data, **kw)
    if ticket is None:
        existing = session.scalar(select(Ticket).where(Ticket.channel_code == channel, Ticket.external_id == external_id))
        return existing, False
    dedupe.remember(session, ticket.id, found)
    labels = (channel, data.category or "")
    after_commit(session, lambda: TICKETS_RECEIVED.labels(*labels).inc())
    return ticket, True


def insert_ticket(conn: Connection, data: TicketFields, *, channel: str, external_id: str | None,
                  user: User | None, registered_by_unit: str | None = None,
                  system: str = "intake") -> tuple[SimpleNamespace | None, list[dedupe.PossibleDuplicate]]:
    """Run the intake statement on conn: (the new ticket, the similar earlier tickets), or (None, []) when
    (channel, external_id) was already registered.

    The enterprise is created or refreshed (a blank never erases a known value); a ticket that names neither
    county nor town takes the enterprise's known ones. 重复诉求 (the `repeat` of the created event): a similar
    problem of the same enterprise, in any status, in the last dedupe_days days; the open ones of the same
    category are also the answer's possible duplicates.
    """
    params, given = _intake_params(data, channel=channel, external_id=external_id, user=user,
                                   registered_by_unit=registered_by_unit, system=system)
    return _inserted(conn.execute(_statement(), params).first(), given)


async def insert_ticket_alone(data: TicketFields, *, channel: str, external_id: str | None, user: User | None,
                              registered_by_unit: str | None = None,
                              system: str = "intake") -> tuple[SimpleNamespace | None, list[dedupe.PossibleDuplicate]]:
    """insert_ticket from the event loop, as a transaction of its own (the statement is the whole of it)."""
    params, given = _intake_params(data, channel=channel, external_id=external_id, user=user,
                                   registered_by_unit=registered_by_unit, system=system)
    engine = await async_engine()
    async with engine.connect() as conn:
        conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
        row = (await conn.execute(_statement(), params)).first()
    return _inserted(row, given)


def _intake_params(data: TicketFields, *, channel: str, external_id: str | None, user: User | None,
                   registered_by_unit: str | None, system: str) -> tuple[dict, dict]:
    """The statement's parameters, and what the request alone decides of the new ticket."""
    settings = get_settings()
    county, town = place(data)
    handler = user.unit_code if user is not None and user.role == Role.HANDLER.value else None
    ent = data.enterprise
    text_ = f"{data.title} {data.description}"
    clock = clocks.Clocks().as_row()
    given = {"channel_code": channel, "external_id": external_id, "enterprise_name": ent.name, "uscc": ent.uscc,
             "contact_name": data.contact.name, "contact_phone": data.contact.phone,
             "request_type": data.request_type.value, "category_code": data.category, "urgency": data.urgency.value,
             "title": data.title, "description": data.description, "registered_by_unit_code": registered_by_unit,
             "created_by_id": user.id if user else None, "status": TicketStatus.NEW.value}
    params = {
        "uscc": ent.uscc, "name": ent.name, "county": county, "town": town, "placed": bool(county or town),
        "chain": ent.chain, "tier": ent.tier, "above_scale": ent.above_scale,
        "text_tokens": list(dict.fromkeys(tokens(text_))), "days": settings.dedupe_days,
        "candidates": dedupe.CANDIDATE_LIMIT, "min_similarity": settings.dedupe_min_similarity,
        "tz": settings.timezone, "channel": channel, "external_id": external_id,
        "contact_name": data.contact.name, "contact_phone": data.contact.phone,
        "request_type": data.request_type.value, "category": data.category, "urgency": data.urgency.value,
        "title": data.title, "description": data.description, "search_tokens": token_string(f"{text_} {ent.name}"),
        "status": given["status"], "unit": registered_by_unit, "created_by": given["created_by_id"],
        "received_at": data.received_at, "actor": events.actor_name(user, system),
        "event_unit": registered_by_unit if registered_by_unit is not None else (user.unit_code if user else None),
        # Handlers are shown only the similar tickets they may read; other roles and platforms see all.
        "sees_all": handler is None, "viewer_unit": handler,
        **clock, "segments": json.dumps(clock["segments"]),
    }
    return params, given


def _inserted(row, given: dict) -> tuple[SimpleNamespace | None, list[dedupe.PossibleDuplicate]]:
    """The new ticket (every column: the request's values, the database's) and its similar earlier tickets."""
    if row is None:
        return None, []
    values = dict(row._mapping)
    found = dedupe.ranked([SimpleNamespace(**s) for s in values.pop("alike")])
    return SimpleNamespace(**(dict.fromkeys(_ticket_columns()) | given | values)), found
