"""Intake: every channel's problem becomes one ticket in the one table, exactly once."""
from __future__ import annotations

from sqlalchemy import func, literal, select
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


def upsert_enterprise(session: Session, data: TicketFields, county: str | None, town: str | None) -> Enterprise:
    """Create the enterprise or refresh what we know of it; never erase a known value with a blank."""
    ent = data.enterprise
    values = {"uscc": ent.uscc, "name": ent.name, "county_code": county, "town_code": town,
              "chain_code": ent.chain, "tier_code": ent.tier, "above_scale": ent.above_scale}
    stmt = insert(Enterprise).values(values)
    keep = {c: func.coalesce(stmt.excluded[c], getattr(Enterprise, c))
            for c in ("county_code", "town_code", "chain_code", "tier_code", "above_scale")}
    stmt = stmt.on_conflict_do_update(index_elements=["uscc"], set_={"name": stmt.excluded.name, **keep,
                                                                    "updated_at": func.now()})
    enterprise_id = session.scalar(stmt.returning(Enterprise.id))
    return session.get(Enterprise, enterprise_id, populate_existing=True)


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


def _number_expr():
    tz = get_settings().timezone
    day = func.to_char(func.timezone(tz, func.now()), "YYYYMMDD")
    seq = func.lpad(func.nextval("ticket_number_seq").cast(type_=literal("").type), 7, "0")
    return day.op("||")(literal("-")).op("||")(seq)


def create_ticket(session: Session, data: TicketFields, *, channel: str, external_id: str | None,
                  user: User | None, registered_by_unit: str | None = None,
                  system: str = "intake") -> tuple[Ticket, bool]:
    """Insert the ticket, or return the one already filed under (channel, external_id). Returns (ticket, created)."""
    county, town = place(session, data)
    enterprise = upsert_enterprise(session, data, county, town)
    values = {
        "channel_code": channel, "external_id": external_id, "enterprise_id": enterprise.id,
        "enterprise_name": data.enterprise.name, "uscc": data.enterprise.uscc,
        "contact_name": data.contact.name, "contact_phone": data.contact.phone,
        "county_code": county, "town_code": town, "request_type": data.request_type.value,
        "category_code": data.category, "urgency": data.urgency.value, "title": data.title,
        "description": data.description, "status": TicketStatus.NEW.value,
        "registered_by_unit_code": registered_by_unit, "created_by_id": user.id if user else None,
        "number": _number_expr(),
        "search_vector": func.to_tsvector("simple", token_string(f"{data.title} {data.description} {data.enterprise.name}")),
    }
    if data.received_at is not None:
        values["received_at"] = data.received_at
    stmt = insert(Ticket).values(values)
    if external_id is not None:
        # Concurrent replays wait on the unique index, then find the winner's row below.
        stmt = stmt.on_conflict_do_nothing(index_elements=["channel_code", "external_id"],
                                           index_where=Ticket.external_id.isnot(None))
    ticket_id = session.scalar(stmt.returning(Ticket.id))
    if ticket_id is None:
        existing = session.scalar(select(Ticket).where(Ticket.channel_code == channel, Ticket.external_id == external_id))
        return existing, False
    ticket = session.get(Ticket, ticket_id)
    events.record(session, ticket, "created", user=user, system=system, to_status=TicketStatus.NEW.value,
                  unit_code=registered_by_unit, payload={"channel": channel, "external_id": external_id,
                                                         "repeat": dedupe.is_repeat(session, ticket)})
    clocks.recompute(session, ticket)
    labels = (channel, data.category or "")
    after_commit(session, lambda: TICKETS_RECEIVED.labels(*labels).inc())
    return ticket, True
