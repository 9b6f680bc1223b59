"""Intake: every channel's problem becomes one ticket in the one table, exactly once."""
from __future__ import annotations

from functools import lru_cache

from sqlalchemy import func, literal, select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from models import Enterprise, Ticket, TicketStatus, User
from service.config import get_settings
from service.db import after_commit
from service.errors import field_error
from service.metrics import TICKETS_RECEIVED
from service.pipeline import clocks, dedupe, events
from service.pipeline.reference import reference
from service.pipeline.textsearch import token_string
from service.schemas.ticket import TicketFields


# Written out once: building this statement with the SQL expression API cost more than running it.
_UPSERT_ENTERPRISE = text("""
    INSERT INTO enterprise (uscc, name, county_code, town_code, chain_code, tier_code, above_scale)
    VALUES (:uscc, :name, :county, :town, :chain, :tier, :above_scale)
    ON CONFLICT (uscc) DO UPDATE SET name = excluded.name,
        county_code = coalesce(excluded.county_code, enterprise.county_code),
        town_code = coalesce(excluded.town_code, enterprise.town_code),
        chain_code = coalesce(excluded.chain_code, enterprise.chain_code),
        tier_code = coalesce(excluded.tier_code, enterprise.tier_code),
        above_scale = coalesce(excluded.above_scale, enterprise.above_scale),
        updated_at = now()
    RETURNING id""")


def upsert_enterprise(session: Session, data: TicketFields, county: str | None, town: str | None) -> int:
    """Create the enterprise or refresh what we know of it (never erasing a known value with a blank); its id."""
    ent = data.enterprise
    return session.scalar(_UPSERT_ENTERPRISE, {"uscc": ent.uscc, "name": ent.name, "county": county, "town": town,
                                               "chain": ent.chain, "tier": ent.tier, "above_scale": ent.above_scale})


def place(session: Session, data: TicketFields) -> tuple[str | None, str | None]:
    """The ticket's (county, town): a town implies its county; a known enterprise fills the gaps."""
    county, town = data.county, data.town
    if town:
        town_county = reference().town(town)["county"]
        if county and county != town_county:
            raise field_error("town", f"town {town!r} is in county {town_county!r}, not {county!r}")
        county = town_county
    if not county and not town:
        known = session.execute(
            select(Enterprise.county_code, Enterprise.town_code).where(Enterprise.uscc == data.enterprise.uscc)
        ).first()
        if known:
            county, town = known
    return county, town


@lru_cache
def _number_expr(tz: str):
    day = func.to_char(func.timezone(tz, func.now()), "YYYYMMDD")
    seq = func.lpad(func.nextval("ticket_number_seq").cast(type_=literal("").type), 7, "0")
    return day.op("||")(literal("-")).op("||")(seq)


def create_ticket(session: Session, data: TicketFields, *, channel: str, external_id: str | None,
                  user: User | None, registered_by_unit: str | None = None,
                  system: str = "intake") -> tuple[Ticket, bool]:
    """Insert the ticket, or return the one already filed under (channel, external_id). Returns (ticket, created)."""
    county, town = place(session, data)
    enterprise_id = upsert_enterprise(session, data, county, town)
    values = {
        "channel_code": channel, "external_id": external_id, "enterprise_id": enterprise_id,
        "enterprise_name": data.enterprise.name, "uscc": data.enterprise.uscc,
        "contact_name": data.contact.name, "contact_phone": data.contact.phone,
        "county_code": county, "town_code": town, "request_type": data.request_type.value,
        "category_code": data.category, "urgency": data.urgency.value, "title": data.title,
        "description": data.description, "status": TicketStatus.NEW.value,
        "registered_by_unit_code": registered_by_unit, "created_by_id": user.id if user else None,
        "number": _number_expr(get_settings().timezone),
        "search_vector": func.to_tsvector("simple", token_string(f"{data.title} {data.description} {data.enterprise.name}")),
    }
    if data.received_at is not None:
        values["received_at"] = data.received_at
    stmt = insert(Ticket).values(values)
    if external_id is not None:
        # Concurrent replays wait on the unique index, then find the winner's row below.
        stmt = stmt.on_conflict_do_nothing(index_elements=["channel_code", "external_id"],
                                           index_where=Ticket.external_id.isnot(None))
    ticket = session.scalar(stmt.returning(Ticket))
    if ticket is None:
        existing = session.scalar(select(Ticket).where(Ticket.channel_code == channel, Ticket.external_id == external_id))
        return existing, False
    events.record(session, ticket, "created", user=user, system=system, to_status=TicketStatus.NEW.value,
                  unit_code=registered_by_unit, payload={"channel": channel, "external_id": external_id,
                                                         "repeat": dedupe.is_repeat(session, ticket)})
    clocks.start(session, ticket)
    labels = (channel, data.category or "")
    after_commit(session, lambda: TICKETS_RECEIVED.labels(*labels).inc())
    return ticket, True
